package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/access"
	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// The access model's commands: account, permission-set, assignment and
// access (entitlements). Every change is audited with event source
// "access"; refused changes are audited with their reason.

// accessFailure records the audit event of a refused access change and
// returns err. A refused delete is a ConflictException, as on AWS.
func accessFailure(ctx context.Context, a *app.App, d directory.Directory, ev *audit.Event, err error) error {
	var re *directory.ReferencedError
	if errors.As(err, &re) {
		ev.Directory, ev.ErrorCode, ev.ErrorMessage = d.ID, audit.ErrConflict, re.Error()
		a.Audit.Record(ctx, ev)
		return err
	}
	recordFailure(ctx, a, d, ev, err)
	return err
}

// accessEvent starts the audit event of a CLI access change.
func accessEvent(ctx context.Context, name string, params any) *audit.Event {
	ev := event(ctx, audit.SourceAccess, name, false)
	if params != nil {
		ev.SetParameters(params)
	}
	return ev
}

func tagsString(tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + tags[k]
	}
	return strings.Join(parts, ",")
}

// ---- account ----------------------------------------------------------

var accountHeader = []string{"ID", "TYPE", "NAME", "EMAIL", "TAGS"}

func accountRow(x access.Account) []string {
	return []string{x.ID, x.Type, x.Name, x.Email, tagsString(x.Tags)}
}

func accountCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "account", Short: "Manage accounts: AWS accounts (12-digit ids) or other targets that permission sets are assigned on"}
	var dirName string
	var in access.Account
	var tags []string
	create := &cobra.Command{
		Use:   "create ID --name NAME",
		Short: "Register an account",
		Long: `Registers an account in a directory. ID is the 12-digit AWS account id, or with
--type OTHER any stable id (1-128 letters, digits or . _ : / @ + = -).`,
		Example: `  gatehouse account create 111122223333 --name Production --email aws-prod@example.com --tag env=prod`,
		Args:    cobra.ExactArgs(1),
		RunE: g.inDirectory(&dirName, func(cmd *cobra.Command, a *app.App, d directory.Directory, args []string) error {
			var err error
			acct := in
			acct.ID = args[0]
			if acct.Tags, err = access.ParseTags(tags); err != nil {
				return err
			}
			ev := accessEvent(cmd.Context(), "CreateAccount", acct)
			acct, err = a.Access.CreateAccount(cmd.Context(), d, acct, ev)
			if err != nil {
				return accessFailure(cmd.Context(), a, d, ev, err)
			}
			return g.output(cmd.OutOrStdout(), acct, accountHeader, [][]string{accountRow(acct)})
		}),
	}
	dirFlag(create, &dirName)
	create.Flags().StringVar(&in.Name, "name", "", "account name (1-50 printable characters, unique in the directory)")
	create.Flags().StringVar(&in.Type, "type", access.TargetAWSAccount, "AWS_ACCOUNT (id is the 12-digit account id) or OTHER")
	create.Flags().StringVar(&in.Description, "description", "", "description")
	create.Flags().StringVar(&in.Email, "email", "", "the account's email address (shown in the portal)")
	create.Flags().StringArrayVar(&tags, "tag", nil, "tag KEY=VALUE; repeatable")
	create.MarkFlagRequired("name")

	list := &cobra.Command{
		Use:   "list",
		Short: "List accounts",
		Args:  cobra.NoArgs,
		RunE: g.inDirectory(&dirName, func(cmd *cobra.Command, a *app.App, d directory.Directory, _ []string) error {
			accts, err := a.Access.ListAccounts(cmd.Context(), d)
			if err != nil {
				return err
			}
			var rows [][]string
			for _, x := range accts {
				rows = append(rows, accountRow(x))
			}
			return g.output(cmd.OutOrStdout(), accts, accountHeader, rows)
		}),
	}
	dirFlag(list, &dirName)

	show := &cobra.Command{
		Use:   "show ID|NAME",
		Short: "Show an account and its assignments",
		Args:  cobra.ExactArgs(1),
		RunE: g.inDirectory(&dirName, func(cmd *cobra.Command, a *app.App, d directory.Directory, args []string) error {
			acct, err := a.Access.Account(cmd.Context(), d, args[0])
			if err != nil {
				return err
			}
			as, err := a.Access.ListAssignments(cmd.Context(), d, access.AssignmentFilter{AccountID: acct.ID})
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"account": acct, "assignments": as})
			}
			w := cmd.OutOrStdout()
			printTable(w, []string{"FIELD", "VALUE"}, [][]string{{"id", acct.ID}, {"type", acct.Type}, {"name", acct.Name}, {"description", acct.Description},
				{"email", acct.Email}, {"tags", tagsString(acct.Tags)}, {"created", acct.Created.Format(time.RFC3339)}})
			fmt.Fprintf(w, "\n%d assignments\n", len(as))
			return printAssignments(w, as)
		}),
	}
	dirFlag(show, &dirName)

	var cascade bool
	del := &cobra.Command{
		Use:   "delete ID|NAME",
		Short: "Delete an account (refused while assignments use it, unless --cascade)",
		Args:  cobra.ExactArgs(1),
		RunE: g.inDirectory(&dirName, func(cmd *cobra.Command, a *app.App, d directory.Directory, args []string) error {
			acct, err := a.Access.Account(cmd.Context(), d, args[0])
			if err != nil {
				return err
			}
			ev := accessEvent(cmd.Context(), "DeleteAccount", map[string]any{"accountId": acct.ID, "cascade": cascade})
			removed, err := a.Access.DeleteAccount(cmd.Context(), d, acct, cascade, ev)
			if err != nil {
				return accessFailure(cmd.Context(), a, d, ev, err)
			}
			return deleted(g, cmd.OutOrStdout(), fmt.Sprintf("account %s (%s)", acct.ID, acct.Name), map[string]any{"account": acct}, removed)
		}),
	}
	dirFlag(del, &dirName)
	del.Flags().BoolVar(&cascade, "cascade", false, "also delete the assignments that use it (one audit event each)")
	cmd.AddCommand(create, list, show, del)
	return cmd
}

