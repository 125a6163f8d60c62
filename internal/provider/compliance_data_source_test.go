package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/terraform-plugin-testing/helper/acctest"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/policy"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
)

const complianceAddr = "data.opsaudit_compliance.test"

// complianceProvider is the provider block with LookupEvents unpaced (the
// sandbox allows it) and few retries, so fault steps finish quickly.
func complianceProvider(env *accEnv) string {
	return env.ProviderConfig("  lookup_requests_per_second = 1000\n  max_retries = 1")
}

// auditedTrail is a log bucket and a trail writing to it; extra HCL goes
// into the bucket and the trail.
func auditedTrail(name, bucketExtra, trailExtra string) string {
	return fmt.Sprintf(`
resource "opsaudit_log_bucket" "test" {
  bucket        = %[1]q
  trail_names   = [%[1]q]
  force_destroy = true
%[2]s
}

resource "opsaudit_trail" "test" {
  name           = %[1]q
  s3_bucket_name = opsaudit_log_bucket.test.bucket
%[3]s
}
`, name, bucketExtra, trailExtra)
}

// findingRuleIDs checks the set of rule ids among the findings, and that
// the summary agrees with the findings.
func findingRuleIDs(want ...string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		rs, ok := s.RootModule().Resources[complianceAddr]
		if !ok {
			return fmt.Errorf("%s not in state", complianceAddr)
		}
		a := rs.Primary.Attributes
		var n int
		if _, err := fmt.Sscan(a["findings.#"], &n); err != nil {
			return fmt.Errorf("findings.#: %w", err)
		}
		seen := map[string]int{}
		for i := range n {
			seen[a[fmt.Sprintf("findings.%d.rule_id", i)]]++
		}
		var got []string
		for id, c := range seen {
			got = append(got, id)
			if by := a["summary.by_rule."+id]; by != fmt.Sprint(c) {
				return fmt.Errorf("summary.by_rule.%s = %s, findings hold %d", id, by, c)
			}
		}
		slices.Sort(got)
		want = slices.Sorted(slices.Values(want))
		if !slices.Equal(got, want) {
			return fmt.Errorf("finding rule ids\n got %v\nwant %v\nmessage:\n%s", got, want, a["message"])
		}
		return nil
	}
}

// noFinding fails when a finding of rule was made by a principal whose ARN
// contains who: the near misses of the allow list.
func noFinding(rule, who string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		a := s.RootModule().Resources[complianceAddr].Primary.Attributes
		for k, v := range a {
			if i, ok := strings.CutSuffix(k, ".rule_id"); ok && v == rule && strings.Contains(a[i+".principal"], who) {
				return fmt.Errorf("unexpected %s finding for %s: %s", rule, a[i+".principal"], a[i+".message"])
			}
		}
		return nil
	}
}

// sarifParses checks report_sarif is SARIF 2.1.0 with one result per
// finding, each naming a rule the driver describes.
func sarifParses(s *terraform.State) error {
	a := s.RootModule().Resources[complianceAddr].Primary.Attributes
	rep, err := sarif.FromString(a["report_sarif"])
	if err != nil {
		return fmt.Errorf("report_sarif does not parse: %w", err)
	}
	if rep.Version != string(sarif.Version210) || len(rep.Runs) != 1 {
		return fmt.Errorf("report_sarif: version %s with %d runs", rep.Version, len(rep.Runs))
	}
	run := rep.Runs[0]
	if got := fmt.Sprint(len(run.Results)); got != a["findings.#"] {
		return fmt.Errorf("report_sarif has %s results, findings has %s", got, a["findings.#"])
	}
	rules := map[string]bool{}
	for _, r := range run.Tool.Driver.Rules {
		rules[r.ID] = true
	}
	for _, r := range run.Results {
		if r.RuleID == nil || !rules[*r.RuleID] {
			return fmt.Errorf("report_sarif result for rule %v not in tool.driver.rules", r.RuleID)
		}
	}
	var js policy.JSONReport
	if err := json.Unmarshal([]byte(a["report_json"]), &js); err != nil {
		return fmt.Errorf("report_json does not parse: %w", err)
	}
	if string(js.Status) != a["status"] || fmt.Sprint(len(js.Findings)) != a["findings.#"] {
		return fmt.Errorf("report_json status %s with %d findings, state says %s with %s", js.Status, len(js.Findings), a["status"], a["findings.#"])
	}
	return nil
}

