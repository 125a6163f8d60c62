package policy

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
)

// FuzzCELRule compiles any condition and runs what compiles over events
// with large documents: a condition that does not compile is a
// CompileError with a position, and a rule never panics nor runs long on
// an event.
func FuzzCELRule(f *testing.F) {
	for _, c := range []string{
		`event.event_name == "DeleteServer" && event.error_code == ""`,
		`event.request_parameters.?keyPair.orValue("") != ""`,
		`"disableAutomatedBackup" in event.request_parameters && event.request_parameters.disableAutomatedBackup == true`,
		`event.event_time > timestamp("2024-05-05T23:59:59Z")`,
		`event.resources.exists(r, r.name.contains("server/chef-prod"))`,
		`event.record.userIdentity.type == "Root" && event.record.eventVersion == "1.08"`,
		`event.resources.exists(a, event.resources.exists(b, a.name + b.name == "x"))`,
		`event.request_parameters.items.map(x, x.name.split("-")).size() > 0`,
		`event.user_agent.matches("^(a+)+$")`,
	} {
		f.Add(c)
	}
	big := events.Event{EventID: "big", EventName: "CreateServer", EventSource: events.DefaultEventSource, EventTime: time.Unix(1_700_000_000, 0).UTC(),
		UserAgent: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", CloudTrailEvent: `{"userIdentity":{"type":"Root"},"eventVersion":"1.08"}`, ResponseElements: `{}`}
	params := `{"serverName":"s","items":[`
	for i := range 500 {
		if i > 0 {
			params += ","
		}
		params += fmt.Sprintf(`{"name":"item-%d-%s","value":%d}`, i, "xxxxxxxxxxxxxxxxxxxx", i)
		big.Resources = append(big.Resources, events.Resource{Type: "AWS::OpsWorksCM::Server", Name: fmt.Sprintf("arn:aws:opsworks-cm:us-east-1:1:server/s-%d", i)})
	}
	big.RequestParameters = params + "]}"
	evs := []events.Event{big, {EventID: "small", EventName: "DescribeServers", RequestParameters: "null", ResponseElements: "null", CloudTrailEvent: "{}"}}
	f.Fuzz(func(t *testing.T, condition string) {
		rule := UserRule{ID: "fuzzed", Severity: SeverityHigh, Condition: condition}
		if err := CompileRules([]UserRule{rule}); err != nil {
			all := []error{err}
			if joined, ok := err.(interface{ Unwrap() []error }); ok {
				all = joined.Unwrap()
			}
			for _, err := range all {
				var ce *CompileError
				if !errors.As(err, &ce) || ce.Line < 1 || ce.Column < 1 {
					t.Fatalf("compiling %q: %v, want CompileErrors with a position", condition, err)
				}
			}
			return
		}
		e, err := New(Config{Rules: []string{"trail_logging_enabled"}, UserRules: []UserRule{rule}})
		if err != nil {
			t.Fatalf("New with a rule that compiles: %v", err)
		}
		start := time.Now()
		e.Evaluate(Input{Trail: goodTrail(), Events: evs})
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("%q ran for %s on two events", condition, d)
		}
	})
}
