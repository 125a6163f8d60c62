package events

import (
	"encoding/json"
	"net/netip"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// createServerRecord is a relay's CreateServer record that logged an
// engine attribute in clear, as some third-party tools do.
const createServerRecord = `{
  "eventVersion": "1.09",
  "userIdentity": {
    "type": "AssumedRole",
    "principalId": "AROAEXAMPLE:dave@example.com",
    "arn": "arn:aws:sts::111122223333:assumed-role/OpsWorksAdmin/dave@example.com",
    "accountId": "111122223333",
    "accessKeyId": "ASIAQDAVEADMINROLE1",
    "sessionContext": {
      "sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::111122223333:role/OpsWorksAdmin", "userName": "OpsWorksAdmin"},
      "attributes": {"creationDate": "2024-03-01T10:00:00Z", "mfaAuthenticated": "true"}
    }
  },
  "eventTime": "2024-03-01T10:35:00Z",
  "eventSource": "opsworks-cm.amazonaws.com",
  "eventName": "CreateServer",
  "awsRegion": "eu-central-1",
  "sourceIPAddress": "198.51.100.61",
  "userAgent": "console.amazonaws.com",
  "requestParameters": {
    "serverName": "puppet-fra",
    "backupRetentionCount": 10,
    "engineAttributes": [
      {"name": "PUPPET_ADMIN_PASSWORD", "value": "Pupp3t-Adm1n-Pa55w0rd!"},
      {"name": "PUPPET_R10K_REMOTE", "value": "git@example.com:r10k.git"}
    ]
  },
  "responseElements": {"server": {"serverName": "puppet-fra", "engineAttributes": [{"name": "PUPPET_ADMIN_PASSWORD", "value": "*** Redacted ***"}]}},
  "eventID": "0b7d1c2e-3f4a-4b5c-8d9e-0f1a2b3c4d5e",
  "readOnly": false,
  "resources": [{"ARN": "arn:aws:opsworks-cm:eu-central-1:111122223333:server/puppet-fra/x", "type": "AWS::OpsWorksCM::Server"}],
  "recipientAccountId": "111122223333"
}`

func TestParseRecord(t *testing.T) {
	ev, err := ParseRecord([]byte(createServerRecord))
	if err != nil {
		t.Fatal(err)
	}
	want := Event{
		EventID:          "0b7d1c2e-3f4a-4b5c-8d9e-0f1a2b3c4d5e",
		EventName:        "CreateServer",
		EventTime:        time.Date(2024, 3, 1, 10, 35, 0, 0, time.UTC),
		Region:           "eu-central-1",
		EventSource:      "opsworks-cm.amazonaws.com",
		Username:         "dave@example.com",
		UserIdentityType: "AssumedRole",
		PrincipalARN:     "arn:aws:sts::111122223333:assumed-role/OpsWorksAdmin/dave@example.com",
		SessionIssuerARN: "arn:aws:iam::111122223333:role/OpsWorksAdmin",
		AccountID:        "111122223333",
		AccessKeyID:      "ASIAQDAVEADMINROLE1",
		MFAAuthenticated: true,
		SourceIPAddress:  "198.51.100.61",
		UserAgent:        "console.amazonaws.com",
	}
	got := ev
	got.Resources, got.RequestParameters, got.ResponseElements, got.CloudTrailEvent = nil, "", "", ""
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseRecord:\n got %+v\nwant %+v", got, want)
	}
	// The record's resources, then what its request names, as
	// LookupEvents reports them.
	wantResources := []Resource{
		{Type: "AWS::OpsWorksCM::Server", Name: "arn:aws:opsworks-cm:eu-central-1:111122223333:server/puppet-fra/x"},
		{Type: "AWS::OpsWorksCM::Server", Name: "puppet-fra"},
	}
	if !slices.Equal(ev.Resources, wantResources) {
		t.Errorf("Resources = %+v, want %+v", ev.Resources, wantResources)
	}
	for name, doc := range map[string]string{"request_parameters": ev.RequestParameters, "response_elements": ev.ResponseElements, "cloudtrail_event": ev.CloudTrailEvent} {
		if strings.Contains(doc, "Pupp3t") || strings.Contains(doc, "r10k.git") {
			t.Errorf("%s leaks an engine attribute: %s", name, doc)
		}
		if !json.Valid([]byte(doc)) {
			t.Errorf("%s is not JSON: %s", name, doc)
		}
	}
	if !strings.Contains(ev.RequestParameters, `"backupRetentionCount":10`) || !strings.Contains(ev.RequestParameters, `"serverName":"puppet-fra"`) {
		t.Errorf("request parameters lost a value: %s", ev.RequestParameters)
	}
	if !strings.Contains(ev.CloudTrailEvent, `"userAgent":"console.amazonaws.com"`) {
		t.Errorf("record lost a value: %s", ev.CloudTrailEvent)
	}
}

