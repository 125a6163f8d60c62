package sigma

import (
	"strings"
	"testing"
)

// Each case is a detection with records it must match and near misses it
// must not.
func TestDetectionMatches(t *testing.T) {
	tests := []struct {
		name      string
		detection string
		match     []string
		miss      []string
	}{
		{
			name: "map: every field",
			detection: `
selection:
  eventSource: s3.amazonaws.com
  eventName: PutBucketVersioning
condition: selection`,
			match: []string{`{"eventSource":"s3.amazonaws.com","eventName":"PutBucketVersioning"}`},
			miss:  []string{`{"eventSource":"s3.amazonaws.com","eventName":"GetBucketVersioning"}`, `{"eventName":"PutBucketVersioning"}`},
		},
		{
			name: "list of maps: any map",
			detection: `
selection:
  - eventName: StopLogging
  - eventName: DeleteTrail
    eventSource: cloudtrail.amazonaws.com
condition: selection`,
			match: []string{`{"eventName":"StopLogging"}`, `{"eventName":"DeleteTrail","eventSource":"cloudtrail.amazonaws.com"}`},
			miss:  []string{`{"eventName":"DeleteTrail","eventSource":"s3.amazonaws.com"}`},
		},
		{
			name: "list of values: any value",
			detection: `
selection:
  eventName:
    - CreateAccessKey
    - CreateLoginProfile
condition: selection`,
			match: []string{`{"eventName":"CreateLoginProfile"}`, `{"eventName":"CreateAccessKey"}`},
			miss:  []string{`{"eventName":"UpdateLoginProfile"}`},
		},
		{
			name: "all: every value",
			detection: `
selection:
  userAgent|contains|all:
    - aws-cli
    - Linux
condition: selection`,
			match: []string{`{"userAgent":"aws-cli/2.15.0 Python/3.11.6 Linux/6.1"}`},
			miss:  []string{`{"userAgent":"aws-cli/2.15.0 Python/3.11.6 Darwin/23.1"}`},
		},
		{
			name: "null: absent or JSON null",
			detection: `
selection:
  eventName: DeleteBucket
succeeded:
  errorCode: null
condition: selection and succeeded`,
			match: []string{`{"eventName":"DeleteBucket"}`, `{"eventName":"DeleteBucket","errorCode":null}`},
			miss:  []string{`{"eventName":"DeleteBucket","errorCode":"AccessDenied"}`, `{"eventName":"DeleteBucket","errorCode":""}`},
		},
		{
			name: "empty string: only an empty value",
			detection: `
selection:
  errorMessage: ''
condition: selection`,
			match: []string{`{"errorMessage":""}`},
			miss:  []string{`{}`, `{"errorMessage":null}`, `{"errorMessage":"Failed authentication"}`},
		},
		{
			name: "contains",
			detection: `
selection:
  userAgent|contains: TruffleHog
condition: selection`,
			match: []string{`{"userAgent":"TruffleHog Scanner"}`, `{"userAgent":"go/1.22 trufflehog"}`},
			miss:  []string{`{"userAgent":"Truffle Hog"}`},
		},
		{
			name: "startswith",
			detection: `
selection:
  eventName|startswith: Delete
condition: selection`,
			match: []string{`{"eventName":"DeleteTrail"}`},
			miss:  []string{`{"eventName":"BatchDeleteImage"}`},
		},
		{
			name: "endswith",
			detection: `
selection:
  userIdentity.arn|endswith: ':root'
condition: selection`,
			match: []string{`{"userIdentity":{"arn":"arn:aws:iam::111122223333:root"}}`},
			miss:  []string{`{"userIdentity":{"arn":"arn:aws:iam::111122223333:user/root"}}`},
		},
		{
			name: "re: a search, case-sensitive",
			detection: `
selection:
  userIdentity.arn|re: ':assumed-role/aws:[a-z0-9-]+/i-[0-9a-f]+$'
condition: selection`,
			match: []string{`{"userIdentity":{"arn":"arn:aws:sts::111122223333:assumed-role/aws:ec2-instance/i-0abc12"}}`},
			miss: []string{
				`{"userIdentity":{"arn":"arn:aws:sts::111122223333:assumed-role/AWS:EC2-INSTANCE/i-0abc12"}}`,
				`{"userIdentity":{"arn":"arn:aws:sts::111122223333:assumed-role/ops/i-0abc12"}}`,
			},
		},
		{
			name: "re|i: case-insensitive",
			detection: `
selection:
  userAgent|re|i: '^boto3/1\.'
condition: selection`,
			match: []string{`{"userAgent":"Boto3/1.34.0 md/Botocore#1.34.0"}`},
			miss:  []string{`{"userAgent":"boto3/2.0.0"}`},
		},
		{
			name: "re|m: ^ at each line",
			detection: `
selection:
  requestParameters.commands|re|m: '^rm -rf'
condition: selection`,
			match: []string{`{"requestParameters":{"commands":"cd /tmp\nrm -rf /var/log"}}`},
			miss:  []string{`{"requestParameters":{"commands":"echo rm -rf /var/log"}}`},
		},
		{
			name: "re without m: ^ at the start only",
			detection: `
selection:
  requestParameters.commands|re: '^rm -rf'
condition: selection`,
			match: []string{`{"requestParameters":{"commands":"rm -rf /var/log"}}`},
			miss:  []string{`{"requestParameters":{"commands":"cd /tmp\nrm -rf /var/log"}}`},
		},
		{
			name: "re|s: dot matches a newline",
			detection: `
selection:
  requestParameters.policy|re|s: 'Allow.+s3:\*'
condition: selection`,
			match: []string{`{"requestParameters":{"policy":"Allow\nAction: s3:*"}}`},
			miss:  []string{`{"requestParameters":{"policy":"Allow\nAction: s3:Get*"}}`},
		},
		{
			name: "cidr: IPv4, IPv6 and mapped addresses",
			detection: `
selection:
  sourceIPAddress|cidr:
    - 10.0.0.0/8
    - 2001:db8::/32
condition: selection`,
			match: []string{`{"sourceIPAddress":"10.20.30.40"}`, `{"sourceIPAddress":"2001:db8::1"}`, `{"sourceIPAddress":"::ffff:10.0.0.1"}`},
			miss:  []string{`{"sourceIPAddress":"11.0.0.1"}`, `{"sourceIPAddress":"2001:db9::1"}`, `{"sourceIPAddress":"AWS Internal"}`},
		},
		{
			name: "exists: true, null counts as present",
			detection: `
selection:
  additionalEventData.MFAUsed|exists: true
condition: selection`,
			match: []string{`{"additionalEventData":{"MFAUsed":"No"}}`, `{"additionalEventData":{"MFAUsed":null}}`},
			miss:  []string{`{"additionalEventData":{}}`, `{"additionalEventData":"MFAUsed"}`},
		},
		{
			name: "exists: false",
			detection: `
selection:
  errorCode|exists: false
condition: selection`,
			match: []string{`{"eventName":"ListBuckets"}`},
			miss:  []string{`{"eventName":"ListBuckets","errorCode":"AccessDenied"}`},
		},
		{
			name: "cased",
			detection: `
selection:
  eventName|cased: ConsoleLogin
condition: selection`,
			match: []string{`{"eventName":"ConsoleLogin"}`},
			miss:  []string{`{"eventName":"consolelogin"}`},
		},
		{
			name: "contains|cased",
			detection: `
selection:
  userAgent|contains|cased: 'S3 Browser'
condition: selection`,
			match: []string{`{"userAgent":"S3 Browser 9.5.5 https://s3browser.com"}`},
			miss:  []string{`{"userAgent":"s3 browser 9.5.5"}`},
		},
		{
			name: "case-insensitive by default, beyond ASCII too",
			detection: `
selection:
  eventName: consolelogin
  requestParameters.description|contains: 'ÄRGER'
condition: selection`,
			match: []string{`{"eventName":"CONSOLELOGIN","requestParameters":{"description":"kein ärger"}}`},
			miss:  []string{`{"eventName":"ConsoleLogout","requestParameters":{"description":"kein ärger"}}`, `{"eventName":"ConsoleLogin","requestParameters":{"description":"kein arger"}}`},
		},
		{
			name: "wildcard *",
			detection: `
selection:
  userIdentity.arn: 'arn:aws:iam::*:root'
condition: selection`,
			match: []string{`{"userIdentity":{"arn":"arn:aws:iam::111122223333:root"}}`},
			miss:  []string{`{"userIdentity":{"arn":"arn:aws:iam::111122223333:user/root"}}`},
		},
		{
			name: "wildcard ?",
			detection: `
selection:
  awsRegion: 'eu-west-?'
condition: selection`,
			match: []string{`{"awsRegion":"eu-west-1"}`},
			miss:  []string{`{"awsRegion":"eu-west-10"}`, `{"awsRegion":"eu-west-"}`},
		},
		{
			name: "escaped wildcard",
			detection: `
selection:
  requestParameters.key: 'logs/\*'
condition: selection`,
			match: []string{`{"requestParameters":{"key":"logs/*"}}`},
			miss:  []string{`{"requestParameters":{"key":"logs/2025/01"}}`},
		},
		{
			name: "escaped backslash before a wildcard",
			detection: `
selection:
  requestParameters.path: 'C:\\*'
condition: selection`,
			match: []string{`{"requestParameters":{"path":"C:\\Windows"}}`},
			miss:  []string{`{"requestParameters":{"path":"C:Windows"}}`},
		},
		{
			name: "object field matched as its JSON text",
			detection: `
selection:
  requestParameters|contains: '"Status":"Suspended"'
condition: selection`,
			match: []string{`{"requestParameters":{"bucketName":"logs","VersioningConfiguration":{"Status":"Suspended"}}}`, `{"requestParameters": {"VersioningConfiguration": {"Status": "Suspended"}}}`},
			miss:  []string{`{"requestParameters":{"bucketName":"Suspended","VersioningConfiguration":{"Status":"Enabled"}}}`},
		},
		{
			name: "object JSON text keeps <, > and &",
			detection: `
selection:
  requestParameters|contains: 'arn:aws:s3:::<bucket>/*'
condition: selection`,
			match: []string{`{"requestParameters":{"policyDocument":"Allow arn:aws:s3:::<bucket>/* & more"}}`},
			miss:  []string{`{"requestParameters":{"policyDocument":"Allow arn:aws:s3:::bucket/*"}}`},
		},
		{
			name: "arrays: any element, looked through on the way",
			detection: `
selection:
  requestParameters.containerDefinitions.command|contains: '$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'
condition: selection`,
			match: []string{`{"requestParameters":{"containerDefinitions":[{"command":["sleep 1"]},{"command":["sh","-c","curl 169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]}]}}`},
			miss:  []string{`{"requestParameters":{"containerDefinitions":[{"command":["sh","-c","env"]}]}}`},
		},
		{
			name: "booleans and numbers as their text",
			detection: `
selection:
  readOnly: false
  responseElements.publiclyAccessible: 'true'
  requestParameters.maxResults: 50
condition: selection`,
			match: []string{`{"readOnly":false,"responseElements":{"publiclyAccessible":true},"requestParameters":{"maxResults":50}}`},
			miss: []string{
				`{"readOnly":true,"responseElements":{"publiclyAccessible":true},"requestParameters":{"maxResults":50}}`,
				`{"readOnly":false,"responseElements":{"publiclyAccessible":true},"requestParameters":{"maxResults":500}}`,
			},
		},
		{
			name: "dotted field names reach nested objects",
			detection: `
selection:
  userIdentity.sessionContext.sessionIssuer.type: Role
condition: selection`,
			match: []string{`{"userIdentity":{"sessionContext":{"sessionIssuer":{"type":"Role"}}}}`},
			miss:  []string{`{"userIdentity":{"sessionContext":{"sessionIssuer":{"type":"IAMUser"}}}}`, `{"userIdentity":{"type":"Role"}}`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkMatches(t, compileOne(t, ruleDoc(tt.detection)), record, tt.match, tt.miss)
		})
	}
}

