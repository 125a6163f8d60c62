// Package iampolicy is the IAM policy document (a bucket, key or identity
// policy's JSON) as AWS reads it: an element that takes a list also takes a
// single string, Statement may be one object, and condition values may be
// written as JSON booleans or numbers ("aws:SecureTransport": false). The
// provider builds and recognises bucket policies with it and the compliance
// rules judge them with it, so the two cannot read a document differently.
// It imports only the standard library, so the pure policy package can use
// it.
package iampolicy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Version is the current policy language version.
const Version = "2012-10-17"

// Document is a policy document.
type Document struct {
	Version   string     `json:"Version,omitempty"`
	ID        string     `json:"Id,omitempty"`
	Statement Statements `json:"Statement"`
}

// Statement is one statement of a document. Fields are in the order AWS
// writes them.
type Statement struct {
	Sid       string     `json:"Sid,omitempty"`
	Effect    string     `json:"Effect"`
	Principal Principal  `json:"Principal,omitempty"`
	Action    Values     `json:"Action,omitempty"`
	Resource  Values     `json:"Resource,omitempty"`
	Condition Conditions `json:"Condition,omitempty"`
}

// Conditions map a condition operator (StringEquals, Bool, ...) to its
// keys and their values.
type Conditions map[string]map[string]Values

// Values is an element that is one string or a list of strings. Condition
// values written as JSON booleans or numbers read as their text ("false",
// "10"), as IAM compares them. One value is written as a plain string.
type Values []string

// Principal is a statement's principal: principals by type ("AWS",
// "Service", "Federated", "CanonicalUser"), or, under the key "*", the bare
// "*" that stands for everyone.
type Principal map[string]Values

// Statements is a document's statements; a single statement object reads
// as a list of one.
type Statements []Statement

// Parse reads a policy document. An empty or blank document is an empty
// Document.
func Parse(doc string) (Document, error) {
	var d Document
	if strings.TrimSpace(doc) == "" {
		return d, nil
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return Document{}, fmt.Errorf("decoding policy document: %w", err)
	}
	return d, nil
}

// JSON is the document indented as AWS shows it.
func (d Document) JSON() (string, error) {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encoding policy document: %w", err)
	}
	return string(b), nil
}

// Everyone reports whether the principal is anyone at all: "*" or
// {"AWS": "*"}.
func (p Principal) Everyone() bool {
	return slices.Contains(p["*"], "*") || slices.Contains(p["AWS"], "*")
}

// Label names the statement i of its document: its Sid, else "#<i+1>".
func (st Statement) Label(i int) string {
	if st.Sid != "" {
		return st.Sid
	}
	return fmt.Sprintf("#%d", i+1)
}

// Values returns the values of a condition key under operator, matching
// the key case-insensitively as IAM does.
func (c Conditions) Values(operator, key string) Values {
	for k, v := range c[operator] {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

func (v *Values) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '[' {
		if err := json.Unmarshal(t, &raw); err != nil {
			return err
		}
	} else {
		raw = []json.RawMessage{t}
	}
	out := make(Values, 0, len(raw))
	for _, r := range raw {
		s, err := scalar(r)
		if err != nil {
			return err
		}
		out = append(out, s)
	}
	*v = out
	return nil
}

// scalar is a JSON string, boolean or number as text.
func scalar(r json.RawMessage) (string, error) {
	if string(r) == "null" {
		return "", fmt.Errorf("policy value is null")
	}
	var s string
	if err := json.Unmarshal(r, &s); err == nil {
		return s, nil
	}
	var b bool
	if err := json.Unmarshal(r, &b); err == nil {
		return strconv.FormatBool(b), nil
	}
	var n json.Number
	if err := json.Unmarshal(r, &n); err == nil {
		return n.String(), nil
	}
	return "", fmt.Errorf("policy value %s is not a string, boolean or number", r)
}

func (v Values) MarshalJSON() ([]byte, error) {
	if len(v) == 1 {
		return json.Marshal(v[0])
	}
	return json.Marshal([]string(v))
}

func (p *Principal) UnmarshalJSON(b []byte) error {
	var star string
	if err := json.Unmarshal(b, &star); err == nil {
		if star != "*" {
			return fmt.Errorf("principal %q: a principal given as a string must be \"*\"", star)
		}
		*p = Principal{"*": {"*"}}
		return nil
	}
	var m map[string]Values
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("principal: %w", err)
	}
	*p = m
	return nil
}

func (p Principal) MarshalJSON() ([]byte, error) {
	if len(p) == 1 && slices.Equal(p["*"], Values{"*"}) {
		return []byte(`"*"`), nil
	}
	return json.Marshal(map[string]Values(p))
}

func (s *Statements) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		var one Statement
		if err := json.Unmarshal(t, &one); err != nil {
			return err
		}
		*s = Statements{one}
		return nil
	}
	return json.Unmarshal(b, (*[]Statement)(s))
}
