package provider

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-log/tflogtest"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/acctest"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/testserver"
)

// archiveFixture is the pre-existing trail's archive of a sandbox whose
// clock is pinned, read by the tests independently of the provider: the
// expected answers come from the files the sandbox generated, not from a
// read of the bucket.
type archiveFixture struct {
	now     time.Time
	account string
	archive sandbox.Archive
	// records are the archive's records once each, newest first.
	records []sandbox.Record
	// logFile is the first key, in key order, of the files holding each
	// event id; folder the region folder of that file.
	logFile, folder map[string]string
	// identity is each event's caller, from its record.
	identity map[string]recordIdentity
}

// recordIdentity is the caller of a record, as its JSON has it.
type recordIdentity struct {
	ARN              string
	SessionIssuerARN string
}

// pinnedArchive picks the sandbox's clock as pinnedHistory does: the
// current second, moved back until no record lies within ten minutes
// after the start of the default 30-day window, which the provider
// measures from its own, later, clock.
func pinnedArchive(t *testing.T, account string) *archiveFixture {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	a := sandbox.ArchiveHistory(account, now)
	recs := a.Records()
	for range 200 {
		edge := now.Add(-30 * 24 * time.Hour)
		if !slices.ContainsFunc(recs, func(r sandbox.Record) bool {
			return !r.EventTime.Before(edge) && r.EventTime.Before(edge.Add(10*time.Minute))
		}) {
			break
		}
		now = now.Add(-time.Second)
	}
	// The archive depends on the hour the sandbox starts in only.
	if a.DigestsTo != now.Truncate(time.Hour) {
		return archiveAt(t, account, now)
	}
	return newArchiveFixture(t, account, now, a, recs)
}

// archiveAt is the archive of a sandbox for account started at now.
func archiveAt(t *testing.T, account string, now time.Time) *archiveFixture {
	t.Helper()
	a := sandbox.ArchiveHistory(account, now)
	return newArchiveFixture(t, account, now, a, a.Records())
}

func newArchiveFixture(t *testing.T, account string, now time.Time, a sandbox.Archive, recs []sandbox.Record) *archiveFixture {
	t.Helper()
	f := &archiveFixture{now: now, account: account, archive: a, records: recs,
		logFile: map[string]string{}, folder: map[string]string{}, identity: map[string]recordIdentity{}}
	for _, file := range a.Files {
		for _, r := range file.Records {
			if k, ok := f.logFile[r.EventID]; !ok || file.Key < k {
				f.logFile[r.EventID], f.folder[r.EventID] = file.Key, file.Region
			}
		}
	}
	for _, r := range f.records {
		arn, issuer := sandboxtest.Principal(t, r)
		f.identity[r.EventID] = recordIdentity{ARN: arn, SessionIssuerARN: issuer}
	}
	return f
}

func (f *archiveFixture) options() sandbox.Options {
	now := f.now
	return sandbox.Options{Account: f.account, Now: func() time.Time { return now }}
}

// matches are the records from..to (inclusive) in the region folders
// named (all when none) that keep says to, newest first.
func (f *archiveFixture) matches(from, to time.Time, regions []string, keep func(r *sandbox.Record) bool) []sandbox.Record {
	var out []sandbox.Record
	for i := range f.records {
		r := &f.records[i]
		if !r.EventTime.Before(from) && !r.EventTime.After(to) &&
			(len(regions) == 0 || slices.Contains(regions, f.folder[r.EventID])) && keep(r) {
			out = append(out, *r)
		}
	}
	return out
}

func opsWorksCM(r *sandbox.Record) bool { return r.EventSource == sandbox.OpsWorksCMSource }

func recordIDs(recs []sandbox.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.EventID
	}
	return out
}

// countsBy checks a map attribute of counts against the records counted by
// key.
func countsBy(address, attr string, recs []sandbox.Record, key func(r sandbox.Record) string) statecheck.StateCheck {
	n := map[string]int64{}
	for _, r := range recs {
		n[key(r)]++
	}
	want := map[string]knownvalue.Check{}
	for k, c := range n {
		want[k] = knownvalue.Int64Exact(c)
	}
	return statecheck.ExpectKnownValue(address, tfjsonpath.New(attr), knownvalue.MapExact(want))
}

// expectArchiveResult checks everything the data source says of a
// complete read of recs, all kept in events, from a copy of the archive
// under keyPrefix.
func expectArchiveResult(f *archiveFixture, address string, recs []sandbox.Record, keyPrefix string) []statecheck.StateCheck {
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	checks := []statecheck.StateCheck{
		expectIDs(address, recordIDs(recs)),
		statecheck.ExpectKnownValue(address, tfjsonpath.New("total_count"), knownvalue.Int64Exact(int64(len(recs)))),
		statecheck.ExpectKnownValue(address, tfjsonpath.New("truncated"), knownvalue.Bool(false)),
		countsBy(address, "counts_by_event_name", recs, func(r sandbox.Record) string { return r.EventName }),
		countsBy(address, "counts_by_region", recs, func(r sandbox.Record) string { return r.Region }),
		countsBy(address, "counts_by_account", recs, func(r sandbox.Record) string { return r.Account }),
		statecheck.ExpectKnownValue(address, tfjsonpath.New("files_failed"), knownvalue.ListExact(nil)),
		eventsCheck{address: address, check: func(evs []map[string]any) error {
			for _, ev := range evs {
				id := fmt.Sprint(ev["event_id"])
				if want := keyPrefix + f.logFile[id]; ev["log_file"] != want {
					return fmt.Errorf("event %s: log_file %v, the first file holding it is %s", id, ev["log_file"], want)
				}
				if ev["log_file_valid"] != nil {
					return fmt.Errorf("event %s: log_file_valid %v without verification", id, ev["log_file_valid"])
				}
			}
			return nil
		}},
	}
	if len(recs) > 0 {
		checks = append(checks,
			statecheck.ExpectKnownValue(address, tfjsonpath.New("latest_event_time"), knownvalue.StringExact(ts(recs[0].EventTime))),
			statecheck.ExpectKnownValue(address, tfjsonpath.New("earliest_event_time"), knownvalue.StringExact(ts(recs[len(recs)-1].EventTime))))
	}
	return checks
}