// deleted reports a delete and the assignments it removed.
func deleted(g *globals, w io.Writer, what string, v map[string]any, removed []access.Assignment) error {
	if removed == nil {
		removed = []access.Assignment{}
	}
	if g.json {
		v["removedAssignments"] = removed
		return printJSON(w, v)
	}
	fmt.Fprintf(w, "deleted %s\n", what)
	if len(removed) > 0 {
		fmt.Fprintf(w, "removed %d assignments:\n", len(removed))
		return printAssignments(w, removed)
	}
	return nil
}

// ---- permission set ---------------------------------------------------

var permissionSetHeader = []string{"ID", "NAME", "SESSION", "POLICIES", "INLINE", "BOUNDARY", "DESCRIPTION"}

func permissionSetRow(p access.PermissionSet) []string {
	inline, boundary := "-", "-"
	if p.InlinePolicy != "" {
		inline = "yes"
	}
	if p.PermissionsBoundary != nil {
		boundary = p.PermissionsBoundary.String()
	}
	desc := strings.ReplaceAll(p.Description, "\n", " ")
	if len(desc) > 50 {
		desc = desc[:47] + "..."
	}
	return []string{p.ID, p.Name, p.SessionDuration, strconv.Itoa(len(p.ManagedPolicies) + len(p.CustomerManagedPolicies)), inline, boundary, desc}
}

// readPolicy reads an inline policy from --policy or --file (- is stdin).
func readPolicy(cmd *cobra.Command, text, file string) (string, error) {
	switch {
	case text != "" && file != "":
		return "", fault.New(fault.InvalidValue, "inlinePolicy", "give the policy with --policy or --file, not both")
	case file == "-":
		b, err := io.ReadAll(cmd.InOrStdin())
		return string(b), err
	case file != "":
		b, err := os.ReadFile(file)
		return string(b), err
	}
	return text, nil
}

// policyTarget reads the policy of attach/detach/boundary commands: a
// managed policy ARN argument or --customer-managed /path/Name.
func policyTarget(args []string, customer string) (arn string, ref *access.PolicyReference, err error) {
	switch {
	case len(args) == 2 && customer != "":
		return "", nil, fault.New(fault.InvalidValue, "managedPolicyArn", "give a managed policy ARN or --customer-managed, not both")
	case len(args) == 2:
		return args[1], nil, nil
	case customer != "":
		r := access.ParsePolicyReference(customer)
		return "", &r, nil
	}
	return "", nil, fault.New(fault.InvalidValue, "managedPolicyArn", "give a managed policy ARN (e.g. arn:aws:iam::aws:policy/job-function/ViewOnlyAccess) or --customer-managed /path/Name")
}

func permissionSetCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "permission-set", Aliases: []string{"ps"}, Short: "Manage permission sets: policies, session duration and relay state granted on accounts"}
	var dirName string

	var in access.PermissionSet
	var tags, customer []string
	var policyText, policyFile, boundaryARN, boundaryCustomer string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a permission set",
		Long: `Creates a permission set. NAME follows AWS's rule: 1-32 letters, digits and
+ = , . @ _ -, unique in the directory regardless of case.`,
		Example: `  gatehouse permission-set create ViewOnlyAccess --managed-policy arn:aws:iam::aws:policy/job-function/ViewOnlyAccess
  gatehouse permission-set create S3Reader --session-duration PT8H --relay-state https://console.aws.amazon.com/s3/home \
      --customer-managed-policy /team/ReadBuckets --policy-file s3.json`,
		Args: cobra.ExactArgs(1),
		RunE: g.inDirectory(&dirName, func(cmd *cobra.Command, a *app.App, d directory.Directory, args []string) error {
			var err error
			p := in
			p.Name = args[0]
			if p.Tags, err = access.ParseTags(tags); err != nil {
				return err
			}
			for _, c := range customer {
				p.CustomerManagedPolicies = append(p.CustomerManagedPolicies, access.ParsePolicyReference(c))
			}
			if p.InlinePolicy, err = readPolicy(cmd, policyText, policyFile); err != nil {
				return err
			}
			switch {
			case boundaryARN != "" && boundaryCustomer != "":
				return fault.New(fault.InvalidValue, "permissionsBoundary", "give --permissions-boundary or --permissions-boundary-customer-managed, not both")
			case boundaryARN != "":
				p.PermissionsBoundary = &access.Boundary{ManagedPolicyARN: boundaryARN}
			case boundaryCustomer != "":
				r := access.ParsePolicyReference(boundaryCustomer)
				p.PermissionsBoundary = &access.Boundary{CustomerManagedPolicyReference: &r}
			}
			ev := accessEvent(cmd.Context(), "CreatePermissionSet", p)
			if p, err = a.Access.CreatePermissionSet(cmd.Context(), d, p, ev); err != nil {
				return accessFailure(cmd.Context(), a, d, ev, err)
			}
			return g.output(cmd.OutOrStdout(), p, permissionSetHeader, [][]string{permissionSetRow(p)})
		}),
	}
	dirFlag(create, &dirName)
	cf := create.Flags()
	cf.StringVar(&in.Description, "description", "", "description (up to 700 characters)")
	cf.StringVar(&in.SessionDuration, "session-duration", access.DefaultSessionDuration, "role session length, ISO 8601 from PT1H to PT12H")
	cf.StringVar(&in.RelayState, "relay-state", "", "https URL users land on after console sign-in")
	cf.StringArrayVar(&in.ManagedPolicies, "managed-policy", nil, "managed policy ARN; repeatable (at most 20 policies in all)")
	cf.StringArrayVar(&customer, "customer-managed-policy", nil, "customer managed policy as /path/Name (or Name for path /); repeatable")
	cf.StringVar(&policyText, "policy", "", "inline policy document (JSON)")
	cf.StringVar(&policyFile, "policy-file", "", "file holding the inline policy document (- for stdin)")
	cf.StringVar(&boundaryARN, "permissions-boundary", "", "permissions boundary: a managed policy ARN")
	cf.StringVar(&boundaryCustomer, "permissions-boundary-customer-managed", "", "permissions boundary: a customer managed policy as /path/Name")
	cf.StringArrayVar(&tags, "tag", nil, "tag KEY=VALUE; repeatable")

	list := &cobra.Command{
		Use:   "list",
		Short: "List permission sets",
		Args:  cobra.NoArgs,
		RunE: g.inDirectory(&dirName, func(cmd *cobra.Command, a *app.App, d directory.Directory, _ []string) error {
			ps, err := a.Access.ListPermissionSets(cmd.Context(), d)
			if err != nil {
				return err
			}
			var rows [][]string
			for _, p := range ps {
				rows = append(rows, permissionSetRow(p))
			}
			return g.output(cmd.OutOrStdout(), ps, permissionSetHeader, rows)
		}),
	}
	dirFlag(list, &dirName)

	show := &cobra.Command{
		Use:   "show NAME|ID",
		Short: "Show a permission set with its policies and assignments",
		Args:  cobra.ExactArgs(1),
		RunE: g.inDirectory(&dirName, func(cmd *cobra.Command, a *app.App, d directory.Directory, args []string) error {
			p, err := a.Access.PermissionSet(cmd.Context(), d, args[0])
			if err != nil {
				return err
			}
			as, err := a.Access.ListAssignments(cmd.Context(), d, access.AssignmentFilter{PermissionSetID: p.ID})
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"permissionSet": p, "assignments": as})
			}
			return printPermissionSet(cmd.OutOrStdout(), p, as)
		}),
	}
	dirFlag(show, &dirName)

	var upd struct {
		description, duration, relay string
		tags                         []string
		clearTags                    bool
	}
	update := &cobra.Command{
		Use:   "update NAME|ID",
		Short: "Change description, session duration, relay state or tags (only the flags given)",
		Args:  cobra.ExactArgs(1),
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			d, p, err := findPermissionSet(cmd, a, dirName, args[0])
			if err != nil {
				return err
			}
			var u access.PermissionSetUpdate
			fl := cmd.Flags()
			if fl.Changed("description") {
				u.Description = &upd.description
			}
			if fl.Changed("session-duration") {
				u.SessionDuration = &upd.duration
			}
			if fl.Changed("relay-state") {
				u.RelayState = &upd.relay
			}
			if fl.Changed("tag") || upd.clearTags {
				t, err := access.ParseTags(upd.tags)
				if err != nil {
					return err
				}
				u.Tags = &t
			}
			ev := accessEvent(cmd.Context(), "UpdatePermissionSet", map[string]any{"permissionSetId": p.ID, "update": u})
			if p, err = a.Access.UpdatePermissionSet(cmd.Context(), d, p, u, ev); err != nil {
				return accessFailure(cmd.Context(), a, d, ev, err)
			}
			return g.output(cmd.OutOrStdout(), p, permissionSetHeader, [][]string{permissionSetRow(p)})
		}),
	}
	dirFlag(update, &dirName)
	uf := update.Flags()
	uf.StringVar(&upd.description, "description", "", "description")
	uf.StringVar(&upd.duration, "session-duration", "", "ISO 8601 duration from PT1H to PT12H")
	uf.StringVar(&upd.relay, "relay-state", "", "https URL (empty to remove)")
	uf.StringArrayVar(&upd.tags, "tag", nil, "tag KEY=VALUE; repeatable; replaces all tags")
	uf.BoolVar(&upd.clearTags, "clear-tags", false, "remove all tags")

	var cascade bool
	del := &cobra.Command{
		Use:   "delete NAME|ID",
		Short: "Delete a permission set (refused while assignments use it, unless --cascade)",
		Args:  cobra.ExactArgs(1),
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			d, p, err := findPermissionSet(cmd, a, dirName, args[0])
			if err != nil {
				return err
			}
			ev := accessEvent(cmd.Context(), "DeletePermissionSet", map[string]any{"permissionSetId": p.ID, "cascade": cascade})
			removed, err := a.Access.DeletePermissionSet(cmd.Context(), d, p, cascade, ev)
			if err != nil {
				return accessFailure(cmd.Context(), a, d, ev, err)
			}
			return deleted(g, cmd.OutOrStdout(), fmt.Sprintf("permission set %s (%s)", p.Name, p.ID), map[string]any{"permissionSet": p}, removed)
		}),
	}
	dirFlag(del, &dirName)
	del.Flags().BoolVar(&cascade, "cascade", false, "also delete the assignments that use it (one audit event each)")

	// change builds the commands that change one aspect of a set.
	change := func(use, short, long string, args cobra.PositionalArgs, setup func(c *cobra.Command),
		run func(cmd *cobra.Command, a *app.App, d directory.Directory, p access.PermissionSet, args []string) (string, any, func(ev *audit.Event) (access.PermissionSet, error), error)) *cobra.Command {
		c := &cobra.Command{
			Use: use, Short: short, Long: long, Args: args,
			RunE: g.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
				d, p, err := findPermissionSet(cmd, a, dirName, args[0])
				if err != nil {
					return err
				}
				name, params, do, err := run(cmd, a, d, p, args)
				if err != nil {
					return err
				}
				ev := accessEvent(cmd.Context(), name, params)
				if p, err = do(ev); err != nil {
					return accessFailure(cmd.Context(), a, d, ev, err)
				}
				return g.output(cmd.OutOrStdout(), p, permissionSetHeader, [][]string{permissionSetRow(p)})
			}),
		}
		dirFlag(c, &dirName)
		if setup != nil {
			setup(c)
		}
		return c
	}
	var attachCustomer, detachCustomer, boundaryRef string
	attach := change("attach-policy NAME|ID [MANAGED_POLICY_ARN]", "Attach a managed policy (by ARN) or a customer managed policy (--customer-managed /path/Name)",
		"At most 20 managed and customer managed policies per permission set.", cobra.RangeArgs(1, 2),
		func(c *cobra.Command) {
			c.Flags().StringVar(&attachCustomer, "customer-managed", "", "customer managed policy as /path/Name (Name alone means path /)")
		},
		func(cmd *cobra.Command, a *app.App, d directory.Directory, p access.PermissionSet, args []string) (string, any, func(*audit.Event) (access.PermissionSet, error), error) {
			arn, ref, err := policyTarget(args, attachCustomer)
			if err != nil {
				return "", nil, nil, err
			}
			if ref != nil {
				return "AttachCustomerManagedPolicyReferenceToPermissionSet", map[string]any{"permissionSetId": p.ID, "customerManagedPolicyReference": ref},
					func(ev *audit.Event) (access.PermissionSet, error) {
						return a.Access.AttachCustomerManagedPolicy(cmd.Context(), d, p, *ref, ev)
					}, nil
			}
			return "AttachManagedPolicyToPermissionSet", map[string]any{"permissionSetId": p.ID, "managedPolicyArn": arn},
				func(ev *audit.Event) (access.PermissionSet, error) {
					return a.Access.AttachManagedPolicy(cmd.Context(), d, p, arn, ev)
				}, nil
		})
	detach := change("detach-policy NAME|ID [MANAGED_POLICY_ARN]", "Detach a managed policy (by ARN) or a customer managed policy (--customer-managed /path/Name)", "",
		cobra.RangeArgs(1, 2),
		func(c *cobra.Command) {
			c.Flags().StringVar(&detachCustomer, "customer-managed", "", "customer managed policy as /path/Name")
		},
		func(cmd *cobra.Command, a *app.App, d directory.Directory, p access.PermissionSet, args []string) (string, any, func(*audit.Event) (access.PermissionSet, error), error) {
			arn, ref, err := policyTarget(args, detachCustomer)
			if err != nil {
				return "", nil, nil, err
			}
			if ref != nil {
				return "DetachCustomerManagedPolicyReferenceFromPermissionSet", map[string]any{"permissionSetId": p.ID, "customerManagedPolicyReference": ref},
					func(ev *audit.Event) (access.PermissionSet, error) {
						return a.Access.DetachCustomerManagedPolicy(cmd.Context(), d, p, *ref, ev)
					}, nil
			}
			return "DetachManagedPolicyFromPermissionSet", map[string]any{"permissionSetId": p.ID, "managedPolicyArn": arn},
				func(ev *audit.Event) (access.PermissionSet, error) {
					return a.Access.DetachManagedPolicy(cmd.Context(), d, p, arn, ev)
				}, nil
		})
	var putText, putFile string
	putInline := change("put-inline-policy NAME|ID (--file FILE | --policy JSON)", "Set the inline policy (replaces the previous one)",
		`The document must be valid JSON and a structurally valid IAM identity-based policy:
Version "2012-10-17" (or "2008-10-17"), Statement with Effect (Allow or Deny),
Action or NotAction, Resource or NotResource, optional Sid and Condition, no
Principal; at most 32,768 characters, 10,240 of them other than white space.`,
		cobra.ExactArgs(1),
		func(c *cobra.Command) {
			c.Flags().StringVar(&putFile, "file", "", "file holding the policy document (- for stdin)")
			c.Flags().StringVar(&putText, "policy", "", "the policy document")
		},
		func(cmd *cobra.Command, a *app.App, d directory.Directory, p access.PermissionSet, args []string) (string, any, func(*audit.Event) (access.PermissionSet, error), error) {
			doc, err := readPolicy(cmd, putText, putFile)
			if err != nil {
				return "", nil, nil, err
			}
			if doc == "" {
				return "", nil, nil, fault.New(fault.InvalidValue, "inlinePolicy", "give the policy with --file or --policy")
			}
			return "PutInlinePolicyToPermissionSet", map[string]any{"permissionSetId": p.ID, "inlinePolicy": doc},
				func(ev *audit.Event) (access.PermissionSet, error) {
					return a.Access.PutInlinePolicy(cmd.Context(), d, p, doc, ev)
				}, nil
		})
	delInline := change("delete-inline-policy NAME|ID", "Remove the inline policy", "", cobra.ExactArgs(1), nil,
		func(cmd *cobra.Command, a *app.App, d directory.Directory, p access.PermissionSet, args []string) (string, any, func(*audit.Event) (access.PermissionSet, error), error) {
			return "DeleteInlinePolicyFromPermissionSet", map[string]any{"permissionSetId": p.ID},
				func(ev *audit.Event) (access.PermissionSet, error) {
					return a.Access.DeleteInlinePolicy(cmd.Context(), d, p, ev)
				}, nil
		})
	putBoundary := change("put-permissions-boundary NAME|ID [MANAGED_POLICY_ARN]", "Set the permissions boundary: a managed policy ARN or --customer-managed /path/Name", "",
		cobra.RangeArgs(1, 2),
		func(c *cobra.Command) {
			c.Flags().StringVar(&boundaryRef, "customer-managed", "", "customer managed policy as /path/Name")
		},
		func(cmd *cobra.Command, a *app.App, d directory.Directory, p access.PermissionSet, args []string) (string, any, func(*audit.Event) (access.PermissionSet, error), error) {
			arn, ref, err := policyTarget(args, boundaryRef)
			if err != nil {
				return "", nil, nil, err
			}
			b := access.Boundary{ManagedPolicyARN: arn, CustomerManagedPolicyReference: ref}
			return "PutPermissionsBoundaryToPermissionSet", map[string]any{"permissionSetId": p.ID, "permissionsBoundary": b},
				func(ev *audit.Event) (access.PermissionSet, error) {
					return a.Access.PutPermissionsBoundary(cmd.Context(), d, p, b, ev)
				}, nil
		})
	delBoundary := change("delete-permissions-boundary NAME|ID", "Remove the permissions boundary", "", cobra.ExactArgs(1), nil,
		func(cmd *cobra.Command, a *app.App, d directory.Directory, p access.PermissionSet, args []string) (string, any, func(*audit.Event) (access.PermissionSet, error), error) {
			return "DeletePermissionsBoundaryFromPermissionSet", map[string]any{"permissionSetId": p.ID},
				func(ev *audit.Event) (access.PermissionSet, error) {
					return a.Access.DeletePermissionsBoundary(cmd.Context(), d, p, ev)
				}, nil
		})
	cmd.AddCommand(create, list, show, update, del, attach, detach, putInline, delInline, putBoundary, delBoundary)
	return cmd
}

