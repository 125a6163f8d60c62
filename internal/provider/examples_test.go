package provider

import (
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

// terraformCLI is a built provider behind a dev_overrides CLI configuration
// and a sandbox, for running Terraform itself on the examples as a user
// would, without the registry.
type terraformCLI struct {
	bin      string
	env      []string
	endpoint string
}

func newTerraformCLI(t *testing.T, opts sandbox.Options) *terraformCLI {
	t.Helper()
	srv, err := sandbox.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return terraformCLIFor(t, hs.URL)
}

// terraformCLIFor builds the provider and points Terraform and the AWS
// variables at the sandbox at endpoint.
func terraformCLIFor(tb testing.TB, endpoint string) *terraformCLI {
	tb.Helper()
	bin := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if bin == "" {
		tb.Skip("terraform is not on PATH and TF_ACC_TERRAFORM_PATH is unset: running Terraform needs Terraform 1.8 or later")
	}
	dir := tb.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "terraform-provider-opsaudit"), "github.com/opsaudit/terraform-provider-opsaudit")
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("building the provider: %v\n%s", err, out)
	}
	cliConfig := filepath.Join(dir, "cli.tfrc")
	if err := os.WriteFile(cliConfig, []byte(`provider_installation {
  dev_overrides {
    "opsaudit/opsaudit" = "`+dir+`"
  }
  direct {}
}
`), 0o600); err != nil {
		tb.Fatal(err)
	}
	return &terraformCLI{
		bin:      bin,
		endpoint: endpoint,
		// The AWS variables are the ones opsaudit-sandbox prints for users
		// to export; the shared files are emptied so no profile interferes.
		env: append(os.Environ(), "TF_CLI_CONFIG_FILE="+cliConfig, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1",
			"TF_DATA_DIR="+filepath.Join(dir, "tfdata"), "AWS_ENDPOINT_URL="+endpoint, "AWS_ACCESS_KEY_ID="+testAccessKey,
			"AWS_SECRET_ACCESS_KEY="+testSecretKey, "AWS_SESSION_TOKEN=", "AWS_PROFILE=", "AWS_CONFIG_FILE="+os.DevNull,
			"AWS_SHARED_CREDENTIALS_FILE="+os.DevNull, "AWS_EC2_METADATA_DISABLED=true"),
	}
}

func (c *terraformCLI) run(tb testing.TB, dir string, args ...string) (string, error) {
	tb.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Dir = dir
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestModuleTerraformTests runs the module's own `terraform test` suite
// against a sandbox with the seeded history: it plans the set-up, applies it,
// expects the enforced gate to fail the plan, reads the pre-existing
// trail's archive and validates its log files, and reads the archive again
// through Athena, expecting the same counts.
func TestModuleTerraformTests(t *testing.T) {
	cli := newTerraformCLI(t, sandbox.Options{LookupRPS: 20})
	dir := filepath.Join(t.TempDir(), "opsworkscm-audit")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "..", "examples", "modules", "opsworkscm-audit"))); err != nil {
		t.Fatal(err)
	}
	// terraform get installs the tests' own module (tests/athena) without
	// the registry, which terraform init would ask for the overridden
	// provider.
	if out, err := cli.run(t, dir, "get", "-no-color"); err != nil {
		t.Fatalf("get: %v\n%s", err, out)
	}
	out, err := cli.run(t, dir, "test", "-no-color")
	if err != nil {
		t.Fatalf("terraform test failed: %v\n%s", err, out)
	}
	for _, run := range []string{"plan_creates_the_audit_setup", "seeded_history_fails_the_gate", "enforced_gate_fails_the_plan",
		"existing_trail_archive_and_integrity", "athena_table", "existing_trail_archive_through_athena"} {
		if !strings.Contains(out, `run "`+run+`"... pass`) {
			t.Errorf("run %q did not pass:\n%s", run, out)
		}
	}
	if !strings.Contains(out, "6 passed, 0 failed") {
		t.Errorf("want 6 runs passed:\n%s", out)
	}
}

// TestModuleChangedLogFile changes one log file of the pre-existing trail's
// last week through S3, as someone covering their tracks would, and runs
// the module's tests/changed-log-file suite with its key: the validation
// fails naming that file alone, and enforce_integrity fails the plan.
func TestModuleChangedLogFile(t *testing.T) {
	cli := newTerraformCLI(t, sandbox.Options{})
	env := newSandboxEnv(t, nil, cli.endpoint)
	bucket := sandbox.ArchiveBucket(env.Account)
	digests := sandboxtest.ReadDigests(t, env.S3(), bucket, sandboxtest.DigestPrefix("", env.Account, "eu-west-1"))
	// A file from the middle of the week, well inside the module's 7-day
	// validation window whenever the test runs.
	var changed string
	for _, d := range digests[len(digests)/2:] {
		if len(d.LogFiles) > 0 {
			changed = d.LogFiles[0].S3Object
			break
		}
	}
	if changed == "" {
		t.Fatal("no digest of the second half of the week lists a log file")
	}
	sandboxtest.Tamper(t, env.S3(), bucket, changed)

	out, err := cli.run(t, filepath.Join("..", "..", "examples", "modules", "opsworkscm-audit"),
		"test", "-no-color", "-test-directory=tests/changed-log-file", "-var=changed_key="+strconv.Quote(changed))
	if err != nil {
		t.Fatalf("terraform test failed: %v\n%s", err, out)
	}
	if !strings.Contains(out, "2 passed, 0 failed") {
		t.Errorf("want 2 runs passed:\n%s", out)
	}
}

