package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
)

func TestAccProvider_configuration(t *testing.T) {
	env := newAccEnv(t, sandbox.Options{Account: "210987654321", NoHistory: true})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: env.ProviderConfig("") + `data "opsaudit_caller_identity" "this" {}`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.opsaudit_caller_identity.this", tfjsonpath.New("account_id"), knownvalue.StringExact(env.Account)),
					statecheck.ExpectKnownValue("data.opsaudit_caller_identity.this", tfjsonpath.New("partition"), knownvalue.StringExact("aws")),
					statecheck.ExpectKnownValue("data.opsaudit_caller_identity.this", tfjsonpath.New("region"), knownvalue.StringExact(env.Region)),
					statecheck.ExpectKnownValue("data.opsaudit_caller_identity.this", tfjsonpath.New("regions"), knownvalue.ListSizeExact(9)),
				},
			},
			{
				Config: env.ProviderConfig(`regions = ["eu-west-1", "ap-southeast-2"]`) + `data "opsaudit_caller_identity" "this" {}`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.opsaudit_caller_identity.this", tfjsonpath.New("regions"),
						knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("eu-west-1"), knownvalue.StringExact("ap-southeast-2")})),
				},
			},
		},
	})
}

func TestAccProvider_assumeRole(t *testing.T) {
	env := newAccEnv(t, sandbox.Options{NoHistory: true})
	env.needSandbox(t, "assumes a role only the sandbox has")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: env.ProviderConfig(`
  assume_role {
    role_arn     = "arn:aws:iam::444455556666:role/auditor"
    session_name = "terraform"
    duration     = "1h"
  }`) + `data "opsaudit_caller_identity" "this" {}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.opsaudit_caller_identity.this", tfjsonpath.New("arn"),
					knownvalue.StringExact("arn:aws:sts::444455556666:assumed-role/auditor/terraform")),
				statecheck.ExpectKnownValue("data.opsaudit_caller_identity.this", tfjsonpath.New("account_id"), knownvalue.StringExact("444455556666")),
			},
		}},
	})
}

// TestAccProvider_badInput checks each bad argument is reported against that
// argument, with the AWS error code where AWS gave one.
func TestAccProvider_badInput(t *testing.T) {
	env := newAccEnv(t, sandbox.Options{NoHistory: true})
	env.needSandbox(t, "uses the sandbox's known key pair")
	ds := "\ndata \"opsaudit_caller_identity\" \"this\" {}\n"
	cases := []struct {
		name, config string
		want         string
	}{
		{"unknown region", `provider "opsaudit" { region = "us-nowhere-1" }`, `(?s)with provider\["registry.terraform.io/opsaudit/opsaudit"\].*region.*"us-nowhere-1" is not an AWS region`},
		{"unknown fan-out region", `provider "opsaudit" { regions = ["eu-west-1", "eu-nowhere-2"] }`, `(?s)regions.*"eu-nowhere-2" is not an AWS region`},
		{"malformed endpoint", `provider "opsaudit" {
  endpoints { cloudtrail = "localhost:4599" }
}`, `(?s)endpoints \{ cloudtrail = "localhost:4599" \}.*not a usable endpoint URL: scheme must be http or https`},
		{"short assume role duration", `provider "opsaudit" {
  assume_role {
    role_arn = "arn:aws:iam::123456789012:role/x"
    duration = "5m"
  }
}`, `(?s)duration = "5m".*outside the allowed range 15m0s to 12h0m0s`},
		{"wrong secret key", fmt.Sprintf(`provider "opsaudit" {
  region     = "us-east-1"
  access_key = "test"
  secret_key = "not-the-secret"
  endpoints { sts = %q }
}`, env.Endpoint), `(?s)Invalid AWS credentials.*SignatureDoesNotMatch.*secret\s+key\s+does\s+not\s+belong\s+to\s+the\s+access\s+key`},
		{"unknown access key", fmt.Sprintf(`provider "opsaudit" {
  region     = "us-east-1"
  access_key = "AKIANOTKNOWN"
  secret_key = "test"
  endpoints { sts = %q }
}`, env.Endpoint), `(?s)Invalid AWS credentials.*InvalidClientTokenId.*AWS\s+does\s+not\s+know\s+this\s+access\s+key`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps:                    []resource.TestStep{{Config: tc.config + ds, ExpectError: regexp.MustCompile(tc.want)}},
			})
		})
	}
}
