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
