package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/directory/filter"
	"github.com/gatehouse-id/gatehouse/internal/directory/patch"
	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// findGroup resolves an id or a displayName.
func findGroup(ctx context.Context, a *app.App, d directory.Directory, ref string) (directory.Group, error) {
	g, err := a.Dir.GetGroup(ctx, d, ref)
	if err == nil || !fault.Is(err, fault.NotFound) {
		return g, err
	}
	q, _ := json.Marshal(ref)
	f, err := filter.Parse(schema.GroupResource, "displayName eq "+string(q))
	if err != nil {
		return g, err
	}
	page, err := a.Dir.ListGroups(ctx, d, directory.Query{Filter: f, Count: 1})
	if err != nil {
		return g, err
	}
	if len(page.Items) == 0 {
		return g, fault.New(fault.NotFound, "group", "no group with id or displayName %q in directory %q", ref, d.Name)
	}
	return page.Items[0], nil
}

// findMember resolves a user (id or userName) or group (id or displayName).
func findMember(ctx context.Context, a *app.App, d directory.Directory, ref string) (string, string, error) {
	if u, err := findUser(ctx, a, d, ref); err == nil {
		return u.ID, u.UserName, nil
	} else if !fault.Is(err, fault.NotFound) {
		return "", "", err
	}
	g, err := findGroup(ctx, a, d, ref)
	if err != nil {
		return "", "", fault.New(fault.NotFound, "member", "no user or group %q in directory %q", ref, d.Name)
	}
	return g.ID, g.DisplayName, nil
}

func groupRow(g directory.Group, members int) []string {
	n := ""
	if members >= 0 {
		n = strconv.Itoa(members)
	}
	return []string{g.ID, g.DisplayName, g.ExternalID, n}
}

var groupHeader = []string{"ID", "DISPLAY NAME", "EXTERNAL ID", "MEMBERS"}

func groupCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "group", Short: "Manage groups and memberships (same validation and audit as SCIM)"}
	var dirName, externalID string
	var members []string
	create := &cobra.Command{
		Use:   "create DISPLAYNAME",
		Short: "Create a group",
		Args:  cobra.ExactArgs(1),
		RunE: g.inDirectory(&dirName, func(cmd *cobra.Command, a *app.App, d directory.Directory, args []string) error {
			obj := map[string]any{"displayName": args[0]}
			if externalID != "" {
				obj["externalId"] = externalID
			}
			var list []any
			for _, m := range members {
				id, _, err := findMember(cmd.Context(), a, d, m)
				if err != nil {
					return err
				}
				list = append(list, map[string]any{"value": id})
			}
			if list != nil {
				obj["members"] = list
			}
			ev := event(cmd.Context(), audit.SourceDirectory, "CreateGroup", false)
			ev.SetParameters(obj)
			grp, err := a.Dir.CreateGroup(cmd.Context(), d, obj, ev)
			if err != nil {
				recordFailure(cmd.Context(), a, d, ev, err)
				return err
			}
			ms, _ := a.Dir.Members(cmd.Context(), d, grp.ID)
			return g.output(cmd.OutOrStdout(), renderer(a).GroupJSON(grp, ms), groupHeader, [][]string{groupRow(grp, len(ms))})
		}),
	}
	dirFlag(create, &dirName)
	create.Flags().StringVar(&externalID, "external-id", "", "externalId")
	create.Flags().StringSliceVar(&members, "member", nil, "initial member (user id/userName or group id/displayName); repeatable")

	var count int
	list := &cobra.Command{
		Use:   "list",
		Short: "List groups",
		Args:  cobra.NoArgs,
		RunE: g.inDirectory(&dirName, func(cmd *cobra.Command, a *app.App, d directory.Directory, _ []string) error {
			page, err := a.Dir.ListGroups(cmd.Context(), d, directory.Query{Count: count, StartIndex: 1})
			if err != nil {
				return err
			}
			var out []any
			var rows [][]string
			for _, grp := range page.Items {
				ms, err := a.Dir.Members(cmd.Context(), d, grp.ID)
				if err != nil {
					return err
				}
				out = append(out, renderer(a).GroupJSON(grp, nil))
				rows = append(rows, groupRow(grp, len(ms)))
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"totalResults": page.Total, "Resources": nonNil(out)})
			}
			return g.output(cmd.OutOrStdout(), nil, groupHeader, rows)
		}),
	}
	dirFlag(list, &dirName)
	list.Flags().IntVar(&count, "count", 1000, "page size")

	show := &cobra.Command{
		Use:   "show ID|DISPLAYNAME",
		Short: "Show a group and its members",
		Args:  cobra.ExactArgs(1),
		RunE: g.inDirectory(&dirName, func(cmd *cobra.Command, a *app.App, d directory.Directory, args []string) error {
			grp, err := findGroup(cmd.Context(), a, d, args[0])
			if err != nil {
				return err
			}
			ms, err := a.Dir.Members(cmd.Context(), d, grp.ID)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), renderer(a).GroupJSON(grp, ms))
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%s (%s), %s\n", grp.DisplayName, grp.ID, plural(len(ms), "member"))
			var rows [][]string
			for _, m := range ms {
				rows = append(rows, []string{m.Type, m.ID, m.Display})
			}
			if len(rows) > 0 {
				return printTable(w, []string{"TYPE", "ID", "NAME"}, rows)
			}
			return nil
		}),
	}
	dirFlag(show, &dirName)

	del := deleteCmd(g, &dirName, "group", "ID|DISPLAYNAME", "Delete a group", "DeleteGroup",
		func(ctx context.Context, a *app.App, d directory.Directory, ref string) (string, string, error) {
			grp, err := findGroup(ctx, a, d, ref)
			return grp.ID, grp.DisplayName, err
		},
		func(ctx context.Context, a *app.App, d directory.Directory, id string, ev *audit.Event, opt directory.DeleteOptions) error {
			return a.Dir.DeleteGroup(ctx, d, id, "", ev, opt)
		})

	membership := func(use, short, op string) *cobra.Command {
		c := &cobra.Command{
			Use:   use + " GROUP MEMBER...",
			Short: short,
			Args:  cobra.MinimumNArgs(2),
			RunE: g.inDirectory(&dirName, func(cmd *cobra.Command, a *app.App, d directory.Directory, args []string) error {
				grp, err := findGroup(cmd.Context(), a, d, args[0])
				if err != nil {
					return err
				}
				var ops []patch.Op
				var values []any
				for _, ref := range args[1:] {
					id, _, err := findMember(cmd.Context(), a, d, ref)
					if err != nil {
						return err
					}
					if op == "add" {
						values = append(values, map[string]any{"value": id})
					} else {
						q, _ := json.Marshal(id)
						ops = append(ops, patch.Op{Op: "remove", Path: "members[value eq " + string(q) + "]"})
					}
				}
				if op == "add" {
					ops = []patch.Op{{Op: "add", Path: "members", Value: values, HasValue: true}}
				}
				ev := event(cmd.Context(), audit.SourceDirectory, "PatchGroup", false)
				ev.SetParameters(map[string]any{"id": grp.ID, "Operations": ops})
				grp, _, err = a.Dir.PatchGroup(cmd.Context(), d, grp.ID, ops, "", ev)
				if err != nil {
					recordFailure(cmd.Context(), a, d, ev, err)
					return err
				}
				ms, _ := a.Dir.Members(cmd.Context(), d, grp.ID)
				return g.output(cmd.OutOrStdout(), renderer(a).GroupJSON(grp, ms), groupHeader, [][]string{groupRow(grp, len(ms))})
			}),
		}
		dirFlag(c, &dirName)
		return c
	}
	cmd.AddCommand(create, list, show, del,
		membership("add-member", "Add users or groups to a group", "add"),
		membership("remove-member", "Remove users or groups from a group", "remove"))
	return cmd
}
