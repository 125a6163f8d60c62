package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
)

// TestAccTrailDataSource reads a trail set up outside Terraform: by name,
// by ARN, and by name from another region, where only its multi-region
// shadow is visible and every read must go to its home region.
func TestAccTrailDataSource(t *testing.T) {
	env := newAccEnv(t, sandbox.Options{NoHistory: true})
	bucket, name := accName("trail-ds-logs"), accName("existing")
	ctx := context.Background()
	ct := env.CloudTrail("")
	env.createLogBucket(t, bucket, name)
	t.Cleanup(func() { env.removeBucket(t, bucket) })
	if _, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{
		Name: aws.String(name), S3BucketName: aws.String(bucket), S3KeyPrefix: aws.String("audit"),
		IsMultiRegionTrail: aws.Bool(true), EnableLogFileValidation: aws.Bool(false),
		TagsList: []cttypes.Tag{{Key: aws.String("owner"), Value: aws.String("security")}},
	}); err != nil {
		t.Fatalf("CreateTrail: %v", err)
	}
	t.Cleanup(func() { _, _ = ct.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String(name)}) })
	if _, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(name)}); err != nil {
		t.Fatalf("StartLogging: %v", err)
	}
	if _, err := ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(name),
		EventSelectors: []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeReadOnly, IncludeManagementEvents: aws.Bool(true),
			ExcludeManagementEventSources: []string{"kms.amazonaws.com"}}}}); err != nil {
		t.Fatalf("PutEventSelectors: %v", err)
	}
	if _, err := ct.PutInsightSelectors(ctx, &cloudtrail.PutInsightSelectorsInput{TrailName: aws.String(name),
		InsightSelectors: []cttypes.InsightSelector{{InsightType: cttypes.InsightTypeApiErrorRateInsight}}}); err != nil {
		t.Fatalf("PutInsightSelectors: %v", err)
	}

	const west = "us-west-2"
	westProvider := strings.Replace(env.ProviderConfig("  alias = \"west\""), fmt.Sprintf("%q", env.Region), fmt.Sprintf("%q", west), 1)
	trailARN := env.trailARN(name)
	checks := func(addr string) []statecheck.StateCheck {
		value := func(attr string, want knownvalue.Check) statecheck.StateCheck {
			return statecheck.ExpectKnownValue(addr, tfjsonpath.New(attr), want)
		}
		return []statecheck.StateCheck{
			value("id", knownvalue.StringExact(trailARN)),
			value("arn", knownvalue.StringExact(trailARN)),
			value("name", knownvalue.StringExact(name)),
			value("home_region", knownvalue.StringExact(env.Region)),
			value("s3_bucket_name", knownvalue.StringExact(bucket)),
			value("s3_key_prefix", knownvalue.StringExact("audit")),
			value("is_multi_region_trail", knownvalue.Bool(true)),
			value("include_global_service_events", knownvalue.Bool(true)),
			value("enable_log_file_validation", knownvalue.Bool(false)),
			value("enable_logging", knownvalue.Bool(true)),
			value("kms_key_id", knownvalue.Null()),
			value("management_events", knownvalue.StringExact("ReadOnly")),
			value("exclude_management_event_sources", knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("kms.amazonaws.com")})),
			value("insight_types", knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("ApiErrorRateInsight")})),
			value("tags", knownvalue.MapExact(map[string]knownvalue.Check{"owner": knownvalue.StringExact("security")})),
			statecheck.ExpectKnownValue(addr, tfjsonpath.New("status").AtMapKey("is_logging"), knownvalue.Bool(true)),
		}
	}

	env.accTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			// Errors first: the last step's configuration is also destroyed.
			{
				Config:      env.ProviderConfig("") + "data \"opsaudit_trail\" \"missing\" {\n  name = \"no-such-trail\"\n}\n",
				ExpectError: regexp.MustCompile(`(?s)TrailNotFoundException.*No\s+trail\s+has\s+this\s+name\s+or\s+ARN`),
			},
			{
				Config:      env.ProviderConfig("") + "data \"opsaudit_trail\" \"both\" {\n  name = \"a-trail\"\n  arn = \"" + trailARN + "\"\n}\n",
				ExpectError: regexp.MustCompile(`Invalid Attribute Combination`),
			},
			{
				Config: env.ProviderConfig("") + westProvider + fmt.Sprintf(`
data "opsaudit_trail" "by_name" {
  name = %q
}

data "opsaudit_trail" "by_arn" {
  arn = %q
}

data "opsaudit_trail" "from_west" {
  provider = opsaudit.west
  name     = %q
}
`, name, trailARN, name),
				ConfigStateChecks: append(append(checks("data.opsaudit_trail.by_name"), checks("data.opsaudit_trail.by_arn")...),
					checks("data.opsaudit_trail.from_west")...),
			},
		},
	})
}
