package events

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// decodeOptions accept what encoding/json accepts and CloudTrail never
// writes (repeated names, invalid UTF-8): a reader should not lose a
// record to it, and checking for it is a good part of the decoding cost.
var decodeOptions = json.JoinOptions(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))

// record is the part of a CloudTrail record (eventVersion 1.0x) the Event
// model reads, except its JSON documents, which only AddDocuments reads.
type record struct {
	EventID            string         `json:"eventID"`
	EventName          string         `json:"eventName"`
	EventTime          string         `json:"eventTime"`
	AWSRegion          string         `json:"awsRegion"`
	EventSource        string         `json:"eventSource"`
	SourceIPAddress    string         `json:"sourceIPAddress"`
	UserAgent          string         `json:"userAgent"`
	ReadOnly           jsontext.Value `json:"readOnly"`
	ErrorCode          string         `json:"errorCode"`
	ErrorMessage       string         `json:"errorMessage"`
	RecipientAccountID string         `json:"recipientAccountId"`
	UserIdentity       struct {
		Type           string `json:"type"`
		ARN            string `json:"arn"`
		AccountID      string `json:"accountId"`
		AccessKeyID    string `json:"accessKeyId"`
		UserName       string `json:"userName"`
		InvokedBy      string `json:"invokedBy"`
		SessionContext struct {
			Attributes struct {
				MFAAuthenticated jsontext.Value `json:"mfaAuthenticated"`
			} `json:"attributes"`
			SessionIssuer struct {
				ARN string `json:"arn"`
			} `json:"sessionIssuer"`
		} `json:"sessionContext"`
	} `json:"userIdentity"`
	Resources []struct {
		ARN  string `json:"ARN"`
		Type string `json:"type"`
	} `json:"resources"`
	// RequestParameters are those that name an OpsWorks CM resource.
	RequestParameters struct {
		ServerName  requestName `json:"serverName"`
		BackupID    requestName `json:"backupId"`
		ResourceARN requestName `json:"resourceArn"`
	} `json:"requestParameters"`
}

// requestName is a request parameter's value if it is a string. Another
// service may use the same parameter names for values that are not, which
// are skipped rather than failing the record.
type requestName string

func (n *requestName) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	if dec.PeekKind() != '"' {
		return dec.SkipValue()
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	*n = requestName(tok.String())
	return nil
}

// ParseRecord builds an Event from one CloudTrail record, as LookupEvents
// returns it in CloudTrailEvent or a trail writes it to S3. Credential-
// bearing values are redacted in every JSON field of the result.
func ParseRecord(raw []byte) (Event, error) {
	ev, err := DecodeRecord(raw)
	if err != nil {
		return Event{}, err
	}
	if err := ev.AddDocuments(raw); err != nil {
		return Event{}, err
	}
	return ev, nil
}

