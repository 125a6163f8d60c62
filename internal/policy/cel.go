package policy

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"
)

// celEvent is the `event` variable of user rules: the fields of
// events.Event under the snake_case names the opsaudit_events data source
// uses, with the JSON strings decoded to maps.
type celEvent struct {
	EventID           string         `cel:"event_id"`
	EventName         string         `cel:"event_name"`
	EventTime         time.Time      `cel:"event_time"`
	Region            string         `cel:"region"`
	EventSource       string         `cel:"event_source"`
	Username          string         `cel:"username"`
	UserIdentityType  string         `cel:"user_identity_type"`
	PrincipalARN      string         `cel:"principal_arn"`
	SessionIssuerARN  string         `cel:"session_issuer_arn"`
	AccountID         string         `cel:"account_id"`
	AccessKeyID       string         `cel:"access_key_id"`
	InvokedBy         string         `cel:"invoked_by"`
	MFAAuthenticated  bool           `cel:"mfa_authenticated"`
	SourceIPAddress   string         `cel:"source_ip_address"`
	UserAgent         string         `cel:"user_agent"`
	ReadOnly          bool           `cel:"read_only"`
	ErrorCode         string         `cel:"error_code"`
	ErrorMessage      string         `cel:"error_message"`
	Resources         []celResource  `cel:"resources"`
	RequestParameters map[string]any `cel:"request_parameters"`
	ResponseElements  map[string]any `cel:"response_elements"`
	Record            map[string]any `cel:"record"`
	LogFile           string         `cel:"log_file"`
}

type celResource struct {
	Type string `cel:"type"`
	Name string `cel:"name"`
}

// Bounds on user rules, so that a rule costs a bounded time per event and
// at plan time. A condition is a line or a few: 4,096 characters is far
// above any, and keeps a generated or pasted one from slowing
// compilation. celCostLimit is in CEL's cost units (about one per
// operation, and one per few bytes a string function reads): a rule
// usually costs tens to hundreds per event; a million, Kubernetes' limit
// per CEL call, stops one in about a tenth of a second however its
// comprehensions nest over an event's request parameters, and a rule
// stopped on one event is not run on the others, so it costs that time
// once per evaluation.
const (
	maxConditionLength = 4096
	celCostLimit       = 1_000_000
)

// celEnv is built once: creating a CEL environment with native types
// reflects over celEvent, which is too slow to repeat per rule.
var celEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		ext.NativeTypes(ext.ParseStructTags(true), reflect.TypeFor[celEvent]()),
		cel.Variable("event", cel.ObjectType("policy.celEvent")),
		ext.Strings(),
		// Optional syntax lets rules read request parameters that only some
		// calls carry: event.request_parameters.?keyPair.orValue("").
		cel.OptionalTypes(),
	)
})

// CompileError is a user rule that does not compile, with the 1-based
// position in its condition, so the data source can point at it at plan time.
type CompileError struct {
	RuleID  string
	Line    int
	Column  int
	Message string
}

func (e *CompileError) Error() string {
	return fmt.Sprintf("rule %q: condition %d:%d: %s", e.RuleID, e.Line, e.Column, e.Message)
}

// celProgram is a compiled user rule and which JSON fields it reads.
type celProgram struct {
	program                       cel.Program
	needParams, needResp, needRec bool
}

// CompileRules validates and compiles user rules without evaluating
// anything, for the data source's ValidateConfig. Every problem is
// returned, joined; compile problems are *CompileError.
func CompileRules(rules []UserRule) error {
	_, err := compileUserRules(rules)
	return err
}

func compileUserRules(rules []UserRule) ([]Rule, error) {
	env, err := celEnv()
	if err != nil {
		return nil, fmt.Errorf("creating CEL environment: %w", err)
	}
	builtin := builtinIDs()
	seen := map[string]bool{}
	var errs []error
	var out []Rule
	for i, ur := range rules {
		switch {
		case strings.TrimSpace(ur.ID) == "":
			errs = append(errs, fmt.Errorf("rule #%d: id must not be empty", i+1))
			continue
		case builtin[ur.ID]:
			errs = append(errs, fmt.Errorf("rule %q: id is a built-in rule id", ur.ID))
			continue
		case seen[ur.ID]:
			errs = append(errs, fmt.Errorf("rule %q: duplicate id", ur.ID))
			continue
		}
		seen[ur.ID] = true
		sev, err := ParseSeverity(string(ur.Severity))
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %q: %w", ur.ID, err))
			continue
		}
		prg, err := compileCondition(env, ur)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		title := ur.Title
		if title == "" {
			title = ur.ID
		}
		out = append(out, Rule{
			ID:          ur.ID,
			Title:       title,
			Description: "User rule: " + ur.Condition,
			Severity:    sev,
			Target:      TargetEvent,
			Remediation: ur.Remediation,
			User:        true,
			cel:         prg,
		})
	}
	return out, errors.Join(errs...)
}