func findPermissionSet(cmd *cobra.Command, a *app.App, dirName, ref string) (directory.Directory, access.PermissionSet, error) {
	d, err := a.Dir.Directory(cmd.Context(), dirName)
	if err != nil {
		return d, access.PermissionSet{}, err
	}
	p, err := a.Access.PermissionSet(cmd.Context(), d, ref)
	return d, p, err
}

func printPermissionSet(w io.Writer, p access.PermissionSet, as []access.Assignment) error {
	rows := [][]string{{"id", p.ID}, {"name", p.Name}, {"description", strings.ReplaceAll(p.Description, "\n", " ")}, {"session duration", p.SessionDuration},
		{"relay state", p.RelayState}, {"tags", tagsString(p.Tags)}, {"version", strconv.FormatInt(p.Version, 10)}, {"modified", p.Modified.Format(time.RFC3339)}}
	if p.PermissionsBoundary != nil {
		rows = append(rows, []string{"permissions boundary", p.PermissionsBoundary.String()})
	}
	printTable(w, []string{"FIELD", "VALUE"}, rows)
	if len(p.ManagedPolicies)+len(p.CustomerManagedPolicies) > 0 {
		fmt.Fprintln(w)
		var pr [][]string
		for _, arn := range p.ManagedPolicies {
			pr = append(pr, []string{"managed", arn})
		}
		for _, r := range p.CustomerManagedPolicies {
			pr = append(pr, []string{"customer managed", r.String()})
		}
		printTable(w, []string{"POLICY", "ARN OR PATH/NAME"}, pr)
	}
	if p.InlinePolicy != "" {
		fmt.Fprintln(w, "\ninline policy:")
		var v any
		if json.Unmarshal([]byte(p.InlinePolicy), &v) == nil {
			b, _ := json.MarshalIndent(v, "  ", "  ")
			fmt.Fprintln(w, "  "+string(b))
		} else {
			fmt.Fprintln(w, p.InlinePolicy)
		}
	}
	fmt.Fprintf(w, "\n%d assignments\n", len(as))
	return printAssignments(w, as)
}

