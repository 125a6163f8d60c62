package policy

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sigma"
)

// Evaluator holds a validated configuration and compiled user rules; build
// it once and call Evaluate for each input.
type Evaluator struct {
	s     settings
	rules []RuleOutcome
}

// New validates cfg (unknown rule ids, bad CIDRs, severities) and compiles
// its CEL and Sigma rules. All problems are returned together.
func New(cfg Config) (*Evaluator, error) {
	s, err := newSettings(cfg)
	user, uerr := compileUserRules(cfg.UserRules)
	celIDs := make([]string, len(cfg.UserRules))
	for i, ur := range cfg.UserRules {
		celIDs[i] = ur.ID
	}
	sigmaRules, serr := compileSigmaRules(cfg.SigmaRules, takenIDs(celIDs))
	if err := errors.Join(err, uerr, serr); err != nil {
		return nil, err
	}
	e := &Evaluator{s: s}
	for _, r := range catalog {
		e.rules = append(e.rules, RuleOutcome{Rule: r, Enabled: s.enabled[r.ID]})
	}
	for _, r := range slices.Concat(user, sigmaRules) {
		e.rules = append(e.rules, RuleOutcome{Rule: r, Enabled: true})
	}
	return e, nil
}

// Runs reports whether the built-in rule id runs in this evaluation, so
// that the provider gathers only the input enabled rules need.
func (e *Evaluator) Runs(id string) bool { return e.s.enabled[id] }

// Finding is one violation of a rule.
type Finding struct {
	RuleID   string
	Severity Severity
	Title    string
	// Resource is the trail ARN, the bucket name, or for event rules the
	// first resource the call named (else "cloudtrail/<region>/<event-id>").
	Resource string
	// EventID, Principal and EventTime are set for event rules only.
	EventID     string
	Region      string
	Principal   string
	EventTime   time.Time
	Message     string
	Remediation string

	// ruleOrder is the rule's position in the catalog (user rules after),
	// the sort key that keeps rules in documented order.
	ruleOrder int
}

// RuleError is a rule that could not be evaluated on some input: a user
// rule failing at run time (a missing map key, say) or an unreadable bucket
// policy. It yields no finding and makes the result unknown.
type RuleError struct {
	RuleID string
	// Count is how many evaluations failed; EventID is the first failing
	// event, empty for posture rules.
	Count   int
	EventID string
	Message string
}

// RuleOutcome is a rule as one evaluation ran it; reports list every rule,
// disabled ones included, so CI shows them as skipped.
type RuleOutcome struct {
	Rule    Rule
	Enabled bool
	// NotEvaluated says why an enabled rule did not run (its input is
	// missing); such a rule neither passed nor failed.
	NotEvaluated string
	Findings     int
	Errors       int
}

// Summary counts findings. Every severity and every enabled rule has a key,
// zero included, so the Terraform map keeps a stable shape.
type Summary struct {
	Total      int
	BySeverity map[Severity]int
	ByRule     map[string]int
}

// Result is the verdict of one evaluation.
type Result struct {
	// Status is fail when a finding is at least FailOn (a failure found on
	// partial data is still a failure); otherwise unknown when Reasons is
	// not empty; otherwise pass.
	Status   Status
	FailOn   Severity
	Findings []Finding
	Errors   []RuleError
	// Reasons says why the result is not conclusive: the input's
	// Incomplete entries, missing trail or bucket, rule errors.
	Reasons []string
	Summary Summary
	Rules   []RuleOutcome
	// EventsEvaluated is the number of events given; SourceEvents those
	// from the audited event source, which built-in event rules look at.
	EventsEvaluated int
	SourceEvents    int
	EventSource     string
}

// run is the mutable state of one Evaluate call.
type run struct {
	e        *Evaluator
	order    map[*Rule]int
	findings []Finding
	errs     map[string]*RuleError
	reasons  []string
	// overBudget are the CEL rules that went past the cost limit on an
	// event, and are not run on the others.
	overBudget map[*Rule]bool
}

func (r *run) fail(ruleID, eventID string, err error) {
	re := r.errs[ruleID]
	if re == nil {
		re = &RuleError{RuleID: ruleID, EventID: eventID, Message: err.Error()}
		r.errs[ruleID] = re
	}
	re.Count++
}

