package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/directory/filter"
	"github.com/gatehouse-id/gatehouse/internal/directory/patch"
	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/fault"
	"github.com/gatehouse-id/gatehouse/internal/scim"
)

// userFlags are the attributes settable from the command line. Anything
// else goes through --file (a SCIM User JSON object).
type userFlags struct {
	userName, givenName, familyName, displayName, email, externalID, title string
	active                                                                 bool
	file                                                                   string
}

func (f *userFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.userName, "user-name", "", "userName (unique, case-insensitive)")
	fl.StringVar(&f.givenName, "given-name", "", "name.givenName")
	fl.StringVar(&f.familyName, "family-name", "", "name.familyName")
	fl.StringVar(&f.displayName, "display-name", "", "displayName")
	fl.StringVar(&f.email, "email", "", "primary work email")
	fl.StringVar(&f.externalID, "external-id", "", "externalId (the provisioning client's id)")
	fl.StringVar(&f.title, "title", "", "title")
	fl.BoolVar(&f.active, "active", true, "whether the user is active")
	fl.StringVar(&f.file, "file", "", "a SCIM User JSON object to start from (flags override its values)")
}

// object builds the SCIM object for create from --file and the set flags.
func (f *userFlags) object(cmd *cobra.Command) (map[string]any, error) {
	obj := map[string]any{}
	if f.file != "" {
		b, err := os.ReadFile(f.file)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &obj); err != nil {
			return nil, fault.New(fault.InvalidSyntax, "file", "%s is not a JSON object: %v", f.file, err)
		}
	}
	fl := cmd.Flags()
	set := func(flag, key string, v any) {
		if fl.Changed(flag) {
			obj[key] = v
		}
	}
	set("user-name", "userName", f.userName)
	set("display-name", "displayName", f.displayName)
	set("external-id", "externalId", f.externalID)
	set("title", "title", f.title)
	set("active", "active", f.active)
	if fl.Changed("given-name") || fl.Changed("family-name") {
		name, _ := obj["name"].(map[string]any)
		if name == nil {
			name = map[string]any{}
		}
		if fl.Changed("given-name") {
			name["givenName"] = f.givenName
		}
		if fl.Changed("family-name") {
			name["familyName"] = f.familyName
		}
		obj["name"] = name
	}
	if fl.Changed("email") {
		obj["emails"] = []any{map[string]any{"value": f.email, "type": "work", "primary": true}}
	}
	return obj, nil
}

// ops turns the set flags into PATCH replace operations for update.
func (f *userFlags) ops(cmd *cobra.Command) []patch.Op {
	fl := cmd.Flags()
	var ops []patch.Op
	add := func(flag, path string, v any) {
		if fl.Changed(flag) {
			ops = append(ops, patch.Op{Op: "replace", Path: path, Value: v, HasValue: true})
		}
	}
	add("user-name", "userName", f.userName)
	add("given-name", "name.givenName", f.givenName)
	add("family-name", "name.familyName", f.familyName)
	add("display-name", "displayName", f.displayName)
	add("external-id", "externalId", f.externalID)
	add("title", "title", f.title)
	add("active", "active", f.active)
	add("email", `emails[type eq "work"].value`, f.email)
	return ops
}

func dirFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVar(p, "directory", directory.DefaultDirectory, "directory")
}

// findUser resolves an id or a userName.
func findUser(ctx context.Context, a *app.App, d directory.Directory, ref string) (directory.User, error) {
	u, err := a.Dir.GetUser(ctx, d, ref)
	if err == nil || !fault.Is(err, fault.NotFound) {
		return u, err
	}
	q, _ := json.Marshal(ref)
	f, err := filter.Parse(schema.UserResource, "userName eq "+string(q))
	if err != nil {
		return u, err
	}
	page, err := a.Dir.ListUsers(ctx, d, directory.Query{Filter: f, Count: 1})
	if err != nil {
		return u, err
	}
	if len(page.Items) == 0 {
		return u, fault.New(fault.NotFound, "user", "no user with id or userName %q in directory %q", ref, d.Name)
	}
	return page.Items[0], nil
}

func renderer(a *app.App) *scim.Handler { return &scim.Handler{BaseURL: a.Cfg.BaseURL()} }

func userRow(u directory.User) []string {
	email := ""
	if list, ok := u.Attrs["emails"].([]any); ok && len(list) > 0 {
		if m, ok := list[0].(map[string]any); ok {
			email, _ = m["value"].(string)
		}
	}
	return []string{u.ID, u.UserName, u.DisplayName, email, strconv.FormatBool(u.Active), u.ExternalID}
}

var userHeader = []string{"ID", "USERNAME", "DISPLAY NAME", "EMAIL", "ACTIVE", "EXTERNAL ID"}

func userCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage users (same validation and audit as SCIM)"}
	var dirName string
	var cf userFlags
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a user",
		Args:  cobra.NoArgs,
		RunE: g.inDirectory(&dirName, func(cmd *cobra.Command, a *app.App, d directory.Directory, _ []string) error {
			obj, err := cf.object(cmd)
			if err != nil {
				return err
			}
			ev := event(cmd.Context(), audit.SourceDirectory, "CreateUser", false)
			ev.SetParameters(obj)
			u, err := a.Dir.CreateUser(cmd.Context(), d, obj, ev)
			if err != nil {
				recordFailure(cmd.Context(), a, d, ev, err)
				return err
			}
			return g.output(cmd.OutOrStdout(), renderer(a).UserJSON(u, nil), userHeader, [][]string{userRow(u)})
		}),
	}
	dirFlag(create, &dirName)
	cf.register(create)

	var listFilter string
	var count, start int
	list := &cobra.Command{
		Use:   "list",
		Short: "List users, optionally with a SCIM filter",
		Args:  cobra.NoArgs,
		RunE: g.inDirectory(&dirName, func(cmd *cobra.Command, a *app.App, d directory.Directory, _ []string) error {
			var err error
			q := directory.Query{Count: count, StartIndex: start}
			if listFilter != "" {
				if q.Filter, err = filter.Parse(schema.UserResource, listFilter); err != nil {
					return err
				}
			}
			page, err := a.Dir.ListUsers(cmd.Context(), d, q)
			if err != nil {
				return err
			}
			var out []any
			var rows [][]string
			for _, u := range page.Items {
				out = append(out, renderer(a).UserJSON(u, nil))
				rows = append(rows, userRow(u))
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"totalResults": page.Total, "Resources": nonNil(out)})
			}
			if err := g.output(cmd.OutOrStdout(), nil, userHeader, rows); err != nil {
				return err
			}
			if page.Total > len(rows) {
				fmt.Fprintf(cmd.OutOrStdout(), "(%d of %d; use --start-index and --count to page)\n", len(rows), page.Total)
			}
			return nil
		}),
	}
	dirFlag(list, &dirName)
	list.Flags().StringVar(&listFilter, "filter", "", `SCIM filter, e.g. 'userName sw "a"'`)
	list.Flags().IntVar(&count, "count", 100, "page size")
	list.Flags().IntVar(&start, "start-index", 1, "1-based index of the first user")

	show := &cobra.Command{
		Use:   "show ID|USERNAME",
		Short: "Show a user with its groups",
		Args:  cobra.ExactArgs(1),
		RunE: g.inDirectory(&dirName, func(cmd *cobra.Command, a *app.App, d directory.Directory, args []string) error {
			u, err := findUser(cmd.Context(), a, d, args[0])
			if err != nil {
				return err
			}
			groups, err := a.Dir.UserGroups(cmd.Context(), d, u.ID)
			if err != nil {
				return err
			}
			res := renderer(a).UserJSON(u, groups)
			if g.json {
				return printJSON(cmd.OutOrStdout(), res)
			}
			b, _ := json.MarshalIndent(res, "", "  ")
			fmt.Fprintln(cmd.OutOrStdout(), string(b))
			return nil
		}),
	}
	dirFlag(show, &dirName)

	var uf userFlags
	update := &cobra.Command{
		Use:   "update ID|USERNAME",
		Short: "Change attributes of a user (only the flags given)",
		Args:  cobra.ExactArgs(1),
		RunE: g.inDirectory(&dirName, func(cmd *cobra.Command, a *app.App, d directory.Directory, args []string) error {
			u, err := findUser(cmd.Context(), a, d, args[0])
			if err != nil {
				return err
			}
			ops := uf.ops(cmd)
			if len(ops) == 0 {
				return errors.New("nothing to update: give at least one attribute flag, e.g. --given-name Bob")
			}
			ev := event(cmd.Context(), audit.SourceDirectory, "PatchUser", false)
			ev.SetParameters(map[string]any{"id": u.ID, "Operations": ops})
			u, _, err = a.Dir.PatchUser(cmd.Context(), d, u.ID, ops, "", ev)
			if err != nil {
				recordFailure(cmd.Context(), a, d, ev, err)
				return err
			}
			return g.output(cmd.OutOrStdout(), renderer(a).UserJSON(u, nil), userHeader, [][]string{userRow(u)})
		}),
	}
	dirFlag(update, &dirName)
	uf.register(update)

	del := deleteCmd(g, &dirName, "user", "ID|USERNAME", "Delete a user and its memberships", "DeleteUser",
		func(ctx context.Context, a *app.App, d directory.Directory, ref string) (string, string, error) {
			u, err := findUser(ctx, a, d, ref)
			return u.ID, u.UserName, err
		},
		func(ctx context.Context, a *app.App, d directory.Directory, id string, ev *audit.Event, opt directory.DeleteOptions) error {
			return a.Dir.DeleteUser(ctx, d, id, "", ev, opt)
		})

	var importFile string
	imp := &cobra.Command{
		Use:   "import --file people.csv|people.json",
		Short: "Bulk-load users; reports each row's error and loads the rest",
		Long: `Loads users from a CSV file (header row naming columns: userName, givenName,
familyName, displayName, email, externalId, title, active, or any SCIM attribute
path such as name.middleName) or a JSON file (an array of SCIM User objects).`,
		Args: cobra.NoArgs,
		RunE: g.inDirectory(&dirName, func(cmd *cobra.Command, a *app.App, d directory.Directory, _ []string) error {
			rows, err := readPeople(importFile)
			if err != nil {
				return err
			}
			type rowResult struct {
				Row    int    `json:"row"`
				Status string `json:"status"`
				ID     string `json:"id,omitempty"`
				Error  string `json:"error,omitempty"`
			}
			var results []rowResult
			var table [][]string
			failed := 0
			for i, obj := range rows {
				ev := event(cmd.Context(), audit.SourceDirectory, "CreateUser", false)
				ev.SetParameters(obj)
				u, err := a.Dir.CreateUser(cmd.Context(), d, obj, ev)
				r := rowResult{Row: i + 1, Status: "created", ID: u.ID}
				if err != nil {
					recordFailure(cmd.Context(), a, d, ev, err)
					failed++
					r = rowResult{Row: i + 1, Status: "failed", Error: err.Error()}
					table = append(table, []string{strconv.Itoa(i + 1), "failed", r.Error})
				}
				results = append(results, r)
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"created": len(rows) - failed, "failed": failed, "rows": results})
			}
			if len(table) > 0 {
				printTable(cmd.OutOrStdout(), []string{"ROW", "STATUS", "ERROR"}, table)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d created, %d failed\n", len(rows)-failed, failed)
			if failed > 0 {
				return fmt.Errorf("%d of %d rows failed", failed, len(rows))
			}
			return nil
		}),
	}
	dirFlag(imp, &dirName)
	imp.Flags().StringVar(&importFile, "file", "", "CSV or JSON file")
	imp.MarkFlagRequired("file")
	cmd.AddCommand(create, list, show, update, del, imp)
	return cmd
}

