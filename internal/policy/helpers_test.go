package policy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
)

// loadRecords reads a {"Records":[...]} file from testdata into events
// keyed by event id.
func loadRecords(t testing.TB, name string) map[string]events.Event {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Records []json.RawMessage `json:"Records"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatalf("parsing %s: %v", name, err)
	}
	out := map[string]events.Event{}
	for _, rawRec := range file.Records {
		ev, err := events.ParseRecord(rawRec)
		if err != nil {
			t.Fatalf("parsing record in %s: %v", name, err)
		}
		out[ev.EventID] = ev
	}
	return out
}

// intactLogs is a validation of the trail's log files that found every
// file valid.
func intactLogs() *LogIntegrity {
	return &LogIntegrity{}
}

func mustNew(t testing.TB, cfg Config) *Evaluator {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

func ruleIDs(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.RuleID)
	}
	return out
}
