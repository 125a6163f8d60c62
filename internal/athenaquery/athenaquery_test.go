package athenaquery

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/athena/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/archive"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

// question is one query asked of both engines.
type question struct {
	name              string
	accounts, regions []string
	start, end        time.Time
	filter            events.Filter
	max               int
}

// ask runs q through the direct scan and through Athena.
func ask(t *testing.T, e *env, bucket string, loc archive.Location, tbl Table, q question) (*archive.Result, *Result) {
	t.Helper()
	ctx := context.Background()
	direct, err := archive.Run(ctx, archive.Query{
		Source: archive.NewBucket(e.s3, bucket), Location: loc, AccountIDs: q.accounts, Regions: q.regions,
		Start: q.start, End: q.end, Filter: q.filter, MaxEvents: q.max,
	})
	if err != nil {
		t.Fatalf("direct scan: %v", err)
	}
	got, err := Run(ctx, Query{
		Client: e.athena, Database: tbl.Database, Table: tbl.Name, OutputLocation: output,
		Bucket: bucket, Location: loc, AccountIDs: q.accounts, Regions: q.regions,
		Start: q.start, End: q.end, Filter: q.filter, MaxEvents: q.max,
	})
	if err != nil {
		t.Fatalf("Athena: %v", err)
	}
	return direct, got
}

// sameAnswer fails unless Athena answered what the direct scan did: the
// totals, every count, the times, the folders, and the events, field by
// field except those only a read of the file has (the log file, the
// record's full text).
func sameAnswer(t *testing.T, direct *archive.Result, got *Result) {
	t.Helper()
	type summary struct {
		Total, Events           int
		Truncated               bool
		ByName, ByRegion, ByAcc map[string]int
		Earliest, Latest        time.Time
		Accounts, Regions       []string
	}
	sum := func(r *archive.Result) summary {
		return summary{r.TotalCount, len(r.Events), r.Truncated, r.CountsByEventName, r.CountsByRegion, r.CountsByAccount,
			r.EarliestEventTime, r.LatestEventTime, r.Accounts, r.Regions}
	}
	if diff := cmp.Diff(sum(direct), sum(&got.Result), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("totals and counts (-direct scan +Athena):\n%s", diff)
	}
	if diff := cmp.Diff(direct.Events, got.Events, cmpopts.IgnoreFields(events.Event{}, "LogFile", "LogFileValid", "CloudTrailEvent"),
		cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("events (-direct scan +Athena):\n%s", diff)
	}
}

func ids(evs []events.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.EventID
	}
	return out
}

