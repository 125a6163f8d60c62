package athena_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/athena/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

func TestStopQueryExecution(t *testing.T) {
	f := newFixture(t, sandbox.Options{AthenaQueryDelay: time.Minute})
	ctx := context.Background()
	id := f.start(t, "", "SELECT 1")
	deadline := time.Now().Add(10 * time.Second)
	for {
		qe, err := f.c.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		if qe.QueryExecution.Status.State == types.QueryExecutionStateRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("query still %s", qe.QueryExecution.Status.State)
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, err := f.c.GetQueryResults(ctx, &athena.GetQueryResultsInput{QueryExecutionId: aws.String(id)})
	wantInvalidRequest(t, err, "INVALID_QUERY_EXECUTION_STATE", "Query has not yet finished. Current state: RUNNING")

	if _, err := f.c.StopQueryExecution(ctx, &athena.StopQueryExecutionInput{QueryExecutionId: aws.String(id)}); err != nil {
		t.Fatalf("StopQueryExecution: %v", err)
	}
	qe := f.wait(t, id)
	if qe.Status.State != types.QueryExecutionStateCancelled || aws.ToString(qe.Status.StateChangeReason) != "Query cancelled by user" || qe.Status.CompletionDateTime == nil {
		t.Errorf("status = %+v, want CANCELLED by the user", qe.Status)
	}
	_, err = f.c.GetQueryResults(ctx, &athena.GetQueryResultsInput{QueryExecutionId: aws.String(id)})
	wantInvalidRequest(t, err, "RESULT_NOT_FOUND", "Could not find results")
	// Stopping a finished query changes nothing.
	if _, err := f.c.StopQueryExecution(ctx, &athena.StopQueryExecutionInput{QueryExecutionId: aws.String(id)}); err != nil {
		t.Fatalf("StopQueryExecution again: %v", err)
	}
	if _, err := f.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(resultsBucket), Key: aws.String("queries/" + id + ".csv")}); sandboxtest.ErrCode(err) != "NotFound" {
		t.Errorf("HeadObject of a cancelled query's results: %v, want NotFound", err)
	}
}

func TestQueriesQueueBeyondTheConcurrencyLimit(t *testing.T) {
	f := newFixture(t, sandbox.Options{AthenaQueryDelay: time.Minute})
	ctx := context.Background()
	var ids []string
	for range 3 {
		ids = append(ids, f.start(t, "", "SELECT 1"))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		states := map[types.QueryExecutionState]int{}
		for _, id := range ids {
			qe, err := f.c.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: aws.String(id)})
			if err != nil {
				t.Fatal(err)
			}
			states[qe.QueryExecution.Status.State]++
		}
		if states[types.QueryExecutionStateRunning] == 2 && states[types.QueryExecutionStateQueued] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("states = %v, want 2 RUNNING and 1 QUEUED", states)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, id := range ids {
		if _, err := f.c.StopQueryExecution(ctx, &athena.StopQueryExecutionInput{QueryExecutionId: aws.String(id)}); err != nil {
			t.Fatal(err)
		}
		if qe := f.wait(t, id); qe.Status.State != types.QueryExecutionStateCancelled {
			t.Errorf("%s: %s, want CANCELLED", id, qe.Status.State)
		}
	}
}

