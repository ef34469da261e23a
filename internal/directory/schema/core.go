package schema

// URNs of the schemas and messages Gatehouse speaks.
const (
	UserURN           = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupURN          = "urn:ietf:params:scim:schemas:core:2.0:Group"
	EnterpriseUserURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
)

// attr builds an attribute with RFC 7643 default characteristics; options
// adjust it. Keeping the definitions declarative keeps them reviewable against
// the RFC text.
func attr(name string, t Type, desc string, opts ...func(*Attribute)) *Attribute {
	a := &Attribute{Name: name, Type: t, Description: desc, Mutability: ReadWrite, Returned: ReturnedDefault, Uniqueness: "none"}
	for _, o := range opts {
		o(a)
	}
	return a
}

func multi(a *Attribute)        { a.MultiValued = true }
func required(a *Attribute)     { a.Required = true }
func caseExact(a *Attribute)    { a.CaseExact = true }
func readOnly(a *Attribute)     { a.Mutability = ReadOnly }
func immutable(a *Attribute)    { a.Mutability = Immutable }
func writeOnly(a *Attribute)    { a.Mutability = WriteOnly }
func always(a *Attribute)       { a.Returned = ReturnedAlways }
func never(a *Attribute)        { a.Returned = ReturnedNever }
func serverUnique(a *Attribute) { a.Uniqueness = "server" }
func subs(s ...*Attribute) func(*Attribute) {
	return func(a *Attribute) { a.SubAttributes = s }
}
func canonical(v ...string) func(*Attribute) {
	return func(a *Attribute) { a.CanonicalValues = v }
}
func refs(v ...string) func(*Attribute) {
	return func(a *Attribute) { a.ReferenceTypes = v }
}

// multiValuedSubs builds the standard sub-attributes of a multi-valued
// attribute (RFC 7643 §2.4): value, display, type, primary, and $ref when the
// value is a reference.
func multiValuedSubs(valueDesc string, valueType Type, types []string, extra ...*Attribute) func(*Attribute) {
	s := []*Attribute{
		attr("value", valueType, valueDesc),
		attr("display", String, "A human-readable name, primarily used for display purposes.  READ-ONLY."),
		attr("type", String, "A label indicating the attribute's function.", canonical(types...)),
		attr("primary", Boolean, "A Boolean value indicating the 'primary' or preferred attribute value for this attribute.  The primary attribute value 'true' MUST appear no more than once."),
	}
	return subs(append(s, extra...)...)
}

