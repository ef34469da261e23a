package directory

import (
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// MaxIndexedLength bounds, in bytes, the attributes kept in indexed columns:
// userName, displayName, externalId and email values. PostgreSQL refuses
// btree keys over about 2.7 KB (an insert would fail with a 500), and no
// identity provider sends names anywhere near this long (AWS IAM Identity
// Center caps userName at 128 characters).
const MaxIndexedLength = 1024

// checkIndexedLengths rejects over-long values of the named top-level string
// attributes and, for users, of emails[].value.
func checkIndexedLengths(attrs map[string]any, fields ...string) error {
	for _, f := range fields {
		if n := len(stringAttr(attrs, f)); n > MaxIndexedLength {
			return fault.New(fault.InvalidValue, f, "%s is %d bytes long; the limit is %d", f, n, MaxIndexedLength)
		}
	}
	emails, _ := attrs["emails"].([]any)
	for i, e := range emails {
		m, _ := e.(map[string]any)
		if n := len(stringAttr(m, "value")); n > MaxIndexedLength {
			field := fmt.Sprintf("emails[%d].value", i)
			return fault.New(fault.InvalidValue, field, "%s is %d bytes long; the limit is %d", field, n, MaxIndexedLength)
		}
	}
	return nil
}
