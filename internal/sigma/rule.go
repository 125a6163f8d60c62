// Package sigma compiles Sigma detection rules (the SigmaHQ format) for AWS
// CloudTrail into matchers over CloudTrail records. It is pure: YAML text in,
// decoded JSON records in, no AWS and no Terraform.
//
// It is written here because no Sigma engine for Go is available from the
// module proxy, and Sigma's own tooling (pySigma) converts rules into SIEM
// queries rather than matching events in process.
//
// Supported, as the Sigma specification defines them: selections as maps
// (every field) and lists of maps (any); a value or a list of values (any,
// every with |all); null; the modifiers contains, startswith, endswith, re
// (with its i, m and s flags), cidr, all, exists and cased; the wildcards *
// and ? with backslash escapes; conditions with and, or, not, parentheses,
// "1 of"/"any of"/"all of" a name pattern or "them", and lists of
// conditions. String matching ignores case unless |cased; regular
// expressions are case-sensitive unless |re|i, and match anywhere in the
// value (a search, as PCRE does), in Go's RE2 syntax.
//
// Field names are CloudTrail's, dotted into nested objects
// (userIdentity.type). A field holding an object is matched as its JSON text
// (compact, keys in the record's order); an array is matched element by
// element; numbers and booleans as their JSON text; a null or absent field
// matches only null. The exists modifier counts a null field as present, as
// the specification says.
//
// Everything else is refused with an *Error naming the feature: keyword
// searches, aggregations (| count() ..., | near ...), timeframe, other modifiers
// (fieldref, base64, windash, lt, neq, expand, ...), correlation and filter
// documents, rule collections.
package sigma

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v4"
)

// levels, least severe first, as Sigma spells them.
var levels = []string{"informational", "low", "medium", "high", "critical"}

// Rule is a compiled Sigma rule.
type Rule struct {
	ID          string
	Title       string
	Description string
	// Level is informational, low, medium, high or critical.
	Level          string
	References     []string
	Tags           []string
	FalsePositives []string
	// Attack are the MITRE ATT&CK technique, group and software ids among
	// the tags (attack.t1078.004 gives T1078.004); tactics are left out.
	Attack []string

	condition node
}

// Match reports whether the record meets the rule's condition; a record
// that did not parse meets none.
func (r *Rule) Match(rec *Record) bool {
	return rec.root != nil && r.condition.eval(rec)
}

// Error is a Sigma document that cannot be used.
type Error struct {
	// Index is the document's position in the list given to Compile, from 0.
	Index int
	// RuleID and Title are the rule's, when the document got that far.
	RuleID string
	Title  string
	// Line and Column locate the problem in the document, from 1; 0 when
	// unknown.
	Line   int
	Column int
	// Feature names the Sigma feature this engine does not support; empty
	// when the document is malformed rather than unsupported.
	Feature string
	Message string
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Sigma rule %d", e.Index+1)
	if e.RuleID != "" {
		fmt.Fprintf(&b, " (id %s)", e.RuleID)
	}
	if e.Title != "" {
		fmt.Fprintf(&b, " %q", e.Title)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, ", line %d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ", column %d", e.Column)
		}
	}
	if e.Feature != "" {
		fmt.Fprintf(&b, ": %s is not supported: %s", e.Feature, e.Message)
	} else {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	return b.String()
}

// Compile parses and compiles Sigma documents, one rule each: rules[i] is
// docs[i]'s rule, nil when that document is refused. Every problem of every
// document is returned, joined; each is an *Error. Ids must be unique.
func Compile(docs []string) ([]*Rule, error) {
	rules := make([]*Rule, len(docs))
	var errs []error
	seen := map[string]int{}
	for i, doc := range docs {
		p := &parser{}
		r := p.rule(doc)
		if first, dup := seen[p.id]; dup && len(p.errs) == 0 {
			p.errorf(p.idNode, "id %s is also the id of Sigma rule %d", p.id, first+1)
		}
		if len(p.errs) > 0 {
			for _, e := range p.errs {
				e.Index, e.RuleID, e.Title = i, p.id, p.title
				errs = append(errs, e)
			}
			continue
		}
		rules[i] = r
		seen[r.ID] = i
	}
	return rules, errors.Join(errs...)
}

