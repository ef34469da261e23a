// Command profserve runs the Gatehouse server exactly as `gatehouse serve`
// does (config.Default, the YAML file, GATEHOUSE_* variables, app.Open,
// App.Serve) while writing a CPU profile, and optionally block and mutex
// profiles, until it is stopped with SIGINT or SIGTERM. It exists so the
// server can be profiled under wrk load without adding profiling endpoints
// to the production binary.
//
// With -ceiling FILE it serves FILE's bytes to every request from a bare
// net/http server instead (no middleware, no store): the throughput ceiling
// of the HTTP stack and the load generator on this machine.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/config"
)

func main() {
	cfgFile := flag.String("config", "", "YAML configuration file")
	db := flag.String("db", "", "database")
	listen := flag.String("listen", "127.0.0.1:8080", "listen address")
	logLevel := flag.String("log-level", "", "log level (default from config: info)")
	cpu := flag.String("cpuprofile", "cpu.pprof", "CPU profile output")
	block := flag.String("blockprofile", "", "block profile output (optional)")
	mutex := flag.String("mutexprofile", "", "mutex profile output (optional)")
	ceiling := flag.String("ceiling", "", "serve this file's bytes to every request (HTTP ceiling)")
	flag.Parse()
	if *ceiling != "" {
		if err := serveCeiling(*ceiling, *listen); err != nil {
			fmt.Fprintln(os.Stderr, "profserve:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*cfgFile, *db, *listen, *logLevel, *cpu, *block, *mutex); err != nil {
		fmt.Fprintln(os.Stderr, "profserve:", err)
		os.Exit(1)
	}
}

func run(cfgFile, db, listen, logLevel, cpu, block, mutex string) error {
	cfg := config.Default()
	if cfgFile != "" {
		if err := cfg.LoadFile(cfgFile); err != nil {
			return err
		}
	}
	if err := cfg.LoadEnv(os.Getenv); err != nil {
		return err
	}
	if db != "" {
		cfg.DB = db
	}
	if logLevel != "" {
		cfg.Log.Level = logLevel
	}
	cfg.Listen = listen
	if err := cfg.Validate(); err != nil {
		return err
	}
	if block != "" {
		runtime.SetBlockProfileRate(10_000) // one sample per 10µs blocked
	}
	if mutex != "" {
		runtime.SetMutexProfileFraction(10)
	}
	f, err := os.Create(cpu)
	if err != nil {
		return err
	}
	defer f.Close()
	log := app.NewLogger(os.Stderr, cfg.Log.Level, cfg.Log.Format)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	err = a.Serve(ctx, nil)
	pprof.StopCPUProfile()
	for name, path := range map[string]string{"block": block, "mutex": mutex} {
		if path == "" {
			continue
		}
		if w, ferr := os.Create(path); ferr == nil {
			pprof.Lookup(name).WriteTo(w, 0)
			w.Close()
		}
	}
	if cerr := a.Close(); err == nil {
		err = cerr
	}
	return err
}

func serveCeiling(file, listen string) error {
	body, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Addr: listen, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/scim+json")
		w.Write(body)
	})}
	go func() { <-ctx.Done(); srv.Close() }()
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		return err
	}
	return nil
}