// Evaluate runs every enabled rule over the input. It never fails: rule
// errors and missing input are reported in the result.
func (e *Evaluator) Evaluate(in Input) Result {
	r := &run{e: e, errs: map[string]*RuleError{}, reasons: slices.Clone(in.Incomplete), order: map[*Rule]int{}, overBudget: map[*Rule]bool{}}

	var trailRules, bucketRules, fileRules, aggRules []*Rule
	var evRules eventRules
	for i := range e.rules {
		ro := &e.rules[i]
		r.order[&ro.Rule] = i
		if why, _ := missing(in, &ro.Rule); !ro.Enabled || why != "" {
			continue
		}
		switch {
		case ro.Rule.trail != nil:
			trailRules = append(trailRules, &ro.Rule)
		case ro.Rule.bucket != nil:
			bucketRules = append(bucketRules, &ro.Rule)
		case ro.Rule.files != nil:
			fileRules = append(fileRules, &ro.Rule)
		case ro.Rule.match != nil:
			evRules.builtin = append(evRules.builtin, &ro.Rule)
		case ro.Rule.aggregate != nil:
			aggRules = append(aggRules, &ro.Rule)
		case ro.Rule.cel != nil:
			evRules.cel = append(evRules.cel, &ro.Rule)
		case ro.Rule.sigma != nil:
			evRules.sigma = append(evRules.sigma, &ro.Rule)
		}
	}

	r.posture(in, trailRules, bucketRules)
	r.integrity(in.LogIntegrity, fileRules)
	sourceEvents := r.events(in.Events, evRules)
	for _, rule := range aggRules {
		for _, hit := range rule.aggregate(&e.s, sourceEvents) {
			r.eventFinding(rule, hit.event, hit.message)
		}
	}
	return r.result(in, len(sourceEvents))
}

// missing says why a rule cannot run on this input, and the reason the
// result gives for it; both are empty when it can.
func missing(in Input, rule *Rule) (why, reason string) {
	switch {
	case rule.Target == TargetTrail && in.Trail == nil:
		why = "trail configuration not available"
	case rule.Target == TargetBucket && in.Bucket == nil:
		why = "log bucket configuration not available"
	case rule.files != nil && in.LogIntegrity == nil:
		why = "log files not validated"
		return why, why + ": rule " + rule.ID + " not evaluated"
	default:
		return "", ""
	}
	return why, why + ": " + string(rule.Target) + " rules not evaluated"
}

func (r *run) posture(in Input, trailRules, bucketRules []*Rule) {
	for _, rule := range trailRules {
		msgs, err := rule.trail(&r.e.s, in.Trail)
		r.postureFindings(rule, cmp.Or(in.Trail.ARN, in.Trail.Name), in.Trail.HomeRegion, msgs, err)
	}
	region := ""
	if in.Trail != nil {
		region = in.Trail.HomeRegion
	}
	for _, rule := range bucketRules {
		msgs, err := rule.bucket(&r.e.s, in.Bucket)
		r.postureFindings(rule, in.Bucket.Name, region, msgs, err)
	}
}

func (r *run) postureFindings(rule *Rule, resource, region string, msgs []string, err error) {
	if err != nil {
		r.fail(rule.ID, "", err)
		return
	}
	for _, m := range msgs {
		r.findings = append(r.findings, Finding{
			RuleID: rule.ID, Severity: rule.Severity, Title: rule.Title, Resource: resource,
			Region: region, Message: m, Remediation: rule.Remediation, ruleOrder: r.order[rule],
		})
	}
}

// integrity reports each invalid file of the trail, and makes the result
// unknown when files could not all be validated. Without files rules the
// validation did not run and li may be nil.
func (r *run) integrity(li *LogIntegrity, rules []*Rule) {
	if len(rules) == 0 {
		return
	}
	for _, rule := range rules {
		for _, hit := range rule.files(li) {
			r.findings = append(r.findings, Finding{
				RuleID: rule.ID, Severity: rule.Severity, Title: rule.Title, Resource: hit.Key,
				Region: hit.Region, Message: hit.Message, Remediation: rule.Remediation, ruleOrder: r.order[rule],
			})
		}
	}
	for _, u := range li.Unknown {
		r.reasons = append(r.reasons, "log files not all validated: "+u)
	}
}

// eventRules are the rules that look at one event at a time.
type eventRules struct {
	builtin, cel, sigma []*Rule
}

// events makes one pass over the events: built-in rules see the audited
// source only and decode request parameters lazily; CEL and Sigma rules see
// every event, CEL rules through one activation per event shared by all of
// them, Sigma rules through one parsed record shared by all of them.
func (r *run) events(evs []events.Event, rules eventRules) []*events.Event {
	var need celNeeds
	for _, u := range rules.cel {
		need.params = need.params || u.cel.needParams
		need.resp = need.resp || u.cel.needResp
		need.rec = need.rec || u.cel.needRec
	}
	var rec sigma.Record
	var sourceEvents []*events.Event
	for i := range evs {
		ev := &evs[i]
		view := eventView{ev: ev}
		if r.e.s.audits(ev) {
			sourceEvents = append(sourceEvents, ev)
			r.builtinEvent(&view, rules.builtin)
		}
		if len(rules.cel) > 0 {
			r.celEvent(&view, need, rules.cel)
		}
		if len(rules.sigma) > 0 {
			r.sigmaEvent(ev, &rec, rules.sigma)
		}
	}
	return sourceEvents
}

