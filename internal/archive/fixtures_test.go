package archive

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
)

const (
	acctA = "111122223333"
	acctB = "444455556666"
)

// rec is one CloudTrail record of a fixture.
type rec struct {
	id, name, region, account string
	at                        time.Time
	// source defaults to OpsWorks CM.
	source string
	// request is the requestParameters document, {} by default.
	request string
}

func (r rec) json() string {
	source := r.source
	if source == "" {
		source = events.DefaultEventSource
	}
	request := r.request
	if request == "" {
		request = "{}"
	}
	return fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::%s:user/alice",`+
		`"accountId":"%s","accessKeyId":"AKIAEXAMPLE","userName":"alice"},"eventTime":"%s","eventSource":"%s","eventName":"%s",`+
		`"awsRegion":"%s","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.30","requestParameters":%s,"responseElements":null,`+
		`"requestID":"req-%s","eventID":"%s","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"%s"}`,
		r.account, r.account, r.at.UTC().Format(time.RFC3339), source, r.name, r.region, request, r.id, r.id, r.account)
}

// uuidN is the n-th fixture event id, a UUID as CloudTrail writes them.
func uuidN(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// logKey is the key CloudTrail gives a file delivered at t.
func logKey(loc Location, account, region string, t time.Time, n int) string {
	return loc.DayPrefix(account, CloudTrailFolder, region, t) +
		fmt.Sprintf("%s_CloudTrail_%s_%s_%016d.json.gz", account, region, t.UTC().Format("20060102T1504Z"), n)
}

// writeLog writes a gzipped log file of records at key under dir.
func writeLog(t testing.TB, dir, key string, records ...rec) {
	t.Helper()
	raws := make([][]byte, len(records))
	for i, r := range records {
		raws[i] = []byte(r.json())
	}
	if _, err := writeLogFile(filepath.Join(dir, filepath.FromSlash(key)), raws); err != nil {
		t.Fatal(err)
	}
}

// writeFile writes data as it is at key under dir.
func writeFile(t testing.TB, dir, key string, data []byte) {
	t.Helper()
	path := filepath.Join(dir, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func openDir(t testing.TB, dir string) *Dir {
	t.Helper()
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// day is midnight UTC of 2024-03-d.
func day(d int) time.Time { return time.Date(2024, 3, d, 0, 0, 0, 0, time.UTC) }

// query is a query over src for account A in us-east-1 during March 2024.
func query(src Source) Query {
	return Query{
		Source: src, AccountIDs: []string{acctA}, Regions: []string{"us-east-1"},
		Start: day(1), End: day(31), MaxEvents: 100,
	}
}

func mustRun(t testing.TB, q Query) *Result {
	t.Helper()
	res, err := Run(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func ids(evs []events.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.EventID
	}
	return out
}
