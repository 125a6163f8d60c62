package sigma

import (
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"
)

// selection is a search identifier: a list of maps matches when any map
// does, a map when every field test in it does.
type selection struct {
	name string
	alts [][]*fieldTest
}

func (s *selection) eval(r *Record) bool {
	for _, alt := range s.alts {
		if allTests(alt, r) {
			return true
		}
	}
	return false
}

func allTests(tests []*fieldTest, r *Record) bool {
	for _, t := range tests {
		if !t.eval(r) {
			return false
		}
	}
	return true
}

type testKind int

const (
	testValues testKind = iota
	testNull
	testExists
)

// fieldTest is one `field|modifiers: value(s)` entry of a selection.
type fieldTest struct {
	field    field
	kind     testKind
	exists   bool
	all      bool
	matchers []matcher
}

func (t *fieldTest) eval(r *Record) bool {
	switch t.kind {
	case testExists:
		return r.exists(&t.field) == t.exists
	case testNull:
		return len(r.values(&t.field)) == 0
	}
	vals := r.values(&t.field)
	if t.all {
		for _, m := range t.matchers {
			if !anyValue(m, vals) {
				return false
			}
		}
		return true
	}
	for _, m := range t.matchers {
		if anyValue(m, vals) {
			return true
		}
	}
	return false
}

func anyValue(m matcher, vals [][]byte) bool {
	for _, v := range vals {
		if m.match(v) {
			return true
		}
	}
	return false
}

// detection compiles the detection section into its condition; nil when
// anything in it is wrong.
func (p *parser) detection(n *yaml.Node) node {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "detection must be a mapping of search identifiers and a condition")
		return nil
	}
	before := len(p.errs)
	p.mapping(n)
	var cond *yaml.Node
	var sels []*selection
	seen := map[string]bool{}
	for _, kv := range pairs(n) {
		name := kv.key.Value
		if seen[name] {
			continue
		}
		seen[name] = true
		switch name {
		case "condition":
			cond = kv.value
		case "timeframe":
			p.unsupported(kv.key, "timeframe", "it counts events over a time window; this engine judges each event on its own")
		default:
			sels = append(sels, p.selection(kv.key, kv.value))
		}
	}
	if cond == nil {
		p.errorf(n, "detection has no condition")
		return nil
	}
	c := p.conditions(cond, sels)
	if len(p.errs) > before {
		return nil
	}
	return c
}

func (p *parser) selection(key, n *yaml.Node) *selection {
	s := &selection{name: key.Value}
	switch {
	case n.Kind == yaml.MappingNode:
		s.alts = append(s.alts, p.fieldTests(key.Value, n))
	case n.Kind == yaml.SequenceNode && len(n.Content) == 0:
		p.errorf(n, "search identifier %q is an empty list", key.Value)
	case n.Kind == yaml.SequenceNode:
		for _, item := range n.Content {
			item = deref(item)
			if item.Kind != yaml.MappingNode {
				p.keywords(item, key.Value)
				return s
			}
			s.alts = append(s.alts, p.fieldTests(key.Value, item))
		}
	case n.Kind == yaml.ScalarNode && n.Tag != "!!null":
		p.keywords(n, key.Value)
	default:
		p.errorf(n, "search identifier %q must be a map of fields or a list of maps", key.Value)
	}
	return s
}

func (p *parser) keywords(n *yaml.Node, name string) {
	p.unsupported(n, "keyword search", "search identifier %q lists plain values, which Sigma looks for anywhere in the event; name the CloudTrail field instead (requestParameters|contains: ...)", name)
}

func (p *parser) fieldTests(name string, m *yaml.Node) []*fieldTest {
	if len(m.Content) == 0 {
		p.errorf(m, "search identifier %q has an empty map", name)
		return nil
	}
	p.mapping(m)
	var out []*fieldTest
	seen := map[string]bool{}
	for _, kv := range pairs(m) {
		if seen[kv.key.Value] {
			continue
		}
		seen[kv.key.Value] = true
		if t := p.fieldTest(kv.key, kv.value); t != nil {
			out = append(out, t)
		}
	}
	return out
}

// unsupportedModifiers are the Sigma modifiers this engine refuses, with
// what they are for.
var unsupportedModifiers = map[string]string{
	"fieldref":     "it compares a field with another field of the same event",
	"base64":       "it encodes the value; CloudTrail records hold plain text",
	"base64offset": "it encodes the value; CloudTrail records hold plain text",
	"utf16le":      "it encodes the value; CloudTrail records hold plain text",
	"utf16be":      "it encodes the value; CloudTrail records hold plain text",
	"utf16":        "it encodes the value; CloudTrail records hold plain text",
	"wide":         "it encodes the value; CloudTrail records hold plain text",
	"windash":      "it expands Windows command line flags",
	"lt":           "numeric comparisons are not implemented",
	"lte":          "numeric comparisons are not implemented",
	"gt":           "numeric comparisons are not implemented",
	"gte":          "numeric comparisons are not implemented",
	"neq":          "use a filter selection with not in the condition instead",
	"minute":       "date parts are not implemented",
	"hour":         "date parts are not implemented",
	"day":          "date parts are not implemented",
	"week":         "date parts are not implemented",
	"month":        "date parts are not implemented",
	"year":         "date parts are not implemented",
	"expand":       "placeholders need values this engine is not given",
}

