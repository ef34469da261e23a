package sqlstore_test

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/provisioning/storetest"
)

func TestProvisioningStoreSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Backend {
		db := newSQLite(t)
		return storetest.Backend{Prov: db, Dir: db}
	})
}

func TestProvisioningStorePostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Backend {
		db := newPostgres(t)
		return storetest.Backend{Prov: db, Dir: db}
	})
}
