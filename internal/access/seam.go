package access

import (
	"context"
	"time"
)

// The seam through which permission sets will reach real accounts and the
// portal will hand out access. Design only: nothing implements these yet.
// docs/architecture.md ("Access: provisioning into accounts and issuing
// credentials") explains the flow; the shapes follow AWS IAM Identity
// Center (identity-center.md §2.3, §3.3, §3.4).

// Provisioner materialises permission sets in the accounts they are
// assigned on. For an AWS account that is one IAM role per (permission set,
// account): name AWSReservedSSO_<permission set name>_<16 hex>, path
// /aws-reserved/sso.amazonaws.com/, trusting the directory's SAML provider
// in that account for sts:AssumeRoleWithSAML and sts:TagSession with
// SAML:aud https://signin.aws.amazon.com/saml, maximum session 12 hours,
// carrying the set's managed and customer managed policies, its inline
// policy and its permissions boundary. Implementations are idempotent: the
// provisioning engine calls Provision after every change to a permission
// set that is assigned, and Deprovision when its last assignment on an
// account goes.
type Provisioner interface {
	// Supports reports whether the provisioner serves an account's target
	// type (TargetAWSAccount for the IAM provisioner).
	Supports(a Account) bool
	// Plan compares the set with what exists in the account and returns the
	// changes Provision would make, without making them (dry run, drift).
	Plan(ctx context.Context, a Account, ps PermissionSet) (ProvisioningPlan, error)
	// Provision makes the account match the permission set.
	Provision(ctx context.Context, a Account, ps PermissionSet) (ProvisionedRole, error)
	// Deprovision removes what Provision created for the set in the account.
	Deprovision(ctx context.Context, a Account, ps PermissionSet) error
}

// ProvisioningPlan lists the changes to make in one account, in order.
type ProvisioningPlan struct {
	AccountID       string
	PermissionSetID string
	Changes         []string // e.g. "create role AWSReservedSSO_ViewOnlyAccess_0123456789abcdef"
}

// ProvisionedRole records what a permission set became in an account. The
// provisioning engine stores it; PermissionSetVersion below the set's
// current Version means the account is not up to date (AWS's
// LATEST_PERMISSION_SET_NOT_PROVISIONED).
type ProvisionedRole struct {
	AccountID            string
	PermissionSetID      string
	PermissionSetVersion int64
	RoleName             string // AWSReservedSSO_<name>_<16 hex>
	RoleARN              string
	SAMLProviderARN      string
	ProvisionedAt        time.Time
}

// Session is a signed-in portal user, as the credential broker needs it.
type Session struct {
	ID          string // the portal session (CloudTrail's credentialId)
	DirectoryID string
	UserID      string
	UserName    string // becomes the role session name
	Expires     time.Time
}

// Credentials are short-lived role credentials (the portal API's
// GetRoleCredentials; Expiration becomes epoch milliseconds on the wire).
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}

// CredentialBroker turns one entitlement of a signed-in user into access.
// The caller (the portal) has already checked, with UserEntitlements on the
// current tables, that the entitlement holds, and audits the call
// (Federate, GetRoleCredentials) with the reason. For AWS the broker signs
// a SAML assertion as the directory's identity provider (subject = user
// name, Role attribute = role ARN + SAML provider ARN, SessionDuration =
// the permission set's) and exchanges it with sts:AssumeRoleWithSAML.
type CredentialBroker interface {
	// Credentials returns short-lived credentials for the entitlement's
	// role, valid for the permission set's session duration at most.
	Credentials(ctx context.Context, s Session, e Entitlement, ps PermissionSet) (Credentials, error)
	// ConsoleURL returns a one-time sign-in URL for the account's console
	// as that role, landing on destination (the permission set's relay
	// state when empty).
	ConsoleURL(ctx context.Context, s Session, e Entitlement, ps PermissionSet, destination string) (string, error)
}