// listedFiles reads back, with the SDK, the log files the data source
// must have read: those in the day folders from start's day to the day
// after end's, of each region. It returns their number and their stored
// size.
func listedFiles(t *testing.T, c *s3.Client, bucket, account string, regions []string, start, end time.Time) (files, bytes int64) {
	t.Helper()
	for _, region := range regions {
		for d := start.UTC().Truncate(24 * time.Hour); !d.After(end.UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)); d = d.AddDate(0, 0, 1) {
			prefix := fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/%s/", account, region, d.Format("2006/01/02"))
			pages := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
			for pages.HasMorePages() {
				page, err := pages.NextPage(context.Background())
				if err != nil {
					t.Fatalf("listing %s: %v", prefix, err)
				}
				for _, o := range page.Contents {
					files++
					bytes += aws.ToInt64(o.Size)
				}
			}
		}
	}
	return files, bytes
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func recordByID(t *testing.T, f *archiveFixture, id string) sandbox.Record {
	t.Helper()
	for _, r := range f.records {
		if r.EventID == id {
			return r
		}
	}
	t.Fatalf("the archive has no event %s", id)
	return sandbox.Record{}
}

// TestAccArchiveEvents_trail reads the pre-existing trail's archive
// through its name: windows at the edges of days, years and the end of
// life, every filter, truncation, counts alone over the two years, the
// default window, folder discovery and redaction, each compared with the
// records the sandbox generated.
func TestAccArchiveEvents_trail(t *testing.T) {
	f := pinnedArchive(t, eventsTestAccount)
	env := newAccEnv(t, f.options())
	env.needSandbox(t, "compares with the pre-existing trail's archive")
	regions := awsclient.OpsWorksCMRegions
	bucket := sandbox.ArchiveBucket(f.account)

	spring := [2]time.Time{mustTime(t, "2024-04-25T00:00:00Z"), mustTime(t, "2024-05-06T00:00:00Z")}
	wantSpring := f.matches(spring[0], spring[1], regions, opsWorksCM)
	filtersFrom, filtersTo := mustTime(t, "2023-03-08T00:00:00Z"), mustTime(t, "2023-03-21T23:59:59Z")
	deniedFrom, deniedTo := mustTime(t, "2023-04-28T00:00:00Z"), mustTime(t, "2023-05-05T00:00:00Z")
	inFilters := func(keep func(r *sandbox.Record) bool) []string {
		return recordIDs(f.matches(filtersFrom, filtersTo, regions, func(r *sandbox.Record) bool { return opsWorksCM(r) && keep(r) }))
	}
	alice := "arn:aws:iam::" + f.account + ":user/alice"
	deployRole := "arn:aws:iam::" + f.account + ":role/TerraformDeploy"
	net := netip.MustParsePrefix("192.0.2.0/24")
	wants := map[string][]string{
		"names_users": inFilters(func(r *sandbox.Record) bool {
			return (r.EventName == "UpdateServer" || r.EventName == "DescribeServers") && r.Username == "alice"
		}),
		"principals": inFilters(func(r *sandbox.Record) bool {
			id := f.identity[r.EventID]
			return id.ARN == alice || id.SessionIssuerARN == deployRole
		}),
		"writes_from_net": inFilters(func(r *sandbox.Record) bool {
			ip, err := netip.ParseAddr(r.SourceIPAddress)
			return !r.ReadOnly && err == nil && net.Contains(ip)
		}),
		"denied": recordIDs(f.matches(deniedFrom, deniedTo, regions, func(r *sandbox.Record) bool {
			return opsWorksCM(r) && r.ErrorCode == "AccessDenied"
		})),
		"resources": inFilters(func(r *sandbox.Record) bool {
			return slices.ContainsFunc(r.Resources, func(res sandbox.Resource) bool { return res.Name == "chef-eu" })
		}),
		"every_source": recordIDs(f.matches(filtersFrom, filtersTo, regions, func(r *sandbox.Record) bool {
			return r.EventName == "GetRole" || r.EventName == "DescribeServers"
		})),
	}
	for name, ids := range wants {
		if len(ids) == 0 {
			t.Fatalf("the archive has no event for %s: the test would prove nothing", name)
		}
	}
	if len(f.matches(filtersFrom, filtersTo, regions, func(r *sandbox.Record) bool { return r.EventName == "GetRole" })) == 0 {
		t.Fatal("the archive has no GetRole call in the filters' window: every_source would prove nothing")
	}

	midnight := recordByID(t, f, sandbox.ArchiveMidnightEventID)
	edge := recordByID(t, f, sandbox.ArchiveEdgeEventID)
	duplicate := recordByID(t, f, sandbox.ArchiveDuplicateEventID)
	secret := recordByID(t, f, sandbox.ArchiveSecretEventID)
	if !strings.HasPrefix(f.logFile[midnight.EventID], "AWSLogs/"+f.account+"/CloudTrail/us-east-1/2024/01/01/") {
		t.Fatalf("the midnight call is in %s, not in the next year's folder: the edge test would prove nothing", f.logFile[midnight.EventID])
	}
	holding := 0
	for _, file := range f.archive.Files {
		if slices.ContainsFunc(file.Records, func(r sandbox.Record) bool { return r.EventID == duplicate.EventID }) {
			holding++
		}
	}
	if holding != 2 {
		t.Fatalf("the duplicated call is in %d files, want 2", holding)
	}
	justBefore := edge.EventTime.Add(-time.Second)
	wantBeforeEdge := f.matches(justBefore.Add(-24*time.Hour), justBefore, []string{"eu-west-1"}, opsWorksCM)
	if slices.ContainsFunc(wantBeforeEdge, func(r sandbox.Record) bool { return r.EventID == edge.EventID }) || len(wantBeforeEdge) == 0 {
		t.Fatal("the day before the end of life holds the edge call, or nothing")
	}
	// Three months across a year's end: long enough to count a thousand
	// events, short enough for a test that reads it three times (two years
	// are 21,000 files and 15,000 listings, some twenty seconds against the
	// sandbox).
	countsFrom, countsTo := mustTime(t, "2023-11-15T00:00:00Z"), mustTime(t, "2024-02-15T23:59:59Z")
	all := f.matches(countsFrom, countsTo, regions, opsWorksCM)
	// The sandbox delivers its own calls (the provider's and the test's)
	// to the trail as they happen: EC2's events are the archive's alone.
	month := f.matches(f.now.Add(-30*24*time.Hour), f.now, []string{"us-east-1"}, func(r *sandbox.Record) bool { return r.EventSource == "ec2.amazonaws.com" })
	if len(month) == 0 {
		t.Fatal("the archive's last 30 days are empty in us-east-1")
	}
	springFiles, springBytes := listedFiles(t, env.S3(), bucket, f.account, regions, spring[0], spring[1])

	window := func(from, to time.Time) string {
		return fmt.Sprintf("trail = %q\n  start_time = %q\n  end_time = %q", sandbox.ArchiveTrailName, rfc3339(from), rfc3339(to))
	}
	filters := window(filtersFrom, filtersTo)
	config := env.ProviderConfig("") + fmt.Sprintf(`
data "opsaudit_archive_events" "spring" {
  %[1]s
  max_events = 5000
}

data "opsaudit_archive_events" "truncated" {
  %[1]s
  max_events = 5
}

data "opsaudit_archive_events" "names_users" {
  %[2]s
  event_names = ["UpdateServer", "DescribeServers"]
  usernames   = ["alice"]
}

data "opsaudit_archive_events" "principals" {
  %[2]s
  principal_arns = [%[3]q, %[4]q]
}

data "opsaudit_archive_events" "writes_from_net" {
  %[2]s
  read_only       = false
  source_ip_cidrs = ["192.0.2.0/24"]
}

data "opsaudit_archive_events" "denied" {
  %[13]s
  error_codes = ["AccessDenied"]
}

data "opsaudit_archive_events" "resources" {
  %[2]s
  resource_names = ["chef-eu"]
}

data "opsaudit_archive_events" "every_source" {
  %[2]s
  event_source = "*"
  event_names  = ["GetRole", "DescribeServers"]
  max_events   = 5000
}

data "opsaudit_archive_events" "midnight" {
  %[5]s
  regions = ["us-east-1"]
}

data "opsaudit_archive_events" "edge" {
  %[6]s
}

data "opsaudit_archive_events" "before_edge" {
  %[7]s
  regions = ["eu-west-1"]
}

data "opsaudit_archive_events" "duplicate" {
  %[8]s
  regions = ["eu-west-1"]
}

data "opsaudit_archive_events" "counts_only" {
  trail      = %[9]q
  start_time = %[10]q
  end_time   = %[11]q
  max_events = 0
}

data "opsaudit_archive_events" "default_window" {
  trail        = %[9]q
  event_source = "ec2.amazonaws.com"
  regions      = ["us-east-1"]
  max_events   = 100000
}

data "opsaudit_archive_events" "discover" {
  trail       = %[9]q
  lookback    = "2d"
  account_ids = ["*"]
  regions     = ["*"]
  max_events  = 0
}

data "opsaudit_archive_events" "secret" {
  %[12]s
  regions        = ["eu-central-1"]
  event_names    = ["CreateServer"]
  include_record = true
}
`, window(spring[0], spring[1]), filters, alice, deployRole,
		window(midnight.EventTime, midnight.EventTime), window(edge.EventTime, edge.EventTime),
		window(justBefore.Add(-24*time.Hour), justBefore), window(duplicate.EventTime, duplicate.EventTime.Add(time.Hour)),
		sandbox.ArchiveTrailName, rfc3339(countsFrom), rfc3339(countsTo), window(secret.EventTime, secret.EventTime),
		window(deniedFrom, deniedTo))

	ds := func(name string) string { return "data.opsaudit_archive_events." + name }
	checks := expectArchiveResult(f, ds("spring"), wantSpring, "")
	checks = append(checks,
		statecheck.ExpectKnownValue(ds("spring"), tfjsonpath.New("bucket"), knownvalue.StringExact(bucket)),
		statecheck.ExpectKnownValue(ds("spring"), tfjsonpath.New("s3_key_prefix"), knownvalue.Null()),
		statecheck.ExpectKnownValue(ds("spring"), tfjsonpath.New("organization_id"), knownvalue.Null()),
		statecheck.ExpectKnownValue(ds("spring"), tfjsonpath.New("files_scanned"), knownvalue.Int64Exact(springFiles)),
		statecheck.ExpectKnownValue(ds("spring"), tfjsonpath.New("bytes_scanned"), knownvalue.Int64Exact(springBytes)),
		statecheck.ExpectKnownValue(ds("spring"), tfjsonpath.New("records"), knownvalue.Null()),
		statecheck.ExpectKnownValue(ds("spring"), tfjsonpath.New("on_file_error"), knownvalue.StringExact("fail")),
		statecheck.ExpectKnownValue(ds("spring"), tfjsonpath.New("concurrency"), knownvalue.Int64Exact(32)),
		statecheck.ExpectKnownValue(ds("spring"), tfjsonpath.New("event_source"), knownvalue.StringExact(sandbox.OpsWorksCMSource)),

		expectIDs(ds("truncated"), recordIDs(wantSpring[:5])),
		statecheck.ExpectKnownValue(ds("truncated"), tfjsonpath.New("truncated"), knownvalue.Bool(true)),
		statecheck.ExpectKnownValue(ds("truncated"), tfjsonpath.New("total_count"), knownvalue.Int64Exact(int64(len(wantSpring)))),
		countsBy(ds("truncated"), "counts_by_event_name", wantSpring, func(r sandbox.Record) string { return r.EventName }),
		statecheck.ExpectKnownValue(ds("truncated"), tfjsonpath.New("earliest_event_time"), knownvalue.StringExact(rfc3339(wantSpring[len(wantSpring)-1].EventTime))),

		expectIDs(ds("midnight"), []string{midnight.EventID}),
		expectIDs(ds("edge"), recordIDs(f.matches(edge.EventTime, edge.EventTime, regions, opsWorksCM))),
		expectIDs(ds("before_edge"), recordIDs(wantBeforeEdge)),
		statecheck.ExpectKnownValue(ds("duplicate"), tfjsonpath.New("counts_by_event_name").AtMapKey("UpdateServer"), knownvalue.Int64Exact(1)),
		expectIDs(ds("duplicate"), recordIDs(f.matches(duplicate.EventTime, duplicate.EventTime.Add(time.Hour), []string{"eu-west-1"}, opsWorksCM))),

		expectIDs(ds("counts_only"), nil),
		statecheck.ExpectKnownValue(ds("counts_only"), tfjsonpath.New("total_count"), knownvalue.Int64Exact(int64(len(all)))),
		statecheck.ExpectKnownValue(ds("counts_only"), tfjsonpath.New("truncated"), knownvalue.Bool(true)),
		countsBy(ds("counts_only"), "counts_by_region", all, func(r sandbox.Record) string { return r.Region }),
		countsBy(ds("counts_only"), "counts_by_event_name", all, func(r sandbox.Record) string { return r.EventName }),
		statecheck.ExpectKnownValue(ds("counts_only"), tfjsonpath.New("latest_event_time"), knownvalue.StringExact(rfc3339(all[0].EventTime))),
		statecheck.ExpectKnownValue(ds("counts_only"), tfjsonpath.New("earliest_event_time"), knownvalue.StringExact(rfc3339(all[len(all)-1].EventTime))),

		expectIDs(ds("default_window"), recordIDs(month)),
		statecheck.ExpectKnownValue(ds("discover"), tfjsonpath.New("accounts_read"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(f.account)})),
		statecheck.ExpectKnownValue(ds("discover"), tfjsonpath.New("regions_read"), knownvalue.ListExact(regionFolders(t, env, bucket, f.account))),
		// No secret reaches state, in the event or in the whole record.
		eventsCheck{address: ds("secret"), withRecords: func(evs []map[string]any, records map[string]any) error {
			if len(evs) != 1 || evs[0]["event_id"] != secret.EventID {
				return fmt.Errorf("events %v, want the relay's CreateServer %s", evs, secret.EventID)
			}
			for k, s := range map[string]string{"request_parameters": fmt.Sprint(evs[0]["request_parameters"]), "record": fmt.Sprint(records[secret.EventID])} {
				if strings.Contains(s, sandbox.ArchiveUnredactedSecretValue) {
					return fmt.Errorf("%s holds the unredacted admin password", k)
				}
				if !strings.Contains(s, "PUPPET_ADMIN_PASSWORD") {
					return fmt.Errorf("%s lost the engine attribute's name: %s", k, s)
				}
			}
			return nil
		}},
	)
	for name, ids := range wants {
		checks = append(checks, expectIDs(ds(name), ids))
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps:                    []resource.TestStep{{Config: config, ConfigStateChecks: checks}},
	})
}

// regionFolders reads back with the SDK the region folders of the
// account's log files.
func regionFolders(t *testing.T, env *accEnv, bucket, account string) []knownvalue.Check {
	t.Helper()
	out, err := env.S3().ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{
		Bucket: aws.String(bucket), Prefix: aws.String("AWSLogs/" + account + "/CloudTrail/"), Delimiter: aws.String("/"),
	})
	if err != nil {
		t.Fatal(err)
	}
	var regions []string
	for _, p := range out.CommonPrefixes {
		regions = append(regions, strings.TrimSuffix(strings.TrimPrefix(aws.ToString(p.Prefix), "AWSLogs/"+account+"/CloudTrail/"), "/"))
	}
	slices.Sort(regions)
	checks := make([]knownvalue.Check, len(regions))
	for i, r := range regions {
		checks[i] = knownvalue.StringExact(r)
	}
	return checks
}

// wrapped matches s in a Terraform diagnostic, which wraps lines between
// words and draws a border before each.
func wrapped(s string) string {
	words := strings.Fields(s)
	for i, w := range words {
		words[i] = regexp.QuoteMeta(w)
	}
	return strings.Join(words, `[\s│]+`)
}

// TestAccArchiveEvents_example plans the documentation's example against
// the pre-existing trail, its windows narrowed to a month after the end of
// life and a few days, so that the test reads few files: the postcondition
// fails the plan, naming each call after the end of life and its log file.
func TestAccArchiveEvents_example(t *testing.T) {
	f := pinnedArchive(t, sandbox.DefaultAccount)
	env := newAccEnv(t, f.options())
	env.needSandbox(t, "relies on the pre-existing trail's calls after the end of life")
	raw, err := os.ReadFile(filepath.Join("..", "..", "examples", "data-sources", "opsaudit_archive_events", "data-source.tf"))
	if err != nil {
		t.Fatal(err)
	}
	example := string(raw)
	for from, to := range map[string]string{
		`start_time = "2024-05-05T00:00:01Z"`: `start_time = "2024-05-05T00:00:01Z"` + "\n  end_time   = \"2024-06-05T00:00:00Z\"",
		`lookback   = "730d"`:                 `lookback   = "3d"`,
		`lookback      = "365d"`:              `lookback      = "3d"`,
	} {
		if !strings.Contains(example, from) {
			t.Fatalf("the example no longer has %s", from)
		}
		example = strings.Replace(example, from, to, 1)
	}
	if !strings.Contains(example, sandbox.ArchiveBucket(f.account)) {
		t.Fatalf("the example does not read the sandbox's bucket %s", sandbox.ArchiveBucket(f.account))
	}
	after := f.matches(mustTime(t, "2024-05-05T00:00:01Z"), mustTime(t, "2024-06-05T00:00:00Z"), awsclient.OpsWorksCMRegions, opsWorksCM)
	if len(after) == 0 {
		t.Fatal("no OpsWorks CM call in the month after the end of life: the test would prove nothing")
	}
	want := `(?s)Resource postcondition failed.*` + wrapped(fmt.Sprintf("%d OpsWorks CM calls after its end of life:", len(after)))
	for _, r := range after {
		want += ".*" + wrapped(fmt.Sprintf("%s by %s in %s at %s (%s)", r.EventName, r.Username, r.Region, rfc3339(r.EventTime), f.logFile[r.EventID]))
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      env.ProviderConfig("") + example,
			ExpectError: regexp.MustCompile(want),
		}},
	})
}

