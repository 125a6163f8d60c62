package policy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
)

// ctRecord is the part of a CloudTrail record the tests map onto
// events.Event; the provider's real parser lives in internal/events.
type ctRecord struct {
	EventID      string    `json:"eventID"`
	EventName    string    `json:"eventName"`
	EventTime    time.Time `json:"eventTime"`
	AWSRegion    string    `json:"awsRegion"`
	EventSource  string    `json:"eventSource"`
	SourceIP     string    `json:"sourceIPAddress"`
	UserAgent    string    `json:"userAgent"`
	ReadOnly     bool      `json:"readOnly"`
	ErrorCode    string    `json:"errorCode"`
	ErrorMessage string    `json:"errorMessage"`
	UserIdentity struct {
		Type           string `json:"type"`
		ARN            string `json:"arn"`
		AccountID      string `json:"accountId"`
		AccessKeyID    string `json:"accessKeyId"`
		UserName       string `json:"userName"`
		InvokedBy      string `json:"invokedBy"`
		SessionContext struct {
			SessionIssuer struct {
				ARN      string `json:"arn"`
				UserName string `json:"userName"`
			} `json:"sessionIssuer"`
			Attributes struct {
				MFAAuthenticated string `json:"mfaAuthenticated"`
			} `json:"attributes"`
		} `json:"sessionContext"`
	} `json:"userIdentity"`
	Resources []struct {
		ARN  string `json:"ARN"`
		Type string `json:"type"`
	} `json:"resources"`
	RequestParameters json.RawMessage `json:"requestParameters"`
	ResponseElements  json.RawMessage `json:"responseElements"`
}

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
		var r ctRecord
		if err := json.Unmarshal(rawRec, &r); err != nil {
			t.Fatalf("parsing record in %s: %v", name, err)
		}
		id := r.UserIdentity
		ev := events.Event{
			EventID:           r.EventID,
			EventName:         r.EventName,
			EventTime:         r.EventTime,
			Region:            r.AWSRegion,
			EventSource:       r.EventSource,
			Username:          id.UserName,
			UserIdentityType:  id.Type,
			PrincipalARN:      id.ARN,
			SessionIssuerARN:  id.SessionContext.SessionIssuer.ARN,
			AccountID:         id.AccountID,
			AccessKeyID:       id.AccessKeyID,
			InvokedBy:         id.InvokedBy,
			MFAAuthenticated:  id.SessionContext.Attributes.MFAAuthenticated == "true",
			SourceIPAddress:   r.SourceIP,
			UserAgent:         r.UserAgent,
			ReadOnly:          r.ReadOnly,
			ErrorCode:         r.ErrorCode,
			ErrorMessage:      r.ErrorMessage,
			RequestParameters: string(r.RequestParameters),
			ResponseElements:  string(r.ResponseElements),
			CloudTrailEvent:   string(rawRec),
		}
		if ev.Username == "" {
			ev.Username = id.SessionContext.SessionIssuer.UserName
		}
		for _, res := range r.Resources {
			ev.Resources = append(ev.Resources, events.Resource{Type: res.Type, Name: res.ARN})
		}
		out[ev.EventID] = ev
	}
	return out
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
