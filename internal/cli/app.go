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

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/fault"
	"github.com/gatehouse-id/gatehouse/internal/provisioning"
)

// appEvent starts an audit event for a provisioning CLI action.
func appEvent(ctx context.Context, name string, readOnly bool) *audit.Event {
	return event(ctx, audit.SourceProvisioning, name, readOnly)
}

// recordAppFailure writes the audit event of a rejected provisioning action.
func recordAppFailure(ctx context.Context, a *app.App, ev *audit.Event, err error) {
	ev.ErrorCode, ev.ErrorMessage = audit.ErrInternal, "internal error"
	if fe, ok := fault.As(err); ok {
		ev.ErrorMessage = fe.Message
		switch fe.Kind {
		case fault.NotFound:
			ev.ErrorCode = audit.ErrNotFound
		case fault.Uniqueness:
			ev.ErrorCode = audit.ErrConflict
		default:
			ev.ErrorCode = audit.ErrValidation
		}
	}
	a.Audit.Record(ctx, ev)
}

// readToken reads a target token from a file ("-" is stdin).
func readToken(path string) (string, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(os.Stdin, 16<<10))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fault.New(fault.InvalidValue, "token-file", "the token file %s is empty", path)
	}
	return tok, nil
}

type appJSON struct {
	ID            string                `json:"id"`
	Name          string                `json:"name"`
	Directory     string                `json:"directory"`
	TargetURL     string                `json:"targetUrl"`
	TargetProfile string                `json:"targetProfile"`
	Scope         string                `json:"scope"`
	Interval      string                `json:"interval"`
	Enabled       bool                  `json:"enabled"`
	Settings      provisioning.Settings `json:"settings"`
	SchemaVersion int64                 `json:"schemaVersion"`
	Created       time.Time             `json:"created"`
	Modified      time.Time             `json:"modified"`
}

func toAppJSON(a provisioning.Application, dir string) appJSON {
	return appJSON{ID: a.ID, Name: a.Name, Directory: dir, TargetURL: a.TargetURL, TargetProfile: a.TargetProfile, Scope: a.Scope,
		Interval: config.Duration(a.Interval).String(), Enabled: a.Enabled, Settings: a.Settings, SchemaVersion: a.SchemaVersion, Created: a.Created, Modified: a.Modified}
}

func appCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "app", Short: "Provisioning applications: push users and groups from a directory into SCIM 2.0 targets"}
	cmd.AddCommand(appCreateCmd(g), appListCmd(g), appShowCmd(g), appUpdateCmd(g), appDeleteCmd(g), appTestCmd(g),
		appAssignCmd(g, true), appAssignCmd(g, false), appMappingsCmd(g), appProvisionCmd(g), appLogsCmd(g), appStatusCmd(g),
		appDeletesCmd(g, true), appDeletesCmd(g, false), appStartCmd(g, true), appStartCmd(g, false))
	return cmd
}

func appCreateCmd(g *globals) *cobra.Command {
	var dir, url, tokenFile, profile, scope string
	var interval config.Duration
	c := &cobra.Command{
		Use:   "create NAME",
		Short: "Create an application (a SCIM target with a token); the token is stored encrypted",
		Long: `Create an application that provisions users and groups of a directory into a SCIM 2.0 target.
The target token is read from --token-file ("-" reads stdin) and stored sealed with AES-256-GCM under
the secrets key (secrets.key_file; on SQLite a key is generated next to the database when none is set).
New applications get the default mappings of their target profile and scope "assigned":
assign users and groups with gatehouse app assign, check the connection with gatehouse app test.`,
		Args: cobra.ExactArgs(1),
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			tok, err := readToken(tokenFile)
			if err != nil {
				return err
			}
			ev := appEvent(cmd.Context(), "CreateApplication", false)
			x, err := a.Prov.CreateApp(cmd.Context(), provisioning.NewApp{Name: args[0], Directory: dir, TargetURL: url, Token: tok,
				TargetProfile: profile, Scope: scope, Interval: time.Duration(interval)}, ev)
			if err != nil {
				recordAppFailure(cmd.Context(), a, ev, err)
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), toAppJSON(x, dir))
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "created application %s (id %s)\n", x.Name, x.ID)
			fmt.Fprintf(w, "  source directory: %s, scope: %s, target: %s (%s), every %s\n", dir, x.Scope, x.TargetURL, x.TargetProfile, config.Duration(x.Interval))
			fmt.Fprintf(w, "next: gatehouse app test %s; gatehouse app assign %s --group NAME; gatehouse app provision %s\n", x.Name, x.Name, x.Name)
			return nil
		}),
	}
	f := c.Flags()
	f.StringVar(&dir, "directory", "", "source directory")
	f.StringVar(&url, "scim-url", "", "the target's SCIM base URL (tenant URL), e.g. https://scim.us-east-1.amazonaws.com/TENANT/scim/v2")
	f.StringVar(&tokenFile, "token-file", "", `file holding the target's bearer token ("-": stdin)`)
	f.StringVar(&profile, "target-profile", provisioning.ProfileGeneric, "target profile: generic or aws-identity-center")
	f.StringVar(&scope, "scope", provisioning.ScopeAssigned, "assigned (assigned users and groups, members of assigned groups incl. nested) or all")
	f.Var(&interval, "interval", "cycle interval (default provisioning.default_interval, 5m)")
	c.MarkFlagRequired("directory")
	c.MarkFlagRequired("scim-url")
	c.MarkFlagRequired("token-file")
	return c
}

func appListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List applications",
		Args:  cobra.NoArgs,
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, _ []string) error {
			apps, err := a.DB.ListApps(cmd.Context())
			if err != nil {
				return err
			}
			out := []appJSON{}
			var rows [][]string
			for _, x := range apps {
				dir := x.DirectoryID
				if d, err := a.DB.GetDirectory(cmd.Context(), x.DirectoryID); err == nil {
					dir = d.Name
				}
				st, _ := a.DB.State(cmd.Context(), x.ID)
				state := "active"
				switch {
				case !x.Enabled:
					state = "disabled"
				case st.Quarantine != nil:
					state = "quarantined"
				}
				out = append(out, toAppJSON(x, dir))
				rows = append(rows, []string{x.Name, dir, x.TargetProfile, x.Scope, config.Duration(x.Interval).String(), state, x.TargetURL})
			}
			return g.output(cmd.OutOrStdout(), out, []string{"NAME", "DIRECTORY", "PROFILE", "SCOPE", "INTERVAL", "STATE", "TARGET"}, rows)
		}),
	}
}

func appShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show an application: target, scope, settings and assignments (never the token)",
		Args:  cobra.ExactArgs(1),
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			st, err := a.Prov.Status(cmd.Context(), args[0], 1)
			if err != nil {
				return err
			}
			x := st.App
			if g.json {
				var as []map[string]any
				for _, y := range st.Assignments {
					v := map[string]any{"type": y.ObjectType, "id": y.ObjectID, "name": y.Display, "assigned": y.Created}
					if y.Role != "" {
						v["role"] = y.Role
					}
					as = append(as, v)
				}
				return printJSON(cmd.OutOrStdout(), map[string]any{"application": toAppJSON(x, st.Directory), "assignments": nonNilMaps(as),
					"linked": st.Linked, "deprovisioned": st.Disabled})
			}
			s := x.Settings
			n, pct := s.Thresholds()
			presend := "on"
			if s.NoPresendValidation {
				presend = "off"
			}
			rows := [][]string{
				{"name", x.Name}, {"id", x.ID}, {"source directory", st.Directory}, {"target", x.TargetURL}, {"target profile", x.TargetProfile},
				{"token", "(stored encrypted)"}, {"scope", x.Scope}, {"interval", config.Duration(x.Interval).String()}, {"enabled", strconv.FormatBool(x.Enabled)},
				{"pre-send validation", presend}, {"on source delete", s.SourceDeleteAction()}, {"skip out-of-scope deletions", strconv.FormatBool(s.SkipOutOfScopeDeletions)},
				{"deletion threshold", fmt.Sprintf("%d objects or %d%%", n, pct)}, {"rate limit", rateText(s.RateLimit)},
				{"linked", fmt.Sprintf("%d users, %d groups (%d users deprovisioned)", st.Linked[provisioning.TypeUser], st.Linked[provisioning.TypeGroup], st.Disabled[provisioning.TypeUser])},
			}
			for _, y := range st.Assignments {
				v := y.Display + " (" + y.ObjectID + ")"
				if y.Role != "" {
					v += ", role " + y.Role
				}
				rows = append(rows, []string{"assigned " + strings.ToLower(y.ObjectType), v})
			}
			return printTable(cmd.OutOrStdout(), []string{"FIELD", "VALUE"}, rows)
		}),
	}
}

func rateText(r float64) string {
	if r == 0 {
		return "default (25 requests/s, adaptive)"
	}
	if r < 0 {
		return "unlimited (Retry-After honoured)"
	}
	return strconv.FormatFloat(r, 'f', -1, 64) + " requests/s (adaptive)"
}

func nonNilMaps(v []map[string]any) []map[string]any {
	if v == nil {
		return []map[string]any{}
	}
	return v
}

