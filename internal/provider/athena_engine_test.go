package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	athenatypes "github.com/aws/aws-sdk-go-v2/service/athena/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/athenaquery"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

const (
	orgBucket = "org-trail-logs"
	orgPrefix = "central"
	orgID     = "o-a1b2c3d4e5"
)

// orgArchive is two accounts' archives, from two sandboxes, copied into
// one bucket as an organization trail lays them out.
type orgArchive struct {
	a, b *archiveFixture
	env  *accEnv
	// sizes are the stored sizes of the files copied, by key.
	sizes map[string]int64
}

// orgKey is where an organization trail writes what an account's trail
// writes at key.
func orgKey(key string) string {
	return orgPrefix + "/AWSLogs/" + orgID + "/" + strings.TrimPrefix(key, "AWSLogs/")
}

// newOrgArchive copies the files of regions delivered from..to+1 day of
// both accounts into orgBucket in a's sandbox.
func newOrgArchive(t *testing.T, opts func(*sandbox.Options), regions []string, from, to time.Time) *orgArchive {
	t.Helper()
	a := pinnedArchive(t, eventsTestAccount)
	b := archiveAt(t, "111122223333", a.now)
	o := a.options()
	if opts != nil {
		opts(&o)
	}
	envA := newAccEnv(t, o)
	envA.needSandbox(t, "copies two sandboxes' archives into one bucket")
	envB := newAccEnv(t, b.options())
	if _, err := envA.S3().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(orgBucket)}); err != nil {
		t.Fatal(err)
	}
	envA.makeResultsBucket(t)
	org := &orgArchive{a: a, b: b, env: envA, sizes: map[string]int64{}}
	for _, f := range []struct {
		fix *archiveFixture
		env *accEnv
	}{{a, envA}, {b, envB}} {
		files := f.fix.filesIn(regions, from, to)
		copyObjects(t, f.env.S3(), sandbox.ArchiveBucket(f.fix.account), envA.S3(), orgBucket, orgKey, files)
	}
	pages := s3.NewListObjectsV2Paginator(envA.S3(), &s3.ListObjectsV2Input{Bucket: aws.String(orgBucket)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			org.sizes[aws.ToString(o.Key)] = aws.ToInt64(o.Size)
		}
	}
	return org
}

// matches are both accounts' records from..to in regions that keep says
// to, newest first and ties by event id.
func (o *orgArchive) matches(from, to time.Time, regions []string, keep func(*sandbox.Record) bool) []sandbox.Record {
	out := slices.Concat(o.a.matches(from, to, regions, keep), o.b.matches(from, to, regions, keep))
	slices.SortFunc(out, func(x, y sandbox.Record) int {
		if c := y.EventTime.Compare(x.EventTime); c != 0 {
			return c
		}
		return strings.Compare(x.EventID, y.EventID)
	})
	return out
}

// orgTableConfig is the table over the organization's copy.
func (o *orgArchive) orgTableConfig() string {
	return fmt.Sprintf(`
resource "opsaudit_athena_table" "org" {
  database        = "audit"
  name            = "org_trail"
  bucket          = %q
  s3_key_prefix   = %q
  organization_id = %q
  account_ids     = [%q, %q]
  regions         = ["eu-west-1", "us-east-1"]
  start_date      = "2023-01-01"
  output_location = %q
}
`, orgBucket, orgPrefix, orgID, o.a.account, o.b.account, athenaOutput)
}

// athenaRead is data source opsaudit_archive_events.athena over every
// account of the organization's copy in regions from..to, through the
// table of orgTableConfig, with extra in its athena block.
func (o *orgArchive) athenaRead(regions []string, from, to time.Time, extra string) string {
	return fmt.Sprintf(`
data "opsaudit_archive_events" "athena" {
  bucket          = %q
  s3_key_prefix   = %q
  organization_id = %q
  account_ids     = ["*"]
  regions         = %s
  start_time      = %q
  end_time        = %q
  engine          = "athena"
  athena {
    database        = "audit"
    table           = "org_trail"
    output_location = %q
    %s
  }
}
`, orgBucket, orgPrefix, orgID, hclList(regions...), rfc3339(from), rfc3339(to), athenaOutput, extra)
}

// archiveEventsPair is two opsaudit_archive_events with the same
// arguments, one per engine.
func archiveEventsPair(args string) string {
	return fmt.Sprintf(`
data "opsaudit_archive_events" "s3" {
  bucket          = %[1]q
  s3_key_prefix   = %[2]q
  organization_id = %[3]q
%[4]s
}

data "opsaudit_archive_events" "athena" {
  bucket          = %[1]q
  s3_key_prefix   = %[2]q
  organization_id = %[3]q
%[4]s
  engine = "athena"
  athena {
    database        = opsaudit_athena_table.org.database
    table           = opsaudit_athena_table.org.name
    output_location = %[5]q
  }
}
`, orgBucket, orgPrefix, orgID, args, athenaOutput)
}

const (
	s3Events     = "data.opsaudit_archive_events.s3"
	athenaEvents = "data.opsaudit_archive_events.athena"
)

// sameAnswer checks both engines' results are the same: the totals, the
// counts, the times and folders, and the events field by field, but for
// what only a read of the file has (the log file and the record's text).
func sameAnswer() []statecheck.StateCheck {
	var checks []statecheck.StateCheck
	for _, attr := range []string{"total_count", "truncated", "counts_by_event_name", "counts_by_region", "counts_by_account",
		"earliest_event_time", "latest_event_time", "accounts_read", "regions_read"} {
		checks = append(checks, statecheck.CompareValuePairs(s3Events, tfjsonpath.New(attr), athenaEvents, tfjsonpath.New(attr), compare.ValuesSame()))
	}
	return append(checks, sameEvents{a: s3Events, b: athenaEvents, ignore: []string{"log_file", "cloudtrail_event"}})
}

// sameEvents compares the events of two data sources, but for ignore.
type sameEvents struct {
	a, b   string
	ignore []string
}

func (c sameEvents) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	read := func(address string) []map[string]any {
		for _, r := range req.State.Values.RootModule.Resources {
			if r.Address == address {
				raw, _ := r.AttributeValues["events"].([]any)
				out := make([]map[string]any, len(raw))
				for i, e := range raw {
					ev, _ := e.(map[string]any)
					out[i] = maps.Clone(ev)
					for _, k := range c.ignore {
						delete(out[i], k)
					}
				}
				return out
			}
		}
		return nil
	}
	a, b := read(c.a), read(c.b)
	if len(a) == 0 {
		resp.Error = fmt.Errorf("%s has no events to compare", c.a)
		return
	}
	if diff := cmp.Diff(a, b); diff != "" {
		resp.Error = fmt.Errorf("events (-%s +%s):\n%s", c.a, c.b, diff)
	}
}

// TestAccArchiveEvents_athena reads an organization's archive with both
// engines: the whole window with every filter off, then filters and
// truncation, which must give the same answer field by field and the
// records the sandboxes wrote; the AWS CLI reads back the results of the
// counts query the provider ran; and a one-day, one-region read scans
// only that day's folder and the next.
func TestAccArchiveEvents_athena(t *testing.T) {
	sandboxtest.RequireAWSCLI(t)
	regions := []string{"eu-west-1", "us-east-1"}
	// After the call delivered twice: the planted calls have the same
	// event id in both accounts' archives.
	from, to := mustTime(t, "2023-03-15T00:00:00Z"), mustTime(t, "2023-03-28T23:59:59Z")
	org := newOrgArchive(t, nil, regions, from, to)
	env := org.env
	everything := func(*sandbox.Record) bool { return true }
	all := org.matches(from, to, regions, everything)
	window := fmt.Sprintf("  start_time = %q\n  end_time = %q\n", rfc3339(from), rfc3339(to))
	var countsID string
	day := mustTime(t, "2023-03-20T00:00:00Z")

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: env.ProviderConfig("") + org.orgTableConfig() + archiveEventsPair(window+`
  account_ids  = ["*"]
  regions      = ["*"]
  event_source = "*"
  max_events   = 100000`),
				ConfigStateChecks: append(sameAnswer(),
					expectIDs(athenaEvents, recordIDs(all)),
					countsBy(athenaEvents, "counts_by_account", all, func(r sandbox.Record) string { return r.Account }),
					countsBy(athenaEvents, "counts_by_event_name", all, func(r sandbox.Record) string { return r.EventName }),
					statecheck.ExpectKnownValue(athenaEvents, tfjsonpath.New("files_scanned"), knownvalue.Null()),
					statecheck.ExpectKnownValue(athenaEvents, tfjsonpath.New("athena_query_execution_ids"), knownvalue.ListSizeExact(2)),
					statecheck.ExpectKnownValue(s3Events, tfjsonpath.New("athena_query_execution_ids"), knownvalue.ListExact(nil)),
				),
				Check: func(s *terraform.State) error {
					countsID = s.RootModule().Resources[athenaEvents].Primary.Attributes["athena_query_execution_ids.0"]
					return nil
				},
			},
			{
				// The AWS CLI reads the counts the provider's query wrote.
				Config: env.ProviderConfig("") + org.orgTableConfig(),
				Check: func(*terraform.State) error {
					var out struct {
						ResultSet struct {
							Rows []struct {
								Data []struct{ VarCharValue string }
							}
						}
					}
					sandboxtest.AWSCLIJSON(t, env.Endpoint, env.Region, &out, "athena", "get-query-results", "--query-execution-id", countsID)
					byAccount := map[string]int{}
					for i, row := range out.ResultSet.Rows {
						if i == 0 {
							if row.Data[0].VarCharValue != "eventname" {
								return fmt.Errorf("the first row is not the header: %v", row)
							}
							continue
						}
						n, err := strconv.Atoi(row.Data[3].VarCharValue)
						if err != nil {
							return err
						}
						byAccount[row.Data[2].VarCharValue] += n
					}
					want := map[string]int{}
					for _, r := range all {
						want[r.Account]++
					}
					if diff := cmp.Diff(want, byAccount); diff != "" {
						return fmt.Errorf("aws athena get-query-results counts by account (-archive +CLI):\n%s", diff)
					}
					return nil
				},
			},
			{
				// Filters and truncation.
				Config: env.ProviderConfig("") + org.orgTableConfig() + archiveEventsPair(window+fmt.Sprintf(`
  account_ids    = [%q]
  regions        = ["eu-west-1"]
  event_names    = ["DescribeServers", "DescribeBackups", "CreateBackup", "UpdateServer"]
  read_only      = true
  max_events     = 5`, org.a.account)),
				ConfigStateChecks: append(sameAnswer(),
					statecheck.ExpectKnownValue(athenaEvents, tfjsonpath.New("truncated"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(athenaEvents, tfjsonpath.New("events"), knownvalue.ListSizeExact(5)),
				),
			},
			{
				// One day of one account's region: the folder of the day
				// and of the next are scanned, nothing else.
				Config: env.ProviderConfig("") + org.orgTableConfig() + archiveEventsPair(fmt.Sprintf(`
  account_ids  = [%q]
  regions      = ["us-east-1"]
  start_time   = %q
  end_time     = %q
  event_source = "*"
  max_events   = 0`, org.b.account, rfc3339(day), rfc3339(day.Add(24*time.Hour-time.Second)))),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.CompareValuePairs(s3Events, tfjsonpath.New("total_count"), athenaEvents, tfjsonpath.New("total_count"), compare.ValuesSame()),
					statecheck.CompareValuePairs(s3Events, tfjsonpath.New("bytes_scanned"), athenaEvents, tfjsonpath.New("bytes_scanned"), compare.ValuesSame()),
				},
				Check: func(s *terraform.State) error {
					attrs := s.RootModule().Resources[athenaEvents].Primary.Attributes
					files, ok := env.Sandbox.AthenaQueryFiles(attrs["athena_query_execution_ids.0"])
					if !ok || attrs["athena_query_execution_ids.#"] != "1" {
						return fmt.Errorf("queries %s: want the counts query alone, known to the sandbox", attrs["athena_query_execution_ids.#"])
					}
					var want []string
					var size int64
					for key, n := range org.sizes {
						for _, d := range []time.Time{day, day.AddDate(0, 0, 1)} {
							if strings.HasPrefix(key, orgKey(fmt.Sprintf("AWSLogs/%s/CloudTrail/us-east-1/%s/", org.b.account, d.Format("2006/01/02")))) {
								want = append(want, "s3://"+orgBucket+"/"+key)
								size += n
							}
						}
					}
					slices.Sort(want)
					slices.Sort(files)
					if len(want) == 0 {
						return fmt.Errorf("no file in the two days' folders: the test reads nothing")
					}
					if diff := cmp.Diff(want, files); diff != "" {
						return fmt.Errorf("files Athena read (-the two days' folders +read):\n%s", diff)
					}
					if got := attrs["bytes_scanned"]; got != fmt.Sprint(size) {
						return fmt.Errorf("bytes_scanned = %s, the two folders hold %d", got, size)
					}
					t.Logf("one day of one account's region: Athena read %d of the bucket's %d files (%d bytes), the two days' folders",
						len(files), len(org.sizes), size)
					return nil
				},
			},
		},
	})
}

// TestAccArchiveEvents_athenaTimeout runs a read Athena keeps running
// past the athena block's timeout: the read fails saying so, and the
// provider stopped the query, as CloudTrail's record of the
// StopQueryExecution call and the query's state show.
func TestAccArchiveEvents_athenaTimeout(t *testing.T) {
	regions := []string{"us-east-1"}
	from, to := mustTime(t, "2023-03-15T00:00:00Z"), mustTime(t, "2023-03-16T23:59:59Z")
	org := newOrgArchive(t, func(o *sandbox.Options) { o.AthenaQueryDelay = 4 * time.Second }, regions, from, to)
	env := org.env
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: env.ProviderConfig("") + org.orgTableConfig()},
			{
				Config:      env.ProviderConfig("") + org.orgTableConfig() + org.athenaRead(regions, from, to, `timeout = "1s"`),
				ExpectError: regexp.MustCompile(`(?s)stopped Athena query .*` + wrapped("context deadline exceeded") + ".*" + wrapped("did not finish within 1s")),
			},
			{
				Config: env.ProviderConfig("") + org.orgTableConfig(),
				Check: func(*terraform.State) error {
					return oneQueryStopped(t, env)
				},
			},
		},
	})
}

// TestAccArchiveEvents_athenaQueryFailed reads through Athena a window
// with a file that is not gzip: Athena fails the query, and the read fails
// with Athena's reason, which names the file, and what to do.
func TestAccArchiveEvents_athenaQueryFailed(t *testing.T) {
	regions := []string{"us-east-1"}
	from, to := mustTime(t, "2023-03-15T00:00:00Z"), mustTime(t, "2023-03-16T23:59:59Z")
	org := newOrgArchive(t, nil, regions, from, to)
	env := org.env
	broken := slices.Sorted(maps.Keys(org.sizes))[0]
	if _, err := env.S3().PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(orgBucket), Key: aws.String(broken),
		Body: strings.NewReader("this is not gzip")}); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: env.ProviderConfig("") + org.orgTableConfig()},
			{
				Config: env.ProviderConfig("") + org.orgTableConfig() + org.athenaRead(regions, from, to, ""),
				ExpectError: regexp.MustCompile(`(?s)Athena query \S+ failed: ` + wrapped("HIVE_CURSOR_ERROR: Error reading s3://"+orgBucket+"/"+broken) +
					".*" + wrapped(`move it out of the trail's folders, or read with engine = "s3" and on_file_error = "warn"`)),
			},
		},
	})
}

func TestAccArchiveEvents_athenaPlanTimeErrors(t *testing.T) {
	env := newAccEnv(t, sandbox.Options{NoHistory: true})
	config := func(body string) string {
		return env.ProviderConfig("") + "data \"opsaudit_archive_events\" \"test\" {\n  bucket = \"trail-logs\"\n" + body + "\n}\n"
	}
	block := "\n  athena {\n    database = \"audit\"\n    table = \"org_trail\"\n  }"
	step := func(body, want string) resource.TestStep {
		return resource.TestStep{Config: config(body), PlanOnly: true, ExpectError: regexp.MustCompile(strings.ReplaceAll(want, " ", `\s+`))}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			step(`engine = "athena"`, `(?s)engine = "athena".*add an athena block`),
			step(strings.TrimPrefix(block, "\n"), `(?s)Athena block without the Athena engine.*read only with engine = "athena"`),
			step(`engine = "bigquery"`, `(?s)engine = "bigquery".*value must be one of`),
			step(`engine = "athena"`+"\n  athena {\n    table = \"org_trail\"\n  }", `(?s)athena \{.*needs the database`),
			step(`engine = "athena"`+block+"\n  source_ip_cidrs = [\"203.0.113.0/24\"]", `(?s)source_ip_cidrs = .*is not pushed down to Athena`),
			step(`engine = "athena"`+block+"\n  resource_names = [\"puppet-prod\"]", `(?s)resource_names = .*is not pushed down to Athena`),
			step(`engine = "athena"`+block+"\n  on_file_error = \"warn\"", `(?s)on_file_error = "warn".*Athena fails the query`),
			step(`engine = "athena"`+block+"\n  directory = \"/tmp/trail-logs\"", `(?s)directory = .*is a local copy of the bucket, and Athena reads the bucket itself`),
			step(`engine = "athena"`+"\n  athena {\n    database = \"audit\"\n    table = \"t\"\n    output_location = \"https://results.example.com/\"\n  }",
				`(?s)output_location = .*"https://results.example.com/" is not an S3 location`),
			step(`engine = "athena"`+"\n  athena {\n    database = \"audit\"\n    table = \"Org-Trail\"\n  }", `(?s)table = "Org-Trail".*lower-case`),
			step(`engine = "athena"`+"\n  athena {\n    database = \"audit\"\n    table = \"t\"\n    timeout = \"forever\"\n  }", `(?s)timeout = "forever".*not a duration`),
		},
	})
	complianceStep := func(body, want string) resource.TestStep {
		return resource.TestStep{Config: env.ProviderConfig("") + "data \"opsaudit_compliance\" \"test\" {\n  trail = \"audit\"\n" + body + "\n}\n",
			PlanOnly: true, ExpectError: regexp.MustCompile(strings.ReplaceAll(want, " ", `\s+`))}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			complianceStep(`engine = "athena"`+block, `(?s)events_from.*is not "archive"`),
			complianceStep(`events_from = "archive"`+block, `(?s)Athena block without the Athena engine.*read only with engine = "athena"`),
			complianceStep("events_from = \"archive\"\n  engine = \"athena\"", `(?s)engine = "athena".*add an athena block`),
		},
	})
}

