package access

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/fault"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Principals looks up the users and groups assignments name;
// directory.Store satisfies it.
type Principals interface {
	GetUser(ctx context.Context, directoryID, id string) (directory.User, error)
	GetGroup(ctx context.Context, directoryID, id string) (directory.Group, error)
}

// Service applies the access model's rules on top of a Store.
type Service struct {
	Store      Store
	Principals Principals
	Now        func() time.Time
	NewID      func() string
	// NewPermissionSetID returns ids shaped like AWS's: "ps-" and 16 hex digits.
	NewPermissionSetID func() string
}

// NewService returns a Service with the real clock, time-ordered UUIDs for
// assignments and random permission set ids.
func NewService(s Store, p Principals) *Service {
	return &Service{Store: s, Principals: p, Now: time.Now,
		NewID:              func() string { return uuid.Must(uuid.NewV7()).String() },
		NewPermissionSetID: randomPermissionSetID}
}

func randomPermissionSetID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "ps-" + hex.EncodeToString(b)
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// ---- accounts ---------------------------------------------------------

// CreateAccount validates and stores an account of directory d. An empty
// type means AWS_ACCOUNT.
func (s *Service) CreateAccount(ctx context.Context, d directory.Directory, a Account, ev *audit.Event) (Account, error) {
	now := s.now()
	a.DirectoryID, a.Type, a.Created, a.Modified = d.ID, NormalizeTargetType(a.Type), now, now
	if len(a.Tags) == 0 {
		a.Tags = nil
	}
	fill(ev, d.ID, a.ID, a.Name)
	if err := ValidateAccount(a); err != nil {
		return Account{}, err
	}
	if err := s.Store.CreateAccount(ctx, a, fill(ev, d.ID, a.ID, a.Name)); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			if _, gerr := s.Store.GetAccount(ctx, d.ID, a.ID); gerr == nil {
				return Account{}, fault.New(fault.Uniqueness, "id", "account %s already exists in directory %q", a.ID, d.Name)
			}
			return Account{}, fault.New(fault.Uniqueness, "name", "an account named %q already exists in directory %q (names are unique regardless of case)", a.Name, d.Name)
		}
		return Account{}, err
	}
	return a, nil
}

// Account finds an account by id, or else by name (regardless of case).
func (s *Service) Account(ctx context.Context, d directory.Directory, ref string) (Account, error) {
	a, err := s.Store.GetAccount(ctx, d.ID, ref)
	if errors.Is(err, store.ErrNotFound) {
		a, err = s.Store.GetAccountByName(ctx, d.ID, ref)
	}
	if errors.Is(err, store.ErrNotFound) {
		return a, fault.New(fault.NotFound, "accountId", "no account with id or name %q in directory %q", ref, d.Name)
	}
	return a, err
}

// ListAccounts lists a directory's accounts by id.
func (s *Service) ListAccounts(ctx context.Context, d directory.Directory) ([]Account, error) {
	return s.Store.ListAccounts(ctx, d.ID)
}

// DeleteAccount deletes an account. While assignments use it, it is refused
// with a *directory.ReferencedError listing them, unless cascade is set:
// then they are removed in the same transaction, each with a
// DeleteAccountAssignment event, and returned.
func (s *Service) DeleteAccount(ctx context.Context, d directory.Directory, a Account, cascade bool, ev *audit.Event) ([]Assignment, error) {
	removed, err := s.Store.DeleteAccount(ctx, d.ID, a.ID, cascade, fill(ev, d.ID, a.ID, a.Name))
	return removed, s.deleteError(err, fmt.Sprintf("account %s (%s)", a.ID, a.Name), "accountId", a.ID)
}

func (s *Service) deleteError(err error, what, field, id string) error {
	var re *directory.ReferencedError
	switch {
	case errors.As(err, &re):
		re.What = what
	case errors.Is(err, store.ErrNotFound):
		return fault.New(fault.NotFound, field, "%s no longer exists", what)
	}
	return err
}

// ---- permission sets --------------------------------------------------

// CreatePermissionSet validates and stores a permission set, with any
// policies, boundary and tags it already carries.
func (s *Service) CreatePermissionSet(ctx context.Context, d directory.Directory, p PermissionSet, ev *audit.Event) (PermissionSet, error) {
	now := s.now()
	p.ID, p.DirectoryID, p.Version, p.Created, p.Modified = s.NewPermissionSetID(), d.ID, 1, now, now
	fill(ev, d.ID, "", p.Name) // named even when refused; the id only once stored
	if err := normalize(&p); err != nil {
		return PermissionSet{}, err
	}
	if err := ValidatePermissionSet(p); err != nil {
		return PermissionSet{}, err
	}
	if err := s.Store.CreatePermissionSet(ctx, p, fill(ev, d.ID, p.ID, p.Name)); err != nil {
		return PermissionSet{}, psConflict(err, d, p.Name)
	}
	return p, nil
}