// ---- assignment -------------------------------------------------------

var assignmentHeader = []string{"ID", "ACCOUNT", "ACCOUNT NAME", "PERMISSION SET", "PRINCIPAL", "NAME"}

func printAssignments(w io.Writer, as []access.Assignment) error {
	if len(as) == 0 {
		return nil
	}
	rows := make([][]string, len(as))
	for i, x := range as {
		rows[i] = []string{x.ID, x.AccountID, x.AccountName, x.PermissionSetName, x.PrincipalType, x.PrincipalName}
	}
	return printTable(w, assignmentHeader, rows)
}

// assignmentFlags name an assignment's parts on the command line.
type assignmentFlags struct {
	account, permissionSet, user, group string
}

func (f *assignmentFlags) register(c *cobra.Command) {
	fl := c.Flags()
	fl.StringVar(&f.account, "account", "", "account id or name")
	fl.StringVar(&f.permissionSet, "permission-set", "", "permission set name or id")
	fl.StringVar(&f.user, "user", "", "user id or userName")
	fl.StringVar(&f.group, "group", "", "group id or displayName")
}

// resolve turns the flags into ids; required demands all four parts.
func (f *assignmentFlags) resolve(ctx context.Context, a *app.App, d directory.Directory, required bool) (access.AssignmentInput, error) {
	var in access.AssignmentInput
	if f.account != "" {
		acct, err := a.Access.Account(ctx, d, f.account)
		if err != nil {
			return in, err
		}
		in.AccountID = acct.ID
	} else if required {
		return in, fault.New(fault.InvalidValue, "accountId", "--account is required")
	}
	if f.permissionSet != "" {
		p, err := a.Access.PermissionSet(ctx, d, f.permissionSet)
		if err != nil {
			return in, err
		}
		in.PermissionSetID = p.ID
	} else if required {
		return in, fault.New(fault.InvalidValue, "permissionSetId", "--permission-set is required")
	}
	switch {
	case f.user != "" && f.group != "":
		return in, fault.New(fault.InvalidValue, "principalType", "give --user or --group, not both")
	case f.user != "":
		u, err := findUser(ctx, a, d, f.user)
		if err != nil {
			return in, err
		}
		in.PrincipalType, in.PrincipalID = access.PrincipalUser, u.ID
	case f.group != "":
		grp, err := findGroup(ctx, a, d, f.group)
		if err != nil {
			return in, err
		}
		in.PrincipalType, in.PrincipalID = access.PrincipalGroup, grp.ID
	case required:
		return in, fault.New(fault.InvalidValue, "principalId", "--user or --group is required")
	}
	return in, nil
}

func assignmentCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "assignment", Short: "Assign permission sets on accounts to users and groups"}
	var dirName string
	var cf assignmentFlags
	create := &cobra.Command{
		Use:     "create --account ID|NAME --permission-set NAME (--user USER | --group GROUP)",
		Short:   "Assign a permission set on an account to a user or a group",
		Example: `  gatehouse assignment create --account 111122223333 --permission-set ViewOnlyAccess --group aws-sso-read-only`,
		Args:    cobra.NoArgs,
		RunE: g.inDirectory(&dirName, func(cmd *cobra.Command, a *app.App, d directory.Directory, _ []string) error {
			in, err := cf.resolve(cmd.Context(), a, d, true)
			if err != nil {
				return err
			}
			ev := accessEvent(cmd.Context(), "CreateAccountAssignment", in)
			as, err := a.Access.CreateAssignment(cmd.Context(), d, in, ev)
			if err != nil {
				return accessFailure(cmd.Context(), a, d, ev, err)
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), as)
			}
			return printAssignments(cmd.OutOrStdout(), []access.Assignment{as})
		}),
	}
	dirFlag(create, &dirName)
	cf.register(create)

	var df assignmentFlags
	del := &cobra.Command{
		Use:   "delete (ID | --account ID|NAME --permission-set NAME (--user USER | --group GROUP))",
		Short: "Remove an assignment, by id or by its parts",
		Args:  cobra.MaximumNArgs(1),
		RunE: g.inDirectory(&dirName, func(cmd *cobra.Command, a *app.App, d directory.Directory, args []string) error {
			var err error
			var as access.Assignment
			if len(args) == 1 {
				as, err = a.Access.Assignment(cmd.Context(), d, args[0])
			} else {
				var in access.AssignmentInput
				if in, err = df.resolve(cmd.Context(), a, d, true); err == nil {
					as, err = a.Access.FindAssignment(cmd.Context(), d, in)
				}
			}
			if err != nil {
				return err
			}
			ev := accessEvent(cmd.Context(), "DeleteAccountAssignment", access.AssignmentParameters(as))
			if as, err = a.Access.DeleteAssignment(cmd.Context(), d, as, ev); err != nil {
				return accessFailure(cmd.Context(), a, d, ev, err)
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), as)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted assignment %s: %s\n", as.ID, as)
			return nil
		}),
	}
	dirFlag(del, &dirName)
	df.register(del)

	var lf assignmentFlags
	list := &cobra.Command{
		Use:   "list [--account ID|NAME] [--permission-set NAME] [--user USER | --group GROUP]",
		Short: "List assignments, by account, permission set or principal (direct assignments only; see access show)",
		Args:  cobra.NoArgs,
		RunE: g.inDirectory(&dirName, func(cmd *cobra.Command, a *app.App, d directory.Directory, _ []string) error {
			in, err := lf.resolve(cmd.Context(), a, d, false)
			if err != nil {
				return err
			}
			as, err := a.Access.ListAssignments(cmd.Context(), d, access.AssignmentFilter(in))
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), as)
			}
			if len(as) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "(none)")
				return nil
			}
			return printAssignments(cmd.OutOrStdout(), as)
		}),
	}
	dirFlag(list, &dirName)
	lf.register(list)
	cmd.AddCommand(create, del, list)
	return cmd
}

