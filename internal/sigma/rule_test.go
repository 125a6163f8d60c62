package sigma

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

const validHeader = "title: Test rule\nid: 5f0c7a52-test\nlevel: high\nlogsource:\n  product: aws\n  service: cloudtrail\n"

func TestRuleMetadata(t *testing.T) {
	doc := `title: Trail logging stopped
id: 0d6f0f4e-1c1b-4a52-9a7e-0c1f3f1b2a01
status: experimental
description: A trail was stopped or deleted, so API calls go unrecorded.
references:
  - https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_StopLogging.html
author: opsaudit
date: 2025-03-01
tags:
  - attack.defense-evasion
  - attack.t1562.008
  - attack.g0016
  - cve.2021-0001
logsource:
  product: AWS
  service: CloudTrail
  definition: management events
detection:
  selection:
    eventSource: cloudtrail.amazonaws.com
    eventName: [StopLogging, DeleteTrail]
  condition: selection
falsepositives:
  - Planned trail migration
  - Test accounts
level: Informational
`
	r := compileOne(t, doc)
	if r.ID != "0d6f0f4e-1c1b-4a52-9a7e-0c1f3f1b2a01" || r.Title != "Trail logging stopped" || r.Level != "informational" ||
		r.Description != "A trail was stopped or deleted, so API calls go unrecorded." {
		t.Fatalf("rule %+v", r)
	}
	if !slices.Equal(r.References, []string{"https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_StopLogging.html"}) ||
		!slices.Equal(r.Tags, []string{"attack.defense-evasion", "attack.t1562.008", "attack.g0016", "cve.2021-0001"}) ||
		!slices.Equal(r.Attack, []string{"T1562.008", "G0016"}) ||
		!slices.Equal(r.FalsePositives, []string{"Planned trail migration", "Test accounts"}) {
		t.Fatalf("lists %+v", r)
	}
	if !r.Match(record(t, `{"eventSource":"cloudtrail.amazonaws.com","eventName":"DeleteTrail"}`)) {
		t.Fatal("flow-style list of values does not match")
	}
	// A single string is a list of one, as older rules write it.
	r = compileOne(t, strings.Replace(selectionDoc("eventName: X"), "level: high\n", "level: low\nfalsepositives: Unknown\n", 1))
	if !slices.Equal(r.FalsePositives, []string{"Unknown"}) {
		t.Fatalf("falsepositives %q", r.FalsePositives)
	}
}

