package athenaquery

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/archive"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

const (
	testRegion    = "us-east-1"
	resultsBucket = "athena-results"
	output        = "s3://" + resultsBucket + "/opsaudit/"
)

// env is a sandbox with a bucket for query results and clients of its
// Athena and S3.
type env struct {
	*sandboxtest.Env
	athena *athena.Client
	s3     *s3.Client
}

func newEnv(t *testing.T, opts ...func(*sandbox.Options)) *env {
	t.Helper()
	o := sandbox.Options{NoArchive: true}
	for _, f := range opts {
		f(&o)
	}
	e := &env{Env: sandboxtest.New(t, o)}
	e.athena = e.Athena(testRegion)
	e.s3 = e.S3(testRegion)
	e.MakeBucket(t, testRegion, resultsBucket, "")
	return e
}

// withArchive keeps the sandbox's pre-existing trail and its archive.
func withArchive(o *sandbox.Options) { o.NoArchive = false }

func (e *env) exec(t *testing.T, sql string) {
	t.Helper()
	if _, err := Exec(context.Background(), e.athena, Statement{SQL: sql, OutputLocation: output}); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// create creates tbl's database and tbl.
func (e *env) create(t *testing.T, tbl Table) {
	t.Helper()
	db, err := CreateDatabaseStatement(tbl.Database)
	if err != nil {
		t.Fatal(err)
	}
	e.exec(t, db)
	ddl, err := tbl.CreateStatement()
	if err != nil {
		t.Fatal(err)
	}
	e.exec(t, ddl)
}

// orgArchive is an organization trail's bucket written by a test: two
// accounts, three regions, ten days, with what the direct scan handles
// and a table must too.
type orgArchive struct {
	bucket   string
	location archive.Location
	accounts []string
	regions  []string
	first    time.Time // the first day with events
	days     int
	// files are the keys written, with their sizes.
	files map[string]int64
	// duplicate is the id of a record delivered twice, on two days.
	duplicate string
	// midnight is a record from 23:58 delivered the next day.
	midnight time.Time
	// secret is a password logged in clear in a request.
	secret string
}

const (
	orgAccountA = "111122223333"
	orgAccountB = "444455556666"
	orgID       = "o-a1b2c3d4e5"
)

var opsNames = []string{"CreateServer", "DeleteServer", "DescribeServers", "DescribeBackups", "CreateBackup",
	"UpdateServer", "AssociateNode", "ExportServerEngineAttribute", "StartMaintenance"}

// writeOrgArchive writes the organization archive into a new bucket.
func writeOrgArchive(t *testing.T, e *env) *orgArchive {
	t.Helper()
	a := &orgArchive{
		bucket:   "org-trail-logs",
		location: archive.Location{Prefix: "central", OrganizationID: orgID},
		accounts: []string{orgAccountA, orgAccountB},
		regions:  []string{"eu-west-1", "us-east-1", "us-west-2"},
		first:    time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC),
		days:     10,
		files:    map[string]int64{},
		secret:   "hunter2-in-clear",
	}
	e.MakeBucket(t, testRegion, a.bucket, "")
	rng := rand.New(rand.NewPCG(7, 11))
	n := 0
	id := func() string {
		n++
		return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", rng.Uint32(), n, rng.IntN(4096), rng.IntN(4096), rng.Uint64()&0xffffffffffff)
	}
	// pending holds the records of each account and region not yet
	// delivered, by delivery time.
	type delivery struct {
		at      time.Time
		records []map[string]any
	}
	deliveries := map[[2]string][]delivery{}
	add := func(account, region string, at time.Time, recs ...map[string]any) {
		k := [2]string{account, region}
		deliveries[k] = append(deliveries[k], delivery{at: at, records: recs})
	}
	for _, account := range a.accounts {
		for ri, region := range a.regions {
			for d := range a.days {
				day := a.first.AddDate(0, 0, d)
				// Two deliveries a day, each of a few records from the
				// hour before.
				for _, hour := range []int{9, 17} {
					at := day.Add(time.Duration(hour)*time.Hour + time.Duration(ri*7)*time.Minute)
					var recs []map[string]any
					for range 3 + rng.IntN(4) {
						when := at.Add(-time.Duration(1+rng.IntN(3000)) * time.Second)
						recs = append(recs, a.record(rng, id(), account, region, when))
					}
					add(account, region, at, recs...)
				}
			}
		}
	}
	// A record from two minutes before midnight, delivered in the next
	// day's folder.
	a.midnight = a.first.AddDate(0, 0, 3).Add(-2 * time.Minute)
	late := a.record(rng, id(), orgAccountB, "eu-west-1", a.midnight)
	late["eventSource"], late["eventName"] = events.OpsWorksCMSource, "DeleteServer"
	add(orgAccountB, "eu-west-1", a.midnight.Add(5*time.Minute), late)
	// A record delivered twice, the second time the next day.
	dup := a.record(rng, id(), orgAccountA, "us-east-1", a.first.AddDate(0, 0, 5).Add(22*time.Hour))
	dup["eventSource"], dup["eventName"] = events.OpsWorksCMSource, "DescribeServers"
	a.duplicate = dup["eventID"].(string)
	add(orgAccountA, "us-east-1", a.first.AddDate(0, 0, 5).Add(22*time.Hour+10*time.Minute), dup)
	add(orgAccountA, "us-east-1", a.first.AddDate(0, 0, 6).Add(3*time.Hour), dup)
	// A password logged in clear, which every reader must redact.
	leak := a.record(rng, id(), orgAccountA, "us-west-2", a.first.AddDate(0, 0, 2).Add(8*time.Hour))
	leak["eventSource"], leak["eventName"] = events.OpsWorksCMSource, "CreateServer"
	leak["readOnly"] = false
	leak["requestParameters"] = map[string]any{"serverName": "chef-west", "engineAttributes": []any{
		map[string]any{"name": "CHEF_AUTOMATE_ADMIN_PASSWORD", "value": a.secret}}}
	add(orgAccountA, "us-west-2", a.first.AddDate(0, 0, 2).Add(8*time.Hour+4*time.Minute), leak)

	ctx := context.Background()
	for k, ds := range deliveries {
		for i, d := range ds {
			key := fmt.Sprintf("%s%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_%016d.json.gz", a.location.AccountsPrefix(), k[0], k[1],
				d.at.Format(dayFormat), k[0], k[1], d.at.Format("20060102T1504Z"), i)
			body := gzipRecords(t, d.records)
			if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(a.bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
				t.Fatalf("PutObject %s: %v", key, err)
			}
			a.files[key] = int64(len(body))
		}
	}
	return a
}

