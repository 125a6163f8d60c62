package provider

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/acctest"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
)

// TestAccFaultMatrix runs the provider against the sandbox's fault
// injection, one row per kind of failure a real account produces. Each row
// owns its sandbox, so the rows run in parallel.
func TestAccFaultMatrix(t *testing.T) {
	needTerraform(t)
	// The rows that read the pre-existing trail share its fixture.
	f := pinnedArchive(t, eventsTestAccount)
	for _, row := range []struct {
		name string
		run  func(t *testing.T, f *archiveFixture)
	}{
		// Throttling at 50% and 5xx at 30% on every operation: every
		// resource and data source completes with the result it has
		// without faults.
		{"throttling and 5xx everywhere", faultMatrixThrottlingAnd5xx},
		// One region answering errors: fail or unknown as configured,
		// never pass.
		{"one region down", faultMatrixRegionDown},
		// One archive object answering AccessDenied: reported per
		// on_file_error.
		{"one archive object denied", faultMatrixObjectDenied},
		// 500 ms of added latency and a cancelled context: every data
		// source returns promptly with a clear error.
		{"latency and cancellation", faultMatrixCancelled},
		// The sandbox restarted with -data between apply and the next
		// plan: no drift, nothing lost.
		{"sandbox restarted with -data", faultMatrixRestart},
		// Bucket policy propagation slower than the create timeout: a
		// clear error and the trail not orphaned.
		{"policy propagation beyond the create timeout", faultMatrixSlowPropagation},
	} {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			row.run(t, f)
		})
	}
}

// faultMatrixRegions are the regions the rows read: the home region and
// the one that fails.
var faultMatrixRegions = []string{"us-east-1", "eu-west-1"}

// faultMatrixWindows are the fixed windows the data sources read in a
// sandbox pinned to f's clock, so that two reads minutes apart ask for the
// same thing.
type faultMatrixWindows struct {
	events, archive, digests [2]time.Time
}

func newFaultMatrixWindows(t *testing.T, f *archiveFixture) faultMatrixWindows {
	return faultMatrixWindows{
		events:  [2]time.Time{f.now.Add(-7 * 24 * time.Hour), f.now},
		archive: [2]time.Time{mustTime(t, "2024-04-25T00:00:00Z"), mustTime(t, "2024-04-29T00:00:00Z")},
		digests: [2]time.Time{f.archive.DigestsTo.Add(-4 * time.Hour), f.archive.DigestsTo.Add(-2 * time.Hour)},
	}
}

// faultMatrixDataSources is every data source, each reading the
// pre-existing trail (or its archive) in faultMatrixRegions over w; extra
// HCL goes into events and compliance.
func faultMatrixDataSources(w faultMatrixWindows, eventsExtra, complianceExtra string) string {
	return fmt.Sprintf(`
data "opsaudit_caller_identity" "test" {}

data "opsaudit_trail" "test" {
  name = %[1]q
}

data "opsaudit_archive_events" "test" {
  trail      = %[1]q
  regions    = ["us-east-1", "eu-west-1"]
  start_time = %[2]q
  end_time   = %[3]q
}
`, sandbox.ArchiveTrailName, rfc3339(w.archive[0]), rfc3339(w.archive[1])) + faultMatrixRegional(w, eventsExtra, complianceExtra)
}

// faultMatrixRegional is the data sources that call each region: events,
// compliance and log validation.
func faultMatrixRegional(w faultMatrixWindows, eventsExtra, complianceExtra string) string {
	return fmt.Sprintf(`
data "opsaudit_events" "test" {
  regions    = ["us-east-1", "eu-west-1"]
  start_time = %[2]q
  end_time   = %[3]q
%[6]s
}

data "opsaudit_compliance" "test" {
  trail      = %[1]q
  regions    = ["us-east-1", "eu-west-1"]
  start_time = %[2]q
  end_time   = %[3]q
%[7]s
}

data "opsaudit_log_validation" "test" {
  trail      = %[1]q
  regions    = ["us-east-1", "eu-west-1"]
  start_time = %[4]q
  end_time   = %[5]q
}
`, sandbox.ArchiveTrailName, rfc3339(w.events[0]), rfc3339(w.events[1]), rfc3339(w.digests[0]), rfc3339(w.digests[1]),
		eventsExtra, complianceExtra)
}

// faultCounter counts the answers of the sandbox behind it by status, to
// show the faults were met.
type faultCounter struct {
	next     http.Handler
	mu       sync.Mutex
	byStatus map[int]int
}

func (c *faultCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	c.next.ServeHTTP(rec, r)
	c.mu.Lock()
	c.byStatus[rec.status]++
	c.mu.Unlock()
}

// counts is how many answers had each status so far.
func (c *faultCounter) counts() map[int]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.byStatus)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func faultMatrixThrottlingAnd5xx(t *testing.T, f *archiveFixture) {
	opts := f.options()
	opts.LookupRPS = 1e6
	base := newSandboxOnlyEnv(t, opts, "injects faults into every operation")
	counter := &faultCounter{next: base.Sandbox, byStatus: map[int]int{}}
	hs := httptest.NewServer(counter)
	t.Cleanup(hs.Close)
	env := newSandboxEnv(t, base.Sandbox, hs.URL)
	w := newFaultMatrixWindows(t, f)
	name := acctest.RandomWithPrefix("fault-matrix")

	// Half the answers throttled and 30% of the rest a 500: a call
	// succeeds a third of the time, so 25 retries leave one call in
	// 70,000 failing; short waits keep the test short.
	provider := env.ProviderConfig("  lookup_requests_per_second = 1000\n  max_retries = 25\n  max_backoff = \"20ms\"")
	config := provider + auditedTrail(name, "", "") + faultMatrixDataSources(w, "", "")
	faults := func() {
		env.Sandbox.SetFaults([]sandbox.Fault{
			{Kind: sandbox.FaultThrottle, Rate: 0.5},
			{Kind: sandbox.FaultError, Rate: 0.3, Status: http.StatusInternalServerError},
		})
	}

	// Each result is compared between the run under faults and the run
	// without.
	results := map[string][]string{
		"data.opsaudit_caller_identity.test": {"account_id", "arn"},
		"data.opsaudit_trail.test":           {"arn", "s3_bucket_name", "is_multi_region_trail", "status"},
		"data.opsaudit_events.test":          {"events", "total_count", "regions_queried"},
		"data.opsaudit_archive_events.test":  {"events", "files_scanned", "bytes_scanned", "files_failed"},
		"data.opsaudit_compliance.test":      {"status", "findings", "summary", "events_evaluated", "reasons"},
		"data.opsaudit_log_validation.test":  {"status", "digests_valid", "logs_valid", "problems", "reasons"},
		"opsaudit_log_bucket.test":           {"bucket", "policy"},
		"opsaudit_trail.test":                {"arn", "status"},
	}
	var adders []func() statecheck.StateCheck
	for addr, attrs := range results {
		for _, attr := range attrs {
			cv := statecheck.CompareValue(compare.ValuesSame())
			adders = append(adders, func() statecheck.StateCheck { return cv.AddStateValue(addr, tfjsonpath.New(attr)) })
		}
	}
	// compares adds one step's values to each comparison.
	compares := func() []statecheck.StateCheck {
		var out []statecheck.StateCheck
		for _, add := range adders {
			out = append(out, add())
		}
		return out
	}
	archiveWant := recordIDs(f.matches(w.archive[0], w.archive[1], faultMatrixRegions, opsWorksCM))
	if len(archiveWant) == 0 {
		t.Fatal("the archive has no OpsWorks CM call in the window: the comparison would prove little")
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkTrailGone(env, name),
		Steps: []resource.TestStep{
			{
				PreConfig: faults,
				Config:    config,
				ConfigStateChecks: append(compares(),
					expectIDs("data.opsaudit_archive_events.test", archiveWant),
					statecheck.ExpectKnownValue("data.opsaudit_log_validation.test", tfjsonpath.New("status"), knownvalue.StringExact("pass")),
				),
				Check: func(*terraform.State) error {
					// S3 throttles with 503, the JSON and query services with 400.
					n := counter.counts()
					if n[http.StatusInternalServerError] == 0 || n[http.StatusServiceUnavailable]+n[http.StatusBadRequest] == 0 {
						return fmt.Errorf("answers by status %v: the faults were not met", n)
					}
					return nil
				},
			},
			{
				// Without faults: the objects created under faults are as
				// configured, and every read gives the same result.
				PreConfig:         func() { env.Sandbox.SetFaults(nil) },
				Config:            config,
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: compares(),
				Check: resource.ComposeAggregateTestCheckFunc(
					checkBucket(env, name, defaultWant(env, name)),
					env.expectTrail(name, wantDefaults),
				),
			},
		},
	})
}

