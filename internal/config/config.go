// Package config is Gatehouse's typed configuration: defaults, a strict YAML
// file (unknown keys fail), GATEHOUSE_* environment variables with *_FILE
// variants for secrets, and command-line flags, in rising precedence.
// Validate reports every problem at once.
package config

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the whole configuration.
type Config struct {
	Listen    string       `yaml:"listen"`
	DB        string       `yaml:"db"`
	PublicURL string       `yaml:"public_url"`
	Log       Log          `yaml:"log"`
	HTTP      HTTP         `yaml:"http"`
	Audit     Audit        `yaml:"audit"`
	Secrets   Secrets      `yaml:"secrets"`
	Prov      Provisioning `yaml:"provisioning"`
}

// Secrets configures encryption at rest of stored secrets (provisioning
// target tokens, AES-256-GCM). Without a key on SQLite, one is generated next
// to the database file (<db>.key, mode 0600); PostgreSQL replicas must share
// one, so there it is required before an application can be created.
type Secrets struct {
	KeyFile string `yaml:"key_file"` // file holding base64 of 32 random bytes
	// Key is the key itself, from GATEHOUSE_SECRET_KEY or the file named by
	// GATEHOUSE_SECRET_KEY_FILE (the environment wins over key_file, as
	// everywhere); never read from YAML, never printed.
	Key string `yaml:"-"`
}

// Provisioning configures the outbound provisioning engine.
type Provisioning struct {
	// Scheduler runs due cycles inside serve (default true); false leaves
	// cycles to "gatehouse app provision" (for example from cron).
	Scheduler *bool `yaml:"scheduler"`
	// DefaultInterval is the cycle interval of applications created without --interval.
	DefaultInterval Duration `yaml:"default_interval"`
	// MinInterval is the shortest interval an application may have.
	MinInterval Duration `yaml:"min_interval"`
	// Tick is how often the scheduler looks for due applications.
	Tick Duration `yaml:"tick"`
	// LeaseTTL bounds how long a crashed cycle holds its application's lease.
	LeaseTTL Duration `yaml:"lease_ttl"`
	// FullSyncEvery is the period of full reconciliation cycles (everything in
	// scope is re-evaluated and the target re-read) between incremental ones.
	FullSyncEvery Duration `yaml:"full_sync_every"`
	// LogRetention is how long provisioning logs and cycle records are kept.
	LogRetention Duration `yaml:"log_retention"`
	// QuarantineDisableAfter disables an application that has been in
	// quarantine for longer (default 28d, Entra's four weeks; 0: never).
	// gatehouse app start enables it again.
	QuarantineDisableAfter Duration `yaml:"quarantine_disable_after"`
	// NotifyWebhook receives a JSON POST when an application enters or leaves
	// quarantine or stages deletions.
	NotifyWebhook string `yaml:"notify_webhook"`
	// AllowPrivateTargets lets applications reach loopback and private
	// addresses (an on-premises target, or a second Gatehouse on this host).
	AllowPrivateTargets *bool `yaml:"allow_private_targets"`
	// SMTP mails the same notifications when Addr is set.
	SMTP SMTP `yaml:"smtp"`
}

// SMTP configures notification mail (STARTTLS when the server offers it).
type SMTP struct {
	Addr     string   `yaml:"addr"` // host:port
	From     string   `yaml:"from"`
	To       []string `yaml:"to"`
	Username string   `yaml:"username"`
	// Password comes from GATEHOUSE_PROVISIONING_SMTP_PASSWORD(_FILE) only.
	Password string `yaml:"-"`
}

// SchedulerEnabled reports whether serve runs provisioning cycles (default true).
func (p Provisioning) SchedulerEnabled() bool { return p.Scheduler == nil || *p.Scheduler }

// PrivateTargets reports whether private and loopback targets are allowed (default true:
// a self-hosted identity center usually provisions into systems on its own network).
func (p Provisioning) PrivateTargets() bool {
	return p.AllowPrivateTargets == nil || *p.AllowPrivateTargets
}

// Log configures structured logging.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // auto (text on a terminal, JSON otherwise), text, json
}

// HTTP configures the server's limits. Every timeout has a default so that a
// slow or hostile client cannot hold a connection open forever.
type HTTP struct {
	MaxBodyBytes      int64    `yaml:"max_body_bytes"`
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	ReadTimeout       Duration `yaml:"read_timeout"`
	WriteTimeout      Duration `yaml:"write_timeout"`
	IdleTimeout       Duration `yaml:"idle_timeout"`
	ShutdownTimeout   Duration `yaml:"shutdown_timeout"`
}

