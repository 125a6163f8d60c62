package sigma

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v4"
)

// node is a compiled condition: and, or, not, or a search identifier.
type node interface {
	eval(r *Record) bool
}

type andNode []node

func (n andNode) eval(r *Record) bool {
	for _, c := range n {
		if !c.eval(r) {
			return false
		}
	}
	return true
}

type orNode []node

func (n orNode) eval(r *Record) bool {
	for _, c := range n {
		if c.eval(r) {
			return true
		}
	}
	return false
}

type notNode struct{ n node }

func (n notNode) eval(r *Record) bool { return !n.n.eval(r) }

// conditions compiles the condition, which may be a list of conditions
// (any of them), as older rules write it.
func (p *parser) conditions(n *yaml.Node, sels []*selection) node {
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag != "!!null":
		return p.condition(n, sels)
	case n.Kind == yaml.SequenceNode && len(n.Content) > 0:
		var alts orNode
		for _, item := range n.Content {
			item = deref(item)
			if item.Kind != yaml.ScalarNode {
				p.errorf(item, "each condition of the list must be a string")
				return nil
			}
			alts = append(alts, p.condition(item, sels))
		}
		return alts
	}
	p.errorf(n, "condition must be a string such as \"selection and not filter\"")
	return nil
}

type tokenKind int

const (
	tokWord tokenKind = iota
	tokOpen
	tokClose
	tokPipe
	tokEnd
)

type token struct {
	kind tokenKind
	text string
	// pos is the byte offset in the condition text.
	pos int
}

func tokenize(s string) []token {
	var out []token
	for i := 0; i < len(s); {
		switch c := s[i]; c {
		case ' ', '\t', '\n', '\r':
			i++
		case '(':
			out = append(out, token{kind: tokOpen, text: "(", pos: i})
			i++
		case ')':
			out = append(out, token{kind: tokClose, text: ")", pos: i})
			i++
		case '|':
			out = append(out, token{kind: tokPipe, text: "|", pos: i})
			i++
		default:
			start := i
			for i < len(s) && !strings.ContainsRune(" \t\n\r()|", rune(s[i])) {
				i++
			}
			out = append(out, token{kind: tokWord, text: s[start:i], pos: start})
		}
	}
	return append(out, token{kind: tokEnd, pos: len(s)})
}

// condParser is a recursive descent parser over the condition grammar,
// least binding first: or, and, not, "1 of"/"all of", parentheses.
type condParser struct {
	p      *parser
	n      *yaml.Node
	toks   []token
	i      int
	sels   []*selection
	failed bool
}

func (p *parser) condition(n *yaml.Node, sels []*selection) node {
	c := &condParser{p: p, n: n, toks: tokenize(n.Value), sels: sels}
	for _, t := range c.toks {
		if t.kind == tokPipe {
			c.fail(t.pos, "aggregation", "%q counts or correlates events; this engine judges each event on its own", strings.TrimSpace(n.Value[t.pos:]))
			return nil
		}
	}
	if len(c.toks) == 1 {
		c.fail(0, "", "condition is empty")
		return nil
	}
	expr := c.or()
	if c.failed {
		return nil
	}
	if t := c.peek(); t.kind != tokEnd {
		c.fail(t.pos, "", "unexpected %q after a complete condition", t.text)
		return nil
	}
	return expr
}

// fail records the first problem of the condition, located in the
// document: exactly for a one-line condition, by line in a literal block.
func (c *condParser) fail(pos int, feature, format string, args ...any) {
	if c.failed {
		return
	}
	c.failed = true
	e := &Error{Line: c.n.Line, Feature: feature, Message: fmt.Sprintf(format, args...)}
	switch c.n.Style {
	case 0, yaml.SingleQuotedStyle, yaml.DoubleQuotedStyle:
		if !strings.Contains(c.n.Value, "\n") {
			e.Column = c.n.Column + pos
			if c.n.Style != 0 {
				e.Column++
			}
		}
	case yaml.LiteralStyle:
		e.Line = c.n.Line + 1 + strings.Count(c.n.Value[:pos], "\n")
	}
	c.p.errs = append(c.p.errs, e)
}

