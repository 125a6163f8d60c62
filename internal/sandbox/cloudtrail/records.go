package cloudtrail

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

// Record is one CloudTrail record as the sandbox indexes it: the fields
// LookupEvents filters and answers on, and the record itself.
type Record struct {
	EventID          string
	EventName        string
	EventSource      string
	EventTime        time.Time
	Region           string
	Account          string
	Username         string
	UserIdentityType string
	AccessKeyID      string
	ReadOnly         bool
	ErrorCode        string
	SourceIPAddress  string
	// Management is false only for records that say managementEvent=false
	// (data events), which LookupEvents does not return.
	Management bool
	Resources  []Resource
	// Raw is the record as JSON, exactly as CloudTrailEvent carries it.
	Raw json.RawMessage
}

// Resource is a resource a record refers to, as LookupEvents reports it.
type Resource struct {
	Type string `json:"ResourceType,omitempty"`
	Name string `json:"ResourceName,omitempty"`
}

// rawRecord is the subset of a CloudTrail record the index reads.
type rawRecord struct {
	EventID            string          `json:"eventID"`
	EventName          string          `json:"eventName"`
	EventSource        string          `json:"eventSource"`
	EventTime          string          `json:"eventTime"`
	AWSRegion          string          `json:"awsRegion"`
	RecipientAccountID string          `json:"recipientAccountId"`
	ReadOnly           json.RawMessage `json:"readOnly"`
	ManagementEvent    *bool           `json:"managementEvent"`
	ErrorCode          string          `json:"errorCode"`
	SourceIPAddress    string          `json:"sourceIPAddress"`
	UserIdentity       struct {
		Type        string `json:"type"`
		ARN         string `json:"arn"`
		AccountID   string `json:"accountId"`
		AccessKeyID string `json:"accessKeyId"`
		UserName    string `json:"userName"`
		InvokedBy   string `json:"invokedBy"`
	} `json:"userIdentity"`
	RequestParameters map[string]any `json:"requestParameters"`
	Resources         []struct {
		ARN  string `json:"ARN"`
		Type string `json:"type"`
	} `json:"resources"`
}

// ParseRecord reads one CloudTrail record. A record without an eventID
// gets one derived from its content, so loading the same file twice does
// not duplicate it.
func ParseRecord(raw []byte) (Record, error) {
	var rr rawRecord
	if err := json.Unmarshal(raw, &rr); err != nil {
		return Record{}, fmt.Errorf("parsing CloudTrail record: %w", err)
	}
	if rr.EventName == "" || rr.EventSource == "" {
		return Record{}, fmt.Errorf("CloudTrail record without eventName or eventSource")
	}
	t, err := time.Parse(time.RFC3339, rr.EventTime)
	if err != nil {
		return Record{}, fmt.Errorf("CloudTrail record %q: eventTime: %w", rr.EventID, err)
	}
	compact := new(bytes.Buffer)
	if err := json.Compact(compact, raw); err != nil {
		return Record{}, fmt.Errorf("CloudTrail record %q: %w", rr.EventID, err)
	}
	r := Record{
		EventID:          rr.EventID,
		EventName:        rr.EventName,
		EventSource:      rr.EventSource,
		EventTime:        t.UTC(),
		Region:           rr.AWSRegion,
		Account:          rr.RecipientAccountID,
		UserIdentityType: rr.UserIdentity.Type,
		AccessKeyID:      rr.UserIdentity.AccessKeyID,
		ErrorCode:        rr.ErrorCode,
		SourceIPAddress:  rr.SourceIPAddress,
		Management:       rr.ManagementEvent == nil || *rr.ManagementEvent,
		Raw:              json.RawMessage(compact.Bytes()),
	}
	if r.Account == "" {
		r.Account = rr.UserIdentity.AccountID
	}
	if r.EventID == "" {
		sum := sha256.Sum256(r.Raw)
		r.EventID = awsapi.UUID(sum[:16])
	}
	// readOnly is a JSON boolean in records but some tools write it as a
	// string; both mean the same.
	if strings.Trim(string(rr.ReadOnly), `"`) == "true" {
		r.ReadOnly = true
	}
	r.Username = lookupUsername(rr)
	r.Resources = lookupResources(rr)
	return r, nil
}