// TestAccArchiveEvents_exampleAthena applies the example's Athena part
// against the pre-existing trail: the table is created, Athena finds the
// deletions of 2023 the sandbox wrote in the two regions, and the direct
// scan of the trail's bucket gives the same answer.
func TestAccArchiveEvents_exampleAthena(t *testing.T) {
	f := pinnedArchive(t, sandbox.DefaultAccount)
	env := newAccEnv(t, f.options())
	env.needSandbox(t, "relies on the pre-existing trail's archive")
	raw, err := os.ReadFile(filepath.Join("..", "..", "examples", "data-sources", "opsaudit_archive_events", "data-source.tf"))
	if err != nil {
		t.Fatal(err)
	}
	_, example, ok := strings.Cut(string(raw), "resource \"opsaudit_athena_table\"")
	if !ok {
		t.Fatal("the example has no opsaudit_athena_table")
	}
	example = "resource \"opsaudit_athena_table\"" + example
	if _, err := env.S3().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("athena-results")}); err != nil {
		t.Fatal(err)
	}
	from, to := mustTime(t, "2023-01-01T00:00:00Z"), mustTime(t, "2023-12-31T23:59:59Z")
	regions := []string{"us-east-1", "eu-west-1"}
	want := f.matches(from, to, regions, func(r *sandbox.Record) bool {
		return opsWorksCM(r) && (r.EventName == "DeleteServer" || r.EventName == "DeleteBackup")
	})
	if len(want) <= 10 {
		t.Fatalf("%d deletions in 2023: the test would not see max_events cut them", len(want))
	}
	// The direct scan of the same archive, for the same answer.
	const addr, direct = "data.opsaudit_archive_events.deletes_2023", "data.opsaudit_archive_events.deletes_2023_s3"
	s3Twin := fmt.Sprintf(`
data "opsaudit_archive_events" "deletes_2023_s3" {
  trail       = "management-events"
  regions     = %s
  start_time  = %q
  end_time    = %q
  event_names = ["DeleteServer", "DeleteBackup"]
  max_events  = 10
}
`, hclList(regions...), rfc3339(from), rfc3339(to))
	checks := []statecheck.StateCheck{
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("total_count"), knownvalue.Int64Exact(int64(len(want)))),
		countsBy(addr, "counts_by_region", want, func(r sandbox.Record) string { return f.folder[r.EventID] }),
		expectIDs(addr, recordIDs(want[:10])),
		sameEvents{a: direct, b: addr, ignore: []string{"log_file", "cloudtrail_event"}},
	}
	for _, attr := range []string{"total_count", "truncated", "counts_by_event_name", "counts_by_region", "counts_by_account", "earliest_event_time", "latest_event_time"} {
		checks = append(checks, statecheck.CompareValuePairs(direct, tfjsonpath.New(attr), addr, tfjsonpath.New(attr), compare.ValuesSame()))
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:            env.ProviderConfig("") + example + s3Twin,
			ConfigStateChecks: checks,
		}},
	})
}