func faultMatrixRegionDown(t *testing.T, f *archiveFixture) {
	opts := f.options()
	opts.LookupRPS = 1e6
	opts.Faults = []sandbox.Fault{{Kind: sandbox.FaultRegionDown, Rate: 1, Region: "eu-west-1"}}
	env := newSandboxOnlyEnv(t, opts, "injects a regional outage")
	w := newFaultMatrixWindows(t, f)
	provider := env.ProviderConfig("  lookup_requests_per_second = 1000\n  max_retries = 1\n  max_backoff = \"10ms\"")
	region := `(?s)eu-west-1.*ServiceUnavailableException`
	history := eventsHistory{now: f.now, records: sandbox.History(f.account, f.now)}
	upIDs := history.ids(w.events[0], w.events[1], func(r *sandbox.Record) bool { return r.Region == "us-east-1" })
	if len(upIDs) == 0 {
		t.Fatal("the history has no us-east-1 event in the window: the warned read would prove little")
	}
	// notPassBecauseOfRegion checks a verdict is not pass, with a reason
	// that names the region and the AWS error code. The compliance verdict
	// may be fail: the other region's events break rules.
	notPassBecauseOfRegion := func(addr string, statuses ...string) resource.TestCheckFunc {
		return func(s *terraform.State) error {
			a := s.RootModule().Resources[addr].Primary.Attributes
			if !slices.Contains(statuses, a["status"]) {
				return fmt.Errorf("%s: status %q with a region down, want one of %v", addr, a["status"], statuses)
			}
			for k, v := range a {
				if strings.HasPrefix(k, "reasons.") && regexp.MustCompile(region).MatchString(v) {
					return nil
				}
			}
			return fmt.Errorf("%s: no reason names eu-west-1 and ServiceUnavailableException", addr)
		}
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				// The events' default: fail.
				Config:      provider + faultMatrixRegional(w, "", ""),
				ExpectError: regexp.MustCompile(region),
			},
			{
				Config:      provider + faultMatrixRegional(w, `  on_region_error = "warn"`, `  on_region_error = "fail"`),
				ExpectError: regexp.MustCompile(region),
			},
			{
				// Warned: every event of the other region, and both
				// verdicts unknown.
				Config: provider + faultMatrixRegional(w, `  on_region_error = "warn"`, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(complianceAddr, tfjsonpath.New("compliant"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(validationAddr, tfjsonpath.New("valid"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue("data.opsaudit_events.test", tfjsonpath.New("regions_queried"),
						knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("us-east-1")})),
					expectIDs("data.opsaudit_events.test", upIDs),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					notPassBecauseOfRegion(complianceAddr, "fail", "unknown"),
					notPassBecauseOfRegion(validationAddr, "unknown"),
				),
			},
		},
	})
}

func faultMatrixObjectDenied(t *testing.T, f *archiveFixture) {
	w := newFaultMatrixWindows(t, f)
	want := f.matches(w.archive[0], w.archive[1], faultMatrixRegions, opsWorksCM)
	var denied sandbox.ArchiveFile
	for _, file := range f.filesIn(faultMatrixRegions, w.archive[0], w.archive[1]) {
		if file.Region == "us-east-1" && slices.ContainsFunc(file.Records, func(r sandbox.Record) bool {
			return opsWorksCM(&r) && !r.EventTime.Before(w.archive[0]) && !r.EventTime.After(w.archive[1])
		}) {
			denied = file
			break
		}
	}
	if denied.Key == "" {
		t.Fatal("no file of us-east-1 holds an OpsWorks CM call of the window")
	}
	lost := map[string]bool{}
	for _, r := range denied.Records {
		lost[r.EventID] = true
	}
	wantWarn := slices.DeleteFunc(slices.Clone(want), func(r sandbox.Record) bool { return lost[r.EventID] })
	opts := f.options()
	opts.Faults = []sandbox.Fault{{Kind: sandbox.FaultDeny, Rate: 1, Op: "GetObject", Key: denied.Key}}
	env := newSandboxOnlyEnv(t, opts, "refuses one object of the pre-existing trail's archive")
	config := func(extra string) string {
		return env.ProviderConfig("") + fmt.Sprintf(`
data "opsaudit_archive_events" "test" {
  trail      = %q
  regions    = ["us-east-1", "eu-west-1"]
  start_time = %q
  end_time   = %q
%s
}
`, sandbox.ArchiveTrailName, rfc3339(w.archive[0]), rfc3339(w.archive[1]), extra)
	}
	const addr = "data.opsaudit_archive_events.test"

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config(""),
				ExpectError: regexp.MustCompile(`(?s)` + regexp.QuoteMeta(denied.Key) + `.*AccessDenied.*` +
					wrapped(`set on_file_error = "warn"`)),
			},
			{
				Config: config(`  on_file_error = "warn"`),
				ConfigStateChecks: []statecheck.StateCheck{
					expectIDs(addr, recordIDs(wantWarn)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("files_failed"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"key":   knownvalue.StringExact(denied.Key),
							"error": knownvalue.StringRegexp(regexp.MustCompile(`AccessDenied.*s3:GetObject`)),
						}),
					})),
				},
			},
		},
	})
}

