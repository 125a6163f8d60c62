package bucketpolicy

import (
	"encoding/json"
	"errors"
	"path"
	"strings"
	"testing"
)

const (
	account  = "111122223333"
	bucket   = "audit-logs"
	orgID    = "o-abcdefghij"
	trailA   = "arn:aws:cloudtrail:us-east-1:111122223333:trail/opsaudit"
	trailB   = "arn:aws:cloudtrail:us-east-1:111122223333:trail/other"
	intruder = "arn:aws:cloudtrail:us-east-1:444455556666:trail/opsaudit"
)

// request is what the matcher evaluates: one S3 call with its request
// context, as IAM sees it.
type request struct {
	service  string // calling service principal
	action   string
	resource string
	context  map[string]string
}

// evalPolicy is a small IAM evaluator, written independently of Build from
// the IAM policy evaluation rules: an explicit Deny wins, otherwise an Allow
// that matches principal, action, resource and every condition allows, and
// anything else is an implicit deny. It supports what a bucket policy for
// CloudTrail needs: Service principals and "*", wildcards in Action and
// Resource, and the StringEquals, StringLike and Bool operators.
func evalPolicy(t *testing.T, doc string, r request) bool {
	t.Helper()
	var d struct {
		Statement []map[string]any
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		t.Fatalf("policy is not JSON: %v", err)
	}
	allowed := false
	for _, s := range d.Statement {
		if !principalMatches(s["Principal"], r.service) ||
			!anyGlob(s["Action"], r.action) || !anyGlob(s["Resource"], r.resource) ||
			!conditionsHold(t, s["Condition"], r.context) {
			continue
		}
		switch s["Effect"] {
		case "Deny":
			return false
		case "Allow":
			allowed = true
		default:
			t.Fatalf("statement %v has effect %v", s["Sid"], s["Effect"])
		}
	}
	return allowed
}

func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			out = append(out, e.(string))
		}
		return out
	}
	return nil
}

func principalMatches(p any, service string) bool {
	if p == "*" {
		return true
	}
	m, ok := p.(map[string]any)
	if !ok {
		return false
	}
	for _, s := range strs(m["Service"]) {
		if s == service {
			return true
		}
	}
	return false
}

// anyGlob matches IAM wildcards; path.Match's "*" does not cross "/",
// so slashes are swapped for a byte IAM values never contain first.
func anyGlob(patterns any, value string) bool {
	esc := func(s string) string { return strings.ReplaceAll(s, "/", "\x00") }
	for _, p := range strs(patterns) {
		if ok, _ := path.Match(esc(p), esc(value)); ok {
			return true
		}
	}
	return false
}

func conditionsHold(t *testing.T, c any, ctx map[string]string) bool {
	t.Helper()
	if c == nil {
		return true
	}
	for op, block := range c.(map[string]any) {
		for key, want := range block.(map[string]any) {
			got, present := ctx[key]
			if !present {
				return false
			}
			ok := false
			for _, w := range strs(want) {
				switch op {
				case "StringEquals", "Bool":
					ok = ok || got == w
				case "StringLike":
					ok = ok || anyGlob(w, got)
				default:
					t.Fatalf("condition operator %s is not supported by the test evaluator", op)
				}
			}
			if !ok {
				return false
			}
		}
	}
	return true
}

func put(key, sourceARN string, acl bool, tls bool) request {
	ctx := map[string]string{"aws:SecureTransport": map[bool]string{true: "true", false: "false"}[tls]}
	if sourceARN != "" {
		ctx["aws:SourceArn"] = sourceARN
	}
	if acl {
		ctx["s3:x-amz-acl"] = "bucket-owner-full-control"
	}
	return request{service: ServicePrincipal, action: "s3:PutObject", resource: "arn:aws:s3:::" + key, context: ctx}
}