func compileCondition(env *cel.Env, ur UserRule) (*celProgram, error) {
	if strings.TrimSpace(ur.Condition) == "" {
		return nil, &CompileError{RuleID: ur.ID, Line: 1, Column: 1, Message: "condition must not be empty"}
	}
	if n := utf8.RuneCountInString(ur.Condition); n > maxConditionLength {
		return nil, &CompileError{RuleID: ur.ID, Line: 1, Column: 1, Message: fmt.Sprintf(
			"condition is %d characters long, more than the limit of %d: split it into several rules", n, maxConditionLength)}
	}
	checked, iss := env.Compile(ur.Condition)
	if iss.Err() != nil {
		var errs []error
		for _, e := range iss.Errors() {
			// Some macro errors come without a location (line or column
			// -1): they are put at the start.
			errs = append(errs, &CompileError{RuleID: ur.ID, Line: max(e.Location.Line(), 1), Column: max(e.Location.Column()+1, 1), Message: e.Message})
		}
		return nil, errors.Join(errs...)
	}
	if !checked.OutputType().IsExactType(cel.BoolType) {
		return nil, &CompileError{RuleID: ur.ID, Line: 1, Column: 1, Message: fmt.Sprintf(
			"condition must evaluate to bool, not %s (compare values explicitly, e.g. `... == true`)", checked.OutputType())}
	}
	prg, err := env.Program(checked, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(celCostLimit))
	if err != nil {
		// OptOptimize evaluates the constant parts of the condition
		// (timestamp("...")), whose errors carry no position.
		return nil, &CompileError{RuleID: ur.ID, Line: 1, Column: 1, Message: err.Error()}
	}
	p := &celProgram{program: prg}
	for _, sel := range ast.MatchDescendants(ast.NavigateAST(checked.NativeRep()), ast.KindMatcher(ast.SelectKind)) {
		switch sel.AsSelect().FieldName() {
		case "request_parameters":
			p.needParams = true
		case "response_elements":
			p.needResp = true
		case "record":
			p.needRec = true
		}
	}
	return p, nil
}

// celInput builds the activation for one event, decoding only the JSON
// fields some user rule reads; request parameters come from the view, so
// built-in rules and user rules decode them once between them.
func celInput(v *eventView, need celNeeds) (map[string]any, error) {
	ev := v.ev
	ce := &celEvent{
		EventID:          ev.EventID,
		EventName:        ev.EventName,
		EventTime:        ev.EventTime,
		Region:           ev.Region,
		EventSource:      ev.EventSource,
		Username:         ev.Username,
		UserIdentityType: ev.UserIdentityType,
		PrincipalARN:     ev.PrincipalARN,
		SessionIssuerARN: ev.SessionIssuerARN,
		AccountID:        ev.AccountID,
		AccessKeyID:      ev.AccessKeyID,
		InvokedBy:        ev.InvokedBy,
		MFAAuthenticated: ev.MFAAuthenticated,
		SourceIPAddress:  ev.SourceIPAddress,
		UserAgent:        ev.UserAgent,
		ReadOnly:         ev.ReadOnly,
		ErrorCode:        ev.ErrorCode,
		ErrorMessage:     ev.ErrorMessage,
		Resources:        make([]celResource, len(ev.Resources)),
		LogFile:          ev.LogFile,
	}
	for i, r := range ev.Resources {
		ce.Resources[i] = celResource{Type: r.Type, Name: r.Name}
	}
	var err error
	if need.params {
		ce.RequestParameters, err = v.requestParams()
	}
	decode := func(need bool, name, s string, dst *map[string]any) {
		if !need || err != nil {
			return
		}
		if *dst, err = decodeObject(s); err != nil {
			err = fmt.Errorf("event %s: decoding %s: %w", ev.EventID, name, err)
		}
	}
	decode(need.resp, "responseElements", ev.ResponseElements, &ce.ResponseElements)
	decode(need.rec, "the CloudTrail record", ev.CloudTrailEvent, &ce.Record)
	if err != nil {
		return nil, err
	}
	return map[string]any{"event": ce}, nil
}

// celNeeds says which JSON fields of an event some CEL rule reads.
type celNeeds struct{ params, resp, rec bool }

// errCostLimit is a rule's evaluation stopped by celCostLimit.
var errCostLimit = fmt.Errorf("the condition costs more than the limit of %d CEL cost units on this event, so it is not run "+
	"on the remaining events: test cheap fields (event_name, event_source) first and iterate over fewer values", celCostLimit)

// celEvent runs the CEL rules over one event through one activation.
func (r *run) celEvent(v *eventView, need celNeeds, rules []*Rule) {
	act, err := celInput(v, need)
	for _, rule := range rules {
		if r.overBudget[rule] {
			continue
		}
		if err != nil {
			r.fail(rule.ID, v.ev.EventID, err)
			continue
		}
		ok, err := rule.cel.eval(act)
		if errors.Is(err, errCostLimit) {
			r.overBudget[rule] = true
		}
		if err != nil {
			r.fail(rule.ID, v.ev.EventID, fmt.Errorf("event %s: %w", v.ev.EventID, err))
		} else if ok {
			r.eventFinding(rule, v.ev, matched(v.ev, "the rule's condition"))
		}
	}
}

// eval runs the rule on one activation.
func (p *celProgram) eval(act map[string]any) (bool, error) {
	out, _, err := p.program.Eval(act)
	var cancelled interpreter.EvalCancelledError
	if errors.As(err, &cancelled) && cancelled.Cause == interpreter.CostLimitExceeded {
		return false, errCostLimit
	}
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("condition evaluated to %s, not bool", out.Type())
	}
	return b, nil
}
