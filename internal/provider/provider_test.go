package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
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
		{"max_backoff not a duration", `provider "opsaudit" { max_backoff = "soon" }`, `(?s)max_backoff = "soon".*"soon" is not a duration`},
		{"max_backoff too long", `provider "opsaudit" { max_backoff = "1h" }`, `(?s)max_backoff = "1h".*1h0m0s is outside the allowed range 1ms to 5m0s`},
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

// TestAccProvider_unknownArgument sets each argument that used to fall back
// to its default from a value known only after apply, and expects the plan
// to stop with a diagnostic on that argument; once the value's source
// exists, the same configuration plans and reads. Terraform 1.11 does not
// offer deferral, so this is the path users see.
func TestAccProvider_unknownArgument(t *testing.T) {
	env := newAccEnv(t, sandbox.Options{NoHistory: true})
	env.needSandbox(t, "sets the endpoints from a resource attribute")
	// later is created only by apply: its id is unknown in the first plan.
	const later = "resource \"terraform_data\" \"later\" {}\n"
	const ds = "data \"opsaudit_caller_identity\" \"this\" {}\n"
	// afterApply is known only after apply and is empty.
	const afterApply = `${substr(terraform_data.later.id, 0, 0)}`
	provider := func(endpoints, extra string) string {
		return fmt.Sprintf(`provider "opsaudit" {
  region     = "us-east-1"
  access_key = "test"
  secret_key = "test"
  endpoints {
%s
  }
%s
}
`, endpoints, extra)
	}
	sandboxEndpoints := fmt.Sprintf("    cloudtrail = %[1]q\n    s3 = %[1]q\n    sts = %[1]q", env.Endpoint)
	cases := []struct {
		attribute, config string
	}{
		{"endpoints.cloudtrail", provider(fmt.Sprintf("    cloudtrail = \"%s%s\"\n    s3 = %[1]q\n    sts = %[1]q", env.Endpoint, afterApply), "")},
		{"endpoints.s3", provider(fmt.Sprintf("    cloudtrail = %[1]q\n    s3 = \"%[1]s%s\"\n    sts = %[1]q", env.Endpoint, afterApply), "")},
		{"endpoints.sts", provider(fmt.Sprintf("    cloudtrail = %[1]q\n    s3 = %[1]q\n    sts = \"%[1]s%s\"", env.Endpoint, afterApply), "")},
		{"assume_role.role_arn", provider(sandboxEndpoints, `  assume_role { role_arn = "arn:aws:iam::444455556666:role/auditor`+afterApply+`" }`)},
		{"assume_role.session_name", provider(sandboxEndpoints, `  assume_role {
    role_arn     = "arn:aws:iam::444455556666:role/auditor"
    session_name = "ci`+afterApply+`"
  }`)},
		{"s3_use_path_style", provider(sandboxEndpoints, `  s3_use_path_style = terraform_data.later.id != ""`)},
		{"max_retries", provider(sandboxEndpoints, `  max_retries = min(length(terraform_data.later.id), 5)`)},
		{"lookup_requests_per_second", provider(sandboxEndpoints, `  lookup_requests_per_second = min(length(terraform_data.later.id), 5)`)},
	}
	for _, tc := range cases {
		t.Run(tc.attribute, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{
					{
						Config: later + tc.config + ds,
						ExpectError: regexp.MustCompile(`(?s)Provider argument known only after apply.*` +
							regexp.QuoteMeta(tc.attribute) + `\s+is\s+known\s+only\s+after\s+apply`),
					},
					{Config: later},
					{
						Config: later + tc.config + ds,
						ConfigStateChecks: []statecheck.StateCheck{
							statecheck.ExpectKnownValue("data.opsaudit_caller_identity.this", tfjsonpath.New("region"), knownvalue.StringExact("us-east-1")),
						},
					},
					// A destroy plan sees the provider block again with
					// terraform_data.later planned for deletion, so unknown:
					// the provider leaves before its source does.
					{Config: later},
				},
			})
		})
	}
}

