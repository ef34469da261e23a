package access

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// Every rule below returns a *fault.Error whose Field names the attribute
// (as the admin API spells it) and whose message says what is allowed.

var (
	awsAccountID = regexp.MustCompile(`^\d{12}$`)
	// otherAccountID: any stable string that is safe in URLs and tables.
	otherAccountID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/@+=-]{0,127}$`)
	// permissionSetName is AWS's pattern [\w+=,.@-]+ with length 1-32.
	permissionSetName = regexp.MustCompile(`^[\w+=,.@-]{1,32}$`)
	// accountEmail is AWS Organizations' pattern.
	accountEmail = regexp.MustCompile(`^[^\s@]+@[^\s@]+\.[^\s@]+$`)
	// managedPolicyARN: AWS managed (account "aws") or customer managed (a
	// 12-digit account), with an optional path, in any AWS partition.
	managedPolicyARN = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):iam::(aws|\d{12}):policy/((?:[\w+=,.@-]+/)*)([\w+=,.@-]{1,128})$`)
	policyName       = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)
	policyPath       = regexp.MustCompile(`^/(?:[A-Za-z0-9.,+@=_-]+/)*$`)
	// tagText is AWS's tag character set: letters, separators, numbers, _.:/=+-@.
	tagText = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	// relayStateChars is AWS's RelayState character set.
	relayStateChars = regexp.MustCompile(`^[a-zA-Z0-9&$@#\\/%?=~\-_'"|!:,.;*+\[\] (){}]+$`)
	// isoDuration accepts ISO 8601 durations of days, hours, minutes and
	// whole seconds (PT1H, PT90M, PT1H30M, PT3600S).
	isoDuration = regexp.MustCompile(`^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$`)
)

// ValidateAccountID checks an account id against its target type.
func ValidateAccountID(typ, id string) error {
	switch typ {
	case TargetAWSAccount:
		if !awsAccountID.MatchString(id) {
			return fault.New(fault.InvalidValue, "id", "account id %q is not a 12-digit AWS account id (for another kind of target use type %s)", id, TargetOther)
		}
	case TargetOther:
		if !otherAccountID.MatchString(id) {
			return fault.New(fault.InvalidValue, "id", "account id %q must be 1-128 letters, digits or . _ : / @ + = -, starting with a letter or digit", id)
		}
	default:
		return fault.New(fault.InvalidValue, "type", "account type %q is not one of %s, %s", typ, TargetAWSAccount, TargetOther)
	}
	return nil
}

// NormalizeTargetType accepts a target type in any case; empty means
// TargetAWSAccount.
func NormalizeTargetType(typ string) string {
	if typ == "" {
		return TargetAWSAccount
	}
	return strings.ToUpper(typ)
}

// ValidateAccount checks every field of an account.
func ValidateAccount(a Account) error {
	if err := ValidateAccountID(a.Type, a.ID); err != nil {
		return err
	}
	if err := validateDisplayName("name", "account name", a.Name, 50); err != nil {
		return err
	}
	if err := ValidateDescription(a.Description); err != nil {
		return err
	}
	if a.Email != "" && (len(a.Email) < 6 || len(a.Email) > 64 || !accountEmail.MatchString(a.Email)) {
		return fault.New(fault.InvalidValue, "email", "email %q must be an email address of 6-64 characters", a.Email)
	}
	return ValidateTags(a.Tags)
}

// validateDisplayName: required, printable ASCII, no surrounding spaces.
func validateDisplayName(field, what, s string, limit int) error {
	if s == "" {
		return fault.New(fault.InvalidValue, field, "%s is required", what)
	}
	if len(s) > limit {
		return fault.New(fault.InvalidValue, field, "%s is %d characters; the limit is %d", what, len(s), limit)
	}
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			return fault.New(fault.InvalidValue, field, "%s %q may contain printable ASCII characters only", what, s)
		}
	}
	if strings.TrimSpace(s) != s {
		return fault.New(fault.InvalidValue, field, "%s %q must not start or end with a space", what, s)
	}
	return nil
}

// ValidatePermissionSetName checks AWS's naming rule: 1-32 characters of
// letters, digits and + = , . @ _ -.
func ValidatePermissionSetName(name string) error {
	if name == "" {
		return fault.New(fault.InvalidValue, "name", "permission set name is required")
	}
	if !permissionSetName.MatchString(name) {
		if utf8.RuneCountInString(name) > 32 {
			return fault.New(fault.InvalidValue, "name", "permission set name is %d characters; the limit is 32", utf8.RuneCountInString(name))
		}
		return fault.New(fault.InvalidValue, "name", "permission set name %q may contain only letters, digits and + = , . @ _ - (AWS's rule)", name)
	}
	return nil
}

// ValidateDescription allows up to 700 characters of Latin-1 text, tabs and
// line breaks (AWS's rule for permission set descriptions).
func ValidateDescription(s string) error {
	if n := utf8.RuneCountInString(s); n > 700 {
		return fault.New(fault.InvalidValue, "description", "description is %d characters; the limit is 700", n)
	}
	for _, r := range s {
		if r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0x7e) || (r >= 0xa1 && r <= 0xff) {
			continue
		}
		return fault.New(fault.InvalidValue, "description", "description contains %q; only Latin-1 text, tabs and line breaks are allowed", r)
	}
	return nil
}

