package audit

// Names is the closed vocabulary of event names. Actor.NewEvent refuses any
// other name, so a typo cannot create a new, unsearchable kind of event.
var Names = map[string]bool{}

func init() {
	for _, n := range []string{
		// SCIM endpoint and directory administration.
		"CreateUser", "GetUser", "ListUsers", "PutUser", "PatchUser", "DeleteUser",
		"CreateGroup", "GetGroup", "ListGroups", "PutGroup", "PatchGroup", "DeleteGroup",
		"SearchResources", "Bulk", "GetMe", "UnknownEndpoint",
		"GetServiceProviderConfig", "ListResourceTypes", "GetResourceType", "ListSchemas", "GetSchema",
		"CreateDirectory", "UpdateDirectory", "DeleteDirectory",
		"CreateToken", "RevokeToken",
		// Admin API and audit trail.
		"CreateAdminToken", "RevokeAdminToken", "LookupEvents", "ExportEvents", "VerifyEvents", "PruneEvents",
		// Provisioning engine.
		"CreateApplication", "UpdateApplication", "DeleteApplication", "TestConnection",
		"AssignToApplication", "UnassignFromApplication", "UpdateAttributeMappings",
		"StartProvisioningCycle", "EndProvisioningCycle", "ProvisionObject", "QuarantineApplication", "ReleaseQuarantine",
		"RestartProvisioning", "StageDeletes", "ApproveDeletes", "RejectDeletes",
		"ListApplications", "GetApplication", "ListApplicationAssignments", "GetAttributeMappings",
		"GetProvisioningStatus", "ListProvisioningLogs", "StartProvisioning", "ProvisionOnDemand",
		"EnableApplication", "DisableApplication",
		// Access model.
		"CreateAccount", "DeleteAccount", "CreatePermissionSet", "UpdatePermissionSet", "DeletePermissionSet",
		"AttachManagedPolicyToPermissionSet", "DetachManagedPolicyFromPermissionSet",
		"AttachCustomerManagedPolicyReferenceToPermissionSet", "DetachCustomerManagedPolicyReferenceFromPermissionSet",
		"PutInlinePolicyToPermissionSet", "DeleteInlinePolicyFromPermissionSet",
		"PutPermissionsBoundaryToPermissionSet", "DeletePermissionsBoundaryFromPermissionSet",
		"CreateAccountAssignment", "DeleteAccountAssignment",
		"ListAccounts", "DescribeAccount", "ListPermissionSets", "DescribePermissionSet", "GetInlinePolicyForPermissionSet",
		"ListAccountAssignments", "ListUserEntitlements", "ListAccountAccess",
		// Sign-in (later).
		"Authenticate", "Federate", "CreateToken.OIDC",
	} {
		Names[n] = true
	}
}
