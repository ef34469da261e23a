package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/fault"
)

func auditCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Query, export and verify the audit trail"}
	var f struct {
		eventName, eventSource, userName, resourceID, errorCode, directory, start, end, next string
		max                                                                                  int
	}
	lookup := &cobra.Command{
		Use:   "lookup",
		Short: "Look up events, newest first (CloudTrail's LookupEvents)",
		Args:  cobra.NoArgs,
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, _ []string) error {
			now := time.Now()
			q := audit.Query{EventName: f.eventName, EventSource: f.eventSource, UserName: f.userName, ResourceID: f.resourceID,
				ErrorCode: f.errorCode, MaxResults: f.max, NextToken: f.next}
			if f.eventName != "" && !audit.Names[f.eventName] {
				return fault.New(fault.InvalidValue, "event-name", "--event-name %q is not an event this server records", f.eventName)
			}
			if f.directory != "" {
				d, err := a.Dir.Directory(cmd.Context(), f.directory)
				if err != nil {
					return err
				}
				q.Directory = d.ID
			}
			var err error
			if q.Start, err = audit.ParseTimeArg("--start-time", f.start, now); err != nil {
				return err
			}
			if q.End, err = audit.ParseTimeArg("--end-time", f.end, now); err != nil {
				return err
			}
			events, next, err := a.DB.LookupEvents(cmd.Context(), q)
			if err != nil {
				return err
			}
			if g.json {
				out := map[string]any{"Events": events}
				if events == nil {
					out["Events"] = []audit.Event{}
				}
				if next != "" {
					out["NextToken"] = next
				}
				return printJSON(cmd.OutOrStdout(), out)
			}
			var rows [][]string
			for _, e := range events {
				who := e.UserIdentity.Type
				if e.UserIdentity.UserName != "" {
					who += ":" + e.UserIdentity.UserName
				}
				result := "ok"
				if e.ErrorCode != "" {
					result = e.ErrorCode + ": " + e.ErrorMessage
				}
				rows = append(rows, []string{e.EventTime.Format("2006-01-02T15:04:05.000Z"), e.EventSource, e.EventName, who, e.ResourceName, result})
			}
			if err := g.output(cmd.OutOrStdout(), nil, []string{"TIME", "SOURCE", "EVENT", "CALLER", "RESOURCE", "RESULT"}, rows); err != nil {
				return err
			}
			if next != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "more: --next-token %s\n", next)
			}
			return nil
		}),
	}
	lf := lookup.Flags()
	lf.StringVar(&f.eventName, "event-name", "", "e.g. CreateUser")
	lf.StringVar(&f.eventSource, "event-source", "", "scim, directory, provisioning, access, admin")
	lf.StringVar(&f.userName, "user-name", "", "the caller's name or the userName acted on")
	lf.StringVar(&f.resourceID, "resource-id", "", "id of the user, group or other resource")
	lf.StringVar(&f.errorCode, "error-code", "", "e.g. ValidationException")
	lf.StringVar(&f.directory, "directory", "", "directory name")
	lf.StringVar(&f.start, "start-time", "", "RFC 3339 time, date, or age such as 24h or 7d")
	lf.StringVar(&f.end, "end-time", "", "RFC 3339 time, date, or age")
	lf.IntVar(&f.max, "max-results", audit.DefaultMaxResults, fmt.Sprintf("page size (at most %d)", audit.MaxMaxResults))
	lf.StringVar(&f.next, "next-token", "", "token from the previous page")

	var since, format string
	export := &cobra.Command{
		Use:   "export --since T",
		Short: "Stream events oldest first as JSON lines (for a SIEM)",
		Args:  cobra.NoArgs,
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, _ []string) error {
			if format != "jsonl" {
				return fault.New(fault.InvalidValue, "format", "--format %q is not supported; use jsonl", format)
			}
			t, err := audit.ParseTimeArg("--since", since, time.Now())
			if err != nil {
				return err
			}
			w := bufio.NewWriter(cmd.OutOrStdout())
			defer w.Flush()
			enc := json.NewEncoder(w)
			enc.SetEscapeHTML(false)
			return a.DB.ExportEvents(cmd.Context(), t, func(e audit.Event) error { return enc.Encode(e) })
		}),
	}
	export.Flags().StringVar(&since, "since", "", "RFC 3339 time, date, or age such as 24h or 7d (required)")
	export.Flags().StringVar(&format, "format", "jsonl", "output format: jsonl")
	export.MarkFlagRequired("since")

	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the hash chain; reports the first modified, inserted or deleted event",
		Args:  cobra.NoArgs,
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, _ []string) error {
			reports, err := a.DB.VerifyChains(cmd.Context())
			if err != nil {
				return err
			}
			var checked int64
			var broken []string
			chains := make([]map[string]any, 0, len(reports))
			for _, r := range reports {
				checked += r.Checked
				c := map[string]any{"chain": r.Chain, "checked": r.Checked, "intact": r.Intact}
				if r.Problem != nil {
					c["problem"] = r.Problem
					broken = append(broken, fmt.Sprintf("%s chain at event %d", r.Chain, r.Problem.Seq))
				}
				if r.Head != nil {
					c["head"] = map[string]any{"seq": r.Head.Seq, "hash": r.Head.Hash}
				}
				if r.Cut != nil {
					c["cut"] = r.Cut
				}
				chains = append(chains, c)
			}
			if g.json {
				if err := printJSON(cmd.OutOrStdout(), map[string]any{"checked": checked, "intact": len(broken) == 0, "chains": chains}); err != nil {
					return err
				}
			} else {
				w := cmd.OutOrStdout()
				for _, r := range reports {
					if r.Cut != nil {
						fmt.Fprintf(w, "%s chain starts at event %d (retention cut %s, %d events pruned)\n", r.Chain, r.Cut.FirstSeq, r.Cut.At.Format(time.RFC3339), r.Cut.Pruned)
					}
					if r.Problem != nil {
						fmt.Fprintf(w, "%s chain BROKEN at event %d (%s): %s\n", r.Chain, r.Problem.Seq, r.Problem.Kind, r.Problem.Detail)
						continue
					}
					fmt.Fprintf(w, "%s chain intact: %d events verified", r.Chain, r.Checked)
					if r.Head != nil {
						fmt.Fprintf(w, "; head is event %d with hash %s (record it to detect truncation later)", r.Head.Seq, r.Head.Hash)
					}
					fmt.Fprintln(w)
				}
			}
			if len(broken) > 0 {
				return fmt.Errorf("audit chain broken: %s", strings.Join(broken, ", "))
			}
			return nil
		}),
	}
	prune := &cobra.Command{
		Use:   "prune",
		Short: "Apply the retention period now (the server also does it hourly)",
		Args:  cobra.NoArgs,
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, _ []string) error {
			n, err := a.PruneAudit(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"pruned": n, "retention": a.Cfg.Audit.Retention.String()})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "pruned %d events older than %s\n", n, a.Cfg.Audit.Retention)
			return nil
		}),
	}
	cmd.AddCommand(lookup, export, verify, prune)
	return cmd
}

func adminCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "admin", Short: "Admin API administration"}
	tok := &cobra.Command{Use: "token", Short: "Manage admin API bearer tokens"}
	var expires config.Duration
	var description string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an admin API token; prints it once",
		Args:  cobra.NoArgs,
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, _ []string) error {
			t, err := a.Admin.Create(cmd.Context(), time.Duration(expires), description, event(cmd.Context(), audit.SourceAdmin, "CreateAdminToken", false))
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"id": t.ID, "token": t.Secret, "endpoint": a.Cfg.BaseURL() + "/api/v1", "expires_at": t.Expires})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Admin API:     %s/api/v1\nAdmin token:   %s\n\nToken id %s, expires %s. Copy it now: it cannot be shown again.\n",
				a.Cfg.BaseURL(), t.Secret, t.ID, t.Expires.Format(time.RFC3339))
			return nil
		}),
	}
	create.Flags().Var(&expires, "expires", "lifetime, e.g. 30d (default 365d)")
	create.Flags().StringVar(&description, "description", "", "what the token is for")
	list := &cobra.Command{
		Use:   "list",
		Short: "List admin tokens (never shows secrets)",
		Args:  cobra.NoArgs,
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, _ []string) error {
			ts, err := a.DB.ListAdminTokens(cmd.Context())
			if err != nil {
				return err
			}
			var rows [][]string
			var out []map[string]any
			for _, t := range ts {
				status := "active"
				if t.Revoked != nil {
					status = "revoked"
				} else if !t.Active(time.Now()) {
					status = "expired"
				}
				rows = append(rows, []string{t.ID, status, t.Expires.Format(time.RFC3339), t.Description})
				out = append(out, map[string]any{"id": t.ID, "status": status, "expires_at": t.Expires, "description": t.Description})
			}
			return g.output(cmd.OutOrStdout(), out, []string{"ID", "STATUS", "EXPIRES", "DESCRIPTION"}, rows)
		}),
	}
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an admin token",
		Args:  cobra.ExactArgs(1),
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
			if _, err := a.Admin.Revoke(cmd.Context(), args[0], event(cmd.Context(), audit.SourceAdmin, "RevokeAdminToken", false)); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked admin token %s\n", args[0])
			return nil
		}),
	}
	tok.AddCommand(create, list, revoke)
	cmd.AddCommand(tok)
	return cmd
}