// TestRequestResources checks the resources of OpsWorks CM calls read
// from a log file, which has no resources field for them, come from the
// request parameters that name one; other services' parameters of the
// same names, and values that are not names, are left alone.
func TestRequestResources(t *testing.T) {
	record := func(source, params string) string {
		return `{"eventVersion":"1.09","eventTime":"2024-03-01T10:35:00Z","eventSource":"` + source + `","eventName":"X",` +
			`"eventID":"e","requestParameters":` + params + `}`
	}
	tests := []struct {
		record string
		want   []Resource
	}{
		{record(OpsWorksCMSource, `{"serverName":"chef-eu","backupId":"chef-eu-20240301120000000"}`), []Resource{
			{Type: "AWS::OpsWorksCM::Server", Name: "chef-eu"}, {Type: "AWS::OpsWorksCM::Backup", Name: "chef-eu-20240301120000000"}}},
		{record(OpsWorksCMSource, `{"resourceArn":"arn:aws:opsworks-cm:us-east-1:111122223333:server/chef-eu/x","tags":[]}`), []Resource{
			{Type: "AWS::OpsWorksCM::Server", Name: "arn:aws:opsworks-cm:us-east-1:111122223333:server/chef-eu/x"}}},
		{record(OpsWorksCMSource, `{"serverName":17,"backupId":{"id":"b"}}`), nil},
		{record(OpsWorksCMSource, `null`), nil},
		{record("backup.amazonaws.com", `{"backupId":"b-1"}`), nil},
	}
	for _, tt := range tests {
		ev, err := DecodeRecord([]byte(tt.record))
		if err != nil {
			t.Fatalf("%s: %v", tt.record, err)
		}
		if !slices.Equal(ev.Resources, tt.want) {
			t.Errorf("%s: resources %+v, want %+v", tt.record, ev.Resources, tt.want)
		}
	}
}

