package access

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// check asserts that err is nil (field == "") or a *fault.Error naming field.
func check(t *testing.T, name string, err error, field string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Errorf("%s: unexpected error %v", name, err)
		}
		return
	}
	fe, ok := fault.As(err)
	if !ok {
		t.Errorf("%s: got %v, want a fault naming %s", name, err, field)
		return
	}
	if fe.Field != field {
		t.Errorf("%s: error names %q, want %q (%s)", name, fe.Field, field, fe.Message)
	}
}

func TestAccountRules(t *testing.T) {
	ok := Account{ID: "111122223333", Type: TargetAWSAccount, Name: "Production"}
	cases := []struct {
		name  string
		mut   func(a *Account)
		field string
	}{
		{"valid", func(a *Account) {}, ""},
		{"aws id with 11 digits", func(a *Account) { a.ID = "11112222333" }, "id"},
		{"aws id with letters", func(a *Account) { a.ID = "11112222333x" }, "id"},
		{"aws id with 13 digits", func(a *Account) { a.ID = "1111222233334" }, "id"},
		{"other target with a stable string", func(a *Account) { a.Type, a.ID = TargetOther, "k8s:eks/prod-eu-1" }, ""},
		{"other target with a space", func(a *Account) { a.Type, a.ID = TargetOther, "prod cluster" }, "id"},
		{"other target starting with a dash", func(a *Account) { a.Type, a.ID = TargetOther, "-prod" }, "id"},
		{"other target of 129 characters", func(a *Account) { a.Type, a.ID = TargetOther, strings.Repeat("a", 129) }, "id"},
		{"unknown type", func(a *Account) { a.Type = "GCP_PROJECT" }, "type"},
		{"missing name", func(a *Account) { a.Name = "" }, "name"},
		{"name of 51 characters", func(a *Account) { a.Name = strings.Repeat("n", 51) }, "name"},
		{"name with a tab", func(a *Account) { a.Name = "Prod\tEU" }, "name"},
		{"name with a trailing space", func(a *Account) { a.Name = "Prod " }, "name"},
		{"description of 700 characters", func(a *Account) { a.Description = strings.Repeat("d", 700) }, ""},
		{"description of 701 characters", func(a *Account) { a.Description = strings.Repeat("d", 701) }, "description"},
		{"description with line breaks and Latin-1", func(a *Account) { a.Description = "Zürich\r\nprod\tEU" }, ""},
		{"description with an emoji", func(a *Account) { a.Description = "prod 🚀" }, "description"},
		{"email", func(a *Account) { a.Email = "aws-prod@example.com" }, ""},
		{"email without a domain dot", func(a *Account) { a.Email = "aws@prod" }, "email"},
		{"email of 65 characters", func(a *Account) { a.Email = strings.Repeat("e", 53) + "@example.com" }, "email"},
		{"tags", func(a *Account) { a.Tags = map[string]string{"env": "prod"} }, ""},
		{"bad tag", func(a *Account) { a.Tags = map[string]string{"env": "prod!"} }, `tags["env"]`},
	}
	for _, c := range cases {
		a := ok
		c.mut(&a)
		check(t, c.name, ValidateAccount(a), c.field)
	}
}

func TestPermissionSetNameRule(t *testing.T) {
	cases := map[string]bool{
		"ViewOnlyAccess": true, "a": true, strings.Repeat("x", 32): true, "Admin+Billing=Ops,EU.v2@corp_1-x": true,
		"": false, strings.Repeat("x", 33): false, "View Only": false, "ViewOnly/Access": false, "Zugriff-für-alle": false, "a:b": false,
	}
	for name, valid := range cases {
		field := "name"
		if valid {
			field = ""
		}
		check(t, fmt.Sprintf("name %q", name), ValidatePermissionSetName(name), field)
	}
}

func TestSessionDuration(t *testing.T) {
	cases := []struct {
		in    string
		want  time.Duration
		canon string
	}{
		{"", time.Hour, "PT1H"},
		{"PT1H", time.Hour, "PT1H"},
		{"pt8h", 8 * time.Hour, "PT8H"},
		{"PT12H", 12 * time.Hour, "PT12H"},
		{"PT90M", 90 * time.Minute, "PT1H30M"},
		{"PT1H30M", 90 * time.Minute, "PT1H30M"},
		{"PT3600S", time.Hour, "PT1H"},
		{"PT2H0M1S", 2*time.Hour + time.Second, "PT2H1S"},
		{"P0DT4H", 4 * time.Hour, "PT4H"},
	}
	for _, c := range cases {
		d, canon, err := ParseSessionDuration(c.in)
		if err != nil || d != c.want || canon != c.canon {
			t.Errorf("ParseSessionDuration(%q) = %s, %q, %v; want %s, %q", c.in, d, canon, err, c.want, c.canon)
		}
	}
	for _, bad := range []string{"PT59M", "PT12H1S", "PT13H", "P1D", "1h", "PT", "P", "PT1.5H", "-PT1H", "PT1H ", "PT99999999999999999999H", "3600"} {
		_, _, err := ParseSessionDuration(bad)
		check(t, "sessionDuration "+bad, err, "sessionDuration")
	}
}