// normalize fills defaults and canonical spellings before validation.
func normalize(p *PermissionSet) error {
	_, canon, err := ParseSessionDuration(p.SessionDuration)
	if err != nil {
		return err
	}
	p.SessionDuration = canon
	if p.ManagedPolicies == nil {
		p.ManagedPolicies = []string{}
	}
	if p.CustomerManagedPolicies == nil {
		p.CustomerManagedPolicies = []PolicyReference{}
	}
	for i, r := range p.CustomerManagedPolicies {
		p.CustomerManagedPolicies[i] = NormalizePolicyReference(r)
	}
	if b := p.PermissionsBoundary; b != nil && b.CustomerManagedPolicyReference != nil {
		r := NormalizePolicyReference(*b.CustomerManagedPolicyReference)
		b.CustomerManagedPolicyReference = &r
	}
	if len(p.Tags) == 0 {
		p.Tags = nil
	}
	return nil
}

func psConflict(err error, d directory.Directory, name string) error {
	if errors.Is(err, store.ErrAlreadyExists) {
		return fault.New(fault.Uniqueness, "name", "a permission set named %q already exists in directory %q (names are unique regardless of case)", name, d.Name)
	}
	return err
}

// PermissionSet finds a permission set by id, or else by name (regardless
// of case).
func (s *Service) PermissionSet(ctx context.Context, d directory.Directory, ref string) (PermissionSet, error) {
	p, err := s.Store.GetPermissionSet(ctx, d.ID, ref)
	if errors.Is(err, store.ErrNotFound) {
		p, err = s.Store.GetPermissionSetByName(ctx, d.ID, ref)
	}
	if errors.Is(err, store.ErrNotFound) {
		return p, fault.New(fault.NotFound, "permissionSet", "no permission set with id or name %q in directory %q", ref, d.Name)
	}
	return p, err
}

// ListPermissionSets lists a directory's permission sets by name.
func (s *Service) ListPermissionSets(ctx context.Context, d directory.Directory) ([]PermissionSet, error) {
	return s.Store.ListPermissionSets(ctx, d.ID)
}

// PermissionSetUpdate changes the attributes UpdatePermissionSet may
// change; nil fields are left alone. Tags, when set, replace all tags.
type PermissionSetUpdate struct {
	Description     *string            `json:"description"`
	SessionDuration *string            `json:"sessionDuration"`
	RelayState      *string            `json:"relayState"`
	Tags            *map[string]string `json:"tags"`
}

// UpdatePermissionSet changes description, session duration, relay state
// and tags (AWS's UpdatePermissionSet plus tagging).
func (s *Service) UpdatePermissionSet(ctx context.Context, d directory.Directory, p PermissionSet, u PermissionSetUpdate, ev *audit.Event) (PermissionSet, error) {
	if u.Description == nil && u.SessionDuration == nil && u.RelayState == nil && u.Tags == nil {
		return p, fault.New(fault.InvalidValue, "permissionSet", "nothing to update: give description, sessionDuration, relayState or tags")
	}
	return s.update(ctx, d, p, ev, func(p *PermissionSet) error {
		if u.Description != nil {
			p.Description = *u.Description
		}
		if u.SessionDuration != nil {
			p.SessionDuration = *u.SessionDuration
		}
		if u.RelayState != nil {
			p.RelayState = *u.RelayState
		}
		if u.Tags != nil {
			p.Tags = *u.Tags
		}
		return nil
	})
}

// update runs fn on the stored set inside the store's transaction, then
// normalises and validates the result as a whole.
func (s *Service) update(ctx context.Context, d directory.Directory, p PermissionSet, ev *audit.Event, fn func(p *PermissionSet) error) (PermissionSet, error) {
	out, err := s.Store.UpdatePermissionSet(ctx, d.ID, p.ID, func(cur *PermissionSet) error {
		if err := fn(cur); err != nil {
			return err
		}
		if err := normalize(cur); err != nil {
			return err
		}
		if err := ValidatePermissionSet(*cur); err != nil {
			return err
		}
		cur.Modified = s.now()
		return nil
	}, fill(ev, d.ID, p.ID, p.Name))
	if errors.Is(err, store.ErrNotFound) {
		return out, fault.New(fault.NotFound, "permissionSet", "permission set %s (%s) no longer exists", p.Name, p.ID)
	}
	return out, psConflict(err, d, out.Name)
}

// AttachManagedPolicy attaches an AWS managed (or customer managed, by ARN)
// policy; at most MaxPolicies policies per set.
func (s *Service) AttachManagedPolicy(ctx context.Context, d directory.Directory, p PermissionSet, arn string, ev *audit.Event) (PermissionSet, error) {
	if err := ValidateManagedPolicyARN("managedPolicyArn", arn); err != nil {
		return p, err
	}
	return s.update(ctx, d, p, ev, func(p *PermissionSet) error {
		if slices.Contains(p.ManagedPolicies, arn) {
			return fault.New(fault.Uniqueness, "managedPolicyArn", "%s is already attached to permission set %s", arn, p.Name)
		}
		if err := checkPolicyLimit(p); err != nil {
			return err
		}
		p.ManagedPolicies = append(p.ManagedPolicies, arn)
		return nil
	})
}

func checkPolicyLimit(p *PermissionSet) error {
	if n := len(p.ManagedPolicies) + len(p.CustomerManagedPolicies); n >= MaxPolicies {
		return fault.New(fault.Limit, "managedPolicies", "permission set %s already has %d managed and customer managed policies, the maximum", p.Name, n)
	}
	return nil
}

// DetachManagedPolicy detaches a managed policy by ARN.
func (s *Service) DetachManagedPolicy(ctx context.Context, d directory.Directory, p PermissionSet, arn string, ev *audit.Event) (PermissionSet, error) {
	return s.update(ctx, d, p, ev, func(p *PermissionSet) error {
		i := slices.Index(p.ManagedPolicies, arn)
		if i < 0 {
			return fault.New(fault.NotFound, "managedPolicyArn", "%s is not attached to permission set %s", arn, p.Name)
		}
		p.ManagedPolicies = slices.Delete(p.ManagedPolicies, i, i+1)
		return nil
	})
}

// AttachCustomerManagedPolicy attaches a customer managed policy reference
// (name and path; the policy must exist in every target account).
func (s *Service) AttachCustomerManagedPolicy(ctx context.Context, d directory.Directory, p PermissionSet, ref PolicyReference, ev *audit.Event) (PermissionSet, error) {
	ref = NormalizePolicyReference(ref)
	if err := ValidatePolicyReference("customerManagedPolicyReference", ref); err != nil {
		return p, err
	}
	return s.update(ctx, d, p, ev, func(p *PermissionSet) error {
		if slices.Contains(p.CustomerManagedPolicies, ref) {
			return fault.New(fault.Uniqueness, "customerManagedPolicyReference", "customer managed policy %s is already attached to permission set %s", ref, p.Name)
		}
		if err := checkPolicyLimit(p); err != nil {
			return err
		}
		p.CustomerManagedPolicies = append(p.CustomerManagedPolicies, ref)
		return nil
	})
}

// DetachCustomerManagedPolicy detaches a customer managed policy reference.
func (s *Service) DetachCustomerManagedPolicy(ctx context.Context, d directory.Directory, p PermissionSet, ref PolicyReference, ev *audit.Event) (PermissionSet, error) {
	ref = NormalizePolicyReference(ref)
	return s.update(ctx, d, p, ev, func(p *PermissionSet) error {
		i := slices.Index(p.CustomerManagedPolicies, ref)
		if i < 0 {
			return fault.New(fault.NotFound, "customerManagedPolicyReference", "customer managed policy %s is not attached to permission set %s", ref, p.Name)
		}
		p.CustomerManagedPolicies = slices.Delete(p.CustomerManagedPolicies, i, i+1)
		return nil
	})
}

// PutInlinePolicy sets the one inline policy, replacing any previous one.
func (s *Service) PutInlinePolicy(ctx context.Context, d directory.Directory, p PermissionSet, doc string, ev *audit.Event) (PermissionSet, error) {
	if doc == "" {
		return p, fault.New(fault.InvalidValue, "inlinePolicy", "inlinePolicy is required (to remove it, delete the inline policy)")
	}
	if err := ValidateInlinePolicy(doc); err != nil {
		return p, err
	}
	return s.update(ctx, d, p, ev, func(p *PermissionSet) error {
		p.InlinePolicy = doc
		return nil
	})
}

// DeleteInlinePolicy removes the inline policy.
func (s *Service) DeleteInlinePolicy(ctx context.Context, d directory.Directory, p PermissionSet, ev *audit.Event) (PermissionSet, error) {
	return s.update(ctx, d, p, ev, func(p *PermissionSet) error {
		if p.InlinePolicy == "" {
			return fault.New(fault.NotFound, "inlinePolicy", "permission set %s has no inline policy", p.Name)
		}
		p.InlinePolicy = ""
		return nil
	})
}

