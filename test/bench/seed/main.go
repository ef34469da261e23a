// Command seed loads Gatehouse's benchmark data set into fresh SQLite
// databases: -db gets 10k Entra-shaped users and 1k groups (5 memberships
// per user), -large-db gets a 100k-member group plus spare users for the
// membership PATCH benchmark. Data goes through directory.Service exactly as
// SCIM POSTs would (see package benchdata). By default the databases are
// built on /dev/shm, where a commit's fsync costs nothing, and then copied to
// their paths; the stored data is the same, only the seeding is faster.
//
// Besides the databases it writes, next to -db: users.tsv (id, userName per
// line, read by the wrk script), main.json and large.json (manifests).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/test/bench/benchdata"
)

func main() {
	spec := benchdata.DefaultSpec()
	dbPath := flag.String("db", "", "SQLite file for the 10k/1k data set (must not exist)")
	largePath := flag.String("large-db", "", "SQLite file for the 100k-member group (optional; must not exist)")
	tmpfs := flag.String("tmpfs", "/dev/shm", `build on this directory, then copy ("" builds in place)`)
	flag.IntVar(&spec.Users, "users", spec.Users, "users")
	flag.IntVar(&spec.Groups, "groups", spec.Groups, "groups")
	flag.IntVar(&spec.GroupsPerUser, "groups-per-user", spec.GroupsPerUser, "memberships per user")
	flag.IntVar(&spec.BigMembers, "big", spec.BigMembers, "members of the big group (-large-db)")
	flag.IntVar(&spec.SpareUsers, "spare", spec.SpareUsers, "users outside the big group, for PATCH adds (-large-db)")
	flag.BoolVar(&spec.Audit, "audit", spec.Audit, "write the audit event SCIM would write with each create")
	flag.Parse()
	if *dbPath == "" {
		fmt.Fprintln(os.Stderr, "seed: -db is required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	spec.Progress = func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s seed: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	out := filepath.Dir(*dbPath)
	m, err := build(ctx, *dbPath, *tmpfs, func(svc *directory.Service) (benchdata.Manifest, error) {
		return benchdata.Seed(ctx, svc, spec)
	})
	if err == nil {
		err = writeOutputs(out, "main.json", m)
	}
	if err == nil && *largePath != "" {
		m, err = build(ctx, *largePath, *tmpfs, func(svc *directory.Service) (benchdata.Manifest, error) {
			return benchdata.SeedLarge(ctx, svc, spec)
		})
		if err == nil {
			err = writeOutputs(out, "large.json", m)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

// build seeds a fresh database at path (through tmpfs when set).
func build(ctx context.Context, path, tmpfs string, seed func(*directory.Service) (benchdata.Manifest, error)) (benchdata.Manifest, error) {
	start := time.Now()
	if _, err := os.Stat(path); err == nil {
		return benchdata.Manifest{}, fmt.Errorf("%s exists; the seed loads a fresh database", path)
	}
	work := path
	if tmpfs != "" {
		dir, err := os.MkdirTemp(tmpfs, "gatehouse-seed-")
		if err != nil {
			return benchdata.Manifest{}, err
		}
		defer os.RemoveAll(dir)
		work = filepath.Join(dir, filepath.Base(path))
	}
	cfg := config.Default()
	cfg.DB = work
	a, err := app.Open(ctx, cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return benchdata.Manifest{}, err
	}
	m, err := seed(a.Dir)
	if cerr := a.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return m, err
	}
	if work != path {
		if err := copyDB(work, path); err != nil {
			return m, err
		}
	}
	fmt.Fprintf(os.Stderr, "%s seed: %s ready in %s\n", time.Now().Format("15:04:05"), path, time.Since(start).Round(time.Millisecond))
	return m, nil
}

// copyDB copies a closed SQLite database (and a WAL, should one remain).
func copyDB(from, to string) error {
	for _, suffix := range []string{"", "-wal"} {
		err := copyFile(from+suffix, to+suffix)
		if suffix != "" && errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func writeOutputs(dir, name string, m benchdata.Manifest) error {
	b, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		return err
	}
	if len(m.Users) == 0 {
		return nil
	}
	var sb strings.Builder
	for _, u := range m.Users {
		fmt.Fprintf(&sb, "%s\t%s\n", u.ID, u.Name)
	}
	return os.WriteFile(filepath.Join(dir, "users.tsv"), []byte(sb.String()), 0o644)
}