// TestAccCompliance_athena gates the pre-existing trail's archive with
// both engines: the same events evaluated, the same findings.
func TestAccCompliance_athena(t *testing.T) {
	env := newAccEnv(t, sandbox.Options{})
	env.needSandbox(t, "the pre-existing trail and its archive")
	env.makeResultsBucket(t)
	gate := func(name, engine string) string {
		return fmt.Sprintf(`
data "opsaudit_compliance" %q {
  trail       = %q
  regions     = ["us-east-1", "eu-west-1"]
  events_from = "archive"
  start_time  = "2023-10-01T00:00:00Z"
  end_time    = "2024-01-01T00:00:00Z"
%s
}
`, name, sandbox.ArchiveTrailName, engine)
	}
	config := env.ProviderConfig("") + fmt.Sprintf(`
resource "opsaudit_athena_table" "archive" {
  database        = "audit"
  name            = "archive"
  trail           = %q
  account_ids     = [%q]
  regions         = ["us-east-1", "eu-west-1"]
  start_date      = "2022-05-01"
  output_location = %q
}
`, sandbox.ArchiveTrailName, env.Account, athenaOutput) + gate("s3", "") + gate("athena", fmt.Sprintf(`  engine = "athena"
  athena {
    database        = opsaudit_athena_table.archive.database
    table           = opsaudit_athena_table.archive.name
    output_location = %q
  }`, athenaOutput))
	const s3Gate, athenaGate = "data.opsaudit_compliance.s3", "data.opsaudit_compliance.athena"
	var checks []statecheck.StateCheck
	for _, attr := range []string{"status", "events_evaluated", "findings", "summary"} {
		checks = append(checks, statecheck.CompareValuePairs(s3Gate, tfjsonpath.New(attr), athenaGate, tfjsonpath.New(attr), compare.ValuesSame()))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:            config,
			ConfigStateChecks: checks,
			// The window holds the root user's call in us-east-1: a finding
			// both engines must see.
			Check: resource.TestCheckTypeSetElemNestedAttrs(athenaGate, "findings.*", map[string]string{"rule_id": "event_root_user_call"}),
		}},
	})
}

