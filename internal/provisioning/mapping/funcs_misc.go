package mapping

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

func checkBitAnd(_ *checker, c *call) *syntaxError { return checkWhole(c, minInt, 0, 1) }

// evalBitAnd is the bitwise AND of two whole numbers; null in, null out.
func evalBitAnd(x *evalCtx, c *call) (Value, error) {
	a, null, err := x.integer(c.args[0], "BitAnd", "value1")
	if err != nil || null {
		return nil, err
	}
	b, null, err := x.integer(c.args[1], "BitAnd", "value2")
	if err != nil || null {
		return nil, err
	}
	return float64(a & b), nil
}

// evalGuid returns a random (version 4) GUID in lower case, reading the
// Env's Randomness when it has one.
func evalGuid(x *evalCtx, c *call) (Value, error) {
	var u [16]byte
	if _, err := io.ReadFull(x.random(), u[:]); err != nil {
		return nil, fmt.Errorf("expression: Guid: reading random bytes: %w", err)
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

// RandomString's character classes; the special characters are those of
// Windows' password complexity rules.
const (
	rsDigits  = "0123456789"
	rsSpecial = "~!@#$%^&*_-+=`|\\(){}[]:;\"'<>,.?/"
	rsUpper   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	rsLower   = "abcdefghijklmnopqrstuvwxyz"
	// MaxRandomStringLength is RandomString's documented maximum length.
	MaxRandomStringLength = 256
)

func checkRandomString(_ *checker, c *call) *syntaxError {
	if err := checkWhole(c, 0, 0, 1, 2, 3, 4); err != nil {
		return err
	}
	if n, ok := literalNumber(c.args[0]); ok && (n < 1 || n > MaxRandomStringLength) {
		return errAt(c.args[0], "RandomString expects a Length from 1 to %d, got %s", MaxRandomStringLength, formatNumber(n))
	}
	sum, all := 0.0, true
	for i := 1; i <= 4; i++ {
		n, ok := literalNumber(c.args[i])
		all = all && ok
		sum += n
	}
	if n, ok := literalNumber(c.args[0]); ok && all && sum > n {
		return errAt(c, "RandomString: the minimums add up to %s, more than the Length %s", formatNumber(sum), formatNumber(n))
	}
	return nil
}

// evalRandomString draws from the Env's Randomness (crypto/rand by default):
// first the minimum of each class, then the rest from all classes, then a
// shuffle. CharactersToAvoid are never used.
func evalRandomString(x *evalCtx, c *call) (Value, error) {
	var nums [5]int64
	for i := range nums {
		n, err := x.reqInt(c, i)
		if err != nil {
			return nil, err
		}
		nums[i] = n
	}
	length := nums[0]
	if length < 1 || length > MaxRandomStringLength {
		return nil, x.fail(c.args[0], "RandomString expects a Length from 1 to %d, got %d", MaxRandomStringLength, length)
	}
	avoid := ""
	if !isOmitted(c, 5) {
		var err error
		if avoid, _, err = x.text(c.args[5], "RandomString", "CharactersToAvoid"); err != nil {
			return nil, err
		}
	}
	keep := func(set string) string {
		return strings.Map(func(r rune) rune {
			if strings.ContainsRune(avoid, r) {
				return -1
			}
			return r
		}, set)
	}
	classes := []string{keep(rsDigits), keep(rsSpecial), keep(rsUpper), keep(rsLower)}
	names := []string{"MinimumNumbers", "MinimumSpecialCharacters", "MinimumCapital", "MinimumLowerCase"}
	var sum int64
	for i, n := range nums[1:] {
		if n < 0 {
			return nil, x.fail(c.args[i+1], "RandomString expects %s to be at least 0, got %d", names[i], n)
		}
		if n > 0 && classes[i] == "" {
			return nil, x.fail(c.args[5], "RandomString: CharactersToAvoid excludes every character %s could use", names[i])
		}
		sum += n
	}
	if sum > length {
		return nil, x.fail(c, "RandomString: the minimums add up to %d, more than the Length %d", sum, length)
	}
	all := strings.Join(classes, "")
	if all == "" {
		return nil, x.fail(c.args[5], "RandomString: CharactersToAvoid excludes every character")
	}
	rnd := &randInt{r: x.random()}
	out := make([]byte, 0, length)
	for i, n := range nums[1:] {
		for range n {
			out = append(out, classes[i][rnd.below(len(classes[i]))])
		}
	}
	for int64(len(out)) < length {
		out = append(out, all[rnd.below(len(all))])
	}
	for i := len(out) - 1; i > 0; i-- {
		j := rnd.below(i + 1)
		out[i], out[j] = out[j], out[i]
	}
	if rnd.err != nil {
		return nil, fmt.Errorf("expression: RandomString: reading random bytes: %w", rnd.err)
	}
	return string(out), nil
}

// randInt draws uniform integers from a byte stream by rejection sampling.
type randInt struct {
	r   io.Reader
	err error
	buf [8]byte
}

func (g *randInt) below(n int) int {
	if g.err != nil || n <= 1 {
		return 0
	}
	limit := ^uint64(0) - ^uint64(0)%uint64(n)
	for {
		if _, err := io.ReadFull(g.r, g.buf[:]); err != nil {
			g.err = err
			return 0
		}
		if v := binary.LittleEndian.Uint64(g.buf[:]); v < limit {
			return int(v % uint64(n))
		}
	}
}