// ---- access (entitlements) --------------------------------------------

func accessCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "access", Short: "Explain entitlements: what a user can reach, and who can reach an account, and why"}
	var dirName, userRef string
	show := &cobra.Command{
		Use:   "show --user USER",
		Short: "List every account and permission set a user can use, with the assignment and group path behind each",
		Example: `  gatehouse access show --user bob
  ACCOUNT       ACCOUNT NAME  PERMISSION SET  VIA
  111122223333  Production    ViewOnlyAccess  bob -> aws-sso-read-only -> ViewOnlyAccess on 111122223333`,
		Args: cobra.NoArgs,
		RunE: g.inDirectory(&dirName, func(cmd *cobra.Command, a *app.App, d directory.Directory, _ []string) error {
			u, err := findUser(cmd.Context(), a, d, userRef)
			if err != nil {
				return err
			}
			ua, err := a.Access.UserEntitlements(cmd.Context(), d, u.ID)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), ua)
			}
			w := cmd.OutOrStdout()
			status := ""
			if !ua.Active {
				status = " (inactive: cannot sign in)"
			}
			fmt.Fprintf(w, "%s (%s)%s: %s\n", ua.UserName, ua.UserID, status, plural(len(ua.Entitlements), "entitlement"))
			var rows [][]string
			for _, e := range ua.Entitlements {
				for _, r := range e.Via {
					rows = append(rows, []string{e.AccountID, e.AccountName, e.PermissionSetName, r.Path})
				}
			}
			if len(rows) == 0 {
				return nil
			}
			return printTable(w, []string{"ACCOUNT", "ACCOUNT NAME", "PERMISSION SET", "VIA"}, rows)
		}),
	}
	dirFlag(show, &dirName)
	show.Flags().StringVar(&userRef, "user", "", "user id or userName")
	show.MarkFlagRequired("user")

	var accountRef, psRef string
	who := &cobra.Command{
		Use:   "who --account ID|NAME [--permission-set NAME]",
		Short: "List the users who can reach an account, through which permission set and which group path",
		Args:  cobra.NoArgs,
		RunE: g.inDirectory(&dirName, func(cmd *cobra.Command, a *app.App, d directory.Directory, _ []string) error {
			acct, err := a.Access.Account(cmd.Context(), d, accountRef)
			if err != nil {
				return err
			}
			var ps *access.PermissionSet
			if psRef != "" {
				p, err := a.Access.PermissionSet(cmd.Context(), d, psRef)
				if err != nil {
					return err
				}
				ps = &p
			}
			res, err := a.Access.AccountAccess(cmd.Context(), d, acct, ps)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), res)
			}
			w := cmd.OutOrStdout()
			users := map[string]bool{}
			var rows [][]string
			for _, e := range res.Entitlements {
				users[e.UserID] = true
				name := e.UserName
				if !e.UserActive {
					name += " (inactive)"
				}
				for _, r := range e.Via {
					rows = append(rows, []string{name, e.PermissionSetName, r.Path})
				}
			}
			fmt.Fprintf(w, "%s (%s): %d users\n", acct.ID, acct.Name, len(users))
			if len(rows) == 0 {
				return nil
			}
			return printTable(w, []string{"USER", "PERMISSION SET", "VIA"}, rows)
		}),
	}
	dirFlag(who, &dirName)
	who.Flags().StringVar(&accountRef, "account", "", "account id or name")
	who.Flags().StringVar(&psRef, "permission-set", "", "only this permission set (name or id)")
	who.MarkFlagRequired("account")
	cmd.AddCommand(show, who)
	return cmd
}

// plural formats a count with its noun: "1 entitlement", "2 entitlements".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