func TestParseRecordIdentities(t *testing.T) {
	cases := []struct {
		identity, wantUser string
		wantAccount        string
	}{
		{`{"type":"Root","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"}`, "root", "111122223333"},
		{`{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/bob","userName":"bob","accountId":"111122223333"}`, "bob", "111122223333"},
		{`{"type":"AWSService","invokedBy":"cloudformation.amazonaws.com"}`, "cloudformation.amazonaws.com", "444455556666"},
	}
	for _, c := range cases {
		raw := `{"eventID":"e","eventName":"DescribeServers","eventTime":"2024-03-01T10:35:00Z","readOnly":"true",` +
			`"recipientAccountId":"444455556666","userIdentity":` + c.identity + `}`
		ev, err := ParseRecord([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		if ev.Username != c.wantUser || ev.AccountID != c.wantAccount || !ev.ReadOnly {
			t.Errorf("%s: username %q account %q read-only %v", c.identity, ev.Username, ev.AccountID, ev.ReadOnly)
		}
		if ev.RequestParameters != "null" || ev.ResponseElements != "null" {
			t.Errorf("absent parameters should be null, got %q and %q", ev.RequestParameters, ev.ResponseElements)
		}
	}
}

func TestParseRecordErrors(t *testing.T) {
	for _, raw := range []string{
		`not json`,
		`{"eventID":"e","eventTime":"2024-03-01T10:35:00Z"}`,
		`{"eventID":"e","eventName":"X","eventTime":"yesterday"}`,
	} {
		if _, err := ParseRecord([]byte(raw)); err == nil {
			t.Errorf("ParseRecord(%s) succeeded", raw)
		}
	}
}

func TestRedactJSON(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"engine attributes whatever their name",
			`{"engineAttributes":[{"name":"CHEF_ORGANIZATION","value":"acme"},{"name":"X","value":""}]}`,
			`{"engineAttributes":[{"name":"CHEF_ORGANIZATION","value":"*** Redacted ***"},{"name":"X","value":""}]}`},
		{"a single exported engine attribute",
			`{"engineAttribute":{"name":"Userdata","value":"IyEvYmluL2Jhc2g="}}`,
			`{"engineAttribute":{"name":"Userdata","value":"*** Redacted ***"}}`},
		{"an engine attribute updated by name",
			`{"attributeName":"PUPPET_R10K_REMOTE","attributeValue":"git@example.com:r.git","serverName":"p"}`,
			`{"attributeName":"PUPPET_R10K_REMOTE","attributeValue":"*** Redacted ***","serverName":"p"}`},
		{"credential keys at any depth, any case",
			`{"credentials":{"accessKeyId":"ASIA1","secretAccessKey":"abc","sessionToken":"tok","expiration":1700000000},"db":{"MasterUserPassword":"pw","private_key":{"pem":"x"}}}`,
			`{"credentials":{"accessKeyId":"ASIA1","expiration":1700000000,"secretAccessKey":"*** Redacted ***","sessionToken":"*** Redacted ***"},"db":{"MasterUserPassword":"*** Redacted ***","private_key":"*** Redacted ***"}}`},
		{"name/value pairs named like a credential",
			`{"environment":[{"name":"DB_PASSWORD","value":"pw"},{"name":"REGION","value":"eu-west-1"},{"key":"api-key","value":"k"}]}`,
			`{"environment":[{"name":"DB_PASSWORD","value":"*** Redacted ***"},{"name":"REGION","value":"eu-west-1"},{"key":"api-key","value":"*** Redacted ***"}]}`},
		{"references to secrets are kept",
			`{"secretArn":"arn:aws:secretsmanager:us-east-1:1:secret:x","secretId":"x","keyPairName":"k","nodeAssociationStatusToken":"t","nextToken":"n"}`,
			`{"secretArn":"arn:aws:secretsmanager:us-east-1:1:secret:x","secretId":"x","keyPairName":"k","nodeAssociationStatusToken":"t","nextToken":"n"}`},
		{"untouched documents keep order and numbers",
			`{ "z": 1.50, "a": [1e3, true, null], "m": "<&>" }`,
			`{"z":1.50,"a":[1e3,true,null],"m":"<&>"}`},
		{"already redacted values stay as they are",
			`{"engineAttributes":[{"name":"PUPPET_ADMIN_PASSWORD","value":"*** Redacted ***"}],"z":1.50}`,
			`{"engineAttributes":[{"name":"PUPPET_ADMIN_PASSWORD","value":"*** Redacted ***"}],"z":1.50}`},
		{"redacted documents keep numbers and do not escape HTML",
			`{"password":"p","n":12345678901234567890,"m":"<&>"}`,
			`{"m":"<&>","n":12345678901234567890,"password":"*** Redacted ***"}`},
		{"null", `null`, `null`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := RedactJSON([]byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("RedactJSON:\n got %s\nwant %s", got, c.want)
			}
		})
	}
	if _, err := RedactJSON([]byte(`{"a":`)); err == nil {
		t.Error("RedactJSON accepted truncated JSON")
	}
}