func (r *run) builtinEvent(v *eventView, rules []*Rule) {
	opsworksCM := strings.EqualFold(v.ev.EventSource, events.DefaultEventSource)
	for _, rule := range rules {
		if len(rule.eventNames) > 0 && (!opsworksCM || !slices.Contains(rule.eventNames, v.ev.EventName)) {
			continue
		}
		msg, ok, err := rule.match(&r.e.s, v)
		if err != nil {
			r.fail(rule.ID, v.ev.EventID, err)
		} else if ok {
			r.eventFinding(rule, v.ev, msg)
		}
	}
}

// matched is the message of a user rule's finding.
func matched(ev *events.Event, what string) string {
	return fmt.Sprintf("%s by %s at %s in %s matched %s", ev.EventName, caller(ev), when(ev), ev.Region, what)
}

func (r *run) eventFinding(rule *Rule, ev *events.Event, msg string) {
	resource := fmt.Sprintf("cloudtrail/%s/%s", ev.Region, ev.EventID)
	if len(ev.Resources) > 0 && ev.Resources[0].Name != "" {
		resource = ev.Resources[0].Name
	}
	r.findings = append(r.findings, Finding{
		RuleID: rule.ID, Severity: rule.Severity, Title: rule.Title, Resource: resource,
		EventID: ev.EventID, Region: ev.Region, Principal: caller(ev), EventTime: ev.EventTime,
		Message: msg, Remediation: rule.Remediation, ruleOrder: r.order[rule],
	})
}

func (r *run) result(in Input, source int) Result {
	s := &r.e.s
	res := Result{
		FailOn:          s.failOn,
		Findings:        r.findings,
		EventsEvaluated: len(in.Events),
		SourceEvents:    source,
		EventSource:     s.eventSource,
		Summary:         Summary{BySeverity: map[Severity]int{}, ByRule: map[string]int{}},
		Rules:           slices.Clone(r.e.rules),
	}
	slices.SortFunc(res.Findings, compareFindings)

	for _, sev := range Severities {
		res.Summary.BySeverity[sev] = 0
	}
	index := map[string]int{}
	reported := map[string]bool{}
	for i, ro := range res.Rules {
		index[ro.Rule.ID] = i
		if !ro.Enabled {
			continue
		}
		res.Summary.ByRule[ro.Rule.ID] = 0
		if why, reason := missing(in, &ro.Rule); why != "" {
			res.Rules[i].NotEvaluated = why
			if !reported[reason] {
				reported[reason] = true
				r.reasons = append(r.reasons, reason)
			}
		}
	}
	failed := false
	for _, f := range res.Findings {
		res.Summary.Total++
		res.Summary.BySeverity[f.Severity]++
		res.Summary.ByRule[f.RuleID]++
		res.Rules[index[f.RuleID]].Findings++
		failed = failed || f.Severity.AtLeast(s.failOn)
	}

	for _, re := range r.errs {
		res.Errors = append(res.Errors, *re)
		res.Rules[index[re.RuleID]].Errors = re.Count
	}
	slices.SortFunc(res.Errors, func(a, b RuleError) int { return strings.Compare(a.RuleID, b.RuleID) })
	res.Reasons = r.reasons
	for _, re := range res.Errors {
		res.Reasons = append(res.Reasons, fmt.Sprintf("rule %s could not be evaluated %d time(s): %s", re.RuleID, re.Count, re.Message))
	}

	switch {
	case failed:
		res.Status = StatusFail
	case len(res.Reasons) > 0:
		res.Status = StatusUnknown
	default:
		res.Status = StatusPass
	}
	return res
}

// compareFindings orders by severity (most severe first), rule (catalog
// order, then user rules in configuration order), event time, then
// resource, event id and message: a total order, so the unstable sort is
// deterministic.
func compareFindings(a, b Finding) int {
	// Not cmp.Or: it would evaluate every string comparison up front, and
	// sorting is the hot path when an evaluation yields many findings.
	if c := cmp.Compare(a.Severity.rank(), b.Severity.rank()); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ruleOrder, b.ruleOrder); c != 0 {
		return c
	}
	if c := a.EventTime.Compare(b.EventTime); c != 0 {
		return c
	}
	return cmp.Or(strings.Compare(a.Resource, b.Resource), strings.Compare(a.EventID, b.EventID), strings.Compare(a.Message, b.Message))
}