func TestRelayState(t *testing.T) {
	for s, field := range map[string]string{
		"": "", "https://console.aws.amazon.com/s3/home?region=eu-west-1#": "",
		"https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#Instances:": "",
		"http://console.aws.amazon.com/":                                                "relayState",
		"javascript:alert(1)":                                                           "relayState",
		"https://":                                                                      "relayState",
		"https://user:pw@console.aws.amazon.com/":                                       "relayState",
		"https://console.aws.amazon.com/<script>":                                       "relayState",
		"https://example.com/" + strings.Repeat("a", 221):                               "relayState",
		"https://example.com/" + strings.Repeat("a", 220):                               "",
	} {
		check(t, "relayState "+s, ValidateRelayState(s), field)
	}
}

func TestManagedPolicyARN(t *testing.T) {
	for arn, valid := range map[string]bool{
		"arn:aws:iam::aws:policy/job-function/ViewOnlyAccess":         true,
		"arn:aws:iam::aws:policy/AdministratorAccess":                 true,
		"arn:aws:iam::aws:policy/service-role/AWSLambdaRole":          true,
		"arn:aws:iam::111122223333:policy/team/ReadBuckets":           true,
		"arn:aws-us-gov:iam::aws:policy/ReadOnlyAccess":               true,
		"arn:aws:iam::aws:policy/":                                    false,
		"arn:aws:iam::11112222333:policy/Short":                       false,
		"arn:aws:iam::aws:role/Admin":                                 false,
		"arn:aws:s3:::bucket":                                         false,
		"ViewOnlyAccess":                                              false,
		"arn:aws:iam::aws:policy/has space":                           false,
		"arn:aws:iam::aws:policy/" + strings.Repeat("p", 129):         false,
		"arn:aws:iam::aws:policy/job-function//ViewOnlyAccess":        false,
		"arn:aws:iam::aws:policy/job-function/ViewOnlyAccess\n":       false,
		"arn:aws:iam::aws:policy/" + strings.Repeat("x/", 1100) + "P": false, // over 2048 characters
	} {
		field := ""
		if !valid {
			field = "managedPolicyArn"
		}
		check(t, arn, ValidateManagedPolicyARN("managedPolicyArn", arn), field)
	}
}

func TestPolicyReference(t *testing.T) {
	cases := []struct {
		ref   PolicyReference
		field string
	}{
		{PolicyReference{Name: "ReadLogs", Path: "/"}, ""},
		{PolicyReference{Name: "ReadLogs", Path: "/ops/eu/"}, ""},
		{PolicyReference{Name: "", Path: "/"}, "ref.name"},
		{PolicyReference{Name: strings.Repeat("n", 129), Path: "/"}, "ref.name"},
		{PolicyReference{Name: "Read Logs", Path: "/"}, "ref.name"},
		{PolicyReference{Name: "ReadLogs", Path: "ops/"}, "ref.path"},
		{PolicyReference{Name: "ReadLogs", Path: "/ops"}, "ref.path"},
		{PolicyReference{Name: "ReadLogs", Path: "/ops//"}, "ref.path"},
		{PolicyReference{Name: "ReadLogs", Path: "/o ps/"}, "ref.path"},
		{PolicyReference{Name: "ReadLogs", Path: "/" + strings.Repeat("p/", 256)}, "ref.path"},
	}
	for _, c := range cases {
		check(t, fmt.Sprintf("%+v", c.ref), ValidatePolicyReference("ref", c.ref), c.field)
	}
	if r := ParsePolicyReference("/ops/eu/ReadLogs"); r.Path != "/ops/eu/" || r.Name != "ReadLogs" {
		t.Errorf("ParsePolicyReference: %+v", r)
	}
	if r := ParsePolicyReference("ReadLogs"); r.Path != "/" || r.Name != "ReadLogs" {
		t.Errorf("ParsePolicyReference without path: %+v", r)
	}
}

func TestBoundary(t *testing.T) {
	ref := &PolicyReference{Name: "Boundary", Path: "/"}
	cases := []struct {
		b     Boundary
		field string
	}{
		{Boundary{ManagedPolicyARN: "arn:aws:iam::aws:policy/PowerUserAccess"}, ""},
		{Boundary{CustomerManagedPolicyReference: ref}, ""},
		{Boundary{}, "permissionsBoundary"},
		{Boundary{ManagedPolicyARN: "arn:aws:iam::aws:policy/PowerUserAccess", CustomerManagedPolicyReference: ref}, "permissionsBoundary"},
		{Boundary{ManagedPolicyARN: "PowerUserAccess"}, "permissionsBoundary.managedPolicyArn"},
		{Boundary{CustomerManagedPolicyReference: &PolicyReference{Name: "B", Path: "x"}}, "permissionsBoundary.customerManagedPolicyReference.path"},
	}
	for _, c := range cases {
		check(t, fmt.Sprintf("%+v", c.b), ValidateBoundary(c.b), c.field)
	}
}