// Audit configures the audit trail.
type Audit struct {
	Retention  Duration `yaml:"retention"`   // events older than this are pruned
	ReadEvents *bool    `yaml:"read_events"` // record read-only calls (GetUser, ListUsers)
}

// RecordReads reports whether read-only calls are audited (default true).
func (a Audit) RecordReads() bool { return a.ReadEvents == nil || *a.ReadEvents }

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		Listen: "127.0.0.1:8080",
		DB:     "gatehouse.db",
		Log:    Log{Level: "info", Format: "auto"},
		HTTP: HTTP{
			MaxBodyBytes:      1 << 20, // SCIM's usual maxPayloadSize
			ReadHeaderTimeout: Duration(10 * time.Second),
			ReadTimeout:       Duration(60 * time.Second),
			WriteTimeout:      Duration(60 * time.Second),
			IdleTimeout:       Duration(120 * time.Second),
			ShutdownTimeout:   Duration(4 * time.Second),
		},
		Audit: Audit{Retention: Duration(90 * 24 * time.Hour)},
		Prov: Provisioning{
			DefaultInterval: Duration(5 * time.Minute),
			MinInterval:     Duration(time.Second),
			Tick:            Duration(time.Second),
			LeaseTTL:        Duration(2 * time.Minute),
			FullSyncEvery:   Duration(24 * time.Hour),
			LogRetention:    Duration(30 * 24 * time.Hour),
			// Entra disables a provisioning job after four weeks in quarantine.
			QuarantineDisableAfter: Duration(28 * 24 * time.Hour),
		},
	}
}

// LoadFile merges a YAML file into c. Unknown keys are an error naming the key.
func (c *Config) LoadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) { // an empty file is fine
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// envVars maps environment variables to the fields they set.
func (c *Config) envVars() map[string]func(string) error {
	str := func(p *string) func(string) error { return func(v string) error { *p = v; return nil } }
	dur := func(p *Duration) func(string) error { return func(v string) error { return p.Set(v) } }
	return map[string]func(string) error{
		"GATEHOUSE_LISTEN":                        str(&c.Listen),
		"GATEHOUSE_DB":                            str(&c.DB),
		"GATEHOUSE_PUBLIC_URL":                    str(&c.PublicURL),
		"GATEHOUSE_LOG_LEVEL":                     str(&c.Log.Level),
		"GATEHOUSE_LOG_FORMAT":                    str(&c.Log.Format),
		"GATEHOUSE_AUDIT_RETENTION":               dur(&c.Audit.Retention),
		"GATEHOUSE_SHUTDOWN_TIMEOUT":              dur(&c.HTTP.ShutdownTimeout),
		"GATEHOUSE_SECRET_KEY":                    str(&c.Secrets.Key),
		"GATEHOUSE_PROVISIONING_DEFAULT_INTERVAL": dur(&c.Prov.DefaultInterval),
		"GATEHOUSE_PROVISIONING_LOG_RETENTION":    dur(&c.Prov.LogRetention),
		"GATEHOUSE_PROVISIONING_NOTIFY_WEBHOOK":   str(&c.Prov.NotifyWebhook),
		"GATEHOUSE_PROVISIONING_SMTP_PASSWORD":    str(&c.Prov.SMTP.Password),
		"GATEHOUSE_PROVISIONING_SCHEDULER": func(v string) error {
			b, err := strconv.ParseBool(v)
			c.Prov.Scheduler = &b
			return err
		},
		"GATEHOUSE_MAX_BODY_BYTES": func(v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			c.HTTP.MaxBodyBytes = n
			return err
		},
		"GATEHOUSE_PROVISIONING_QUARANTINE_DISABLE_AFTER": dur(&c.Prov.QuarantineDisableAfter),
	}
}

// LoadEnv applies GATEHOUSE_* variables. NAME_FILE reads the value from a
// file (for secrets such as a DSN with a password); setting both is an error.
func (c *Config) LoadEnv(getenv func(string) string) error {
	var errs []error
	for name, set := range c.envVars() {
		v, file := getenv(name), getenv(name+"_FILE")
		if v != "" && file != "" {
			errs = append(errs, fmt.Errorf("%s and %s_FILE are both set; set one", name, name))
			continue
		}
		if file != "" {
			b, err := os.ReadFile(file)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s_FILE: %w", name, err))
				continue
			}
			v = strings.TrimRight(string(b), "\r\n")
		}
		if v == "" {
			continue
		}
		if err := set(v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// Validate checks the whole configuration and reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
		add("listen: %q is not host:port", c.Listen)
	}
	if c.DB == "" {
		add("db: must not be empty")
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("public_url: %q is not an http(s) URL", c.PublicURL)
		}
	}
	switch strings.ToLower(c.Log.Level) {
	case "debug", "info", "warn", "error":
	default:
		add("log.level: %q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "auto", "text", "json":
	default:
		add("log.format: %q is not one of auto, text, json", c.Log.Format)
	}
	if c.HTTP.MaxBodyBytes < 1024 {
		add("http.max_body_bytes: %d is below the minimum of 1024", c.HTTP.MaxBodyBytes)
	}
	for name, d := range map[string]Duration{"http.read_header_timeout": c.HTTP.ReadHeaderTimeout, "http.read_timeout": c.HTTP.ReadTimeout,
		"http.write_timeout": c.HTTP.WriteTimeout, "http.idle_timeout": c.HTTP.IdleTimeout, "http.shutdown_timeout": c.HTTP.ShutdownTimeout} {
		if d <= 0 {
			add("%s: must be positive", name)
		}
	}
	if c.Audit.Retention < Duration(24*time.Hour) {
		add("audit.retention: %s is shorter than one day", c.Audit.Retention)
	}
	if c.Secrets.Key != "" && !validKey(c.Secrets.Key) {
		add("secrets: GATEHOUSE_SECRET_KEY must be base64 of 32 random bytes (head -c32 /dev/urandom | base64)")
	}
	p := c.Prov
	if p.MinInterval <= 0 {
		add("provisioning.min_interval: must be positive")
	}
	if p.DefaultInterval < p.MinInterval {
		add("provisioning.default_interval: %s is shorter than provisioning.min_interval (%s)", p.DefaultInterval, p.MinInterval)
	}
	if p.Tick <= 0 || p.Tick > Duration(time.Minute) {
		add("provisioning.tick: %s must be between 1ns and 1m", p.Tick)
	}
	if p.LeaseTTL < Duration(10*time.Second) {
		add("provisioning.lease_ttl: %s is shorter than 10s", p.LeaseTTL)
	}
	if p.FullSyncEvery < Duration(time.Minute) {
		add("provisioning.full_sync_every: %s is shorter than one minute", p.FullSyncEvery)
	}
	if p.LogRetention < Duration(24*time.Hour) {
		add("provisioning.log_retention: %s is shorter than one day", p.LogRetention)
	}
	if p.QuarantineDisableAfter != 0 && p.QuarantineDisableAfter < Duration(time.Hour) {
		// Quarantined cycles run at most daily; a shorter limit would disable
		// an application before it had a chance to recover.
		add("provisioning.quarantine_disable_after: %s is shorter than one hour (0 switches automatic disabling off)", p.QuarantineDisableAfter)
	}
	if m := p.SMTP; m.Addr != "" {
		if _, port, err := net.SplitHostPort(m.Addr); err != nil || port == "" {
			add("provisioning.smtp.addr: %q is not host:port", m.Addr)
		}
		if m.From == "" || len(m.To) == 0 {
			add("provisioning.smtp: from and to are required when addr is set")
		}
	}
	if p.NotifyWebhook != "" {
		if u, err := url.Parse(p.NotifyWebhook); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("provisioning.notify_webhook: %q is not an http(s) URL", p.NotifyWebhook)
		}
	}
	return errors.Join(errs...)
}

