package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/acctest"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/policy"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

const complianceAddr = "data.opsaudit_compliance.test"

// gateLifecycle is the postcondition of a gate: the plan fails with the
// verdict's message unless the status is pass.
const gateLifecycle = `
  lifecycle {
    postcondition {
      condition     = self.compliant
      error_message = self.message
    }
  }`

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
	env := newSandboxOnlyEnv(t, sandbox.Options{LookupRPS: 1e6}, "seeded OpsWorks CM history")
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
	gate := complianceProvider(env) + auditedTrail(name, "", "") + fmt.Sprintf(data, gateLifecycle)

	env.accTest(t, resource.TestCase{
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
	env := newSandboxOnlyEnv(t, sandbox.Options{NoHistory: true, LookupRPS: 1e6}, "empty history, faults and injected records")
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

	env.accTest(t, resource.TestCase{
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
	env.accTest(t, resource.TestCase{
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

// TestAccLookupAccessDenied checks a region whose LookupEvents is denied
// gets the same advice from both data sources that read events: grant
// cloudtrail:LookupEvents, or go on without the region.
func TestAccLookupAccessDenied(t *testing.T) {
	base := newSandboxOnlyEnv(t, sandbox.Options{NoHistory: true, LookupRPS: 1e6}, "denies one region's lookups in front of the sandbox")
	hs := httptest.NewServer(denyCloudTrail{next: base.Sandbox, op: "LookupEvents", region: "eu-west-1", account: base.Account})
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
	base.accTest(t, resource.TestCase{
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

// trail_log_integrity validates the pre-existing trail's signed week over
// the compliance window: it passes; a changed log file and a deleted
// digest are one finding each, named by their S3 key; disabled, it neither
// reads nor reports them; a region whose keys cannot be listed makes the
// result unknown.
func TestAccCompliance_logIntegrity(t *testing.T) {
	// The sandbox's clock is the real one: its archive's digests end in
	// the current hour, as the compliance window does.
	base := newSandboxOnlyEnv(t, sandbox.Options{LookupRPS: 1e6}, "the pre-existing trail's signed week")
	hs := httptest.NewServer(denyCloudTrail{next: base.Sandbox, op: "ListPublicKeys", region: "ap-southeast-2", account: base.Account})
	t.Cleanup(hs.Close)
	denied := newSandboxEnv(t, base.Sandbox, hs.URL)
	c := base.S3()
	bucket := sandbox.ArchiveBucket(base.Account)
	var logged sandboxtest.Digest
	for _, d := range sandboxtest.ReadDigests(t, c, bucket, sandboxtest.DigestPrefix("", base.Account, "eu-central-1")) {
		if len(d.LogFiles) > 0 {
			logged = d
		}
	}
	if logged.Key == "" {
		t.Fatal("no digest of eu-central-1 lists a log file")
	}
	digests := sandboxtest.ReadDigests(t, c, bucket, sandboxtest.DigestPrefix("", base.Account, "us-west-1"))
	gone := digests[len(digests)/2].Key
	tampered := logged.LogFiles[0].S3Object
	saved := []savedObject{saveObject(t, c, bucket, gone), saveObject(t, c, bucket, tampered)}
	config := func(env *accEnv, extra string) string {
		return complianceProvider(env) + fmt.Sprintf(`
data "opsaudit_compliance" "test" {
  trail = %q
  %s
}
`, sandbox.ArchiveTrailName, extra)
	}
	only := `rules = ["trail_log_integrity"]`
	status := func(want string) statecheck.StateCheck {
		return statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("status"), knownvalue.StringExact(want))
	}
	finding := func(key, message string) knownvalue.Check {
		return knownvalue.ObjectPartial(map[string]knownvalue.Check{
			"rule_id": knownvalue.StringExact("trail_log_integrity"), "severity": knownvalue.StringExact("high"),
			"resource": knownvalue.StringExact(key), "message": knownvalue.StringExact(message),
			"event_id": knownvalue.Null(),
		})
	}

	base.accTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config(base, only),
				ConfigStateChecks: []statecheck.StateCheck{
					status("pass"),
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("findings"), knownvalue.ListExact(nil)),
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("reasons"), knownvalue.ListExact(nil)),
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("summary").AtMapKey("by_rule").AtMapKey("trail_log_integrity"), knownvalue.Int64Exact(0)),
				},
			},
			{
				PreConfig: func() {
					sandboxtest.Tamper(t, c, bucket, tampered)
					deleteObject(t, c, bucket, gone)
				},
				Config: config(base, only),
				ConfigStateChecks: []statecheck.StateCheck{
					status("fail"),
					// Findings of one rule are in the order of their resources.
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("findings"), knownvalue.ListExact([]knownvalue.Check{
						finding(gone, "Digest file s3://"+bucket+"/"+gone+" INVALID: not found"),
						finding(tampered, "Log file s3://"+bucket+"/"+tampered+" INVALID: hash value doesn't match"),
					})),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(complianceAddr, "findings.0.region", "us-west-1"),
					resource.TestCheckResourceAttr(complianceAddr, "findings.1.region", "eu-central-1"),
					sarifParses,
				),
			},
			{
				Config: config(base, `rules = ["trail_logging_enabled", "trail_log_integrity"]
  disabled_rules = ["trail_log_integrity"]`),
				ConfigStateChecks: []statecheck.StateCheck{
					status("pass"),
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("summary").AtMapKey("by_rule"),
						knownvalue.MapExact(map[string]knownvalue.Check{"trail_logging_enabled": knownvalue.Int64Exact(0)})),
				},
			},
			{
				Config: config(denied, only),
				ConfigStateChecks: []statecheck.StateCheck{
					status("fail"),
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("reasons"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.StringRegexp(regexp.MustCompile(`^log files not all validated: region ap-southeast-2: .*AccessDeniedException`)),
					})),
				},
			},
			{
				// The files restored, what could not be validated leaves
				// the result unknown.
				PreConfig: func() {
					for _, o := range saved {
						o.restore(t, c)
					}
				},
				Config:            config(denied, only),
				ConfigStateChecks: []statecheck.StateCheck{status("unknown")},
			},
		},
	})
}

// Ids of the Sigma rules in the data source's example.
const (
	userDataExportRuleID = "544e8e84-d5dd-4901-bc4b-6d3fac289abc"
	loggingStoppedRuleID = "96f5725f-f2be-4436-bc0c-4448eb9cc51d"
)

// exampleSigmaRule reads one of the Sigma rules of the data source's
// example, so the tests run what users are shown.
func exampleSigmaRule(t *testing.T, name string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "examples", "data-sources", "opsaudit_compliance", "sigma", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// hclString quotes s as an HCL string literal; template sequences are
// escaped so the text reaches the provider as written.
func hclString(s string) string {
	return strings.NewReplacer("${", "$${", "%{", "%%{").Replace(strconv.Quote(s))
}

// hclList is an HCL list of the strings.
func hclList(ss ...string) string {
	quoted := make([]string, len(ss))
	for i, s := range ss {
		quoted[i] = hclString(s)
	}
	return "[\n    " + strings.Join(quoted, ",\n    ") + ",\n  ]"
}

// sigmaDiag matches a diagnostic Terraform shows on the element of a list
// whose source line holds element (a regular expression), with message
// (plain text, which Terraform wraps) below it.
func sigmaDiag(summary, element, message string) string {
	return `Error: ` + summary + `\s+with data\.opsaudit_compliance\.test,\s+on \S+ line \d+, in data "opsaudit_compliance" "test":` +
		`\s+\d+:[^\n]*` + element + `[^\n]*\n\s*` + strings.Join(strings.Fields(regexp.QuoteMeta(message)), `\s+`)
}

// Sigma rules that cannot be used are refused at plan time, on their
// element of sigma_rules, with the rule's id, the line and the feature.
func TestAccCompliance_sigmaPlanTimeErrors(t *testing.T) {
	env := newAccEnv(t, sandbox.Options{NoHistory: true})
	base := exampleSigmaRule(t, "cloudtrail_logging_stopped.yml")
	variant := func(old, new string) string {
		t.Helper()
		if !strings.Contains(base, old) {
			t.Fatalf("the example rule no longer has %q", old)
		}
		return strings.Replace(base, old, new, 1)
	}
	windows := variant("  product: aws\n  service: cloudtrail", "  product: windows\n  category: process_creation")
	aggregation := variant("  condition: selection", "  condition: selection | count() by userIdentity.arn > 3")
	timeframe := variant("  condition: selection", "  timeframe: 5m\n  condition: selection")
	fieldref := variant("    eventSource: cloudtrail.amazonaws.com", "    eventSource: cloudtrail.amazonaws.com\n    userIdentity.userName|fieldref: requestParameters.name")
	config := func(body string) string {
		return complianceProvider(env) + fmt.Sprintf(`
data "opsaudit_compliance" "test" {
  trail = "audit"
%s
}
`, body)
	}
	// rule is how each message starts: the rule's position, id, title and
	// line.
	rule := func(n, line int) string {
		return fmt.Sprintf(`Sigma rule %d (id %s) "CloudTrail logging stopped or trail deleted", line %d, column `, n, loggingStoppedRuleID, line)
	}
	step := func(body string, want ...string) resource.TestStep {
		return resource.TestStep{
			Config:      config(body),
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`(?s)` + strings.Join(want, `.*`)),
		}
	}
	env.accTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			// The second rule is not a CloudTrail rule: the diagnostic is on
			// it, not on the first.
			step("  sigma_rules = "+hclList(base, windows),
				sigmaDiag("Invalid Sigma rule", `product: windows`, rule(2, 14)+
					"3: only CloudTrail rules are taken: logsource must be product: aws, service: cloudtrail, not product: windows, category: process_creation")),
			step("  sigma_rules = "+hclList(aggregation, timeframe, fieldref),
				sigmaDiag("Unsupported Sigma feature", `count\(\) by`, rule(1, 22)+"24: aggregation is not supported"),
				sigmaDiag("Unsupported Sigma feature", `timeframe: 5m`, rule(2, 22)+"3: timeframe is not supported"),
				sigmaDiag("Unsupported Sigma feature", `\|fieldref`, rule(3, 19)+"5: the fieldref modifier is not supported")),
			step("  sigma_rules = "+hclList("title: Broken\nid: [unclosed\n"),
				sigmaDiag("Invalid Sigma rule", `title: Broken`, "Sigma rule 1, line 3, column 1: invalid YAML: did not find expected ',' or ']' "+
					"(while parsing a flow sequence that starts at line 2, column 5)")),
			// A Sigma id may not repeat a rule block's.
			step(`
  rule {
    id        = "`+loggingStoppedRuleID+`"
    severity  = "high"
    condition = "event.event_name == \"StopLogging\""
  }
  sigma_rules = `+hclList(base),
				sigmaDiag("Invalid Sigma rule", `title: CloudTrail logging stopped`,
					`Sigma rule 1 (id `+loggingStoppedRuleID+`) "CloudTrail logging stopped or trail deleted": id is already the id of a CEL rule`)),
			step("  sigma_rules = [null]", `sigma_rules = \[null\]`, `null\s+value`),
		},
	})
}

// lookupIDs reads back, in every OpsWorks CM region, the ids of the events
// of the last 90 days that LookupEvents returns for attr (no attribute:
// every event) and that keep accepts, given the decoded record.
func lookupIDs(t *testing.T, env *accEnv, attr *cttypes.LookupAttribute, keep func(rec map[string]any) bool) []string {
	t.Helper()
	var ids []string
	for _, region := range awsclient.OpsWorksCMRegions {
		in := &cloudtrail.LookupEventsInput{StartTime: aws.Time(time.Now().Add(-90 * 24 * time.Hour))}
		if attr != nil {
			in.LookupAttributes = []cttypes.LookupAttribute{*attr}
		}
		for _, ev := range env.LookupEvents(t, region, in) {
			var rec map[string]any
			if err := json.Unmarshal([]byte(aws.ToString(ev.CloudTrailEvent)), &rec); err != nil {
				t.Fatalf("event %s: %v", aws.ToString(ev.EventId), err)
			}
			if keep(rec) {
				ids = append(ids, aws.ToString(ev.EventId))
			}
		}
	}
	return slices.Sorted(slices.Values(ids))
}

// findingsOf lists the findings of rule in state, each as its attributes
// without the "findings.N." prefix.
func findingsOf(s *terraform.State, rule string) []map[string]string {
	a := s.RootModule().Resources[complianceAddr].Primary.Attributes
	var out []map[string]string
	for k, v := range a {
		prefix, ok := strings.CutSuffix(k, "rule_id")
		if !ok || v != rule || !strings.HasPrefix(prefix, "findings.") {
			continue
		}
		f := map[string]string{}
		for k2, v2 := range a {
			if name, ok := strings.CutPrefix(k2, prefix); ok {
				f[name] = v2
			}
		}
		out = append(out, f)
	}
	return out
}

// A Sigma rule that matches a call of the seeded history fails the gate,
// and its finding carries the rule's id, title, level and advice; the same
// rule narrowed to refused calls, which the history does not have, passes.
func TestAccCompliance_sigmaRules(t *testing.T) {
	env := newSandboxOnlyEnv(t, sandbox.Options{LookupRPS: 1e6}, "seeded OpsWorks CM history")
	name := acctest.RandomWithPrefix("sigma")
	exported := exampleSigmaRule(t, "opsworks_cm_user_data_exported.yml")
	refusedOnly := strings.Replace(exported, "condition: selection and not refused", "condition: selection and refused", 1)
	if refusedOnly == exported {
		t.Fatal("the example rule's condition changed: update the near miss")
	}
	config := func(rule, extra string) string {
		// Only one built-in rule, which the new trail passes, so the verdict
		// is the Sigma rule's.
		return complianceProvider(env) + auditedTrail(name, "", "") + fmt.Sprintf(`
data "opsaudit_compliance" "test" {
  trail       = opsaudit_trail.test.arn
  lookback    = "90d"
  rules       = ["trail_logging_enabled"]
  sigma_rules = [%s]
  %s
}
`, hclString(rule), extra)
	}
	// The export calls of the history, read back with the SDK: successful
	// ones of the enrolment user data are what the rule is about.
	wantIDs := func() []string {
		return lookupIDs(t, env, &cttypes.LookupAttribute{
			AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("ExportServerEngineAttribute"),
		}, func(rec map[string]any) bool {
			params, _ := rec["requestParameters"].(map[string]any)
			_, failed := rec["errorCode"]
			return params["exportAttributeName"] == "Userdata" && !failed
		})
	}
	matched := func(s *terraform.State) error {
		want := wantIDs()
		if len(want) == 0 {
			return fmt.Errorf("the seeded history has no export of the user data: the test proves nothing")
		}
		var got []string
		for _, f := range findingsOf(s, userDataExportRuleID) {
			got = append(got, f["event_id"])
			for attr, v := range map[string]string{
				"severity": "high",
				"title":    "OpsWorks CM node enrolment user data exported",
				"remediation": "ExportServerEngineAttribute returned the user data that enrols a node with a Chef Automate or " +
					"Puppet Enterprise server; whoever holds it can join machines to the server. Confirm the call was expected; " +
					"known false positives: Bootstrap automation that exports the user data for each new instance.",
				"region": "us-east-1",
			} {
				if f[attr] != v {
					return fmt.Errorf("finding %s: %s = %q, want %q", f["event_id"], attr, f[attr], v)
				}
			}
			if !strings.HasSuffix(f["principal"], ":user/carol") {
				return fmt.Errorf("finding %s: principal %q, want carol", f["event_id"], f["principal"])
			}
		}
		if slices.Sort(got); !slices.Equal(got, want) {
			return fmt.Errorf("findings for events %v, want %v", got, want)
		}
		var rep policy.JSONReport
		if err := json.Unmarshal([]byte(s.RootModule().Resources[complianceAddr].Primary.Attributes["report_json"]), &rep); err != nil {
			return err
		}
		i := slices.IndexFunc(rep.Rules, func(r policy.JSONRuleOutcome) bool { return r.ID == userDataExportRuleID })
		if i < 0 || !rep.Rules[i].User || !slices.Equal(rep.Rules[i].References.ATTACK, []string{"T1552"}) ||
			!slices.Equal(rep.Rules[i].References.URLs, []string{"https://docs.aws.amazon.com/opsworks-cm/latest/APIReference/API_ExportServerEngineAttribute.html"}) {
			return fmt.Errorf("report_json rules: %+v", rep.Rules)
		}
		return nil
	}
	// Every OpsWorks CM event of the window was evaluated, read back with
	// the SDK.
	evaluatedAll := func(s *terraform.State) error {
		want := lookupIDs(t, env, &cttypes.LookupAttribute{
			AttributeKey: cttypes.LookupAttributeKeyEventSource, AttributeValue: aws.String(events.DefaultEventSource),
		}, func(map[string]any) bool { return true })
		if got := s.RootModule().Resources[complianceAddr].Primary.Attributes["events_evaluated"]; got != fmt.Sprint(len(want)) || len(want) == 0 {
			return fmt.Errorf("events_evaluated = %s, LookupEvents has %d OpsWorks CM events", got, len(want))
		}
		return nil
	}

	env.accTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config(exported, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("status"), knownvalue.StringExact("fail")),
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("reasons"), knownvalue.ListExact(nil)),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					findingRuleIDs(userDataExportRuleID),
					matched,
					evaluatedAll,
					sarifParses,
				),
			},
			{
				Config:      config(exported, gateLifecycle),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Resource postcondition failed.*\[high\] ` + userDataExportRuleID + `.*ExportServerEngineAttribute`),
			},
			{
				Config: config(refusedOnly, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("status"), knownvalue.StringExact("pass")),
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("findings"), knownvalue.ListExact(nil)),
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("summary").AtMapKey("by_rule").AtMapKey(userDataExportRuleID), knownvalue.Int64Exact(0)),
				},
				Check: evaluatedAll,
			},
		},
	})
}

// With event_source = "*" the data source reads every service's events, so
// a Sigma rule about CloudTrail itself sees the trail stopped out of band;
// with the default source it does not. With "*", a trail that leaves KMS
// events out is also a coverage finding, as Security Hub CloudTrail.1
// judges it; with the default source it is not.
func TestAccCompliance_everySource(t *testing.T) {
	env := newSandboxOnlyEnv(t, sandbox.Options{NoHistory: true, LookupRPS: 1e6}, "an account whose only calls are the test's")
	name := acctest.RandomWithPrefix("every-source")
	stopped := exampleSigmaRule(t, "cloudtrail_logging_stopped.yml")
	config := func(source, trailExtra string) string {
		return complianceProvider(env) + auditedTrail(name, "", trailExtra) + fmt.Sprintf(`
data "opsaudit_compliance" "test" {
  trail        = opsaudit_trail.test.arn
  regions      = ["us-east-1"]
  event_source = %q
  rules        = ["trail_source_not_excluded"]
  sigma_rules  = [%s]
}
`, source, hclString(stopped))
	}
	const excludeKMS = `  exclude_management_event_sources = ["kms.amazonaws.com"]`
	status := func(want string) statecheck.StateCheck {
		return statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("status"), knownvalue.StringExact(want))
	}
	// The StopLogging calls, read back with the SDK, are the findings.
	stopFindings := func(s *terraform.State) error {
		var want []string
		for _, ev := range env.LookupEvents(t, "us-east-1", &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{{
			AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("StopLogging"),
		}}}) {
			want = append(want, aws.ToString(ev.EventId))
		}
		var got []string
		for _, f := range findingsOf(s, loggingStoppedRuleID) {
			got = append(got, f["event_id"])
			if f["severity"] != "high" || f["title"] != "CloudTrail logging stopped or trail deleted" ||
				!strings.HasPrefix(f["message"], "StopLogging by arn:aws:iam::"+env.Account+":") {
				return fmt.Errorf("finding %v", f)
			}
		}
		if slices.Sort(got); len(want) != 1 || !slices.Equal(got, want) {
			return fmt.Errorf("findings for events %v, StopLogging calls %v", got, want)
		}
		return nil
	}
	// Every source's events were read: the S3 and CloudTrail calls that
	// set up the trail.
	readOtherSources := func(s *terraform.State) error {
		a := s.RootModule().Resources[complianceAddr].Primary.Attributes
		var rep policy.JSONReport
		if err := json.Unmarshal([]byte(a["report_json"]), &rep); err != nil {
			return err
		}
		if rep.EventSource != events.AllEventSources || rep.EventsEvaluated == 0 || rep.SourceEvents != rep.EventsEvaluated {
			return fmt.Errorf("report: source %q, %d events evaluated, %d of the source", rep.EventSource, rep.EventsEvaluated, rep.SourceEvents)
		}
		return nil
	}

	env.accTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:            config("*", ""),
				ConfigStateChecks: []statecheck.StateCheck{status("pass")},
				Check:             resource.ComposeAggregateTestCheckFunc(findingRuleIDs(), readOtherSources),
			},
			{
				PreConfig: func() {
					if _, err := env.CloudTrail("").StopLogging(context.Background(), &cloudtrail.StopLoggingInput{Name: aws.String(name)}); err != nil {
						t.Fatalf("StopLogging: %v", err)
					}
				},
				Config:            config("*", ""),
				ConfigStateChecks: []statecheck.StateCheck{status("fail")},
				Check:             resource.ComposeAggregateTestCheckFunc(findingRuleIDs(loggingStoppedRuleID), stopFindings, sarifParses),
			},
			{
				// The default source reads OpsWorks CM events only, of which
				// this account has none.
				Config:            config(events.DefaultEventSource, ""),
				ConfigStateChecks: []statecheck.StateCheck{status("pass")},
				Check: resource.ComposeAggregateTestCheckFunc(findingRuleIDs(),
					resource.TestCheckResourceAttr(complianceAddr, "events_evaluated", "0")),
			},
			{
				Config:            config("*", excludeKMS),
				ConfigStateChecks: []statecheck.StateCheck{status("fail")},
				Check: resource.ComposeAggregateTestCheckFunc(
					findingRuleIDs(loggingStoppedRuleID, "trail_source_not_excluded"),
					resource.TestMatchResourceAttr(complianceAddr, "message",
						regexp.MustCompile(`trail `+name+` event selectors exclude read and write management events of some event sources`)),
				),
			},
			{
				Config:            config(events.DefaultEventSource, excludeKMS),
				ConfigStateChecks: []statecheck.StateCheck{status("pass")},
				Check:             findingRuleIDs(),
			},
		},
	})
}

// findingEventIDs checks the event ids of a rule's findings, in any order.
func findingEventIDs(rule string, want []string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		var got []string
		for _, f := range findingsOf(s, rule) {
			got = append(got, f["event_id"])
		}
		slices.Sort(got)
		want = slices.Sorted(slices.Values(want))
		if !slices.Equal(got, want) {
			return fmt.Errorf("%s findings for events\n got %v\nwant %v", rule, got, want)
		}
		return nil
	}
}

// TestAccCompliance_archive evaluates the event rules over the
// pre-existing trail's log files, windows of it far older than
// LookupEvents reaches: a mutating OpsWorks CM call after the end of life
// fails the gate, and the plan with a postcondition; the root call of
// 2023 is found; a quiet fortnight passes, until one of its files is made
// garbage through S3, which makes it unknown; a Sigma rule finds the
// exports of enrolment user data. The expected findings come from the
// records the sandbox generated.
func TestAccCompliance_archive(t *testing.T) {
	f := pinnedArchive(t, eventsTestAccount)
	env := newSandboxOnlyEnv(t, f.options(), "evaluates the pre-existing trail's archive")
	regions := awsclient.OpsWorksCMRegions
	endOfLife := mustTime(t, "2024-05-06T00:00:00Z")
	type window struct{ from, to time.Time }
	afterEOL := window{mustTime(t, "2024-07-28T00:00:00Z"), mustTime(t, "2024-08-06T00:00:00Z")}
	rootDay := window{mustTime(t, "2023-10-08T00:00:00Z"), mustTime(t, "2023-10-10T23:59:59Z")}
	quiet := window{mustTime(t, "2023-06-05T00:00:00Z"), mustTime(t, "2023-06-11T23:59:59Z")}
	exports := window{mustTime(t, "2022-05-28T00:00:00Z"), mustTime(t, "2022-06-02T23:59:59Z")}

	mutatingAfterEOL := recordIDs(f.matches(afterEOL.from, afterEOL.to, regions, func(r *sandbox.Record) bool {
		readOnly := r.ReadOnly || r.EventName == "ExportServerEngineAttribute" || strings.HasPrefix(r.EventName, "Describe") ||
			strings.HasPrefix(r.EventName, "List") || strings.HasPrefix(r.EventName, "Get")
		return opsWorksCM(r) && !readOnly && !r.EventTime.Before(endOfLife)
	}))
	evaluated := len(f.matches(afterEOL.from, afterEOL.to, regions, opsWorksCM))
	userDataExports := recordIDs(f.matches(exports.from, exports.to, regions, func(r *sandbox.Record) bool {
		var rec struct {
			RequestParameters struct {
				ExportAttributeName string `json:"exportAttributeName"`
			} `json:"requestParameters"`
		}
		return opsWorksCM(r) && r.EventName == "ExportServerEngineAttribute" && r.ErrorCode == "" &&
			json.Unmarshal(r.Raw, &rec) == nil && rec.RequestParameters.ExportAttributeName == "Userdata"
	}))
	for name, ids := range map[string][]string{"mutating calls after the end of life": mutatingAfterEOL, "user data exports": userDataExports} {
		if len(ids) == 0 {
			t.Fatalf("the archive has no %s in the test's window: the test would prove nothing", name)
		}
	}
	if len(f.matches(quiet.from, quiet.to, regions, opsWorksCM)) == 0 {
		t.Fatal("the quiet window has no OpsWorks CM event: its pass would prove nothing")
	}
	var garbage string
	for _, file := range f.filesIn([]string{"us-east-1"}, quiet.from, quiet.to) {
		if file.Delivered.After(quiet.from) && file.Delivered.Before(quiet.to) {
			garbage = file.Key
			break
		}
	}

	if garbage == "" {
		t.Fatal("no log file of us-east-1 delivered within the quiet window")
	}
	config := func(w window, extra string) string {
		return complianceProvider(env) + fmt.Sprintf(`
data "opsaudit_compliance" "test" {
  trail       = %q
  events_from = "archive"
  start_time  = %q
  end_time    = %q
  rules       = ["event_after_end_of_life", "event_root_user_call"]
  fail_on     = "medium"
  %s
}
`, sandbox.ArchiveTrailName, rfc3339(w.from), rfc3339(w.to), extra)
	}
	status := func(want string) statecheck.StateCheck {
		return statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("status"), knownvalue.StringExact(want))
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config(afterEOL, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					status("fail"),
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("events_from"), knownvalue.StringExact("archive")),
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("lookback"), knownvalue.Null()),
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("events_evaluated"), knownvalue.Int64Exact(int64(evaluated))),
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("reasons"), knownvalue.ListExact(nil)),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					findingRuleIDs("event_after_end_of_life"),
					findingEventIDs("event_after_end_of_life", mutatingAfterEOL),
				),
			},
			{
				Config:      config(afterEOL, gateLifecycle),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Resource postcondition failed.*\[medium\] event_after_end_of_life`),
			},
			{
				Config:            config(rootDay, ""),
				ConfigStateChecks: []statecheck.StateCheck{status("fail")},
				Check:             findingEventIDs("event_root_user_call", []string{sandbox.ArchiveRootEventID}),
			},
			{
				Config: config(quiet, ""),
				ConfigStateChecks: []statecheck.StateCheck{status("pass"),
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("findings"), knownvalue.ListExact(nil))},
			},
			{
				PreConfig: func() {
					if _, err := env.S3().PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(sandbox.ArchiveBucket(f.account)),
						Key: aws.String(garbage), Body: strings.NewReader("not a log file")}); err != nil {
						t.Fatalf("PutObject %s: %v", garbage, err)
					}
				},
				Config: config(quiet, ""),
				ConfigStateChecks: []statecheck.StateCheck{status("unknown"),
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("compliant"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("reasons"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.StringRegexp(regexp.MustCompile(`^1 log files could not be read, their events were not evaluated:\n.*` + regexp.QuoteMeta(garbage) + `: not a gzipped log file`)),
					})),
				},
			},
			{
				Config: complianceProvider(env) + fmt.Sprintf(`
data "opsaudit_compliance" "test" {
  trail          = %q
  events_from    = "archive"
  start_time     = %q
  end_time       = %q
  regions        = ["us-east-1", "eu-west-1", "ap-southeast-2"]
  disabled_rules = [%s]
  sigma_rules    = [%s]
}
`, sandbox.ArchiveTrailName, rfc3339(exports.from), rfc3339(exports.to), ruleIDList(), hclString(exampleSigmaRule(t, "opsworks_cm_user_data_exported.yml"))),
				ConfigStateChecks: []statecheck.StateCheck{status("fail")},
				Check: resource.ComposeAggregateTestCheckFunc(
					findingRuleIDs(userDataExportRuleID),
					findingEventIDs(userDataExportRuleID, userDataExports),
				),
			},
		},
	})
}

// TestAccCompliance_windowArguments checks the window and events_from
// arguments at plan time: LookupEvents' 90 days bound lookback only when
// the events come from it, and the window is the readers'.
func TestAccCompliance_windowArguments(t *testing.T) {
	env := newAccEnv(t, sandbox.Options{NoHistory: true, LookupRPS: 1e6})
	config := func(args string) string {
		return complianceProvider(env) + "data \"opsaudit_compliance\" \"test\" {\n  trail = \"no-such-trail\"\n" + args + "\n}\n"
	}
	errorStep := func(args, want string) resource.TestStep {
		return resource.TestStep{Config: config(args), ExpectError: regexp.MustCompile(want)}
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			errorStep(`lookback = "91d"`, `(?s)lookback.*longer than 90 days: LookupEvents only reaches 90 days back`),
			errorStep(`
  events_from = "lookup"
  lookback    = "120d"`, `(?s)lookback.*longer than 90 days`),
			errorStep(`events_from = "athena"`, `(?s)events_from.*value must be one of`),
			errorStep(`
  lookback   = "3d"
  start_time = "2024-03-01T00:00:00Z"`, `(?s)cannot be configured together: \[lookback,start_time\]`),
			errorStep(`
  start_time = "2024-03-02T00:00:00Z"
  end_time   = "2024-03-01T00:00:00Z"`, `(?s)start_time.*after end_time`),
			{
				// Far past LookupEvents' reach, from the archive: accepted.
				// The trail is missing, so nothing is read and the status
				// is unknown.
				Config: config(`
  events_from = "archive"
  lookback    = "730d"`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("status"), knownvalue.StringExact("unknown")),
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("lookback"), knownvalue.StringExact("730d")),
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("reasons"), knownvalue.ListPartial(map[int]knownvalue.Check{
						1: knownvalue.StringExact("events not read: the trail could not be read, so where its log files are is unknown"),
					})),
				},
			},
			{
				// The window of the lookup: start_time and end_time, no
				// lookback stored.
				Config: config(`
  start_time = "2024-03-01T00:00:00Z"
  end_time   = "2024-03-02T00:00:00Z"`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("events_from"), knownvalue.StringExact("lookup")),
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("lookback"), knownvalue.Null()),
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("events_evaluated"), knownvalue.Int64Exact(0)),
				},
			},
		},
	})
}

