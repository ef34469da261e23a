package directory

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/directory/patch"
	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/fault"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

func (d Directory) schemaOptions() schema.Options {
	return schema.Options{Strict: d.Settings.StrictAttributes}
}

func (d Directory) patchOptions() patch.Options {
	return patch.Options{RFCNoTarget: d.Settings.RFCNoTarget, Strict: d.Settings.StrictAttributes}
}

// CreateUser validates a client's user object and stores it.
func (s *Service) CreateUser(ctx context.Context, d Directory, raw map[string]any, ev *audit.Event) (User, error) {
	attrs, err := schema.Normalize(schema.UserResource, raw, d.schemaOptions())
	if err != nil {
		return User{}, err
	}
	now := s.now()
	u := User{ID: s.NewID(), DirectoryID: d.ID, Version: 1, Created: now, Modified: now}
	if err := s.setUserAttrs(d, &u, attrs); err != nil {
		return User{}, err
	}
	if ev = fill(ev, d.ID, u.ID, u.UserName); ev != nil {
		ev.SetResponse(map[string]any{"id": u.ID})
	}
	if err := s.Store.CreateUser(ctx, u, ev); err != nil {
		return User{}, userConflict(err, u.UserName)
	}
	return u, nil
}

// GetUser returns a user by id.
func (s *Service) GetUser(ctx context.Context, d Directory, id string) (User, error) {
	u, err := s.Store.GetUser(ctx, d.ID, id)
	return u, notFound(err, "User", id)
}

// ReplaceUser is PUT: the new object replaces every writable attribute.
func (s *Service) ReplaceUser(ctx context.Context, d Directory, id string, raw map[string]any, ifMatch string, ev *audit.Event) (User, error) {
	attrs, err := schema.Normalize(schema.UserResource, raw, d.schemaOptions())
	if err != nil {
		return User{}, err
	}
	u, err := s.Store.UpdateUser(ctx, d.ID, id, func(u *User) error {
		if err := CheckIfMatch(ifMatch, u.Version); err != nil {
			return err
		}
		// A password is writeOnly: a PUT without one keeps the current hash.
		// A PUT without active keeps the current state: re-activating a
		// deactivated user because a client omitted the flag is the riskier
		// reading of RFC 7644 §3.5.1's "not asserted".
		keep, wasActive := u.PasswordHash, u.Active
		if _, ok := attrs["active"]; !ok {
			attrs["active"] = wasActive
		}
		if err := s.setUserAttrs(d, u, attrs); err != nil {
			return err
		}
		if _, ok := attrs["password"]; !ok {
			u.PasswordHash = keep
		}
		u.Modified = s.now()
		return nil
	}, fill(ev, d.ID, id, stringAttr(attrs, "userName")))
	return u, userConflict(notFound(err, "User", id), stringAttr(attrs, "userName"))
}

// PatchUser applies PATCH operations atomically. A PATCH that changes
// nothing keeps the version and writes no data (its event is still recorded).
func (s *Service) PatchUser(ctx context.Context, d Directory, id string, ops []patch.Op, ifMatch string, ev *audit.Event) (User, bool, error) {
	if err := checkUserPatchProfile(d, ops); err != nil {
		return User{}, false, err
	}
	changed := false
	var name string
	ev = fill(ev, d.ID, id, "")
	u, err := s.Store.UpdateUser(ctx, d.ID, id, func(u *User) error {
		if err := CheckIfMatch(ifMatch, u.Version); err != nil {
			return err
		}
		doc := withExternalID(u.Attrs, u.ExternalID)
		res, err := patch.Apply(schema.UserResource, doc, ops, d.patchOptions())
		if err != nil {
			return err
		}
		if !res.Changed {
			return errUnchanged
		}
		changed = true
		keep := u.PasswordHash
		if err := s.setUserAttrs(d, u, res.Doc); err != nil {
			return err
		}
		if _, ok := res.Doc["password"]; !ok {
			u.PasswordHash = keep
		}
		name = u.UserName
		if ev != nil {
			ev.ResourceName = name
		}
		u.Modified = s.now()
		return nil
	}, ev)
	if errors.Is(err, errUnchanged) {
		u, err = s.GetUser(ctx, d, id)
		return u, false, err
	}
	return u, changed, userConflict(notFound(err, "User", id), name)
}

// errUnchanged aborts an update transaction that would write nothing.
var errUnchanged = errors.New("unchanged")

// DeleteUser deletes a user and its memberships; access assignments naming
// it are removed too, unless opts refuse (see DeleteOptions).
func (s *Service) DeleteUser(ctx context.Context, d Directory, id, ifMatch string, ev *audit.Event, opts ...DeleteOptions) error {
	if ifMatch != "" {
		u, err := s.GetUser(ctx, d, id)
		if err != nil {
			return err
		}
		if err := CheckIfMatch(ifMatch, u.Version); err != nil {
			return err
		}
		fill(ev, d.ID, id, u.UserName)
	}
	return notFound(s.Store.DeleteUser(ctx, d.ID, id, fill(ev, d.ID, id, ""), opts...), "User", id)
}

// ListUsers runs a query.
func (s *Service) ListUsers(ctx context.Context, d Directory, q Query) (Page[User], error) {
	return s.Store.ListUsers(ctx, d.ID, q)
}

// setUserAttrs validates a normalised document against the directory's
// rules and sets the user's document and derived columns from it.
func (s *Service) setUserAttrs(d Directory, u *User, attrs map[string]any) error {
	if stringAttr(attrs, "userName") == "" {
		return fault.New(fault.InvalidValue, "userName", "userName is required and must not be empty (RFC 7643 §4.1.1)")
	}
	if err := checkIndexedLengths(attrs, "userName", "displayName", "externalId"); err != nil {
		return err
	}
	if err := checkUserProfile(d, attrs); err != nil {
		return err
	}
	if pw, ok := attrs["password"].(string); ok {
		h, err := hashPassword(pw)
		if err != nil {
			return err
		}
		u.PasswordHash = h
		delete(attrs, "password") // writeOnly: never stored in the document
	}
	u.UserName = stringAttr(attrs, "userName")
	u.DisplayName = stringAttr(attrs, "displayName")
	u.ExternalID = stringAttr(attrs, "externalId")
	delete(attrs, "externalId") // a column of its own
	u.Active = true             // RFC 7643 leaves the default to the provider; IdPs assume active
	if a, ok := attrs["active"].(bool); ok {
		u.Active = a
	}
	u.Attrs = attrs
	return nil
}

func userConflict(err error, userName string) error {
	if errors.Is(err, store.ErrAlreadyExists) {
		return fault.New(fault.Uniqueness, "userName", "userName %q is already taken in this directory (userName is unique regardless of case)", userName)
	}
	return err
}

// withExternalID returns the document PATCH and projections work on.
func withExternalID(attrs map[string]any, ext string) map[string]any {
	doc := make(map[string]any, len(attrs)+1)
	for k, v := range attrs {
		doc[k] = v
	}
	if ext != "" {
		doc["externalId"] = ext
	}
	return doc
}

func stringAttr(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// Password hashing: argon2id with OWASP's minimum parameters. Passwords are
// only ever stored, never returned (the attribute is writeOnly).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

func hashPassword(pw string) (string, error) {
	if len(pw) > 1024 {
		return "", fault.New(fault.InvalidValue, "password", "password is longer than 1024 bytes")
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", argonMemory, argonTime, argonThreads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// Doc returns the user's full document for projection and filtering:
// attributes plus externalId.
func (u User) Doc() map[string]any { return withExternalID(u.Attrs, u.ExternalID) }

// trimLower is used by profile checks.
func trimLower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