// TestAccArchiveEvents_badInput checks each bad argument is refused at
// plan time, against that argument, and that a window longer than
// LookupEvents' 90 days is not one.
func TestAccArchiveEvents_badInput(t *testing.T) {
	env := newAccEnv(t, sandbox.Options{NoHistory: true})
	dir := t.TempDir()
	cases := []struct{ name, args, want string }{
		{"no source", `lookback = "1d"`, `(?s)Missing Attribute Configuration.*Exactly one of these attributes must be configured: \[trail,bucket,directory\]`},
		{"two sources", `
  trail     = "management-events"
  directory = "/tmp"`, `(?s)Invalid Attribute Combination.*Exactly one of these attributes must be configured: \[trail,bucket,directory\]`},
		{"prefix with trail", `
  trail         = "management-events"
  s3_key_prefix = "logs"`, `(?s)cannot be configured together: \[trail,s3_key_prefix\]`},
		{"start after end", `
  directory  = "/tmp"
  start_time = "2025-03-02T00:00:00Z"
  end_time   = "2025-03-01T00:00:00Z"`, `(?s)start_time.*after end_time`},
		{"lookback zero", `
  directory = "/tmp"
  lookback  = "0h"`, `(?s)lookback.*longer than zero`},
		{"every account beside one", `
  directory   = "/tmp"
  account_ids = ["*", "123456789012"]`, `(?s)account_ids.*"\*" reads every folder found, so it must be the only value`},
		{"bad account", `
  directory   = "/tmp"
  account_ids = ["12345"]`, `(?s)account_ids.*not a 12-digit AWS account id`},
		{"bad region", `
  directory = "/tmp"
  regions   = ["eu-nowhere-1"]`, `(?s)regions.*not an AWS region`},
		{"bad bucket", `bucket = "Not_A_Bucket"`, `(?s)bucket.*may contain only lower-case letters`},
		{"bad organization", `
  bucket          = "some-bucket"
  organization_id = "org-1"`, `(?s)organization_id.*not an organization id`},
		{"max_events negative", `
  directory  = "/tmp"
  max_events = -1`, `(?s)max_events.*between 0 and`},
		{"on_file_error", `
  directory     = "/tmp"
  on_file_error = "ignore"`, `(?s)on_file_error.*value must be one of`},
		{"concurrency", `
  directory   = "/tmp"
  concurrency = 0`, `(?s)concurrency.*between 1 and`},
		{"bad CIDR", `
  directory       = "/tmp"
  source_ip_cidrs = ["192.0.2.0/40"]`, `(?s)source_ip_cidrs.*not a CIDR block`},
		{"missing directory", `directory = "` + filepath.Join(dir, "missing") + `"`, `(?s)Archive directory not readable.*with data.opsaudit_archive_events.this.*directory`},
	}
	var steps []resource.TestStep
	for _, c := range cases {
		steps = append(steps, resource.TestStep{
			Config:      env.ProviderConfig("") + "data \"opsaudit_archive_events\" \"this\" {\n  " + c.args + "\n}\n",
			ExpectError: regexp.MustCompile(c.want),
		})
	}
	// Two years of an empty copy: no 90-day limit, and "no events" is an
	// answer.
	steps = append(steps, resource.TestStep{
		Config: env.ProviderConfig("") + fmt.Sprintf(`data "opsaudit_archive_events" "this" {
  directory = %q
  lookback  = "730d"
  regions   = ["us-east-1"]
}`, dir),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue("data.opsaudit_archive_events.this", tfjsonpath.New("total_count"), knownvalue.Int64Exact(0)),
			statecheck.ExpectKnownValue("data.opsaudit_archive_events.this", tfjsonpath.New("events"), knownvalue.ListExact(nil)),
			statecheck.ExpectKnownValue("data.opsaudit_archive_events.this", tfjsonpath.New("latest_event_time"), knownvalue.Null()),
			statecheck.ExpectKnownValue("data.opsaudit_archive_events.this", tfjsonpath.New("accounts_read"),
				knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(env.Account)})),
			statecheck.ExpectKnownValue("data.opsaudit_archive_events.this", tfjsonpath.New("bucket"), knownvalue.Null()),
		},
	})
	resource.ParallelTest(t, resource.TestCase{ProtoV6ProviderFactories: testAccProtoV6ProviderFactories, Steps: steps})
}

// filesIn are the archive's files in the day folders a read of from..to
// lists in regions: from's day to the day after to's.
func (f *archiveFixture) filesIn(regions []string, from, to time.Time) []sandbox.ArchiveFile {
	first, last := from.UTC().Truncate(24*time.Hour), to.UTC().Truncate(24*time.Hour).AddDate(0, 0, 2)
	var out []sandbox.ArchiveFile
	for _, file := range f.archive.Files {
		if slices.Contains(regions, file.Region) && !file.Delivered.Before(first) && file.Delivered.Before(last) {
			out = append(out, file)
		}
	}
	return out
}