func appUpdateCmd(g *globals) *cobra.Command {
	var url, tokenFile, profile, scope, onDelete string
	var interval config.Duration
	var enabled, presend, noPresend, skipOOS bool
	var threshold, thresholdPct, concurrency int
	var rate float64
	c := &cobra.Command{
		Use:   "update NAME",
		Short: "Change an application's target, token, scope, interval or settings",
		Args:  cobra.ExactArgs(1),
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			f := cmd.Flags()
			var u provisioning.Update
			if f.Changed("scim-url") {
				u.TargetURL = &url
			}
			if f.Changed("token-file") {
				tok, err := readToken(tokenFile)
				if err != nil {
					return err
				}
				u.Token = &tok
			}
			if f.Changed("target-profile") {
				u.TargetProfile = &profile
			}
			if f.Changed("scope") {
				u.Scope = &scope
			}
			if f.Changed("interval") {
				d := time.Duration(interval)
				u.Interval = &d
			}
			if f.Changed("enabled") {
				u.Enabled = &enabled
			}
			if f.Changed("presend-validation") && f.Changed("no-presend-validation") {
				return fmt.Errorf("give --presend-validation or --no-presend-validation, not both")
			}
			var settings []func(*provisioning.Settings)
			if f.Changed("presend-validation") {
				settings = append(settings, func(s *provisioning.Settings) { s.NoPresendValidation = !presend })
			}
			if f.Changed("no-presend-validation") {
				settings = append(settings, func(s *provisioning.Settings) { s.NoPresendValidation = noPresend })
			}
			if f.Changed("on-source-delete") {
				settings = append(settings, func(s *provisioning.Settings) { s.OnSourceDelete = onDelete })
			}
			if f.Changed("skip-out-of-scope-deletions") {
				settings = append(settings, func(s *provisioning.Settings) { s.SkipOutOfScopeDeletions = skipOOS })
			}
			if f.Changed("delete-threshold") {
				settings = append(settings, func(s *provisioning.Settings) { s.DeleteThreshold = threshold })
			}
			if f.Changed("delete-threshold-percent") {
				settings = append(settings, func(s *provisioning.Settings) { s.DeleteThresholdPercent = thresholdPct })
			}
			if f.Changed("rate-limit") {
				settings = append(settings, func(s *provisioning.Settings) { s.RateLimit = rate })
			}
			if f.Changed("concurrency") {
				settings = append(settings, func(s *provisioning.Settings) { s.Concurrency = concurrency })
			}
			if len(settings) > 0 {
				u.Settings = func(s *provisioning.Settings) {
					for _, fn := range settings {
						fn(s)
					}
				}
			}
			ev := appEvent(cmd.Context(), "UpdateApplication", false)
			x, err := a.Prov.UpdateApp(cmd.Context(), args[0], u, ev)
			if err != nil {
				recordAppFailure(cmd.Context(), a, ev, err)
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), toAppJSON(x, ""))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "updated application %s (schema version %d)\n", x.Name, x.SchemaVersion)
			return nil
		}),
	}
	f := c.Flags()
	f.StringVar(&url, "scim-url", "", "the target's SCIM base URL")
	f.StringVar(&tokenFile, "token-file", "", `file holding a new bearer token ("-": stdin)`)
	f.StringVar(&profile, "target-profile", "", "generic or aws-identity-center")
	f.StringVar(&scope, "scope", "", "assigned or all (a scope change makes the next cycle re-evaluate everything)")
	f.Var(&interval, "interval", "cycle interval, e.g. 5m or 30s")
	f.BoolVar(&enabled, "enabled", true, "whether the scheduler runs the application's cycles")
	f.BoolVar(&presend, "presend-validation", true, "check objects against the target's /Schemas and profile before sending")
	f.BoolVar(&noPresend, "no-presend-validation", false, "send objects even when pre-send validation would stop them (the log then carries the target's own error)")
	f.StringVar(&onDelete, "on-source-delete", "", "what a source deletion does to the target object: delete, disable or none")
	f.BoolVar(&skipOOS, "skip-out-of-scope-deletions", false, "leave objects that leave the scope as they are instead of disabling them")
	f.IntVar(&threshold, "delete-threshold", 0, "most disables+deletes per cycle before they are staged (0: default 500, -1: off)")
	f.IntVar(&thresholdPct, "delete-threshold-percent", 0, "most disables+deletes per cycle as a percentage of provisioned objects (0: default 20, -1: off)")
	f.Float64Var(&rate, "rate-limit", 0, "requests per second to the target (0: default 25, -1: unlimited); lowered on 429 and raised slowly again")
	f.IntVar(&concurrency, "concurrency", 0, "requests in flight to the target (0: default 4)")
	return c
}

func appDeleteCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete an application and its state (nothing is removed from the target)",
		Args:  cobra.ExactArgs(1),
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			ev := appEvent(cmd.Context(), "DeleteApplication", false)
			if err := a.Prov.DeleteApp(cmd.Context(), args[0], ev); err != nil {
				recordAppFailure(cmd.Context(), a, ev, err)
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted application %s\n", args[0])
			return nil
		}),
	}
}

func appTestCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "test NAME",
		Short: "Test the connection the way Entra does (filter on a random value, expect 200 and an empty list) and diagnose failures",
		Args:  cobra.ExactArgs(1),
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			ev := appEvent(cmd.Context(), "TestConnection", true)
			d, err := a.Prov.Test(cmd.Context(), args[0], ev)
			if err != nil {
				recordAppFailure(cmd.Context(), a, ev, err)
				return err
			}
			a.Audit.Record(cmd.Context(), ev)
			if g.json {
				out := map[string]any{"ok": d.OK, "code": d.Code, "summary": d.Summary, "detail": d.Detail, "recommendation": d.Recommendation, "notes": d.Notes}
				var checks []map[string]any
				for _, c := range d.Checks {
					checks = append(checks, map[string]any{"name": c.Name, "method": c.Method, "url": c.URL, "ok": c.OK, "status": c.Status, "code": c.Code, "ms": c.Duration.Milliseconds()})
				}
				out["checks"] = nonNilMaps(checks)
				if err := printJSON(cmd.OutOrStdout(), out); err != nil {
					return err
				}
			} else {
				w := cmd.OutOrStdout()
				for _, c := range d.Checks {
					mark := "ok"
					if !c.OK {
						mark = "FAILED " + c.Code
					}
					fmt.Fprintf(w, "  %-7s %s %s -> %d (%s, %dms)\n", c.Name, c.Method, c.URL, c.Status, mark, c.Duration.Milliseconds())
				}
				if d.OK {
					fmt.Fprintf(w, "OK: %s\n", d.Summary)
				} else {
					fmt.Fprintf(w, "FAILED %s: %s\n", d.Code, d.Summary)
					if d.Detail != "" {
						fmt.Fprintf(w, "  detail: %s\n", d.Detail)
					}
					if d.Recommendation != "" {
						fmt.Fprintf(w, "  what to do: %s\n", d.Recommendation)
					}
				}
				for _, n := range d.Notes {
					fmt.Fprintf(w, "  note: %s\n", n)
				}
			}
			if !d.OK {
				return fmt.Errorf("test connection failed: %s", d.Code)
			}
			return nil
		}),
	}
}

