package sandbox_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

func TestHistoryCoverage(t *testing.T) {
	hist := sandbox.History(sandbox.DefaultAccount, sandboxtest.Now)
	if len(hist) < 500 {
		t.Fatalf("history has only %d records", len(hist))
	}
	actions := map[string]bool{}
	regions := map[string]bool{}
	types := map[string]bool{}
	var mfa, noMFA, console, sdk, denied, afterEOL, oldest, secret int
	eol := time.Date(2024, 5, 5, 0, 0, 0, 0, time.UTC)
	for i, r := range hist {
		if i > 0 {
			prev := hist[i-1]
			if prev.EventTime.Before(r.EventTime) || prev.EventTime.Equal(r.EventTime) && prev.EventID >= r.EventID {
				t.Fatalf("history not newest first, ties by event id, at %d", i)
			}
		}
		if r.EventSource != sandbox.OpsWorksCMSource || r.Account != sandbox.DefaultAccount || r.EventTime.After(sandboxtest.Now) {
			t.Fatalf("record %s: source %s account %s time %s", r.EventID, r.EventSource, r.Account, r.EventTime)
		}
		actions[r.EventName] = true
		regions[r.Region] = true
		types[r.UserIdentityType] = true
		if r.ReadOnly != sandbox.OpsWorksCMActions[r.EventName] {
			t.Fatalf("%s recorded with readOnly=%v", r.EventName, r.ReadOnly)
		}
		raw := string(r.Raw)
		switch {
		case strings.Contains(raw, `"mfaAuthenticated":"true"`):
			mfa++
		case strings.Contains(raw, `"mfaAuthenticated":"false"`):
			noMFA++
		}
		if strings.Contains(raw, `"userAgent":"console.amazonaws.com"`) {
			console++
		} else {
			sdk++
		}
		if r.ErrorCode == "AccessDenied" {
			denied++
		}
		if !r.ReadOnly && r.ErrorCode == "" && r.EventTime.After(eol) {
			afterEOL++
		}
		if r.EventTime.Before(sandboxtest.Now.Add(-90 * 24 * time.Hour)) {
			oldest++
		}
		if strings.Contains(raw, sandbox.UnredactedSecretValue) {
			secret++
		}
	}
	if len(actions) != 19 {
		t.Fatalf("history has %d actions, want all 19: %v", len(actions), actions)
	}
	for a := range sandbox.OpsWorksCMActions {
		if !actions[a] {
			t.Fatalf("history lacks %s", a)
		}
	}
	if len(regions) < 5 {
		t.Fatalf("history spans only regions %v", regions)
	}
	for _, typ := range []string{"IAMUser", "AssumedRole", "Root"} {
		if !types[typ] {
			t.Fatalf("history lacks a %s caller: %v", typ, types)
		}
	}
	if mfa == 0 || noMFA == 0 || console == 0 || sdk == 0 || denied < 2 || afterEOL < 5 || oldest == 0 || secret != 1 {
		t.Fatalf("mfa %d, no mfa %d, console %d, sdk %d, denied %d, writes after EOL %d, older than 90 days %d, clear secrets %d",
			mfa, noMFA, console, sdk, denied, afterEOL, oldest, secret)
	}
	span := hist[0].EventTime.Sub(hist[len(hist)-1].EventTime)
	if span < 4*7*24*time.Hour {
		t.Fatalf("history spans only %s", span)
	}
}

func TestHistoryDeterministic(t *testing.T) {
	a, b := sandbox.History(sandbox.DefaultAccount, sandboxtest.Now), sandbox.History(sandbox.DefaultAccount, sandboxtest.Now)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("sandbox.History differs between calls with the same inputs")
	}
	c := sandbox.History("111122223333", sandboxtest.Now)
	if reflect.DeepEqual(a[0].EventID, c[0].EventID) || c[0].Account != "111122223333" {
		t.Fatalf("sandbox.History for another account repeats ids or keeps the account")
	}
}

// TestHistoryDocumentationRecord checks the corrected copy of the
// documentation's CreateServer record parses and keeps its content.
func TestHistoryDocumentationRecord(t *testing.T) {
	var found *sandbox.Record
	for _, r := range sandbox.History(sandbox.DefaultAccount, sandboxtest.Now) {
		if r.EventID == sandbox.DocCreateServerEventID {
			found = &r
			break
		}
	}
	if found == nil {
		t.Fatalf("documentation CreateServer record missing")
	}
	var rec struct {
		EventName         string
		UserIdentity      struct{ Type, UserName string }
		RequestParameters struct {
			ServerName       string
			Engine           string
			EngineAttributes []struct{ Name, Value string }
		}
		RecipientAccountID string `json:"recipientAccountId"`
	}
	if err := json.Unmarshal(found.Raw, &rec); err != nil {
		t.Fatalf("documentation record: %v", err)
	}
	if rec.EventName != "CreateServer" || found.Region != "us-west-2" || rec.RequestParameters.Engine != "Puppet" ||
		rec.RequestParameters.ServerName != "puppet-test" || rec.RecipientAccountID != sandbox.DefaultAccount || found.Username != "Alice" {
		t.Fatalf("documentation record = %+v", rec)
	}
	if len(rec.RequestParameters.EngineAttributes) == 0 {
		t.Fatalf("documentation record has no engine attributes")
	}
	for _, a := range rec.RequestParameters.EngineAttributes {
		if a.Value != "*** Redacted ***" {
			t.Fatalf("engine attribute %s = %q, want redacted", a.Name, a.Value)
		}
	}
}