// Every way a document is refused: the error names the rule, locates the
// problem and, for what is valid Sigma but not supported, the feature.
func TestCompileErrors(t *testing.T) {
	sel := "selection:\n  eventName: X\n"
	tests := []struct {
		name         string
		doc          string
		line, column int
		feature      string
		contains     string
	}{
		// Detection lines start at 8 in ruleDoc.
		{name: "timeframe", doc: ruleDoc(sel + "timeframe: 5m\ncondition: selection"), line: 10, column: 3, feature: "timeframe"},
		{name: "aggregation", doc: ruleDoc(sel + "condition: selection | count() by userIdentity.arn > 5"), line: 10, column: 24, feature: "aggregation", contains: `"| count() by userIdentity.arn > 5"`},
		{name: "near", doc: ruleDoc(sel + "condition: selection | near filter"), line: 10, column: 24, feature: "aggregation"},
		{name: "2 of", doc: ruleDoc(sel + "condition: 2 of sel*"), line: 10, column: 14, feature: "2 of"},
		{name: "keyword list", doc: ruleDoc("keywords:\n  - evil\n  - bad\ncondition: keywords"), line: 9, column: 7, feature: "keyword search"},
		{name: "keyword with all", doc: ruleDoc("keywords:\n  '|all':\n    - a\n    - b\ncondition: keywords"), line: 9, feature: "keyword search"},
		{name: "keyword scalar", doc: ruleDoc("keywords: evil\ncondition: keywords"), line: 8, feature: "keyword search"},
		{name: "fieldref", doc: selectionDoc("userIdentity.arn|fieldref: requestParameters.userName"), line: 9, column: 5, feature: "the fieldref modifier"},
		{name: "unknown modifier", doc: selectionDoc("eventName|containz: X"), line: 9, contains: `unknown modifier "containz"`},
		{name: "modifier twice", doc: selectionDoc("eventName|contains|contains: X"), line: 9, contains: "modifier contains is given twice"},
		{name: "two kinds", doc: selectionDoc("eventName|contains|startswith: X"), line: 9, contains: "startswith cannot be combined with contains"},
		{name: "re flag without re", doc: selectionDoc("eventName|i: X"), line: 9, contains: "flag of re"},
		{name: "exists not a boolean", doc: selectionDoc("eventName|exists: yes"), line: 9, column: 23, contains: "takes true or false"},
		{name: "exists with all", doc: selectionDoc("eventName|exists|all: true"), line: 9, contains: "exists takes no other modifier"},
		{name: "cased with re", doc: selectionDoc("eventName|re|cased: X"), line: 9, contains: "cased applies to string matching"},
		{name: "null in a list", doc: selectionDoc("errorCode:\n    - ''\n    - null"), line: 11, contains: "null cannot be one of a list"},
		{name: "null with a modifier", doc: selectionDoc("errorCode|contains: null"), line: 9, contains: "null takes no modifier"},
		{name: "all with one value", doc: selectionDoc("userAgent|contains|all: x"), line: 9, contains: "all needs a list of two or more values"},
		{name: "empty list of values", doc: selectionDoc("eventName: []"), line: 9, contains: "empty list of values"},
		{name: "value is a map", doc: selectionDoc("eventName:\n    a: b"), line: 10, contains: "must be strings, numbers, booleans or null"},
		{name: "regex RE2 lacks", doc: selectionDoc("eventName|re: '(?<=Delete)Trail'"), line: 9, contains: "RE2"},
		{name: "bad cidr", doc: selectionDoc("sourceIPAddress|cidr: 10.0.0.0/33"), line: 9, contains: "not a CIDR block"},
		{name: "empty field part", doc: selectionDoc("userIdentity..type: Root"), line: 9, contains: "empty part"},
		{name: "empty selection map", doc: ruleDoc("selection: {}\ncondition: selection"), line: 8, contains: "empty map"},
		{name: "empty selection list", doc: ruleDoc("selection: []\ncondition: selection"), line: 8, contains: "empty list"},
		{name: "repeated field", doc: selectionDoc("eventName: A\n  eventName: B"), line: 10, contains: `key "eventName" repeats the key on line 9`},
		{name: "repeated search identifier", doc: ruleDoc(sel + "selection:\n  eventName: Y\ncondition: selection"), line: 10, contains: `key "selection" repeats`},
		{name: "undefined identifier", doc: ruleDoc(sel + "condition: selection and not filter"), line: 10, column: 32, contains: `undefined search identifier "filter"`},
		{name: "pattern without of", doc: ruleDoc(sel + "condition: sel*"), line: 10, column: 14, contains: "sel* is a pattern"},
		{name: "pattern matching nothing", doc: ruleDoc(sel + "condition: selection and not 1 of filter_*"), line: 10, column: 37, contains: "no search identifier matches"},
		{name: "of without a target", doc: ruleDoc(sel + "condition: 1 of"), line: 10, contains: "needs a search identifier pattern or them"},
		{name: "missing )", doc: ruleDoc(sel + "condition: (selection"), line: 10, column: 24, contains: "missing )"},
		{name: "stray )", doc: ruleDoc(sel + "condition: selection)"), line: 10, column: 23, contains: "unexpected \")\" after a complete condition"},
		{name: "two identifiers", doc: ruleDoc(sel + "condition: selection selection"), line: 10, column: 24, contains: `unexpected "selection"`},
		{name: "operator without operand", doc: ruleDoc(sel + "condition: selection and"), line: 10, contains: "condition ends where a search identifier is expected"},
		{name: "keyword as operand", doc: ruleDoc(sel + "condition: selection and or selection"), line: 10, column: 28, contains: `unexpected "or"`},
		{name: "quoted condition column", doc: ruleDoc(sel + "condition: 'selection and filter'"), line: 10, column: 29, contains: `"filter"`},
		{name: "literal block condition line", doc: ruleDoc(sel + "condition: |\n  selection and\n  filter"), line: 12, contains: `"filter"`},
		{name: "empty condition", doc: ruleDoc(sel + "condition: ''"), line: 10, contains: "condition is empty"},
		{name: "condition is a map", doc: ruleDoc(sel + "condition:\n  a: b"), line: 11, contains: "condition must be a string"},
		{name: "condition list of lists", doc: ruleDoc(sel + "condition:\n  - [selection]"), line: 11, contains: "each condition of the list must be a string"},
		{name: "no condition", doc: ruleDoc(sel), line: 8, contains: "detection has no condition"},

		{name: "invalid YAML", doc: validHeader + "detection:\n  selection: eventName: X\n  condition: selection\n", line: 8, contains: "invalid YAML: mapping values are not allowed in this context"},
		{name: "tab indentation", doc: validHeader + "detection:\n\tselection: x\n", line: 8, contains: "invalid YAML"},
		// Parser errors, which the YAML library's v3 numbered from 0.
		{name: "unclosed flow sequence", doc: validHeader + "detection:\n  selection:\n    eventName: [A, B\n  condition: selection\n", line: 10, column: 12,
			contains: "invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence that starts at line 9, column 16)"},
		{name: "sequence item in a mapping", doc: validHeader + "detection:\n  selection:\n    eventName: A\n  - condition\n", line: 10, column: 3,
			contains: "invalid YAML: did not find expected key (while parsing a block mapping that starts at line 8, column 3)"},
		{name: "empty document", doc: "", contains: "the document is empty"},
		{name: "comment only", doc: "# nothing\n", contains: "the document is empty"},
		{name: "not a mapping", doc: "- title: x\n", line: 1, contains: "a Sigma rule is a YAML mapping"},
		{name: "no title", doc: strings.Replace(ruleDoc(sel+"condition: selection"), "title: Test rule\n", "", 1), line: 1, contains: "title is missing"},
		{name: "empty title", doc: strings.Replace(ruleDoc(sel+"condition: selection"), "title: Test rule", "title: ' '", 1), line: 1, column: 8, contains: "title must not be empty"},
		{name: "no id", doc: strings.Replace(ruleDoc(sel+"condition: selection"), "id: 5f0c7a52-test\n", "", 1), line: 1, contains: "id is missing"},
		{name: "no level", doc: strings.Replace(ruleDoc(sel+"condition: selection"), "level: high\n", "", 1), line: 1, contains: "level is missing"},
		{name: "unknown level", doc: strings.Replace(ruleDoc(sel+"condition: selection"), "level: high", "level: urgent", 1), line: 3, column: 8, contains: `level "urgent" is not one of informational, low, medium, high, critical`},
		{name: "no logsource", doc: strings.Replace(ruleDoc(sel+"condition: selection"), "logsource:\n  product: aws\n  service: cloudtrail\n", "", 1), line: 1, contains: "logsource is missing"},
		{name: "other logsource", doc: strings.Replace(ruleDoc(sel+"condition: selection"), "product: aws\n  service: cloudtrail", "product: windows\n  category: process_creation", 1), line: 5,
			contains: "only CloudTrail rules are taken: logsource must be product: aws, service: cloudtrail, not product: windows, category: process_creation"},
		{name: "cloudtrail with a category", doc: strings.Replace(ruleDoc(sel+"condition: selection"), "service: cloudtrail", "service: cloudtrail\n  category: network", 1), line: 5, contains: "not product: aws, service: cloudtrail, category: network"},
		{name: "logsource not a mapping", doc: strings.Replace(ruleDoc(sel+"condition: selection"), "logsource:\n  product: aws\n  service: cloudtrail", "logsource: aws", 1), line: 4, contains: "logsource must be a mapping"},
		{name: "no detection", doc: validHeader, line: 1, contains: "detection is missing"},
		{name: "detection not a mapping", doc: validHeader + "detection: selection\n", line: 7, contains: "detection must be a mapping"},
		{name: "description not a string", doc: strings.Replace(ruleDoc(sel+"condition: selection"), "level: high\n", "level: high\ndescription: [a, b]\n", 1), line: 4, contains: "description must be a string"},
		{name: "references not a list", doc: strings.Replace(ruleDoc(sel+"condition: selection"), "level: high\n", "level: high\nreferences:\n  a: b\n", 1), line: 5, contains: "references must be a list of strings"},
		{name: "tag not a string", doc: strings.Replace(ruleDoc(sel+"condition: selection"), "level: high\n", "level: high\ntags:\n  - [a]\n", 1), line: 5, contains: "tags entries must be a string"},
		{name: "repeated top-level key", doc: strings.Replace(ruleDoc(sel+"condition: selection"), "level: high\n", "level: high\nlevel: low\n", 1), line: 4, contains: `key "level" repeats the key on line 3`},
		{name: "rule collection", doc: ruleDoc(sel+"condition: selection") + "---\n" + validHeader, line: 11, feature: "a rule collection"},
		{name: "action global", doc: "action: global\n" + ruleDoc(sel+"condition: selection"), line: 1, feature: "a rule collection"},
		{name: "correlation rule", doc: ruleDoc(sel+"condition: selection") + "correlation:\n  type: event_count\n", line: 11, feature: "correlation rules"},
		{name: "filter rule", doc: ruleDoc(sel+"condition: selection") + "filter:\n  rules: [x]\n", line: 11, feature: "filter rules"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := compileErrors(t, tt.doc)
			var e *Error
			for _, x := range errs {
				if x.Feature == tt.feature && strings.Contains(x.Message, tt.contains) {
					e = x
					break
				}
			}
			if e == nil {
				t.Fatalf("no error with feature %q and %q among %v", tt.feature, tt.contains, errs)
			}
			if e.Line != tt.line || tt.column != 0 && e.Column != tt.column {
				t.Errorf("at %d:%d, want %d:%d (%v)", e.Line, e.Column, tt.line, tt.column, e)
			}
			if e.Index != 0 {
				t.Errorf("index %d", e.Index)
			}
			parsed := !strings.HasPrefix(e.Message, "invalid YAML")
			if parsed && strings.Contains(tt.doc, "5f0c7a52-test") && tt.name != "no id" && e.RuleID != "5f0c7a52-test" {
				t.Errorf("rule id %q in %v", e.RuleID, e)
			}
		})
	}
}