// copyObjects copies the objects of files from one bucket to another, as
// they are, each under the key rename gives it.
func copyObjects(t *testing.T, from *s3.Client, fromBucket string, to *s3.Client, toBucket string, rename func(string) string, files []sandbox.ArchiveFile) {
	t.Helper()
	ctx := context.Background()
	for _, file := range files {
		got, err := from.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(fromBucket), Key: aws.String(file.Key)})
		if err != nil {
			t.Fatalf("GetObject %s: %v", file.Key, err)
		}
		body, err := io.ReadAll(got.Body)
		if err := errors.Join(err, got.Body.Close()); err != nil {
			t.Fatalf("reading %s: %v", file.Key, err)
		}
		if _, err := to.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(toBucket), Key: aws.String(rename(file.Key)), Body: bytes.NewReader(body)}); err != nil {
			t.Fatalf("PutObject %s: %v", rename(file.Key), err)
		}
	}
}

// denyS3 answers the S3 requests deny picks as S3 answers a caller without
// the permission, and hands every other request to next.
type denyS3 struct {
	next http.Handler
	deny func(r *http.Request) bool
}

func (d denyS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Amz-Target") == "" && r.URL.Query().Get("Action") == "" && d.deny(r) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>DENYTEST</RequestId></Error>`)
		return
	}
	d.next.ServeHTTP(w, r)
}

// TestAccArchiveEvents_bucketErrors reads a copy of part of the archive in
// a bucket of another region than the provider's: a file made garbage
// through S3 fails the read, naming it, or with on_file_error = "warn" is
// listed in files_failed and its events are missing; a refused GetObject
// is a failed file that names s3:GetObject, a refused listing fails the
// read whatever on_file_error says and names s3:ListBucket; a missing
// bucket is an error on bucket.
func TestAccArchiveEvents_bucketErrors(t *testing.T) {
	f := pinnedArchive(t, eventsTestAccount)
	env := newAccEnv(t, f.options())
	env.needSandbox(t, "copies the pre-existing trail's files and refuses requests in front of the sandbox")
	ctx := context.Background()
	from, to := mustTime(t, "2024-04-25T00:00:00Z"), mustTime(t, "2024-05-06T00:00:00Z")
	regions := []string{"eu-west-1", "us-east-1"}
	files := f.filesIn(regions, from, to)
	copyBucket := acctest.RandomWithPrefix("archive-copy")
	frankfurt := s3.NewFromConfig(env.cfg, func(o *s3.Options) { o.UsePathStyle, o.Region = true, "eu-central-1" })
	_, err := frankfurt.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(copyBucket),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraintEuCentral1}})
	if err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	copyObjects(t, env.S3(), sandbox.ArchiveBucket(f.account), frankfurt, copyBucket, func(k string) string { return k }, files)

	// The garbage is a file with OpsWorks CM calls of the window.
	want := f.matches(from, to, regions, opsWorksCM)
	var broken sandbox.ArchiveFile
	for _, file := range files {
		inWindow := func(r sandbox.Record) bool {
			return opsWorksCM(&r) && !r.EventTime.Before(from) && !r.EventTime.After(to)
		}
		if file.Region == "eu-west-1" && slices.ContainsFunc(file.Records, inWindow) {
			broken = file
			break
		}
	}
	if broken.Key == "" {
		t.Fatal("no file of eu-west-1 holds an OpsWorks CM call of the window")
	}
	lost := map[string]bool{}
	for _, r := range broken.Records {
		lost[r.EventID] = true
	}
	wantWarn := slices.DeleteFunc(slices.Clone(want), func(r sandbox.Record) bool { return lost[r.EventID] })
	if len(wantWarn) == len(want) || len(wantWarn) == 0 {
		t.Fatalf("the broken file holds %d of the window's %d calls: the test would prove nothing", len(want)-len(wantWarn), len(want))
	}
	if _, err := frankfurt.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(copyBucket), Key: aws.String(broken.Key),
		Body: strings.NewReader("this is not gzip")}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	// Another file of us-east-1 is refused, and so is the listing of its
	// region's first day.
	var refused string
	for _, file := range files {
		if file.Region == "us-east-1" {
			refused = file.Key
			break
		}
	}
	getDenied := httptest.NewServer(denyS3{next: env.Sandbox, deny: func(r *http.Request) bool {
		return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/"+refused)
	}})
	t.Cleanup(getDenied.Close)
	listDenied := httptest.NewServer(denyS3{next: env.Sandbox, deny: func(r *http.Request) bool {
		return r.URL.Query().Get("list-type") == "2" && strings.Contains(r.URL.Query().Get("prefix"), "/us-east-1/")
	}})
	t.Cleanup(listDenied.Close)

	config := func(e *accEnv, bucket, extra string) string {
		if !strings.Contains(extra, "regions") {
			extra += `
  regions = ["eu-west-1", "us-east-1"]`
		}
		return e.ProviderConfig("") + fmt.Sprintf(`
data "opsaudit_archive_events" "this" {
  bucket     = %q
  start_time = %q
  end_time   = %q
  %s
}
`, bucket, rfc3339(from), rfc3339(to), extra)
	}
	const addr = "data.opsaudit_archive_events.this"
	failed := func(key, why string) knownvalue.Check {
		return knownvalue.ObjectExact(map[string]knownvalue.Check{
			"key": knownvalue.StringExact(key), "error": knownvalue.StringRegexp(regexp.MustCompile(why)),
		})
	}
	warnChecks := []statecheck.StateCheck{
		expectIDs(addr, recordIDs(wantWarn)),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("total_count"), knownvalue.Int64Exact(int64(len(wantWarn)))),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("files_failed"), knownvalue.ListExact([]knownvalue.Check{failed(broken.Key, `gzip: invalid header`)})),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("files_scanned"), knownvalue.Int64Exact(int64(len(files)-1))),
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      config(env, copyBucket, ""),
				ExpectError: regexp.MustCompile(`(?s)Reading the CloudTrail archive.*` + regexp.QuoteMeta(broken.Key) + `.*gzip: invalid header.*` + wrapped(`set on_file_error = "warn"`)),
			},
			{
				Config:            config(env, copyBucket, `on_file_error = "warn"`),
				ConfigStateChecks: warnChecks,
			},
			{
				Config: config(newSandboxEnv(t, env.Sandbox, getDenied.URL), copyBucket, `on_file_error = "warn"`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("files_failed"), knownvalue.ListExact([]knownvalue.Check{
						failed(broken.Key, `gzip: invalid header`),
						failed(refused, `AccessDenied: Access Denied\. The caller lacks the IAM permission s3:GetObject`),
					})),
				},
			},
			{
				// Without the garbage file of eu-west-1, which could
				// otherwise be the first to fail the read.
				Config:      config(newSandboxEnv(t, env.Sandbox, getDenied.URL), copyBucket, `regions = ["us-east-1"]`),
				ExpectError: regexp.MustCompile(`(?s)` + regexp.QuoteMeta(refused) + `.*AccessDenied.*lacks[\s│]+the[\s│]+IAM[\s│]+permission[\s│]+s3:GetObject`),
			},
			{
				Config:      config(newSandboxEnv(t, env.Sandbox, listDenied.URL), copyBucket, `on_file_error = "warn"`),
				ExpectError: regexp.MustCompile(`(?s)listing[\s│]+s3://` + copyBucket + `/AWSLogs/` + f.account + `/CloudTrail/us-east-1/.*AccessDenied.*lacks[\s│]+the[\s│]+IAM[\s│]+permission[\s│]+s3:ListBucket`),
			},
			{
				Config:      config(env, "no-such-archive-bucket", ""),
				ExpectError: regexp.MustCompile(`(?s)Bucket not readable.*NoSuchBucket.*The[\s│]+bucket[\s│]+does[\s│]+not[\s│]+exist`),
			},
		},
	})
}