// PutPermissionsBoundary sets the permissions boundary.
func (s *Service) PutPermissionsBoundary(ctx context.Context, d directory.Directory, p PermissionSet, b Boundary, ev *audit.Event) (PermissionSet, error) {
	if b.CustomerManagedPolicyReference != nil {
		r := NormalizePolicyReference(*b.CustomerManagedPolicyReference)
		b.CustomerManagedPolicyReference = &r
	}
	if err := ValidateBoundary(b); err != nil {
		return p, err
	}
	return s.update(ctx, d, p, ev, func(p *PermissionSet) error {
		p.PermissionsBoundary = &b
		return nil
	})
}

// DeletePermissionsBoundary removes the permissions boundary.
func (s *Service) DeletePermissionsBoundary(ctx context.Context, d directory.Directory, p PermissionSet, ev *audit.Event) (PermissionSet, error) {
	return s.update(ctx, d, p, ev, func(p *PermissionSet) error {
		if p.PermissionsBoundary == nil {
			return fault.New(fault.NotFound, "permissionsBoundary", "permission set %s has no permissions boundary", p.Name)
		}
		p.PermissionsBoundary = nil
		return nil
	})
}

// DeletePermissionSet deletes a permission set; see DeleteAccount for
// what happens to its assignments.
func (s *Service) DeletePermissionSet(ctx context.Context, d directory.Directory, p PermissionSet, cascade bool, ev *audit.Event) ([]Assignment, error) {
	removed, err := s.Store.DeletePermissionSet(ctx, d.ID, p.ID, cascade, fill(ev, d.ID, p.ID, p.Name))
	return removed, s.deleteError(err, fmt.Sprintf("permission set %s (%s)", p.Name, p.ID), "permissionSet", p.ID)
}

// ---- assignments ------------------------------------------------------

// AssignmentInput names an assignment by its four parts.
type AssignmentInput struct {
	AccountID       string `json:"accountId"`
	PermissionSetID string `json:"permissionSetId"`
	PrincipalType   string `json:"principalType"`
	PrincipalID     string `json:"principalId"`
}

// CreateAssignment assigns a permission set on an account to a user or a
// group of the same directory.
func (s *Service) CreateAssignment(ctx context.Context, d directory.Directory, in AssignmentInput, ev *audit.Event) (Assignment, error) {
	a, err := s.resolveInput(ctx, d, in)
	if err != nil {
		return a, err
	}
	a.ID, a.DirectoryID, a.Created = s.NewID(), d.ID, s.now()
	err = s.Store.CreateAssignment(ctx, a, fill(ev, d.ID, a.ID, a.PrincipalName))
	switch {
	case errors.Is(err, store.ErrAlreadyExists):
		return a, fault.New(fault.Uniqueness, "principalId", "%s already exists", a)
	case errors.Is(err, store.ErrNotFound):
		return a, fault.New(fault.NotFound, "principalId", "the account, permission set or principal of %s was deleted meanwhile", a)
	}
	return a, err
}

// resolveInput checks that the four parts of an assignment exist in d and
// fills in their names.
func (s *Service) resolveInput(ctx context.Context, d directory.Directory, in AssignmentInput) (Assignment, error) {
	typ, err := ValidatePrincipalType(in.PrincipalType)
	if err != nil {
		return Assignment{}, err
	}
	if in.AccountID == "" {
		return Assignment{}, fault.New(fault.InvalidValue, "accountId", "accountId is required")
	}
	if in.PermissionSetID == "" {
		return Assignment{}, fault.New(fault.InvalidValue, "permissionSetId", "permissionSetId is required")
	}
	if in.PrincipalID == "" {
		return Assignment{}, fault.New(fault.InvalidValue, "principalId", "principalId is required")
	}
	acct, err := s.Store.GetAccount(ctx, d.ID, in.AccountID)
	if errors.Is(err, store.ErrNotFound) {
		return Assignment{}, fault.New(fault.NotFound, "accountId", "account %q does not exist in directory %q", in.AccountID, d.Name)
	} else if err != nil {
		return Assignment{}, err
	}
	ps, err := s.Store.GetPermissionSet(ctx, d.ID, in.PermissionSetID)
	if errors.Is(err, store.ErrNotFound) {
		return Assignment{}, fault.New(fault.NotFound, "permissionSetId", "permission set %q does not exist in directory %q", in.PermissionSetID, d.Name)
	} else if err != nil {
		return Assignment{}, err
	}
	a := Assignment{AccountID: acct.ID, AccountName: acct.Name, PermissionSetID: ps.ID, PermissionSetName: ps.Name, PrincipalType: typ, PrincipalID: in.PrincipalID}
	if typ == PrincipalUser {
		u, err := s.Principals.GetUser(ctx, d.ID, in.PrincipalID)
		if errors.Is(err, store.ErrNotFound) {
			return Assignment{}, fault.New(fault.NotFound, "principalId", "principalId %q is not a user of directory %q", in.PrincipalID, d.Name)
		} else if err != nil {
			return Assignment{}, err
		}
		a.PrincipalName = u.UserName
	} else {
		g, err := s.Principals.GetGroup(ctx, d.ID, in.PrincipalID)
		if errors.Is(err, store.ErrNotFound) {
			return Assignment{}, fault.New(fault.NotFound, "principalId", "principalId %q is not a group of directory %q", in.PrincipalID, d.Name)
		} else if err != nil {
			return Assignment{}, err
		}
		a.PrincipalName = g.DisplayName
	}
	return a, nil
}

