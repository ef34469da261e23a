package directory

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/fault"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Limits.
const (
	// MaxActiveTokens per directory, as in AWS IAM Identity Center: enough to
	// rotate (create the new one, switch the IdP, revoke the old one).
	MaxActiveTokens = 2
	// DefaultTokenLifetime is one year, AWS's SCIM token validity.
	DefaultTokenLifetime = 365 * 24 * time.Hour
	// TokenPrefix marks Gatehouse SCIM tokens so secret scanners can find them.
	TokenPrefix = "ghscim_"
	// touchEvery bounds last-used bookkeeping to one write per token per
	// interval, so authenticating a read does not cost a write.
	touchEvery = time.Minute
)

// Service applies the identity store's rules on top of a Store.
type Service struct {
	Store Store
	Now   func() time.Time
	NewID func() string
}

// NewService returns a Service with the real clock and time-ordered UUIDs
// (v7: ids sort by creation, which keeps default listing order natural).
func NewService(s Store) *Service {
	return &Service{Store: s, Now: time.Now, NewID: func() string { return uuid.Must(uuid.NewV7()).String() }}
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

var directoryName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// ValidProfile reports whether p names a compatibility profile.
func ValidProfile(p string) bool { return p == ProfileRFC || p == ProfileAWS }

// EnsureDefault creates the default directory if it does not exist.
func (s *Service) EnsureDefault(ctx context.Context) (Directory, error) {
	d, err := s.Store.GetDirectoryByName(ctx, DefaultDirectory)
	if err == nil {
		return d, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return d, err
	}
	d, err = s.CreateDirectory(ctx, DefaultDirectory, ProfileRFC, nil)
	if errors.Is(err, store.ErrAlreadyExists) || fault.Is(err, fault.Uniqueness) { // another replica won the race
		return s.Store.GetDirectoryByName(ctx, DefaultDirectory)
	}
	return d, err
}

// CreateDirectory creates a directory with a profile.
func (s *Service) CreateDirectory(ctx context.Context, name, profile string, ev *audit.Event) (Directory, error) {
	if !directoryName.MatchString(name) {
		return Directory{}, fault.New(fault.InvalidValue, "name", "directory name %q must be 1-63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	if profile == "" {
		profile = ProfileRFC
	}
	if !ValidProfile(profile) {
		return Directory{}, fault.New(fault.InvalidValue, "profile", "profile %q is not one of %s, %s", profile, ProfileRFC, ProfileAWS)
	}
	now := s.now()
	d := Directory{ID: s.NewID(), Name: name, Profile: profile, Created: now, Modified: now}
	ev = fill(ev, d.ID, d.ID, name)
	if err := s.Store.CreateDirectory(ctx, d, ev); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return d, fault.New(fault.Uniqueness, "name", "a directory named %q already exists", name)
		}
		return d, err
	}
	return d, nil
}

// Directory finds a directory by name.
func (s *Service) Directory(ctx context.Context, name string) (Directory, error) {
	d, err := s.Store.GetDirectoryByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return d, fault.New(fault.NotFound, "directory", "directory %q does not exist", name)
	}
	return d, err
}

// DeleteDirectory deletes a directory and everything in it.
func (s *Service) DeleteDirectory(ctx context.Context, name string, ev *audit.Event) error {
	d, err := s.Directory(ctx, name)
	if err != nil {
		return err
	}
	return s.Store.DeleteDirectory(ctx, d.ID, fill(ev, d.ID, d.ID, name))
}

// UpdateDirectory changes a directory's profile and settings.
func (s *Service) UpdateDirectory(ctx context.Context, name string, fn func(d *Directory) error, ev *audit.Event) (Directory, error) {
	d, err := s.Directory(ctx, name)
	if err != nil {
		return d, err
	}
	return s.Store.UpdateDirectory(ctx, d.ID, func(d *Directory) error {
		if err := fn(d); err != nil {
			return err
		}
		if !ValidProfile(d.Profile) {
			return fault.New(fault.InvalidValue, "profile", "profile %q is not one of %s, %s", d.Profile, ProfileRFC, ProfileAWS)
		}
		d.Modified = s.now()
		return nil
	}, fill(ev, d.ID, d.ID, name))
}

// NewToken is a freshly created token with its secret, shown once.
type NewToken struct {
	Token
	Secret string
}

