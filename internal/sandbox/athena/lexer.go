package athena

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokenKind is the lexical class of a token of Athena SQL.
type tokenKind int

const (
	tokIdent     tokenKind = iota // unquoted identifier or keyword
	tokQuoted                     // "double-quoted identifier"
	tokBackquote                  // `back-quoted identifier` (Hive DDL only)
	tokString                     // 'string literal'
	tokNumber
	tokParam  // ?
	tokSymbol // punctuation and operators
)

// token is one token of a statement, with where it starts in the
// statement (byte offset, and the 1-based line and column Athena's
// messages use).
type token struct {
	kind tokenKind
	// text is the token as written; for quoted identifiers and strings,
	// value is what they stand for (quotes removed, doubled quotes
	// undone).
	text, value string
	start, end  int
	line, col   int
}

// is reports whether the token is the keyword kw (case-insensitive), or
// the symbol kw.
func (t token) is(kw string) bool {
	switch t.kind {
	case tokIdent:
		return strings.EqualFold(t.text, kw)
	case tokSymbol:
		return t.text == kw
	}
	return false
}

// name is the identifier a token stands for, as Athena folds it: unquoted
// names in lower case, quoted ones as written.
func (t token) name() string {
	switch t.kind {
	case tokQuoted, tokBackquote:
		return t.value
	}
	return strings.ToLower(t.text)
}

func (t token) isName() bool {
	return t.kind == tokIdent || t.kind == tokQuoted || t.kind == tokBackquote
}

// syntaxError is a statement Athena's parser rejects: StartQueryExecution
// answers it with InvalidRequestException (MALFORMED_QUERY).
type syntaxError struct {
	line, col int
	msg       string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("line %d:%d: %s", e.line, e.col, e.msg) }

// lex splits a statement into tokens, dropping white space and comments
// (-- to the end of the line, /* ... */). Written by hand because no Go
// library reads Trino's and Hive's lexical rules together: both quote
// styles, ? parameters, and the line:column positions Athena's messages
// report.
func lex(sql string) ([]token, error) {
	var toks []token
	line, lineStart := 1, 0
	pos := func(i int) (int, int) { return line, utf8.RuneCountInString(sql[lineStart:i]) + 1 }
	i := 0
	for i < len(sql) {
		c := sql[i]
		switch {
		case c == '\n':
			i++
			line, lineStart = line+1, i
			continue
		case c == ' ' || c == '\t' || c == '\r' || c == '\f':
			i++
			continue
		case strings.HasPrefix(sql[i:], "--"):
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
			continue
		case strings.HasPrefix(sql[i:], "/*"):
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				l, col := pos(i)
				return nil, &syntaxError{l, col, "unterminated comment"}
			}
			for _, r := range sql[i : i+2+end+2] {
				if r == '\n' {
					line++
				}
			}
			i += 2 + end + 2
			if nl := strings.LastIndexByte(sql[:i], '\n'); nl >= 0 {
				lineStart = nl + 1
			}
			continue
		}
		l, col := pos(i)
		t := token{start: i, line: l, col: col}
		switch {
		case c == '\'' || c == '"' || c == '`':
			value, n, ok := quoted(sql[i:], c)
			if !ok {
				return nil, &syntaxError{l, col, fmt.Sprintf("mismatched input '%c'. Unterminated quoted text", c)}
			}
			t.kind, t.value = map[byte]tokenKind{'\'': tokString, '"': tokQuoted, '`': tokBackquote}[c], value
			for _, r := range sql[i : i+n] {
				if r == '\n' {
					line++
				}
			}
			i += n
			if nl := strings.LastIndexByte(sql[:i], '\n'); nl >= t.start {
				lineStart = nl + 1
			}
		case isDigit(c) || (c == '.' && i+1 < len(sql) && isDigit(sql[i+1])):
			t.kind = tokNumber
			i = scanNumber(sql, i)
		case c == '?':
			t.kind = tokParam
			i++
		case isIdentStart(sql[i:]):
			t.kind = tokIdent
			for i < len(sql) {
				r, n := utf8.DecodeRuneInString(sql[i:])
				if r != '_' && r != '$' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					break
				}
				i += n
			}
		default:
			t.kind = tokSymbol
			i += symbolLength(sql[i:])
		}
		t.end = i
		t.text = sql[t.start:t.end]
		toks = append(toks, t)
	}
	return toks, nil
}

// quoted reads a literal opened by q, where a doubled q stands for one;
// n is its length including the quotes.
func quoted(s string, q byte) (value string, n int, ok bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != q {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == q {
			b.WriteByte(q)
			i++
			continue
		}
		return b.String(), i + 1, true
	}
	return "", 0, false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentStart(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return r == '_' || unicode.IsLetter(r)
}

// scanNumber returns the end of the number starting at i: digits, a
// fraction, an exponent.
func scanNumber(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i+1 < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if s[j] == '+' || s[j] == '-' {
			j++
		}
		if j < len(s) && isDigit(s[j]) {
			i = j
			for i < len(s) && isDigit(s[i]) {
				i++
			}
		}
	}
	return i
}

// symbols are the operators of more than one character; longest first.
var symbols = []string{"<>", "<=", ">=", "!=", "||", "->", "=>", "::"}

func symbolLength(s string) int {
	for _, sym := range symbols {
		if strings.HasPrefix(s, sym) {
			return len(sym)
		}
	}
	_, n := utf8.DecodeRuneInString(s)
	return n
}