func TestFilterMatch(t *testing.T) {
	yes, no := true, false
	ev := Event{
		EventName: "DeleteServer", EventSource: DefaultEventSource, Username: "ci-pipeline-4711",
		PrincipalARN:     "arn:aws:sts::111122223333:assumed-role/TerraformDeploy/ci-pipeline-4711",
		SessionIssuerARN: "arn:aws:iam::111122223333:role/TerraformDeploy",
		ErrorCode:        "AccessDenied", SourceIPAddress: "192.0.2.200",
		Resources: []Resource{{Type: "AWS::OpsWorksCM::Server", Name: "puppet-tokyo"}},
	}
	cidrs := func(ss ...string) []netip.Prefix {
		p, err := ParseCIDRs(ss)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name string
		f    Filter
		want bool
	}{
		{"zero filter", Filter{}, true},
		{"source", Filter{EventSource: DefaultEventSource}, true},
		{"other source", Filter{EventSource: "s3.amazonaws.com"}, false},
		{"every source", Filter{EventSource: AllEventSources}, true},
		{"every source, other conditions still apply", Filter{EventSource: AllEventSources, EventNames: []string{"CreateServer"}}, false},
		{"event name among several", Filter{EventNames: []string{"CreateServer", "DeleteServer"}}, true},
		{"other event name", Filter{EventNames: []string{"CreateServer"}}, false},
		{"username", Filter{Usernames: []string{"ci-pipeline-4711"}}, true},
		{"other username", Filter{Usernames: []string{"alice"}}, false},
		{"session ARN", Filter{PrincipalARNs: []string{ev.PrincipalARN}}, true},
		{"role ARN of the session", Filter{PrincipalARNs: []string{"arn:aws:iam::111122223333:role/TerraformDeploy"}}, true},
		{"other principal", Filter{PrincipalARNs: []string{"arn:aws:iam::111122223333:user/alice"}}, false},
		{"read-write", Filter{ReadOnly: &no}, true},
		{"read-only", Filter{ReadOnly: &yes}, false},
		{"error code", Filter{ErrorCodes: []string{"AccessDenied"}}, true},
		{"other error code", Filter{ErrorCodes: []string{"ValidationException"}}, false},
		{"resource name", Filter{ResourceNames: []string{"chef-eu", "puppet-tokyo"}}, true},
		{"other resource", Filter{ResourceNames: []string{"chef-eu"}}, false},
		{"source CIDR", Filter{SourceIPCIDRs: cidrs("10.0.0.0/8", "192.0.2.0/24")}, true},
		{"single address", Filter{SourceIPCIDRs: cidrs("192.0.2.200")}, true},
		{"other CIDR", Filter{SourceIPCIDRs: cidrs("198.51.100.0/24")}, false},
		{"all together", Filter{EventNames: []string{"DeleteServer"}, Usernames: []string{"ci-pipeline-4711"}, ReadOnly: &no,
			ErrorCodes: []string{"AccessDenied"}, SourceIPCIDRs: cidrs("192.0.2.0/24")}, true},
		{"one failing condition among many", Filter{EventNames: []string{"DeleteServer"}, Usernames: []string{"alice"}}, false},
	}
	for _, c := range cases {
		if got := c.f.Match(&ev); got != c.want {
			t.Errorf("%s: Match = %v, want %v", c.name, got, c.want)
		}
	}
	service := Event{SourceIPAddress: "AWS Internal"}
	if (&Filter{SourceIPCIDRs: cidrs("0.0.0.0/0")}).Match(&service) {
		t.Error("a service caller matched a CIDR")
	}
	s3 := Event{EventSource: "s3.amazonaws.com"}
	if !(&Filter{EventSource: AllEventSources}).Match(&s3) {
		t.Error("an S3 event did not match every event source")
	}
	mapped := Event{SourceIPAddress: "::ffff:192.0.2.7"}
	if !(&Filter{SourceIPCIDRs: cidrs("192.0.2.0/24")}).Match(&mapped) {
		t.Error("an IPv4-mapped address did not match its IPv4 block")
	}
}

func TestParseCIDR(t *testing.T) {
	// The spaces around the last input are deliberate: ParseCIDR trims them.
	for _, tc := range []struct{ in, want string }{
		{"10.1.2.3/8", "10.0.0.0/8"},
		{"2001:db8::1", "2001:db8::1/128"},
		{" 192.0.2.1 ", "192.0.2.1/32"},
	} {
		p, err := ParseCIDR(tc.in)
		if err != nil || p.String() != tc.want {
			t.Errorf("ParseCIDR(%q) = %v, %v; want %s", tc.in, p, err, tc.want)
		}
	}
	for _, in := range []string{"", "10.0.0.0/33", "example.com", "10.0.0/8"} {
		if _, err := ParseCIDR(in); err == nil {
			t.Errorf("ParseCIDR(%q) succeeded", in)
		}
	}
}

func TestSortNewestFirst(t *testing.T) {
	t0 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	evs := []Event{
		{EventID: "b", EventTime: t0},
		{EventID: "c", EventTime: t0.Add(time.Hour), Region: "us-east-1"},
		{EventID: "a", EventTime: t0},
		{EventID: "c", EventTime: t0.Add(time.Hour), Region: "eu-west-1"},
		{EventID: "d", EventTime: t0.Add(-time.Hour)},
	}
	got := SortNewestFirst(evs)
	var ids []string
	for _, ev := range got {
		ids = append(ids, ev.EventID)
	}
	if strings.Join(ids, ",") != "c,a,b,d" {
		t.Errorf("order = %v, want c,a,b,d", ids)
	}
	if got[0].Region != "us-east-1" {
		t.Errorf("dedup kept the later copy (%s)", got[0].Region)
	}
}

