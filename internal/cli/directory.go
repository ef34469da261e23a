package cli

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/scim"
)

type directoryJSON struct {
	ID       string             `json:"id"`
	Name     string             `json:"name"`
	Profile  string             `json:"profile"`
	Settings directory.Settings `json:"settings"`
	Created  time.Time          `json:"created"`
}

func dirJSON(d directory.Directory) directoryJSON {
	return directoryJSON{ID: d.ID, Name: d.Name, Profile: d.Profile, Settings: d.Settings, Created: d.Created}
}

func directoryCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "directory", Short: "Manage directories (isolated identity stores, each with a compatibility profile)"}
	var profile string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a directory",
		Args:  cobra.ExactArgs(1),
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			d, err := a.Dir.CreateDirectory(cmd.Context(), args[0], profile, event(cmd.Context(), audit.SourceDirectory, "CreateDirectory", false))
			if err != nil {
				return err
			}
			return g.output(cmd.OutOrStdout(), dirJSON(d), []string{"ID", "NAME", "PROFILE"}, [][]string{{d.ID, d.Name, d.Profile}})
		}),
	}
	create.Flags().StringVar(&profile, "profile", directory.ProfileRFC, "compatibility profile: rfc or aws-identity-center")
	list := &cobra.Command{
		Use:   "list",
		Short: "List directories",
		Args:  cobra.NoArgs,
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, _ []string) error {
			ds, err := a.DB.ListDirectories(cmd.Context())
			if err != nil {
				return err
			}
			out := make([]directoryJSON, 0, len(ds))
			var rows [][]string
			for _, d := range ds {
				out = append(out, dirJSON(d))
				rows = append(rows, []string{d.Name, d.Profile, d.ID, d.Created.Format(time.RFC3339)})
			}
			return g.output(cmd.OutOrStdout(), out, []string{"NAME", "PROFILE", "ID", "CREATED"}, rows)
		}),
	}
	show := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a directory, its settings and its SCIM endpoint",
		Args:  cobra.ExactArgs(1),
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			d, err := a.Dir.Directory(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			s := d.Settings
			return g.output(cmd.OutOrStdout(), dirJSON(d), []string{"FIELD", "VALUE"}, [][]string{
				{"name", d.Name}, {"id", d.ID}, {"profile", d.Profile}, {"scim endpoint", scimEndpoint(a.Cfg)},
				{"patch-returns-204", strconv.FormatBool(s.PatchReturns204)}, {"accept-unknown-members", strconv.FormatBool(s.AcceptUnknownMembers)},
				{"strict-attributes", strconv.FormatBool(s.StrictAttributes)}, {"rfc-no-target", strconv.FormatBool(s.RFCNoTarget)},
			})
		}),
	}
	var settings struct {
		profile                                       string
		patch204, unknownMembers, strict, rfcNoTarget bool
	}
	update := &cobra.Command{
		Use:   "update NAME",
		Short: "Change a directory's profile or client-compatibility settings",
		Args:  cobra.ExactArgs(1),
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			f := cmd.Flags()
			d, err := a.Dir.UpdateDirectory(cmd.Context(), args[0], func(d *directory.Directory) error {
				if f.Changed("profile") {
					d.Profile = settings.profile
				}
				if f.Changed("patch-returns-204") {
					d.Settings.PatchReturns204 = settings.patch204
				}
				if f.Changed("accept-unknown-members") {
					d.Settings.AcceptUnknownMembers = settings.unknownMembers
				}
				if f.Changed("strict-attributes") {
					d.Settings.StrictAttributes = settings.strict
				}
				if f.Changed("rfc-no-target") {
					d.Settings.RFCNoTarget = settings.rfcNoTarget
				}
				return nil
			}, event(cmd.Context(), audit.SourceDirectory, "UpdateDirectory", false))
			if err != nil {
				return err
			}
			return g.output(cmd.OutOrStdout(), dirJSON(d), []string{"NAME", "PROFILE", "SETTINGS"}, [][]string{{d.Name, d.Profile, fmt.Sprintf("%+v", d.Settings)}})
		}),
	}
	uf := update.Flags()
	uf.StringVar(&settings.profile, "profile", "", "compatibility profile: rfc or aws-identity-center")
	uf.BoolVar(&settings.patch204, "patch-returns-204", false, "answer successful PATCH with 204 No Content (Microsoft's collection, Entra groups)")
	uf.BoolVar(&settings.unknownMembers, "accept-unknown-members", false, "drop member ids that name no user or group instead of rejecting the request")
	uf.BoolVar(&settings.strict, "strict-attributes", false, "reject unknown attributes instead of ignoring them")
	uf.BoolVar(&settings.rfcNoTarget, "rfc-no-target", false, "replace on an unmatched filtered path fails with noTarget (RFC) instead of adding (Entra)")
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a directory with all its users, groups and tokens",
		Args:  cobra.ExactArgs(1),
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			if args[0] == directory.DefaultDirectory {
				return fmt.Errorf("the %q directory cannot be deleted", directory.DefaultDirectory)
			}
			if err := a.Dir.DeleteDirectory(cmd.Context(), args[0], event(cmd.Context(), audit.SourceDirectory, "DeleteDirectory", false)); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted directory %s\n", args[0])
			return nil
		}),
	}
	cmd.AddCommand(create, list, show, update, del)
	return cmd
}

