package athenaquery

import (
	"fmt"
	"strings"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
)

// The statements are written in Athena's (Trino's) SQL, and only with
// what Trino documents, so that the sandbox and Athena read them alike:
// every value a user gave travels as an ExecutionParameters literal; only
// the database and table names, checked by CheckIdentifier, are written
// into the text, quoted.

// where is a WHERE clause being built, with its parameters in the order
// of their markers.
type where struct {
	conds  []string
	params []string
}

func (w *where) add(cond string, params ...string) {
	w.conds = append(w.conds, cond)
	w.params = append(w.params, params...)
}

// in adds expr IN (?, ...) over values.
func (w *where) in(expr string, values []string) {
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(values)), ", ")
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = Quote(v)
	}
	w.add(expr+" IN ("+marks+")", quoted...)
}

func (w *where) String() string { return "WHERE " + strings.Join(w.conds, "\n  AND ") }

// eventTime is a record's eventTime as a timestamp.
const eventTime = "from_iso8601_timestamp(eventtime)"

// accountExpr is the account an event is counted under, as the events
// package reads it: the caller's account, else the account that received
// the call.
const accountExpr = "coalesce(nullif(useridentity.accountid, ''), recipientaccountid)"

// usernameExpr is the user name as the events package derives it from a
// record's userIdentity: root, the invoking service, the IAM user name,
// else what follows the ARN's last "/" (an assumed role's session name),
// else empty, never NULL, so that a filter on "" matches as in Go.
const usernameExpr = `CASE
    WHEN useridentity.type = 'Root' THEN 'root'
    WHEN useridentity.type = 'AWSService' THEN coalesce(useridentity.invokedby, '')
    WHEN coalesce(useridentity.username, '') <> '' THEN useridentity.username
    WHEN strpos(useridentity.arn, '/') > 0 THEN element_at(split(useridentity.arn, '/'), -1)
    ELSE ''
  END`

// timestampLiteral is t as a TIMESTAMP literal with time zone, to the
// millisecond, Athena's precision.
func timestampLiteral(t time.Time) string {
	return "TIMESTAMP '" + t.UTC().Format("2006-01-02 15:04:05.000") + " UTC'"
}

// window is what a query reads: the partitions and the exact time bounds.
type window struct {
	accounts, regions []string // nil: every projected value
	// firstDay and lastDay are the delivery days read, lastDay one past
	// the end's day: a record is delivered after it happened, often in
	// the next day's folder.
	firstDay, lastDay time.Time
	// start and end bound eventTime, inclusive.
	start, end time.Time
}

// newWindow is the window from start to end. Events are whole seconds
// (milliseconds at most), so rounding start up and end down to the
// millisecond keeps exactly the events the direct scan keeps.
func newWindow(accounts, regions []string, start, end time.Time) window {
	start, end = start.UTC(), end.UTC()
	if t := start.Truncate(time.Millisecond); t.Before(start) {
		start = t.Add(time.Millisecond)
	}
	end = end.Truncate(time.Millisecond)
	return window{
		accounts: accounts, regions: regions,
		firstDay: start.Truncate(24 * time.Hour),
		lastDay:  end.Truncate(24*time.Hour).AddDate(0, 0, 1),
		start:    start, end: end,
	}
}

// clause builds the WHERE clause: the partitions first, so that they
// bound what is scanned, then the time and the filter.
func (win window) clause(f events.Filter) (*where, error) {
	if len(f.SourceIPCIDRs) > 0 || len(f.ResourceNames) > 0 {
		return nil, fmt.Errorf("filters by source IP CIDR block and by resource name are not pushed down to Athena: " +
			"read the archive directly to use them")
	}
	w := &where{}
	if win.accounts != nil {
		w.in(accountColumn, win.accounts)
	}
	if win.regions != nil {
		w.in(regionColumn, win.regions)
	}
	w.add(`"`+dayColumn+`" BETWEEN ? AND ?`, Quote(win.firstDay.Format(dayFormat)), Quote(win.lastDay.Format(dayFormat)))
	w.add(eventTime+" BETWEEN ? AND ?", timestampLiteral(win.start), timestampLiteral(win.end))
	if s := f.EventSource; s != events.AllEventSources {
		if s == "" {
			s = events.DefaultEventSource
		}
		w.add("eventsource = ?", Quote(s))
	}
	if len(f.EventNames) > 0 {
		w.in("eventname", f.EventNames)
	}
	if len(f.Usernames) > 0 {
		w.in(usernameExpr, f.Usernames)
	}
	if len(f.PrincipalARNs) > 0 {
		arns := &where{}
		arns.in("useridentity.arn", f.PrincipalARNs)
		arns.in("useridentity.sessioncontext.sessionissuer.arn", f.PrincipalARNs)
		w.add("("+strings.Join(arns.conds, " OR ")+")", arns.params...)
	}
	if f.ReadOnly != nil {
		w.add("(coalesce(readonly, '') = 'true') = ?", fmt.Sprint(*f.ReadOnly))
	}
	if len(f.ErrorCodes) > 0 {
		w.in("coalesce(errorcode, '')", f.ErrorCodes)
	}
	return w, nil
}

// Columns of the counts query.
var countColumns = []string{"eventname", "awsregion", "account_id", "events", "earliest", "latest"}

// countsSQL counts the matches by event name, region and account. Each
// event id counts once, as CloudTrail may deliver a record twice; events
// without an id (none of CloudTrail's) count each time, as in the
// direct scan.
func countsSQL(table string, w *where) string {
	return fmt.Sprintf(`SELECT eventname, awsregion, %[1]s AS account_id,
  count(DISTINCT nullif(eventid, '')) + sum(CASE WHEN coalesce(eventid, '') = '' THEN 1 ELSE 0 END) AS events,
  to_iso8601(min(%[2]s)) AS earliest,
  to_iso8601(max(%[2]s)) AS latest
FROM %[3]s
%[4]s
GROUP BY eventname, awsregion, %[1]s`, accountExpr, eventTime, table, w)
}

// eventsSQL selects the newest matches, each event id once, newest first
// and ties by event id, as the direct scan orders them. Its last
// parameter is the limit.
func eventsSQL(table string, w *where) string {
	exprs := make([]string, len(recordFields))
	names := make([]string, len(recordFields))
	for i, f := range recordFields {
		exprs[i] = f.expr + " AS " + f.column()
		names[i] = f.column()
	}
	return fmt.Sprintf(`WITH matches AS (
  SELECT %s,
    row_number() OVER (PARTITION BY eventid ORDER BY %s, %s, "%s") AS copy
  FROM %s
  %s
)
SELECT %s
FROM matches
WHERE copy = 1 OR coalesce(eventid, '') = ''
ORDER BY %s DESC, eventid
LIMIT ?`, strings.Join(exprs, ",\n    "), accountColumn, regionColumn, dayColumn, table, w,
		strings.Join(names, ", "), eventTime)
}

// tableRef is a table's name in a query.
func tableRef(database, table string) string {
	return `"` + database + `"."` + table + `"`
}