func appAssignCmd(g *globals, assign bool) *cobra.Command {
	var user, group, role string
	use, short, name := "assign NAME", "Put a user or a group (its members, nested groups too) in the application's scope", "AssignToApplication"
	if !assign {
		use, short, name = "unassign NAME", "Remove an assignment; the next cycle disables what leaves the scope", "UnassignFromApplication"
	}
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			if (user == "") == (group == "") {
				return fmt.Errorf("give exactly one of --user or --group")
			}
			typ, ref := provisioning.TypeUser, user
			if group != "" {
				typ, ref = provisioning.TypeGroup, group
			}
			ev := appEvent(cmd.Context(), name, false)
			var as provisioning.Assignment
			var err error
			if assign {
				as, err = a.Prov.AssignWithRole(cmd.Context(), args[0], typ, ref, role, ev)
			} else {
				as, err = a.Prov.Unassign(cmd.Context(), args[0], typ, ref, ev)
			}
			if err != nil {
				recordAppFailure(cmd.Context(), a, ev, err)
				return err
			}
			if g.json {
				out := map[string]any{"application": args[0], "type": as.ObjectType, "id": as.ObjectID, "name": as.Display, "assigned": assign}
				if as.Role != "" {
					out["role"] = as.Role
				}
				return printJSON(cmd.OutOrStdout(), out)
			}
			verb := "assigned"
			if !assign {
				verb = "unassigned"
			}
			withRole := ""
			if as.Role != "" {
				withRole = " with role " + as.Role
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s %s (%s)%s %s application %s\n", verb, strings.ToLower(as.ObjectType), as.Display, as.ObjectID, withRole, map[bool]string{true: "to", false: "from"}[assign], args[0])
			return nil
		}),
	}
	c.Flags().StringVar(&user, "user", "", "user id or userName")
	c.Flags().StringVar(&group, "group", "", "group id or displayName")
	if assign {
		c.Flags().StringVar(&role, "role", "", "app role the assignment grants to the user (or to every member of the group), for SingleAppRoleAssignment / AppRoleAssignmentsComplex mappings")
	}
	return c
}

func appMappingsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "mappings", Short: "Attribute mappings and scoping filters as a YAML document"}
	export := &cobra.Command{
		Use:   "export NAME",
		Short: "Print the mappings and scoping filters as YAML",
		Args:  cobra.ExactArgs(1),
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			b, err := a.Prov.ExportSchema(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		}),
	}
	var file string
	imp := &cobra.Command{
		Use:   "import NAME --file FILE",
		Short: "Validate and load a mappings document (expressions compiled, target attributes checked); the next cycle re-evaluates everything",
		Args:  cobra.ExactArgs(1),
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			var b []byte
			var err error
			if file == "-" {
				b, err = io.ReadAll(io.LimitReader(os.Stdin, 4<<20))
			} else {
				b, err = os.ReadFile(file)
			}
			if err != nil {
				return err
			}
			ev := appEvent(cmd.Context(), "UpdateAttributeMappings", false)
			x, warnings, err := a.Prov.ImportSchema(cmd.Context(), args[0], b, ev)
			for _, w := range warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
			}
			if err != nil {
				recordAppFailure(cmd.Context(), a, ev, err)
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "loaded %d user and %d group mappings into %s (schema version %d); the next cycle re-evaluates every object\n",
				len(x.Schema.Users.Mappings), len(x.Schema.Groups.Mappings), x.Name, x.SchemaVersion)
			return nil
		}),
	}
	imp.Flags().StringVar(&file, "file", "", `YAML file ("-": stdin)`)
	imp.MarkFlagRequired("file")
	var m provisioning.Mapping
	var groups bool
	set := &cobra.Command{
		Use:   "set NAME --target ATTR --type direct|constant|expression --source SRC",
		Short: "Add or replace one mapping (by target attribute); validated like an import",
		Example: `  gatehouse app mappings set aws --target name.givenName --type direct --source name.givenName --default Unknown
  gatehouse app mappings set aws --target displayName --type expression --source 'Join(" ", [name.givenName], [name.familyName])'
  gatehouse app mappings set aws --target userName --type direct --source userName --match 2`,
		Args: cobra.ExactArgs(1),
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			typ := provisioning.TypeUser
			if groups {
				typ = provisioning.TypeGroup
			}
			ev := appEvent(cmd.Context(), "UpdateAttributeMappings", false)
			x, err := a.Prov.SetMapping(cmd.Context(), args[0], typ, m, ev)
			if err != nil {
				recordAppFailure(cmd.Context(), a, ev, err)
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s mapping of %s set (schema version %d); the next cycle re-evaluates every object\n", strings.ToLower(typ), m.Target, x.SchemaVersion)
			return nil
		}),
	}
	sf := set.Flags()
	sf.StringVar(&m.Target, "target", "", "target attribute, e.g. name.givenName or emails[type eq \"work\"].value")
	sf.StringVar(&m.Type, "type", provisioning.MapDirect, "direct, constant or expression")
	sf.StringVar(&m.Source, "source", "", "source attribute (direct), value (constant) or expression")
	sf.StringVar(&m.Default, "default", "", "value used when the mapped value is empty")
	sf.StringVar(&m.Apply, "apply", provisioning.ApplyAlways, "always or on-create")
	sf.IntVar(&m.Match, "match", 0, "matching precedence (1 first; 0: not a matching attribute)")
	sf.BoolVar(&groups, "groups", false, "a group mapping (default: users)")
	set.MarkFlagRequired("target")
	var rmTarget string
	var rmGroups bool
	remove := &cobra.Command{
		Use:   "remove NAME --target ATTR",
		Short: "Remove the mapping of a target attribute",
		Args:  cobra.ExactArgs(1),
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			typ := provisioning.TypeUser
			if rmGroups {
				typ = provisioning.TypeGroup
			}
			ev := appEvent(cmd.Context(), "UpdateAttributeMappings", false)
			x, err := a.Prov.RemoveMapping(cmd.Context(), args[0], typ, rmTarget, ev)
			if err != nil {
				recordAppFailure(cmd.Context(), a, ev, err)
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s mapping of %s removed (schema version %d)\n", strings.ToLower(typ), rmTarget, x.SchemaVersion)
			return nil
		}),
	}
	remove.Flags().StringVar(&rmTarget, "target", "", "target attribute")
	remove.Flags().BoolVar(&rmGroups, "groups", false, "a group mapping (default: users)")
	remove.MarkFlagRequired("target")
	cmd.AddCommand(export, imp, set, remove)
	return cmd
}

