package provider

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/terraform-plugin-testing/helper/acctest"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
)

// plantedSecrets are distinctive values no output may contain.
type plantedSecrets struct {
	accessKey, secretKey string
	// engineValue is an engine attribute's value CloudTrail left
	// unredacted, password a request parameter.
	engineValue, password string
}

func (p plantedSecrets) all() map[string]string {
	return map[string]string{"access key": p.accessKey, "secret key": p.secretKey,
		"engine attribute value": p.engineValue, "password": p.password}
}

// plantedRecords are a CreateServer call whose engine attribute came
// through unredacted and an UpdateServer call with a password parameter,
// with event ids starting idPrefix.
func plantedRecords(p plantedSecrets, account, idPrefix string, at time.Time) []map[string]any {
	rec := func(n int, name string, params, response map[string]any) map[string]any {
		return map[string]any{
			"eventVersion": "1.09",
			"userIdentity": map[string]any{"type": "IAMUser", "accountId": account, "userName": "deployer",
				"arn": "arn:aws:iam::" + account + ":user/deployer"},
			"eventTime":   at.Add(time.Duration(n) * time.Second).UTC().Format(time.RFC3339),
			"eventSource": events.DefaultEventSource, "eventName": name,
			"awsRegion": testRegion, "sourceIPAddress": "192.0.2.10", "userAgent": "aws-cli/2.15.0",
			"requestParameters": params, "responseElements": response,
			"eventID": fmt.Sprintf("%s-0000-4000-8000-%012d", idPrefix, n), "readOnly": false,
			"eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": account,
			"eventCategory": "Management",
		}
	}
	engine := []any{map[string]any{"name": "PUPPET_R10K_REMOTE", "value": p.engineValue}}
	return []map[string]any{
		rec(1, "CreateServer",
			map[string]any{"serverName": "planted", "engine": "Puppet", "engineAttributes": engine},
			map[string]any{"server": map[string]any{"serverName": "planted", "engineAttributes": engine}}),
		rec(2, "UpdateServer", map[string]any{"serverName": "planted", "password": p.password}, nil),
	}
}