// Each modifier of the specification this engine does not implement is
// refused by name.
func TestUnsupportedModifiers(t *testing.T) {
	for _, m := range slices.Sorted(maps.Keys(unsupportedModifiers)) {
		errs := compileErrors(t, selectionDoc("eventName|"+m+": X"))
		if len(errs) != 1 || errs[0].Feature != "the "+m+" modifier" || errs[0].Line != 9 {
			t.Errorf("%s: %v", m, errs)
		}
	}
}

func TestErrorText(t *testing.T) {
	good := selectionDoc("eventName: X")
	errs := compileErrors(t, good, selectionDoc("userIdentity.arn|fieldref: requestParameters.userName"))
	want := `Sigma rule 2 (id 5f0c7a52-test) "Test rule", line 9, column 5: the fieldref modifier is not supported: it compares a field with another field of the same event`
	if len(errs) != 1 || errs[0].Error() != want {
		t.Fatalf("got %v\nwant %s", errs, want)
	}
	errs = compileErrors(t, good, good)
	want = `Sigma rule 2 (id 5f0c7a52-test) "Test rule", line 2, column 5: id 5f0c7a52-test is also the id of Sigma rule 1`
	if len(errs) != 1 || errs[0].Index != 1 || errs[0].Error() != want {
		t.Fatalf("got %v\nwant %s", errs, want)
	}
}

