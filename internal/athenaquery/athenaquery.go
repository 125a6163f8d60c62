// Package athenaquery runs the archive engine's queries on Amazon Athena:
// the same question (a trail's archive, accounts, regions, a window, an
// events.Filter, the newest max events) asked of the CloudTrail table over
// the trail's bucket instead of read file by file, with the same answer.
// It also writes that table (Table), and runs statements: start, poll with
// backoff, stop when the caller gives up, page through the results.
//
// A query is two statements: a GROUP BY for the exact totals and counts,
// and, when there are matches and events are wanted, the newest events.
// Both bound the partitions they read by account, region and delivery day
// (the window's first day to the day after its last, as the direct scan
// lists folders), then test eventTime exactly, then the filter; every
// value travels as an ExecutionParameters literal. Duplicated deliveries
// are counted once by event id. Events are written back as CloudTrail
// records and parsed by the events package, which redacts them.
//
// Source IP CIDR blocks and resource names are not filters Athena's SQL
// expresses portably (Trino's IPADDRESS type and lambdas over arrays):
// a query with them is refused rather than counted inexactly.
package athenaquery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/archive"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
)

// Query is what to read from a trail's archive through its table.
type Query struct {
	Client Client
	// Database and Table name the CloudTrail table, one Table made.
	Database, Table string
	// Workgroup is DefaultWorkgroup when empty; OutputLocation, when
	// empty, is the workgroup's.
	Workgroup, OutputLocation string
	// Bucket and Location are the archive the query is about: the table
	// must read that bucket and folder.
	Bucket   string
	Location archive.Location
	// AccountIDs and Regions name the partitions read; archive.Discover
	// reads every value the table projects.
	AccountIDs []string
	Regions    []string
	// Start and End bound the events' time, both inclusive.
	Start, End time.Time
	// Filter selects events, as for archive.Run.
	Filter events.Filter
	// MaxEvents is how many of the newest matches are returned; 0 runs
	// only the counts.
	MaxEvents int
}

// Result is the archive engine's result, from Athena. Its BytesScanned is
// what Athena billed (DataScannedInBytes of every statement); the fields
// about files and listings stay zero, and events carry no log file.
type Result struct {
	archive.Result
	// QueryExecutionIDs are the statements run, counts first.
	QueryExecutionIDs []string
}

// Run asks Athena q's question. Cancelling ctx stops the running
// statement in Athena.
func Run(ctx context.Context, q Query) (*Result, error) {
	start := time.Now()
	if err := q.check(); err != nil {
		return nil, err
	}
	table, err := q.readTable(ctx)
	if err != nil {
		return nil, err
	}
	accounts, regions, err := q.partitions(table)
	if err != nil {
		return nil, err
	}
	win := newWindow(named(q.AccountIDs, accounts), named(q.Regions, regions), q.Start, q.End)
	if first := table.StartDate.UTC().Truncate(24 * time.Hour); win.firstDay.Before(first) {
		return nil, fmt.Errorf("the window starts on %s, before the first day table %s.%s projects (%s): events before "+
			"that day would not be read; recreate the table with an earlier start date, or start the window later",
			win.firstDay.Format(time.DateOnly), q.Database, q.Table, first.Format(time.DateOnly))
	}
	res := &Result{}
	res.Accounts, res.Regions = accounts, regions
	res.CountsByEventName, res.CountsByRegion, res.CountsByAccount = map[string]int{}, map[string]int{}, map[string]int{}

	w, err := win.clause(q.Filter)
	if err != nil {
		return nil, err
	}
	if err := q.count(ctx, w, res); err != nil {
		return nil, err
	}
	if q.MaxEvents > 0 && res.TotalCount > 0 {
		// No match is older than the earliest: the events query reads
		// from its day on.
		narrowed := newWindow(win.accounts, win.regions, res.EarliestEventTime, win.end)
		if w, err = narrowed.clause(q.Filter); err != nil {
			return nil, err
		}
		if err := q.newest(ctx, w, res); err != nil {
			return nil, err
		}
	}
	res.Truncated = res.TotalCount > len(res.Events)
	res.Duration = time.Since(start)
	tflog.Debug(ctx, "CloudTrail archive read through Athena", map[string]any{
		"table": q.Database + "." + q.Table, "queries": strings.Join(res.QueryExecutionIDs, ","),
		"bytes_scanned": res.BytesScanned, "matches": res.TotalCount, "duration": res.Duration.String(),
	})
	return res, nil
}

func (q *Query) check() error {
	var errs []error
	if q.Client == nil {
		errs = append(errs, errors.New("no Athena client"))
	}
	for what, name := range map[string]string{"database": q.Database, "table": q.Table} {
		if err := CheckIdentifier(what, name); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, archive.CheckWindow(q.Start, q.End),
		archive.CheckFolders("account id", q.AccountIDs, archive.AccountIDPattern.MatchString),
		archive.CheckFolders("region", q.Regions, regionPattern.MatchString))
	if q.MaxEvents < 0 {
		errs = append(errs, fmt.Errorf("max events must not be negative, got %d", q.MaxEvents))
	}
	return errors.Join(errs...)
}

