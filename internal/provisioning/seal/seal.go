// Package seal encrypts secrets at rest (the provisioning engine's target
// tokens) with AES-256-GCM under a key from the configuration. A sealed value
// names the key it was sealed with (the first bytes of the key's SHA-256), so
// a wrong key is reported as such instead of as corrupt data, and it is bound
// to its owner (for example the application id) as additional data, so a
// sealed token copied into another row does not open.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the key length: AES-256.
const KeySize = 32

// version prefixes every sealed value; a future format gets a new prefix.
const version = "v1"

// ErrWrongKey means a value was sealed under a different key.
var ErrWrongKey = errors.New("sealed with a different key")

// Key is an AES-256-GCM key.
type Key struct {
	aead cipher.AEAD
	id   string
}

// NewKey wraps 32 raw bytes.
func NewKey(raw []byte) (*Key, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("secrets key is %d bytes; it must be %d (base64 of 32 random bytes, e.g. `head -c32 /dev/urandom | base64`)", len(raw), KeySize)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(raw)
	return &Key{aead: aead, id: hex.EncodeToString(sum[:4])}, nil
}

// ParseKey decodes a key in its text form: standard base64 (padded or not)
// of 32 bytes, or 64 hex digits. Surrounding whitespace is ignored.
func ParseKey(text string) (*Key, error) {
	s := strings.TrimSpace(text)
	if len(s) == 2*KeySize {
		if raw, err := hex.DecodeString(s); err == nil {
			return NewKey(raw)
		}
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil {
		return nil, errors.New("secrets key is neither base64 nor hex (expected base64 of 32 random bytes)")
	}
	return NewKey(raw)
}

// LoadFile reads a key file.
func LoadFile(path string) (*Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secrets key file: %w", err)
	}
	k, err := ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("secrets key file %s: %w", path, err)
	}
	return k, nil
}

// LoadOrCreate reads the key file at path, creating it (mode 0600, 32 random
// bytes, base64) when it does not exist. created reports a new key.
func LoadOrCreate(path string) (k *Key, created bool, err error) {
	if _, err := os.Stat(path); err == nil {
		k, err := LoadFile(path)
		return k, false, err
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("secrets key file: %w", err)
	}
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("secrets key file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) { // another process created it first
		k, err := LoadFile(path)
		return k, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("secrets key file: %w", err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(raw) + "\n")
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(path)
		return nil, false, fmt.Errorf("secrets key file %s: %w", path, err)
	}
	k, err = NewKey(raw)
	return k, true, err
}

// ID names the key (8 hex digits of its SHA-256); it is not secret.
func (k *Key) ID() string { return k.id }

// Seal encrypts plaintext bound to owner: "v1:<key id>:<base64(nonce|ciphertext)>".
func (k *Key) Seal(plaintext, owner string) (string, error) {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	ct := k.aead.Seal(nonce, nonce, []byte(plaintext), []byte(owner))
	return version + ":" + k.id + ":" + base64.RawStdEncoding.EncodeToString(ct), nil
}

// Open decrypts a value produced by Seal for the same owner.
func (k *Key) Open(sealed, owner string) (string, error) {
	parts := strings.SplitN(sealed, ":", 3)
	if len(parts) != 3 || parts[0] != version {
		return "", errors.New("sealed value has an unknown format")
	}
	if parts[1] != k.id {
		return "", fmt.Errorf("%w: value needs key %s, the configured key is %s", ErrWrongKey, parts[1], k.id)
	}
	ct, err := base64.RawStdEncoding.DecodeString(parts[2])
	if err != nil || len(ct) < k.aead.NonceSize() {
		return "", errors.New("sealed value is corrupt")
	}
	n := k.aead.NonceSize()
	pt, err := k.aead.Open(nil, ct[:n], ct[n:], []byte(owner))
	if err != nil {
		return "", errors.New("sealed value does not authenticate (corrupt, or sealed for another owner)")
	}
	return string(pt), nil
}