// ruleIDList is every built-in rule id, as HCL list elements.
func ruleIDList() string {
	var ids []string
	for _, r := range policy.Catalog() {
		ids = append(ids, strconv.Quote(r.ID))
	}
	return strings.Join(ids, ", ")
}

// validateSigmaRules skips what is not known yet and reports the others on
// their own element, numbered as configured.
func TestValidateSigmaRulesPaths(t *testing.T) {
	good := exampleSigmaRule(t, "cloudtrail_logging_stopped.yml")
	timeframe := strings.Replace(good, "  condition: selection", "  timeframe: 5m\n  condition: selection", 1)
	list := types.ListValueMust(types.StringType, []attr.Value{types.StringUnknown(), types.StringValue(timeframe)})
	var diags diag.Diagnostics
	validateSigmaRules(list, nil, &diags)
	if len(diags) != 1 {
		t.Fatalf("diagnostics %v", diags)
	}
	d, ok := diags[0].(diag.DiagnosticWithPath)
	if !ok || !d.Path().Equal(path.Root("sigma_rules").AtListIndex(1)) || d.Summary() != "Unsupported Sigma feature" ||
		!strings.HasPrefix(d.Detail(), "Sigma rule 2 (id "+loggingStoppedRuleID+")") {
		t.Fatalf("diagnostic %v", diags[0])
	}

	diags = nil
	validateSigmaRules(types.ListValueMust(types.StringType, []attr.Value{types.StringValue(good)}), []string{loggingStoppedRuleID}, &diags)
	if len(diags) != 1 || !strings.HasSuffix(diags[0].Detail(), "id is already the id of a CEL rule") {
		t.Fatalf("a Sigma id repeating a rule block's: %v", diags)
	}
	diags = nil
	validateSigmaRules(types.ListUnknown(types.StringType), nil, &diags)
	validateSigmaRules(types.ListValueMust(types.StringType, []attr.Value{types.StringValue(good)}), nil, &diags)
	if len(diags) != 0 {
		t.Fatalf("an unknown list and a good rule: %v", diags)
	}
}
