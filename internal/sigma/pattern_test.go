package sigma

import "testing"

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, kind string
		cased         bool
		match, miss   []string
	}{
		{pattern: "abc", match: []string{"abc", "ABC", "aBc"}, miss: []string{"abcd", "ab", ""}},
		{pattern: "abc", cased: true, match: []string{"abc"}, miss: []string{"ABC"}},
		{pattern: "a*c", match: []string{"ac", "abc", "a-long-c", "AXC"}, miss: []string{"ab", "cab"}},
		{pattern: "a*b*c", match: []string{"abc", "a1b2c", "abbbc", "ab-bc"}, miss: []string{"acb", "ab"}},
		// The middle part is taken leftmost; the last part is anchored.
		{pattern: "*ab*ab", match: []string{"abab", "xabyab", "ababab"}, miss: []string{"ab", "abax"}},
		{pattern: "a?c", match: []string{"abc", "a€c"}, miss: []string{"ac", "abbc"}},
		{pattern: "?*", match: []string{"x", "xyz"}, miss: []string{""}},
		{pattern: "*", match: []string{"", "anything"}},
		{pattern: "??", match: []string{"äö", "ab"}, miss: []string{"a", "abc"}},
		{pattern: "a", kind: "contains", match: []string{"a", "bab", "BAB"}, miss: []string{"bcd"}},
		{pattern: "ab", kind: "startswith", match: []string{"ab", "abc"}, miss: []string{"cab"}},
		{pattern: "ab", kind: "endswith", match: []string{"ab", "cab"}, miss: []string{"abc"}},
		{pattern: "", kind: "contains", match: []string{"", "x"}},
		// Escapes, as the specification lists them.
		{pattern: `a\*`, match: []string{"a*"}, miss: []string{"ab"}},
		{pattern: `a\?`, match: []string{"a?"}, miss: []string{"ab"}},
		{pattern: `a\b`, match: []string{`a\b`}, miss: []string{"ab"}},
		{pattern: `a\\b`, match: []string{`a\b`}, miss: []string{`a\\b`}},
		{pattern: `a\\*`, match: []string{`a\`, `a\xyz`}, miss: []string{"axyz"}},
		{pattern: `a\\\*`, match: []string{`a\*`}, miss: []string{`a\x`}},
		{pattern: `a\\\\`, match: []string{`a\\`}, miss: []string{`a\`}},
		// Case folding beyond ASCII, including a rune whose fold has
		// another width in UTF-8 (the Kelvin sign folds to k).
		{pattern: "*ärger", match: []string{"viel ÄRGER"}, miss: []string{"arger"}},
		{pattern: "k*", match: []string{"\u212aelvin"}},
		{pattern: "*k", match: []string{"\u212a"}},
	}
	for _, tt := range tests {
		g := newGlob(tt.pattern, tt.kind, tt.cased)
		for _, s := range tt.match {
			if !g.match([]byte(s)) {
				t.Errorf("%s %q (cased %v) does not match %q", tt.kind, tt.pattern, tt.cased, s)
			}
		}
		for _, s := range tt.miss {
			if g.match([]byte(s)) {
				t.Errorf("%s %q (cased %v) matches %q", tt.kind, tt.pattern, tt.cased, s)
			}
		}
	}
}
