// Package secret issues and checks bearer tokens: 256-bit random secrets
// shown once, stored only as their SHA-256, compared in constant time.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
)

// MaxLen bounds a presented token so hashing cost cannot be abused.
const MaxLen = 512

// New returns a fresh secret with the given prefix (which lets secret
// scanners recognise leaked tokens) and its at-rest hash.
func New(prefix string) (secret, hash string, err error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", "", err
	}
	secret = prefix + base64.RawURLEncoding.EncodeToString(raw)
	return secret, Hash(secret), nil
}

// Hash is the at-rest form: SHA-256, hex. The secrets carry 256 bits of
// randomness, so a fast hash suffices (there is no dictionary to attack).
func Hash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// Equal compares two hashes in constant time.
func Equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