// TestParityOnAnOrganizationArchive asks both engines the same questions
// of an organization trail's archive: two accounts, three regions, a
// record delivered twice on two days, one from 23:58 in the next day's
// folder, callers of every identity type (one with a quote in its name),
// another service's calls, and a password logged in clear.
func TestParityOnAnOrganizationArchive(t *testing.T) {
	e := newEnv(t)
	a := writeOrgArchive(t, e)
	tbl := a.table()
	e.create(t, tbl)
	all := []string{archive.Discover}
	start, end := a.first, a.first.AddDate(0, 0, a.days).Add(-time.Second)
	yes, no := true, false
	for _, q := range []question{
		{name: "everything, OpsWorks CM", accounts: all, regions: all, start: start, end: end, max: 1000},
		{name: "every service, newest 25", accounts: all, regions: all, start: start, end: end, max: 25,
			filter: events.Filter{EventSource: events.AllEventSources}},
		{name: "counts only", accounts: all, regions: all, start: start, end: end},
		{name: "one account and region, read-only", accounts: []string{orgAccountA}, regions: []string{"us-east-1"},
			start: start, end: end, max: 50, filter: events.Filter{ReadOnly: &yes}},
		{name: "names, errors and writes", accounts: all, regions: []string{"eu-west-1", "us-west-2"}, start: start, end: end,
			max: 10, filter: events.Filter{EventNames: []string{"CreateServer", "DeleteServer"}, ErrorCodes: []string{"AccessDenied"}, ReadOnly: &no}},
		{name: "user names, quote included", accounts: all, regions: all, start: start, end: end, max: 100,
			filter: events.Filter{EventSource: events.AllEventSources, Usernames: []string{"o'brien", "root", "ci-audit", "cloudformation.amazonaws.com"}}},
		{name: "no user name", accounts: all, regions: all, start: start, end: end, max: 100,
			filter: events.Filter{EventSource: events.AllEventSources, Usernames: []string{""}}},
		{name: "a role's sessions", accounts: []string{orgAccountB}, regions: all, start: start, end: end, max: 100,
			filter: events.Filter{PrincipalARNs: []string{"arn:aws:iam::" + orgAccountB + ":role/deploy"}}},
		{name: "the day before midnight, margin included", accounts: all, regions: all, max: 100,
			start: a.midnight.Truncate(24 * time.Hour), end: a.midnight.Truncate(24 * time.Hour).Add(24*time.Hour - time.Second)},
		{name: "a window cut inside seconds", accounts: all, regions: all, max: 100,
			start: start.AddDate(0, 0, 2).Add(8*time.Hour + 500*time.Millisecond), end: start.AddDate(0, 0, 4).Add(time.Nanosecond)},
		{name: "no match", accounts: all, regions: all, start: start, end: end, max: 10,
			filter: events.Filter{EventNames: []string{"RestoreServer"}}},
	} {
		t.Run(q.name, func(t *testing.T) {
			direct, got := ask(t, e, a.bucket, a.location, tbl, q)
			sameAnswer(t, direct, got)
			if q.name == "no user name" && direct.TotalCount == 0 {
				t.Error("no call without a user name: the archive is not what the test means")
			}
			if q.name == "everything, OpsWorks CM" {
				if direct.TotalCount < 300 || !slices.Contains(ids(direct.Events), a.duplicate) {
					t.Errorf("the archive is not what the test means: %d matches, duplicate found %v", direct.TotalCount,
						slices.Contains(ids(direct.Events), a.duplicate))
				}
				for _, ev := range got.Events {
					if strings.Contains(ev.CloudTrailEvent+ev.RequestParameters, a.secret) {
						t.Errorf("event %s carries the password logged in clear", ev.EventID)
					}
				}
			}
		})
	}
}

// TestParityOnThePreexistingArchive asks both engines about the
// sandbox's pre-existing trail: a single account's archive, read through
// a table with every region projected, around the records the archive
// holds for readers to get right.
func TestParityOnThePreexistingArchive(t *testing.T) {
	e := newEnv(t, withArchive)
	arch := sandbox.ArchiveHistory(sandbox.DefaultAccount, sandboxtest.Now)
	var regions []string
	for _, f := range arch.Files {
		if !slices.Contains(regions, f.Region) {
			regions = append(regions, f.Region)
		}
	}
	tbl := Table{Database: "audit", Name: "archive", Bucket: arch.Bucket, AccountIDs: []string{sandbox.DefaultAccount},
		Regions: regions, StartDate: sandbox.ArchiveStart}
	e.create(t, tbl)
	day := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	all := []string{archive.Discover}
	for _, q := range []question{
		{name: "a duplicate delivery", accounts: all, regions: all, start: day("2023-03-13"), end: day("2023-03-16"), max: 100},
		{name: "the year's last call", accounts: all, regions: []string{"us-east-1"}, start: day("2023-12-31"),
			end: day("2024-01-01").Add(-time.Second), max: 5},
		{name: "root and denied calls, every service", accounts: all, regions: all, start: day("2023-05-01"), end: day("2023-10-10"),
			max: 20, filter: events.Filter{EventSource: events.AllEventSources, Usernames: []string{"root", "bob"}}},
	} {
		t.Run(q.name, func(t *testing.T) {
			direct, got := ask(t, e, arch.Bucket, archive.Location{}, tbl, q)
			sameAnswer(t, direct, got)
			if direct.TotalCount == 0 {
				t.Error("no match: the window misses the records it is about")
			}
		})
	}
}

// TestQueryPrunesToTheDaysAndRegionsItNames checks Athena reads only the
// folders of the one account, region and day asked about, and the next
// day's (the delivery margin), and bills their stored size.
func TestQueryPrunesToTheDaysAndRegionsItNames(t *testing.T) {
	e := newEnv(t)
	a := writeOrgArchive(t, e)
	tbl := a.table()
	e.create(t, tbl)
	day := a.first.AddDate(0, 0, 4)
	got, err := Run(context.Background(), Query{
		Client: e.athena, Database: tbl.Database, Table: tbl.Name, OutputLocation: output, Bucket: a.bucket, Location: a.location,
		AccountIDs: []string{orgAccountB}, Regions: []string{"us-west-2"}, Start: day, End: day.Add(24*time.Hour - time.Second),
		Filter: events.Filter{EventSource: events.AllEventSources},
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	var size int64
	for key, n := range a.files {
		for _, d := range []time.Time{day, day.AddDate(0, 0, 1)} {
			if strings.HasPrefix(key, a.location.DayPrefix(orgAccountB, archive.CloudTrailFolder, "us-west-2", d)) {
				want = append(want, "s3://"+a.bucket+"/"+key)
				size += n
			}
		}
	}
	slices.Sort(want)
	if len(want) != 4 || len(got.QueryExecutionIDs) != 1 {
		t.Fatalf("%d files in the two folders and %d queries: the archive is not what the test means", len(want), len(got.QueryExecutionIDs))
	}
	files, ok := e.Server.AthenaQueryFiles(got.QueryExecutionIDs[0])
	if !ok {
		t.Fatal("the sandbox does not know the query")
	}
	slices.Sort(files)
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("files read (-the two days' folders +read):\n%s", diff)
	}
	if got.BytesScanned != size {
		t.Errorf("bytes scanned = %d, want the folders' %d", got.BytesScanned, size)
	}
}

// TestEventsOutsideTheFilterFailTheQuery runs the events query with a
// WHERE clause looser than the query's filter, as SQL that drifted from
// events.Filter would be: the events it returns fail the query.
func TestEventsOutsideTheFilterFailTheQuery(t *testing.T) {
	e := newEnv(t)
	a := writeOrgArchive(t, e)
	tbl := a.table()
	e.create(t, tbl)
	q := Query{Client: e.athena, Database: tbl.Database, Table: tbl.Name, OutputLocation: output, MaxEvents: 10,
		Filter: events.Filter{EventNames: []string{"RestoreServer"}}}
	loose, err := newWindow(nil, nil, a.first, a.first.AddDate(0, 0, a.days)).clause(events.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	err = q.newest(context.Background(), loose, &Result{})
	if err == nil || !strings.Contains(err.Error(), "does not match the filter") {
		t.Fatalf("error = %v, want one naming an event the filter does not match", err)
	}
}

// TestCancelStopsTheQuery cancels a query Athena keeps running, as
// Ctrl-C does, and checks Athena was told: the query ends CANCELLED.
func TestCancelStopsTheQuery(t *testing.T) {
	e := newEnv(t, func(o *sandbox.Options) { o.AthenaQueryDelay = 3 * time.Second })
	a := writeOrgArchive(t, e)
	tbl := a.table()
	e.create(t, tbl)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	began := time.Now()
	_, err := Run(ctx, Query{
		Client: e.athena, Database: tbl.Database, Table: tbl.Name, OutputLocation: output, Bucket: a.bucket, Location: a.location,
		AccountIDs: []string{archive.Discover}, Regions: []string{archive.Discover}, Start: a.first, End: a.first.AddDate(0, 0, 1),
	})
	var stopped *StoppedError
	if !errors.As(err, &stopped) || !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want a StoppedError for context.Canceled", err)
	}
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("Run returned %s after it began, not when cancelled", took)
	}
	qe, err := e.athena.GetQueryExecution(context.Background(), &athena.GetQueryExecutionInput{QueryExecutionId: aws.String(stopped.QueryExecutionID)})
	if err != nil {
		t.Fatal(err)
	}
	if s := qe.QueryExecution.Status.State; s != types.QueryExecutionStateCancelled {
		t.Errorf("query state = %s, want CANCELLED", s)
	}
}