func appProvisionCmd(g *globals) *cobra.Command {
	var dry, restart bool
	var user string
	wait := config.Duration(2 * time.Minute)
	c := &cobra.Command{
		Use:   "provision NAME",
		Short: "Run a cycle now (--dry-run prints the plan and sends nothing; --user provisions one user and prints each step)",
		Args:  cobra.ExactArgs(1),
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			w := cmd.OutOrStdout()
			verbose := dry || user != ""
			opts := provisioning.RunOptions{Trigger: "cli", DryRun: dry, Restart: restart, User: user}
			if verbose && !g.json {
				opts.OnEntry = func(e provisioning.LogEntry) { printEntry(w, e, user != "") }
			}
			res, err := a.Prov.Provision(cmd.Context(), args[0], opts)
			// A scheduled cycle (the server's, or another replica's) holds the
			// lease: wait for it to finish, then run ours.
			deadline := time.Now().Add(time.Duration(wait))
			for errors.Is(err, provisioning.ErrBusy) && time.Now().Before(deadline) && !opts.DryRun {
				select {
				case <-cmd.Context().Done():
					return cmd.Context().Err()
				case <-time.After(250 * time.Millisecond):
				}
				res, err = a.Prov.Provision(cmd.Context(), args[0], opts)
			}
			if errors.Is(err, provisioning.ErrBusy) {
				return fault.New(fault.Precondition, "application", "%s", err.Error())
			}
			if res == nil {
				return err
			}
			if g.json {
				out := map[string]any{"cycle": cycleJSON(res.Cycle), "staged": res.Staged}
				if verbose {
					out["entries"] = res.Entries
				}
				if dry {
					var ws []string
					for _, x := range res.Writes {
						ws = append(ws, x.String())
					}
					out["writes"] = ws
				}
				if perr := printJSON(w, out); perr != nil {
					return perr
				}
				return err
			}
			if dry {
				fmt.Fprintf(w, "\ndry run: %d requests would be sent:\n", len(res.Writes))
				for _, x := range res.Writes {
					fmt.Fprintf(w, "  %s\n", x)
				}
			}
			printCycle(w, res.Cycle)
			if res.Staged > 0 {
				fmt.Fprintf(w, "%d disables/deletes staged: review with gatehouse app status %s, then gatehouse app approve-deletes %s or reject-deletes %s\n", res.Staged, args[0], args[0], args[0])
			}
			if !verbose && res.Cycle.Counts[provisioning.ActionCreate+"/"+provisioning.StatusFailure]+failures(res.Cycle) > 0 {
				fmt.Fprintf(w, "failures: gatehouse app logs %s --status failure --cycle %s\n", args[0], res.Cycle.ID)
			} else if !verbose && err == nil {
				// Objects that failed in an earlier cycle (often the scheduler's)
				// wait for their retry; "nothing to do" alone would hide them.
				if st, serr := a.Prov.Status(cmd.Context(), args[0], 0); serr == nil && len(st.Escrows) > 0 {
					fmt.Fprintf(w, "  %s failed earlier and will be retried (or now: gatehouse app provision %s --user NAME); why: gatehouse app logs %s --status failure\n",
						plural(len(st.Escrows), "object"), args[0], args[0])
				}
			}
			return err
		}),
	}
	c.Flags().BoolVar(&dry, "dry-run", false, "plan and print (create/update/disable/delete with attribute old -> new); send nothing, store nothing")
	c.Flags().BoolVar(&restart, "restart", false, "clear the state (watermark, escrows, quarantine, links) and match everything again")
	c.Flags().StringVar(&user, "user", "", "provision one user now (id or userName) and print each step")
	c.Flags().Var(&wait, "wait", "how long to wait for a running cycle of the application to finish (default 2m)")
	return c
}

func failures(c provisioning.Cycle) int {
	n := 0
	for k, v := range c.Counts {
		if strings.HasSuffix(k, "/"+provisioning.StatusFailure) {
			n += v
		}
	}
	return n
}

// printEntry prints a log entry with its steps (on demand) or its changes (dry run).
func printEntry(w io.Writer, e provisioning.LogEntry, steps bool) {
	fmt.Fprintln(w, e.Summary())
	if steps {
		for _, s := range e.Steps {
			fmt.Fprintf(w, "  %-9s %-8s %s\n", s.Name, s.Status, s.Detail)
		}
	}
	for _, m := range e.ModifiedText() {
		fmt.Fprintf(w, "    %s\n", m)
	}
	if e.Status == provisioning.StatusFailure {
		if e.Response != nil && e.Response.Status != 0 {
			fmt.Fprintf(w, "  target answered %d %s: %s\n", e.Response.Status, e.Response.ScimType, e.Response.Detail)
		}
		fmt.Fprintf(w, "  error %s: %s\n", e.ErrorCode, e.Recommendation)
	}
}