// attributesCheck hands the attribute values of a resource in state to
// check.
type attributesCheck struct {
	address string
	check   func(values map[string]any) error
}

func (c attributesCheck) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	if req.State == nil || req.State.Values == nil || req.State.Values.RootModule == nil {
		resp.Error = fmt.Errorf("%s: no state", c.address)
		return
	}
	for _, r := range req.State.Values.RootModule.Resources {
		if r.Address == c.address {
			if err := c.check(r.AttributeValues); err != nil {
				resp.Error = fmt.Errorf("%s: %w", c.address, err)
			}
			return
		}
	}
	resp.Error = fmt.Errorf("%s not in state", c.address)
}

// TestAccArchiveEvents_moto uploads part of the archive, under a key
// prefix, to moto_server, an S3 no one here wrote, and reads it with
// bucket and s3_key_prefix through a provider whose S3 endpoint is moto's
// (CloudTrail and STS stay the sandbox's): the answers are the fixture's,
// and the same as the read of the trail's own bucket in the sandbox, file
// and byte counts included. The two reads are two steps: providers
// served in the test's process share one configuration.
func TestAccArchiveEvents_moto(t *testing.T) {
	motoURL := testserver.Moto(t)
	f := pinnedArchive(t, eventsTestAccount)
	env := newAccEnv(t, f.options())
	env.needSandbox(t, "copies the pre-existing trail's files from the sandbox")
	ctx := context.Background()
	from, to := mustTime(t, "2023-12-28T00:00:00Z"), mustTime(t, "2024-01-04T00:00:00Z")
	regions := []string{"us-east-1", "eu-west-1", "ap-northeast-1"}
	const prefix = "cloudtrail/"
	moto := s3.NewFromConfig(env.cfg, func(o *s3.Options) {
		o.UsePathStyle, o.BaseEndpoint = true, aws.String(motoURL)
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	const motoBucket = "archive-on-moto"
	if _, err := moto.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(motoBucket)}); err != nil {
		t.Fatalf("CreateBucket on moto: %v", err)
	}
	files := f.filesIn(regions, from, to)
	copyObjects(t, env.S3(), sandbox.ArchiveBucket(f.account), moto, motoBucket, func(k string) string { return prefix + k }, files)
	want := f.matches(from, to, regions, func(*sandbox.Record) bool { return true })
	if !slices.ContainsFunc(want, func(r sandbox.Record) bool { return r.EventID == sandbox.ArchiveMidnightEventID }) {
		t.Fatal("the window misses the call delivered in the next year's folder")
	}

	query := fmt.Sprintf(`
  regions      = ["%s"]
  event_source = "*"
  start_time   = %q
  end_time     = %q
  max_events   = 100000`, strings.Join(regions, `", "`), rfc3339(from), rfc3339(to))
	onSandbox := env.ProviderConfig("") + fmt.Sprintf(`
data "opsaudit_archive_events" "this" {
  trail = %q
  %s
}
`, sandbox.ArchiveTrailName, query)
	onMoto := fmt.Sprintf(`
provider "opsaudit" {
  region            = %[1]q
  access_key        = "test"
  secret_key        = "test"
  s3_use_path_style = true
  endpoints {
    cloudtrail = %[2]q
    s3         = %[3]q
    sts        = %[2]q
  }
}

data "opsaudit_archive_events" "this" {
  bucket        = %[4]q
  s3_key_prefix = "cloudtrail"
  %[5]s
}
`, env.Region, env.Endpoint, motoURL, motoBucket, query)
	const addr = "data.opsaudit_archive_events.this"
	compared := []string{"total_count", "counts_by_event_name", "counts_by_region", "counts_by_account", "earliest_event_time",
		"latest_event_time", "files_scanned", "bytes_scanned", "accounts_read", "regions_read"}
	fromSandbox := map[string]any{}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: onSandbox,
				ConfigStateChecks: append(expectArchiveResult(f, addr, want, ""), attributesCheck{address: addr, check: func(v map[string]any) error {
					for _, a := range compared {
						fromSandbox[a] = v[a]
					}
					return nil
				}}),
			},
			{
				Config: onMoto,
				ConfigStateChecks: append(expectArchiveResult(f, addr, want, prefix),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("files_scanned"), knownvalue.Int64Exact(int64(len(files)))),
					attributesCheck{address: addr, check: func(v map[string]any) error {
						for _, a := range compared {
							if fmt.Sprint(v[a]) != fmt.Sprint(fromSandbox[a]) {
								return fmt.Errorf("%s is %v from moto, %v from the sandbox", a, v[a], fromSandbox[a])
							}
						}
						return nil
					}}),
			},
		},
	})
}

// syncFolders copies the log folders of a month in regions from the
// archive bucket of the sandbox at env into dir with the AWS CLI's `aws s3
// sync`, as a user keeps a local copy.
func syncFolders(t *testing.T, env *accEnv, account, month string, regions []string, dir string) {
	t.Helper()
	bucket := sandbox.ArchiveBucket(account)
	for _, region := range regions {
		folder := fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/%s/", account, region, month)
		out, err := sandboxtest.AWSCLI(t, env.Endpoint, env.Region, "s3", "sync", "--only-show-errors",
			"s3://"+bucket+"/"+folder, filepath.Join(dir, filepath.FromSlash(folder)))
		if err != nil {
			t.Fatalf("aws s3 sync of %s: %v\n%s", folder, err, out)
		}
	}
}