func TestBuildAllowsExactlyTheTrailPrefixes(t *testing.T) {
	doc, err := Build(Options{Bucket: bucket, AccountID: account, TrailARNs: []string{trailB, trailA, trailA},
		KeyPrefix: "team/ops", OrganizationID: orgID})
	if err != nil {
		t.Fatal(err)
	}
	const obj = "CloudTrail/us-east-1/2024/05/01/111122223333_CloudTrail_us-east-1_20240501T0000Z_x.json.gz"
	aclCheck := func(source string, tls bool) request {
		r := put("", source, false, tls)
		r.action, r.resource = "s3:GetBucketAcl", "arn:aws:s3:::"+bucket
		return r
	}
	tests := []struct {
		name string
		req  request
		want bool
	}{
		{"trail writes its account's logs", put(bucket+"/team/ops/AWSLogs/111122223333/"+obj, trailA, true, true), true},
		{"second trail writes too", put(bucket+"/team/ops/AWSLogs/111122223333/"+obj, trailB, true, true), true},
		{"organization trail writes under the org id", put(bucket+"/team/ops/AWSLogs/"+orgID+"/111122223333/"+obj, trailA, true, true), true},
		{"ACL check by the trail", aclCheck(trailA, true), true},

		{"ACL check by another account's trail", aclCheck(intruder, true), false},
		{"ACL check without SourceArn", aclCheck("", true), false},
		{"write without bucket-owner-full-control", put(bucket+"/team/ops/AWSLogs/111122223333/"+obj, trailA, false, true), false},
		{"write by a trail not named", put(bucket+"/team/ops/AWSLogs/111122223333/"+obj, intruder, true, true), false},
		{"write without SourceArn (confused deputy)", put(bucket+"/team/ops/AWSLogs/111122223333/"+obj, "", true, true), false},
		{"write over plain HTTP", put(bucket+"/team/ops/AWSLogs/111122223333/"+obj, trailA, true, false), false},
		{"ACL check over plain HTTP", aclCheck(trailA, false), false},
		{"write outside the key prefix", put(bucket+"/AWSLogs/111122223333/"+obj, trailA, true, true), false},
		{"write to a sibling of the prefix", put(bucket+"/team/opsx/AWSLogs/111122223333/"+obj, trailA, true, true), false},
		{"write under another account", put(bucket+"/team/ops/AWSLogs/444455556666/"+obj, trailA, true, true), false},
		{"write under another organization", put(bucket+"/team/ops/AWSLogs/o-zzzzzzzzzz/"+obj, trailA, true, true), false},
		{"write to the bucket root", put(bucket+"/evil.json", trailA, true, true), false},
		{"write to another bucket", put("audit-logs-2/team/ops/AWSLogs/111122223333/"+obj, trailA, true, true), false},
		{"write by another service", func() request {
			r := put(bucket+"/team/ops/AWSLogs/111122223333/"+obj, trailA, true, true)
			r.service = "config.amazonaws.com"
			return r
		}(), false},
		{"delete by the trail", func() request {
			r := put(bucket+"/team/ops/AWSLogs/111122223333/"+obj, trailA, true, true)
			r.action = "s3:DeleteObject"
			return r
		}(), false},
		{"read by the trail", func() request {
			r := put(bucket+"/team/ops/AWSLogs/111122223333/"+obj, trailA, true, true)
			r.action = "s3:GetObject"
			return r
		}(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := evalPolicy(t, doc, tt.req); got != tt.want {
				t.Errorf("allowed = %v, want %v\npolicy: %s", got, tt.want, doc)
			}
		})
	}
}

func TestBuildWithoutPrefixOrOrganization(t *testing.T) {
	doc, err := Build(Options{Bucket: bucket, AccountID: account, TrailARNs: []string{trailA}})
	if err != nil {
		t.Fatal(err)
	}
	if !evalPolicy(t, doc, put(bucket+"/AWSLogs/111122223333/CloudTrail/x.json.gz", trailA, true, true)) {
		t.Error("the trail cannot write under AWSLogs/<account>/ at the bucket root")
	}
	if evalPolicy(t, doc, put(bucket+"/AWSLogs/"+orgID+"/111122223333/x.json.gz", trailA, true, true)) {
		t.Error("without organization_id the organization prefix must stay closed")
	}
	if evalPolicy(t, doc, put(bucket+"/x/AWSLogs/111122223333/x.json.gz", trailA, true, true)) {
		t.Error("without a key prefix only the root AWSLogs/ is writable")
	}
}