// TestMultiAccountExample applies examples/multi-account, which uses the
// module twice through providers that assume roles in two accounts, and
// reads back that each account got its own trail.
func TestMultiAccountExample(t *testing.T) {
	cli := newTerraformCLI(t, sandbox.Options{NoHistory: true})
	work := t.TempDir()
	if err := os.CopyFS(work, os.DirFS(filepath.Join("..", "..", "examples"))); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(work, "multi-account")
	vars := "-var=sandbox_endpoint=" + cli.endpoint
	// terraform get installs the local module without the registry, which
	// terraform init would ask for the overridden provider.
	if out, err := cli.run(t, dir, "get", "-no-color"); err != nil {
		t.Fatalf("get: %v\n%s", err, out)
	}
	if out, err := cli.run(t, dir, "apply", "-auto-approve", "-no-color", "-input=false", vars); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := cli.run(t, dir, "destroy", "-auto-approve", "-no-color", "-input=false", vars); err != nil {
			t.Errorf("destroy: %v\n%s", err, out)
		}
	})
	for account, region := range map[string]string{"111111111111": "us-east-1", "222222222222": "eu-west-1"} {
		env := newSandboxEnv(t, nil, cli.endpoint)
		env.cfg.Credentials = assumedRole(t, env, "arn:aws:iam::"+account+":role/opsworkscm-audit")
		out, err := env.CloudTrail(region).GetTrail(t.Context(), &cloudtrail.GetTrailInput{Name: aws.String("opsworkscm-audit")})
		if err != nil {
			t.Fatalf("account %s: %v", account, err)
		}
		if got, want := aws.ToString(out.Trail.TrailARN), "arn:aws:cloudtrail:"+region+":"+account+":trail/opsworkscm-audit"; got != want {
			t.Errorf("trail ARN %q, want %q", got, want)
		}
	}
}

// assumedRole returns credentials of a session of role, from the sandbox's
// STS with the test key pair.
func assumedRole(t *testing.T, env *accEnv, role string) aws.CredentialsProvider {
	t.Helper()
	out, err := env.STS().AssumeRole(t.Context(), &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("test")})
	if err != nil {
		t.Fatalf("AssumeRole %s: %v", role, err)
	}
	c := out.Credentials
	return credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
}

// TestComplianceExampleSigmaRules validates the compliance example as a
// user would, with its sigma/ folder loaded through fileset and file: the
// rules compile. A rule broken in a copy fails validation, naming it.
func TestComplianceExampleSigmaRules(t *testing.T) {
	cli := newTerraformCLI(t, sandbox.Options{NoHistory: true})
	dir := registryExample(t, filepath.Join("data-sources", "opsaudit_compliance"))
	if out, err := cli.run(t, dir, "validate", "-no-color"); err != nil {
		t.Fatalf("validate: %v\n%s", err, out)
	}
	rule := filepath.Join(dir, "sigma", "cloudtrail_logging_stopped.yml")
	raw, err := os.ReadFile(rule)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(raw), "  condition: selection\n", "  condition: selection | count() > 3\n", 1)
	if err := os.WriteFile(rule, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := cli.run(t, dir, "validate", "-no-color")
	// fileset lists files by name: cloudtrail_logging_stopped.yml is the
	// first rule.
	want := "Sigma rule 1 (id " + loggingStoppedRuleID + `) "CloudTrail logging stopped or trail deleted", line 22, column 24: aggregation is not supported`
	if err == nil || !strings.Contains(strings.Join(strings.Fields(out), " "), want) {
		t.Fatalf("validate of a rule with an aggregation: %v, want an error with %q:\n%s", err, want, out)
	}
}

// registryExample copies the example in examples/<name>, which the docs
// show, into a temporary directory, with the provider's source the docs
// leave out.
func registryExample(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "..", "examples", name))); err != nil {
		t.Fatal(err)
	}
	versions := "terraform {\n  required_providers {\n    opsaudit = { source = \"opsaudit/opsaudit\" }\n  }\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "versions.tf"), []byte(versions), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestRegistryExamplesValidate validates every resource and data source
// example as the docs show it: an argument combination the provider
// refuses would otherwise reach the docs unnoticed. (The function's example
// applies its policy with hashicorp/aws, which Terraform cannot install
// without the registry.)
func TestRegistryExamplesValidate(t *testing.T) {
	cli := newTerraformCLI(t, sandbox.Options{NoHistory: true})
	var names []string
	for _, kind := range []string{"resources", "data-sources"} {
		entries, err := os.ReadDir(filepath.Join("..", "..", "examples", kind))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			names = append(names, filepath.Join(kind, e.Name()))
		}
	}
	if len(names) < 9 {
		t.Fatalf("found %d examples, want one per resource and data source: %v", len(names), names)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			if out, err := cli.run(t, registryExample(t, name), "validate", "-no-color"); err != nil {
				t.Errorf("terraform validate: %v\n%s", err, out)
			}
		})
	}
}