// A Record serves many rules and then the next event: cached object text
// must not leak from one event into the next.
func TestRecordReset(t *testing.T) {
	r := compileOne(t, selectionDoc("requestParameters|contains: Suspended"))
	rec := record(t, `{"requestParameters":{"status":"Suspended"}}`)
	for range 2 { // the second time from the cache
		if !r.Match(rec) {
			t.Fatal("first record does not match")
		}
	}
	if err := rec.Reset(`{"requestParameters":{"status":"Enabled"}}`); err != nil {
		t.Fatal(err)
	}
	if r.Match(rec) {
		t.Fatal("the second record matched the first record's object text")
	}
}

// A record that does not parse is an error, and matches nothing, not even
// a rule that asks for an absent field.
func TestRecordResetErrors(t *testing.T) {
	r := compileOne(t, selectionDoc("errorCode: null"))
	rec := record(t, `{"eventName":"ListBuckets"}`)
	if !r.Match(rec) {
		t.Fatal("a record without errorCode does not match errorCode: null")
	}
	for js, want := range map[string]string{
		`{"eventName":`: "parsing the CloudTrail record",
		``:              "parsing the CloudTrail record",
		`["eventName"]`: "the CloudTrail record is not a JSON object",
	} {
		if err := rec.Reset(js); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Reset(%q) = %v, want %q", js, err, want)
		}
		if r.Match(rec) {
			t.Errorf("the unparsed record %q matched", js)
		}
	}
}