// ParseSessionDuration parses an ISO 8601 duration between one and twelve
// hours and returns it with its canonical spelling ("PT1H30M"). Empty means
// the default, PT1H.
func ParseSessionDuration(s string) (time.Duration, string, error) {
	if s == "" {
		s = DefaultSessionDuration
	}
	up := strings.ToUpper(s)
	m := isoDuration.FindStringSubmatch(up)
	if m == nil || (m[1] == "" && m[2] == "" && m[3] == "" && m[4] == "") || (strings.Contains(up, "T") && m[2] == "" && m[3] == "" && m[4] == "") {
		return 0, "", fault.New(fault.InvalidValue, "sessionDuration", "sessionDuration %q is not an ISO 8601 duration such as PT1H, PT8H or PT1H30M", s)
	}
	var d time.Duration
	for i, unit := range []time.Duration{24 * time.Hour, time.Hour, time.Minute, time.Second} {
		if m[i+1] == "" {
			continue
		}
		n, err := strconv.ParseInt(m[i+1], 10, 64)
		if err != nil || n > 1e6 {
			return 0, "", fault.New(fault.InvalidValue, "sessionDuration", "sessionDuration %q is out of range: use PT1H to PT12H", s)
		}
		d += time.Duration(n) * unit
	}
	if d < MinSessionDuration || d > MaxSessionDuration {
		return 0, "", fault.New(fault.InvalidValue, "sessionDuration", "sessionDuration %s is %s; it must be from PT1H to PT12H (1 to 12 hours)", s, d)
	}
	return d, canonicalDuration(d), nil
}

func canonicalDuration(d time.Duration) string {
	h, m, sec := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	out := "PT"
	if h > 0 {
		out += strconv.Itoa(h) + "H"
	}
	if m > 0 {
		out += strconv.Itoa(m) + "M"
	}
	if sec > 0 {
		out += strconv.Itoa(sec) + "S"
	}
	return out
}

// ValidateRelayState checks the URL users land on after console sign-in:
// https, with a host, 1-240 characters of AWS's RelayState character set.
func ValidateRelayState(s string) error {
	if s == "" {
		return nil
	}
	if len(s) > 240 {
		return fault.New(fault.InvalidValue, "relayState", "relayState is %d characters; the limit is 240", len(s))
	}
	if !relayStateChars.MatchString(s) {
		return fault.New(fault.InvalidValue, "relayState", "relayState %q contains characters AWS does not allow in a relay state", s)
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return fault.New(fault.InvalidValue, "relayState", "relayState %q must be an https:// URL with a host, e.g. https://console.aws.amazon.com/s3/home", s)
	}
	return nil
}

// ValidateManagedPolicyARN checks an AWS managed policy ARN
// (arn:aws:iam::aws:policy/...) or a customer managed one
// (arn:aws:iam::<12 digits>:policy/...).
func ValidateManagedPolicyARN(field, arn string) error {
	if arn == "" {
		return fault.New(fault.InvalidValue, field, "%s is required", field)
	}
	if len(arn) > 2048 {
		return fault.New(fault.InvalidValue, field, "%s is %d characters; the limit is 2048", field, len(arn))
	}
	if !managedPolicyARN.MatchString(arn) {
		return fault.New(fault.InvalidValue, field, "%s %q is not a managed policy ARN: use arn:aws:iam::aws:policy/NAME (AWS managed, e.g. arn:aws:iam::aws:policy/job-function/ViewOnlyAccess) or arn:aws:iam::123456789012:policy/NAME (customer managed)", field, arn)
	}
	return nil
}

// NormalizePolicyReference fills the default path "/".
func NormalizePolicyReference(r PolicyReference) PolicyReference {
	if r.Path == "" {
		r.Path = "/"
	}
	return r
}

// ValidatePolicyReference checks a customer managed policy reference: a
// name of 1-128 characters and a path of 1-512 that starts and ends with /.
func ValidatePolicyReference(field string, r PolicyReference) error {
	if r.Name == "" {
		return fault.New(fault.InvalidValue, field+".name", "%s.name is required", field)
	}
	if !policyName.MatchString(r.Name) {
		return fault.New(fault.InvalidValue, field+".name", "%s.name %q must be 1-128 letters, digits or + = , . @ _ -", field, r.Name)
	}
	if len(r.Path) > 512 {
		return fault.New(fault.InvalidValue, field+".path", "%s.path is %d characters; the limit is 512", field, len(r.Path))
	}
	if !strings.HasPrefix(r.Path, "/") || !strings.HasSuffix(r.Path, "/") {
		return fault.New(fault.InvalidValue, field+".path", "%s.path %q must start and end with / (e.g. / or /team/)", field, r.Path)
	}
	if !policyPath.MatchString(r.Path) {
		return fault.New(fault.InvalidValue, field+".path", "%s.path %q may contain only letters, digits and . , + @ = _ - between slashes", field, r.Path)
	}
	return nil
}