// DecodeRecord builds an Event from one CloudTrail record without its JSON
// documents: every field a Filter tests, at a fraction of ParseRecord's
// cost, so a reader of many records redacts only those it keeps.
func DecodeRecord(raw []byte) (Event, error) {
	var r record
	if err := json.Unmarshal(raw, &r, decodeOptions); err != nil {
		return Event{}, fmt.Errorf("parsing CloudTrail record: %w", err)
	}
	if r.EventName == "" {
		return Event{}, fmt.Errorf("CloudTrail record %q has no eventName", r.EventID)
	}
	t, err := time.Parse(time.RFC3339, r.EventTime)
	if err != nil {
		return Event{}, fmt.Errorf("CloudTrail record %q: eventTime: %w", r.EventID, err)
	}
	id := r.UserIdentity
	ev := Event{
		EventID:          r.EventID,
		EventName:        r.EventName,
		EventTime:        t.UTC(),
		Region:           r.AWSRegion,
		EventSource:      r.EventSource,
		Username:         username(id.Type, id.UserName, id.ARN, id.InvokedBy),
		UserIdentityType: id.Type,
		PrincipalARN:     id.ARN,
		SessionIssuerARN: id.SessionContext.SessionIssuer.ARN,
		AccountID:        id.AccountID,
		AccessKeyID:      id.AccessKeyID,
		InvokedBy:        id.InvokedBy,
		MFAAuthenticated: jsonTrue(id.SessionContext.Attributes.MFAAuthenticated),
		SourceIPAddress:  r.SourceIPAddress,
		UserAgent:        r.UserAgent,
		ReadOnly:         jsonTrue(r.ReadOnly),
		ErrorCode:        r.ErrorCode,
		ErrorMessage:     r.ErrorMessage,
	}
	if ev.AccountID == "" {
		ev.AccountID = r.RecipientAccountID
	}
	for _, res := range r.Resources {
		ev.addResource(Resource{Type: res.Type, Name: res.ARN})
	}
	if ev.EventSource == OpsWorksCMSource {
		p := r.RequestParameters
		ev.addResource(Resource{Type: opsWorksCMServer, Name: string(p.ServerName)})
		ev.addResource(Resource{Type: opsWorksCMBackup, Name: string(p.BackupID)})
		ev.addResource(Resource{Type: opsWorksCMServer, Name: string(p.ResourceARN)})
	}
	return ev, nil
}

// The resource types LookupEvents reports for the OpsWorks CM request
// parameters that name a resource. A trail's log files carry a resources
// field only for some events, so the resources of an OpsWorks CM call read
// from a log file are taken from its request, as LookupEvents takes them,
// and resource filters mean the same whichever reader found the event.
const (
	opsWorksCMServer = "AWS::OpsWorksCM::Server"
	opsWorksCMBackup = "AWS::OpsWorksCM::Backup"
)

// addResource adds res once, unless it has no name.
func (ev *Event) addResource(res Resource) {
	if res.Name != "" && !slices.Contains(ev.Resources, res) {
		ev.Resources = append(ev.Resources, res)
	}
}

// AddDocuments sets ev's RequestParameters, ResponseElements and
// CloudTrailEvent from raw, the record DecodeRecord read, with
// credential-bearing values redacted.
func (ev *Event) AddDocuments(raw []byte) error {
	var docs struct {
		RequestParameters jsontext.Value `json:"requestParameters"`
		ResponseElements  jsontext.Value `json:"responseElements"`
	}
	if err := json.Unmarshal(raw, &docs, decodeOptions); err != nil {
		return fmt.Errorf("parsing CloudTrail record %q: %w", ev.EventID, err)
	}
	var err error
	if ev.RequestParameters, err = RedactJSON(nullIfEmpty(docs.RequestParameters)); err != nil {
		return fmt.Errorf("CloudTrail record %q: requestParameters: %w", ev.EventID, err)
	}
	if ev.ResponseElements, err = RedactJSON(nullIfEmpty(docs.ResponseElements)); err != nil {
		return fmt.Errorf("CloudTrail record %q: responseElements: %w", ev.EventID, err)
	}
	if ev.CloudTrailEvent, err = RedactJSON(raw); err != nil {
		return fmt.Errorf("CloudTrail record %q: %w", ev.EventID, err)
	}
	return nil
}

// username is the user name LookupEvents reports for an identity: the IAM
// user name, "root", the invoking service, or the last part of the ARN (the
// session name of an assumed role).
func username(typ, userName, arn, invokedBy string) string {
	switch {
	case typ == "Root":
		return "root"
	case typ == "AWSService":
		return invokedBy
	case userName != "":
		return userName
	}
	if i := strings.LastIndex(arn, "/"); i >= 0 {
		return arn[i+1:]
	}
	return ""
}

// jsonTrue reads a flag records write either as a JSON boolean or, in
// sessionContext, as the string "true".
func jsonTrue(raw jsontext.Value) bool {
	return string(bytes.Trim(raw, `"`)) == "true"
}

func nullIfEmpty(raw jsontext.Value) []byte {
	if len(bytes.TrimSpace(raw)) == 0 {
		return []byte("null")
	}
	return raw
}