// TestAccArchiveEvents_directory reads a local copy of two accounts'
// archives, made with `aws s3 sync` from two sandboxes, with every account
// and region folder discovered; then the caller's account alone, with the
// defaults. It then checks that the read, given a logger as Terraform
// gives the provider one, logs its progress at INFO.
func TestAccArchiveEvents_directory(t *testing.T) {
	sandboxtest.RequireAWSCLI(t)
	a := pinnedArchive(t, eventsTestAccount)
	b := archiveAt(t, "111122223333", a.now)
	envA := newAccEnv(t, a.options())
	envA.needSandbox(t, "copies the pre-existing trails' files with the AWS CLI")
	envB := newAccEnv(t, b.options())
	dir := t.TempDir()
	regions := []string{"eu-west-1", "us-east-1"}
	syncFolders(t, envA, a.account, "2023/03", regions, dir)
	syncFolders(t, envB, b.account, "2023/03", regions, dir)
	// After the call delivered twice: the planted calls have the same
	// event id in every account's archive, and the read counts an id once.
	from, to := mustTime(t, "2023-03-15T00:00:00Z"), mustTime(t, "2023-03-28T23:59:59Z")

	everything := func(*sandbox.Record) bool { return true }
	wantA, wantB := a.matches(from, to, regions, everything), b.matches(from, to, regions, everything)
	if slices.ContainsFunc(wantA, func(r sandbox.Record) bool { return b.logFile[r.EventID] != "" }) {
		t.Fatal("the two accounts' archives share an event id in the window")
	}
	both := slices.Concat(wantA, wantB)
	slices.SortFunc(both, func(x, y sandbox.Record) int {
		if c := y.EventTime.Compare(x.EventTime); c != 0 {
			return c
		}
		return strings.Compare(x.EventID, y.EventID)
	})
	logFiles := &archiveFixture{logFile: maps.Clone(a.logFile)}
	maps.Copy(logFiles.logFile, b.logFile)
	const addr = "data.opsaudit_archive_events.this"
	onlyA := a.matches(from, to, []string{"eu-west-1"}, opsWorksCM)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: envA.ProviderConfig("") + fmt.Sprintf(`
data "opsaudit_archive_events" "this" {
  directory    = %q
  account_ids  = ["*"]
  regions      = ["*"]
  event_source = "*"
  start_time   = %q
  end_time     = %q
  max_events   = 100000
}
`, dir, rfc3339(from), rfc3339(to)),
				ConfigStateChecks: append(expectArchiveResult(logFiles, addr, both, ""),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("counts_by_account"), knownvalue.MapExact(map[string]knownvalue.Check{
						a.account: knownvalue.Int64Exact(int64(len(wantA))), b.account: knownvalue.Int64Exact(int64(len(wantB))),
					})),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("accounts_read"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.StringExact(b.account), knownvalue.StringExact(a.account)})),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("regions_read"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.StringExact("eu-west-1"), knownvalue.StringExact("us-east-1")})),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("bucket"), knownvalue.Null()),
				),
			},
			{
				Config: envA.ProviderConfig(`  regions = ["eu-west-1"]`) + fmt.Sprintf(`
data "opsaudit_archive_events" "this" {
  directory  = %q
  start_time = %q
  end_time   = %q
}
`, dir, rfc3339(from), rfc3339(to)),
				ConfigStateChecks: expectArchiveResult(a, addr, onlyA, ""),
			},
		},
	})

	var logged bytes.Buffer
	ctx := tflogtest.RootLogger(context.Background(), &logged)
	d := &archiveEventsDataSource{clients: &awsclient.Clients{AccountID: a.account, Regions: regions}, progressInterval: time.Millisecond}
	resp := readDataSource(t, ctx, d, map[string]tftypes.Value{
		"directory":   tftypes.NewValue(tftypes.String, dir),
		"account_ids": tftypes.NewValue(tftypes.List{ElementType: tftypes.String}, []tftypes.Value{tftypes.NewValue(tftypes.String, "*")}),
		"start_time":  tftypes.NewValue(tftypes.String, rfc3339(from)),
		"end_time":    tftypes.NewValue(tftypes.String, rfc3339(to)),
		// One file at a time, so that the read lasts many intervals
		// however fast the machine.
		"concurrency": tftypes.NewValue(tftypes.Number, 1),
	})
	if resp.Diagnostics.HasError() {
		t.Fatalf("read: %v", resp.Diagnostics)
	}
	entries, err := tflogtest.MultilineJSONDecode(&logged)
	if err != nil {
		t.Fatal(err)
	}
	levels := map[string]string{}
	for _, e := range entries {
		msg, _ := e["@message"].(string)
		levels[msg], _ = e["@level"].(string)
		if msg == "reading CloudTrail log files" && e["source"] != dir {
			t.Errorf("a progress line names %v, not the directory read", e["source"])
		}
	}
	for _, msg := range []string{"Reading the CloudTrail archive", "reading CloudTrail log files", "Read the CloudTrail archive"} {
		if levels[msg] != "info" {
			t.Errorf("no INFO line %q in the provider's log (level %q)", msg, levels[msg])
		}
	}
}

// readDataSource calls d's Read with a configuration of attrs, the other
// attributes null, as Terraform would call it with ctx.
func readDataSource(t *testing.T, ctx context.Context, d datasource.DataSource, attrs map[string]tftypes.Value) *datasource.ReadResponse {
	t.Helper()
	var sresp datasource.SchemaResponse
	d.Schema(ctx, datasource.SchemaRequest{}, &sresp)
	typ := sresp.Schema.Type().TerraformType(ctx).(tftypes.Object)
	values := map[string]tftypes.Value{}
	for name, at := range typ.AttributeTypes {
		values[name] = tftypes.NewValue(at, nil)
	}
	maps.Copy(values, attrs)
	req := datasource.ReadRequest{Config: tfsdk.Config{Schema: sresp.Schema, Raw: tftypes.NewValue(typ, values)}}
	resp := &datasource.ReadResponse{State: tfsdk.State{Schema: sresp.Schema, Raw: tftypes.NewValue(typ, nil)}}
	d.Read(ctx, req, resp)
	return resp
}
