package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/bucketpolicy"
)

func functionConfig(call string) string {
	return fmt.Sprintf(`
terraform {
  required_providers {
    opsaudit = { source = "opsaudit/opsaudit" }
  }
}

output "policy" {
  value = %s
}
`, call)
}

func TestCloudTrailBucketPolicyFunction(t *testing.T) {
	const trail = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/org"
	want := func(o bucketpolicy.Options) string {
		doc, err := bucketpolicy.Build(o)
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: functionConfig(`provider::opsaudit::cloudtrail_bucket_policy("logs", "111122223333", ["` + trail + `"], null)`),
				ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownOutputValue("policy", knownvalue.StringExact(
					want(bucketpolicy.Options{Bucket: "logs", AccountID: "111122223333", TrailARNs: []string{trail}})))},
			},
			{
				Config: functionConfig(`provider::opsaudit::cloudtrail_bucket_policy("logs", "111122223333", ["` + trail + `"],
    { s3_key_prefix = "audit", organization_id = "o-abcdefghij" })`),
				ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownOutputValue("policy", knownvalue.StringExact(
					want(bucketpolicy.Options{Bucket: "logs", AccountID: "111122223333", TrailARNs: []string{trail},
						KeyPrefix: "audit", OrganizationID: "o-abcdefghij"})))},
			},
			{
				Config:      functionConfig(`provider::opsaudit::cloudtrail_bucket_policy("logs", "111122223333", ["` + trail + `"], { prefix = "audit" })`),
				ExpectError: regexp.MustCompile(`unknown option "prefix";\s+the\s+options\s+are\s+organization_id,\s+s3_key_prefix`),
			},
			{
				Config:      functionConfig(`provider::opsaudit::cloudtrail_bucket_policy("logs", "111122223333", ["alias/trail"], {})`),
				ExpectError: regexp.MustCompile(`is\s+not\s+an\s+ARN`),
			},
			{
				Config:      functionConfig(`provider::opsaudit::cloudtrail_bucket_policy("logs", "111122223333", [], {})`),
				ExpectError: regexp.MustCompile(`no\s+trail\s+ARN`),
			},
			{
				Config:      functionConfig(`provider::opsaudit::cloudtrail_bucket_policy("logs", "111122223333", ["` + trail + `"], { s3_key_prefix = "audit/" })`),
				ExpectError: regexp.MustCompile(`must\s+not\s+start\s+or\s+end\s+with\s+"/"`),
			},
		},
	})
}