// modifiers are a field's modifiers; kind is the one that says how values
// compare: "" (equality with wildcards), contains, startswith, endswith,
// re, cidr or exists.
type modifiers struct {
	kind    string
	all     bool
	cased   bool
	reFlags string
}

func (p *parser) modifiers(key *yaml.Node, names []string) (modifiers, bool) {
	var mods modifiers
	seen := map[string]bool{}
	for _, m := range names {
		name := strings.ToLower(m)
		if seen[name] {
			p.errorf(key, "modifier %s is given twice", name)
			return mods, false
		}
		seen[name] = true
		switch name {
		case "contains", "startswith", "endswith", "re", "cidr", "exists":
			if mods.kind != "" {
				p.errorf(key, "modifier %s cannot be combined with %s", name, mods.kind)
				return mods, false
			}
			mods.kind = name
		case "all":
			mods.all = true
		case "cased":
			mods.cased = true
		case "i", "m", "s":
			if mods.kind != "re" {
				p.errorf(key, "modifier %s is a flag of re and must follow it (field|re|%s)", name, name)
				return mods, false
			}
			mods.reFlags += name
		default:
			if why, ok := unsupportedModifiers[name]; ok {
				p.unsupported(key, "the "+name+" modifier", "%s", why)
			} else {
				p.errorf(key, "unknown modifier %q", m)
			}
			return mods, false
		}
	}
	switch {
	case mods.kind == "exists" && (mods.all || mods.cased):
		p.errorf(key, "exists takes no other modifier")
		return mods, false
	case mods.cased && (mods.kind == "re" || mods.kind == "cidr"):
		p.errorf(key, "cased applies to string matching, not to %s (re is case-sensitive unless re|i)", mods.kind)
		return mods, false
	}
	return mods, true
}

func (p *parser) fieldTest(key, val *yaml.Node) *fieldTest {
	parts := strings.Split(key.Value, "|")
	name := parts[0]
	if name == "" {
		p.unsupported(key, "keyword search", "%q has modifiers but no field name; Sigma then looks for the values anywhere in the event", key.Value)
		return nil
	}
	path := strings.Split(name, ".")
	if slices.Contains(path, "") {
		p.errorf(key, "field name %q has an empty part", name)
		return nil
	}
	mods, ok := p.modifiers(key, parts[1:])
	if !ok {
		return nil
	}
	t := &fieldTest{field: field{name: name, path: path}, all: mods.all}

	if mods.kind == "exists" {
		if val.Kind != yaml.ScalarNode || val.Tag != "!!bool" {
			p.errorf(val, "%s|exists takes true or false", name)
			return nil
		}
		t.kind, t.exists = testExists, strings.EqualFold(val.Value, "true")
		return t
	}

	values := []*yaml.Node{val}
	if val.Kind == yaml.SequenceNode {
		values = values[:0]
		for _, item := range val.Content {
			values = append(values, deref(item))
		}
		if len(values) == 0 {
			p.errorf(val, "%s has an empty list of values", name)
			return nil
		}
	}
	for _, v := range values {
		if v.Kind != yaml.ScalarNode {
			p.errorf(v, "the values of %s must be strings, numbers, booleans or null", name)
			return nil
		}
		if v.Tag != "!!null" {
			continue
		}
		switch {
		case len(values) > 1:
			p.errorf(v, "null cannot be one of a list of values; put %s: null in a selection of its own", name)
			return nil
		case len(parts) > 1:
			p.errorf(v, "null takes no modifier")
			return nil
		}
		t.kind = testNull
		return t
	}
	if mods.all && len(values) < 2 {
		p.errorf(val, "all needs a list of two or more values")
		return nil
	}
	for _, v := range values {
		m := p.matcher(v, mods)
		if m == nil {
			return nil
		}
		t.matchers = append(t.matchers, m)
	}
	return t
}

func (p *parser) matcher(v *yaml.Node, mods modifiers) matcher {
	switch mods.kind {
	case "re":
		expr := v.Value
		if mods.reFlags != "" {
			expr = "(?" + mods.reFlags + ")" + expr
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			p.errorf(v, "re: %v (Go's RE2 syntax: no lookaround, no backreferences)", err)
			return nil
		}
		return regexMatcher{re}
	case "cidr":
		pfx, err := netip.ParsePrefix(strings.TrimSpace(v.Value))
		if err != nil {
			p.errorf(v, "cidr: %q is not a CIDR block such as 10.0.0.0/8 or 2001:db8::/32", v.Value)
			return nil
		}
		return cidrMatcher{pfx.Masked()}
	}
	return newGlob(v.Value, mods.kind, mods.cased)
}
