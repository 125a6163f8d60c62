package policy

import (
	"cmp"
	"errors"
	"fmt"
	"strings"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sigma"
)

// CompileSigmaRules validates Sigma documents without any input, for the
// data source's ValidateConfig. celRuleIDs are the ids of the CEL rules
// configured beside them, which a Sigma id must not repeat, as it must not
// repeat a built-in id. Every problem is returned, joined; each is a
// *sigma.Error whose Index is the document's position in docs.
func CompileSigmaRules(docs, celRuleIDs []string) error {
	_, err := compileSigmaRules(docs, takenIDs(celRuleIDs))
	return err
}

func builtinIDs() map[string]bool {
	ids := make(map[string]bool, len(catalog))
	for _, r := range catalog {
		ids[r.ID] = true
	}
	return ids
}

// takenIDs maps the ids a Sigma rule cannot have to the kind of rule that
// has them.
func takenIDs(celRuleIDs []string) map[string]string {
	taken := make(map[string]string, len(catalog)+len(celRuleIDs))
	for _, id := range celRuleIDs {
		taken[id] = "a CEL rule"
	}
	for id := range builtinIDs() {
		taken[id] = "a built-in rule"
	}
	return taken
}

// compileSigmaRules turns each document into a user event rule. taken are
// the ids already in use (built-in and CEL rules), which a Sigma id must
// not repeat.
func compileSigmaRules(docs []string, taken map[string]string) ([]Rule, error) {
	compiled, err := sigma.Compile(docs)
	errs := []error{err}
	var out []Rule
	for i, sr := range compiled {
		if sr == nil {
			continue
		}
		if kind, ok := taken[sr.ID]; ok {
			errs = append(errs, &sigma.Error{Index: i, RuleID: sr.ID, Title: sr.Title, Message: "id is already the id of " + kind})
			continue
		}
		out = append(out, Rule{
			ID:          sr.ID,
			Title:       sr.Title,
			Description: cmp.Or(sr.Description, sr.Title),
			Severity:    levelSeverity(sr.Level),
			Target:      TargetEvent,
			References:  References{ATTACK: sr.Attack, URLs: sr.References},
			Tags:        sr.Tags,
			Remediation: sigmaRemediation(sr),
			User:        true,
			sigma:       sr,
		})
	}
	return out, errors.Join(errs...)
}

// levelSeverity maps a Sigma level onto a severity; the levels are the
// severities but for informational.
func levelSeverity(level string) Severity {
	if level == "informational" {
		return SeverityInfo
	}
	return Severity(level)
}

// sigmaRemediation is what a Sigma rule tells whoever reads its finding:
// what it detects and when that is expected.
func sigmaRemediation(r *sigma.Rule) string {
	var parts []string
	if d := strings.TrimSpace(r.Description); d != "" {
		parts = append(parts, strings.TrimSuffix(d, ".")+".")
	}
	parts = append(parts, "Confirm the call was expected")
	if len(r.FalsePositives) > 0 {
		parts[len(parts)-1] += "; known false positives: " + strings.Join(r.FalsePositives, "; ")
	}
	parts[len(parts)-1] += "."
	return strings.Join(parts, " ")
}

// sigmaEvent runs the Sigma rules over one event; rec parses the record
// once for all of them.
func (r *run) sigmaEvent(ev *events.Event, rec *sigma.Record, rules []*Rule) {
	if err := rec.Reset(ev.CloudTrailEvent); err != nil {
		for _, rule := range rules {
			r.fail(rule.ID, ev.EventID, fmt.Errorf("event %s: %w", ev.EventID, err))
		}
		return
	}
	for _, rule := range rules {
		if rule.sigma.Match(rec) {
			r.eventFinding(rule, ev, matched(ev, "the Sigma rule's detection"))
		}
	}
}