// TestAccSecrets_neverWritten plants credentials where a user's would be:
// an access key and secret key in the provider configuration, and in
// records read both through LookupEvents and from the trail's log files,
// an engine attribute CloudTrail did not redact and a password parameter.
// Terraform itself plans and applies with TF_LOG=TRACE; none of the values
// may appear in the plan output, the log, the state, the outputs or the
// JSON, SARIF and JUnit reports, while the planted records are read.
func TestAccSecrets_neverWritten(t *testing.T) {
	needTerraform(t)
	p := plantedSecrets{
		accessKey:   "AKIA" + strings.ToUpper(acctest.RandString(16)),
		secretKey:   "planted-secret-key-" + acctest.RandString(21),
		engineValue: "planted-engine-" + acctest.RandString(20),
		password:    "planted-password-" + acctest.RandString(20),
	}
	srv, err := sandbox.New(sandbox.Options{NoHistory: true, AccessKey: p.accessKey, SecretKey: p.secretKey, LookupRPS: 1e6})
	if err != nil {
		t.Fatalf("starting sandbox: %v", err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(testRegion),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(p.accessKey, p.secretKey, "")),
		config.WithBaseEndpoint(hs.URL))
	if err != nil {
		t.Fatal(err)
	}
	env := &accEnv{Sandbox: srv, Endpoint: hs.URL, Region: testRegion, cfg: cfg}
	env.identify(t)
	now := time.Now().UTC()

	// The lookup path: recent records LookupEvents returns.
	body, err := json.Marshal(map[string]any{"Records": plantedRecords(p, env.Account, "11111111", now.Add(-20*time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.AddRecords(bytes.NewReader(body)); err != nil {
		t.Fatalf("adding records: %v", err)
	}

	// The archive path: a log file in the bucket of a trail.
	bucket, trail := accName("secrets"), accName("secrets")
	env.createLogBucket(t, bucket, trail)
	if _, err := env.CloudTrail("").CreateTrail(context.Background(), &cloudtrail.CreateTrailInput{
		Name: aws.String(trail), S3BucketName: aws.String(bucket), IsMultiRegionTrail: aws.Bool(true)}); err != nil {
		t.Fatalf("CreateTrail: %v", err)
	}
	delivered := now.Add(-time.Hour)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if err := json.NewEncoder(zw).Encode(map[string]any{"Records": plantedRecords(p, env.Account, "22222222", delivered.Add(-10*time.Minute))}); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	key := fmt.Sprintf("AWSLogs/%[1]s/CloudTrail/%[2]s/%[3]s/%[1]s_CloudTrail_%[2]s_%[4]s_pl4nt3dS3cr3tsXy.json.gz",
		env.Account, testRegion, delivered.Format("2006/01/02"), delivered.Format("20060102T1504Z"))
	if _, err := env.S3().PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Body: bytes.NewReader(gz.Bytes())}); err != nil {
		t.Fatalf("writing the log file: %v", err)
	}

	cli := terraformCLIFor(t, hs.URL)
	dir := t.TempDir()
	rule := `  rule {
    id        = "planted_calls"
    severity  = "high"
    condition = "event.event_name == \"CreateServer\" || event.event_name == \"UpdateServer\""
  }`
	main := fmt.Sprintf(`terraform {
  required_providers {
    opsaudit = { source = "opsaudit/opsaudit" }
  }
}

%[1]s
data "opsaudit_events" "lookup" {
  lookback = "1h"
}

data "opsaudit_archive_events" "archive" {
  bucket   = %[2]q
  lookback = "1d"
}

data "opsaudit_compliance" "lookup" {
  trail    = %[3]q
  lookback = "1h"
%[4]s
}

data "opsaudit_compliance" "archive" {
  trail       = %[3]q
  events_from = "archive"
  lookback    = "1d"
%[4]s
}

output "lookup_events" {
  value = data.opsaudit_events.lookup.events
}

output "archive_events" {
  value = data.opsaudit_archive_events.archive.events
}

output "reports" {
  value = {
    for k, c in { lookup = data.opsaudit_compliance.lookup, archive = data.opsaudit_compliance.archive } :
    k => { json = c.report_json, sarif = c.report_sarif, junit = c.report_junit }
  }
}
`, env.ProviderConfig(fmt.Sprintf("  regions = [%q]", testRegion)), bucket, trail, rule)
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(main), 0o600); err != nil {
		t.Fatal(err)
	}
	traceLog := filepath.Join(dir, "trace.log")
	cli.env = append(cli.env, "TF_LOG=TRACE", "TF_LOG_PATH="+traceLog)

	artifacts := map[string]string{}
	run := func(what string, args ...string) string {
		t.Helper()
		out, err := cli.run(t, dir, args...)
		if err != nil {
			t.Fatalf("terraform %s: %v\n%s", what, err, out)
		}
		artifacts["terraform "+what+" output"] = out
		return out
	}
	run("plan", "plan", "-no-color", "-input=false", "-out=plan.tfplan")
	run("apply", "apply", "-no-color", "-input=false", "plan.tfplan")
	run("show -json", "show", "-json")
	outputs := run("output -json", "output", "-json")
	for _, f := range []string{"terraform.tfstate", "trace.log"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatalf("reading %s: %v", f, err)
		}
		artifacts[f] = string(b)
	}
	var out struct {
		LookupEvents  struct{ Value []map[string]any } `json:"lookup_events"`
		ArchiveEvents struct{ Value []map[string]any } `json:"archive_events"`
		Reports       struct {
			Value map[string]map[string]string
		}
	}
	if err := json.Unmarshal([]byte(outputs), &out); err != nil {
		t.Fatalf("decoding the outputs: %v", err)
	}
	for path, r := range out.Reports.Value {
		for format, report := range r {
			artifacts[path+" "+format+" report"] = report
		}
	}

	// The planted records were read on both paths, redacted, and are
	// findings in every report: an absent secret means something.
	for path, evs := range map[string][]map[string]any{"lookup": out.LookupEvents.Value, "archive": out.ArchiveEvents.Value} {
		if len(evs) != 2 {
			t.Fatalf("%s path: %d events, want the 2 planted: %v", path, len(evs), evs)
		}
		for _, ev := range evs {
			if params, _ := ev["request_parameters"].(string); !strings.Contains(params, events.Redacted) {
				t.Errorf("%s path: %s request parameters %s are not redacted", path, ev["event_name"], params)
			}
		}
	}
	for name, a := range artifacts {
		if strings.HasSuffix(name, "report") && !strings.Contains(a, "planted_calls") {
			t.Errorf("%s has no planted_calls finding:\n%s", name, a)
		}
	}
	if !strings.Contains(artifacts["trace.log"], "AWS call") {
		t.Fatal("the trace log has no provider lines: TF_LOG_PATH was not honoured")
	}

	for name, a := range artifacts {
		for what, secret := range p.all() {
			if i := strings.Index(a, secret); i >= 0 {
				t.Errorf("the %s appears in %s: %q", what, name, a[max(0, i-200):min(len(a), i+len(secret)+50)])
			}
		}
	}
}
