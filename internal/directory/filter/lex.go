package filter

import (
	"encoding/json"
	"fmt"
	"strings"
)

// tokKind classifies a token. The lexer does not decide what a word means
// (attribute path, operator, keyword or unquoted value): only its position in
// the grammar does, which is what lets `externalId eq jyoung` parse.
type tokKind uint8

const (
	tEOF    tokKind = iota
	tWord           // a run of characters up to whitespace, a bracket, a parenthesis or a quote
	tString         // a JSON string literal; val holds the decoded text
	tLParen         // (
	tRParen         // )
	tLBrack         // [
	tRBrack         // ]
)

type token struct {
	kind tokKind
	text string // the source text
	val  string // the decoded value of a string literal
	pos  int    // byte offset in the source
}

// lexError is a lexical error at a byte offset; the parser turns it into a
// fault.Error of its own kind.
type lexError struct {
	pos int
	msg string
}

// lex splits s into tokens. Whitespace is space, tab, CR or LF: the RFC asks
// for single spaces, but clients that build filters by hand are not that
// careful and nothing is ambiguous about accepting more.
func lex(s string) ([]token, *lexError) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch c {
		case ' ', '\t', '\r', '\n':
			i++
			continue
		case '(':
			toks = append(toks, token{kind: tLParen, text: "(", pos: i})
			i++
			continue
		case ')':
			toks = append(toks, token{kind: tRParen, text: ")", pos: i})
			i++
			continue
		case '[':
			toks = append(toks, token{kind: tLBrack, text: "[", pos: i})
			i++
			continue
		case ']':
			toks = append(toks, token{kind: tRBrack, text: "]", pos: i})
			i++
			continue
		case '"':
			t, err := lexString(s, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i += len(t.text)
			continue
		}
		start := i
		for i < len(s) && !strings.ContainsRune(" \t\r\n()[]\"", rune(s[i])) {
			i++
		}
		toks = append(toks, token{kind: tWord, text: s[start:i], pos: start})
	}
	return append(toks, token{kind: tEOF, pos: len(s)}), nil
}

// lexString reads the JSON string literal starting at s[start] == '"'.
// compValue follows JSON (RFC 7159) rules, so encoding/json decodes it: that
// rejects control characters and unknown escapes and handles \uXXXX pairs.
func lexString(s string, start int) (token, *lexError) {
	i := start + 1
	for i < len(s) {
		switch s[i] {
		case '\\':
			i += 2
			continue
		case '"':
			raw := s[start : i+1]
			var v string
			if err := json.Unmarshal([]byte(raw), &v); err != nil {
				return token{}, &lexError{start, fmt.Sprintf("malformed string %s at position %d: use JSON escapes (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX) and no control characters", quote(raw), start+1)}
			}
			if strings.IndexByte(v, 0) >= 0 {
				return token{}, &lexError{start, fmt.Sprintf("the string at position %d contains a NUL character (\\u0000)", start+1)}
			}
			return token{kind: tString, text: raw, val: v, pos: start}, nil
		}
		i++
	}
	return token{}, &lexError{start, fmt.Sprintf("unterminated string starting at position %d", start+1)}
}

// quote renders source text for an error message, shortened so that a 4 KiB
// filter does not echo itself into the response.
func quote(s string) string {
	const max = 100
	if len(s) > max {
		cut := max
		for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
			cut--
		}
		return fmt.Sprintf("%q...", s[:cut])
	}
	return fmt.Sprintf("%q", s)
}

// describe names a token for "expected X, got Y" messages.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "the end of the input"
	case tString:
		return "the string " + quote(t.text)
	case tWord:
		return quote(t.text)
	}
	return `"` + t.text + `"`
}
