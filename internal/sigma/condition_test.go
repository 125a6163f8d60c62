package sigma

import (
	"strings"
	"testing"
)

// The selections each test one field, so a record is named by the fields
// it has: "ab" is {"a":"1","b":"1"}.
const conditionSelections = `
sel_a:
  a: '1'
sel_b:
  b: '1'
filter_c:
  c: '1'
_helper:
  d: '1'
`

func letters(t *testing.T, fields string) *Record {
	t.Helper()
	var parts []string
	for _, f := range fields {
		parts = append(parts, `"`+string(f)+`":"1"`)
	}
	return record(t, "{"+strings.Join(parts, ",")+"}")
}

func TestConditionForms(t *testing.T) {
	tests := []struct {
		condition   string
		match, miss []string
	}{
		{"sel_a and sel_b", []string{"ab", "abc"}, []string{"a", "b"}},
		{"sel_a or sel_b", []string{"a", "b"}, []string{"c", ""}},
		{"not sel_a", []string{"b", ""}, []string{"a", "ab"}},
		{"sel_a and not filter_c", []string{"a", "ab"}, []string{"ac"}},
		{"sel_a and (sel_b or filter_c)", []string{"ab", "ac"}, []string{"a", "bc"}},
		// and binds tighter than or, not tighter than and.
		{"sel_a or sel_b and filter_c", []string{"a", "bc"}, []string{"b", "c"}},
		{"not sel_a and sel_b", []string{"b"}, []string{"ab", ""}},
		{"not (sel_a and sel_b)", []string{"a", ""}, []string{"ab"}},
		{"1 of sel_*", []string{"a", "b"}, []string{"c", "d"}},
		{"any of sel_*", []string{"b"}, []string{"c"}},
		{"all of sel_*", []string{"ab"}, []string{"a", "bc"}},
		{"sel_a and not 1 of filter*", []string{"a"}, []string{"ac"}},
		// them leaves out identifiers starting with _.
		{"1 of them", []string{"a", "c"}, []string{"d", ""}},
		{"all of them", []string{"abc"}, []string{"ab", "abd"}},
		{"sel_a AND NOT filter_c", []string{"a"}, []string{"ac"}},
		{"(((sel_a)))", []string{"a"}, []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.condition, func(t *testing.T) {
			checkMatches(t, compileOne(t, ruleDoc(conditionSelections+"condition: "+tt.condition)), letters, tt.match, tt.miss)
		})
	}
}

// A list of conditions matches when any of them does.
func TestConditionList(t *testing.T) {
	r := compileOne(t, ruleDoc(conditionSelections+"condition:\n  - sel_a and sel_b\n  - filter_c"))
	checkMatches(t, r, letters, []string{"ab", "c"}, []string{"a", "b"})
}