func cycleJSON(c provisioning.Cycle) map[string]any {
	m := map[string]any{"id": c.ID, "kind": c.Kind, "trigger": c.Trigger, "dryRun": c.DryRun, "status": c.Status, "started": c.Started,
		"watermarkFrom": c.WatermarkFrom, "watermarkTo": c.WatermarkTo, "counts": c.Counts, "requests": c.Requests}
	if !c.Ended.IsZero() {
		m["ended"] = c.Ended
		m["durationMs"] = c.Ended.Sub(c.Started).Milliseconds()
	}
	if c.Error != "" {
		m["error"] = c.Error
	}
	if c.Progress != "" {
		m["progress"] = c.Progress
	}
	return m
}

func countsText(counts map[string]int) string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	if len(parts) == 0 {
		return "nothing to do"
	}
	return strings.Join(parts, ", ")
}

func printCycle(w io.Writer, c provisioning.Cycle) {
	fmt.Fprintf(w, "cycle %s (%s): %s in %s, %d requests\n", c.ID, c.Kind, c.Status, c.Ended.Sub(c.Started).Round(time.Millisecond), c.Requests)
	fmt.Fprintf(w, "  %s\n", countsText(c.Counts))
	if c.Error != "" {
		fmt.Fprintf(w, "  note: %s\n", c.Error)
	}
}

func appLogsCmd(g *globals) *cobra.Command {
	var status, user, cycle, action, format, exportDir string
	var limit int
	var all bool
	c := &cobra.Command{
		Use:   "logs NAME",
		Short: "Provisioning logs: one entry per object per cycle, newest first, with steps, changes, the target's answer and a recommendation",
		Args:  cobra.ExactArgs(1),
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			x, err := a.Prov.App(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			q := provisioning.LogQuery{AppID: x.ID, CycleID: cycle, Source: user, Limit: limit}
			if status != "" {
				q.Status = canonical(status, provisioning.StatusSuccess, provisioning.StatusFailure, provisioning.StatusSkipped, provisioning.StatusWarning)
				if q.Status == "" {
					return fault.New(fault.InvalidValue, "status", "status %q is not one of success, failure, skipped, warning", status)
				}
			}
			if action != "" {
				q.Action = canonical(action, provisioning.ActionCreate, provisioning.ActionUpdate, provisioning.ActionDisable, provisioning.ActionDelete,
					provisioning.ActionStagedDelete, provisioning.ActionSkip, provisioning.ActionOther)
				if q.Action == "" {
					return fault.New(fault.InvalidValue, "action", "action %q is not one of create, update, disable, delete, stageddelete, skip, other", action)
				}
			}
			w := cmd.OutOrStdout()
			if exportDir != "" {
				if format != "" {
					return fault.New(fault.InvalidValue, "export-dir", "--export-dir writes Entra's three CSV files; it does not take --format")
				}
				return exportLogs(cmd, g, a, x, q, exportDir)
			}
			switch format {
			case "", "csv", "jsonl":
			default:
				return fault.New(fault.InvalidValue, "format", "format %q is not one of jsonl, csv (for Entra's three CSV files use --export-dir DIR)", format)
			}
			var csvw *provisioning.CSVWriter
			if format == "csv" {
				csvw = provisioning.NewCSVWriter(w)
				csvw.Write([]string{"time", "cycleId", "changeId", "objectType", "sourceId", "sourceName", "targetId", "action", "status", "errorCode", "httpStatus", "scimType", "detail", "reason", "modifiedProperties", "recommendation"})
			}
			var entries []provisioning.LogEntry
			for {
				page, next, err := a.DB.Logs(cmd.Context(), q)
				if err != nil {
					return err
				}
				for _, e := range page {
					switch {
					case format == "jsonl":
						if err := printJSONLine(w, e); err != nil {
							return err
						}
					case csvw != nil:
						var st int
						var scimType, detail string
						if e.Response != nil {
							st, scimType, detail = e.Response.Status, e.Response.ScimType, e.Response.Detail
						}
						csvw.Write([]string{e.Time.Format(time.RFC3339Nano), e.CycleID, e.ID, e.ObjectType, e.SourceID, e.SourceName, e.TargetID, e.Action, e.Status,
							e.ErrorCode, strconv.Itoa(st), scimType, detail, e.Reason, strings.Join(e.ModifiedText(), "; "), e.Recommendation})
					default:
						entries = append(entries, e)
					}
				}
				if next == "" || !all {
					break
				}
				q.NextToken = next
			}
			if csvw != nil {
				csvw.Flush()
				return csvw.Error()
			}
			if format == "jsonl" {
				return nil
			}
			if g.json {
				if entries == nil {
					entries = []provisioning.LogEntry{}
				}
				return printJSON(w, entries)
			}
			if len(entries) == 0 {
				fmt.Fprintln(w, "(no entries)")
				return nil
			}
			for _, e := range entries {
				fmt.Fprintf(w, "%s  cycle %s\n", e.Time.Format(time.RFC3339), e.CycleID)
				fmt.Fprintf(w, "  %s\n", e.Summary())
				for _, s := range e.Steps {
					fmt.Fprintf(w, "    %-9s %-8s %s\n", s.Name, s.Status, s.Detail)
				}
				for _, m := range e.ModifiedText() {
					fmt.Fprintf(w, "    changed   %s\n", m)
				}
				if e.Response != nil && e.Response.Status != 0 {
					fmt.Fprintf(w, "    target    HTTP %d %s: %s\n", e.Response.Status, e.Response.ScimType, e.Response.Detail)
				}
				if e.ErrorCode != "" {
					fmt.Fprintf(w, "    error     %s\n", e.ErrorCode)
					fmt.Fprintf(w, "    what to do: %s\n", e.Recommendation)
				}
			}
			return nil
		}),
	}
	f := c.Flags()
	f.StringVar(&status, "status", "", "success, failure, skipped or warning")
	f.StringVar(&user, "user", "", "source object id or name (userName / displayName)")
	f.StringVar(&cycle, "cycle", "", "cycle id")
	f.StringVar(&action, "action", "", "create, update, disable, delete, stageddelete, skip, other")
	f.IntVar(&limit, "limit", 50, "entries per page (at most 1000)")
	f.BoolVar(&all, "all", false, "every page, not just the newest")
	f.StringVar(&format, "format", "", "export format: jsonl or csv (streams every matching entry with --all)")
	f.StringVar(&exportDir, "export-dir", "", "write every matching entry as Entra's CSV download: "+provisioning.ExportLogsFile+", "+
		provisioning.ExportStepsFile+" and "+provisioning.ExportModifiedFile+" in DIR, joined by changeId")
	return c
}

