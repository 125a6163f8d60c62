package events

import (
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