// validKey reports whether s decodes (base64 or hex) to 32 bytes.
func validKey(s string) bool {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil {
		return len(b) == 32
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(s)
	}
	return err == nil && len(b) == 32
}

// BaseURL is the public URL clients use: public_url, or http://<listen>.
func (c Config) BaseURL() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	return "http://" + c.Listen
}

// Redacted returns a copy safe to print: a password in the DSN is masked.
func (c Config) Redacted() Config {
	if u, err := url.Parse(c.DB); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
			c.DB = u.String()
		}
	}
	if c.Secrets.Key != "" {
		c.Secrets.Key = "REDACTED"
	}
	if c.Prov.SMTP.Password != "" {
		c.Prov.SMTP.Password = "REDACTED"
	}
	return c
}

// Duration is a time.Duration that also accepts a "d" (days) suffix.
type Duration time.Duration

// Set parses "90d", "36h", "1h30m".
func (d *Duration) Set(s string) error {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return fmt.Errorf("invalid duration %q", s)
		}
		*d = Duration(time.Duration(n) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q (use e.g. 90d, 36h, 30s)", s)
	}
	*d = Duration(v)
	return nil
}

// String renders days when whole.
func (d Duration) String() string {
	t := time.Duration(d)
	if t > 0 && t%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", t/(24*time.Hour))
	}
	return t.String()
}

// Type is for pflag.Value.
func (d *Duration) Type() string { return "duration" }

// UnmarshalYAML reads a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if err := d.Set(n.Value); err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	return nil
}

// MarshalYAML writes the string form.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }
