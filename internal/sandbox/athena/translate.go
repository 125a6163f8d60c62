package athena

import (
	"regexp"
	"sort"
	"strings"
)

// translation is a query rewritten from Athena's (Trino's) SQL into
// DuckDB's: ExecutionParameters bound in place of the ? markers,
// TIMESTAMP '... zone' literals as TIMESTAMPTZ, ARRAY(T) types as T[].
// Functions whose names or meanings differ are not rewritten here but
// defined as macros of the same names (see trinoMacros).
type translation struct {
	sql string
	// marks map offsets in sql to the original query's tokens, so that
	// errors DuckDB reports point at what the author wrote.
	marks []mark
}

type mark struct {
	at  int
	tok token
}

// translate rewrites a query for DuckDB. A query whose ? markers do not
// match its parameters fails with INVALID_PARAMETER_USAGE, as on Athena;
// parameters of a query without markers are ignored.
func translate(query string, params []string) (*translation, error) {
	toks, err := lex(query)
	if err != nil {
		return nil, err
	}
	if n := len(toks); n > 0 && toks[n-1].is(";") {
		toks = toks[:n-1]
	}
	markers := 0
	for _, t := range toks {
		if t.kind == tokParam {
			markers++
		}
	}
	if markers > 0 && markers != len(params) {
		return nil, userError("INVALID_PARAMETER_USAGE", errTypeGeneric, "Incorrect number of parameters: expected %d but found %d", markers, len(params))
	}
	tr := &translation{}
	var b strings.Builder
	used := 0
	w := &writer{query: query, b: &b, tr: tr}
	w.tokens(toks, func(t token) string {
		if t.kind != tokParam {
			return ""
		}
		v := parameterLiteral(params[used])
		used++
		return v
	})
	tr.sql = b.String()
	return tr, nil
}

// writer writes translated tokens with the text between them (white
// space, comments) as it was.
type writer struct {
	query string
	b     *strings.Builder
	tr    *translation
}

// tokens writes toks, asking replace first for each token's text (""
// keeps it).
func (w *writer) tokens(toks []token, replace func(token) string) {
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if i > 0 {
			w.b.WriteString(w.query[toks[i-1].end:t.start])
		}
		w.tr.marks = append(w.tr.marks, mark{at: w.b.Len(), tok: t})
		switch {
		case t.is("TIMESTAMP") && i+1 < len(toks) && toks[i+1].kind == tokString && zonePattern.MatchString(toks[i+1].value):
			w.b.WriteString("TIMESTAMPTZ")
		case t.is("ARRAY") && i+1 < len(toks) && toks[i+1].is("("):
			end := matchingParen(toks, i+1)
			if end < 0 {
				w.b.WriteString(t.text)
				continue
			}
			w.tokens(toks[i+2:end], replace)
			w.b.WriteString("[]")
			i = end
		default:
			if r := replace(t); r != "" {
				w.b.WriteString(r)
			} else {
				w.b.WriteString(t.text)
			}
		}
	}
}

// zonePattern finds a time zone after the time of a timestamp literal:
// Trino's TIMESTAMP '2025-06-01 00:00:00 UTC' has time zone, DuckDB's
// needs TIMESTAMPTZ for it.
var zonePattern = regexp.MustCompile(`\d:\d\d(:\d\d(\.\d+)?)?\s*([A-Za-z]|[+-]\d)`)

// matchingParen returns the index of the ) closing the ( at open, or -1.
func matchingParen(toks []token, open int) int {
	depth := 0
	for i := open; i < len(toks); i++ {
		switch {
		case toks[i].is("("):
			depth++
		case toks[i].is(")"):
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// literalWords are the keywords a parameter value may use and still be
// taken as an expression rather than a string.
var literalWords = map[string]bool{
	"true": true, "false": true, "null": true, "date": true, "timestamp": true, "time": true, "interval": true,
	"year": true, "month": true, "day": true, "hour": true, "minute": true, "second": true, "and": true, "or": true, "not": true,
}

// parameterLiteral is how Athena binds an ExecutionParameters value: a
// value that reads as an expression of literals ('abc', 42, DATE
// '2025-01-01', TIMESTAMP '... UTC', NULL) is that expression; anything
// else (a bare word, a value that does not parse) is a string.
func parameterLiteral(v string) string {
	toks, err := lex(v)
	expression := err == nil && len(toks) > 0
	for _, t := range toks {
		if (t.kind == tokIdent && !literalWords[strings.ToLower(t.text)]) || t.kind == tokQuoted || t.kind == tokBackquote || t.kind == tokParam {
			expression = false
		}
	}
	if !expression {
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	var b strings.Builder
	(&writer{query: v, b: &b, tr: &translation{}}).tokens(toks, func(token) string { return "" })
	return "(" + b.String() + ")"
}

// original finds the token of the original query at an offset of the
// translated one.
func (tr *translation) original(offset int) (token, bool) {
	i := sort.Search(len(tr.marks), func(i int) bool { return tr.marks[i].at > offset }) - 1
	if i < 0 {
		return token{}, false
	}
	return tr.marks[i].tok, true
}
