package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awserr"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
)

const (
	trailAddr = "opsaudit_trail.test"
	// testPropagation is how long the sandbox keeps refusing CreateTrail
	// after a bucket policy is written.
	testPropagation = 3 * time.Second
)

func (e *accEnv) trailARN(name string) string {
	return fmt.Sprintf("arn:aws:cloudtrail:%s:%s:trail/%s", e.Region, e.Account, name)
}

// createLogBucket creates a bucket whose policy lets the named trails
// write, with the SDK: the trail tests must not depend on the log bucket
// resource.
func (e *accEnv) createLogBucket(t *testing.T, bucket string, trails ...string) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.S3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("creating bucket %s: %v", bucket, err)
	}
	var arns []string
	for _, n := range trails {
		arns = append(arns, e.trailARN(n))
	}
	source := map[string]any{"aws:SourceArn": arns}
	policy, err := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow",
			"Principal": map[string]any{"Service": "cloudtrail.amazonaws.com"},
			"Action":    "s3:GetBucketAcl", "Resource": "arn:aws:s3:::" + bucket,
			"Condition": map[string]any{"StringEquals": source},
		}, {
			"Sid": "AWSCloudTrailWrite", "Effect": "Allow",
			"Principal": map[string]any{"Service": "cloudtrail.amazonaws.com"},
			"Action":    "s3:PutObject", "Resource": "arn:aws:s3:::" + bucket + "/*AWSLogs/" + e.Account + "/*",
			"Condition": map[string]any{"StringEquals": map[string]any{
				"aws:SourceArn": arns, "s3:x-amz-acl": "bucket-owner-full-control"}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.S3().PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(string(policy))}); err != nil {
		t.Fatalf("writing the policy of bucket %s: %v", bucket, err)
	}
}

// readBack is a trail as the SDK reports it, independently of the
// provider.
type readBack struct {
	trail     *cttypes.Trail
	status    *cloudtrail.GetTrailStatusOutput
	selectors *cloudtrail.GetEventSelectorsOutput
	insights  []string
	tags      map[string]string
}

// checkTrailGone passes when CloudTrail answers that none of the named
// trails exists.
func checkTrailGone(env *accEnv, names ...string) func(*terraform.State) error {
	return func(*terraform.State) error {
		for _, n := range names {
			_, err := env.CloudTrail("").GetTrail(context.Background(), &cloudtrail.GetTrailInput{Name: aws.String(n)})
			if err == nil {
				return fmt.Errorf("trail %s still exists", n)
			}
			if !awserr.IsA[*cttypes.TrailNotFoundException](err) {
				return fmt.Errorf("GetTrail %s: %w", n, err)
			}
		}
		return nil
	}
}

func (e *accEnv) readBack(name string) (*readBack, error) {
	ctx := context.Background()
	ct := e.CloudTrail("")
	id := aws.String(name)
	got, err := ct.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: id})
	if err != nil {
		return nil, err
	}
	rb := &readBack{trail: got.Trail, tags: map[string]string{}}
	if rb.status, err = ct.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: id}); err != nil {
		return nil, err
	}
	if rb.selectors, err = ct.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: id}); err != nil {
		return nil, err
	}
	ins, err := ct.GetInsightSelectors(ctx, &cloudtrail.GetInsightSelectorsInput{TrailName: id})
	switch {
	case err == nil:
		for _, s := range ins.InsightSelectors {
			rb.insights = append(rb.insights, string(s.InsightType))
		}
		slices.Sort(rb.insights)
	case awserr.IsA[*cttypes.InsightNotEnabledException](err):
	default:
		return nil, err
	}
	tags, err := ct.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{aws.ToString(got.Trail.TrailARN)}})
	if err != nil {
		return nil, err
	}
	for _, rt := range tags.ResourceTagList {
		for _, tag := range rt.TagsList {
			rb.tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
	}
	return rb, nil
}

