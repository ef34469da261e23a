package sqlstore_test

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/access/storetest"
)

func TestAccessStoreSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Backend { return newSQLite(t) })
}

func TestAccessStorePostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Backend { return newPostgres(t) })
}
