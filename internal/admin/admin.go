// Package admin is the admin HTTP API (/api/v1, JSON, problem+json errors)
// and its bearer tokens. It hosts the endpoints of every domain that has no
// protocol of its own: today the audit trail's lookup.
package admin

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/fault"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TokenPrefix marks admin tokens.
const TokenPrefix = "ghadm_"

// Store persists admin tokens (same record shape as SCIM tokens; an empty
// DirectoryID means the token is valid for every directory).
type Store interface {
	CreateAdminToken(ctx context.Context, t directory.Token, ev *audit.Event) error
	AdminTokenByHash(ctx context.Context, hash string) (directory.Token, error)
	ListAdminTokens(ctx context.Context) ([]directory.Token, error)
	RevokeAdminToken(ctx context.Context, id string, at time.Time, ev *audit.Event) (directory.Token, error)
	TouchAdminToken(ctx context.Context, id string, at time.Time) error
}

// Tokens issues and checks admin tokens.
type Tokens struct {
	Store Store
	Now   func() time.Time
}

var errBadToken = fault.New(fault.Unauthorized, "Authorization", "the admin bearer token is missing, invalid, expired or revoked")

// Create issues a token valid for lifetime (default one year).
func (t *Tokens) Create(ctx context.Context, lifetime time.Duration, description string, ev *audit.Event) (directory.NewToken, error) {
	if lifetime == 0 {
		lifetime = directory.DefaultTokenLifetime
	}
	if lifetime < time.Minute {
		return directory.NewToken{}, fault.New(fault.InvalidValue, "expires", "token lifetime %s is shorter than one minute", lifetime)
	}
	sec, hash, err := secret.New(TokenPrefix)
	if err != nil {
		return directory.NewToken{}, err
	}
	now := t.Now().UTC().Truncate(time.Microsecond)
	tok := directory.Token{ID: uuid.NewString(), Hash: hash, Description: description, Created: now, Expires: now.Add(lifetime)}
	if ev != nil {
		ev.ResourceID = tok.ID
	}
	if err := t.Store.CreateAdminToken(ctx, tok, ev); err != nil {
		return directory.NewToken{}, err
	}
	return directory.NewToken{Token: tok, Secret: sec}, nil
}

// Authenticate checks a presented admin token.
func (t *Tokens) Authenticate(ctx context.Context, presented string) (directory.Token, error) {
	if presented == "" || len(presented) > secret.MaxLen {
		return directory.Token{}, errBadToken
	}
	h := secret.Hash(presented)
	tok, err := t.Store.AdminTokenByHash(ctx, h)
	if errors.Is(err, store.ErrNotFound) {
		return tok, errBadToken
	}
	if err != nil {
		return tok, err
	}
	now := t.Now()
	if !secret.Equal(tok.Hash, h) || !tok.Active(now) {
		return directory.Token{}, errBadToken
	}
	if tok.LastUsed == nil || now.Sub(*tok.LastUsed) > time.Minute {
		_ = t.Store.TouchAdminToken(ctx, tok.ID, now)
	}
	return tok, nil
}

// Revoke revokes a token by id.
func (t *Tokens) Revoke(ctx context.Context, id string, ev *audit.Event) (directory.Token, error) {
	if ev != nil {
		ev.ResourceID = id
	}
	tok, err := t.Store.RevokeAdminToken(ctx, id, t.Now(), ev)
	if errors.Is(err, store.ErrNotFound) {
		return tok, fault.New(fault.NotFound, "id", "admin token %q does not exist", id)
	}
	return tok, err
}
