package cli

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/app"
)

func serveCmd(g *globals) *cobra.Command {
	var listen, publicURL string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server (SCIM endpoint, admin API, background jobs); migrates the database first",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig(cmd)
			if err != nil {
				return err
			}
			if listen != "" {
				cfg.Listen = listen
			}
			if publicURL != "" {
				cfg.PublicURL = publicURL
			}
			if err := cfg.Validate(); err != nil {
				return fmt.Errorf("invalid configuration:\n%w", err)
			}
			log := app.NewLogger(os.Stderr, cfg.Log.Level, cfg.Log.Format)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			start := time.Now()
			a, err := app.Open(ctx, cfg, log)
			if err != nil {
				return err
			}
			log.Info("database ready", "dialect", a.DB.Dialect(), "took_ms", time.Since(start).Milliseconds())
			err = a.Serve(ctx, nil)
			if cerr := a.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				log.Info("stopped cleanly")
			}
			return err
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", `address to listen on (default "127.0.0.1:8080") [$GATEHOUSE_LISTEN]`)
	cmd.Flags().StringVar(&publicURL, "public-url", "", "URL clients use to reach this server (default http://<listen>) [$GATEHOUSE_PUBLIC_URL]")
	return cmd
}

func migrateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply database migrations and print the schema version",
		RunE: g.withApp(func(cmd *cobra.Command, a *app.App, _ []string) error {
			v, err := a.DB.Migrate(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"dialect": a.DB.Dialect(), "version": v})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s database at schema version %d\n", a.DB.Dialect(), v)
			return nil
		}),
	}
}

func versionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if g.json {
				return printJSON(cmd.OutOrStdout(), map[string]string{"version": app.Version})
			}
			fmt.Fprintln(cmd.OutOrStdout(), "gatehouse", app.Version)
			return nil
		},
	}
}
