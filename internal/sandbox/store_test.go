package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	athenatypes "github.com/aws/aws-sdk-go-v2/service/athena/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// counter is a toy service state for the journal: named counts, changed
// by setting one at a time.
type counter map[string]int

type counterChange struct {
	Name  string
	Value int
}

func (c counter) apply(t *testing.T, snapshot json.RawMessage, changes []json.RawMessage) {
	t.Helper()
	if len(snapshot) > 0 {
		if err := json.Unmarshal(snapshot, &c); err != nil {
			t.Fatalf("snapshot %s: %v", snapshot, err)
		}
	}
	for _, raw := range changes {
		var ch counterChange
		if err := json.Unmarshal(raw, &ch); err != nil {
			t.Fatalf("change %s: %v", raw, err)
		}
		c[ch.Name] = ch.Value
	}
}

// reopen restores the counter from dir as a restart would.
func reopen(t *testing.T, dir string) (*journal, counter) {
	t.Helper()
	st, err := openStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	j, snapshot, changes, err := st.journal("counter")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := j.f.Close(); err != nil {
			t.Error(err)
		}
	})
	c := counter{}
	c.apply(t, snapshot, changes)
	return j, c
}

func TestJournalCompacts(t *testing.T) {
	dir := t.TempDir()
	j, c := reopen(t, dir)
	j.compactAt = 200
	snapshots := 0
	snapshot := func() any { snapshots++; return c }
	for i := range 100 {
		name := []string{"a", "b", "c"}[i%3]
		c[name] = i
		if err := j.Write(snapshot, counterChange{name, i}); err != nil {
			t.Fatal(err)
		}
	}
	if snapshots == 0 || snapshots > 50 {
		t.Errorf("%d snapshots for 100 changes with compaction at 200 bytes", snapshots)
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "counter.*.log"))
	if len(logs) != 1 || logs[0] != j.st.logPath("counter", j.gen) {
		t.Errorf("journals %v, want only generation %d's", logs, j.gen)
	}
	if _, restored := reopen(t, dir); !reflect.DeepEqual(restored, c) {
		t.Errorf("restored %v, want %v", restored, c)
	}
}

func TestJournalDropsATornLastLine(t *testing.T) {
	dir := t.TempDir()
	j, c := reopen(t, dir)
	snapshot := func() any { return c }
	if err := j.Write(snapshot, counterChange{"a", 1}, counterChange{"b", 2}); err != nil {
		t.Fatal(err)
	}
	// A crash in the middle of the next write.
	if _, err := j.f.WriteString(`[{"Name":"a","Val`); err != nil {
		t.Fatal(err)
	}
	j2, restored := reopen(t, dir)
	if want := (counter{"a": 1, "b": 2}); !reflect.DeepEqual(restored, want) {
		t.Fatalf("restored %v, want %v", restored, want)
	}
	// The next change starts a line of its own.
	if err := j2.Write(func() any { return restored }, counterChange{"c", 3}); err != nil {
		t.Fatal(err)
	}
	if _, again := reopen(t, dir); !reflect.DeepEqual(again, counter{"a": 1, "b": 2, "c": 3}) {
		t.Errorf("after a write past the torn line: %v", again)
	}
}

func TestJournalRejectsACorruptLine(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "counter.0.log"), []byte("[{\"Name\":\"a\",\"Value\":1}]\nnot json\n[]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := openStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := st.journal("counter"); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("journal with a corrupt line: %v, want an error", err)
	}
}

