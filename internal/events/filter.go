package events

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Filter selects events. Each non-empty field is a condition that an event
// must meet; a list matches when the event has any of its values. The zero
// Filter matches every event.
type Filter struct {
	// EventSource, when set, is the only source kept: a lookup by event
	// name returns that name from every service. AllEventSources keeps
	// every source.
	EventSource string
	EventNames  []string
	Usernames   []string
	// PrincipalARNs match the caller's ARN or, for an assumed-role
	// session, the role's ARN, so one role ARN selects all its sessions.
	PrincipalARNs []string
	ReadOnly      *bool
	ErrorCodes    []string
	ResourceNames []string
	// SourceIPCIDRs match callers whose source address is an IP address
	// in one of the prefixes; service callers ("AWS Internal",
	// "ec2.amazonaws.com") match none.
	SourceIPCIDRs []netip.Prefix
}

// ParseCIDRs parses source IP prefixes; a bare address is a single-host
// prefix.
func ParseCIDRs(ss []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(ss))
	for _, s := range ss {
		p, err := ParseCIDR(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// ParseCIDR parses one source IP prefix such as 203.0.113.0/24 or
// 2001:db8::/32; a bare address is a single-host prefix.
func ParseCIDR(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR block: %w", s, err)
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR block: %w", s, err)
	}
	return p.Masked(), nil
}

// Match reports whether ev meets every condition of f.
func (f *Filter) Match(ev *Event) bool {
	return (f.EventSource == "" || f.EventSource == AllEventSources || ev.EventSource == f.EventSource) &&
		anyOf(f.EventNames, ev.EventName) &&
		anyOf(f.Usernames, ev.Username) &&
		f.matchPrincipal(ev) &&
		(f.ReadOnly == nil || *f.ReadOnly == ev.ReadOnly) &&
		anyOf(f.ErrorCodes, ev.ErrorCode) &&
		f.matchResource(ev) &&
		f.matchSourceIP(ev)
}

func anyOf(values []string, v string) bool {
	return len(values) == 0 || slices.Contains(values, v)
}

func (f *Filter) matchPrincipal(ev *Event) bool {
	if len(f.PrincipalARNs) == 0 {
		return true
	}
	return slices.Contains(f.PrincipalARNs, ev.PrincipalARN) ||
		ev.SessionIssuerARN != "" && slices.Contains(f.PrincipalARNs, ev.SessionIssuerARN)
}

func (f *Filter) matchResource(ev *Event) bool {
	if len(f.ResourceNames) == 0 {
		return true
	}
	return slices.ContainsFunc(ev.Resources, func(r Resource) bool { return slices.Contains(f.ResourceNames, r.Name) })
}

func (f *Filter) matchSourceIP(ev *Event) bool {
	if len(f.SourceIPCIDRs) == 0 {
		return true
	}
	a, err := netip.ParseAddr(ev.SourceIPAddress)
	if err != nil {
		return false
	}
	a = a.Unmap()
	return slices.ContainsFunc(f.SourceIPCIDRs, func(p netip.Prefix) bool { return p.Contains(a) })
}

// Prefilter is a Filter's cheap test on a record's JSON text, so a reader
// of many records decodes only those that can match. Written by hand
// because it rests on a property of JSON text rather than of its values:
// in a document without a backslash every string is written verbatim, so a
// record whose eventSource is S contains the bytes "S", quotes included.
type Prefilter struct {
	// conditions each hold quoted values of which a matching record
	// contains at least one.
	conditions [][][]byte
}

// Prefilter returns f's test on record text. Only conditions on values
// that a record holds verbatim take part: the event source, event names,
// error codes, principal and resource ARNs.
func (f *Filter) Prefilter() *Prefilter {
	p := &Prefilter{}
	add := func(values ...string) {
		// An empty value matches a record without the field, which
		// no text shows.
		if len(values) == 0 || slices.Contains(values, "") {
			return
		}
		quoted := make([][]byte, len(values))
		for i, v := range values {
			quoted[i] = []byte(`"` + v + `"`)
		}
		p.conditions = append(p.conditions, quoted)
	}
	if f.EventSource != "" && f.EventSource != AllEventSources {
		add(f.EventSource)
	}
	add(f.EventNames...)
	add(f.ErrorCodes...)
	add(f.PrincipalARNs...)
	add(f.ResourceNames...)
	return p
}

// MayMatch reports false only when no record written as raw can match the
// filter; true means the record must be decoded to know.
func (p *Prefilter) MayMatch(raw []byte) bool {
	if len(p.conditions) == 0 || bytes.IndexByte(raw, '\\') >= 0 {
		return true
	}
	for _, values := range p.conditions {
		if !slices.ContainsFunc(values, func(q []byte) bool { return bytes.Contains(raw, q) }) {
			return false
		}
	}
	return true
}