// lookupUsername is the user name LookupEvents reports: the IAM user name,
// the session name of an assumed role, "root", or the invoking service.
func lookupUsername(rr rawRecord) string {
	id := rr.UserIdentity
	switch id.Type {
	case "IAMUser":
		if id.UserName != "" {
			return id.UserName
		}
	case "Root":
		return "root"
	case "AWSService":
		return id.InvokedBy
	}
	if id.UserName != "" {
		return id.UserName
	}
	if i := strings.LastIndex(id.ARN, "/"); i >= 0 {
		return id.ARN[i+1:]
	}
	return ""
}

// resourceParams maps request parameters to the resource types LookupEvents
// reports for them.
var resourceParams = []struct{ param, typ string }{
	{"serverName", "AWS::OpsWorksCM::Server"},
	{"backupId", "AWS::OpsWorksCM::Backup"},
	{"resourceArn", "AWS::OpsWorksCM::Server"},
	{"bucketName", "AWS::S3::Bucket"},
	{"trailName", "AWS::CloudTrail::Trail"},
	{"name", "AWS::CloudTrail::Trail"},
}

func lookupResources(rr rawRecord) []Resource {
	var out []Resource
	seen := map[Resource]bool{}
	add := func(res Resource) {
		if res.Name != "" && !seen[res] {
			seen[res] = true
			out = append(out, res)
		}
	}
	for _, r := range rr.Resources {
		add(Resource{Type: r.Type, Name: r.ARN})
	}
	for _, p := range resourceParams {
		if p.typ == "AWS::CloudTrail::Trail" && rr.EventSource != "cloudtrail.amazonaws.com" {
			continue
		}
		if v, ok := rr.RequestParameters[p.param].(string); ok {
			add(Resource{Type: p.typ, Name: v})
		}
	}
	return out
}