// configureWithUnknown sends ConfigureProvider as Terraform does, with every
// argument null except the named ones, which are unknown.
func configureWithUnknown(t *testing.T, deferralAllowed bool, unknown ...string) (tfprotov6.ProviderServer, *tfprotov6.ConfigureProviderResponse) {
	t.Helper()
	ctx := context.Background()
	server, err := providerserver.NewProtocol6WithError(New("test")())()
	if err != nil {
		t.Fatal(err)
	}
	schema, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	typ := schema.Provider.ValueType().(tftypes.Object)
	vals := map[string]tftypes.Value{}
	for name, at := range typ.AttributeTypes {
		vals[name] = tftypes.NewValue(at, nil)
	}
	for _, name := range unknown {
		vals[name] = tftypes.NewValue(typ.AttributeTypes[name], tftypes.UnknownValue)
	}
	config, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, vals))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := server.ConfigureProvider(ctx, &tfprotov6.ConfigureProviderRequest{
		TerraformVersion:   "1.11.0",
		Config:             &config,
		ClientCapabilities: &tfprotov6.ConfigureProviderClientCapabilities{DeferralAllowed: deferralAllowed},
	})
	if err != nil {
		t.Fatal(err)
	}
	return server, resp
}

// TestConfigureDefersUnknownArguments: a Terraform that allows deferral
// gets the data source reads deferred, with no AWS call and no error.
func TestConfigureDefersUnknownArguments(t *testing.T) {
	server, resp := configureWithUnknown(t, true, "max_retries", "endpoints")
	if len(resp.Diagnostics) > 0 {
		t.Fatalf("ConfigureProvider with deferral allowed: %v", resp.Diagnostics[0])
	}
	ctx := context.Background()
	schemas, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	typ := schemas.DataSourceSchemas["opsaudit_caller_identity"].ValueType()
	config, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, nil))
	if err != nil {
		t.Fatal(err)
	}
	read, err := server.ReadDataSource(ctx, &tfprotov6.ReadDataSourceRequest{
		TypeName:           "opsaudit_caller_identity",
		Config:             &config,
		ClientCapabilities: &tfprotov6.ReadDataSourceClientCapabilities{DeferralAllowed: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(read.Diagnostics) > 0 {
		t.Fatalf("ReadDataSource: %v", read.Diagnostics[0])
	}
	if read.Deferred == nil || read.Deferred.Reason != tfprotov6.DeferredReasonProviderConfigUnknown {
		t.Fatalf("ReadDataSource deferred = %+v, want reason provider config unknown", read.Deferred)
	}
}

// TestConfigureReportsUnknownArguments: without deferral, each unknown
// argument, a whole block included, gets its own error on its path.
func TestConfigureReportsUnknownArguments(t *testing.T) {
	_, resp := configureWithUnknown(t, false, "endpoints", "lookup_requests_per_second")
	got := map[string]string{}
	for _, d := range resp.Diagnostics {
		if d.Severity != tfprotov6.DiagnosticSeverityError || d.Attribute == nil {
			t.Errorf("diagnostic without attribute: %+v", d)
			continue
		}
		got[d.Attribute.String()] = d.Detail
	}
	for attr, purpose := range map[string]string{
		`AttributeName("endpoints")`:                  "the service endpoints",
		`AttributeName("lookup_requests_per_second")`: "the pace of LookupEvents calls",
	} {
		if d, ok := got[attr]; !ok || !strings.Contains(d, "known only after apply") || !strings.Contains(d, purpose) {
			t.Errorf("%s: detail %q, want it to say the value is known only after apply and is needed for %s", attr, d, purpose)
		}
	}
	if len(got) != 2 {
		t.Errorf("got %d diagnostics, want 2: %v", len(got), got)
	}
}