// The seeded history holds a root call, deletions by several principals, a
// credential reset, an export, a restore with a key pair, a server created
// with a public IP, backups turned off and calls without MFA, all after
// OpsWorks CM's end of life. Alice and the OpsWorksAdmin role are allowed
// to delete; bob's two AccessDenied stay under the threshold of three.
func TestAccCompliance_seededHistory(t *testing.T) {
	env := newAccEnv(t, sandbox.Options{LookupRPS: 1e6})
	env.needSandbox(t, "seeded OpsWorks CM history")
	name := acctest.RandomWithPrefix("compliance")
	data := fmt.Sprintf(`
data "opsaudit_compliance" "test" {
  trail    = opsaudit_trail.test.arn
  lookback = "90d"
  allowed_principals = [
    "arn:aws:iam::%[1]s:user/alice",
    "arn:aws:iam::%[1]s:role/OpsWorksAdmin",
  ]
  rule {
    id        = "deploy_role_deletes"
    severity  = "high"
    condition = "event.event_name == \"DeleteServer\" && event.session_issuer_arn.endsWith(\":role/TerraformDeploy\")"
  }
  %%s
}
`, env.Account)
	config := complianceProvider(env) + auditedTrail(name, "", "") + fmt.Sprintf(data, "")
	gate := complianceProvider(env) + auditedTrail(name, "", "") + fmt.Sprintf(data, `
  lifecycle {
    postcondition {
      condition     = self.compliant
      error_message = self.message
    }
  }`)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("status"), knownvalue.StringExact("fail")),
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("compliant"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("bucket"), knownvalue.StringExact(name)),
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("reasons"), knownvalue.ListExact(nil)),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					findingRuleIDs(
						// The default trail has neither KMS nor CloudWatch
						// Logs; the default bucket uses SSE-S3 and no access
						// logging.
						"trail_kms_encryption", "trail_cloudwatch_logs",
						"bucket_access_logging", "bucket_default_encryption",
						"event_root_user_call", "event_delete_by_unallowed_principal", "event_credential_reset",
						"event_export_by_unallowed_principal", "event_restore_new_key_pair", "event_mutating_without_mfa",
						"event_create_server_exposed", "event_backups_disabled", "event_after_end_of_life",
						"deploy_role_deletes",
					),
					noFinding("event_delete_by_unallowed_principal", ":user/alice"),
					noFinding("event_delete_by_unallowed_principal", "OpsWorksAdmin"),
					resource.TestCheckResourceAttr(complianceAddr, "summary.by_rule.event_access_denied_burst", "0"),
					resource.TestCheckResourceAttr(complianceAddr, "summary.by_rule.event_root_user_call", "1"),
					resource.TestCheckResourceAttr(complianceAddr, "summary.by_rule.deploy_role_deletes", "1"),
					resource.TestCheckResourceAttr(complianceAddr, "summary.by_severity.critical", "4"),
					resource.TestMatchResourceAttr(complianceAddr, "message", regexp.MustCompile(`^opsaudit compliance: fail \(fail_on = high\)`)),
					sarifParses,
				),
			},
			{
				// The data source reads during plan, so the postcondition
				// stops the plan, with the findings in the error.
				Config:      gate,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Resource postcondition failed.*\[critical\] event_root_user_call.*\[critical\] event_delete_by_unallowed_principal`),
			},
		},
	})
}

// A trail and bucket with every control on, and an empty history, pass.
// Then each kind of incomplete input makes the same configuration unknown.
func TestAccCompliance_cleanAndIncomplete(t *testing.T) {
	env := newAccEnv(t, sandbox.Options{NoHistory: true, LookupRPS: 1e6})
	env.needSandbox(t, "empty history, faults and injected records")
	name := acctest.RandomWithPrefix("compliance")
	accessLogs := name + "-access"
	if _, err := env.S3().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(accessLogs)}); err != nil {
		t.Fatalf("creating the access log bucket: %v", err)
	}
	setup := auditedTrail(name,
		fmt.Sprintf("  kms_key_arn = %q\n  access_log_bucket = %q", testKMSKey, accessLogs),
		fmt.Sprintf(`  kms_key_id                 = %q
  cloud_watch_logs_group_arn = "arn:aws:logs:us-east-1:%[2]s:log-group:cloudtrail:*"
  cloud_watch_logs_role_arn  = "arn:aws:iam::%[2]s:role/cloudtrail-to-cloudwatch"`, testKMSKey, env.Account))
	config := func(trail, extra string) string {
		return complianceProvider(env) + setup + fmt.Sprintf(`
data "opsaudit_compliance" "test" {
  trail = %s
  %s
}
`, trail, extra)
	}
	status := func(want string) statecheck.StateCheck {
		return statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("status"), knownvalue.StringExact(want))
	}
	reason := func(re string) resource.TestCheckFunc {
		return resource.TestMatchResourceAttr(complianceAddr, "message", regexp.MustCompile(`(?s)Incomplete input:.*`+re))
	}
	fault := func(spec string) func() {
		return func() {
			f, err := sandbox.ParseFault(spec)
			if err != nil {
				t.Fatal(err)
			}
			env.Sandbox.SetFaults([]sandbox.Fault{f})
		}
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config("opsaudit_trail.test.arn", ""),
				ConfigStateChecks: []statecheck.StateCheck{
					status("pass"),
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("compliant"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("findings"), knownvalue.ListExact(nil)),
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("summary").AtMapKey("total"), knownvalue.Int64Exact(0)),
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("lookback"), knownvalue.StringExact(defaultComplianceLookback)),
				},
				Check: sarifParses,
			},
			{
				PreConfig: fault("region-down:region=eu-west-1"),
				Config:    config("opsaudit_trail.test.arn", ""),
				ConfigStateChecks: []statecheck.StateCheck{status("unknown"),
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("compliant"), knownvalue.Bool(false))},
				Check: reason(`events of region eu-west-1 not read`),
			},
			{
				PreConfig:         fault("error:op=GetBucketAcl,status=500"),
				Config:            config("opsaudit_trail.test.arn", ""),
				ConfigStateChecks: []statecheck.StateCheck{status("unknown")},
				Check: resource.ComposeAggregateTestCheckFunc(
					reason(`reading the ACL of bucket`),
					reason(`bucket rules not evaluated`),
				),
			},
			{
				PreConfig: func() {
					env.Sandbox.SetFaults(nil)
					addBenignRecords(t, env, 2)
				},
				Config:            config("opsaudit_trail.test.arn", "max_events = 1"),
				ConfigStateChecks: []statecheck.StateCheck{status("unknown")},
				Check: resource.ComposeAggregateTestCheckFunc(
					reason(`more than max_events \(1\) events matched`),
					resource.TestCheckResourceAttr(complianceAddr, "events_evaluated", "1"),
				),
			},
			{
				// The same records, all read: the truncation alone made
				// the previous step unknown.
				Config:            config("opsaudit_trail.test.arn", ""),
				ConfigStateChecks: []statecheck.StateCheck{status("pass")},
				Check:             resource.TestCheckResourceAttr(complianceAddr, "events_evaluated", "2"),
			},
			{
				Config: config(`"no-such-trail"`, ""),
				ConfigStateChecks: []statecheck.StateCheck{status("unknown"),
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("bucket"), knownvalue.Null())},
				Check: resource.ComposeAggregateTestCheckFunc(
					reason(`TrailNotFoundException`),
					reason(`trail rules not evaluated`),
				),
			},
		},
	})
}

// addBenignRecords loads n read-only DescribeServers calls of the last
// hour by a role session with MFA: events no built-in rule reports.
func addBenignRecords(t *testing.T, env *accEnv, n int) {
	t.Helper()
	var recs []map[string]any
	for i := range n {
		recs = append(recs, map[string]any{
			"eventVersion": "1.09",
			"userIdentity": map[string]any{
				"type": "AssumedRole", "accountId": env.Account,
				"arn": "arn:aws:sts::" + env.Account + ":assumed-role/InventoryReader/inventory",
				"sessionContext": map[string]any{
					"sessionIssuer": map[string]any{"type": "Role", "arn": "arn:aws:iam::" + env.Account + ":role/InventoryReader"},
					"attributes":    map[string]any{"mfaAuthenticated": "true"},
				},
			},
			"eventTime":          time.Now().UTC().Add(-time.Duration(i+1) * time.Minute).Format(time.RFC3339),
			"eventSource":        "opsworks-cm.amazonaws.com",
			"eventName":          "DescribeServers",
			"awsRegion":          "us-east-1",
			"sourceIPAddress":    "192.0.2.90",
			"userAgent":          "aws-sdk-go-v2",
			"requestParameters":  map[string]any{},
			"eventID":            fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
			"readOnly":           true,
			"eventType":          "AwsApiCall",
			"managementEvent":    true,
			"recipientAccountId": env.Account,
			"eventCategory":      "Management",
		})
	}
	body, err := json.Marshal(map[string]any{"Records": recs})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Sandbox.AddRecords(strings.NewReader(string(body))); err != nil {
		t.Fatalf("adding records: %v", err)
	}
}

// Mistakes in rules show at plan time, on the attribute at fault.
func TestAccCompliance_planTimeErrors(t *testing.T) {
	env := newAccEnv(t, sandbox.Options{NoHistory: true})
	config := func(body string) string {
		return complianceProvider(env) + fmt.Sprintf(`
data "opsaudit_compliance" "test" {
  trail = "audit"
%s
}
`, body)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				// The second rule's condition names a field events do not
				// have: the error names the rule, line and column, and
				// Terraform points at that rule's condition.
				Config: config(`
  rule {
    id        = "fine"
    severity  = "low"
    condition = "event.read_only == false"
  }
  rule {
    id        = "typo"
    severity  = "high"
    condition = <<-EOT
      event.event_name == "DeleteServer" &&
        event.principal_ar.startsWith("arn:aws:iam::")
    EOT
  }`),
				PlanOnly: true,
				ExpectError: regexp.MustCompile(`(?s)Invalid rule condition.*in data "opsaudit_compliance" "test":\s+\d+:\s+condition = <<-EOT` +
					`.*Rule "typo", condition line 2, column 8: undefined field 'principal_ar'`),
			},
			{
				Config: config(`
  rule {
    id        = "not_bool"
    severity  = "high"
    condition = "event.event_name"
  }`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Rule "not_bool".*must evaluate to bool`),
			},
			{
				Config:      config(`  disabled_rules = ["trail_kms_encryption", "no_such_rule"]`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)disabled_rules\[1\].*value must be one of`),
			},
			{
				Config:      config(`  lookback = "91d"`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`longer than 90 days`),
			},
		},
	})
}

// denyLookups answers LookupEvents calls signed for region as AWS answers a
// caller without cloudtrail:LookupEvents there, and hands every other
// request to the sandbox.
type denyLookups struct {
	next    http.Handler
	region  string
	account string
}

func (d denyLookups) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".LookupEvents") &&
		strings.Contains(r.Header.Get("Authorization"), "/"+d.region+"/cloudtrail/aws4_request") {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprintf(w, `{"__type":"AccessDeniedException","message":"User: arn:aws:iam::%s:user/test is not authorized to perform: cloudtrail:LookupEvents"}`, d.account)
		return
	}
	d.next.ServeHTTP(w, r)
}

// TestAccLookupAccessDenied checks a region whose LookupEvents is denied
// gets the same advice from both data sources that read events: grant
// cloudtrail:LookupEvents, or go on without the region.
func TestAccLookupAccessDenied(t *testing.T) {
	base := newAccEnv(t, sandbox.Options{NoHistory: true, LookupRPS: 1e6})
	base.needSandbox(t, "denies one region's lookups in front of the sandbox")
	hs := httptest.NewServer(denyLookups{next: base.Sandbox, region: "eu-west-1", account: base.Account})
	t.Cleanup(hs.Close)
	env := newSandboxEnv(t, base.Sandbox, hs.URL)
	advice := `eu-west-1\s+failed\s+with\s+AccessDeniedException.*lacks\s+the\s+IAM\s+permission\s+cloudtrail:LookupEvents`
	compliance := func(extra string) string {
		return complianceProvider(env) + `
data "opsaudit_compliance" "test" {
  trail   = "no-such-trail"
  regions = ["us-east-1", "eu-west-1"]
  ` + extra + `
}
`
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: compliance(""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("status"), knownvalue.StringExact("unknown")),
				},
				Check: resource.TestMatchResourceAttr(complianceAddr, "message", regexp.MustCompile(`(?s)Incomplete input:.*`+advice)),
			},
			{
				Config:      compliance(`on_region_error = "fail"`),
				ExpectError: regexp.MustCompile(`(?s)` + advice + `.*remove\s+it\s+from\s+regions`),
			},
			{
				Config: env.ProviderConfig("") + `
data "opsaudit_events" "this" {
  regions = ["us-east-1", "eu-west-1"]
}
`,
				ExpectError: regexp.MustCompile(`(?s)` + advice + `.*remove\s+it\s+from\s+regions`),
			},
		},
	})
}