// Assignment finds an assignment by id.
func (s *Service) Assignment(ctx context.Context, d directory.Directory, id string) (Assignment, error) {
	a, err := s.Store.GetAssignment(ctx, d.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return a, fault.New(fault.NotFound, "id", "no assignment %q in directory %q", id, d.Name)
	}
	return a, err
}

// FindAssignment finds an assignment by its four parts.
func (s *Service) FindAssignment(ctx context.Context, d directory.Directory, in AssignmentInput) (Assignment, error) {
	typ, err := ValidatePrincipalType(in.PrincipalType)
	if err != nil {
		return Assignment{}, err
	}
	list, err := s.Store.ListAssignments(ctx, d.ID, AssignmentFilter{AccountID: in.AccountID, PermissionSetID: in.PermissionSetID, PrincipalType: typ, PrincipalID: in.PrincipalID})
	if err != nil {
		return Assignment{}, err
	}
	if len(list) == 0 {
		return Assignment{}, fault.New(fault.NotFound, "principalId", "no such assignment: permission set %s on account %s to %s %s", in.PermissionSetID, in.AccountID, typ, in.PrincipalID)
	}
	return list[0], nil
}

// DeleteAssignment removes an assignment by id.
func (s *Service) DeleteAssignment(ctx context.Context, d directory.Directory, a Assignment, ev *audit.Event) (Assignment, error) {
	out, err := s.Store.DeleteAssignment(ctx, d.ID, a.ID, fill(ev, d.ID, a.ID, a.PrincipalName))
	if errors.Is(err, store.ErrNotFound) {
		return out, fault.New(fault.NotFound, "id", "assignment %s no longer exists", a.ID)
	}
	return out, err
}

// ListAssignments lists a directory's assignments matching f.
func (s *Service) ListAssignments(ctx context.Context, d directory.Directory, f AssignmentFilter) ([]Assignment, error) {
	if f.PrincipalType != "" {
		t, err := ValidatePrincipalType(f.PrincipalType)
		if err != nil {
			return nil, err
		}
		f.PrincipalType = t
	}
	return s.Store.ListAssignments(ctx, d.ID, f)
}

// ---- entitlements -----------------------------------------------------

// UserEntitlements resolves what a user can reach, and why, from the
// current assignments and memberships.
func (s *Service) UserEntitlements(ctx context.Context, d directory.Directory, userID string) (UserAccess, error) {
	g, err := s.Store.UserGraph(ctx, d.ID, userID)
	if errors.Is(err, store.ErrNotFound) {
		return UserAccess{}, fault.New(fault.NotFound, "user", "no user %q in directory %q", userID, d.Name)
	}
	if err != nil {
		return UserAccess{}, err
	}
	u := g.Users[userID]
	return UserAccess{UserID: userID, UserName: u.Name, Active: u.Active, Entitlements: nonNil(ResolveUser(userID, g))}, nil
}

// AccountAccess resolves who can reach an account (through one permission
// set when ps is not nil), and why.
func (s *Service) AccountAccess(ctx context.Context, d directory.Directory, a Account, ps *PermissionSet) (AccountAccess, error) {
	psID := ""
	if ps != nil {
		psID = ps.ID
	}
	g, err := s.Store.AccountGraph(ctx, d.ID, a.ID, psID)
	if err != nil {
		return AccountAccess{}, err
	}
	return AccountAccess{Account: a, PermissionSet: ps, Entitlements: nonNil(ResolveAccount(g))}, nil
}

func nonNil(e []Entitlement) []Entitlement {
	if e == nil {
		return []Entitlement{}
	}
	return e
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
