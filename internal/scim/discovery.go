package scim

import (
	"net/http"
	"net/url"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// Discovery URNs (RFC 7643 §8.7).
const (
	spcURN          = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	resourceTypeURN = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	schemaURN       = "urn:ietf:params:scim:schemas:core:2.0:Schema"
)

// noFilter implements RFC 7644 §4: discovery endpoints do not filter.
func noFilter(r *http.Request) error {
	if queryFold(r, "filter") != "" {
		return fault.New(fault.Forbidden, "filter", "filtering is not supported on discovery endpoints (RFC 7644 §4)")
	}
	return nil
}

// serviceProviderConfig advertises exactly what the server does.
func (h *Handler) serviceProviderConfig(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := noFilter(r); err != nil {
		return err
	}
	maxResults := maxCount
	if c.dir.Profile == directory.ProfileAWS {
		maxResults = awsMaxCount
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"schemas":          []any{spcURN},
		"documentationUri": "https://github.com/gatehouse-id/gatehouse/blob/main/docs/scim.md",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": true, "maxOperations": maxBulkOperations, "maxPayloadSize": h.MaxBody},
		"filter":           map[string]any{"supported": true, "maxResults": maxResults},
		"changePassword":   map[string]any{"supported": true},
		"sort":             map[string]any{"supported": true},
		"etag":             map[string]any{"supported": true},
		"pagination":       map[string]any{"cursor": true, "index": true, "defaultPaginationMethod": "index", "defaultPageSize": defaultCount, "maxPageSize": maxResults},
		"authenticationSchemes": []any{map[string]any{
			"type": "oauthbearertoken", "name": "OAuth Bearer Token", "primary": true,
			"description": "Authentication with a directory's SCIM bearer token (gatehouse scim token create).",
			"specUri":     "https://www.rfc-editor.org/rfc/rfc6750",
		}},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": h.BaseURL + Prefix + "/ServiceProviderConfig"},
	})
	return nil
}

func (h *Handler) resourceTypeJSON(rt *schema.ResourceType) map[string]any {
	exts := []any{}
	for _, e := range rt.Extensions {
		exts = append(exts, map[string]any{"schema": e.ID, "required": false})
	}
	return map[string]any{
		"schemas": []any{resourceTypeURN}, "id": rt.ID, "name": rt.Name, "endpoint": rt.Endpoint,
		"description": rt.Description, "schema": rt.Schema.ID, "schemaExtensions": exts,
		"meta": map[string]any{"resourceType": "ResourceType", "location": h.BaseURL + Prefix + "/ResourceTypes/" + rt.ID},
	}
}

func (h *Handler) resourceTypes(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := noFilter(r); err != nil {
		return err
	}
	var list []any
	for _, rt := range schema.ResourceTypes() {
		list = append(list, h.resourceTypeJSON(rt))
	}
	writeJSON(w, http.StatusOK, listResponse(len(list), 1, list, directory.Query{}, ""))
	return nil
}

func (h *Handler) resourceType(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	for _, rt := range schema.ResourceTypes() {
		if equalFold(rt.ID, id) {
			writeJSON(w, http.StatusOK, h.resourceTypeJSON(rt))
			return nil
		}
	}
	return fault.New(fault.NotFound, "id", "resource type %q does not exist; this server has User and Group", id)
}

func attributeJSON(a *schema.Attribute) map[string]any {
	m := map[string]any{
		"name": a.Name, "type": string(a.Type), "multiValued": a.MultiValued, "description": a.Description,
		"required": a.Required, "caseExact": a.CaseExact, "mutability": a.Mutability, "returned": a.Returned,
		"uniqueness": a.Uniqueness,
	}
	if len(a.CanonicalValues) > 0 {
		m["canonicalValues"] = a.CanonicalValues
	}
	if a.Type == schema.Reference {
		refs := a.ReferenceTypes
		if len(refs) == 0 {
			refs = []string{"external"}
		}
		m["referenceTypes"] = refs
	}
	if len(a.SubAttributes) > 0 {
		subs := make([]any, len(a.SubAttributes))
		for i, s := range a.SubAttributes {
			subs[i] = attributeJSON(s)
		}
		m["subAttributes"] = subs
	}
	return m
}

func (h *Handler) schemaJSON(s *schema.Schema) map[string]any {
	attrs := make([]any, len(s.Attributes))
	for i, a := range s.Attributes {
		attrs[i] = attributeJSON(a)
	}
	return map[string]any{
		"schemas": []any{schemaURN}, "id": s.ID, "name": s.Name, "description": s.Description, "attributes": attrs,
		"meta": map[string]any{"resourceType": "Schema", "location": h.BaseURL + Prefix + "/Schemas/" + url.PathEscape(s.ID)},
	}
}

func (h *Handler) schemas(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := noFilter(r); err != nil {
		return err
	}
	var list []any
	for _, s := range schema.Schemas() {
		list = append(list, h.schemaJSON(s))
	}
	writeJSON(w, http.StatusOK, listResponse(len(list), 1, list, directory.Query{}, ""))
	return nil
}

func (h *Handler) schema(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	for _, s := range schema.Schemas() {
		if equalFold(s.ID, id) {
			writeJSON(w, http.StatusOK, h.schemaJSON(s))
			return nil
		}
	}
	return fault.New(fault.NotFound, "id", "schema %q does not exist", id)
}