// exportLogs writes every entry q selects as Entra's three CSV files.
func exportLogs(cmd *cobra.Command, g *globals, a *app.App, x provisioning.Application, q provisioning.LogQuery, dir string) error {
	ex, err := provisioning.CreateLogExport(dir)
	if err != nil {
		return err
	}
	if d, err := a.Prov.Directory(cmd.Context(), x); err == nil {
		ex.SourceSystem = "Gatehouse directory " + d.Name
	}
	ex.TargetSystem = x.TargetURL
	q.Limit = 1000 // every matching entry, in the largest pages the store serves
	for {
		page, next, err := a.DB.Logs(cmd.Context(), q)
		if err != nil {
			ex.Close()
			return err
		}
		for _, e := range page {
			if err := ex.Add(e); err != nil {
				ex.Close()
				return err
			}
		}
		if next == "" {
			break
		}
		q.NextToken = next
	}
	if err := ex.Close(); err != nil {
		return err
	}
	if g.json {
		return printJSON(cmd.OutOrStdout(), map[string]any{"directory": dir, "entries": ex.Entries, "steps": ex.Steps, "modifiedProperties": ex.Modified,
			"files": []string{provisioning.ExportLogsFile, provisioning.ExportStepsFile, provisioning.ExportModifiedFile}})
	}
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %d log entries to %s: %s, %s (%d steps), %s (%d modified properties); rows join by changeId\n",
		ex.Entries, dir, provisioning.ExportLogsFile, provisioning.ExportStepsFile, ex.Steps, provisioning.ExportModifiedFile, ex.Modified)
	return nil
}

func canonical(v string, options ...string) string {
	for _, o := range options {
		if strings.EqualFold(v, o) {
			return o
		}
	}
	return ""
}

func printJSONLine(w io.Writer, v any) error {
	enc := newCompactEncoder(w)
	return enc.Encode(v)
}