// deleteCmd builds "user delete" and "group delete": find the principal,
// delete it (refused while access assignments name it, unless --cascade)
// and audit the outcome either way.
func deleteCmd(g *globals, dirName *string, noun, arg, short, eventName string,
	find func(ctx context.Context, a *app.App, d directory.Directory, ref string) (id, name string, err error),
	remove func(ctx context.Context, a *app.App, d directory.Directory, id string, ev *audit.Event, opt directory.DeleteOptions) error,
) *cobra.Command {
	var cascade bool
	cmd := &cobra.Command{
		Use:   "delete " + arg,
		Short: short + " (refused while access assignments name it, unless --cascade)",
		Args:  cobra.ExactArgs(1),
		RunE: g.inDirectory(dirName, func(cmd *cobra.Command, a *app.App, d directory.Directory, args []string) error {
			id, name, err := find(cmd.Context(), a, d, args[0])
			if err != nil {
				return err
			}
			ev := event(cmd.Context(), audit.SourceDirectory, eventName, false)
			ev.ResourceID, ev.ResourceName = id, name
			if err := remove(cmd.Context(), a, d, id, ev, directory.DeleteOptions{RefuseReferenced: !cascade}); err != nil {
				recordFailure(cmd.Context(), a, d, ev, err)
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s %s (%s)\n", noun, name, id)
			return nil
		}),
	}
	dirFlag(cmd, dirName)
	cmd.Flags().BoolVar(&cascade, "cascade", false, "also delete the access assignments that name the "+noun+" (one audit event each)")
	return cmd
}

// recordFailure writes the audit event of a rejected CLI action.
func recordFailure(ctx context.Context, a *app.App, d directory.Directory, ev *audit.Event, err error) {
	ev.Directory = d.ID
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

func nonNil(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}

// readPeople reads a CSV or JSON file of users into SCIM objects.
func readPeople(path string) ([]map[string]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if strings.EqualFold(filepath.Ext(path), ".json") {
		var list []map[string]any
		if err := json.NewDecoder(f).Decode(&list); err != nil {
			return nil, fault.New(fault.InvalidSyntax, "file", "%s must hold a JSON array of SCIM User objects: %v", path, err)
		}
		return list, nil
	}
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		return nil, fault.New(fault.InvalidSyntax, "file", "%s: reading the CSV header: %v", path, err)
	}
	var out []map[string]any
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fault.New(fault.InvalidSyntax, "file", "%s: %v", path, err)
		}
		out = append(out, csvObject(header, rec))
	}
	return out, nil
}

// csvObject maps a CSV row to a SCIM object: short column names for the
// common attributes, dotted paths for anything else.
func csvObject(header, rec []string) map[string]any {
	alias := map[string]string{"givenname": "name.givenName", "familyname": "name.familyName", "middlename": "name.middleName", "email": "emails"}
	obj := map[string]any{}
	for i, col := range header {
		if i >= len(rec) || rec[i] == "" {
			continue
		}
		key := strings.TrimSpace(col)
		if a, ok := alias[strings.ToLower(key)]; ok {
			key = a
		}
		v := rec[i]
		if key == "emails" {
			obj["emails"] = []any{map[string]any{"value": v, "type": "work", "primary": true}}
			continue
		}
		if top, sub, ok := strings.Cut(key, "."); ok {
			m, _ := obj[top].(map[string]any)
			if m == nil {
				m = map[string]any{}
			}
			m[sub] = v
			obj[top] = m
			continue
		}
		obj[key] = v
	}
	return obj
}