// expectTrail reads the trail back with the SDK and runs check on it.
func (e *accEnv) expectTrail(name string, check func(*readBack) error) resource.TestCheckFunc {
	return func(*terraform.State) error {
		rb, err := e.readBack(name)
		if err != nil {
			return fmt.Errorf("reading back trail %s: %w", name, err)
		}
		return check(rb)
	}
}

// basicSelector is the one basic event selector the SDK reads back.
func basicSelector(rb *readBack) (cttypes.EventSelector, error) {
	if len(rb.selectors.AdvancedEventSelectors) > 0 || len(rb.selectors.EventSelectors) != 1 {
		return cttypes.EventSelector{}, fmt.Errorf("want one basic event selector, got %+v / %+v",
			rb.selectors.EventSelectors, rb.selectors.AdvancedEventSelectors)
	}
	return rb.selectors.EventSelectors[0], nil
}

func wantDefaults(rb *readBack) error {
	tr := rb.trail
	sel, err := basicSelector(rb)
	if err != nil {
		return err
	}
	switch {
	case !aws.ToBool(tr.IsMultiRegionTrail), !aws.ToBool(tr.IncludeGlobalServiceEvents), !aws.ToBool(tr.LogFileValidationEnabled):
		return fmt.Errorf("want multi-region, global events and validation on, got %+v", tr)
	case aws.ToBool(tr.IsOrganizationTrail) || aws.ToString(tr.KmsKeyId) != "" || aws.ToString(tr.S3KeyPrefix) != "":
		return fmt.Errorf("want no organization trail, no KMS key and no prefix, got %+v", tr)
	case !aws.ToBool(rb.status.IsLogging):
		return errors.New("want the trail logging")
	case sel.ReadWriteType != cttypes.ReadWriteTypeAll || !aws.ToBool(sel.IncludeManagementEvents) || len(sel.ExcludeManagementEventSources) > 0:
		return fmt.Errorf("want the default selector, got %+v", sel)
	case len(rb.insights) > 0:
		return fmt.Errorf("want no insights, got %v", rb.insights)
	}
	return nil
}

// createTrailErrors counts the failed CreateTrail calls with code that the
// sandbox recorded.
func (e *accEnv) createTrailErrors(t *testing.T, code string) int {
	t.Helper()
	out, err := e.CloudTrail("").LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("CreateTrail")}},
	})
	if err != nil {
		t.Fatalf("LookupEvents: %v", err)
	}
	n := 0
	for _, ev := range out.Events {
		var rec struct{ ErrorCode string }
		if json.Unmarshal([]byte(aws.ToString(ev.CloudTrailEvent)), &rec) == nil && rec.ErrorCode == code {
			n++
		}
	}
	return n
}

// propagationRetried checks CreateTrail was refused while the bucket
// policy propagated: only the in-process sandbox holds a fresh policy back
// for certain, so elsewhere there is nothing to check.
func (e *accEnv) propagationRetried(t *testing.T) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if e.Sandbox == nil {
			return nil
		}
		if n := e.createTrailErrors(t, "InsufficientS3BucketPolicyException"); n == 0 {
			return errors.New("CreateTrail was never refused: the propagation retry was not exercised")
		}
		return nil
	}
}