func TestGetQueryResultsPages(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	ctx := context.Background()
	id := f.succeed(t, "", "SELECT n, CAST(n AS varchar) AS s FROM UNNEST(sequence(0, 24)) AS t(n) ORDER BY n")

	var pages [][]types.Row
	var token *string
	for {
		out, err := f.c.GetQueryResults(ctx, &athena.GetQueryResultsInput{QueryExecutionId: aws.String(id), MaxResults: aws.Int32(10), NextToken: token})
		if err != nil {
			t.Fatalf("GetQueryResults: %v", err)
		}
		pages = append(pages, out.ResultSet.Rows)
		if aws.ToInt64(out.UpdateCount) != 0 || len(out.ResultSet.ResultSetMetadata.ColumnInfo) != 2 {
			t.Errorf("page %d: update count %v, %d columns", len(pages), out.UpdateCount, len(out.ResultSet.ResultSetMetadata.ColumnInfo))
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	var sizes []int
	var values []string
	for _, p := range pages {
		sizes = append(sizes, len(p))
		for _, r := range p {
			values = append(values, aws.ToString(r.Data[1].VarCharValue))
		}
	}
	if diff := cmp.Diff([]int{10, 10, 6}, sizes); diff != "" {
		t.Errorf("page sizes (-want +got):\n%s", diff)
	}
	want := []string{"s"}
	for n := range 25 {
		want = append(want, strconv.Itoa(n))
	}
	if diff := cmp.Diff(want, values); diff != "" {
		t.Errorf("rows: the header first, then the data in order (-want +got):\n%s", diff)
	}

	_, err := f.c.GetQueryResults(ctx, &athena.GetQueryResultsInput{QueryExecutionId: aws.String(id), MaxResults: aws.Int32(1001)})
	wantInvalidRequest(t, err, "INVALID_INPUT", "MaxResults is more than maximum allowed length 1000")
	_, err = f.c.GetQueryResults(ctx, &athena.GetQueryResultsInput{QueryExecutionId: aws.String(id), NextToken: aws.String("garbage")})
	wantInvalidRequest(t, err, "INVALID_INPUT", "Malformed nextPageToken garbage")
}

func TestResultFilesInS3(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	ctx := context.Background()
	id := f.succeed(t, "", `SELECT 'a"b' AS quoted, '' AS empty, CAST(NULL AS varchar) AS missing, 1.5E0 AS d, 'line
break' AS multiline`)
	qe := f.wait(t, id)
	if want := output + id + ".csv"; aws.ToString(qe.ResultConfiguration.OutputLocation) != want {
		t.Errorf("OutputLocation = %s, want %s", aws.ToString(qe.ResultConfiguration.OutputLocation), want)
	}
	if qe.StatementType != types.StatementTypeDml || aws.ToString(qe.SubstatementType) != "SELECT" {
		t.Errorf("statement = %s/%s, want DML/SELECT", qe.StatementType, aws.ToString(qe.SubstatementType))
	}
	csv := readS3(t, f, resultsBucket, "queries/"+id+".csv")
	if want := "\"quoted\",\"empty\",\"missing\",\"d\",\"multiline\"\n\"a\"\"b\",\"\",,\"1.5\",\"line\nbreak\"\n"; csv != want {
		t.Errorf("CSV = %q, want %q", csv, want)
	}
	rows, _ := f.rows(t, id, 1000)
	if diff := cmp.Diff([][]string{{"quoted", "empty", "missing", "d", "multiline"}, {`a"b`, "", null, "1.5", "line\nbreak"}}, rows); diff != "" {
		t.Errorf("GetQueryResults reads the CSV back, NULL apart from the empty string (-want +got):\n%s", diff)
	}

	meta := []byte(readS3(t, f, resultsBucket, "queries/"+id+".csv.metadata"))
	var queryID string
	var columns []string
	for len(meta) > 0 {
		num, typ, n := protowire.ConsumeTag(meta)
		if n < 0 || typ != protowire.BytesType {
			t.Fatalf("metadata is not the expected protocol buffer: %x", meta)
		}
		v, m := protowire.ConsumeBytes(meta[n:])
		if m < 0 {
			t.Fatalf("metadata is truncated: %x", meta)
		}
		switch num {
		case 1:
			queryID = string(v)
		case 4:
			columns = append(columns, columnOf(t, v))
		}
		meta = meta[n+m:]
	}
	if queryID != id {
		t.Errorf("metadata query id = %q, want %q", queryID, id)
	}
	if diff := cmp.Diff([]string{"quoted varchar", "empty varchar", "missing varchar", "d double", "multiline varchar"}, columns); diff != "" {
		t.Errorf("metadata columns (-want +got):\n%s", diff)
	}
	head, err := f.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(resultsBucket), Key: aws.String("queries/" + id + ".csv")})
	if err != nil || aws.ToString(head.ContentType) != "application/octet-stream" {
		t.Errorf("HeadObject = %+v, %v; want the CSV as application/octet-stream", head, err)
	}
}

// columnOf reads a column message of a .metadata file: its name and
// type.
func columnOf(t *testing.T, b []byte) string {
	t.Helper()
	fields := map[protowire.Number]string{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad column message")
		}
		b = b[n:]
		switch typ {
		case protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			fields[num] = string(v)
			b = b[m:]
		case protowire.VarintType:
			_, m := protowire.ConsumeVarint(b)
			b = b[m:]
		default:
			t.Fatalf("unexpected wire type %d", typ)
		}
	}
	return fields[4] + " " + fields[6]
}

