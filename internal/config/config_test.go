package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestUnknownKeyIsNamed(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(p, []byte("listen: 127.0.0.1:9000\nlisten_adress: x\n"), 0o600)
	c := Default()
	err := c.LoadFile(p)
	if err == nil || !strings.Contains(err.Error(), "listen_adress") {
		t.Fatalf("err = %v, want it to name listen_adress", err)
	}
}

func TestFileEnvPrecedenceAndFileSecrets(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	os.WriteFile(p, []byte("listen: 127.0.0.1:9000\ndb: file.db\naudit:\n  retention: 30d\n"), 0o600)
	secret := filepath.Join(dir, "dsn")
	os.WriteFile(secret, []byte("postgres://u:pw@h/db\n"), 0o600)
	c := Default()
	if err := c.LoadFile(p); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"GATEHOUSE_DB_FILE": secret, "GATEHOUSE_LISTEN": "127.0.0.1:9100"}
	if err := c.LoadEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9100" || c.DB != "postgres://u:pw@h/db" || time.Duration(c.Audit.Retention) != 30*24*time.Hour {
		t.Fatalf("got %+v", c)
	}
	if r := c.Redacted(); strings.Contains(r.DB, "pw") {
		t.Fatalf("Redacted leaks the password: %s", r.DB)
	}
}

func TestValidateReportsEverything(t *testing.T) {
	c := Default()
	c.Listen = "nonsense"
	c.Log.Level = "loud"
	c.PublicURL = "ftp://x"
	c.HTTP.MaxBodyBytes = 1
	err := c.Validate()
	for _, want := range []string{"listen", "log.level", "public_url", "http.max_body_bytes"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want a message about %s", err, want)
		}
	}
	if err := Default().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
}

func TestEnvAndFileBothSet(t *testing.T) {
	c := Default()
	env := map[string]string{"GATEHOUSE_DB": "a.db", "GATEHOUSE_DB_FILE": "/x"}
	if err := c.LoadEnv(func(k string) string { return env[k] }); err == nil {
		t.Fatal("want an error when both GATEHOUSE_DB and GATEHOUSE_DB_FILE are set")
	}
}

func TestProvisioningAndSecretsSettings(t *testing.T) {
	c := Default()
	if !c.Prov.SchedulerEnabled() || !c.Prov.PrivateTargets() || time.Duration(c.Prov.DefaultInterval) != 5*time.Minute {
		t.Fatalf("defaults: %+v", c.Prov)
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	os.WriteFile(key, []byte("c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=\n"), 0o600)
	env := map[string]string{"GATEHOUSE_SECRET_KEY_FILE": key, "GATEHOUSE_PROVISIONING_SCHEDULER": "false", "GATEHOUSE_PROVISIONING_DEFAULT_INTERVAL": "30s"}
	if err := c.LoadEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Prov.SchedulerEnabled() || time.Duration(c.Prov.DefaultInterval) != 30*time.Second || c.Secrets.Key == "" {
		t.Fatalf("env: %+v %q", c.Prov, c.Secrets.Key)
	}
	if r := c.Redacted(); r.Secrets.Key != "REDACTED" {
		t.Fatalf("Redacted keeps the key: %q", r.Secrets.Key)
	}
	p := filepath.Join(dir, "c.yaml")
	os.WriteFile(p, []byte("secrets:\n  key_file: /etc/gatehouse/key\nprovisioning:\n  min_interval: 10s\n  default_interval: 5s\n  tick: 2m\n  notify_webhook: ftp://x\n  log_retention: 1h\n"), 0o600)
	c = Default()
	if err := c.LoadFile(p); err != nil {
		t.Fatal(err)
	}
	c.Secrets.Key = "short"
	err := c.Validate()
	for _, want := range []string{"GATEHOUSE_SECRET_KEY", "provisioning.default_interval", "provisioning.tick", "provisioning.notify_webhook", "provisioning.log_retention"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %s", err, want)
		}
	}
}

func TestQuarantineDisableAfter(t *testing.T) {
	c := Default()
	if time.Duration(c.Prov.QuarantineDisableAfter) != 28*24*time.Hour {
		t.Fatalf("default quarantine_disable_after %s, want 28d (Entra's four weeks)", c.Prov.QuarantineDisableAfter)
	}
	env := map[string]string{"GATEHOUSE_PROVISIONING_QUARANTINE_DISABLE_AFTER": "7d"}
	if err := c.LoadEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if time.Duration(c.Prov.QuarantineDisableAfter) != 7*24*time.Hour || c.Validate() != nil {
		t.Fatalf("env: %s %v", c.Prov.QuarantineDisableAfter, c.Validate())
	}
	p := filepath.Join(t.TempDir(), "c.yaml")
	for yaml, ok := range map[string]bool{"0s": true, "2d": true, "10m": false, "-1h": false} {
		os.WriteFile(p, []byte("provisioning:\n  quarantine_disable_after: "+yaml+"\n"), 0o600)
		c := Default()
		err := c.LoadFile(p)
		if err == nil {
			err = c.Validate()
		}
		if (err == nil) != ok || (err != nil && !strings.Contains(err.Error(), "quarantine_disable_after")) {
			t.Errorf("quarantine_disable_after: %s: %v", yaml, err)
		}
	}
}
