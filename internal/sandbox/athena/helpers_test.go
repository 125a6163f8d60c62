package athena_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/athena/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

const (
	region        = "us-east-1"
	resultsBucket = "athena-results"
	output        = "s3://" + resultsBucket + "/queries/"
	trailBucket   = "org-trail"
	orgID         = "o-exampleorg"
	accountA      = "111122223333"
	accountB      = "444455556666"
	// accountC has log files in the bucket but is not in the table's
	// projection: no query may read them.
	accountC = "777788889999"
)

// fixture is a sandbox with an output bucket, an organization trail's
// bucket and Athena and S3 clients.
type fixture struct {
	e  *sandboxtest.Env
	c  *athena.Client
	s3 *s3.Client
}

func newFixture(t *testing.T, opts sandbox.Options) *fixture {
	t.Helper()
	opts.NoHistory = true
	e := sandboxtest.New(t, opts)
	f := &fixture{e: e, c: e.Athena(region), s3: e.S3(region)}
	e.MakeBucket(t, region, resultsBucket, "")
	e.MakeBucket(t, region, trailBucket, "")
	return f
}

// start starts a query in the context of database db (none if empty)
// and returns its id.
func (f *fixture) start(t *testing.T, db, query string, params ...string) string {
	t.Helper()
	id, err := f.tryStart(db, query, params...)
	if err != nil {
		t.Fatalf("StartQueryExecution %q: %v", query, err)
	}
	return id
}

func (f *fixture) tryStart(db, query string, params ...string) (string, error) {
	in := &athena.StartQueryExecutionInput{
		QueryString:         aws.String(query),
		ResultConfiguration: &types.ResultConfiguration{OutputLocation: aws.String(output)},
		ExecutionParameters: params,
	}
	if db != "" {
		in.QueryExecutionContext = &types.QueryExecutionContext{Database: aws.String(db), Catalog: aws.String("AwsDataCatalog")}
	}
	out, err := f.c.StartQueryExecution(context.Background(), in)
	if err != nil {
		return "", err
	}
	return aws.ToString(out.QueryExecutionId), nil
}