func TestStartQueryExecutionIsIdempotent(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	ctx := context.Background()
	token := strings.Repeat("a", 40)
	in := &athena.StartQueryExecutionInput{QueryString: aws.String("SELECT 1"), ClientRequestToken: aws.String(token),
		ResultConfiguration: &types.ResultConfiguration{OutputLocation: aws.String(output)}}
	first, err := f.c.StartQueryExecution(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.c.StartQueryExecution(ctx, in)
	if err != nil || aws.ToString(again.QueryExecutionId) != aws.ToString(first.QueryExecutionId) {
		t.Errorf("a retry started %v (%v), want the same query %s", again, err, aws.ToString(first.QueryExecutionId))
	}
	in.QueryString = aws.String("SELECT 2")
	_, err = f.c.StartQueryExecution(ctx, in)
	wantInvalidRequest(t, err, "IDEMPOTENT_PARAMETER_MISMATCH", "Idempotent parameters do not match")
	in.ClientRequestToken = aws.String("short")
	_, err = f.c.StartQueryExecution(ctx, in)
	wantInvalidRequest(t, err, "INVALID_INPUT", "Member must have length greater than or equal to 32")
}

func TestWorkGroupPrimary(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	ctx := context.Background()
	wg, err := f.c.GetWorkGroup(ctx, &athena.GetWorkGroupInput{WorkGroup: aws.String("primary")})
	if err != nil {
		t.Fatalf("GetWorkGroup: %v", err)
	}
	if aws.ToString(wg.WorkGroup.Name) != "primary" || wg.WorkGroup.State != types.WorkGroupStateEnabled || wg.WorkGroup.Configuration.ResultConfiguration.OutputLocation != nil {
		t.Errorf("workgroup = %+v, want primary, enabled, without an output location", wg.WorkGroup)
	}
	_, err = f.c.GetWorkGroup(ctx, &athena.GetWorkGroupInput{WorkGroup: aws.String("analysts")})
	wantInvalidRequest(t, err, "INVALID_INPUT", "WorkGroup is not found.")
	list, err := f.c.ListWorkGroups(ctx, &athena.ListWorkGroupsInput{})
	if err != nil || len(list.WorkGroups) != 1 || aws.ToString(list.WorkGroups[0].Name) != "primary" {
		t.Errorf("ListWorkGroups = %+v, %v", list, err)
	}
}

func TestAthenaCallsAreRecorded(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	id := f.succeed(t, "", "SELECT 1")
	ctx := context.Background()
	out, err := f.e.CloudTrail(region).LookupEvents(ctx, nil)
	if err != nil {
		t.Fatalf("LookupEvents: %v", err)
	}
	for _, ev := range out.Events {
		if aws.ToString(ev.EventName) == "StartQueryExecution" && aws.ToString(ev.EventSource) == "athena.amazonaws.com" && strings.Contains(aws.ToString(ev.CloudTrailEvent), id) {
			return
		}
	}
	t.Errorf("no StartQueryExecution event for query %s among %d events", id, len(out.Events))
}

func TestStatePersists(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t, sandbox.Options{DataDir: dir})
	a := f.putArchive(t)
	f.createOrgTable(t)
	id := f.succeed(t, "audit", "SELECT count(*) FROM cloudtrail_logs WHERE timestamp = ?", "'"+day(0)+"'")

	e := sandboxtest.New(t, sandbox.Options{DataDir: dir, NoHistory: true})
	restarted := &fixture{e: e, c: e.Athena(region), s3: e.S3(region)}
	ctx := context.Background()
	if _, err := restarted.c.GetTableMetadata(ctx, &athena.GetTableMetadataInput{CatalogName: aws.String("AwsDataCatalog"), DatabaseName: aws.String("audit"), TableName: aws.String("cloudtrail_logs")}); err != nil {
		t.Fatalf("GetTableMetadata after a restart: %v", err)
	}
	if qe := restarted.wait(t, id); qe.Status.State != types.QueryExecutionStateSucceeded {
		t.Errorf("the query before the restart is %s", qe.Status.State)
	}
	rows, _ := restarted.rows(t, id, 10)
	want := len(a.events(func(lf logFile) bool { return projected(lf) && lf.day == day(0) }))
	if diff := cmp.Diff([][]string{{"_col0"}, {strconv.Itoa(want)}}, rows); diff != "" {
		t.Errorf("results after a restart (-want +got):\n%s", diff)
	}
	if files, ok := restarted.e.Server.AthenaQueryFiles(id); !ok || len(files) == 0 {
		t.Errorf("files read, after a restart: %v %v", files, ok)
	}
	again := restarted.query(t, "SELECT count(*) FROM cloudtrail_logs WHERE timestamp = ?", "'"+day(0)+"'")
	if again[0][0] != strconv.Itoa(want) {
		t.Errorf("count after a restart = %s, want %d", again[0][0], want)
	}
}
