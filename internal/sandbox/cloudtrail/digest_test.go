package cloudtrail_test

import (
	"context"
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

// nineRegions are the regions a multi-region trail delivers digests for.
var nineRegions = []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ap-northeast-1", "ap-southeast-1", "ap-southeast-2", "eu-central-1", "eu-west-1"}

// TestDigestChains runs a trail with log file validation through two
// logging sessions on a 10-second digest interval, and reads back every
// region's digests: a chain per session, each starting with a starting
// digest, one digest per interval whether or not logs were delivered, a
// final one when logging stops, every log file in exactly one digest.
func TestDigestChains(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true, DigestInterval: 10 * time.Second})
	ctx := context.Background()
	c, west := validatedTrail(t, e, "signed", "p", true), e.CloudTrail("eu-west-1")
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	session := func() {
		e.Clock.Advance(time.Second)
		_, err := c.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("signed")})
		must("StartLogging", err)
		_, err = west.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
		must("DescribeTrails", err)
		e.Clock.Advance(4 * time.Second)
		_, err = c.ListTrails(ctx, &cloudtrail.ListTrailsInput{})
		must("ListTrails", err)
		e.Clock.Advance(10 * time.Second)
		_, err = c.ListTrails(ctx, &cloudtrail.ListTrailsInput{})
		must("ListTrails", err)
		e.Clock.Advance(10 * time.Second)
		st, err := c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("signed")})
		if err != nil || !e.Clock.Now().Add(-10*time.Second).Before(aws.ToTime(st.LatestDigestDeliveryTime)) || aws.ToString(st.LatestDigestDeliveryError) != "" {
			t.Fatalf("GetTrailStatus = %+v, %v", st, err)
		}
		_, err = c.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String("signed")})
		must("StopLogging", err)
	}
	session()
	e.Clock.Advance(30 * time.Second)
	session()
	// Nothing more comes once logging has stopped.
	e.Clock.Advance(time.Minute)
	_, err := c.ListTrails(ctx, &cloudtrail.ListTrailsInput{})
	must("ListTrails", err)

	s3c := e.S3("us-east-1")
	var all []sandboxtest.Digest
	for _, region := range nineRegions {
		digests := sandboxtest.ReadDigests(t, s3c, "signed-logs", sandboxtest.DigestPrefix("p", ctAcct, region))
		// Each session: two digests at the 10-second marks, and the final
		// one when logging stopped.
		if len(digests) != 6 {
			t.Fatalf("%s: %d digests, want 6: %v", region, len(digests), digestKeys(digests))
		}
		if chains := sandboxtest.CheckChain(t, e.CloudTrail(region), s3c, digests); chains != 2 || !digests[0].Starting() || !digests[3].Starting() {
			t.Fatalf("%s: %d chains, want 2 starting with the 1st and 4th digest", region, chains)
		}
		for _, d := range digests {
			name := d.Key[strings.LastIndex(d.Key, "/")+1:]
			end, err := time.Parse(time.RFC3339, d.EndTime)
			if err != nil {
				t.Fatalf("digest %s: digestEndTime: %v", d.Key, err)
			}
			if !strings.HasPrefix(d.Key, "p/AWSLogs/"+ctAcct+"/CloudTrail-Digest/"+region+"/"+end.Format("2006/01/02")+"/") ||
				name != ctAcct+"_CloudTrail-Digest_"+region+"_signed_us-east-1_"+end.Format("20060102T150405Z")+".json.gz" {
				t.Fatalf("digest key %s is not CloudTrail's layout", d.Key)
			}
			if len(d.LogFiles) == 0 && (d.OldestEventTime != nil || d.NewestEventTime != nil) {
				t.Fatalf("empty digest %s has event times", d.Key)
			}
		}
		all = append(all, digests...)
	}
	logs := sandboxtest.ListKeys(t, s3c, "signed-logs", "p/AWSLogs/"+ctAcct+"/CloudTrail/")
	if digested := sandboxtest.DigestedLogs(all); !slices.Equal(digested, logs) || len(logs) < 4 {
		t.Fatalf("digests list %d log files, the bucket holds %d:\n%v\n%v", len(digested), len(logs), digested, logs)
	}
	var west1 int
	for _, d := range all {
		if strings.Contains(d.Key, "/eu-west-1/") {
			west1 += len(d.LogFiles)
		}
	}
	if west1 != 2 {
		t.Fatalf("eu-west-1's digests list %d log files, want the one of each session", west1)
	}
}