func scimEndpoint(cfg config.Config) string { return cfg.BaseURL() + scim.Prefix }

func scimCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "scim", Short: "SCIM endpoint administration"}
	tok := &cobra.Command{Use: "token", Short: "Manage SCIM bearer tokens (at most two active per directory)"}
	var dirName, description string
	var expires config.Duration
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a token; prints the SCIM endpoint and the token once",
		Args:  cobra.NoArgs,
		RunE: g.inDirectory(&dirName, func(cmd *cobra.Command, a *app.App, d directory.Directory, _ []string) error {
			t, err := a.Dir.CreateToken(cmd.Context(), d, time.Duration(expires), description, event(cmd.Context(), audit.SourceDirectory, "CreateToken", false))
			if err != nil {
				return err
			}
			endpoint := scimEndpoint(a.Cfg)
			if g.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"id": t.ID, "token": t.Secret, "endpoint": endpoint, "directory": d.Name, "expires_at": t.Expires})
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Automatic provisioning is enabled for directory %q.\n\n", d.Name)
			fmt.Fprintf(w, "SCIM endpoint:  %s\n", endpoint)
			fmt.Fprintf(w, "Access token:   %s\n\n", t.Secret)
			fmt.Fprintf(w, "Token id %s, expires %s.\n", t.ID, t.Expires.Format(time.RFC3339))
			fmt.Fprintln(w, "Copy the token now: it is stored hashed and cannot be shown again.")
			return nil
		}),
	}
	create.Flags().StringVar(&dirName, "directory", directory.DefaultDirectory, "directory the token grants access to")
	create.Flags().Var(&expires, "expires", "lifetime, e.g. 90d or 12h (default 365d)")
	create.Flags().StringVar(&description, "description", "", "what the token is for, e.g. \"Entra ID production\"")
	var listDir string
	list := &cobra.Command{
		Use:   "list",
		Short: "List tokens (never shows secrets)",
		Args:  cobra.NoArgs,
		RunE: g.inDirectory(&listDir, func(cmd *cobra.Command, a *app.App, d directory.Directory, _ []string) error {
			ts, err := a.DB.ListTokens(cmd.Context(), d.ID)
			if err != nil {
				return err
			}
			now := time.Now()
			type tokenJSON struct {
				ID          string     `json:"id"`
				Directory   string     `json:"directory"`
				Description string     `json:"description"`
				Status      string     `json:"status"`
				Created     time.Time  `json:"created"`
				Expires     time.Time  `json:"expires_at"`
				LastUsed    *time.Time `json:"last_used_at,omitempty"`
			}
			var out []tokenJSON
			var rows [][]string
			for _, t := range ts {
				status := "active"
				switch {
				case t.Revoked != nil:
					status = "revoked"
				case !t.Active(now):
					status = "expired"
				}
				used := "never"
				if t.LastUsed != nil {
					used = t.LastUsed.Format(time.RFC3339)
				}
				out = append(out, tokenJSON{t.ID, d.Name, t.Description, status, t.Created, t.Expires, t.LastUsed})
				rows = append(rows, []string{t.ID, status, t.Expires.Format(time.RFC3339), used, t.Description})
			}
			return g.output(cmd.OutOrStdout(), out, []string{"ID", "STATUS", "EXPIRES", "LAST USED", "DESCRIPTION"}, rows)
		}),
	}
	list.Flags().StringVar(&listDir, "directory", directory.DefaultDirectory, "directory")
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token; clients using it get 401 immediately",
		Args:  cobra.ExactArgs(1),
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			t, err := a.Dir.RevokeToken(cmd.Context(), args[0], event(cmd.Context(), audit.SourceDirectory, "RevokeToken", false))
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"id": t.ID, "revoked_at": t.Revoked})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked token %s\n", t.ID)
			return nil
		}),
	}
	tok.AddCommand(create, list, revoke)
	cmd.AddCommand(tok)
	return cmd
}
