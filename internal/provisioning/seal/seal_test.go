package seal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpenRoundTripBoundToOwner(t *testing.T) {
	k, _, err := LoadOrCreate(filepath.Join(t.TempDir(), "k"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := k.Seal("ghscim_secret", "app-1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s, "ghscim_secret") || !strings.HasPrefix(s, "v1:"+k.ID()+":") {
		t.Fatalf("sealed form %q", s)
	}
	if got, err := k.Open(s, "app-1"); err != nil || got != "ghscim_secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := k.Open(s, "app-2"); err == nil {
		t.Fatal("a value sealed for app-1 opened for app-2")
	}
	s2, _ := k.Seal("ghscim_secret", "app-1")
	if s2 == s {
		t.Fatal("two seals of the same value are equal: nonce reused")
	}
	tampered := s[:len(s)-2] + "AA"
	if _, err := k.Open(tampered, "app-1"); err == nil {
		t.Fatal("tampered value opened")
	}
}

func TestWrongKeyIsNamed(t *testing.T) {
	a, _, _ := LoadOrCreate(filepath.Join(t.TempDir(), "a"))
	b, _, _ := LoadOrCreate(filepath.Join(t.TempDir(), "b"))
	s, _ := a.Seal("x", "o")
	if _, err := b.Open(s, "o"); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("err = %v, want ErrWrongKey", err)
	}
}

func TestLoadOrCreateWritesA0600FileOnceAndRereadsIt(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "gatehouse.db.key")
	k1, created, err := LoadOrCreate(p)
	if err != nil || !created {
		t.Fatalf("first: created=%v err=%v", created, err)
	}
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", st.Mode(), err)
	}
	k2, created, err := LoadOrCreate(p)
	if err != nil || created || k2.ID() != k1.ID() {
		t.Fatalf("second: created=%v err=%v ids %s/%s", created, err, k1.ID(), k2.ID())
	}
}

func TestParseKeyForms(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	if _, err := ParseKey(hex); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseKey("c2hvcnQ="); err == nil || !strings.Contains(err.Error(), "32") {
		t.Fatalf("short key: %v", err)
	}
	if _, err := ParseKey("not base64 !!"); err == nil {
		t.Fatal("garbage accepted")
	}
}
