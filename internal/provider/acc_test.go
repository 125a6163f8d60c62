package provider

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/acctest"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
)

// The acceptance tests run against an in-process sandbox by default. With
// OPSAUDIT_ACC_EXTERNAL=1 (make testacc) they run against what the
// environment names instead: AWS_ENDPOINT_URL (a sandbox started by hand)
// or real AWS. The assertions that need a control only the in-process
// sandbox has (injected faults, policy propagation delay, recorded writes)
// are made only against it; tests whose whole point is such a control
// (seeded history, a pinned archive, requests refused in front of the
// sandbox) start one of their own wherever they run.

const (
	testAccessKey = "test"
	testSecretKey = "test"
	testRegion    = "us-east-1"
)

var testAccProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"opsaudit": providerserver.NewProtocol6WithError(New("test")()),
}

func TestMain(m *testing.M) {
	// terraform-plugin-testing must use the local Terraform: nothing can
	// be downloaded from the registry.
	if os.Getenv("TF_ACC_TERRAFORM_PATH") == "" {
		if p, err := exec.LookPath("terraform"); err == nil {
			_ = os.Setenv("TF_ACC_TERRAFORM_PATH", p)
		}
	}
	_ = os.Setenv("CHECKPOINT_DISABLE", "1")
	_ = os.Setenv("TF_ACC_PROVIDER_NAMESPACE", "opsaudit")
	// The acceptance tests run without TF_ACC too: they need no account.
	// It is set here, as tests that run in parallel cannot set it.
	if os.Getenv("TF_ACC") == "" {
		_ = os.Setenv("TF_ACC", "1")
	}
	// With -sweep (make sweep) it removes what failed runs left instead.
	resource.TestMain(m)
}

// accPrefix starts the name of every bucket and trail a test creates, so
// that the sweepers can find what a failed run left behind in an account.
const accPrefix = "tf-acc-opsaudit-"

// accName is a fresh name for a bucket or trail: runs against one account
// do not collide, and the sweepers recognise it.
func accName(part string) string {
	return acctest.RandomWithPrefix(accPrefix + part)
}

// external reports whether the tests run against the target the
// environment names rather than an in-process sandbox.
func external() bool { return os.Getenv("OPSAUDIT_ACC_EXTERNAL") != "" }

// accEnv is where an acceptance test runs, with SDK clients built
// independently of the provider to read results back.
type accEnv struct {
	// Sandbox is the in-process sandbox, nil against an external target.
	Sandbox  *sandbox.Server
	Endpoint string
	Region   string
	Account  string
	cfg      aws.Config
	creds    aws.Credentials
	// shared is set for an external target, which other runs may use:
	// tests against it run one at a time.
	shared bool
}

// accTest runs tc, in parallel with other tests when the target is the
// test's own; against a shared target one at a time, so that a test finds
// only its own calls among the account's recent events.
func (e *accEnv) accTest(t *testing.T, tc resource.TestCase) {
	t.Helper()
	if e.shared {
		if tc.PreCheck == nil {
			tc.PreCheck = func() { e.preCheck(t) }
		}
		resource.Test(t, tc)
		return
	}
	resource.ParallelTest(t, tc)
}

// newAccEnv starts an in-process sandbox with opts (or uses the external
// target) and checks Terraform is there.
func newAccEnv(t *testing.T, opts sandbox.Options) *accEnv {
	t.Helper()
	needTerraform(t)
	ctx := context.Background()
	if external() {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			t.Fatalf("loading AWS configuration: %v", err)
		}
		if cfg.Region == "" {
			t.Fatal("OPSAUDIT_ACC_EXTERNAL is set but no AWS region is: set AWS_REGION or a profile's region")
		}
		e := &accEnv{Endpoint: os.Getenv("AWS_ENDPOINT_URL"), Region: cfg.Region, cfg: cfg, shared: true}
		e.identify(t)
		return e
	}
	return newInProcessEnv(t, opts)
}

// newSandboxOnlyEnv starts an in-process sandbox with opts even when
// OPSAUDIT_ACC_EXTERNAL is set, for a test whose point is a control only
// that sandbox has (why): it runs hermetically wherever the suite runs.
func newSandboxOnlyEnv(t *testing.T, opts sandbox.Options, why string) *accEnv {
	t.Helper()
	needTerraform(t)
	if external() {
		t.Logf("runs against an in-process sandbox of its own: %s", why)
	}
	return newInProcessEnv(t, opts)
}

func newInProcessEnv(t *testing.T, opts sandbox.Options) *accEnv {
	t.Helper()
	srv, err := sandbox.New(opts)
	if err != nil {
		t.Fatalf("starting sandbox: %v", err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return newSandboxEnv(t, srv, hs.URL)
}

// needTerraform skips a test without Terraform.
func needTerraform(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC_TERRAFORM_PATH") == "" {
		t.Skip("terraform is not on PATH and TF_ACC_TERRAFORM_PATH is unset: acceptance tests need Terraform 1.8 or later")
	}
}

// newSandboxEnv wraps a sandbox reachable at endpoint.
func newSandboxEnv(t *testing.T, srv *sandbox.Server, endpoint string) *accEnv {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(testRegion),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(testAccessKey, testSecretKey, "")),
		config.WithBaseEndpoint(endpoint),
	)
	if err != nil {
		t.Fatalf("loading AWS configuration: %v", err)
	}
	e := &accEnv{Sandbox: srv, Endpoint: endpoint, Region: testRegion, cfg: cfg}
	e.identify(t)
	return e
}

// preCheck stops a test against a shared target whose credentials no
// longer work, as a session's do when it expires during a long run, before
// Terraform fails on it part-way through.
func (e *accEnv) preCheck(t *testing.T) {
	t.Helper()
	if got := e.callerAccount(t); got != e.Account {
		t.Fatalf("the credentials now belong to account %s, the test started in %s", got, e.Account)
	}
}

func (e *accEnv) callerAccount(t *testing.T) string {
	t.Helper()
	out, err := e.STS().GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	return aws.ToString(out.Account)
}

// CloudTrail is a read-back client for region ("" for the home region).
func (e *accEnv) CloudTrail(region string) *cloudtrail.Client {
	return cloudtrail.NewFromConfig(e.cfg, func(o *cloudtrail.Options) {
		if region != "" {
			o.Region = region
		}
	})
}

// LookupEvents reads back every page of a LookupEvents call in region
// ("" for the home region).
func (e *accEnv) LookupEvents(t *testing.T, region string, in *cloudtrail.LookupEventsInput) []cttypes.Event {
	t.Helper()
	var out []cttypes.Event
	pages := cloudtrail.NewLookupEventsPaginator(e.CloudTrail(region), in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatalf("LookupEvents in %s: %v", region, err)
		}
		out = append(out, page.Events...)
	}
	return out
}

// S3 is a read-back client for the home region.
func (e *accEnv) S3() *s3.Client {
	return s3.NewFromConfig(e.cfg, func(o *s3.Options) {
		o.UsePathStyle = e.Endpoint != ""
		// The sandbox sends no checksums; the SDK would log every read.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
}

func (e *accEnv) STS() *sts.Client { return sts.NewFromConfig(e.cfg) }

// Athena is a read-back client for the home region.
func (e *accEnv) Athena() *athena.Client { return athena.NewFromConfig(e.cfg) }

// ProviderConfig is the provider block pointing at the environment, with
// extra HCL arguments appended inside the block.
func (e *accEnv) ProviderConfig(extra string) string {
	if e.Sandbox == nil && e.Endpoint == "" {
		return fmt.Sprintf("provider \"opsaudit\" {\n  region = %q\n%s\n}\n", e.Region, extra)
	}
	return fmt.Sprintf(`provider "opsaudit" {
  region            = %q
  access_key        = %q
  secret_key        = %q
  s3_use_path_style = true
  endpoints {
    cloudtrail = %[4]q
    s3         = %[4]q
    sts        = %[4]q
    athena     = %[4]q
  }
%[5]s
}
`, e.Region, e.creds.AccessKeyID, e.creds.SecretAccessKey, e.Endpoint, extra)
}

// identify sets the account and the key pair of the read-back clients,
// which the provider is given too.
func (e *accEnv) identify(t *testing.T) {
	t.Helper()
	creds, err := e.cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatalf("retrieving AWS credentials: %v", err)
	}
	e.creds = creds
	e.Account = e.callerAccount(t)
}

// denyCloudTrail answers the CloudTrail operation op signed for region as
// AWS answers a caller without its permission there, and hands every other
// request to the sandbox.
type denyCloudTrail struct {
	next                http.Handler
	op, region, account string
}

func (d denyCloudTrail) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.Header.Get("X-Amz-Target"), "."+d.op) &&
		strings.Contains(r.Header.Get("Authorization"), "/"+d.region+"/cloudtrail/aws4_request") {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprintf(w, `{"__type":"AccessDeniedException","message":"User: arn:aws:iam::%s:user/test is not authorized to perform: cloudtrail:%s"}`, d.account, d.op)
		return
	}
	d.next.ServeHTTP(w, r)
}