// ParseRecords reads a CloudTrail log file body: {"Records":[...]}, plain
// or gzipped.
func ParseRecords(r io.Reader) ([]Record, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading CloudTrail records: %w", err)
	}
	if len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("opening gzipped CloudTrail records: %w", err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("decompressing CloudTrail records: %w", err)
		}
	}
	var file struct {
		Records []json.RawMessage `json:"Records"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		return nil, fmt.Errorf("parsing CloudTrail records file: %w", err)
	}
	out := make([]Record, 0, len(file.Records))
	for i, raw := range file.Records {
		rec, err := ParseRecord(raw)
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

// LoadRecordFiles reads record files, walking directories recursively.
func LoadRecordFiles(paths []string) ([]Record, error) {
	var out []Record
	for _, root := range paths {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			recs, err := ParseRecords(f)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			out = append(out, recs...)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("loading events from %s: %w", root, err)
		}
	}
	return out, nil
}

// AddRecords indexes records. They route to the region in their
// awsRegion and the account in recipientAccountId (or Config.Account).
func (s *Service) AddRecords(recs []Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.indexRecordsLocked(recs)
}

// indexKey names one account's events in one region.
func indexKey(account, region string) string { return account + "/" + region }

// eventIndex holds one account's events in one region, newest first (ties
// by eventID), so a LookupEvents page is a binary search and a slice.
type eventIndex struct {
	events []*Record
	ids    map[string]bool
}

// before reports whether a sorts before b: newer first, then by eventID.
func (a *Record) before(b *Record) bool {
	if !a.EventTime.Equal(b.EventTime) {
		return a.EventTime.After(b.EventTime)
	}
	return a.EventID < b.EventID
}

// indexRecordsLocked adds records to their account and region's index.
// The new records are sorted among themselves and merged in, so recording
// one call costs a linear merge, not a sort of the whole region.
func (s *Service) indexRecordsLocked(recs []Record) {
	added := map[*eventIndex][]*Record{}
	for i := range recs {
		rec := recs[i]
		if rec.Account == "" {
			rec.Account = s.cfg.Account
		}
		key := indexKey(rec.Account, rec.Region)
		idx := s.index[key]
		if idx == nil {
			idx = &eventIndex{ids: map[string]bool{}}
			s.index[key] = idx
		}
		if idx.ids[rec.EventID] {
			continue
		}
		idx.ids[rec.EventID] = true
		s.arrivals = append(s.arrivals, &rec)
		added[idx] = append(added[idx], &rec)
	}
	for idx, fresh := range added {
		sort.SliceStable(fresh, func(i, j int) bool { return fresh[i].before(fresh[j]) })
		idx.events = mergeRecords(idx.events, fresh)
	}
}

// mergeRecords merges two slices already in index order.
func mergeRecords(a, b []*Record) []*Record {
	out := make([]*Record, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if b[0].before(a[0]) {
			out, b = append(out, b[0]), b[1:]
		} else {
			out, a = append(out, a[0]), a[1:]
		}
	}
	return append(append(out, a...), b...)
}

// maxRecorded bounds the calls kept (and persisted): enough for any test or
// demo, while a long-running sandbox stays small.
const maxRecorded = 20000

// recordCallLocked records one of the sandbox's own management calls as a
// CloudTrail event, as AWS does. s.mu is held.
func (s *Service) recordCallLocked(caller awsapi.Caller, c awsapi.Call) {
	raw, err := json.Marshal(s.buildCallRecord(caller, c))
	if err != nil {
		// Every value in the record comes from JSON-decoded input or
		// plain strings, so this cannot fail for a real request.
		return
	}
	rec, err := ParseRecord(raw)
	if err != nil {
		return
	}
	s.indexRecordsLocked([]Record{rec})
	s.keepRecordedLocked(rec.Raw)
	s.pending = append(s.pending, change{Recorded: rec.Raw})
}

// keepRecordedLocked adds a recorded call to those that persist, dropping
// the oldest beyond maxRecorded. s.mu is held.
func (s *Service) keepRecordedLocked(raw json.RawMessage) {
	s.state.Recorded = append(s.state.Recorded, raw)
	if n := len(s.state.Recorded); n > maxRecorded {
		s.state.Recorded = append([]json.RawMessage(nil), s.state.Recorded[n-maxRecorded:]...)
	}
}

func (s *Service) buildCallRecord(caller awsapi.Caller, c awsapi.Call) map[string]any {
	now := s.now().UTC()
	rec := map[string]any{
		"eventVersion":       "1.11",
		"userIdentity":       identityFor(caller, now),
		"eventTime":          now.Format(time.RFC3339),
		"eventSource":        c.Source,
		"eventName":          c.Name,
		"awsRegion":          caller.Region,
		"sourceIPAddress":    caller.SourceIP,
		"userAgent":          caller.UserAgent,
		"requestParameters":  c.RequestParameters,
		"responseElements":   c.ResponseElements,
		"requestID":          awsapi.NewUUID(),
		"eventID":            awsapi.NewUUID(),
		"readOnly":           c.ReadOnly,
		"eventType":          "AwsApiCall",
		"managementEvent":    true,
		"recipientAccountId": caller.Account,
		"eventCategory":      "Management",
	}
	if c.ErrorCode != "" {
		rec["errorCode"] = c.ErrorCode
		rec["errorMessage"] = c.ErrorMessage
	}
	if len(c.Resources) > 0 {
		rec["resources"] = c.Resources
	}
	return rec
}

// identityFor builds the userIdentity element from the caller's ARN.
func identityFor(caller awsapi.Caller, now time.Time) map[string]any {
	id := map[string]any{
		"arn":         caller.ARN,
		"accountId":   caller.Account,
		"accessKeyId": caller.AccessKey,
		"principalId": awsapi.UniqueID("AIDA", caller.ARN),
	}
	switch {
	case strings.HasSuffix(caller.ARN, ":root"):
		id["type"] = "Root"
		id["principalId"] = caller.Account
	case strings.Contains(caller.ARN, ":assumed-role/"):
		// arn:aws:sts::<acct>:assumed-role/<role>/<session>
		parts := strings.SplitN(caller.ARN[strings.Index(caller.ARN, ":assumed-role/")+len(":assumed-role/"):], "/", 2)
		role, session := parts[0], ""
		if len(parts) == 2 {
			session = parts[1]
		}
		roleARN := "arn:aws:iam::" + caller.Account + ":role/" + role
		roleID := awsapi.UniqueID("AROA", roleARN)
		id["type"] = "AssumedRole"
		id["principalId"] = roleID + ":" + session
		id["sessionContext"] = map[string]any{
			"sessionIssuer": map[string]any{
				"type": "Role", "principalId": roleID, "arn": roleARN,
				"accountId": caller.Account, "userName": role,
			},
			"attributes": map[string]any{
				"creationDate":     now.Add(-5 * time.Minute).Format(time.RFC3339),
				"mfaAuthenticated": "false",
			},
		}
	default:
		id["type"] = "IAMUser"
		if i := strings.LastIndex(caller.ARN, "/"); i >= 0 {
			id["userName"] = caller.ARN[i+1:]
		}
	}
	return id
}

// RecordCall records another service's management call, as CloudTrail
// does for every service, and writes it before it is acknowledged.
func (s *Service) RecordCall(c awsapi.Caller, call awsapi.Call) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recordCallLocked(c, call)
	return s.flushLocked()
}