// TestJournalCompactionCutShort restores from a compaction that wrote its
// snapshot but crashed before it removed the previous journal: the
// snapshot holds everything, the old journal is stale.
func TestJournalCompactionCutShort(t *testing.T) {
	dir := t.TempDir()
	st, err := openStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(st.logPath("counter", 3), []byte("[{\"Name\":\"a\",\"Value\":1}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := st.writeSnapshot("counter", 4, json.RawMessage(`{"a":2}`)); err != nil {
		t.Fatal(err)
	}
	j, c := reopen(t, dir)
	if !reflect.DeepEqual(c, counter{"a": 2}) || j.gen != 4 {
		t.Errorf("restored %v at generation %d, want a=2 at 4", c, j.gen)
	}
	if _, err := os.Stat(st.logPath("counter", 3)); !os.IsNotExist(err) {
		t.Errorf("stale journal left: %v", err)
	}
}

// TestServicesRestoreFromCompactedJournals runs every service with a
// journal that compacts at each write, so a restart restores from the
// services' own snapshots rather than from replayed changes.
func TestServicesRestoreFromCompactedJournals(t *testing.T) {
	defer func(old int64) { minCompaction = old }(minCompaction)
	minCompaction = 1
	dir := t.TempDir()
	ctx := context.Background()
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	start := func() (*s3.Client, *cloudtrail.Client, string) {
		t.Helper()
		srv, err := New(Options{NoHistory: true, DataDir: dir, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv)
		t.Cleanup(hs.Close)
		creds := staticCreds(DefaultAccessKey, DefaultSecretKey, "")
		return s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), Credentials: creds, UsePathStyle: true}),
			cloudtrail.New(cloudtrail.Options{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), Credentials: creds}), hs.URL
	}
	c, ct, url := start()
	b := aws.String("compacted")
	trailARN := "arn:aws:cloudtrail:us-east-1:" + DefaultAccount + ":trail/compacted"
	policy := `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:GetBucketAcl","Resource":"arn:aws:s3:::compacted"},
	 {"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::compacted/AWSLogs/` + DefaultAccount + `/*",
	  "Condition":{"StringEquals":{"s3:x-amz-acl":"bucket-owner-full-control","aws:SourceArn":"` + trailARN + `"}}}]}`
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b})
	must("CreateBucket", err)
	_, err = c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(policy)})
	must("PutBucketPolicy", err)
	for i := range 20 {
		key := aws.String(fmt.Sprintf("k%02d", i))
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: key, Body: strings.NewReader(fmt.Sprint("body ", i))})
		must("PutObject", err)
		if i%4 == 0 {
			_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: key})
			must("DeleteObject", err)
		}
	}
	_, err = ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("compacted"), S3BucketName: b})
	must("CreateTrail", err)
	_, err = ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("compacted")})
	must("StartLogging", err)
	assumed, err := stsClient(url, staticCreds(DefaultAccessKey, DefaultSecretKey, "")).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::" + DefaultAccount + ":role/r"), RoleSessionName: aws.String("kept")})
	must("AssumeRole", err)
	role := assumed.Credentials
	ath := athenaClient(url)
	_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("query-results")})
	must("CreateBucket", err)
	started, err := ath.StartQueryExecution(ctx, &athena.StartQueryExecutionInput{QueryString: aws.String("CREATE DATABASE kept"),
		ResultConfiguration: &athenatypes.ResultConfiguration{OutputLocation: aws.String("s3://query-results/")}})
	must("StartQueryExecution", err)
	for deadline := time.Now().Add(30 * time.Second); ; {
		qe, err := ath.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: started.QueryExecutionId})
		must("GetQueryExecution", err)
		if qe.QueryExecution.Status.State == athenatypes.QueryExecutionStateSucceeded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CREATE DATABASE is %s", qe.QueryExecution.Status.State)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, name := range journaled {
		data, err := os.ReadFile(filepath.Join(dir, name+".json"))
		var snap snapshotFile
		if err != nil || json.Unmarshal(data, &snap) != nil || snap.Generation == 0 {
			t.Errorf("%s was never compacted: %v, %+v", name, err, snap)
		}
	}

	c, ct, url = start()
	id, err := stsClient(url, staticCreds(aws.ToString(role.AccessKeyId), aws.ToString(role.SecretAccessKey), aws.ToString(role.SessionToken))).
		GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || !strings.HasSuffix(aws.ToString(id.Arn), ":assumed-role/r/kept") {
		t.Errorf("session after the restart: %v, %v", id, err)
	}
	list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b, Prefix: aws.String("k")})
	if err != nil || len(list.Contents) != 15 {
		t.Fatalf("after the restart: %d objects, %v; want 15", len(list.Contents), err)
	}
	// The trail delivered the calls after StartLogging before the restart.
	logs, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b, Prefix: aws.String("AWSLogs/" + DefaultAccount + "/CloudTrail/")})
	if err != nil || len(logs.Contents) == 0 {
		t.Fatalf("after the restart: %d log files, %v", len(logs.Contents), err)
	}
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("k19")})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(got.Body)
	if cerr := got.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil || string(body) != "body 19" {
		t.Errorf("k19 = %q, %v", body, err)
	}
	status, err := ct.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(trailARN)})
	if err != nil || !aws.ToBool(status.IsLogging) {
		t.Errorf("trail after the restart: %+v, %v", status, err)
	}
	events, err := ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{})
	if err != nil || len(events.Events) < 2 {
		t.Errorf("recorded calls after the restart: %d, %v", len(events.Events), err)
	}
	if _, err := athenaClient(url).GetDatabase(ctx, &athena.GetDatabaseInput{CatalogName: aws.String("AwsDataCatalog"), DatabaseName: aws.String("kept")}); err != nil {
		t.Errorf("Athena database after the restart: %v", err)
	}
}

func athenaClient(url string) *athena.Client {
	return athena.New(athena.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: staticCreds(DefaultAccessKey, DefaultSecretKey, "")})
}

func staticCreds(key, secret, token string) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(key, secret, token)
}

func stsClient(url string, creds aws.CredentialsProvider) *sts.Client {
	return sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: creds})
}