// Compile reports every problem of every document and gives the rules of
// the good ones in document order.
func TestCompileSeveralDocuments(t *testing.T) {
	good := func(id string) string {
		return strings.Replace(selectionDoc("eventName: X"), "5f0c7a52-test", id, 1)
	}
	bad := strings.Replace(ruleDoc("selection:\n  eventName|base64: X\n  errorCode|lt: 3\ncondition: selection and filter"), "5f0c7a52-test", "bad", 1)
	rules, err := Compile([]string{good("one"), bad, good("three")})
	if err == nil {
		t.Fatal("no error")
	}
	if len(rules) != 3 || rules[0].ID != "one" || rules[1] != nil || rules[2].ID != "three" {
		t.Fatalf("rules %v", rules)
	}
	var features []string
	for _, se := range sigmaErrors(t, err) {
		if se.Index != 1 || se.RuleID != "bad" {
			t.Errorf("error %v", se)
		}
		features = append(features, se.Feature+"|"+se.Message)
	}
	if len(features) != 3 || !strings.HasPrefix(features[0], "the base64 modifier|") || !strings.HasPrefix(features[1], "the lt modifier|") ||
		!strings.Contains(features[2], `undefined search identifier "filter"`) {
		t.Fatalf("errors %q", features)
	}
}

// Only accepted rules claim their id: a refused document does not make a
// later one with the same id a duplicate.
func TestRefusedDocumentClaimsNoID(t *testing.T) {
	rules, err := Compile([]string{selectionDoc("eventName|base64: X"), selectionDoc("eventName: X")})
	errs := sigmaErrors(t, err)
	if len(errs) != 1 || errs[0].Index != 0 || rules[0] != nil || rules[1] == nil {
		t.Fatalf("rules %v errors %v", rules, errs)
	}
}