// wait polls GetQueryExecution until the query is final.
func (f *fixture) wait(t *testing.T, id string) *types.QueryExecution {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := f.c.GetQueryExecution(context.Background(), &athena.GetQueryExecutionInput{QueryExecutionId: aws.String(id)})
		if err != nil {
			t.Fatalf("GetQueryExecution %s: %v", id, err)
		}
		switch out.QueryExecution.Status.State {
		case types.QueryExecutionStateSucceeded, types.QueryExecutionStateFailed, types.QueryExecutionStateCancelled:
			return out.QueryExecution
		}
		if time.Now().After(deadline) {
			t.Fatalf("query %s still %s after 60s", id, out.QueryExecution.Status.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// succeed runs a query to SUCCEEDED and returns its id.
func (f *fixture) succeed(t *testing.T, db, query string, params ...string) string {
	t.Helper()
	id := f.start(t, db, query, params...)
	if qe := f.wait(t, id); qe.Status.State != types.QueryExecutionStateSucceeded {
		t.Fatalf("query %q ended %s: %s", query, qe.Status.State, aws.ToString(qe.Status.StateChangeReason))
	}
	return id
}

// fail runs a query to FAILED and returns its reason.
func (f *fixture) fail(t *testing.T, db, query string, params ...string) string {
	t.Helper()
	qe := f.wait(t, f.start(t, db, query, params...))
	if qe.Status.State != types.QueryExecutionStateFailed {
		t.Fatalf("query %q ended %s, want FAILED", query, qe.Status.State)
	}
	return aws.ToString(qe.Status.StateChangeReason)
}

// null stands for NULL in the rows tests compare.
const null = "<NULL>"

// rows reads all of a query's result pages, pageSize rows at a time.
func (f *fixture) rows(t *testing.T, id string, pageSize int32) (rows [][]string, columns []types.ColumnInfo) {
	t.Helper()
	p := athena.NewGetQueryResultsPaginator(f.c, &athena.GetQueryResultsInput{QueryExecutionId: aws.String(id), MaxResults: aws.Int32(pageSize)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("GetQueryResults %s: %v", id, err)
		}
		columns = out.ResultSet.ResultSetMetadata.ColumnInfo
		for _, r := range out.ResultSet.Rows {
			row := make([]string, len(r.Data))
			for i, d := range r.Data {
				row[i] = null
				if d.VarCharValue != nil {
					row[i] = *d.VarCharValue
				}
			}
			rows = append(rows, row)
		}
	}
	return rows, columns
}

// query runs a query and returns its data rows, the header row checked
// against the column names and removed.
func (f *fixture) query(t *testing.T, query string, params ...string) [][]string {
	t.Helper()
	id := f.succeed(t, "audit", query, params...)
	rows, cols := f.rows(t, id, 1000)
	if len(rows) == 0 {
		t.Fatalf("query %q: no header row", query)
	}
	for i, c := range cols {
		if rows[0][i] != aws.ToString(c.Name) {
			t.Fatalf("header %v does not name columns %v", rows[0], cols)
		}
	}
	return rows[1:]
}

// createOrgTable creates the audit database and the organization's
// CloudTrail table with partition projection.
func (f *fixture) createOrgTable(t *testing.T) {
	t.Helper()
	ddl, err := os.ReadFile("testdata/org_table.sql")
	if err != nil {
		t.Fatal(err)
	}
	f.succeed(t, "", "CREATE DATABASE IF NOT EXISTS audit")
	f.succeed(t, "", string(ddl))
}

// event is a CloudTrail record of the archive, and where it was
// delivered.
type event struct {
	account, region string
	time            time.Time
	name, id        string
	readOnly        bool
	user            string
}

// logFile is a log file of the archive.
type logFile struct {
	key     string
	size    int64
	account string
	region  string
	day     string
	events  []event
}

// archive is the organization trail's log files as put into the bucket.
type archive struct {
	files []logFile
}

func orgKey(account, region string, delivered time.Time, n int) string {
	return fmt.Sprintf("AWSLogs/%s/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%sZ_%016d.json.gz",
		orgID, account, region, delivered.Format("2006/01/02"), account, region, delivered.Format("20060102T1504"), n)
}

func makeRecord(ev event) map[string]any {
	roleARN := "arn:aws:iam::" + ev.account + ":role/" + ev.user
	return map[string]any{
		"eventVersion": "1.08",
		"userIdentity": map[string]any{
			"type":        "AssumedRole",
			"principalId": "AROAEXAMPLE:" + ev.user,
			"arn":         "arn:aws:sts::" + ev.account + ":assumed-role/" + ev.user + "/session",
			"accountId":   ev.account,
			"accessKeyId": "ASIAEXAMPLE",
			"sessionContext": map[string]any{
				"sessionIssuer": map[string]any{"type": "Role", "principalId": "AROAEXAMPLE", "arn": roleARN, "accountId": ev.account, "userName": ev.user},
				"attributes":    map[string]any{"creationDate": ev.time.Add(-time.Hour).Format(time.RFC3339), "mfaAuthenticated": "false"},
			},
		},
		"eventTime":          ev.time.UTC().Format(time.RFC3339),
		"eventSource":        "opsworks-cm.amazonaws.com",
		"eventName":          ev.name,
		"awsRegion":          ev.region,
		"sourceIPAddress":    "203.0.113.7",
		"userAgent":          "aws-cli/2.15.0",
		"requestParameters":  map[string]any{"serverName": "srv-" + ev.id[4:8], "engine": "ChefAutomate"},
		"responseElements":   nil,
		"requestID":          "req-" + ev.id,
		"eventID":            ev.id,
		"readOnly":           ev.readOnly,
		"resources":          []any{map[string]any{"ARN": "arn:aws:opsworks-cm:" + ev.region + ":" + ev.account + ":server/srv-" + ev.id[4:8], "accountId": ev.account, "type": "AWS::OpsWorksCM::Server"}},
		"eventType":          "AwsApiCall",
		"managementEvent":    true,
		"recipientAccountId": ev.account,
		"eventCategory":      "Management",
		"tlsDetails":         map[string]any{"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": "opsworks-cm." + ev.region + ".amazonaws.com"},
	}
}

var eventNames = []struct {
	name     string
	readOnly bool
}{{"CreateServer", false}, {"DescribeServers", true}, {"ExportServerEngineAttribute", true}, {"DeleteServer", false}}

// putArchive writes the archive: for each account of the organization
// (two projected, one not), two regions and the three days up to the
// sandbox's now, two log files of three records each; a record from just
// before midnight delivered in the next day's folder; one record
// delivered twice; and files the table must never read (a hidden file, a
// digest, a day before the projection's range).
func (f *fixture) putArchive(t *testing.T) *archive {
	t.Helper()
	a := &archive{}
	n := 0
	days := []time.Time{sandboxtest.Now.AddDate(0, 0, -2), sandboxtest.Now.AddDate(0, 0, -1), sandboxtest.Now}
	for _, account := range []string{accountA, accountB, accountC} {
		for _, reg := range []string{"us-east-1", "eu-west-1"} {
			for _, day := range days {
				base := time.Date(day.Year(), day.Month(), day.Day(), 2, 0, 0, 0, time.UTC)
				for file := range 2 {
					delivered := base.Add(time.Duration(file) * 5 * time.Hour)
					lf := logFile{account: account, region: reg, day: delivered.Format("2006/01/02"), key: orgKey(account, reg, delivered, n)}
					for r := range 3 {
						n++
						en := eventNames[(n+r)%len(eventNames)]
						ev := event{account: account, region: reg, time: delivered.Add(-time.Duration(r+1) * 7 * time.Minute), name: en.name,
							readOnly: en.readOnly, id: fmt.Sprintf("%08d-0000-4000-8000-%012d", n, n), user: []string{"deployer", "auditor"}[n%2]}
						lf.events = append(lf.events, ev)
					}
					a.files = append(a.files, lf)
				}
			}
		}
	}
	// A record of 23:58 the day before yesterday, delivered just after
	// midnight in yesterday's folder.
	late := time.Date(days[1].Year(), days[1].Month(), days[1].Day(), 0, 3, 0, 0, time.UTC)
	lf := logFile{account: accountA, region: "us-east-1", day: late.Format("2006/01/02"), key: orgKey(accountA, "us-east-1", late, 9001)}
	lf.events = []event{{account: accountA, region: "us-east-1", time: late.Add(-5 * time.Minute), name: "UpdateServer", id: "90010000-0000-4000-8000-000000009001", user: "deployer"}}
	// CloudTrail delivered yesterday's first record of account A in
	// us-east-1 a second time.
	lf.events = append(lf.events, a.files[2].events[0])
	a.files = append(a.files, lf)
	for i := range a.files {
		a.files[i].size = f.putLogFile(t, a.files[i].key, a.files[i].events)
	}
	// Files no query of the table reads.
	old := time.Date(2024, 12, 31, 12, 0, 0, 0, time.UTC)
	f.putLogFile(t, orgKey(accountA, "us-east-1", old, 9002), []event{{account: accountA, region: "us-east-1", time: old, name: "CreateServer", id: "90020000-0000-4000-8000-000000009002", user: "deployer"}})
	f.putObject(t, fmt.Sprintf("AWSLogs/%s/%s/CloudTrail/us-east-1/%s/_SUCCESS", orgID, accountA, days[2].Format("2006/01/02")), []byte("hidden"))
	f.putObject(t, fmt.Sprintf("AWSLogs/%s/%s/CloudTrail-Digest/us-east-1/%s/digest.json.gz", orgID, accountA, days[2].Format("2006/01/02")), gz(t, []byte(`{"logFiles":[]}`)))
	return a
}

func (f *fixture) putLogFile(t *testing.T, key string, events []event) int64 {
	t.Helper()
	body := logFileBody(t, events)
	f.putObject(t, key, body)
	return int64(len(body))
}

// logFileBody is a log file of the events, as CloudTrail writes it:
// gzipped {"Records":[...]}.
func logFileBody(t *testing.T, events []event) []byte {
	t.Helper()
	records := make([]any, len(events))
	for i, ev := range events {
		records[i] = makeRecord(ev)
	}
	body, err := json.Marshal(map[string]any{"Records": records})
	if err != nil {
		t.Fatal(err)
	}
	return gz(t, body)
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func (f *fixture) putObject(t *testing.T, key string, body []byte) {
	t.Helper()
	if _, err := f.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(trailBucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatalf("PutObject %s: %v", key, err)
	}
}

// where returns the files of the archive that match.
func (a *archive) where(match func(logFile) bool) []logFile {
	var out []logFile
	for _, lf := range a.files {
		if match(lf) {
			out = append(out, lf)
		}
	}
	return out
}

// urls are the files' s3:// URLs, sorted.
func urls(files []logFile) []string {
	out := make([]string, len(files))
	for i, lf := range files {
		out[i] = "s3://" + trailBucket + "/" + lf.key
	}
	sort.Strings(out)
	return out
}

func projected(lf logFile) bool { return lf.account != accountC }

// wantCode fails unless err is an Athena error with the code and, for
// InvalidRequestException, the AthenaErrorCode given.
func wantInvalidRequest(t *testing.T, err error, athenaCode, message string) {
	t.Helper()
	var ire *types.InvalidRequestException
	if !errors.As(err, &ire) {
		t.Fatalf("error = %v, want InvalidRequestException", err)
	}
	if aws.ToString(ire.AthenaErrorCode) != athenaCode || !strings.Contains(ire.ErrorMessage(), message) {
		t.Fatalf("InvalidRequestException %s %q, want %s containing %q", aws.ToString(ire.AthenaErrorCode), ire.ErrorMessage(), athenaCode, message)
	}
}

// readS3 reads an object of the sandbox's S3 with the SDK.
func readS3(t *testing.T, f *fixture, bucket, key string) string {
	t.Helper()
	return sandboxtest.ReadObject(t, f.s3, bucket, key, nil)
}