func TestAccTrailResource(t *testing.T) {
	env := newAccEnv(t, sandbox.Options{NoHistory: true, PolicyPropagationDelay: testPropagation})
	bucket, name := accName("trail-logs"), accName("trail")
	renamed := name + "-2"
	ctx := context.Background()
	ct := env.CloudTrail("")
	config := func(body string) string {
		return env.ProviderConfig("") + fmt.Sprintf("resource \"opsaudit_trail\" \"test\" {\n  s3_bucket_name = %q\n%s\n}\n", bucket, body)
	}
	minimal := config(fmt.Sprintf("  name = %q\n  tags = { team = \"audit\" }", name))
	writesNoKMS := config(fmt.Sprintf("  name = %q\n  tags = { team = \"audit\" }\n  management_events = \"WriteOnly\"\n"+
		"  exclude_management_event_sources = [\"kms.amazonaws.com\"]", name))
	putAdvanced := func(sels ...cttypes.AdvancedEventSelector) {
		if _, err := ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(name),
			AdvancedEventSelectors: sels}); err != nil {
			t.Fatalf("PutEventSelectors: %v", err)
		}
	}
	field := func(name string, equals, notEquals []string) cttypes.AdvancedFieldSelector {
		return cttypes.AdvancedFieldSelector{Field: aws.String(name), Equals: equals, NotEquals: notEquals}
	}
	management := field("eventCategory", []string{"Management"}, nil)
	writesNoKMSSelector := func(rb *readBack) error {
		sel, err := basicSelector(rb)
		if err == nil && (sel.ReadWriteType != cttypes.ReadWriteTypeWriteOnly || !aws.ToBool(sel.IncludeManagementEvents) ||
			!slices.Equal(sel.ExcludeManagementEventSources, []string{"kms.amazonaws.com"})) {
			err = fmt.Errorf("want write-only management events without KMS, got %+v", sel)
		}
		return err
	}
	kmsKey := fmt.Sprintf("arn:aws:kms:%s:%s:key/1234abcd-12ab-34cd-56ef-1234567890ab", env.Region, env.Account)
	logGroup := fmt.Sprintf("arn:aws:logs:%s:%s:log-group:audit:*", env.Region, env.Account)
	role := fmt.Sprintf("arn:aws:iam::%s:role/cloudtrail-to-logs", env.Account)
	snsARN := fmt.Sprintf("arn:aws:sns:%s:%s:trail-deliveries", env.Region, env.Account)
	deliveries := fmt.Sprintf(`  kms_key_id                 = %q
  cloud_watch_logs_group_arn = %q
  cloud_watch_logs_role_arn  = %q
  sns_topic_name             = "trail-deliveries"`, kmsKey, logGroup, role)
	if env.Sandbox == nil && env.Endpoint == "" {
		// AWS checks the key, log group, role and topic exist, and the
		// test has no clients to make them.
		kmsKey, logGroup, role, snsARN, deliveries = "", "", "", "", ""
	}
	var wantSNS knownvalue.Check = knownvalue.StringExact(snsARN)
	if snsARN == "" {
		wantSNS = knownvalue.Null()
	}
	var policyWritten time.Time

	env.accTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkTrailGone(env, name, renamed),
		Steps: []resource.TestStep{
			{
				// The policy is written just before apply: CreateTrail is
				// refused until it propagates, and the create retries.
				PreConfig: func() {
					env.createLogBucket(t, bucket, name, renamed)
					t.Cleanup(func() { env.removeBucket(t, bucket) })
					policyWritten = time.Now()
				},
				Config: minimal,
				Check: resource.ComposeAggregateTestCheckFunc(
					env.expectTrail(name, wantDefaults),
					env.expectTrail(name, func(rb *readBack) error {
						if !cmp.Equal(rb.tags, map[string]string{"team": "audit"}) {
							return fmt.Errorf("tags: %v", rb.tags)
						}
						return nil
					}),
					env.propagationRetried(t),
					func(*terraform.State) error {
						if since := time.Since(policyWritten); env.Sandbox != nil && since < testPropagation {
							return fmt.Errorf("apply finished %s after the policy was written, before it propagated", since)
						}
						return nil
					},
				),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(trailAddr, tfjsonpath.New("id"), knownvalue.StringExact(env.trailARN(name))),
					statecheck.ExpectKnownValue(trailAddr, tfjsonpath.New("arn"), knownvalue.StringExact(env.trailARN(name))),
					statecheck.ExpectKnownValue(trailAddr, tfjsonpath.New("home_region"), knownvalue.StringExact(env.Region)),
					statecheck.ExpectKnownValue(trailAddr, tfjsonpath.New("management_events"), knownvalue.StringExact("All")),
					statecheck.ExpectKnownValue(trailAddr, tfjsonpath.New("status").AtMapKey("is_logging"), knownvalue.Bool(true)),
				},
			},
			{
				// The default selector spelled out is the same trail (the
				// hashicorp/aws #3697 trap).
				Config: config(fmt.Sprintf(`  name = %q
  tags = { team = "audit" }
  is_multi_region_trail            = true
  include_global_service_events    = true
  enable_log_file_validation       = true
  enable_logging                   = true
  is_organization_trail            = false
  management_events                = "All"
  exclude_management_event_sources = []
  insight_types                    = []`, name)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				// Every setting updated in place.
				Config: config(fmt.Sprintf(`  name = %q
  tags = { team = "security", cost = "audit" }
  s3_key_prefix                    = "trail"
  is_multi_region_trail            = false
  include_global_service_events    = false
  enable_log_file_validation       = false
  enable_logging                   = false
  management_events                = "WriteOnly"
  exclude_management_event_sources = ["kms.amazonaws.com"]
  insight_types                    = ["ApiCallRateInsight", "ApiErrorRateInsight"]
%s`, name, deliveries)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(trailAddr, plancheck.ResourceActionUpdate),
				}},
				Check: env.expectTrail(name, func(rb *readBack) error {
					tr := rb.trail
					sel, err := basicSelector(rb)
					if err != nil {
						return err
					}
					switch {
					case aws.ToString(tr.S3KeyPrefix) != "trail", aws.ToBool(tr.IsMultiRegionTrail),
						aws.ToBool(tr.IncludeGlobalServiceEvents), aws.ToBool(tr.LogFileValidationEnabled),
						aws.ToString(tr.KmsKeyId) != kmsKey, aws.ToString(tr.CloudWatchLogsLogGroupArn) != logGroup,
						aws.ToString(tr.CloudWatchLogsRoleArn) != role, aws.ToString(tr.SnsTopicARN) != snsARN:
						return fmt.Errorf("settings not updated: %+v", tr)
					case aws.ToBool(rb.status.IsLogging):
						return errors.New("logging not stopped")
					case sel.ReadWriteType != cttypes.ReadWriteTypeWriteOnly || !slices.Equal(sel.ExcludeManagementEventSources, []string{"kms.amazonaws.com"}):
						return fmt.Errorf("selector not updated: %+v", sel)
					case !slices.Equal(rb.insights, []string{"ApiCallRateInsight", "ApiErrorRateInsight"}):
						return fmt.Errorf("insights: %v", rb.insights)
					case !cmp.Equal(rb.tags, map[string]string{"team": "security", "cost": "audit"}):
						return fmt.Errorf("tags: %v", rb.tags)
					}
					return nil
				}),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(trailAddr, tfjsonpath.New("sns_topic_arn"), wantSNS),
				},
			},
			{
				// And back to the defaults, in place.
				Config: minimal,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(trailAddr, plancheck.ResourceActionUpdate),
				}},
				Check: env.expectTrail(name, wantDefaults),
			},
			{
				// Drift: logging stopped, validation off, selectors changed.
				PreConfig: func() {
					id := aws.String(env.trailARN(name))
					if _, err := ct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: id}); err != nil {
						t.Fatalf("StopLogging: %v", err)
					}
					if _, err := ct.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: id, EnableLogFileValidation: aws.Bool(false)}); err != nil {
						t.Fatalf("UpdateTrail: %v", err)
					}
					if _, err := ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: id,
						EventSelectors: []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeReadOnly, IncludeManagementEvents: aws.Bool(true)}}}); err != nil {
						t.Fatalf("PutEventSelectors: %v", err)
					}
				},
				Config: minimal,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(trailAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(trailAddr, tfjsonpath.New("enable_logging"), knownvalue.Bool(true)),
				}},
				Check: env.expectTrail(name, wantDefaults),
			},
			{
				// Drift: data events added elsewhere are put back too.
				PreConfig: func() {
					if _, err := ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(name),
						EventSelectors: []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeAll, IncludeManagementEvents: aws.Bool(true),
							DataResources: []cttypes.DataResource{{Type: aws.String("AWS::S3::Object"), Values: []string{"arn:aws:s3:::" + bucket + "/"}}}}}}); err != nil {
						t.Fatalf("PutEventSelectors: %v", err)
					}
				},
				Config: minimal,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(trailAddr, plancheck.ResourceActionUpdate),
				}},
				Check: env.expectTrail(name, func(rb *readBack) error {
					sel, err := basicSelector(rb)
					if err == nil && len(sel.DataResources) > 0 {
						err = fmt.Errorf("data events still recorded: %+v", sel.DataResources)
					}
					return err
				}),
			},
			{
				Config: writesNoKMS,
				Check:  env.expectTrail(name, writesNoKMSSelector),
			},
			{
				// Advanced selectors written elsewhere that mean the same
				// as the configuration are no change.
				PreConfig: func() {
					putAdvanced(cttypes.AdvancedEventSelector{Name: aws.String("writes without KMS"), FieldSelectors: []cttypes.AdvancedFieldSelector{
						management, field("readOnly", []string{"false"}, nil), field("eventSource", nil, []string{"kms.amazonaws.com"})}})
				},
				Config:           writesNoKMS,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(trailAddr, tfjsonpath.New("management_events"), knownvalue.StringExact("WriteOnly")),
					statecheck.ExpectKnownValue(trailAddr, tfjsonpath.New("exclude_management_event_sources"),
						knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("kms.amazonaws.com")})),
				},
			},
			{
				// Drift: another exclusion and data events, in advanced
				// selectors, are replaced by the configured basic selector.
				PreConfig: func() {
					putAdvanced(
						cttypes.AdvancedEventSelector{FieldSelectors: []cttypes.AdvancedFieldSelector{
							management, field("eventSource", nil, []string{"rdsdata.amazonaws.com"})}},
						cttypes.AdvancedEventSelector{FieldSelectors: []cttypes.AdvancedFieldSelector{
							field("eventCategory", []string{"Data"}, nil), field("resources.type", []string{"AWS::S3::Object"}, nil)}})
				},
				Config: writesNoKMS,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(trailAddr, plancheck.ResourceActionUpdate),
				}},
				Check: env.expectTrail(name, writesNoKMSSelector),
			},
			{
				ResourceName:            trailAddr,
				ImportState:             true,
				ImportStateId:           env.trailARN(name),
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts", "status"},
			},
			{
				ResourceName:            trailAddr,
				ImportState:             true,
				ImportStateId:           name,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts", "status"},
			},
			{
				// Drift: the trail deleted is created again.
				PreConfig: func() {
					if _, err := ct.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String(name)}); err != nil {
						t.Fatalf("DeleteTrail: %v", err)
					}
				},
				Config: minimal,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(trailAddr, plancheck.ResourceActionCreate),
				}},
				Check: env.expectTrail(name, wantDefaults),
			},
			{
				// A new name replaces the trail.
				Config: config(fmt.Sprintf("  name = %q", renamed)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(trailAddr, plancheck.ResourceActionReplace),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					env.expectTrail(renamed, wantDefaults),
					checkTrailGone(env, name),
				),
			},
		},
	})
}

