package cloudtrail_test

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

var (
	puppetEndOfLife = time.Date(2024, 3, 31, 0, 0, 0, 0, time.UTC)
	chefEndOfLife   = time.Date(2024, 5, 5, 0, 0, 0, 0, time.UTC)
)

// TestArchiveHistory checks what the pre-existing trail's bucket holds:
// CloudTrail's layout, and the story a review of it should find.
func TestArchiveHistory(t *testing.T) {
	now := sandboxtest.Now
	a := sandbox.ArchiveHistory(ctAcct, now)
	if a.Bucket != sandbox.ArchiveBucket(ctAcct) || a.TrailARN != sandboxtest.TrailARN("us-east-1", ctAcct, sandbox.ArchiveTrailName) ||
		!a.DigestsTo.Equal(now.Truncate(time.Hour)) || !a.DigestsFrom.Equal(a.DigestsTo.Add(-7*24*time.Hour)) {
		t.Fatalf("archive %+v", a)
	}
	keyRE := regexp.MustCompile(`^AWSLogs/` + ctAcct + `/CloudTrail/([a-z0-9-]+)/(\d{4}/\d{2}/\d{2})/` + ctAcct +
		`_CloudTrail_([a-z0-9-]+)_(\d{8}T\d{4}Z)_[A-Za-z0-9]{16}\.json\.gz$`)
	filesOf := map[string][]string{}
	var nextDay *sandbox.ArchiveFile
	for i, f := range a.Files {
		m := keyRE.FindStringSubmatch(f.Key)
		if m == nil || m[1] != f.Region || m[3] != f.Region || m[2] != f.Delivered.Format("2006/01/02") || m[4] != f.Delivered.Format("20060102T1504Z") {
			t.Fatalf("log file key %s is not CloudTrail's layout for a delivery in %s at %s", f.Key, f.Region, f.Delivered)
		}
		if f.Delivered.After(a.DigestsTo) || len(f.Records) == 0 {
			t.Fatalf("log file %s delivered %s with %d records", f.Key, f.Delivered, len(f.Records))
		}
		for _, r := range f.Records {
			if r.Region != f.Region || r.Account != ctAcct || r.EventTime.After(f.Delivered) || r.EventTime.Before(sandbox.ArchiveStart) {
				t.Fatalf("record %s (%s, %s, %s) in %s", r.EventID, r.Region, r.Account, r.EventTime, f.Key)
			}
			filesOf[r.EventID] = append(filesOf[r.EventID], f.Key)
			if r.EventID == sandbox.ArchiveMidnightEventID {
				nextDay = &a.Files[i]
			}
		}
	}
	recs := a.Records()
	if len(a.Files) < 10000 || len(recs) < 40000 {
		t.Fatalf("%d log files, %d records", len(a.Files), len(recs))
	}
	if len(filesOf) != len(recs) {
		t.Fatalf("Records has %d records, the files %d event ids", len(recs), len(filesOf))
	}
	actions, regions, engines := map[string]bool{}, map[string]bool{}, map[string]bool{}
	var opsWorks, others, roots, afterEOL, secrets, backups int
	for _, r := range recs {
		if r.EventSource != sandbox.OpsWorksCMSource {
			others++
			continue
		}
		opsWorks++
		actions[r.EventName], regions[r.Region] = true, true
		if r.UserIdentityType == "Root" {
			roots++
			if r.EventID != sandbox.ArchiveRootEventID {
				t.Errorf("root call %s", r.EventID)
			}
		}
		if r.EventTime.After(chefEndOfLife) {
			afterEOL++
		}
		if r.EventName == "CreateBackup" {
			backups++
		}
		if r.EventName == "CreateServer" {
			var req struct {
				RequestParameters struct{ Engine string } `json:"requestParameters"`
			}
			if err := json.Unmarshal(r.Raw, &req); err != nil {
				t.Fatal(err)
			}
			engines[req.RequestParameters.Engine] = true
		}
		if strings.Contains(string(r.Raw), sandbox.ArchiveUnredactedSecretValue) {
			secrets++
			if r.EventID != sandbox.ArchiveSecretEventID {
				t.Errorf("the secret is in %s", r.EventID)
			}
		}
	}
	if len(actions) != 19 || len(regions) != 6 || !engines["Puppet"] || !engines["ChefAutomate"] {
		t.Fatalf("OpsWorks CM actions %v in regions %v for engines %v", actions, regions, engines)
	}
	if roots != 1 || afterEOL < 3 || secrets != 1 || backups < 300 || others < 2*opsWorks {
		t.Fatalf("root calls %d, calls after the end of life %d, clear secrets %d, backups %d, other services %d to %d OpsWorks CM calls",
			roots, afterEOL, secrets, backups, others, opsWorks)
	}
	if files := filesOf[sandbox.ArchiveDuplicateEventID]; len(files) != 2 || files[0] == files[1] {
		t.Fatalf("the duplicate is in %v", files)
	}
	if nextDay == nil || nextDay.Delivered.Format(time.DateOnly) != "2024-01-01" {
		t.Fatalf("the record from before midnight is in %+v", nextDay)
	}
	edge := slices.IndexFunc(recs, func(r sandbox.Record) bool { return r.EventID == sandbox.ArchiveEdgeEventID })
	if edge < 0 || !recs[edge].EventTime.Equal(chefEndOfLife) {
		t.Fatalf("no call at the end of life's first second")
	}
	var puppetAfter bool
	for _, r := range recs {
		puppetAfter = puppetAfter || r.EventSource == sandbox.OpsWorksCMSource && r.EventTime.After(puppetEndOfLife) && strings.Contains(string(r.Raw), `"puppet-fra"`)
	}
	if !puppetAfter {
		t.Fatal("no call on a Puppet server after Puppet Enterprise's end of life")
	}

}

