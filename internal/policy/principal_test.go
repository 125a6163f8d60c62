package policy

import (
	"testing"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
)

func TestWildcardMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "arn:aws:iam::1:user/a", true},
		{"arn:aws:iam::1:user/a", "arn:aws:iam::1:user/a", true},
		{"arn:aws:iam::1:user/a", "arn:aws:iam::1:user/ab", false},
		{"arn:aws:iam::*:user/ci-*", "arn:aws:iam::111122223333:user/ci-deployer", true},
		{"arn:aws:iam::*:user/ci-*", "arn:aws:iam::111122223333:user/path/ci-deployer", false},
		{"arn:aws:iam::*:user/*ci-*", "arn:aws:iam::111122223333:user/path/ci-deployer", true},
		{"arn:aws:sts::1:assumed-role/Ops/*", "arn:aws:sts::1:assumed-role/Ops/alice", true},
		{"arn:aws:sts::1:assumed-role/Ops/*", "arn:aws:sts::1:assumed-role/OpsAdmin/alice", false},
		{"arn:aws:iam::1:user/???", "arn:aws:iam::1:user/bob", true},
		{"arn:aws:iam::1:user/???", "arn:aws:iam::1:user/carol", false},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYc1", false},
	}
	for _, tt := range tests {
		if got := wildcardMatch(tt.pattern, tt.s); got != tt.want {
			t.Errorf("wildcardMatch(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestPrincipalAllowed(t *testing.T) {
	session := &events.Event{
		PrincipalARN:     "arn:aws:sts::111122223333:assumed-role/OpsAdmin/alice",
		SessionIssuerARN: "arn:aws:iam::111122223333:role/ops/OpsAdmin",
	}
	sessionNoIssuer := &events.Event{PrincipalARN: "arn:aws-cn:sts::111122223333:assumed-role/OpsAdmin/alice"}
	user := &events.Event{PrincipalARN: "arn:aws:iam::111122223333:user/ci-deployer"}
	tests := []struct {
		name     string
		patterns []string
		ev       *events.Event
		want     bool
	}{
		{"session ARN", []string{"arn:aws:sts::111122223333:assumed-role/OpsAdmin/alice"}, session, true},
		{"session wildcard", []string{"arn:aws:sts::111122223333:assumed-role/OpsAdmin/*"}, session, true},
		{"other session", []string{"arn:aws:sts::111122223333:assumed-role/OpsAdmin/bob"}, session, false},
		{"issuer role ARN with path", []string{"arn:aws:iam::111122223333:role/ops/OpsAdmin"}, session, true},
		{"role ARN without path", []string{"arn:aws:iam::111122223333:role/OpsAdmin"}, session, true},
		{"role ARN rebuilt in another partition", []string{"arn:aws-cn:iam::111122223333:role/OpsAdmin"}, sessionNoIssuer, true},
		{"role prefix is not the role", []string{"arn:aws:iam::111122223333:role/Ops"}, session, false},
		{"role in another account", []string{"arn:aws:iam::444455556666:role/ops/OpsAdmin"}, session, false},
		{"any account wildcard", []string{"arn:aws:iam::*:role/ops/*"}, session, true},
		{"user wildcard", []string{"arn:aws:iam::111122223333:user/ci-*"}, user, true},
		{"user not in list", []string{"arn:aws:iam::111122223333:user/admin"}, user, false},
		{"empty list allows no one", nil, user, false},
	}
	for _, tt := range tests {
		if got := principalAllowed(tt.patterns, tt.ev); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRoleARNFromSession(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:sts::1:assumed-role/R/s":        "arn:aws:iam::1:role/R",
		"arn:aws-us-gov:sts::1:assumed-role/R/s": "arn:aws-us-gov:iam::1:role/R",
		"arn:aws:iam::1:user/u":                  "",
		"arn:aws:sts::1:federated-user/u":        "",
		"arn:aws:sts::1:assumed-role/R":          "",
		"not an arn":                             "",
	} {
		if got := roleARNFromSession(in); got != want {
			t.Errorf("roleARNFromSession(%q) = %q, want %q", in, got, want)
		}
	}
}