func appStatusCmd(g *globals) *cobra.Command {
	var n int
	c := &cobra.Command{
		Use:   "status NAME",
		Short: "Last cycles (counts by action and status, duration, requests), next run, quarantine, staged deletes, escrows",
		Args:  cobra.ExactArgs(1),
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			st, err := a.Prov.Status(cmd.Context(), args[0], n)
			if err != nil {
				return err
			}
			if g.json {
				var cycles []map[string]any
				for _, c := range st.Cycles {
					cycles = append(cycles, cycleJSON(c))
				}
				out := map[string]any{"application": st.App.Name, "enabled": st.App.Enabled, "watermark": st.State.Watermark,
					"cycles": nonNilMaps(cycles), "staged": st.Staged, "escrows": st.Escrows, "linked": st.Linked, "deprovisioned": st.Disabled}
				if !st.State.NextRun.IsZero() {
					out["nextRun"] = st.State.NextRun
				}
				if st.State.Quarantine != nil {
					out["quarantine"] = st.State.Quarantine
				}
				if st.State.Disabled != nil && !st.App.Enabled {
					out["disabled"] = st.State.Disabled
				}
				if st.State.LeaseOwner != "" && st.State.LeaseExpires.After(time.Now()) {
					out["runningOn"] = st.State.LeaseOwner
				}
				return printJSON(cmd.OutOrStdout(), out)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "application %s: %s and %s provisioned, %s deprovisioned\n", st.App.Name,
				plural(st.Linked[provisioning.TypeUser], "user"), plural(st.Linked[provisioning.TypeGroup], "group"), plural(st.Disabled[provisioning.TypeUser], "user"))
			switch {
			case !st.App.Enabled && st.State.Disabled != nil && st.State.Disabled.Reason == provisioning.DisabledQuarantine:
				d := st.State.Disabled
				fmt.Fprintf(w, "state: DISABLED on %s after too long in quarantine: %s\n", d.At.Format(time.RFC3339), d.Detail)
				fmt.Fprintf(w, "  fix the cause, then gatehouse app start %s (clears the quarantine and runs a cycle)\n", st.App.Name)
			case !st.App.Enabled && st.State.Disabled != nil:
				fmt.Fprintf(w, "state: disabled on %s (%s) (gatehouse app start %s)\n", st.State.Disabled.At.Format(time.RFC3339), st.State.Disabled.Detail, st.App.Name)
			case !st.App.Enabled:
				fmt.Fprintf(w, "state: disabled (gatehouse app start %s)\n", st.App.Name)
			case st.State.Quarantine != nil:
				q := st.State.Quarantine
				fmt.Fprintf(w, "state: QUARANTINED since %s (%s): %s; next attempt %s\n", q.Began().Format(time.RFC3339), q.Reason, q.Detail, q.NextAttempt.Format(time.RFC3339))
				if a.Prov.QuarantineDisableAfter > 0 {
					fmt.Fprintf(w, "  disabled automatically after %s in quarantine (on %s) unless a cycle succeeds first\n",
						config.Duration(a.Prov.QuarantineDisableAfter), q.Began().Add(a.Prov.QuarantineDisableAfter).Format(time.RFC3339))
				}
			default:
				fmt.Fprintln(w, "state: active")
			}
			if st.State.RunRequested {
				fmt.Fprintln(w, "next run: as soon as the scheduler picks it up (requested)")
			} else if !st.State.NextRun.IsZero() {
				fmt.Fprintf(w, "next run: %s (every %s)\n", st.State.NextRun.Format(time.RFC3339), config.Duration(st.App.Interval))
			} else {
				fmt.Fprintln(w, "next run: never run yet")
			}
			fmt.Fprintf(w, "watermark: change %d\n", st.State.Watermark)
			if len(st.Staged) > 0 {
				fmt.Fprintf(w, "STAGED: %d disables/deletes wait for gatehouse app approve-deletes %s or reject-deletes %s:\n", len(st.Staged), st.App.Name, st.App.Name)
				for i, s := range st.Staged {
					if i == 20 {
						fmt.Fprintf(w, "  ... and %d more\n", len(st.Staged)-20)
						break
					}
					fmt.Fprintf(w, "  %s %s %s: %s\n", s.Action, strings.ToLower(s.ObjectType), s.Display, s.Reason)
				}
			}
			if len(st.Escrows) > 0 {
				fmt.Fprintf(w, "escrow: %d objects wait for a retry (gatehouse app logs %s --status failure)\n", len(st.Escrows), st.App.Name)
			}
			if len(st.Cycles) == 0 {
				return nil
			}
			fmt.Fprintln(w)
			var rows [][]string
			for _, c := range st.Cycles {
				dur := "running"
				if !c.Ended.IsZero() {
					dur = c.Ended.Sub(c.Started).Round(time.Millisecond).String()
				}
				status := c.Status
				if c.Status == provisioning.CycleRunning && c.Progress != "" {
					status += " (" + c.Progress + ")"
				}
				rows = append(rows, []string{c.ID, c.Started.Format(time.RFC3339), c.Kind, status, dur, strconv.Itoa(c.Requests), countsText(c.Counts)})
			}
			return printTable(w, []string{"CYCLE", "STARTED", "KIND", "STATUS", "DURATION", "REQUESTS", "OBJECTS"}, rows)
		}),
	}
	c.Flags().IntVar(&n, "cycles", 5, "how many recent cycles to show")
	return c
}

func appDeletesCmd(g *globals, approve bool) *cobra.Command {
	use, short, name := "approve-deletes NAME", "Let the next cycle send the disables and deletes staged by the deletion threshold", "ApproveDeletes"
	if !approve {
		use, short, name = "reject-deletes NAME", "Drop the staged disables and deletes: the target objects stay as they are and are no longer managed", "RejectDeletes"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			ev := appEvent(cmd.Context(), name, false)
			var n int
			var err error
			if approve {
				n, err = a.Prov.ApproveDeletes(cmd.Context(), args[0], ev)
			} else {
				n, err = a.Prov.RejectDeletes(cmd.Context(), args[0], ev)
			}
			if err != nil {
				recordAppFailure(cmd.Context(), a, ev, err)
				return err
			}
			if approve {
				fmt.Fprintf(cmd.OutOrStdout(), "approved %d staged disables/deletes of %s; the next cycle sends them (gatehouse app provision %s to run it now)\n", n, args[0], args[0])
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "rejected %d staged disables/deletes of %s; those target objects are left alone\n", n, args[0])
			}
			return nil
		}),
	}
}

func appStartCmd(g *globals, start bool) *cobra.Command {
	use, short, name := "start NAME", "Enable an application: clears its quarantine (and why it was disabled) and asks for a cycle now", "EnableApplication"
	if !start {
		use, short, name = "pause NAME", "Disable an application: the scheduler runs no cycle until start; its state is kept", "DisableApplication"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Long: short + `.
An application that stays in quarantine longer than provisioning.quarantine_disable_after
(default 28 days, Entra's four weeks) is disabled by the engine; gatehouse app status says so,
and start enables it again once the cause is fixed. Start keeps the watermark, links and
escrows (gatehouse app provision NAME --restart clears them).`,
		Args: cobra.ExactArgs(1),
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			ev := appEvent(cmd.Context(), name, false)
			var x provisioning.Application
			var err error
			if start {
				x, err = a.Prov.Start(cmd.Context(), args[0], ev)
			} else {
				x, err = a.Prov.Pause(cmd.Context(), args[0], ev)
			}
			if err != nil {
				recordAppFailure(cmd.Context(), a, ev, err)
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"application": x.Name, "enabled": x.Enabled})
			}
			if start {
				fmt.Fprintf(cmd.OutOrStdout(), "started application %s: quarantine cleared, a cycle is requested (the server runs it; or now: gatehouse app provision %s)\n", x.Name, x.Name)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "paused application %s: no cycles until gatehouse app start %s\n", x.Name, x.Name)
			}
			return nil
		}),
	}
}

func newCompactEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}