// ParsePolicyReference reads "/path/Name" or "Name" (path "/").
func ParsePolicyReference(s string) PolicyReference {
	i := strings.LastIndex(s, "/")
	if i < 0 {
		return PolicyReference{Name: s, Path: "/"}
	}
	return PolicyReference{Path: s[:i+1], Name: s[i+1:]}
}

// ValidateBoundary checks a permissions boundary: exactly one of a managed
// policy ARN and a customer managed policy reference.
func ValidateBoundary(b Boundary) error {
	hasARN, hasRef := b.ManagedPolicyARN != "", b.CustomerManagedPolicyReference != nil
	switch {
	case hasARN && hasRef:
		return fault.New(fault.InvalidValue, "permissionsBoundary", "permissionsBoundary takes either managedPolicyArn or customerManagedPolicyReference, not both")
	case hasARN:
		return ValidateManagedPolicyARN("permissionsBoundary.managedPolicyArn", b.ManagedPolicyARN)
	case hasRef:
		return ValidatePolicyReference("permissionsBoundary.customerManagedPolicyReference", *b.CustomerManagedPolicyReference)
	}
	return fault.New(fault.InvalidValue, "permissionsBoundary", "permissionsBoundary needs managedPolicyArn or customerManagedPolicyReference")
}

// ValidateTags checks at most 50 tags, keys of 1-128 and values of 0-256
// characters from AWS's tag character set; keys starting with "aws:" are
// reserved.
func ValidateTags(tags map[string]string) error {
	if len(tags) > MaxTags {
		return fault.New(fault.Limit, "tags", "%d tags; the limit is %d", len(tags), MaxTags)
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		field := fmt.Sprintf("tags[%q]", k)
		if n := utf8.RuneCountInString(k); n < 1 || n > 128 {
			return fault.New(fault.InvalidValue, field, "tag key %q is %d characters; keys are 1-128 characters", k, n)
		}
		if !tagText.MatchString(k) {
			return fault.New(fault.InvalidValue, field, "tag key %q may contain only letters, numbers, spaces and _ . : / = + - @", k)
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return fault.New(fault.InvalidValue, field, "tag key %q uses the reserved prefix aws:", k)
		}
		v := tags[k]
		if n := utf8.RuneCountInString(v); n > 256 {
			return fault.New(fault.InvalidValue, field, "tag %q has a value of %d characters; values are 0-256 characters", k, n)
		}
		if !tagText.MatchString(v) {
			return fault.New(fault.InvalidValue, field, "tag %q has a value with characters other than letters, numbers, spaces and _ . : / = + - @", k)
		}
	}
	return nil
}

// ParseTags reads KEY=VALUE pairs (command-line form).
func ParseTags(pairs []string) (map[string]string, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(pairs))
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return nil, fault.New(fault.InvalidValue, "tags", "tag %q must be KEY=VALUE", p)
		}
		out[k] = v
	}
	return out, nil
}

// ValidatePermissionSet checks every field of a permission set, including
// the policy limit and the inline policy document.
func ValidatePermissionSet(p PermissionSet) error {
	if err := ValidatePermissionSetName(p.Name); err != nil {
		return err
	}
	if err := ValidateDescription(p.Description); err != nil {
		return err
	}
	if _, _, err := ParseSessionDuration(p.SessionDuration); err != nil {
		return err
	}
	if err := ValidateRelayState(p.RelayState); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, arn := range p.ManagedPolicies {
		field := fmt.Sprintf("managedPolicies[%d]", i)
		if err := ValidateManagedPolicyARN(field, arn); err != nil {
			return err
		}
		if seen[arn] {
			return fault.New(fault.Uniqueness, field, "%s %s is listed twice", field, arn)
		}
		seen[arn] = true
	}
	for i, r := range p.CustomerManagedPolicies {
		field := fmt.Sprintf("customerManagedPolicies[%d]", i)
		if err := ValidatePolicyReference(field, r); err != nil {
			return err
		}
		if seen[r.String()] {
			return fault.New(fault.Uniqueness, field, "%s %s is listed twice", field, r)
		}
		seen[r.String()] = true
	}
	if n := len(p.ManagedPolicies) + len(p.CustomerManagedPolicies); n > MaxPolicies {
		return fault.New(fault.Limit, "managedPolicies", "%d managed and customer managed policies; a permission set may have at most %d", n, MaxPolicies)
	}
	if p.InlinePolicy != "" {
		if err := ValidateInlinePolicy(p.InlinePolicy); err != nil {
			return err
		}
	}
	if p.PermissionsBoundary != nil {
		if err := ValidateBoundary(*p.PermissionsBoundary); err != nil {
			return err
		}
	}
	return ValidateTags(p.Tags)
}

// ValidatePrincipalType accepts USER or GROUP in any case and returns it
// upper-cased.
func ValidatePrincipalType(t string) (string, error) {
	switch u := strings.ToUpper(t); u {
	case PrincipalUser, PrincipalGroup:
		return u, nil
	}
	return "", fault.New(fault.InvalidValue, "principalType", "principalType %q is not USER or GROUP", t)
}
