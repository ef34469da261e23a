package provisioning

// Mapping types (Entra's attribute mapping types).
const (
	MapDirect     = "direct"     // target := a source attribute
	MapConstant   = "constant"   // target := a fixed string
	MapExpression = "expression" // target := an expression (package mapping)
)

// Apply modes.
const (
	ApplyAlways   = "always"    // on create and on every update (default)
	ApplyOnCreate = "on-create" // only when the object is created
)

// Mapping is one attribute mapping.
type Mapping struct {
	// Target is the target attribute path, e.g. "name.givenName" or
	// `emails[type eq "work"].value`.
	Target string `yaml:"target" json:"target"`
	// Type is direct, constant or expression.
	Type string `yaml:"type" json:"type"`
	// Source is the source attribute (direct), the value (constant) or the
	// expression (expression).
	Source string `yaml:"source" json:"source"`
	// Default is used when the mapped value is empty. Unlike Entra (create
	// only) it applies on updates too, so a required attribute never blanks.
	Default string `yaml:"default,omitempty" json:"default,omitempty"`
	// Apply is always (default) or on-create.
	Apply string `yaml:"apply,omitempty" json:"apply,omitempty"`
	// Match makes this a matching attribute with this precedence (1 is tried
	// first); 0 is not a matching attribute.
	Match int `yaml:"match,omitempty" json:"match,omitempty"`
}

// ObjectSchema is the mapping of one object type.
type ObjectSchema struct {
	// Disabled turns provisioning of this object type off (groups only).
	Disabled bool `yaml:"disabled,omitempty" json:"disabled,omitempty"`
	// Mappings produce the target object.
	Mappings []Mapping `yaml:"mappings" json:"mappings"`
	// Scoping filters: clauses of a filter are ANDed, filters are ORed; an
	// empty set puts every assigned object in scope.
	Scoping []ScopingFilter `yaml:"scoping,omitempty" json:"scoping,omitempty"`
}

// ScopingFilter is one scoping filter: its clauses are ANDed (Entra's
// operators, package scoping).
type ScopingFilter struct {
	Name    string          `yaml:"name" json:"name"`
	Clauses []ScopingClause `yaml:"clauses" json:"clauses"`
}

// ScopingClause is one condition of a scoping filter, e.g.
// {attribute: department, operator: EQUALS, value: Sales}.
type ScopingClause struct {
	Attribute string `yaml:"attribute" json:"attribute"`
	Operator  string `yaml:"operator" json:"operator"`
	Value     string `yaml:"value,omitempty" json:"value,omitempty"`
}

// Schema is an application's mappings and scoping filters, exported and
// imported as one YAML document (app mappings export|import).
type Schema struct {
	Users  ObjectSchema `yaml:"users" json:"users"`
	Groups ObjectSchema `yaml:"groups" json:"groups"`
}

// Enterprise extension URN.
const EnterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// DefaultSchema is the default mapping for a custom SCIM application, close
// to Entra's default for a non-gallery app, with the directory's immutable
// id flowing to externalId. Matching: externalId first (the source id, stable
// across renames), then userName (users) or displayName (groups) to adopt
// objects that exist in the target already.
func DefaultSchema(profile string) Schema {
	users := []Mapping{
		{Target: "externalId", Type: MapDirect, Source: "id", Match: 1},
		{Target: "userName", Type: MapDirect, Source: "userName", Match: 2},
		{Target: "active", Type: MapDirect, Source: "active"},
		{Target: "displayName", Type: MapDirect, Source: "displayName"},
		{Target: "title", Type: MapDirect, Source: "title"},
		{Target: `emails[type eq "work"].value`, Type: MapDirect, Source: `emails[type eq "work"].value`},
		{Target: "preferredLanguage", Type: MapDirect, Source: "preferredLanguage"},
		{Target: "name.givenName", Type: MapDirect, Source: "name.givenName"},
		{Target: "name.familyName", Type: MapDirect, Source: "name.familyName"},
		{Target: "name.formatted", Type: MapExpression, Source: `Join(" ", [name.givenName], [name.familyName])`},
		{Target: `phoneNumbers[type eq "work"].value`, Type: MapDirect, Source: `phoneNumbers[type eq "work"].value`},
		{Target: EnterpriseURN + ":employeeNumber", Type: MapDirect, Source: EnterpriseURN + ":employeeNumber"},
		{Target: EnterpriseURN + ":department", Type: MapDirect, Source: EnterpriseURN + ":department"},
		{Target: EnterpriseURN + ":manager.value", Type: MapDirect, Source: EnterpriseURN + ":manager.value"},
	}
	if profile != ProfileAWS {
		// AWS accepts one phone number only.
		users = append(users, Mapping{Target: `phoneNumbers[type eq "mobile"].value`, Type: MapDirect, Source: `phoneNumbers[type eq "mobile"].value`})
	}
	return Schema{
		Users: ObjectSchema{Mappings: users},
		Groups: ObjectSchema{Mappings: []Mapping{
			{Target: "externalId", Type: MapDirect, Source: "id", Match: 1},
			{Target: "displayName", Type: MapDirect, Source: "displayName", Match: 2},
			{Target: "members", Type: MapDirect, Source: "members"},
		}},
	}
}