func (c *condParser) peek() token { return c.toks[c.i] }

func (c *condParser) next() token {
	t := c.toks[c.i]
	if t.kind != tokEnd {
		c.i++
	}
	return t
}

func (c *condParser) peekWord(w string) bool {
	t := c.peek()
	return t.kind == tokWord && strings.EqualFold(t.text, w)
}

func (c *condParser) or() node {
	return c.chain("or", c.and, func(ns []node) node { return orNode(ns) })
}

func (c *condParser) and() node {
	return c.chain("and", c.not, func(ns []node) node { return andNode(ns) })
}

// chain parses operands joined by the operator word.
func (c *condParser) chain(op string, operand func() node, join func([]node) node) node {
	first := operand()
	if c.failed {
		return nil
	}
	ns := []node{first}
	for c.peekWord(op) {
		c.next()
		n := operand()
		if c.failed {
			return nil
		}
		ns = append(ns, n)
	}
	if len(ns) == 1 {
		return first
	}
	return join(ns)
}

func (c *condParser) not() node {
	if c.peekWord("not") {
		c.next()
		n := c.not()
		if c.failed {
			return nil
		}
		return notNode{n}
	}
	return c.atom()
}

var conditionKeywords = map[string]bool{"and": true, "or": true, "not": true, "of": true, "them": true}

func (c *condParser) atom() node {
	t := c.next()
	switch t.kind {
	case tokOpen:
		n := c.or()
		if c.failed {
			return nil
		}
		if closing := c.next(); closing.kind != tokClose {
			c.fail(closing.pos, "", "missing ) for the ( at column %d of the condition", t.pos+1)
			return nil
		}
		return n
	case tokClose:
		c.fail(t.pos, "", "unexpected )")
		return nil
	case tokEnd:
		c.fail(t.pos, "", "condition ends where a search identifier is expected")
		return nil
	}
	word := strings.ToLower(t.text)
	if c.peekWord("of") {
		return c.quantifier(t)
	}
	switch {
	case conditionKeywords[word]:
		c.fail(t.pos, "", "unexpected %q where a search identifier is expected", t.text)
	case strings.Contains(t.text, "*"):
		c.fail(t.pos, "", "%s is a pattern; write 1 of %s or all of %s", t.text, t.text, t.text)
	default:
		for _, s := range c.sels {
			if s.name == t.text {
				return s
			}
		}
		c.fail(t.pos, "", "undefined search identifier %q", t.text)
	}
	return nil
}

// quantifier parses "1 of x*", "any of x*", "all of x*" and the same with
// "them", every search identifier not starting with _.
func (c *condParser) quantifier(q token) node {
	c.next() // of
	target := c.next()
	if target.kind != tokWord || conditionKeywords[strings.ToLower(target.text)] && !strings.EqualFold(target.text, "them") {
		c.fail(target.pos, "", "%s of needs a search identifier pattern or them", q.text)
		return nil
	}
	var ns []node
	them := strings.EqualFold(target.text, "them")
	pattern := newGlob(target.text, "", true)
	for _, s := range c.sels {
		if them && !strings.HasPrefix(s.name, "_") || !them && pattern.match([]byte(s.name)) {
			ns = append(ns, s)
		}
	}
	if len(ns) == 0 {
		c.fail(target.pos, "", "%s of %s: no search identifier matches", q.text, target.text)
		return nil
	}
	switch strings.ToLower(q.text) {
	case "1", "any":
		return orNode(ns)
	case "all":
		return andNode(ns)
	}
	c.fail(q.pos, q.text+" of", "only 1 of and all of are supported")
	return nil
}
