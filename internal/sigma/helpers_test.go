package sigma

import (
	"errors"
	"strings"
	"testing"
)

// ruleDoc wraps a detection section (written without indentation) in a
// complete CloudTrail rule.
func ruleDoc(detection string) string {
	var b strings.Builder
	b.WriteString("title: Test rule\nid: 5f0c7a52-test\nlevel: high\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n")
	for l := range strings.SplitSeq(strings.TrimSpace(detection), "\n") {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

// selectionDoc is a rule whose condition is one selection with this entry
// (written without indentation).
func selectionDoc(entry string) string {
	return ruleDoc("selection:\n  " + entry + "\ncondition: selection")
}

func compileOne(t *testing.T, doc string) *Rule {
	t.Helper()
	rules, err := Compile([]string{doc})
	if err != nil {
		t.Fatalf("Compile: %v\n%s", err, doc)
	}
	return rules[0]
}

// record parses a CloudTrail record.
func record(t *testing.T, js string) *Record {
	t.Helper()
	r := &Record{}
	if err := r.Reset(js); err != nil {
		t.Fatalf("record %s: %v", js, err)
	}
	return r
}

// checkMatches reports the records of match that r does not match and
// those of miss that it does; records are written as parse takes them.
func checkMatches(t *testing.T, r *Rule, parse func(*testing.T, string) *Record, match, miss []string) {
	t.Helper()
	for _, m := range match {
		if !r.Match(parse(t, m)) {
			t.Errorf("does not match %s", m)
		}
	}
	for _, m := range miss {
		if r.Match(parse(t, m)) {
			t.Errorf("matches %s", m)
		}
	}
}

// compileErrors compiles documents that must be refused and returns each
// problem.
func compileErrors(t *testing.T, docs ...string) []*Error {
	t.Helper()
	_, err := Compile(docs)
	if err == nil {
		t.Fatalf("Compile accepted %q", docs)
	}
	return sigmaErrors(t, err)
}

// sigmaErrors undoes errors.Join: each problem must be an *Error.
func sigmaErrors(t *testing.T, err error) []*Error {
	t.Helper()
	var out []*Error
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var se *Error
		if !errors.As(e, &se) {
			t.Fatalf("error %v is a %T, not *Error", e, e)
		}
		out = append(out, se)
	}
	return out
}
