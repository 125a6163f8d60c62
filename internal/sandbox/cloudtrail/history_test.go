package cloudtrail

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testAccount and testNow are the account and the end of the history
// under test: well after OpsWorks CM's end of life, as the history
// assumes.
const testAccount = "123456789012"

var testNow = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

func TestHistoryCoverage(t *testing.T) {
	hist := History(testAccount, testNow)
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
		if r.EventSource != OpsWorksCMSource || r.Account != testAccount || r.EventTime.After(testNow) {
			t.Fatalf("record %s: source %s account %s time %s", r.EventID, r.EventSource, r.Account, r.EventTime)
		}
		actions[r.EventName] = true
		regions[r.Region] = true
		types[r.UserIdentityType] = true
		if r.ReadOnly != OpsWorksCMActions[r.EventName] {
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
		if r.EventTime.Before(testNow.Add(-90 * 24 * time.Hour)) {
			oldest++
		}
		if strings.Contains(raw, UnredactedSecretValue) {
			secret++
		}
	}
	if len(actions) != 19 {
		t.Fatalf("history has %d actions, want all 19: %v", len(actions), actions)
	}
	for a := range OpsWorksCMActions {
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
	a, b := History(testAccount, testNow), History(testAccount, testNow)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("History differs between calls with the same inputs")
	}
	c := History("111122223333", testNow)
	if reflect.DeepEqual(a[0].EventID, c[0].EventID) || c[0].Account != "111122223333" {
		t.Fatalf("History for another account repeats ids or keeps the account")
	}
}

// TestHistoryDocumentationRecord checks the corrected copy of the
// documentation's CreateServer record parses and keeps its content.
func TestHistoryDocumentationRecord(t *testing.T) {
	var found *Record
	for _, r := range History(testAccount, testNow) {
		if r.EventID == DocCreateServerEventID {
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
		rec.RequestParameters.ServerName != "puppet-test" || rec.RecipientAccountID != testAccount || found.Username != "Alice" {
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
