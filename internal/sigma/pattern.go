package sigma

import (
	"bytes"
	"net/netip"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// matcher tests one value of a record. Values are the parser's bytes, so
// that reading a record copies nothing.
type matcher interface {
	match(s []byte) bool
}

type regexMatcher struct{ re *regexp.Regexp }

func (m regexMatcher) match(s []byte) bool { return m.re.Match(s) }

type cidrMatcher struct{ prefix netip.Prefix }

func (m cidrMatcher) match(s []byte) bool {
	a, err := netip.ParseAddr(string(s))
	return err == nil && m.prefix.Contains(a.Unmap())
}

// anyRune stands for Sigma's ? wildcard in a glob part.
const anyRune rune = -1

// glob is a Sigma string value: literal parts between * wildcards, in
// which anyRune stands for ?. Matching folds case unless cased, rune by
// rune, so no value is lowered (and copied) per comparison.
type glob struct {
	parts [][]rune
	cased bool
	// literal is the whole value when it has no wildcard at all, the
	// common case, compared with bytes.Equal or bytes.EqualFold.
	literal   []byte
	isLiteral bool
}

// newGlob parses a value's wildcards and escapes as the specification
// says: \* and \? are the plain characters, \\ is one backslash, and a
// backslash before anything else is itself. contains, startswith and
// endswith add the wildcards they stand for.
func newGlob(value, kind string, cased bool) *glob {
	g := &glob{cased: cased}
	parts := [][]rune{nil}
	cur := 0
	wild := false
	for i := 0; i < len(value); {
		r, size := utf8.DecodeRuneInString(value[i:])
		i += size
		switch {
		case r == '\\' && i < len(value) && strings.IndexByte(`*?\`, value[i]) >= 0:
			parts[cur] = append(parts[cur], rune(value[i]))
			i++
		case r == '*':
			parts = append(parts, nil)
			cur++
			wild = true
		case r == '?':
			parts[cur] = append(parts[cur], anyRune)
			wild = true
		default:
			parts[cur] = append(parts[cur], r)
		}
	}
	if kind == "contains" || kind == "endswith" {
		parts = append([][]rune{nil}, parts...)
		wild = true
	}
	if kind == "contains" || kind == "startswith" {
		parts = append(parts, nil)
		wild = true
	}
	if !wild {
		g.literal, g.isLiteral = []byte(string(parts[0])), true
	}
	g.parts = parts
	return g
}

func (g *glob) match(s []byte) bool {
	if g.isLiteral {
		if g.cased {
			return bytes.Equal(s, g.literal)
		}
		return bytes.EqualFold(s, g.literal)
	}
	if len(g.parts) == 1 {
		end, ok := g.matchAt(s, 0, g.parts[0])
		return ok && end == len(s)
	}
	start, ok := g.matchAt(s, 0, g.parts[0])
	if !ok {
		return false
	}
	end, ok := g.matchBefore(s, len(s), g.parts[len(g.parts)-1])
	if !ok || end < start {
		return false
	}
	// Taking each middle part at its leftmost place is enough: parts have
	// a fixed number of runes, so an earlier place never stops a later
	// part from matching.
	for _, part := range g.parts[1 : len(g.parts)-1] {
		if start, ok = g.find(s[:end], start, part); !ok {
			return false
		}
	}
	return true
}

// find returns where the first match of part at or after i ends.
func (g *glob) find(s []byte, i int, part []rune) (int, bool) {
	for {
		if e, ok := g.matchAt(s, i, part); ok {
			return e, true
		}
		if i >= len(s) {
			return 0, false
		}
		_, size := utf8.DecodeRune(s[i:])
		i += size
	}
}

// matchAt matches part at byte i of s and returns where the match ends.
func (g *glob) matchAt(s []byte, i int, part []rune) (int, bool) {
	for _, pr := range part {
		if i >= len(s) {
			return 0, false
		}
		r, size := utf8.DecodeRune(s[i:])
		if pr != anyRune && !g.equal(pr, r) {
			return 0, false
		}
		i += size
	}
	return i, true
}

// matchBefore matches part so that it ends at byte end of s and returns
// where the match starts.
func (g *glob) matchBefore(s []byte, end int, part []rune) (int, bool) {
	for k := len(part) - 1; k >= 0; k-- {
		if end <= 0 {
			return 0, false
		}
		r, size := utf8.DecodeLastRune(s[:end])
		if part[k] != anyRune && !g.equal(part[k], r) {
			return 0, false
		}
		end -= size
	}
	return end, true
}

func (g *glob) equal(a, b rune) bool {
	if a == b {
		return true
	}
	if g.cased {
		return false
	}
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		return lowerASCII(a) == lowerASCII(b)
	}
	// Walk a's case orbit, as strings.EqualFold does.
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}

func lowerASCII(r rune) rune {
	if 'A' <= r && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}
