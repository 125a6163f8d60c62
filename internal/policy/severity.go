package policy

import (
	"fmt"
	"strings"
)

// Severity ranks a rule and its findings. Values are lower case everywhere
// (config, findings, reports) so HCL comparisons need no case folding.
type Severity string

// Severities, most severe first.
const (
	SeverityCritical Severity = "critical"
	SeverityHigh     Severity = "high"
	SeverityMedium   Severity = "medium"
	SeverityLow      Severity = "low"
	SeverityInfo     Severity = "info"
)

// Severities lists every severity, most severe first; the data source uses it
// for its validators and the summary uses it for its keys.
var Severities = []Severity{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityInfo}

// ParseSeverity accepts a severity name in any case.
func ParseSeverity(s string) (Severity, error) {
	sev := Severity(strings.ToLower(strings.TrimSpace(s)))
	if sev.rank() < 0 {
		return "", fmt.Errorf("unknown severity %q (want one of critical, high, medium, low, info)", s)
	}
	return sev, nil
}

// rank is 0 for critical up to 4 for info, -1 for an unknown value.
func (s Severity) rank() int {
	for i, v := range Severities {
		if v == s {
			return i
		}
	}
	return -1
}

// AtLeast reports whether s is as severe as min or more.
func (s Severity) AtLeast(min Severity) bool {
	return s.rank() >= 0 && s.rank() <= min.rank()
}

// Target is the kind of object a rule inspects.
type Target string

// Targets.
const (
	TargetTrail  Target = "trail"
	TargetBucket Target = "bucket"
	TargetEvent  Target = "event"
)

// Targets lists the target kinds in report order.
var Targets = []Target{TargetTrail, TargetBucket, TargetEvent}

// Status is the overall verdict of an evaluation.
type Status string

// Statuses. Unknown is never reported as pass: it means some input or rule
// could not be evaluated, so a gate must not let it through silently.
const (
	StatusPass    Status = "pass"
	StatusFail    Status = "fail"
	StatusUnknown Status = "unknown"
)
