package access

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/fault"
)

func TestInlinePolicy(t *testing.T) {
	cases := []struct {
		name  string
		doc   string
		field string // "" for valid
		msg   string // substring of the message
	}{
		{"minimal", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`, "", ""},
		{"old version", `{"Version":"2008-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`, "", ""},
		{"everything", `{
			"Version": "2012-10-17", "Id": "read-logs",
			"Statement": [
				{"Sid": "ReadLogs1", "Effect": "Allow", "Action": ["logs:Get*", "logs:Describe*", "logs:FilterLogEvents"],
				 "Resource": ["arn:aws:logs:eu-west-1:111122223333:log-group:/app/*", "arn:aws:logs:*:*:log-group:${aws:username}"],
				 "Condition": {"StringEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}, "Bool": {"aws:SecureTransport": true},
				               "NumericLessThan": {"s3:max-keys": 10}}},
				{"Sid": "NoDeletes", "Effect": "Deny", "NotAction": "s3:Get?bject", "NotResource": "arn:aws:s3:::public/*"}
			]}`, "", ""},
		{"not JSON", `{"Version": "2012-10-17",`, "inlinePolicy", "not valid JSON"},
		{"syntax error with offset", `{"Version": "2012-10-17" "Statement": []}`, "inlinePolicy", "offset"},
		{"trailing data", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}} {}`, "inlinePolicy", "after the policy"},
		{"array", `[]`, "inlinePolicy", "JSON object"},
		{"string", `"policy"`, "inlinePolicy", "JSON object"},
		{"unknown top-level element", `{"Version":"2012-10-17","Statement":[],"Effect":"Allow"}`, "inlinePolicy.Effect", "not a policy element"},
		{"no version", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, "inlinePolicy.Version", "required"},
		{"bad version", `{"Version":"2012-10-18","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, "inlinePolicy.Version", `"2012-10-17"`},
		{"numeric version", `{"Version":2012,"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, "inlinePolicy.Version", "2012"},
		{"numeric id", `{"Version":"2012-10-17","Id":1,"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, "inlinePolicy.Id", "string"},
		{"no statement", `{"Version":"2012-10-17"}`, "inlinePolicy.Statement", "required"},
		{"empty statement list", `{"Version":"2012-10-17","Statement":[]}`, "inlinePolicy.Statement", "empty"},
		{"statement is a string", `{"Version":"2012-10-17","Statement":"Allow"}`, "inlinePolicy.Statement", "object"},
		{"statement element is a string", `{"Version":"2012-10-17","Statement":["Allow"]}`, "inlinePolicy.Statement[0]", "object"},
		{"effect lower case", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"allow","Action":"*","Resource":"*"}]}`,
			"inlinePolicy.Statement[1].Effect", "must be Allow or Deny"},
		{"no effect", `{"Version":"2012-10-17","Statement":{"Action":"*","Resource":"*"}}`, "inlinePolicy.Statement.Effect", "required"},
		{"no action", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Resource":"*"}}`, "inlinePolicy.Statement.Action", "Action or NotAction"},
		{"action and not action", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","NotAction":"s3:*","Resource":"*"}}`, "inlinePolicy.Statement.NotAction", "both"},
		{"bad action", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["s3:GetObject","GetObject"],"Resource":"*"}}`, "inlinePolicy.Statement.Action[1]", "not an action"},
		{"empty action list", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":[],"Resource":"*"}}`, "inlinePolicy.Statement.Action", "empty"},
		{"numeric action", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":[1],"Resource":"*"}}`, "inlinePolicy.Statement.Action[0]", "string"},
		{"action object", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":{"s3":"*"},"Resource":"*"}}`, "inlinePolicy.Statement.Action", "string or an array"},
		{"no resource", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*"}}`, "inlinePolicy.Statement.Resource", "Resource or NotResource"},
		{"bad resource", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"my-bucket"}}`, "inlinePolicy.Statement.Resource", "not a resource"},
		{"resource and not resource", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}}`, "inlinePolicy.Statement.NotResource", "both"},
		{"principal", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}`, "inlinePolicy.Statement.Principal", "identity-based"},
		{"not principal", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotPrincipal":{"AWS":"*"},"Action":"*","Resource":"*"}}`, "inlinePolicy.Statement.NotPrincipal", "identity-based"},
		{"unknown statement element", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Actions":"*"}}`, "inlinePolicy.Statement.Actions", "not a statement element"},
		{"bad sid", `{"Version":"2012-10-17","Statement":{"Sid":"read-logs","Effect":"Allow","Action":"*","Resource":"*"}}`, "inlinePolicy.Statement.Sid", "letters and digits"},
		{"duplicate sid", `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"*","Resource":"*"}]}`,
			"inlinePolicy.Statement[1].Sid", "unique"},
		{"condition not an object", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":"yes"}}`, "inlinePolicy.Statement.Condition", "object"},
		{"condition operator not an object", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":"x"}}}`,
			"inlinePolicy.Statement.Condition.StringEquals", "non-empty object"},
		{"condition value object", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:x":{"a":1}}}}}`,
			"inlinePolicy.Statement.Condition.StringEquals.aws:x", "string, number, boolean"},
		{"condition value list with null", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:x":["a",null]}}}}`,
			"inlinePolicy.Statement.Condition.StringEquals.aws:x[1]", "string, number or boolean"},
	}
	for _, c := range cases {
		err := ValidateInlinePolicy(c.doc)
		if c.field == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		fe, ok := fault.As(err)
		if !ok || fe.Field != c.field || !strings.Contains(fe.Message, c.msg) {
			t.Errorf("%s: got %v (field %q), want field %q with %q", c.name, err, fieldOf(err), c.field, c.msg)
		}
	}
}

func fieldOf(err error) string {
	if fe, ok := fault.As(err); ok {
		return fe.Field
	}
	return ""
}

func TestInlinePolicySize(t *testing.T) {
	stmt := `{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-%03d/*"}`
	build := func(n int, pad string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = strings.Replace(stmt, "%03d", strings.Repeat("0", 3-len(itoa(i)))+itoa(i), 1)
		}
		return `{"Version":"2012-10-17","Statement":[` + strings.Join(parts, ","+pad) + `]}`
	}
	// Pretty-printed policies may be large as long as the compact form fits.
	doc := build(100, strings.Repeat(" ", 150))
	if len(doc) <= MaxInlinePolicyCompact || len(doc) > MaxInlinePolicy {
		t.Fatalf("test document is %d characters", len(doc))
	}
	if err := ValidateInlinePolicy(doc); err != nil {
		t.Fatalf("pretty-printed policy under both limits: %v", err)
	}
	tooBig := build(100, strings.Repeat(" ", 400))
	if fe, ok := fault.As(ValidateInlinePolicy(tooBig)); !ok || fe.Field != "inlinePolicy" || fe.Kind != fault.Limit || !strings.Contains(fe.Message, "32768") {
		t.Fatalf("%d characters: %v", len(tooBig), ValidateInlinePolicy(tooBig))
	}
	dense := build(150, "")
	if fe, ok := fault.As(ValidateInlinePolicy(dense)); !ok || fe.Kind != fault.Limit || !strings.Contains(fe.Message, "10240") {
		t.Fatalf("%d dense characters: %v", len(dense), ValidateInlinePolicy(dense))
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestCompactPolicy(t *testing.T) {
	s, err := CompactPolicy(json.RawMessage("{\n \"Version\": \"2012-10-17\" }"))
	if err != nil || s != `{"Version":"2012-10-17"}` {
		t.Fatalf("CompactPolicy = %q, %v", s, err)
	}
}

// FuzzInlinePolicy: any input yields nil or a classified error naming a
// field under inlinePolicy; never a panic.
func FuzzInlinePolicy(f *testing.F) {
	f.Add(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)
	f.Add(`{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Deny","NotAction":["s3:*"],"NotResource":"arn:x","Condition":{"Bool":{"k":[true]}}}]}`)
	f.Add(`[1,{"a":null}]`)
	f.Fuzz(func(t *testing.T, doc string) {
		err := ValidateInlinePolicy(doc)
		if err == nil {
			return
		}
		fe, ok := fault.As(err)
		if !ok || !strings.HasPrefix(fe.Field, "inlinePolicy") {
			t.Fatalf("unclassified error %v", err)
		}
	})
}
