package directory

import (
	"strings"
	"unicode"

	"github.com/gatehouse-id/gatehouse/internal/directory/patch"
	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// The aws-identity-center profile reproduces AWS IAM Identity Center's
// documented SCIM constraints (developer guide: CreateUser, PutUser,
// PatchUser, PatchGroup; see docs/scim.md) so that a directory can stand in
// for it, but every rejection names the attribute, unlike AWS's generic
// "Request is unparsable, syntactically incorrect, or violates schema".

// AWSMaxMemberChanges is AWS's limit of membership changes per PatchGroup.
const AWSMaxMemberChanges = 100

// awsSingleValued are the multi-valued attributes AWS accepts only one value of.
var awsSingleValued = []string{"emails", "addresses", "phoneNumbers", "roles"}

// awsUnsupported are attributes AWS's SCIM endpoint rejects.
var awsUnsupported = []string{"ims", "photos", "x509Certificates", "entitlements", "password"}

// awsForbiddenChars are the characters AWS rejects in names: control
// characters (tab, CR, LF) and a few punctuation marks.
const awsForbiddenChars = "<>;:%"

func checkUserProfile(d Directory, attrs map[string]any) error {
	if d.Profile != ProfileAWS {
		return checkName(d, "userName", stringAttr(attrs, "userName"))
	}
	name, _ := attrs["name"].(map[string]any)
	for _, f := range []struct{ path, val string }{
		{"name.givenName", stringAttr(name, "givenName")},
		{"name.familyName", stringAttr(name, "familyName")},
		{"displayName", stringAttr(attrs, "displayName")},
	} {
		if strings.TrimSpace(f.val) == "" {
			return fault.New(fault.InvalidValue, f.path, "%s is required by this directory's aws-identity-center profile (AWS IAM Identity Center requires userName, displayName, name.givenName and name.familyName)", f.path)
		}
	}
	for _, f := range []string{"userName", "displayName"} {
		if err := checkName(d, f, stringAttr(attrs, f)); err != nil {
			return err
		}
	}
	for _, a := range awsUnsupported {
		if _, ok := attrs[a]; ok {
			return fault.New(fault.InvalidValue, a, "%s is not supported by this directory's aws-identity-center profile (AWS IAM Identity Center does not accept it)", a)
		}
	}
	for _, a := range awsSingleValued {
		if list, ok := attrs[a].([]any); ok && len(list) > 1 {
			return fault.New(fault.InvalidValue, a, "%s has %d values; this directory's aws-identity-center profile accepts exactly one", a, len(list))
		}
	}
	if list, ok := attrs["emails"].([]any); ok && len(list) == 1 {
		if m, _ := list[0].(map[string]any); m["primary"] != true {
			return fault.New(fault.InvalidValue, "emails[0].primary", "emails[0].primary must be true: this directory's aws-identity-center profile requires the email to be marked primary")
		}
	}
	return nil
}

// checkName rejects control characters everywhere (they break logs and
// downstream systems) and, under the AWS profile, the characters AWS rejects.
func checkName(d Directory, field, v string) error {
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return fault.New(fault.InvalidValue, field, "%s must not contain control characters such as tab or newline", field)
		}
		// Invisible format characters (zero-width spaces and joiners, bidi
		// overrides) make two names look identical; names are identifiers.
		if unicode.Is(unicode.Cf, r) {
			return fault.New(fault.InvalidValue, field, "%s must not contain invisible formatting characters (found U+%04X)", field, r)
		}
	}
	if d.Profile == ProfileAWS {
		if i := strings.IndexAny(v, awsForbiddenChars); i >= 0 {
			return fault.New(fault.InvalidValue, field, "%s must not contain %q under this directory's aws-identity-center profile (AWS rejects the characters %s)", field, v[i:i+1], awsForbiddenChars)
		}
	}
	return nil
}

// checkUserPatchProfile applies AWS's PatchUser rules that depend on the
// operations rather than the result.
func checkUserPatchProfile(d Directory, ops []patch.Op) error {
	if d.Profile != ProfileAWS {
		return nil
	}
	for i, op := range ops {
		if op.Op == "remove" && (equalFold(op.Path, "userName") || equalFold(op.Path, "active")) {
			return fault.New(fault.Mutability, op.Path, "Operations[%d]: remove of %s is not allowed under this directory's aws-identity-center profile", i, op.Path)
		}
	}
	return nil
}

// checkGroupPatchProfile applies AWS's PatchGroup membership limits.
func checkGroupPatchProfile(d Directory, delta patch.MemberDelta) error {
	if d.Profile != ProfileAWS {
		return nil
	}
	if delta.Clear {
		return fault.New(fault.InvalidValue, "members", "replacing or removing all members at once is not supported by this directory's aws-identity-center profile; add and remove members by id")
	}
	return checkMemberCount(d, len(delta.Add)+len(delta.Remove), "members")
}

func checkMemberCount(d Directory, n int, field string) error {
	if d.Profile == ProfileAWS && n > AWSMaxMemberChanges {
		return fault.New(fault.InvalidValue, field, "%d membership changes in one request; this directory's aws-identity-center profile allows at most %d", n, AWSMaxMemberChanges)
	}
	return nil
}

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }
