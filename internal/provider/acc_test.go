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

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
)

// The acceptance tests run against an in-process sandbox by default. With
// OPSAUDIT_ACC_EXTERNAL=1 (make testacc) they run against what the
// environment names instead: AWS_ENDPOINT_URL (a sandbox started by hand)
// or real AWS. Tests that need sandbox-only controls (faults, seeded history,
// policy propagation delay) then skip, saying so.

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
	os.Exit(m.Run())
}

// accEnv is where an acceptance test runs, with SDK clients built
// independently of the provider to read results back.
type accEnv struct {
	// Sandbox is the in-process sandbox, nil against an external target.
	Sandbox  *sandbox.Server
	Endpoint string
	Region   string
	Account  string
	cfg      aws.Config
}

// newAccEnv starts an in-process sandbox with opts (or uses the external
// target) and checks Terraform is there.
func newAccEnv(t *testing.T, opts sandbox.Options) *accEnv {
	t.Helper()
	needTerraform(t)
	ctx := context.Background()
	if os.Getenv("OPSAUDIT_ACC_EXTERNAL") != "" {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			t.Fatalf("loading AWS configuration: %v", err)
		}
		e := &accEnv{Endpoint: os.Getenv("AWS_ENDPOINT_URL"), Region: cfg.Region, cfg: cfg}
		e.Account = e.callerAccount(t)
		return e
	}

	srv, err := sandbox.New(opts)
	if err != nil {
		t.Fatalf("starting sandbox: %v", err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return newSandboxEnv(t, srv, hs.URL)
}

// needTerraform skips a test without Terraform, and runs the acceptance
// tests without TF_ACC.
func needTerraform(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC_TERRAFORM_PATH") == "" {
		t.Skip("terraform is not on PATH and TF_ACC_TERRAFORM_PATH is unset: acceptance tests need Terraform 1.8 or later")
	}
	if os.Getenv("TF_ACC") == "" {
		t.Setenv("TF_ACC", "1")
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
	e.Account = e.callerAccount(t)
	return e
}

// needSandbox skips a test that relies on controls only the in-process
// sandbox has.
func (e *accEnv) needSandbox(t *testing.T, why string) {
	t.Helper()
	if e.Sandbox == nil {
		t.Skipf("needs the in-process sandbox (%s); OPSAUDIT_ACC_EXTERNAL is set", why)
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
`, e.Region, e.accessKey(), e.secretKey(), e.Endpoint, extra)
}

func (e *accEnv) accessKey() string {
	if e.Sandbox == nil {
		return os.Getenv("AWS_ACCESS_KEY_ID")
	}
	return testAccessKey
}

func (e *accEnv) secretKey() string {
	if e.Sandbox == nil {
		return os.Getenv("AWS_SECRET_ACCESS_KEY")
	}
	return testSecretKey
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