// readTable reads the table's definition and checks it reads the archive
// the query names.
func (q *Query) readTable(ctx context.Context) (Table, error) {
	out, err := q.Client.GetTableMetadata(ctx, &athena.GetTableMetadataInput{
		CatalogName: aws.String(Catalog), DatabaseName: aws.String(q.Database), TableName: aws.String(q.Table),
	})
	if err != nil {
		return Table{}, fmt.Errorf("reading the definition of table %s.%s: %w", q.Database, q.Table, err)
	}
	t, err := TableFromMetadata(q.Database, out.TableMetadata)
	if err != nil {
		return Table{}, err
	}
	if want := locationTemplate(q.Bucket, q.Location); t.LocationTemplate() != want {
		return Table{}, fmt.Errorf("table %s.%s reads %s, not the archive the query names (%s): name the table made "+
			"for this trail's bucket, prefix and organization", q.Database, q.Table, t.LocationTemplate(), want)
	}
	return t, nil
}

// partitions resolves the accounts and regions to read against the
// table's projection: a value it does not project would read nothing,
// silently, so it is an error.
func (q *Query) partitions(t Table) (accounts, regions []string, err error) {
	pick := func(what string, asked, projected []string, argument string) ([]string, error) {
		if len(asked) == 1 && asked[0] == archive.Discover {
			return sortedUnique(projected), nil
		}
		var missing []string
		for _, v := range asked {
			if !slices.Contains(projected, v) {
				missing = append(missing, v)
			}
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("table %s.%s does not project the %s %s (it projects %s): add them to its %s, or "+
				"leave them out of the query", q.Database, q.Table, what, strings.Join(missing, ", "),
				strings.Join(projected, ", "), argument)
		}
		return sortedUnique(asked), nil
	}
	if accounts, err = pick("account ids", q.AccountIDs, t.AccountIDs, "account_ids"); err != nil {
		return nil, nil, err
	}
	if regions, err = pick("regions", q.Regions, t.Regions, "regions"); err != nil {
		return nil, nil, err
	}
	return accounts, regions, nil
}

// named is the values to write into the query: nil, for no predicate,
// when every projected value is read.
func named(asked, resolved []string) []string {
	if len(asked) == 1 && asked[0] == archive.Discover {
		return nil
	}
	return resolved
}

// run runs one statement of the query and adds what it scanned.
func (q *Query) run(ctx context.Context, sql string, params []string, res *Result) (string, error) {
	st := Statement{SQL: sql, Parameters: params, Database: q.Database, Workgroup: q.Workgroup, OutputLocation: q.OutputLocation}
	tflog.Debug(ctx, "Athena query", map[string]any{"sql": sql, "parameters": strings.Join(params, ", ")})
	id, err := Start(ctx, q.Client, st)
	if err != nil {
		return "", err
	}
	res.QueryExecutionIDs = append(res.QueryExecutionIDs, id)
	qe, err := Wait(ctx, q.Client, id)
	if err != nil {
		return "", err
	}
	if s := qe.Statistics; s != nil {
		res.BytesScanned += aws.ToInt64(s.DataScannedInBytes)
	}
	return id, nil
}

// count runs the GROUP BY query and sums its groups.
func (q *Query) count(ctx context.Context, w *where, res *Result) error {
	id, err := q.run(ctx, countsSQL(tableRef(q.Database, q.Table), w), w.params, res)
	if err != nil {
		return err
	}
	return Rows(ctx, q.Client, id, countColumns, func(row []*string) error {
		n, err := strconv.Atoi(aws.ToString(row[3]))
		if err != nil {
			return fmt.Errorf("reading the results of Athena query %s: a count of %q", id, aws.ToString(row[3]))
		}
		earliest, err1 := parseTime(row[4])
		latest, err2 := parseTime(row[5])
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("reading the results of Athena query %s: %w", id, err)
		}
		res.TotalCount += n
		res.CountsByEventName[aws.ToString(row[0])] += n
		res.CountsByRegion[aws.ToString(row[1])] += n
		res.CountsByAccount[aws.ToString(row[2])] += n
		if res.EarliestEventTime.IsZero() || earliest.Before(res.EarliestEventTime) {
			res.EarliestEventTime = earliest
		}
		if latest.After(res.LatestEventTime) {
			res.LatestEventTime = latest
		}
		return nil
	})
}

// parseTime reads to_iso8601's answer, with milliseconds.
func parseTime(v *string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, aws.ToString(v))
	if err != nil {
		return time.Time{}, fmt.Errorf("an event time of %q", aws.ToString(v))
	}
	return t.UTC(), nil
}

// newest runs the events query. Its WHERE clause says again in SQL what
// events.Filter says in Go; an event the filter does not match means the
// two disagree, and fails the query rather than reaching a report.
func (q *Query) newest(ctx context.Context, w *where, res *Result) error {
	params := append(slices.Clone(w.params), strconv.Itoa(q.MaxEvents))
	id, err := q.run(ctx, eventsSQL(tableRef(q.Database, q.Table), w), params, res)
	if err != nil {
		return err
	}
	return Rows(ctx, q.Client, id, eventColumns, func(row []*string) error {
		ev, err := parseRow(row)
		if err != nil {
			return fmt.Errorf("reading the results of Athena query %s: %w", id, err)
		}
		if !q.Filter.Match(&ev) {
			return fmt.Errorf("event %s, returned by Athena query %s, does not match the filter: "+
				"the query's SQL and the events filter disagree", ev.EventID, id)
		}
		res.Events = append(res.Events, ev)
		return nil
	})
}

var _ Client = (*athena.Client)(nil)