// TestDigestsStopWithValidation turns validation off, which ends the chain
// with a final digest, and on again, which starts another.
func TestDigestsStopWithValidation(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true, DigestInterval: 10 * time.Second})
	ctx := context.Background()
	c := validatedTrail(t, e, "toggled", "", false)
	steps := []func() error{
		func() error {
			_, err := c.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("toggled")})
			return err
		},
		func() error {
			_, err := c.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("toggled"), EnableLogFileValidation: aws.Bool(false)})
			return err
		},
		func() error {
			_, err := c.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("toggled"), EnableLogFileValidation: aws.Bool(true)})
			return err
		},
		func() error {
			_, err := c.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String("toggled")})
			return err
		},
	}
	for i, step := range steps {
		e.Clock.Advance(25 * time.Second)
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	s3c := e.S3("us-east-1")
	digests := sandboxtest.ReadDigests(t, s3c, "toggled-logs", sandboxtest.DigestPrefix("", ctAcct, "us-east-1"))
	// 25s on: two interval digests and a final one; 25s off: none; 25s
	// on again: two and the final one at deletion.
	if len(digests) != 6 || sandboxtest.CheckChain(t, c, s3c, digests) != 2 || !digests[3].Starting() {
		t.Fatalf("digests %v", digestKeys(digests))
	}
	// A single-region trail digests its home region only.
	if other := sandboxtest.ListKeys(t, s3c, "toggled-logs", "AWSLogs/"+ctAcct+"/CloudTrail-Digest/eu-west-1/"); len(other) != 0 {
		t.Fatalf("digests for another region: %v", other)
	}
}

// TestDigestDeliveryRefused reports a bucket CloudTrail may no longer
// write to, for log files and digests alike.
func TestDigestDeliveryRefused(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true, DigestInterval: 10 * time.Second})
	ctx := context.Background()
	c := validatedTrail(t, e, "closed", "", false)
	if _, err := c.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("closed")}); err != nil {
		t.Fatalf("StartLogging: %v", err)
	}
	if _, err := e.S3("us-east-1").DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String("closed-logs")}); err != nil {
		t.Fatalf("DeleteBucketPolicy: %v", err)
	}
	e.Clock.Advance(15 * time.Second)
	st, err := c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("closed")})
	if err != nil || aws.ToString(st.LatestDeliveryError) != "AccessDenied" || aws.ToString(st.LatestDigestDeliveryError) != "AccessDenied" {
		t.Fatalf("GetTrailStatus = %+v, %v", st, err)
	}
	// The StartLogging call was delivered while the policy still allowed
	// it; nothing since.
	s3c := e.S3("us-east-1")
	if logs, digests := sandboxtest.ListKeys(t, s3c, "closed-logs", "AWSLogs/"+ctAcct+"/CloudTrail/"),
		sandboxtest.ListKeys(t, s3c, "closed-logs", "AWSLogs/"+ctAcct+"/CloudTrail-Digest/"); len(logs) != 1 || len(digests) != 0 {
		t.Fatalf("delivered %v and %v", logs, digests)
	}
}

// validatedTrail creates a trail in us-east-1 with log file validation
// on, delivering under prefix into a bucket of its own, <name>-logs.
func validatedTrail(t *testing.T, e *sandboxtest.Env, name, prefix string, multiRegion bool) *cloudtrail.Client {
	t.Helper()
	c := e.CloudTrail("us-east-1")
	setupTrailBucket(t, e, "us-east-1", name+"-logs", prefix, "us-east-1", name)
	in := &cloudtrail.CreateTrailInput{Name: aws.String(name), S3BucketName: aws.String(name + "-logs"),
		IsMultiRegionTrail: aws.Bool(multiRegion), EnableLogFileValidation: aws.Bool(true)}
	if prefix != "" {
		in.S3KeyPrefix = aws.String(prefix)
	}
	if _, err := c.CreateTrail(context.Background(), in); err != nil {
		t.Fatalf("CreateTrail: %v", err)
	}
	return c
}

func digestKeys(digests []sandboxtest.Digest) []string {
	keys := make([]string, len(digests))
	for i, d := range digests {
		keys[i] = d.Key
	}
	return keys
}