// parser collects the problems of one document.
type parser struct {
	id, title string
	idNode    *yaml.Node
	errs      []*Error
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, &Error{Line: line(n), Column: column(n), Message: fmt.Sprintf(format, args...)})
}

func (p *parser) unsupported(n *yaml.Node, feature, format string, args ...any) {
	p.errs = append(p.errs, &Error{Line: line(n), Column: column(n), Feature: feature, Message: fmt.Sprintf(format, args...)})
}

func line(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	return n.Line
}

func column(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	return n.Column
}

// rule returns nil when the document has no usable structure; the
// problems are in p.errs either way.
func (p *parser) rule(doc string) *Rule {
	dec := yaml.NewDecoder(strings.NewReader(doc))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			p.errorf(nil, "the document is empty")
			return nil
		}
		p.yamlError(err)
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		p.unsupported(&next, "a rule collection", "give each rule as its own document, without ---")
	case !errors.Is(err, io.EOF):
		p.yamlError(err)
	}
	// A decoded document node always holds one node; nothing at all is EOF.
	top := deref(root.Content[0])
	if top.Kind != yaml.MappingNode {
		p.errorf(top, "a Sigma rule is a YAML mapping (title:, id:, logsource:, detection:, ...)")
		return nil
	}
	fields := p.mapping(top)

	r := &Rule{}
	r.Title = p.requiredString(top, fields, "title")
	p.title = r.Title
	r.ID = p.requiredString(top, fields, "id")
	p.id, p.idNode = r.ID, fields["id"].value
	for _, kind := range []string{"correlation", "filter"} {
		if f, ok := fields[kind]; ok {
			p.unsupported(f.key, kind+" rules", "only detection rules are taken")
		}
	}
	if f, ok := fields["action"]; ok {
		p.unsupported(f.key, "a rule collection", "action: %s belongs to Sigma rule collections; give each rule as its own document", f.value.Value)
	}
	if f, ok := fields["description"]; ok {
		r.Description = p.scalar(f.value, "description")
	}
	r.Level = p.level(top, fields)
	r.References = p.strings(fields, "references")
	r.Tags = p.strings(fields, "tags")
	r.FalsePositives = p.strings(fields, "falsepositives")
	r.Attack = attackIDs(r.Tags)
	p.logsource(top, fields)
	f, ok := fields["detection"]
	if !ok {
		p.errorf(top, "detection is missing")
		return nil
	}
	r.condition = p.detection(f.value)
	if r.condition == nil {
		return nil
	}
	return r
}

