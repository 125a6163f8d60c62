package athena_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/athena/types"
	"github.com/google/go-cmp/cmp"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

// events returns the events of the files that match, duplicates
// included, as a table reads them.
func (a *archive) events(match func(logFile) bool) []event {
	var out []event
	for _, lf := range a.where(match) {
		out = append(out, lf.events...)
	}
	return out
}

func sortRows(rows [][]string) [][]string {
	sort.Slice(rows, func(i, j int) bool { return strings.Join(rows[i], "\x00") < strings.Join(rows[j], "\x00") })
	return rows
}

func day(offset int) string { return sandboxtest.Now.AddDate(0, 0, offset).Format("2006/01/02") }

func TestSelectReadsRecordsAsTheHiveJSONSerDe(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	a := f.putArchive(t)
	f.createOrgTable(t)

	got := f.query(t, `SELECT eventid, eventname, eventtime, useridentity.arn, useridentity.sessioncontext.sessionissuer.arn,
		requestparameters, responseelements, readonly, resources[1].arn, resources[1].type, errorcode, account, region, "timestamp"
		FROM cloudtrail_logs WHERE account = '111122223333' AND region = 'us-east-1' AND "timestamp" = ?`, "'"+day(-1)+"'")

	var want [][]string
	for _, lf := range a.where(func(lf logFile) bool { return lf.account == accountA && lf.region == "us-east-1" && lf.day == day(-1) }) {
		for _, ev := range lf.events {
			rec := makeRecord(ev)
			params, err := json.Marshal(rec["requestParameters"])
			if err != nil {
				t.Fatal(err)
			}
			res := rec["resources"].([]any)[0].(map[string]any)
			want = append(want, []string{ev.id, ev.name, ev.time.UTC().Format(time.RFC3339), "arn:aws:sts::" + ev.account + ":assumed-role/" + ev.user + "/session",
				"arn:aws:iam::" + ev.account + ":role/" + ev.user, string(params), null, strconv.FormatBool(ev.readOnly), res["ARN"].(string), res["type"].(string), null,
				accountA, "us-east-1", day(-1)})
		}
	}
	if len(want) != 8 {
		t.Fatalf("the fixture has %d records in the folder, want 2 files of 3, a late record and a duplicate", len(want))
	}
	if diff := cmp.Diff(sortRows(want), sortRows(got)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestPartitionPruning(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	a := f.putArchive(t)
	f.createOrgTable(t)

	for _, tc := range []struct {
		name   string
		where  string
		params []string
		want   func(logFile) bool
	}{{
		name:  "one day, one region, one account",
		where: "account = '111122223333' AND region = 'us-east-1' AND timestamp = '" + day(0) + "'",
		want:  func(lf logFile) bool { return lf.account == accountA && lf.region == "us-east-1" && lf.day == day(0) },
	}, {
		name:   "parameters",
		where:  "account IN (?, ?) AND region = ? AND timestamp BETWEEN ? AND ?",
		params: []string{"'" + accountA + "'", "'" + accountB + "'", "'eu-west-1'", "'" + day(-1) + "'", "'" + day(0) + "'"},
		want:   func(lf logFile) bool { return projected(lf) && lf.region == "eu-west-1" && lf.day >= day(-1) },
	}, {
		name:  "no bound on the date: every projected day, from the range's start to NOW",
		where: "account = '111122223333' AND region = 'us-east-1'",
		want:  func(lf logFile) bool { return lf.account == accountA && lf.region == "us-east-1" },
	}, {
		name:  "no partition predicate: the projected accounts only",
		where: "eventname <> 'nothing'",
		want:  projected,
	}, {
		name:  "a predicate over two partition columns",
		where: "((account = '111122223333' AND region = 'eu-west-1') OR (account = '444455556666' AND region = 'us-east-1')) AND timestamp >= '" + day(0) + "'",
		want: func(lf logFile) bool {
			return lf.day == day(0) && ((lf.account == accountA && lf.region == "eu-west-1") || (lf.account == accountB && lf.region == "us-east-1"))
		},
	}, {
		name:  "a disjunction with a data column prunes nothing on its columns",
		where: "(region = 'us-east-1' OR eventname = 'CreateServer') AND account = '444455556666' AND timestamp = '" + day(-2) + "'",
		want:  func(lf logFile) bool { return lf.account == accountB && lf.day == day(-2) },
	}, {
		name:  "functions of partition columns",
		where: "substr(region, 1, 2) = 'eu' AND lower(account) = '444455556666' AND date_diff('day', CAST(replace(timestamp, '/', '-') AS date), current_date) < 1",
		want:  func(lf logFile) bool { return lf.account == accountB && lf.region == "eu-west-1" && lf.day == day(0) },
	}} {
		t.Run(tc.name, func(t *testing.T) {
			id := f.succeed(t, "audit", "SELECT count(*) FROM cloudtrail_logs WHERE "+tc.where, tc.params...)
			files, ok := f.e.Server.AthenaQueryFiles(id)
			if !ok {
				t.Fatalf("AthenaQueryFiles(%s): unknown query", id)
			}
			sort.Strings(files)
			want := a.where(tc.want)
			if diff := cmp.Diff(urls(want), files); diff != "" {
				t.Errorf("files read (-want +got):\n%s", diff)
			}
			var size int64
			for _, lf := range want {
				size += lf.size
			}
			qe := f.wait(t, id)
			if got := aws.ToInt64(qe.Statistics.DataScannedInBytes); got != size {
				t.Errorf("DataScannedInBytes = %d, want %d, the size of the files read", got, size)
			}
		})
	}
}

func TestInjectedProjection(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	a := f.putArchive(t)
	f.succeed(t, "", "CREATE DATABASE audit")
	f.succeed(t, "", `CREATE EXTERNAL TABLE audit.by_account (eventid string, eventname string)
		PARTITIONED BY (account string, day string)
		ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'
		STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat' OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
		LOCATION 's3://org-trail/AWSLogs/o-exampleorg/'
		TBLPROPERTIES ('projection.enabled'='true', 'projection.account.type'='injected',
		  'projection.day.type'='date', 'projection.day.format'='yyyy/MM/dd', 'projection.day.range'='NOW-2DAYS,NOW',
		  'storage.location.template'='s3://org-trail/AWSLogs/o-exampleorg/${account}/CloudTrail/us-east-1/${day}')`)
	if reason := f.fail(t, "audit", "SELECT count(*) FROM by_account"); !strings.HasPrefix(reason, "CONSTRAINT_VIOLATION: For the injected projected partition column account") {
		t.Errorf("a query without the injected column's value: %s", reason)
	}
	rows := f.query(t, "SELECT count(*) FROM by_account WHERE account = ? AND day >= ?", "'"+accountC+"'", "'"+day(-1)+"'")
	want := a.events(func(lf logFile) bool { return lf.account == accountC && lf.region == "us-east-1" && lf.day >= day(-1) })
	if rows[0][0] != strconv.Itoa(len(want)) {
		t.Errorf("count = %s, want %d", rows[0][0], len(want))
	}
}

// archiveQuery is the shape of the query an engine pushes an archive
// search down as: every filter a parameter.
const archiveQuery = `SELECT eventtime, eventname, eventid, useridentity.arn AS arn
FROM audit.cloudtrail_logs
WHERE account IN (?, ?) AND region IN (?, ?) AND timestamp BETWEEN ? AND ?
  AND from_iso8601_timestamp(eventtime) BETWEEN from_iso8601_timestamp(?) AND from_iso8601_timestamp(?)
  AND eventsource = ? AND eventname IN (?, ?, ?)
  AND (useridentity.arn IN (?) OR useridentity.sessioncontext.sessionissuer.arn IN (?))
  AND readonly = 'true'
ORDER BY eventtime DESC, eventid
LIMIT 100`

func TestArchiveSearchPushedDown(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	a := f.putArchive(t)
	f.createOrgTable(t)
	from, to := sandboxtest.Now.AddDate(0, 0, -1).Truncate(24*time.Hour), sandboxtest.Now
	id := f.succeed(t, "", archiveQuery,
		"'"+accountA+"'", "'"+accountB+"'", "'us-east-1'", "'eu-west-1'", "'"+day(-1)+"'", "'"+day(0)+"'",
		"'"+from.Format(time.RFC3339)+"'", "'"+to.Format(time.RFC3339)+"'",
		"'opsworks-cm.amazonaws.com'", "'DescribeServers'", "'ExportServerEngineAttribute'", "'CreateServer'",
		"'arn:aws:sts::"+accountA+":assumed-role/auditor/session'", "'arn:aws:iam::"+accountB+":role/auditor'")
	rows, cols := f.rows(t, id, 1000)

	var want [][]string
	for _, ev := range a.events(func(lf logFile) bool { return projected(lf) && lf.day >= day(-1) }) {
		if ev.time.Before(from) || ev.time.After(to) || !ev.readOnly || ev.user != "auditor" {
			continue
		}
		want = append(want, []string{ev.time.UTC().Format(time.RFC3339), ev.name, ev.id, "arn:aws:sts::" + ev.account + ":assumed-role/auditor/session"})
	}
	sort.Slice(want, func(i, j int) bool {
		if want[i][0] != want[j][0] {
			return want[i][0] > want[j][0]
		}
		return want[i][2] < want[j][2]
	})
	if len(want) < 3 {
		t.Fatalf("the fixture matches %d events, too few to test", len(want))
	}
	if diff := cmp.Diff(append([][]string{{"eventtime", "eventname", "eventid", "arn"}}, want...), rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	for _, c := range cols {
		if aws.ToString(c.Type) != "varchar" {
			t.Errorf("column %s is %s, want varchar", aws.ToString(c.Name), aws.ToString(c.Type))
		}
	}
}

func TestGroupByCounts(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	a := f.putArchive(t)
	f.createOrgTable(t)
	id := f.succeed(t, "audit", `SELECT account, region, eventname, count(*) FROM cloudtrail_logs
		WHERE timestamp BETWEEN ? AND ? GROUP BY account, region, eventname ORDER BY 1, 2, 3`, "'"+day(-2)+"'", "'"+day(0)+"'")
	rows, cols := f.rows(t, id, 1000)
	counts := map[[3]string]int{}
	for _, ev := range a.events(projected) {
		counts[[3]string{ev.account, ev.region, ev.name}]++
	}
	want := [][]string{{"account", "region", "eventname", "_col3"}}
	for k, n := range counts {
		want = append(want, []string{k[0], k[1], k[2], strconv.Itoa(n)})
	}
	sort.Slice(want[1:], func(i, j int) bool { return strings.Join(want[1+i][:3], " ") < strings.Join(want[1+j][:3], " ") })
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	var typesGot []string
	for _, c := range cols {
		typesGot = append(typesGot, aws.ToString(c.Type))
	}
	if diff := cmp.Diff([]string{"varchar", "varchar", "varchar", "bigint"}, typesGot); diff != "" {
		t.Errorf("column types (-want +got):\n%s", diff)
	}
}

func TestTrinoFunctions(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	f.putArchive(t)
	f.createOrgTable(t)
	// The first record of account A's first log file in us-east-1 today.
	where := ` FROM cloudtrail_logs WHERE account = '111122223333' AND region = 'us-east-1' AND timestamp = '` + day(0) + `' AND eventid = '00000013-0000-4000-8000-000000000013'`
	for _, tc := range []struct{ expr, want, typ string }{
		{"json_extract_scalar(requestparameters, '$.serverName')", "srv-0013", "varchar"},
		{"json_extract_scalar(requestparameters, '$')", null, "varchar"},
		{"json_extract_scalar(useragent, '$.x')", null, "varchar"},
		{"json_extract(requestparameters, '$.engine')", `"ChefAutomate"`, "json"},
		{"json_format(json_parse(requestparameters))", `{"engine":"ChefAutomate","serverName":"srv-0013"}`, "varchar"},
		{"json_array_contains('[\"a\", \"b\"]', 'b')", "true", "boolean"},
		{"from_iso8601_timestamp(eventtime)", "2025-06-15 01:53:00.000 UTC", "timestamp with time zone"},
		{"from_iso8601_timestamp(eventtime) > timestamp '2025-06-15 01:00:00 UTC'", "true", "boolean"},
		{"date_format(from_iso8601_timestamp(eventtime), '%Y/%m/%d %H:%i:%s')", "2025/06/15 01:53:00", "varchar"},
		{"to_unixtime(from_iso8601_timestamp(eventtime))", "1.74995238E9", "double"},
		{"date_diff('hour', from_iso8601_timestamp(eventtime), from_iso8601_timestamp('2025-06-15T12:00:00Z'))", "10", "bigint"},
		{"date_add('day', 1, from_iso8601_timestamp(eventtime))", "2025-06-16 01:53:00.000 UTC", "timestamp with time zone"},
		{"lower(eventname)", "describeservers", "varchar"},
		{"coalesce(errorcode, 'none')", "none", "varchar"},
		{"cardinality(resources)", "1", "bigint"},
		{"element_at(resources, 1).type", "AWS::OpsWorksCM::Server", "varchar"},
		{"resources", "[{arn=arn:aws:opsworks-cm:us-east-1:111122223333:server/srv-0013, accountid=111122223333, type=AWS::OpsWorksCM::Server}]", "array"},
		{"useridentity.sessioncontext.attributes AS Attrs", "{mfaauthenticated=false, creationdate=2025-06-15T00:53:00Z}", "row"},
		{"cast(readonly AS boolean)", "true", "boolean"},
		{"regexp_like(eventname, '^Describe')", "true", "boolean"},
		{"regexp_replace(eventname, '(Server)', '<$1>')", "Describe<Server>s", "varchar"},
		{"split_part(eventsource, '.', 1)", "opsworks-cm", "varchar"},
		{"length(eventname)", "15", "bigint"},
		{"5 / 2", "2", "integer"},
		{"1.0E20", "1.0E20", "double"},
		{"0.25E0", "0.25", "double"},
		{"CAST(NULL AS varchar)", null, "varchar"},
		{"''", "", "varchar"},
		{"CAST(ARRAY['a', 'b'] AS ARRAY(varchar))", "[a, b]", "array"},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			id := f.succeed(t, "audit", "SELECT "+tc.expr+where)
			rows, cols := f.rows(t, id, 10)
			if len(rows) != 2 {
				t.Fatalf("rows = %v, want a header and one row", rows)
			}
			// Trino names a column after what it selects, an alias in lower
			// case, an expression by its position.
			name := map[string]string{"resources": "resources", "useridentity.sessioncontext.attributes AS Attrs": "attrs"}[tc.expr]
			if name == "" {
				name = "_col0"
			}
			if aws.ToString(cols[0].Name) != name || rows[0][0] != name {
				t.Errorf("column named %s (header %s), want %s", aws.ToString(cols[0].Name), rows[0][0], name)
			}
			if rows[1][0] != tc.want {
				t.Errorf("value = %q, want %q", rows[1][0], tc.want)
			}
			if got := aws.ToString(cols[0].Type); got != tc.typ {
				t.Errorf("type = %s, want %s", got, tc.typ)
			}
		})
	}
	rows := f.query(t, "SELECT arbitrary(region), approx_distinct(eventname), count_if(readonly = 'true'), array_join(array_agg(DISTINCT region), ',')"+where)
	if diff := cmp.Diff([][]string{{"us-east-1", "1", "1", "us-east-1"}}, rows); diff != "" {
		t.Errorf("aggregates (-want +got):\n%s", diff)
	}
	rows = f.query(t, "SELECT now(), current_date")
	if diff := cmp.Diff([][]string{{"2025-06-15 12:00:00.000 UTC", "2025-06-15"}}, rows); diff != "" {
		t.Errorf("now() and current_date are the sandbox's clock (-want +got):\n%s", diff)
	}
}

func TestQueryFailures(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	f.createOrgTable(t)
	ctx := context.Background()
	for _, tc := range []struct {
		query, reason string
		params        []string
	}{
		{query: "SELECT nosuchcolumn FROM cloudtrail_logs", reason: "COLUMN_NOT_FOUND: "},
		{query: "SELECT eventname\nFROM   nope", reason: "TABLE_NOT_FOUND: line 2:8: Table 'awsdatacatalog.audit.nope' does not exist"},
		{query: "SELECT 1 FROM elsewhere.t", reason: "SCHEMA_NOT_FOUND: line 1:15: Schema 'elsewhere' does not exist"},
		{query: "SELECT nosuchfunction(eventname) FROM cloudtrail_logs", reason: "FUNCTION_NOT_FOUND: "},
		{query: "SELECT 1 FROM cloudtrail_logs WHERE account = ?", reason: "INVALID_PARAMETER_USAGE: Incorrect number of parameters: expected 1 but found 2", params: []string{"'a'", "'b'"}},
		{query: "SELECT CAST('x' AS integer)", reason: "INVALID_CAST_ARGUMENT: "},
	} {
		id := f.start(t, "audit", tc.query, tc.params...)
		qe := f.wait(t, id)
		if qe.Status.State != types.QueryExecutionStateFailed || !strings.HasPrefix(aws.ToString(qe.Status.StateChangeReason), tc.reason) {
			t.Errorf("%q: %s %q, want FAILED %q", tc.query, qe.Status.State, aws.ToString(qe.Status.StateChangeReason), tc.reason)
			continue
		}
		if e := qe.Status.AthenaError; e == nil || aws.ToInt32(e.ErrorCategory) != 2 || aws.ToString(e.ErrorMessage) != aws.ToString(qe.Status.StateChangeReason) {
			t.Errorf("%q: AthenaError = %+v, want a user error with the reason", tc.query, e)
		}
		_, err := f.c.GetQueryResults(ctx, &athena.GetQueryResultsInput{QueryExecutionId: aws.String(id)})
		wantInvalidRequest(t, err, "INVALID_QUERY_EXECUTION_STATE", "Query did not finish successfully. Final query state: FAILED")
	}

	for _, tc := range []struct{ query, message string }{
		{"SELEC 1", "line 1:1: mismatched input 'SELEC'"},
		{"SELECT eventname FROM cloudtrail_logs WHERE", "line 1:"},
		{"SELECT `eventname` FROM cloudtrail_logs", "backquoted identifiers are not supported"},
		{"SELECT 1; SELECT 2", "mismatched input ';'"},
	} {
		_, err := f.tryStart("audit", tc.query)
		wantInvalidRequest(t, err, "MALFORMED_QUERY", tc.message)
	}

	start := func(in *athena.StartQueryExecutionInput) error {
		_, err := f.c.StartQueryExecution(ctx, in)
		return err
	}
	wantInvalidRequest(t, start(&athena.StartQueryExecutionInput{QueryString: aws.String("SELECT 1")}), "INVALID_INPUT",
		"No output location provided. An output location is required either through the Workgroup result configuration setting or as an API input.")
	wantInvalidRequest(t, start(&athena.StartQueryExecutionInput{QueryString: aws.String("SELECT 1"), ResultConfiguration: &types.ResultConfiguration{OutputLocation: aws.String("results/")}}),
		"INVALID_INPUT", "outputLocation is not a valid S3 path.")
	wantInvalidRequest(t, start(&athena.StartQueryExecutionInput{QueryString: aws.String("SELECT 1"), ResultConfiguration: &types.ResultConfiguration{OutputLocation: aws.String("s3://no-such-bucket/")}}),
		"INVALID_INPUT", "Unable to verify/create output bucket no-such-bucket")
	wantInvalidRequest(t, start(&athena.StartQueryExecutionInput{QueryString: aws.String("SELECT 1"), QueryExecutionContext: &types.QueryExecutionContext{Catalog: aws.String("lambda_catalog")},
		ResultConfiguration: &types.ResultConfiguration{OutputLocation: aws.String(output)}}), "DATACATALOG_NOT_FOUND", "Catalog 'lambda_catalog' does not exist")
	wantInvalidRequest(t, start(&athena.StartQueryExecutionInput{QueryString: aws.String("SELECT 1"), WorkGroup: aws.String("analysts"), ResultConfiguration: &types.ResultConfiguration{OutputLocation: aws.String(output)}}),
		"INVALID_INPUT", "WorkGroup is not found.")
	_, err := f.c.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: aws.String("00000000-0000-4000-8000-000000000000")})
	wantInvalidRequest(t, err, "QUERY_EXECUTION_NOT_FOUND", "QueryExecution 00000000-0000-4000-8000-000000000000 was not found")
}