// TestArchiveEvents_athenaInterrupted interrupts terraform plan, as Ctrl-C
// does, while Athena runs the read's query: Terraform asks the provider to
// stop, and the provider stops the query, as CloudTrail's record of the
// StopQueryExecution call and the query's state show.
func TestArchiveEvents_athenaInterrupted(t *testing.T) {
	cli := newTerraformCLI(t, sandbox.Options{AthenaQueryDelay: 10 * time.Second})
	env := newSandboxEnv(t, nil, cli.endpoint)
	env.makeResultsBucket(t)
	dir := t.TempDir()
	table := fmt.Sprintf(`
terraform {
  required_providers {
    opsaudit = { source = "opsaudit/opsaudit" }
  }
}

%[1]s
resource "opsaudit_athena_table" "archive" {
  database        = "audit"
  name            = "cloudtrail"
  trail           = %[2]q
  account_ids     = [%[3]q]
  regions         = ["eu-west-1"]
  start_date      = "2022-05-01"
  output_location = %[4]q
}
`, env.ProviderConfig(""), sandbox.ArchiveTrailName, env.Account, athenaOutput)
	write := func(config string) {
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(table)
	if out, err := cli.run(t, dir, "apply", "-auto-approve", "-no-color", "-input=false"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	starts := func() []cttypes.Event {
		return env.LookupEvents(t, "", &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{{
			AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("StartQueryExecution")}}})
	}
	before := len(starts())
	write(table + fmt.Sprintf(`
data "opsaudit_archive_events" "athena" {
  trail      = %q
  regions    = ["eu-west-1"]
  start_time = "2023-01-01T00:00:00Z"
  end_time   = "2023-12-31T23:59:59Z"
  engine     = "athena"
  athena {
    database        = "audit"
    table           = "cloudtrail"
    output_location = %q
  }
}
`, sandbox.ArchiveTrailName, athenaOutput))
	var out bytes.Buffer
	plan := exec.Command(cli.bin, "plan", "-no-color", "-input=false")
	plan.Dir, plan.Env, plan.Stdout, plan.Stderr = dir, cli.env, &out, &out
	if err := plan.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for len(starts()) == before {
		if time.Now().After(deadline) {
			_ = plan.Process.Kill()
			t.Fatalf("the plan started no Athena query within a minute:\n%s", out.String())
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err := plan.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := plan.Wait(); err == nil {
		t.Fatalf("the interrupted plan succeeded:\n%s", out.String())
	}
	if err := oneQueryStopped(t, env); err != nil {
		t.Fatalf("%v; terraform plan said:\n%s", err, out.String())
	}
	if want := regexp.MustCompile(`(?s)Interrupt received.*stopped Athena query \S+: ` + wrapped("context canceled; Terraform was interrupted, and the query stopped")); !want.MatchString(out.String()) {
		t.Errorf("terraform plan's output does not match %s:\n%s", want, out.String())
	}
}

// oneQueryStopped checks that CloudTrail recorded one StopQueryExecution
// call, and that the query it named is CANCELLED.
func oneQueryStopped(t *testing.T, env *accEnv) error {
	stops := env.LookupEvents(t, "", &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{{
		AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("StopQueryExecution")}}})
	if len(stops) != 1 {
		return fmt.Errorf("CloudTrail recorded %d StopQueryExecution calls, want 1", len(stops))
	}
	var rec struct {
		RequestParameters struct{ QueryExecutionID string } `json:"requestParameters"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(stops[0].CloudTrailEvent)), &rec); err != nil {
		return err
	}
	got, err := env.Athena().GetQueryExecution(context.Background(), &athena.GetQueryExecutionInput{
		QueryExecutionId: aws.String(rec.RequestParameters.QueryExecutionID)})
	if err != nil {
		return err
	}
	if st := got.QueryExecution.Status.State; st != athenatypes.QueryExecutionStateCancelled {
		return fmt.Errorf("the stopped query is %s, want CANCELLED", st)
	}
	return nil
}

// TestAthenaFailure checks what a failed Athena read tells the user to do,
// for the failures Athena's error names and states tell apart.
func TestAthenaFailure(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"dropped table", &athenaquery.QueryError{QueryExecutionID: "q1", State: athenatypes.QueryExecutionStateFailed,
			Reason: "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.audit.t' does not exist", Category: 2, Type: 1301},
			"terraform apply recreates a table of opsaudit_athena_table dropped outside Terraform"},
		{"partition limit", &athenaquery.QueryError{QueryExecutionID: "q2", State: athenatypes.QueryExecutionStateFailed,
			Reason: "HIVE_EXCEEDED_PARTITION_LIMIT: Query over table 'audit.t' can potentially read more than 1000000 partitions"},
			"name fewer accounts or regions, or a shorter window"},
		{"cancelled elsewhere", &athenaquery.QueryError{QueryExecutionID: "q3", State: athenatypes.QueryExecutionStateCancelled,
			Reason: "Query cancelled by user"}, "per-query data usage control"},
		{"retryable", &athenaquery.QueryError{QueryExecutionID: "q4", State: athenatypes.QueryExecutionStateFailed,
			Reason: "INTERNAL_ERROR_QUERY_ENGINE: Amazon Athena experienced an internal error", Category: 1, Retryable: true},
			"Run the plan again."},
		{"AWS error code", fmt.Errorf("starting an Athena query: %w", &smithy.GenericAPIError{Code: "MetadataException", Message: "no table"}),
			"The Glue Data Catalog does not have the database or table"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := athenaFailure(c.err)
			if !strings.HasPrefix(got, c.err.Error()) || !strings.Contains(got, c.want) {
				t.Errorf("athenaFailure = %q, want the error followed by %q", got, c.want)
			}
		})
	}
}
