// Package cli is the gatehouse command line: cobra commands that load the
// configuration, open the application and print human-readable tables or
// JSON. Data commands work on the database directly, so they also work
// while a server runs on it.
package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// globals are the persistent flags.
type globals struct {
	configFile string
	db         string
	logLevel   string
	logFormat  string
	json       bool
}

// NewRoot builds the command tree.
func NewRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "gatehouse",
		Short:         "Gatehouse: a self-hosted identity center (SCIM 2.0 directory, provisioning, access, audit)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.configFile, "config", "", "YAML configuration file")
	pf.StringVar(&g.db, "db", "", `database: a SQLite file path (default "gatehouse.db") or a postgres:// URL [$GATEHOUSE_DB]`)
	pf.StringVar(&g.logLevel, "log-level", "", "log level: debug, info, warn, error [$GATEHOUSE_LOG_LEVEL]")
	pf.StringVar(&g.logFormat, "log-format", "", "log format: auto, text, json [$GATEHOUSE_LOG_FORMAT]")
	pf.BoolVar(&g.json, "json", false, "print JSON instead of tables")
	root.AddCommand(serveCmd(g), migrateCmd(g), versionCmd(g), directoryCmd(g), scimCmd(g), userCmd(g), groupCmd(g), auditCmd(g), adminCmd(g))
	root.AddCommand(accountCmd(g), permissionSetCmd(g), assignmentCmd(g), accessCmd(g))
	root.AddCommand(appCmd(g))
	return root
}

// Execute runs the CLI and returns the process exit code.
func Execute() int {
	root := NewRoot()
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		if fe, ok := fault.As(err); ok && fe.Kind == fault.NotFound {
			return 3
		}
		return 1
	}
	return 0
}

// loadConfig merges defaults, file, environment and flags, then validates.
func (g *globals) loadConfig(cmd *cobra.Command) (config.Config, error) {
	cfg := config.Default()
	if g.configFile != "" {
		if err := cfg.LoadFile(g.configFile); err != nil {
			return cfg, err
		}
	}
	if err := cfg.LoadEnv(os.Getenv); err != nil {
		return cfg, err
	}
	if g.db != "" {
		cfg.DB = g.db
	}
	if g.logLevel != "" {
		cfg.Log.Level = g.logLevel
	}
	if g.logFormat != "" {
		cfg.Log.Format = g.logFormat
	}
	return cfg, nil
}

// open loads the configuration and opens the application for a data
// command. CLI logs go to stderr and default to warnings only.
func (g *globals) open(cmd *cobra.Command) (*app.App, error) {
	cfg, err := g.loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	if g.logLevel == "" && os.Getenv("GATEHOUSE_LOG_LEVEL") == "" {
		cfg.Log.Level = "warn"
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return app.Open(cmd.Context(), cfg, app.NewLogger(os.Stderr, cfg.Log.Level, cfg.Log.Format))
}

// withApp runs fn with an opened application and closes it afterwards.
func (g *globals) withApp(fn func(cmd *cobra.Command, a *app.App, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		a, err := g.open(cmd)
		if err != nil {
			return err
		}
		defer a.Close()
		return fn(cmd, a, args)
	}
}

// inDirectory is withApp for commands that act inside one directory: it
// resolves the --directory flag first, so a wrong name fails before anything
// else runs.
func (g *globals) inDirectory(name *string, fn func(cmd *cobra.Command, a *app.App, d directory.Directory, args []string) error) func(*cobra.Command, []string) error {
	return g.withApp(func(cmd *cobra.Command, a *app.App, args []string) error {
		d, err := a.Dir.Directory(cmd.Context(), *name)
		if err != nil {
			return err
		}
		return fn(cmd, a, d, args)
	})
}

// event starts an audit event for a CLI action, attributed to the OS user.
func event(ctx context.Context, source, name string, readOnly bool) *audit.Event {
	who := "unknown"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	actor := audit.Actor{Identity: audit.UserIdentity{Type: audit.IdentityAdmin, PrincipalID: "cli", UserName: who}, SourceIP: "local", UserAgent: "gatehouse-cli/" + app.Version}
	return actor.NewEvent(source, name, readOnly)
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// printTable writes rows under a header, aligned.
func printTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// output prints v as JSON with --json, else the table.
func (g *globals) output(w io.Writer, v any, header []string, rows [][]string) error {
	if g.json {
		return printJSON(w, v)
	}
	if len(rows) == 0 && header != nil {
		fmt.Fprintln(w, "(none)")
		return nil
	}
	return printTable(w, header, rows)
}