// faultMatrixCancelled reads every data source through a sandbox that
// answers each call 500 ms late, and cancels the read as Terraform does on
// an interrupt: each returns within a bound far below a fault-free read's
// duration, with an error that says it was cancelled.
func faultMatrixCancelled(t *testing.T, f *archiveFixture) {
	opts := f.options()
	opts.Faults = []sandbox.Fault{{Kind: sandbox.FaultLatency, Rate: 1, Latency: 500 * time.Millisecond}}
	env := newSandboxOnlyEnv(t, opts, "adds latency to every call")
	clients, err := awsclient.New(context.Background(), awsclient.Config{
		Region: env.Region, AccessKey: testAccessKey, SecretKey: testSecretKey, S3UsePathStyle: true,
		Endpoints: awsclient.Endpoints{CloudTrail: env.Endpoint, S3: env.Endpoint, STS: env.Endpoint},
	})
	if err != nil {
		t.Fatalf("building clients: %v", err)
	}
	w := newFaultMatrixWindows(t, f)
	str := func(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }
	regions := tftypes.NewValue(tftypes.List{ElementType: tftypes.String}, []tftypes.Value{str("us-east-1"), str("eu-west-1")})
	trail := str(sandbox.ArchiveTrailName)
	for _, ds := range []struct {
		name  string
		new   func() datasource.DataSource
		attrs map[string]tftypes.Value
		// noCall is a data source that answers from what the provider
		// resolved at configure time, without a call to cancel.
		noCall bool
	}{
		{name: "opsaudit_caller_identity", new: NewCallerIdentityDataSource, noCall: true},
		{name: "opsaudit_trail", new: NewTrailDataSource, attrs: map[string]tftypes.Value{"name": trail}},
		{name: "opsaudit_events", new: NewEventsDataSource, attrs: map[string]tftypes.Value{"regions": regions,
			"start_time": str(rfc3339(w.events[0])), "end_time": str(rfc3339(w.events[1]))}},
		{name: "opsaudit_archive_events", new: NewArchiveEventsDataSource, attrs: map[string]tftypes.Value{"trail": trail, "regions": regions,
			"start_time": str(rfc3339(w.archive[0])), "end_time": str(rfc3339(w.archive[1]))}},
		{name: "opsaudit_compliance", new: NewComplianceDataSource, attrs: map[string]tftypes.Value{"trail": trail, "regions": regions}},
		{name: "opsaudit_log_validation", new: NewLogValidationDataSource, attrs: map[string]tftypes.Value{"trail": trail, "regions": regions,
			"start_time": str(rfc3339(w.digests[0])), "end_time": str(rfc3339(w.digests[1]))}},
	} {
		d := ds.new()
		var cresp datasource.ConfigureResponse
		d.(datasource.DataSourceWithConfigure).Configure(context.Background(), datasource.ConfigureRequest{ProviderData: clients}, &cresp)
		if cresp.Diagnostics.HasError() {
			t.Fatalf("%s: configure: %v", ds.name, cresp.Diagnostics)
		}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		start := time.Now()
		resp := readDataSource(t, ctx, d, ds.attrs)
		elapsed := time.Since(start)
		cancel()
		var msgs []string
		for _, diag := range resp.Diagnostics.Errors() {
			msgs = append(msgs, diag.Summary()+": "+diag.Detail())
		}
		switch text := strings.Join(msgs, "\n"); {
		case ds.noCall:
			if len(msgs) > 0 {
				t.Errorf("%s: %s", ds.name, text)
			}
		case len(msgs) == 0:
			t.Errorf("%s: read succeeded although cancelled", ds.name)
		case !strings.Contains(text, "context canceled"):
			t.Errorf("%s: the error does not say the read was cancelled:\n%s", ds.name, text)
		}
		// Each call takes 500 ms; reads make dozens.
		if elapsed > 3*time.Second {
			t.Errorf("%s: returned %s after the start, cancelled at 200ms", ds.name, elapsed)
		}
	}
}