// yamlError reports a document that does not parse where the YAML library
// located the problem, with the construct it was in: an unclosed [ or {
// shows at the end of the document, and the context says where it opened.
func (p *parser) yamlError(err error) {
	var le *yaml.LoadError
	if !errors.As(err, &le) {
		p.errs = append(p.errs, &Error{Message: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")})
		return
	}
	msg := "invalid YAML: " + le.Message
	if c := le.ContextMark; le.ContextMsg != "" && c.Line > 0 && c != le.Mark {
		msg += fmt.Sprintf(" (%s that starts at line %d, column %d)", le.ContextMsg, c.Line, c.Column)
	}
	p.errs = append(p.errs, &Error{Line: le.Mark.Line, Column: le.Mark.Column, Message: msg})
}

// pair is one key of a YAML mapping with its value.
type pair struct{ key, value *yaml.Node }

// mapping indexes a mapping's keys, reporting repeated keys, which YAML
// forbids and which would otherwise silently drop a condition.
func (p *parser) mapping(n *yaml.Node) map[string]pair {
	out := make(map[string]pair, len(n.Content)/2)
	for _, kv := range pairs(n) {
		if prev, dup := out[kv.key.Value]; dup {
			p.errorf(kv.key, "key %q repeats the key on line %d", kv.key.Value, prev.key.Line)
			continue
		}
		out[kv.key.Value] = kv
	}
	return out
}

// pairs lists a mapping's entries in document order, aliases resolved.
func pairs(n *yaml.Node) []pair {
	out := make([]pair, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, pair{key: deref(n.Content[i]), value: deref(n.Content[i+1])})
	}
	return out
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func (p *parser) scalar(n *yaml.Node, name string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(n, "%s must be a string", name)
		return ""
	}
	return n.Value
}

func (p *parser) requiredString(top *yaml.Node, fields map[string]pair, name string) string {
	f, ok := fields[name]
	if !ok {
		p.errorf(top, "%s is missing", name)
		return ""
	}
	s := strings.TrimSpace(p.scalar(f.value, name))
	if s == "" && f.value.Kind == yaml.ScalarNode && f.value.Tag != "!!null" {
		p.errorf(f.value, "%s must not be empty", name)
	}
	return s
}

func (p *parser) level(top *yaml.Node, fields map[string]pair) string {
	f, ok := fields["level"]
	if !ok {
		p.errorf(top, "level is missing (one of %s); the finding's severity comes from it", strings.Join(levels, ", "))
		return ""
	}
	lv := strings.ToLower(strings.TrimSpace(p.scalar(f.value, "level")))
	for _, l := range levels {
		if lv == l {
			return lv
		}
	}
	p.errorf(f.value, "level %q is not one of %s", f.value.Value, strings.Join(levels, ", "))
	return ""
}

// strings reads a list of strings; a single string is taken as a list of
// one, as older rules write falsepositives.
func (p *parser) strings(fields map[string]pair, name string) []string {
	f, ok := fields[name]
	if !ok {
		return nil
	}
	n := f.value
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		return nil
	case n.Kind == yaml.ScalarNode:
		return []string{n.Value}
	case n.Kind != yaml.SequenceNode:
		p.errorf(n, "%s must be a list of strings", name)
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for _, item := range n.Content {
		if s := p.scalar(deref(item), name+" entries"); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// logsource accepts CloudTrail rules only: the fields they name are
// CloudTrail's, and other sources' rules would never match its records.
func (p *parser) logsource(top *yaml.Node, fields map[string]pair) {
	f, ok := fields["logsource"]
	if !ok {
		p.errorf(top, "logsource is missing; CloudTrail rules have product: aws and service: cloudtrail")
		return
	}
	if f.value.Kind != yaml.MappingNode {
		p.errorf(f.value, "logsource must be a mapping with product: aws and service: cloudtrail")
		return
	}
	ls := p.mapping(f.value)
	var got []string
	for _, kv := range pairs(f.value) {
		if kv.key.Value != "definition" {
			got = append(got, kv.key.Value+": "+kv.value.Value)
		}
	}
	product, service := ls["product"], ls["service"]
	_, category := ls["category"]
	if product.value == nil || service.value == nil || category ||
		!strings.EqualFold(product.value.Value, "aws") || !strings.EqualFold(service.value.Value, "cloudtrail") {
		p.errorf(f.value, "only CloudTrail rules are taken: logsource must be product: aws, service: cloudtrail, not %s", strings.Join(got, ", "))
	}
}

// attackTag is a tag naming an ATT&CK technique (t1078, t1078.004), group
// (g0016) or software (s0154).
var attackTag = regexp.MustCompile(`(?i)^attack\.([tgs]\d{4}(\.\d{3})?)$`)

func attackIDs(tags []string) []string {
	var out []string
	for _, t := range tags {
		if m := attackTag.FindStringSubmatch(t); m != nil {
			out = append(out, strings.ToUpper(m[1]))
		}
	}
	return out
}