// CreateToken issues a SCIM bearer token for a directory. At most
// MaxActiveTokens may be active at once.
func (s *Service) CreateToken(ctx context.Context, d Directory, lifetime time.Duration, description string, ev *audit.Event) (NewToken, error) {
	if lifetime == 0 {
		lifetime = DefaultTokenLifetime
	}
	if lifetime < time.Minute {
		return NewToken{}, fault.New(fault.InvalidValue, "expires", "token lifetime %s is shorter than one minute", lifetime)
	}
	if len(description) > 256 {
		return NewToken{}, fault.New(fault.InvalidValue, "description", "description is %d characters; the limit is 256", len(description))
	}
	existing, err := s.Store.ListTokens(ctx, d.ID)
	if err != nil {
		return NewToken{}, err
	}
	now := s.now()
	active := 0
	for _, t := range existing {
		if t.Active(now) {
			active++
		}
	}
	if active >= MaxActiveTokens {
		return NewToken{}, fault.New(fault.Limit, "token", "directory %q already has %d active tokens, the maximum; revoke one first (gatehouse scim token list, then gatehouse scim token revoke ID)", d.Name, active)
	}
	sec, hash, err := secret.New(TokenPrefix)
	if err != nil {
		return NewToken{}, err
	}
	t := Token{ID: s.NewID(), DirectoryID: d.ID, Hash: hash, Description: description, Created: now, Expires: now.Add(lifetime)}
	if err := s.Store.CreateToken(ctx, t, fill(ev, d.ID, t.ID, "")); err != nil {
		return NewToken{}, err
	}
	return NewToken{Token: t, Secret: sec}, nil
}

// ErrBadToken is returned (classified Unauthorized) for any token that does
// not authenticate; the message does not say which check failed.
var errBadToken = fault.New(fault.Unauthorized, "Authorization", "the bearer token is missing, invalid, expired or revoked")

// Authenticate resolves a bearer token to its token record and directory.
func (s *Service) Authenticate(ctx context.Context, presented string) (Token, Directory, error) {
	if presented == "" || len(presented) > secret.MaxLen {
		return Token{}, Directory{}, errBadToken
	}
	h := secret.Hash(presented)
	t, d, err := s.Store.TokenDirectory(ctx, h)
	if errors.Is(err, store.ErrNotFound) {
		return Token{}, Directory{}, errBadToken
	}
	if err != nil {
		return Token{}, Directory{}, err
	}
	// The lookup was by hash; compare again in constant time so that the
	// decision never depends on a variable-time string comparison.
	if !secret.Equal(t.Hash, h) {
		return Token{}, Directory{}, errBadToken
	}
	now := s.now()
	if !t.Active(now) {
		return Token{}, Directory{}, errBadToken
	}
	if t.LastUsed == nil || now.Sub(*t.LastUsed) > touchEvery {
		_ = s.Store.TouchToken(ctx, t.ID, now) // bookkeeping only; never fail a request over it
	}
	return t, d, nil
}

// RevokeToken revokes a token by id (or a unique id prefix of at least 8).
func (s *Service) RevokeToken(ctx context.Context, id string, ev *audit.Event) (Token, error) {
	t, err := s.Store.RevokeToken(ctx, id, s.now(), fill(ev, "", id, ""))
	if errors.Is(err, store.ErrNotFound) {
		return t, fault.New(fault.NotFound, "id", "token %q does not exist", id)
	}
	return t, err
}

// fill completes an audit event with the resource it concerns.
func fill(ev *audit.Event, directoryID, resourceID, resourceName string) *audit.Event {
	if ev == nil {
		return nil
	}
	if ev.Directory == "" {
		ev.Directory = directoryID
	}
	if ev.ResourceID == "" {
		ev.ResourceID = resourceID
	}
	if ev.ResourceName == "" {
		ev.ResourceName = resourceName
	}
	return ev
}

// notFound classifies a store miss for a resource.
func notFound(err error, kind, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fault.New(fault.NotFound, "id", "%s %s not found", kind, id)
	}
	return err
}

// ETag renders a resource version as a weak entity tag.
func ETag(version int64) string { return fmt.Sprintf(`W/"%d"`, version) }

// CheckIfMatch compares an If-Match header value with the current version.
func CheckIfMatch(ifMatch string, version int64) error {
	if ifMatch == "" || ifMatch == "*" {
		return nil
	}
	cur := ETag(version)
	for _, tag := range strings.Split(ifMatch, ",") {
		tag = strings.TrimSpace(tag)
		if tag == cur || tag == strings.TrimPrefix(cur, "W/") {
			return nil
		}
	}
	return fault.New(fault.Precondition, "If-Match", "If-Match %s does not match the current version %s", ifMatch, cur)
}
