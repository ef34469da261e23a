package sqlstore_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/directory/filter"
	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// TestFilterSQLMatchesInMemory is a differential test: every filter must
// select exactly the users that filter.Match selects in memory, so the SQL
// translation and the reference semantics cannot drift apart.
func TestFilterSQLMatchesInMemory(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		d := directory.Directory{ID: uuid.NewString(), Name: "parity", Profile: "rfc", Created: time.Now(), Modified: time.Now()}
		if err := db.CreateDirectory(ctx, d, nil); err != nil {
			t.Fatal(err)
		}
		docs := []map[string]any{
			{"userName": "bjensen", "externalId": "Ext-1", "title": "Tour Guide", "userType": "Employee", "active": true,
				"name":   map[string]any{"familyName": "Jensen", "givenName": "Barbara"},
				"emails": []any{map[string]any{"value": "bjensen@example.com", "type": "work", "primary": true}, map[string]any{"value": "babs@jensen.org", "type": "home"}}},
			{"userName": "OMalley", "userType": "Employee", "active": false, "name": map[string]any{"familyName": "O'Malley"},
				"emails": []any{map[string]any{"value": "omalley@example.org", "type": "home"}},
				"ims":    []any{map[string]any{"value": "om@foo.com", "type": "xmpp"}}},
			{"userName": "jsmith", "userType": "Contractor", "active": true, "title": "",
				schema.EnterpriseUserURN: map[string]any{"department": "Sales", "manager": map[string]any{"value": "m-1"}}},
			{"userName": "nobody", "active": true, "title": "Über", "nickName": "ÉMILE"},
			{"userName": "Ünïcode", "displayName": "Zoë", "active": true, "emails": []any{map[string]any{"value": "ZOE@EXAMPLE.COM", "type": "work"}}},
		}
		created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		var users []directory.User
		for i, doc := range docs {
			u := directory.User{ID: fmt.Sprintf("u%d", i), DirectoryID: d.ID, UserName: doc["userName"].(string), Version: 1,
				Created: created.Add(time.Duration(i) * time.Hour), Modified: created.Add(time.Duration(i) * time.Hour), Attrs: doc}
			u.ExternalID, _ = doc["externalId"].(string)
			u.DisplayName, _ = doc["displayName"].(string)
			u.Active, _ = doc["active"].(bool)
			attrs := map[string]any{}
			for k, v := range doc {
				if k != "externalId" {
					attrs[k] = v
				}
			}
			u.Attrs = attrs
			if err := db.CreateUser(ctx, u, nil); err != nil {
				t.Fatal(err)
			}
			users = append(users, u)
		}
		filters := []string{
			`userName eq "BJENSEN"`, `userName ne "bjensen"`, `userName sw "j"`, `userName ew "LEY"`, `userName co "mall"`,
			`externalId eq "Ext-1"`, `externalId eq "ext-1"`, `externalId pr`, `not (externalId pr)`,
			`name.familyName co "O'Malley"`, `name.familyName pr`, `name pr`, `title pr`, `title eq ""`, `title ne "Tour Guide"`,
			`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
			`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
			`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`,
			`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`,
			`emails.type ne "work"`, `emails.type eq "work"`, `emails pr`, `not (emails pr)`, `emails eq null`, `emails.value eq "bjensen@example.com"`,
			`emails[not (type eq "work")]`, `emails[primary eq true]`, `emails.primary eq true`,
			`active eq true`, `active eq false`, `active ne true`, `active pr`,
			`meta.created gt "2026-01-01T01:30:00Z"`, `meta.created le "2026-01-01T02:00:00Z"`, `meta.lastModified lt "2026-01-01T00:00:01Z"`,
			`id eq "u1"`, `id ne "u1"`,
			`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "sales"`,
			`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m-1"`,
			`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`,
			`displayName eq "ZOË"`, `userName eq "üNÏCODE"`, `emails.value eq "zoe@example.com"`,
			`title gt "A"`, `userName lt "n"`, `title eq "über"`, `nickName sw "émi"`, `title co "BER"`,
		}
		for _, f := range filters {
			t.Run(f, func(t *testing.T) {
				e, err := filter.Parse(schema.UserResource, f)
				if err != nil {
					t.Fatalf("parse: %v", err)
				}
				var want []string
				for _, u := range users {
					doc := u.Doc()
					doc["id"] = u.ID
					doc["meta"] = map[string]any{"created": u.Created.Format(time.RFC3339Nano), "lastModified": u.Modified.Format(time.RFC3339Nano), "resourceType": "User"}
					if filter.Match(e, doc) {
						want = append(want, u.ID)
					}
				}
				page, err := db.ListUsers(ctx, d.ID, directory.Query{Filter: e, Count: 100})
				if err != nil {
					t.Fatalf("sql: %v", err)
				}
				var got []string
				for _, u := range page.Items {
					got = append(got, u.ID)
				}
				sort.Strings(got)
				sort.Strings(want)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("SQL selects %v, Match selects %v", got, want)
				}
			})
		}
	})
}