// switchableSandbox serves whichever sandbox it holds, as one address
// serves a sandbox command that was stopped and started again.
type switchableSandbox struct {
	current atomic.Pointer[sandbox.Server]
}

func (s *switchableSandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.current.Load().ServeHTTP(w, r)
}

func faultMatrixRestart(t *testing.T, _ *archiveFixture) {
	opts := sandbox.Options{NoHistory: true, DataDir: t.TempDir()}
	start := func() *sandbox.Server {
		srv, err := sandbox.New(opts)
		if err != nil {
			t.Fatalf("starting the sandbox on %s: %v", opts.DataDir, err)
		}
		return srv
	}
	sw := &switchableSandbox{}
	sw.current.Store(start())
	hs := httptest.NewServer(sw)
	t.Cleanup(hs.Close)
	env := newSandboxEnv(t, sw.current.Load(), hs.URL)
	name := acctest.RandomWithPrefix("fault-restart")
	config := env.ProviderConfig("") + auditedTrail(name, "", "") + `
data "opsaudit_trail" "test" {
  arn = opsaudit_trail.test.arn
}
`
	const logKey = "AWSLogs/kept-across-restart.txt"

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkTrailGone(env, name),
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: func(*terraform.State) error {
					_, err := env.S3().PutObject(context.Background(), &s3.PutObjectInput{
						Bucket: aws.String(name), Key: aws.String(logKey), Body: strings.NewReader("kept"),
					})
					return err
				},
			},
			{
				PreConfig:        func() { sw.current.Store(start()) },
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.opsaudit_trail.test", tfjsonpath.New("status").AtMapKey("is_logging"), knownvalue.Bool(true)),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkBucket(env, name, defaultWant(env, name)),
					env.expectTrail(name, wantDefaults),
					func(*terraform.State) error {
						out, err := env.S3().GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(name), Key: aws.String(logKey)})
						if err != nil {
							return fmt.Errorf("the object written before the restart: %w", err)
						}
						return out.Body.Close()
					},
				),
			},
		},
	})
}

func faultMatrixSlowPropagation(t *testing.T, _ *archiveFixture) {
	const propagation = 6 * time.Second
	env := newSandboxOnlyEnv(t, sandbox.Options{NoHistory: true, PolicyPropagationDelay: propagation}, "delays bucket policy propagation")
	name := acctest.RandomWithPrefix("fault-propagation")
	config := func(timeout string) string {
		return env.ProviderConfig("") + auditedTrail(name, "", fmt.Sprintf("  timeouts {\n    create = %q\n  }", timeout))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkTrailGone(env, name),
		Steps: []resource.TestStep{
			{
				Config: config("2s"),
				ExpectError: regexp.MustCompile(`(?s)Creating trail.*InsufficientS3BucketPolicyException.*` +
					wrapped(`did not finish within 2s; raise the timeouts block's value`)),
			},
			{
				// Nothing was left behind: no trail outside the state.
				PreConfig: func() {
					out, err := env.CloudTrail("").DescribeTrails(context.Background(), &cloudtrail.DescribeTrailsInput{})
					if err != nil {
						t.Fatalf("DescribeTrails: %v", err)
					}
					for _, tr := range out.TrailList {
						if aws.ToString(tr.Name) == name {
							t.Errorf("trail %s exists after the failed create, outside the state", name)
						}
					}
				},
				Config: config("1m"),
				Check:  env.expectTrail(name, wantDefaults),
			},
		},
	})
}