// TestCheckTrailGone checks the check: it passes only on TrailNotFound, so
// a destroy that failed cannot hide behind a read that failed.
func TestCheckTrailGone(t *testing.T) {
	const bucket, name = "opsaudit-gone-check", "gone-check"
	t.Run("no such trail", func(t *testing.T) {
		env := newAccEnv(t, sandbox.Options{NoHistory: true})
		if err := checkTrailGone(env, name)(nil); err != nil {
			t.Errorf("got %v, want nil", err)
		}
	})
	t.Run("trail exists", func(t *testing.T) {
		env := newAccEnv(t, sandbox.Options{NoHistory: true})
		env.createLogBucket(t, bucket, name)
		if _, err := env.CloudTrail("").CreateTrail(context.Background(), &cloudtrail.CreateTrailInput{
			Name: aws.String(name), S3BucketName: aws.String(bucket)}); err != nil {
			t.Fatalf("CreateTrail: %v", err)
		}
		if err := checkTrailGone(env, name)(nil); err == nil {
			t.Error("passed with the trail still there")
		}
	})
	t.Run("read fails", func(t *testing.T) {
		env := newSandboxOnlyEnv(t, sandbox.Options{NoHistory: true, Faults: []sandbox.Fault{
			{Kind: sandbox.FaultError, Rate: 1, Op: "GetTrail", Status: 500}}}, "injects a fault")
		if err := checkTrailGone(env, name)(nil); err == nil {
			t.Error("passed on a failed read")
		}
	})
}

func TestAccTrailResource_planTimeErrors(t *testing.T) {
	env := newAccEnv(t, sandbox.Options{NoHistory: true})
	config := func(body string) string {
		return env.ProviderConfig("") + "resource \"opsaudit_trail\" \"test\" {\n  s3_bucket_name = \"logs-bucket\"\n" + body + "\n}\n"
	}
	step := func(body, want string) resource.TestStep {
		return resource.TestStep{Config: config(body), PlanOnly: true, ExpectError: regexp.MustCompile(want)}
	}
	env.accTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			step(`name = "audit"
  include_global_service_events = false`, `multi-region trail must include global service events`),
			step(`name = "audit"
  cloud_watch_logs_group_arn = "arn:aws:logs:us-east-1:123456789012:log-group:a:*"`, `cloud_watch_logs_role_arn`),
			step(`name = "audit"
  exclude_management_event_sources = ["opsworks-cm.amazonaws.com"]`, `would stop the trail recording`),
			step(`name = "audit"
  kms_key_id = "alias/cloudtrail"`, `is\s+a\s+KMS\s+alias,\s+not\s+a\s+key\s+ARN`),
			step(`name = "audit"
  kms_key_id = "mrk-1234567890abcdef1234567890abcdef"`, `is\s+a\s+bare\s+KMS\s+key\s+id`),
			step(`name = "audit"
  exclude_management_event_sources = ["kms.amazonaws.com", "s3.amazonaws.com"]`, `must be one of`),
			step(`name = "audit"
  event_sources = ["opsworks-cm.amazonaws.com"]`, `Unsupported argument`),
			step(`name = "-audit"`, `must start and end with a letter or a digit`),
			step(`name = "a..b"`, `adjacent periods`),
			step(`name = "audit"
  management_events = "None"`, `management_events`),
		},
	})
}

// TestAccTrailResource_withLogBucket applies a bucket and its trail in one
// configuration without depends_on while the sandbox delays policy
// propagation: the trail's create must wait for the policy by retrying.
func TestAccTrailResource_withLogBucket(t *testing.T) {
	env := newAccEnv(t, sandbox.Options{NoHistory: true, PolicyPropagationDelay: testPropagation})
	bucket, name := accName("one-run-logs"), accName("one-run")

	env.accTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkTrailGone(env, name),
		Steps: []resource.TestStep{{
			Config: env.ProviderConfig("") + fmt.Sprintf(`
resource "opsaudit_log_bucket" "logs" {
  bucket        = %q
  trail_names   = [%q]
  force_destroy = true
}

resource "opsaudit_trail" "test" {
  name           = %q
  s3_bucket_name = opsaudit_log_bucket.logs.bucket
}
`, bucket, name, name),
			Check: resource.ComposeAggregateTestCheckFunc(
				env.expectTrail(name, wantDefaults),
				env.expectTrail(name, func(rb *readBack) error {
					if got := aws.ToString(rb.trail.S3BucketName); got != bucket {
						return fmt.Errorf("trail writes to %q, want %q", got, bucket)
					}
					return nil
				}),
				env.propagationRetried(t),
			),
		}},
	})
}

// TestTrailRecordingFromAdvanced checks which advanced selectors written
// outside the provider map to the attributes and which are Custom, so that
// they show as drift.
func TestTrailRecordingFromAdvanced(t *testing.T) {
	field := func(name string, equals, notEquals []string) cttypes.AdvancedFieldSelector {
		return cttypes.AdvancedFieldSelector{Field: aws.String(name), Equals: equals, NotEquals: notEquals}
	}
	sel := func(fields ...cttypes.AdvancedFieldSelector) cttypes.AdvancedEventSelector {
		return cttypes.AdvancedEventSelector{FieldSelectors: fields}
	}
	management := field("eventCategory", []string{"Management"}, nil)
	data := sel(field("eventCategory", []string{"Data"}, nil), field("resources.type", []string{"AWS::S3::Object"}, nil))
	for _, tc := range []struct {
		name string
		sels []cttypes.AdvancedEventSelector
		want trailRecording
	}{
		{"all management events", []cttypes.AdvancedEventSelector{sel(management)}, trailRecording{ManagementEvents: managementAll}},
		{"read-only", []cttypes.AdvancedEventSelector{sel(management, field("readOnly", []string{"true"}, nil))},
			trailRecording{ManagementEvents: managementReadOnly}},
		{"write-only without KMS and RDS Data API", []cttypes.AdvancedEventSelector{sel(management, field("readOnly", []string{"false"}, nil),
			field("eventSource", nil, []string{"rdsdata.amazonaws.com", "kms.amazonaws.com"}))},
			trailRecording{ManagementEvents: managementWriteOnly, ExcludeManagementEventSources: []string{"kms.amazonaws.com", "rdsdata.amazonaws.com"}}},
		{"audited source excluded", []cttypes.AdvancedEventSelector{sel(management, field("eventSource", nil, []string{"opsworks-cm.amazonaws.com"}))},
			trailRecording{ManagementEvents: managementCustom}},
		{"named sources only", []cttypes.AdvancedEventSelector{sel(management, field("eventSource", []string{"opsworks-cm.amazonaws.com"}, nil))},
			trailRecording{ManagementEvents: managementCustom}},
		{"two eventSource conditions", []cttypes.AdvancedEventSelector{sel(management,
			field("eventSource", nil, []string{"kms.amazonaws.com"}), field("eventSource", nil, []string{"rdsdata.amazonaws.com"}))},
			trailRecording{ManagementEvents: managementCustom}},
		{"eventName condition", []cttypes.AdvancedEventSelector{sel(management, field("eventName", []string{"DeleteServer"}, nil))},
			trailRecording{ManagementEvents: managementCustom}},
		{"readOnly not a boolean", []cttypes.AdvancedEventSelector{sel(management, field("readOnly", []string{"maybe"}, nil))},
			trailRecording{ManagementEvents: managementCustom}},
		{"two management selectors", []cttypes.AdvancedEventSelector{sel(management, field("readOnly", []string{"true"}, nil)),
			sel(management, field("readOnly", []string{"false"}, nil))}, trailRecording{ManagementEvents: managementCustom}},
		{"data events only", []cttypes.AdvancedEventSelector{data}, trailRecording{ManagementEvents: managementNone, DataEvents: true}},
		{"management and data events", []cttypes.AdvancedEventSelector{sel(management), data},
			trailRecording{ManagementEvents: managementAll, DataEvents: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := recordingFromAdvanced(tc.sels); !cmp.Equal(got, tc.want) {
				t.Errorf("recordingFromAdvanced: %s", cmp.Diff(tc.want, got))
			}
		})
	}
}

// TestSNSTopicName checks that sns_topic_name reads back as the bare name
// only where the name alone reaches the topic.
func TestSNSTopicName(t *testing.T) {
	const trail = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/audit"
	for _, tc := range []struct{ topic, want string }{
		{"", ""},
		{"arn:aws:sns:eu-west-1:111122223333:trail-deliveries", "trail-deliveries"},
		{"arn:aws:sns:us-east-1:111122223333:trail-deliveries", "arn:aws:sns:us-east-1:111122223333:trail-deliveries"},
		{"arn:aws:sns:eu-west-1:444455556666:trail-deliveries", "arn:aws:sns:eu-west-1:444455556666:trail-deliveries"},
	} {
		if got := snsTopicName(tc.topic, trail); got != tc.want {
			t.Errorf("snsTopicName(%q) = %q, want %q", tc.topic, got, tc.want)
		}
	}
}
