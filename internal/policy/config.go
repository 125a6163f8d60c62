package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
)

// Defaults applied by New when the config leaves a setting empty.
const (
	DefaultFailOn                = SeverityHigh
	DefaultAccessDeniedThreshold = 3
	DefaultMinRetentionDays      = 365
)

// Config selects and parameterises the rules of one evaluation. It maps
// one to one onto the arguments of the opsaudit_compliance data source.
type Config struct {
	// EventSource is the audited service; empty means
	// events.DefaultEventSource, events.AllEventSources every service (a
	// trail excluding any source's management events is then a finding).
	EventSource string
	// AllowedPrincipals are ARN patterns (`*` matches any run of characters)
	// of the principals allowed to delete servers/backups and to export
	// engine attributes. Empty allows no one, so every such call is a finding.
	AllowedPrincipals []string
	// AllowedSourceCIDRs, when not empty, are the networks calls may come
	// from; a bare IP address counts as a single-host network.
	AllowedSourceCIDRs []string
	// MinRetentionDays is the minimum lifetime of log objects; 0 means
	// DefaultMinRetentionDays.
	MinRetentionDays int
	// Rules are the built-in rule ids to run; empty runs all of them.
	Rules []string
	// DisabledRules are built-in rule ids not to run.
	DisabledRules []string
	// UserRules are CEL rules over each event, always run.
	UserRules []UserRule
	// SigmaRules are Sigma rule documents (YAML) for CloudTrail, each a
	// rule over every event, always run.
	SigmaRules []string
	// FailOn is the least severity that fails the evaluation; empty means
	// DefaultFailOn.
	FailOn Severity
	// AccessDeniedThreshold is how many AccessDenied/Unauthorized errors one
	// principal may collect before a finding; 0 means the default.
	AccessDeniedThreshold int
}

// UserRule is a rule written in CEL by the user.
type UserRule struct {
	ID          string
	Title       string
	Severity    Severity
	Condition   string
	Remediation string
}

// settings is a validated Config with defaults applied.
type settings struct {
	eventSource           string
	allowedPrincipals     []string
	allowedNets           []netip.Prefix
	minRetentionDays      int
	enabled               map[string]bool
	failOn                Severity
	accessDeniedThreshold int
}

func newSettings(cfg Config) (settings, error) {
	s := settings{
		eventSource:           cfg.EventSource,
		allowedPrincipals:     cfg.AllowedPrincipals,
		minRetentionDays:      cfg.MinRetentionDays,
		failOn:                cfg.FailOn,
		accessDeniedThreshold: cfg.AccessDeniedThreshold,
	}
	if s.eventSource == "" {
		s.eventSource = events.DefaultEventSource
	}
	if s.failOn == "" {
		s.failOn = DefaultFailOn
	}
	if s.minRetentionDays == 0 {
		s.minRetentionDays = DefaultMinRetentionDays
	}
	if s.accessDeniedThreshold == 0 {
		s.accessDeniedThreshold = DefaultAccessDeniedThreshold
	}

	var errs []error
	if _, err := ParseSeverity(string(s.failOn)); err != nil {
		errs = append(errs, fmt.Errorf("fail_on: %w", err))
	}
	if s.minRetentionDays < 0 {
		errs = append(errs, fmt.Errorf("min_retention_days must not be negative, got %d", s.minRetentionDays))
	}
	if s.accessDeniedThreshold < 0 {
		errs = append(errs, fmt.Errorf("access denied threshold must not be negative, got %d", s.accessDeniedThreshold))
	}
	for _, p := range cfg.AllowedPrincipals {
		if strings.TrimSpace(p) == "" {
			errs = append(errs, errors.New("allowed_principals: empty pattern"))
		}
	}
	for _, c := range cfg.AllowedSourceCIDRs {
		p, err := parseNetwork(c)
		if err != nil {
			errs = append(errs, fmt.Errorf("allowed_source_cidrs: %w", err))
			continue
		}
		s.allowedNets = append(s.allowedNets, p)
	}

	known := builtinIDs()
	s.enabled = make(map[string]bool, len(catalog))
	if len(cfg.Rules) == 0 {
		for id := range known {
			s.enabled[id] = true
		}
	}
	for _, id := range cfg.Rules {
		if !known[id] {
			errs = append(errs, fmt.Errorf("rules: unknown rule id %q", id))
		}
		s.enabled[id] = true
	}
	for _, id := range cfg.DisabledRules {
		if !known[id] {
			errs = append(errs, fmt.Errorf("disabled_rules: unknown rule id %q", id))
		}
		delete(s.enabled, id)
	}
	return s, errors.Join(errs...)
}

// audits reports whether ev is of the audited event source, which
// built-in event rules look at; events.AllEventSources audits every one.
func (s *settings) audits(ev *events.Event) bool {
	return s.eventSource == events.AllEventSources || strings.EqualFold(ev.EventSource, s.eventSource)
}

// parseNetwork accepts a CIDR or a bare address.
func parseNetwork(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("parsing CIDR %q: %w", s, err)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("parsing address %q: %w", s, err)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