// User is the core User schema (RFC 7643 §4.1, §8.7.1).
var User = &Schema{
	ID:          UserURN,
	Name:        "User",
	Description: "User Account",
	Attributes: []*Attribute{
		attr("userName", String, "Unique identifier for the User, typically used by the user to directly authenticate to the service provider.  Each User MUST include a non-empty userName value.  This identifier MUST be unique across the service provider's entire set of Users.  REQUIRED.", required, serverUnique),
		attr("name", Complex, "The components of the user's real name.  Providers MAY return just the full name as a single string in the formatted sub-attribute, or they MAY return just the individual component attributes using the other sub-attributes, or they MAY return both.  If both variants are returned, they SHOULD be describing the same name, with the formatted name indicating how the component attributes should be combined.", subs(
			attr("formatted", String, "The full name, including all middle names, titles, and suffixes as appropriate, formatted for display (e.g., 'Ms. Barbara J Jensen, III')."),
			attr("familyName", String, "The family name of the User, or last name in most Western languages (e.g., 'Jensen' given the full name 'Ms. Barbara J Jensen, III')."),
			attr("givenName", String, "The given name of the User, or first name in most Western languages (e.g., 'Barbara' given the full name 'Ms. Barbara J Jensen, III')."),
			attr("middleName", String, "The middle name(s) of the User (e.g., 'Jane' given the full name 'Ms. Barbara J Jensen, III')."),
			attr("honorificPrefix", String, "The honorific prefix(es) of the User, or title in most Western languages (e.g., 'Ms.' given the full name 'Ms. Barbara J Jensen, III')."),
			attr("honorificSuffix", String, "The honorific suffix(es) of the User, or suffix in most Western languages (e.g., 'III' given the full name 'Ms. Barbara J Jensen, III')."),
		)),
		attr("displayName", String, "The name of the User, suitable for display to end-users.  The name SHOULD be the full name of the User being described, if known."),
		attr("nickName", String, "The casual way to address the user in real life, e.g., 'Bob' or 'Bobby' instead of 'Robert'.  This attribute SHOULD NOT be used to represent a User's username (e.g., 'bjensen' or 'mpepperidge')."),
		attr("profileUrl", Reference, "A fully qualified URL pointing to a page representing the User's online profile.", refs("external")),
		attr("title", String, "The user's title, such as \"Vice President.\""),
		attr("userType", String, "Used to identify the relationship between the organization and the user.  Typical values used might be 'Contractor', 'Employee', 'Intern', 'Temp', 'External', and 'Unknown', but any value may be used."),
		attr("preferredLanguage", String, "Indicates the User's preferred written or spoken language.  Generally used for selecting a localized user interface; e.g., 'en_US' specifies the language English and country US."),
		attr("locale", String, "Used to indicate the User's default location for purposes of localizing items such as currency, date time format, or numerical representations."),
		attr("timezone", String, "The User's time zone in the 'Olson' time zone database format, e.g., 'America/Los_Angeles'."),
		attr("active", Boolean, "A Boolean value indicating the User's administrative status."),
		attr("password", String, "The User's cleartext password.  This attribute is intended to be used as a means to specify an initial password when creating a new User or to reset an existing User's password.", writeOnly, never),
		attr("emails", Complex, "Email addresses for the user.  The value SHOULD be canonicalized by the service provider, e.g., 'bjensen@example.com' instead of 'bjensen@EXAMPLE.COM'.  Canonical type values of 'work', 'home', and 'other'.", multi,
			multiValuedSubs("Email addresses for the user.", String, []string{"work", "home", "other"})),
		attr("phoneNumbers", Complex, "Phone numbers for the User.  The value SHOULD be canonicalized by the service provider according to the format specified in RFC 3966, e.g., 'tel:+1-201-555-0123'.  Canonical type values of 'work', 'home', 'mobile', 'fax', 'pager', and 'other'.", multi,
			multiValuedSubs("Phone number of the User.", String, []string{"work", "home", "mobile", "fax", "pager", "other"})),
		attr("ims", Complex, "Instant messaging addresses for the User.", multi,
			multiValuedSubs("Instant messaging address for the User.", String, []string{"aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"})),
		attr("photos", Complex, "URLs of photos of the User.", multi,
			multiValuedSubs("URL of a photo of the User.", Reference, []string{"photo", "thumbnail"})),
		attr("addresses", Complex, "A physical mailing address for this User.  Canonical type values of 'work', 'home', and 'other'.  This attribute is a complex type with the following sub-attributes.", multi, subs(
			attr("formatted", String, "The full mailing address, formatted for display or use with a mailing label.  This attribute MAY contain newlines."),
			attr("streetAddress", String, "The full street address component, which may include house number, street name, P.O. box, and multi-line extended street address information.  This attribute MAY contain newlines."),
			attr("locality", String, "The city or locality component."),
			attr("region", String, "The state or region component."),
			attr("postalCode", String, "The zip code or postal code component."),
			attr("country", String, "The country name component."),
			attr("type", String, "A label indicating the attribute's function, e.g., 'work' or 'home'.", canonical("work", "home", "other")),
			attr("primary", Boolean, "A Boolean value indicating the 'primary' or preferred attribute value for this attribute, e.g., the preferred mailing address or primary email address.  The primary attribute value 'true' MUST appear no more than once."),
		)),
		attr("groups", Complex, "A list of groups to which the user belongs, either through direct membership, through nested groups, or dynamically calculated.", multi, readOnly, subs(
			attr("value", String, "The identifier of the User's group.", readOnly, caseExact),
			attr("$ref", Reference, "The URI of the corresponding 'Group' resource to which the user belongs.", readOnly, refs("User", "Group")),
			attr("display", String, "A human-readable name, primarily used for display purposes.  READ-ONLY.", readOnly),
			attr("type", String, "A label indicating the attribute's function, e.g., 'direct' or 'indirect'.", readOnly, canonical("direct", "indirect")),
		)),
		attr("entitlements", Complex, "A list of entitlements for the User that represent a thing the User has.", multi,
			multiValuedSubs("The value of an entitlement.", String, nil)),
		attr("roles", Complex, "A list of roles for the User that collectively represent who the User is, e.g., 'Student', 'Faculty'.", multi,
			multiValuedSubs("The value of a role.", String, nil)),
		attr("x509Certificates", Complex, "A list of certificates issued to the User.", multi,
			multiValuedSubs("The value of an X.509 certificate.", Binary, nil)),
	},
}

