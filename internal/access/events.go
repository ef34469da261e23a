package access

import (
	"encoding/json"

	"github.com/gatehouse-id/gatehouse/internal/audit"
)

// CascadeEvent is the audit event of an assignment removed because the
// account, permission set, user or group it names was deleted: a
// DeleteAccountAssignment by the same caller and request as parent, whose
// additionalEventData points at the delete that caused it. It is nil when
// parent is nil (a store call without auditing).
func CascadeEvent(parent *audit.Event, a Assignment) *audit.Event {
	if parent == nil {
		return nil
	}
	actor := audit.Actor{Identity: parent.UserIdentity, SourceIP: parent.SourceIPAddress, UserAgent: parent.UserAgent, RequestID: parent.RequestID}
	ev := actor.NewEvent(audit.SourceAccess, "DeleteAccountAssignment", false)
	ev.Directory, ev.ResourceID, ev.ResourceName = a.DirectoryID, a.ID, a.PrincipalName
	ev.SetParameters(AssignmentParameters(a))
	ev.AdditionalEventData, _ = json.Marshal(map[string]any{
		"cascade": map[string]string{"eventName": parent.EventName, "eventID": parent.EventID, "resourceId": parent.ResourceID, "resourceName": parent.ResourceName},
	})
	return ev
}

// AssignmentParameters are the request parameters an assignment event
// records (AWS's CreateAccountAssignment inputs, plus names).
func AssignmentParameters(a Assignment) map[string]any {
	return map[string]any{
		"accountId": a.AccountID, "accountName": a.AccountName, "permissionSetId": a.PermissionSetID, "permissionSetName": a.PermissionSetName,
		"principalType": a.PrincipalType, "principalId": a.PrincipalID, "principalName": a.PrincipalName, "assignmentId": a.ID,
	}
}
