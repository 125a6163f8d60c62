package policy

import (
	"strings"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
)

// principalAllowed reports whether the event's caller matches one of the
// ARN patterns. An assumed-role session matches by its session ARN, by its
// session issuer (the role ARN, with path) or by the role ARN rebuilt from
// the session ARN, so both arn:aws:sts::1:assumed-role/Ops/* and
// arn:aws:iam::1:role/Ops allow the session arn:aws:sts::1:assumed-role/Ops/alice.
func principalAllowed(patterns []string, ev *events.Event) bool {
	candidates := []string{ev.PrincipalARN, ev.SessionIssuerARN, roleARNFromSession(ev.PrincipalARN)}
	for _, p := range patterns {
		for _, c := range candidates {
			if c != "" && wildcardMatch(p, c) {
				return true
			}
		}
	}
	return false
}

// roleARNFromSession turns arn:P:sts::A:assumed-role/R/S into
// arn:P:iam::A:role/R; "" for any other ARN. The role's path is not in a
// session ARN, which is why the session issuer ARN is tried as well.
func roleARNFromSession(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sts" {
		return ""
	}
	rest, ok := strings.CutPrefix(parts[5], "assumed-role/")
	if !ok {
		return ""
	}
	role, _, ok := strings.Cut(rest, "/")
	if !ok || role == "" {
		return ""
	}
	return "arn:" + parts[1] + ":iam::" + parts[4] + ":role/" + role
}

// wildcardMatch matches IAM-style patterns: `*` is any run of characters
// including '/' and ':', `?` any single character. path.Match and
// filepath.Match stop `*` at separators, so they would not match ARNs the
// way IAM policies do.
func wildcardMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