// EnterpriseUser is the enterprise User extension (RFC 7643 §4.3).
var EnterpriseUser = &Schema{
	ID:          EnterpriseUserURN,
	Name:        "EnterpriseUser",
	Description: "Enterprise User",
	Extension:   true,
	Attributes: []*Attribute{
		attr("employeeNumber", String, "Numeric or alphanumeric identifier assigned to a person, typically based on order of hire or association with an organization."),
		attr("costCenter", String, "Identifies the name of a cost center."),
		attr("organization", String, "Identifies the name of an organization."),
		attr("division", String, "Identifies the name of a division."),
		attr("department", String, "Identifies the name of a department."),
		attr("manager", Complex, "The User's manager.  A complex type that optionally allows service providers to represent organizational hierarchy by referencing the 'id' attribute of another User.", subs(
			attr("value", String, "The id of the SCIM resource representing the User's manager.  REQUIRED.", caseExact),
			attr("$ref", Reference, "The URI of the SCIM resource representing the User's manager.  REQUIRED.", refs("User")),
			attr("displayName", String, "The displayName of the User's manager.  OPTIONAL and READ-ONLY.", readOnly),
		)),
	},
}

// Group is the core Group schema (RFC 7643 §4.2, §8.7.1).
var Group = &Schema{
	ID:          GroupURN,
	Name:        "Group",
	Description: "Group",
	Attributes: []*Attribute{
		attr("displayName", String, "A human-readable name for the Group.  REQUIRED.", required),
		attr("members", Complex, "A list of members of the Group.", multi, subs(
			attr("value", String, "Identifier of the member of this Group.", immutable, caseExact),
			attr("$ref", Reference, "The URI corresponding to a SCIM resource that is a member of this Group.", immutable, refs("User", "Group")),
			// Writable here (RFC 7643 calls it read-only) because clients send
			// it and Microsoft's conformance collection expects it echoed back.
			attr("display", String, "A human-readable name, primarily used for display purposes."),
			attr("type", String, "A label indicating the type of resource, e.g., 'User' or 'Group'.", immutable, canonical("User", "Group")),
		)),
	},
}

// Common attributes every resource carries (RFC 7643 §3.1). They are not part
// of any schema's attribute list but are resolvable in filters and projections.
var (
	IDAttr         = attr("id", String, "Unique identifier for the SCIM resource as defined by the Service Provider.", caseExact, readOnly, always, serverUnique)
	ExternalIDAttr = attr("externalId", String, "A String that is an identifier for the resource as defined by the provisioning client.", caseExact)
	MetaAttr       = attr("meta", Complex, "A complex attribute containing resource metadata.", readOnly, subs(
		attr("resourceType", String, "The name of the resource type of the resource.", caseExact, readOnly),
		attr("created", DateTime, "The \"DateTime\" that the resource was added to the service provider.", readOnly),
		attr("lastModified", DateTime, "The most recent DateTime that the details of this resource were updated at the service provider.", readOnly),
		attr("location", Reference, "The URI of the resource being returned.", caseExact, readOnly),
		attr("version", String, "The version of the resource being returned.", caseExact, readOnly),
	))
	SchemasAttr = attr("schemas", Reference, "The schemas the resource conforms to.", multi, caseExact, readOnly, always)
)

// UserResource and GroupResource are the two resource types Gatehouse serves.
var (
	UserResource  = &ResourceType{ID: "User", Name: "User", Endpoint: "/Users", Description: "User Account", Schema: User, Extensions: []*Schema{EnterpriseUser}}
	GroupResource = &ResourceType{ID: "Group", Name: "Group", Endpoint: "/Groups", Description: "Group", Schema: Group}
)

// Common holds the attributes every resource carries; it is not a published
// schema but lets paths such as "id" or "meta.lastModified" resolve.
var Common = &Schema{ID: "", Name: "common", Attributes: []*Attribute{IDAttr, ExternalIDAttr, MetaAttr, SchemasAttr}}