func TestBuildUsesTheTrailPartition(t *testing.T) {
	gov := "arn:aws-us-gov:cloudtrail:us-gov-west-1:111122223333:trail/t"
	doc, err := Build(Options{Bucket: bucket, AccountID: account, TrailARNs: []string{gov}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(doc, `"arn:aws-us-gov:s3:::audit-logs"`) || strings.Contains(doc, "arn:aws:s3") {
		t.Errorf("bucket ARNs are not in the trail's partition:\n%s", doc)
	}
}

func TestBuildRejects(t *testing.T) {
	ok := Options{Bucket: bucket, AccountID: account, TrailARNs: []string{trailA}}
	tests := map[string]func(o *Options){
		"no trail":         func(o *Options) { o.TrailARNs = nil },
		"no bucket":        func(o *Options) { o.Bucket = "" },
		"short account":    func(o *Options) { o.AccountID = "1234" },
		"leading slash":    func(o *Options) { o.KeyPrefix = "/logs" },
		"trailing slash":   func(o *Options) { o.KeyPrefix = "logs/" },
		"bad organization": func(o *Options) { o.OrganizationID = "org-1" },
		"not a trail ARN":  func(o *Options) { o.TrailARNs = []string{"arn:aws:s3:::bucket"} },
		"not an ARN":       func(o *Options) { o.TrailARNs = []string{"opsaudit"} },
		"mixed partitions": func(o *Options) {
			o.TrailARNs = []string{trailA, "arn:aws-cn:cloudtrail:cn-north-1:111122223333:trail/t"}
		},
		"trail ARN sans name": func(o *Options) { o.TrailARNs = []string{"arn:aws:cloudtrail:us-east-1:111122223333:trail/"} },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			o := ok
			mutate(&o)
			if doc, err := Build(o); err == nil {
				t.Errorf("Build accepted %+v:\n%s", o, doc)
			}
		})
	}
	if _, err := Build(ok); err != nil {
		t.Fatalf("the unmodified options must build: %v", err)
	}
}