// identities the records are made by, by kind.
var identityKinds = []string{"IAMUser", "AssumedRole", "AssumedRole", "Root", "AWSService", "IAMUser", "AWSAccount"}

// record is one CloudTrail record of account, as a trail writes it.
func (a *orgArchive) record(rng *rand.Rand, id, account, region string, at time.Time) map[string]any {
	name := opsNames[rng.IntN(len(opsNames))]
	source := events.OpsWorksCMSource
	if rng.IntN(4) == 0 {
		source, name = "ec2.amazonaws.com", "DescribeInstances"
	}
	var identity map[string]any
	switch kind := identityKinds[rng.IntN(len(identityKinds))]; kind {
	case "IAMUser":
		user := []string{"alice", "o'brien"}[rng.IntN(2)]
		identity = map[string]any{"type": kind, "principalId": "AIDAEXAMPLE", "arn": "arn:aws:iam::" + account + ":user/" + user,
			"accountId": account, "accessKeyId": "AKIAEXAMPLE", "userName": user}
	case "AssumedRole":
		role := []string{"deploy", "audit"}[rng.IntN(2)]
		identity = map[string]any{"type": kind, "principalId": "AROAEXAMPLE:ci-" + role,
			"arn": "arn:aws:sts::" + account + ":assumed-role/" + role + "/ci-" + role, "accountId": account, "accessKeyId": "ASIAEXAMPLE",
			"sessionContext": map[string]any{
				"sessionIssuer": map[string]any{"type": "Role", "principalId": "AROAEXAMPLE",
					"arn": "arn:aws:iam::" + account + ":role/" + role, "accountId": account, "userName": role},
				"attributes": map[string]any{"creationDate": at.Add(-time.Hour).Format(time.RFC3339), "mfaAuthenticated": "false"},
			}}
	case "Root":
		identity = map[string]any{"type": kind, "principalId": account, "arn": "arn:aws:iam::" + account + ":root", "accountId": account}
	case "AWSAccount":
		// Another account's caller is named by no user name and no ARN:
		// its user name is empty.
		identity = map[string]any{"type": kind, "principalId": "AIDAEXAMPLE", "accountId": account}
	default:
		// A service's call carries no account id: it is counted under
		// the account that received it.
		identity = map[string]any{"type": kind, "invokedBy": "cloudformation.amazonaws.com"}
	}
	rec := map[string]any{
		"eventVersion": "1.09", "userIdentity": identity,
		"eventTime": at.UTC().Format(time.RFC3339), "eventSource": source, "eventName": name, "awsRegion": region,
		"sourceIPAddress": "203.0.113.7", "userAgent": "aws-cli/2.15.0",
		"requestParameters": map[string]any{"serverName": "chef-" + region},
		"responseElements":  nil,
		"requestID":         "req-" + id, "eventID": id,
		"readOnly":           rng.IntN(2) == 0,
		"eventType":          "AwsApiCall",
		"managementEvent":    true,
		"recipientAccountId": account,
		"eventCategory":      "Management",
		"tlsDetails":         map[string]any{"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": "opsworks-cm." + region + ".amazonaws.com"},
	}
	if rng.IntN(5) == 0 {
		rec["errorCode"], rec["errorMessage"] = "AccessDenied", "User is not authorized"
	}
	if rng.IntN(3) == 0 {
		rec["resources"] = []any{map[string]any{"ARN": "arn:aws:opsworks-cm:" + region + ":" + account + ":server/chef-" + region,
			"accountId": account, "type": "AWS::OpsWorksCM::Server"}}
	}
	return rec
}

func gzipRecords(t *testing.T, recs []map[string]any) []byte {
	t.Helper()
	doc, err := json.Marshal(map[string]any{"Records": recs})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(doc); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// table is the organization archive's table.
func (a *orgArchive) table() Table {
	return Table{Database: "audit", Name: "org_trail", Bucket: a.bucket, Location: a.location,
		AccountIDs: a.accounts, Regions: a.regions, StartDate: a.first.AddDate(0, 0, -1)}
}