// TestArchiveBucket reads the pre-existing trail and its bucket from a
// sandbox, and finds what ArchiveHistory says, digests included, and the
// trail's live digests linked to them.
func TestArchiveBucket(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{})
	ctx := context.Background()
	a := sandbox.ArchiveHistory(ctAcct, sandboxtest.Now)

	described, err := e.CloudTrail("ap-southeast-2").DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
	if err != nil || len(described.TrailList) != 1 {
		t.Fatalf("DescribeTrails = %+v, %v", described, err)
	}
	tr := described.TrailList[0]
	if aws.ToString(tr.TrailARN) != a.TrailARN || aws.ToString(tr.S3BucketName) != a.Bucket || !aws.ToBool(tr.IsMultiRegionTrail) ||
		!aws.ToBool(tr.LogFileValidationEnabled) || aws.ToString(tr.HomeRegion) != "us-east-1" {
		t.Fatalf("trail %+v", tr)
	}
	st, err := e.CloudTrail("us-east-1").GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: tr.TrailARN})
	if err != nil || !aws.ToBool(st.IsLogging) || !aws.ToTime(st.LatestDigestDeliveryTime).Equal(a.DigestsTo) ||
		!aws.ToTime(st.StartLoggingTime).Equal(sandbox.ArchiveStart) {
		t.Fatalf("GetTrailStatus = %+v, %v", st, err)
	}

	s3c := e.S3("us-east-1")
	base := "AWSLogs/" + ctAcct + "/CloudTrail/"
	regions, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(a.Bucket), Prefix: aws.String(base), Delimiter: aws.String("/")})
	if err != nil || len(regions.CommonPrefixes) != 9 || len(regions.Contents) != 0 {
		t.Fatalf("regions: %+v, %v", regions, err)
	}
	// The day folder of the file that holds a record from before
	// midnight, as a reader walking day prefixes lists it.
	var want []string
	var midnight sandbox.ArchiveFile
	for _, f := range a.Files {
		if f.Region == "us-east-1" && f.Delivered.Format(time.DateOnly) == "2024-01-01" {
			want = append(want, f.Key)
		}
		if slices.ContainsFunc(f.Records, func(r sandbox.Record) bool { return r.EventID == sandbox.ArchiveMidnightEventID }) {
			midnight = f
		}
	}
	slices.Sort(want)
	if got := sandboxtest.ListKeys(t, s3c, a.Bucket, base+"us-east-1/2024/01/01/"); !slices.Equal(got, want) {
		t.Fatalf("2024/01/01 holds %v, want %v", got, want)
	}
	got, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(a.Bucket), Key: aws.String(midnight.Key)})
	if err != nil {
		t.Fatalf("GetObject %s: %v", midnight.Key, err)
	}
	var file struct{ Records []struct{ EventID string } }
	if err := json.Unmarshal(sandboxtest.Gunzip(t, got.Body), &file); err != nil || len(file.Records) != len(midnight.Records) {
		t.Fatalf("%s: %+v, %v; want %d records", midnight.Key, file, err, len(midnight.Records))
	}
	for i, r := range file.Records {
		if r.EventID != midnight.Records[i].EventID {
			t.Fatalf("%s: record %d is %s, want %s", midnight.Key, i, r.EventID, midnight.Records[i].EventID)
		}
	}
	// Beside the archive, the bucket holds what the trail delivered since
	// the sandbox started.
	stored := sandboxtest.ListKeys(t, s3c, a.Bucket, base)
	for _, f := range a.Files {
		if _, found := slices.BinarySearch(stored, f.Key); !found {
			t.Fatalf("the bucket lacks %s", f.Key)
		}
	}
	live := sandboxtest.Now.Format("20060102T1504Z")
	if extra := slices.DeleteFunc(stored, func(k string) bool { return !strings.Contains(k, "_CloudTrail_") || strings.Contains(k, "_"+live+"_") }); len(extra) != len(a.Files) {
		t.Fatalf("the bucket holds %d log files delivered before the start, ArchiveHistory %d", len(extra), len(a.Files))
	}

	// The signed week in one region, the log files it lists, and the
	// next digest, delivered live, linked to it.
	const region = "eu-central-1"
	prefix := sandboxtest.DigestPrefix("", ctAcct, region)
	digests := sandboxtest.ReadDigests(t, s3c, a.Bucket, prefix)
	if len(digests) != 168 || digests[0].StartTime != a.DigestsFrom.Format(time.RFC3339) || digests[167].EndTime != a.DigestsTo.Format(time.RFC3339) {
		t.Fatalf("%d digests from %s to %s", len(digests), digests[0].StartTime, digests[len(digests)-1].EndTime)
	}
	var signed []string
	for _, f := range a.Files {
		if f.Region == region && f.Delivered.After(a.DigestsFrom) {
			signed = append(signed, f.Key)
		}
	}
	slices.Sort(signed)
	if listed := sandboxtest.DigestedLogs(digests); !slices.Equal(listed, signed) {
		t.Fatalf("the digests list %v, the week's log files are %v", listed, signed)
	}
	e.Clock.Advance(time.Hour)
	digests = sandboxtest.ReadDigests(t, s3c, a.Bucket, prefix)
	if len(digests) != 169 || sandboxtest.CheckChain(t, e.CloudTrail(region), s3c, digests) != 1 {
		t.Fatalf("%d digests an hour later", len(digests))
	}
}

// TestNoArchive starts without the pre-existing trail, or with an empty
// account.
func TestNoArchive(t *testing.T) {
	ctx := context.Background()
	for _, opts := range []sandbox.Options{{NoArchive: true}, {NoHistory: true}} {
		e := sandboxtest.New(t, opts)
		trails, err := e.CloudTrail("us-east-1").ListTrails(ctx, &cloudtrail.ListTrailsInput{})
		if err != nil || len(trails.Trails) != 0 {
			t.Errorf("%+v: trails %+v, %v", opts, trails, err)
		}
		_, err = e.S3("us-east-1").HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(sandbox.ArchiveBucket(ctAcct))})
		sandboxtest.WantCode(t, err, "NotFound")
	}
}