func TestBuildIsOrderIndependent(t *testing.T) {
	a, err := Build(Options{Bucket: bucket, AccountID: account, TrailARNs: []string{trailA, trailB}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(Options{Bucket: bucket, AccountID: account, TrailARNs: []string{trailB, trailA, trailB}})
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("the order of trails changed the document:\n%s\n%s", a, b)
	}
}

func TestParseRoundTrip(t *testing.T) {
	for _, o := range []Options{
		{Bucket: bucket, AccountID: account, TrailARNs: []string{trailA}},
		{Bucket: bucket, AccountID: account, TrailARNs: []string{trailA, trailB}, KeyPrefix: "a/b", OrganizationID: orgID},
		{Bucket: "logs.example", AccountID: account, TrailARNs: []string{trailB}, KeyPrefix: "AWSLogs"},
	} {
		doc, err := Build(o)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Parse(doc)
		if err != nil {
			t.Fatalf("Parse(Build(%+v)): %v", o, err)
		}
		again, err := Build(got)
		if err != nil {
			t.Fatal(err)
		}
		if again != doc {
			t.Errorf("round trip of %+v gave %+v", o, got)
		}
	}
}

func TestParseRejectsForeignPolicies(t *testing.T) {
	for name, doc := range map[string]string{
		"no write statement": `{"Version":"2012-10-17","Statement":[{"Sid":"X","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`,
		"no SourceArn":       `{"Statement":[{"Sid":"AWSCloudTrailWrite","Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/AWSLogs/111122223333/*"}]}`,
		"odd resource":       `{"Statement":[{"Sid":"AWSCloudTrailWrite","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringEquals":{"aws:SourceArn":"` + trailA + `"}}}]}`,
	} {
		if o, err := Parse(doc); !errors.Is(err, ErrNotRecognised) {
			t.Errorf("%s: Parse = %+v, %v; want ErrNotRecognised", name, o, err)
		}
	}
	if _, err := Parse("{"); err == nil || errors.Is(err, ErrNotRecognised) {
		t.Errorf("broken JSON: err = %v, want a decoding error", err)
	}
}

func TestEquivalent(t *testing.T) {
	doc, err := Build(Options{Bucket: bucket, AccountID: account, TrailARNs: []string{trailA}})
	if err != nil {
		t.Fatal(err)
	}
	// What S3 may hand back: compact, keys and statements reordered,
	// one-element lists as lists.
	var d map[string]any
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		t.Fatal(err)
	}
	st := d["Statement"].([]any)
	st[0], st[2] = st[2], st[0]
	st[2].(map[string]any)["Action"] = []any{"s3:GetBucketAcl"}
	reshaped, _ := json.Marshal(d)

	other, err := Build(Options{Bucket: bucket, AccountID: account, TrailARNs: []string{trailB}})
	if err != nil {
		t.Fatal(err)
	}
	noTLS := strings.Replace(doc, SidDenyInsecureTransport, "Unrelated", 1)
	noTLS = strings.Replace(noTLS, `"Deny"`, `"Allow"`, 1)

	for _, tt := range []struct {
		name string
		a, b string
		want bool
	}{
		{"reformatted", doc, string(reshaped), true},
		{"other trail", doc, other, false},
		{"deny turned into allow", doc, noTLS, false},
		{"missing policy", doc, "", false},
		{"both missing", "", "  ", true},
	} {
		got, err := Equivalent(tt.a, tt.b)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("%s: Equivalent = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestTrailARN(t *testing.T) {
	got := TrailARN("aws", "us-east-1", account, "opsaudit")
	if got != trailA {
		t.Errorf("TrailARN = %q, want %q", got, trailA)
	}
	if a, err := ParseTrailARN(got); err != nil || a.Partition != "aws" || a.Region != "us-east-1" || a.AccountID != account {
		t.Errorf("ParseTrailARN(%q) = %+v, %v", got, a, err)
	}
}

// TestParseBooleanCondition reads a policy written by hand the way S3
// accepts it, with the TLS condition as a JSON boolean and one-element
// lists as strings: Parse recovers what Build would need to write it.
func TestParseBooleanCondition(t *testing.T) {
	doc := `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
     "Action": "s3:GetBucketAcl", "Resource": "arn:aws:s3:::audit-logs",
     "Condition": {"StringEquals": {"aws:SourceArn": "` + trailA + `"}}},
    {"Sid": "AWSCloudTrailWrite", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
     "Action": "s3:PutObject", "Resource": "arn:aws:s3:::audit-logs/team/AWSLogs/111122223333/*",
     "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": "` + trailA + `"}}},
    {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
     "Resource": ["arn:aws:s3:::audit-logs", "arn:aws:s3:::audit-logs/*"],
     "Condition": {"Bool": {"aws:SecureTransport": false}}}
  ]
}`
	got, err := Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := Options{Bucket: bucket, AccountID: account, TrailARNs: []string{trailA}, KeyPrefix: "team"}
	if got.Bucket != want.Bucket || got.AccountID != want.AccountID || got.KeyPrefix != want.KeyPrefix ||
		len(got.TrailARNs) != 1 || got.TrailARNs[0] != trailA {
		t.Fatalf("Parse = %+v, want %+v", got, want)
	}
	built, err := Build(got)
	if err != nil {
		t.Fatal(err)
	}
	if same, err := Equivalent(doc, built); err != nil || !same {
		t.Errorf("the policy built from what Parse recovered differs:\n%s\n(%v)", built, err)
	}
}