func TestTags(t *testing.T) {
	many := map[string]string{}
	for i := range MaxTags + 1 {
		many[fmt.Sprintf("k%d", i)] = "v"
	}
	fifty := map[string]string{}
	for i := range MaxTags {
		fifty[fmt.Sprintf("k%d", i)] = "v"
	}
	cases := []struct {
		name  string
		tags  map[string]string
		field string
	}{
		{"none", nil, ""},
		{"fifty", fifty, ""},
		{"fifty-one", many, "tags"},
		{"unicode letters and separators", map[string]string{"Kostenstelle": "Über 42", "team/eu": "a:b=c+d-e@f_g.h"}, ""},
		{"empty value", map[string]string{"flag": ""}, ""},
		{"empty key", map[string]string{"": "v"}, `tags[""]`},
		{"key of 129 characters", map[string]string{strings.Repeat("k", 129): "v"}, fmt.Sprintf("tags[%q]", strings.Repeat("k", 129))},
		{"key of 128 characters", map[string]string{strings.Repeat("k", 128): "v"}, ""},
		{"value of 257 characters", map[string]string{"k": strings.Repeat("v", 257)}, `tags["k"]`},
		{"value of 256 characters", map[string]string{"k": strings.Repeat("v", 256)}, ""},
		{"key with a bang", map[string]string{"k!": "v"}, `tags["k!"]`},
		{"value with a comma", map[string]string{"k": "a,b"}, `tags["k"]`},
		{"reserved prefix", map[string]string{"AWS:cost": "v"}, `tags["AWS:cost"]`},
	}
	for _, c := range cases {
		check(t, c.name, ValidateTags(c.tags), c.field)
	}
	if _, err := ParseTags([]string{"novalue"}); err == nil {
		t.Error("ParseTags accepted a pair without =")
	}
	if m, err := ParseTags([]string{"a=b=c", "e="}); err != nil || m["a"] != "b=c" || m["e"] != "" {
		t.Errorf("ParseTags = %v, %v", m, err)
	}
}

func TestPermissionSetRules(t *testing.T) {
	base := PermissionSet{Name: "ViewOnlyAccess", SessionDuration: "PT1H"}
	cases := []struct {
		name  string
		mut   func(p *PermissionSet)
		field string
	}{
		{"valid", func(p *PermissionSet) {}, ""},
		{"bad name", func(p *PermissionSet) { p.Name = "View Only" }, "name"},
		{"bad description", func(p *PermissionSet) { p.Description = strings.Repeat("d", 701) }, "description"},
		{"bad session duration", func(p *PermissionSet) { p.SessionDuration = "PT30M" }, "sessionDuration"},
		{"bad relay state", func(p *PermissionSet) { p.RelayState = "http://x" }, "relayState"},
		{"bad managed policy", func(p *PermissionSet) { p.ManagedPolicies = []string{"arn:aws:iam::aws:policy/A", "nope"} }, "managedPolicies[1]"},
		{"duplicate managed policy", func(p *PermissionSet) {
			p.ManagedPolicies = []string{"arn:aws:iam::aws:policy/A", "arn:aws:iam::aws:policy/A"}
		}, "managedPolicies[1]"},
		{"bad customer reference", func(p *PermissionSet) { p.CustomerManagedPolicies = []PolicyReference{{Name: "A", Path: "x"}} }, "customerManagedPolicies[0].path"},
		{"twenty policies", func(p *PermissionSet) { p.ManagedPolicies, p.CustomerManagedPolicies = arns(10), refs(10) }, ""},
		{"twenty-one policies", func(p *PermissionSet) { p.ManagedPolicies, p.CustomerManagedPolicies = arns(11), refs(10) }, "managedPolicies"},
		{"bad inline policy", func(p *PermissionSet) { p.InlinePolicy = "{" }, "inlinePolicy"},
		{"bad boundary", func(p *PermissionSet) { p.PermissionsBoundary = &Boundary{} }, "permissionsBoundary"},
		{"bad tags", func(p *PermissionSet) { p.Tags = map[string]string{"aws:x": "y"} }, `tags["aws:x"]`},
	}
	for _, c := range cases {
		p := base
		c.mut(&p)
		check(t, c.name, ValidatePermissionSet(p), c.field)
	}
}

func arns(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("arn:aws:iam::aws:policy/P%d", i))
	}
	return out
}

func refs(n int) []PolicyReference {
	var out []PolicyReference
	for i := range n {
		out = append(out, PolicyReference{Name: fmt.Sprintf("C%d", i), Path: "/"})
	}
	return out
}

func TestPrincipalType(t *testing.T) {
	for in, want := range map[string]string{"USER": "USER", "user": "USER", "Group": "GROUP"} {
		if got, err := ValidatePrincipalType(in); err != nil || got != want {
			t.Errorf("ValidatePrincipalType(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "ROLE", "users"} {
		_, err := ValidatePrincipalType(bad)
		check(t, "principalType "+bad, err, "principalType")
	}
}