// TestPrefilter checks that the text test never rejects a record the
// filter matches, and rejects the records it can tell apart.
func TestPrefilter(t *testing.T) {
	raw, err := os.ReadFile("../policy/testdata/opsworks_cm_records.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Records []json.RawMessage }
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	records := slices.Concat(file.Records, []json.RawMessage{json.RawMessage(createServerRecord)})
	var seen []Event
	for _, r := range records {
		ev, err := ParseRecord(r)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, ev)
	}
	// Filters built from the records' own values, one condition each and
	// all together, so each matches some records and not others.
	var filters []Filter
	for _, ev := range seen {
		var res []string
		for _, r := range ev.Resources {
			res = append(res, r.Name)
		}
		filters = append(filters,
			Filter{EventSource: ev.EventSource}, Filter{EventSource: "s3.amazonaws.com"},
			Filter{EventNames: []string{ev.EventName, "NoSuchCall"}},
			Filter{ErrorCodes: []string{ev.ErrorCode}},
			Filter{PrincipalARNs: []string{ev.SessionIssuerARN}}, Filter{PrincipalARNs: []string{ev.PrincipalARN}},
			Filter{ResourceNames: res},
			Filter{EventSource: ev.EventSource, EventNames: []string{ev.EventName}, PrincipalARNs: []string{ev.PrincipalARN}, ResourceNames: res},
		)
	}
	rejected := 0
	for _, f := range filters {
		p := f.Prefilter()
		for i, r := range records {
			match, may := f.Match(&seen[i]), p.MayMatch(r)
			if match && !may {
				t.Errorf("filter %+v: the prefilter rejects record %s, which matches", f, seen[i].EventID)
			}
			if !may {
				rejected++
			}
		}
	}
	if rejected == 0 {
		t.Error("the prefilter rejected no record")
	}

	f := Filter{EventSource: "opsworks-cm.amazonaws.com", EventNames: []string{"CreateServer"}}
	escaped := strings.Replace(createServerRecord, `"CreateServer"`, `"Create\u0053erver"`, 1)
	if !f.Prefilter().MayMatch([]byte(escaped)) {
		t.Error("the prefilter rejects a record whose event name is written with an escape")
	}
	ev, err := DecodeRecord([]byte(escaped))
	if err != nil || !f.Match(&ev) {
		t.Errorf("the escaped record decodes to %q, %v; want a match", ev.EventName, err)
	}
	if (&Filter{EventSource: "ec2.amazonaws.com"}).Prefilter().MayMatch([]byte(createServerRecord)) {
		t.Error("the prefilter keeps an OpsWorks CM record for an EC2 filter")
	}
	if !(&Filter{Usernames: []string{"x"}}).Prefilter().MayMatch([]byte(createServerRecord)) {
		t.Error("a filter without text conditions rejects a record")
	}
	if !(&Filter{EventSource: AllEventSources}).Prefilter().MayMatch([]byte(createServerRecord)) {
		t.Error("the prefilter for every event source rejects a record")
	}
}

// TestDecodeRecordLeavesDocuments checks that the cheap decode is the full
// one without the JSON documents, which AddDocuments then redacts.
func TestDecodeRecordLeavesDocuments(t *testing.T) {
	full, err := ParseRecord([]byte(createServerRecord))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := DecodeRecord([]byte(createServerRecord))
	if err != nil {
		t.Fatal(err)
	}
	if ev.RequestParameters != "" || ev.ResponseElements != "" || ev.CloudTrailEvent != "" {
		t.Errorf("DecodeRecord filled the documents: %+v", ev)
	}
	if err := ev.AddDocuments([]byte(createServerRecord)); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ev, full) {
		t.Errorf("DecodeRecord + AddDocuments:\n got %+v\nwant %+v", ev, full)
	}
	if strings.Contains(ev.CloudTrailEvent, "Pupp3t") {
		t.Errorf("AddDocuments leaks the admin password: %s", ev.CloudTrailEvent)
	}
}