func TestCorruptLogFileFailsTheQuery(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	f.createOrgTable(t)
	key := orgKey(accountA, "us-east-1", sandboxtest.Now, 1)
	f.putObject(t, key, []byte("not gzip"))
	reason := f.fail(t, "audit", "SELECT count(*) FROM cloudtrail_logs WHERE timestamp = ?", "'"+day(0)+"'")
	if want := fmt.Sprintf("HIVE_CURSOR_ERROR: Error reading s3://%s/%s", trailBucket, key); !strings.HasPrefix(reason, want) {
		t.Errorf("reason = %q, want %q...", reason, want)
	}
}

func TestQueryShapes(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	a := f.putArchive(t)
	f.createOrgTable(t)
	today := func(lf logFile) bool { return lf.account == accountA && lf.region == "us-east-1" && lf.day == day(0) }
	where := " WHERE account = '111122223333' AND region = 'us-east-1' AND timestamp = '" + day(0) + "'"
	n := len(a.events(today))
	for _, tc := range []struct {
		name, query string
		want        [][]string
	}{{
		name:  "UNNEST of an array of rows",
		query: "SELECT count(*), count(DISTINCT r.type) FROM cloudtrail_logs CROSS JOIN UNNEST(resources) AS u(r)" + where,
		want:  [][]string{{strconv.Itoa(n), "1"}},
	}, {
		name:  "a self join through a common table expression",
		query: "WITH t AS (SELECT eventid, eventname FROM cloudtrail_logs" + where + ") SELECT count(*) FROM t a JOIN t b ON a.eventid = b.eventid",
		want:  [][]string{{strconv.Itoa(n)}},
	}, {
		name:  "UNION ALL, if, try, greatest",
		query: "SELECT if(readonly = 'true', 'r', 'w'), try(CAST(useragent AS integer)), greatest(1, 2) FROM cloudtrail_logs" + where + " AND eventid = '00000013-0000-4000-8000-000000000013' UNION ALL SELECT 'x', NULL, 3",
		want:  [][]string{{"r", null, "2"}, {"x", null, "3"}},
	}, {
		name:  "a window and min_by",
		query: "SELECT max(rn), min_by(eventid, eventtime) FROM (SELECT eventid, eventtime, row_number() OVER (ORDER BY eventtime) AS rn FROM cloudtrail_logs" + where + ")",
		want:  [][]string{{strconv.Itoa(n), "00000015-0000-4000-8000-000000000015"}},
	}, {
		name:  "LIKE and a map subscript of a missing key",
		query: "SELECT count(*) FROM cloudtrail_logs" + where + " AND eventname LIKE 'Describe%' AND useridentity.sessioncontext.webidfederationdata.attributes['k'] IS NULL",
		want:  [][]string{{strconv.Itoa(countWhere(a.events(today), func(ev event) bool { return strings.HasPrefix(ev.name, "Describe") }))}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, f.query(t, tc.query)); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

func countWhere(events []event, match func(event) bool) int {
	n := 0
	for _, ev := range events {
		if match(ev) {
			n++
		}
	}
	return n
}

func TestPartitionLimit(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	f.succeed(t, "", "CREATE DATABASE audit")
	f.succeed(t, "", `CREATE EXTERNAL TABLE audit.wide (a string) PARTITIONED BY (x int, y int)
		ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' LOCATION 's3://org-trail/wide/'
		TBLPROPERTIES ('projection.enabled'='true', 'projection.x.type'='integer', 'projection.x.range'='0,1999',
		  'projection.y.type'='integer', 'projection.y.range'='0,999', 'projection.y.digits'='4')`)
	if reason := f.fail(t, "audit", "SELECT count(*) FROM wide"); !strings.HasPrefix(reason, "HIVE_EXCEEDED_PARTITION_LIMIT: Query over table 'audit.wide' can potentially read more than 1000000 partitions") {
		t.Errorf("an unbounded query over 2,000,000 partitions: %s", reason)
	}
	f.putObject(t, "wide/x=7/y=0042/part.json", []byte(`{"a": "seven"}`+"\n"+`{"A": "forty-two"}`))
	rows := f.query(t, "SELECT a, x, y FROM wide WHERE x = 7 AND y BETWEEN 40 AND 45 ORDER BY a")
	if diff := cmp.Diff([][]string{{"forty-two", "7", "42"}, {"seven", "7", "42"}}, rows); diff != "" {
		t.Errorf("rows of Hive's column=value layout, integer partitions (-want +got):\n%s", diff)
	}
}