// TestFailedQueryKeepsAthenasReason runs a statement Athena fails and
// one it refuses.
func TestFailedQueryKeepsAthenasReason(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := Exec(ctx, e.athena, Statement{SQL: "SELECT nosuchcolumn FROM (SELECT 1 AS x)", OutputLocation: output})
	var qe *QueryError
	if !errors.As(err, &qe) || qe.State != types.QueryExecutionStateFailed || !strings.Contains(qe.Reason, "COLUMN_NOT_FOUND") ||
		qe.Category != 2 {
		t.Errorf("error = %v, want a FAILED QueryError with COLUMN_NOT_FOUND, an error in the query", err)
	}
	_, err = Exec(ctx, e.athena, Statement{SQL: "SELECT 1", OutputLocation: "s3://no-such-results-bucket/"})
	if err == nil || !strings.Contains(err.Error(), "InvalidRequestException") {
		t.Errorf("error = %v, want Athena's InvalidRequestException", err)
	}
}

// TestQueryRefusesATableThatCannotAnswer checks the table is held to the
// query: its archive, its projected accounts, regions and first day.
func TestQueryRefusesATableThatCannotAnswer(t *testing.T) {
	e := newEnv(t)
	a := writeOrgArchive(t, e)
	tbl := a.table()
	e.create(t, tbl)
	all := []string{archive.Discover}
	for name, tc := range map[string]struct {
		change func(*Query)
		want   string
	}{
		"another bucket":       {func(q *Query) { q.Bucket = "other-bucket" }, "not the archive the query names"},
		"another organization": {func(q *Query) { q.Location.OrganizationID = "o-zzzzzzzzzz" }, "not the archive the query names"},
		"an account not projected": {func(q *Query) { q.AccountIDs = []string{orgAccountA, "777788889999"} },
			"does not project the account ids 777788889999"},
		"a region not projected":   {func(q *Query) { q.Regions = []string{"ap-south-1"} }, "does not project the regions ap-south-1"},
		"a window too early":       {func(q *Query) { q.Start = a.first.AddDate(0, 0, -3) }, "before the first day table audit.org_trail projects"},
		"a missing table":          {func(q *Query) { q.Table = "missing" }, "reading the definition of table audit.missing"},
		"a filter not pushed down": {func(q *Query) { q.Filter.ResourceNames = []string{"x"} }, "not pushed down to Athena"},
	} {
		t.Run(name, func(t *testing.T) {
			q := Query{Client: e.athena, Database: tbl.Database, Table: tbl.Name, OutputLocation: output, Bucket: a.bucket,
				Location: a.location, AccountIDs: all, Regions: all, Start: a.first, End: a.first.AddDate(0, 0, 2)}
			tc.change(&q)
			_, err := Run(context.Background(), q)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// TestQueryChecksWhatItIsAsked checks a query is refused, before any
// call, for what the direct scan refuses too.
func TestQueryChecksWhatItIsAsked(t *testing.T) {
	for _, tc := range []struct {
		want   string
		change func(*Query)
	}{
		{"after end time", func(q *Query) { q.Start, q.End = q.End, q.Start }},
		{"no account id to read", func(q *Query) { q.AccountIDs = nil }},
		{`"12345" is not a valid account id`, func(q *Query) { q.AccountIDs = []string{"12345"} }},
		{"must be the only region", func(q *Query) { q.Regions = []string{archive.Discover, "us-east-1"} }},
		{`"us-east-1'" is not a valid region`, func(q *Query) { q.Regions = []string{"us-east-1'"} }},
		{"max events must not be negative", func(q *Query) { q.MaxEvents = -1 }},
	} {
		q := Query{Client: &athena.Client{}, Database: "audit", Table: "org_trail", AccountIDs: []string{archive.Discover},
			Regions: []string{"eu-west-1"}, Start: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)}
		if err := q.check(); err != nil {
			t.Fatalf("a good query: %v", err)
		}
		tc.change(&q)
		if err := q.check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}
