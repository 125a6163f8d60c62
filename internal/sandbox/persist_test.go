package sandbox_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

func TestRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true, DataDir: dir})
	c := e.S3("us-east-1")
	trailARN := sandboxtest.TrailARN("us-east-1", "123456789012", "kept-trail")
	e.MakeBucket(t, "us-east-1", "kept-bucket", sandboxtest.TrailPolicy("kept-bucket", "", "123456789012", trailARN))
	b := aws.String("kept-bucket")
	mustDo := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: b, VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})
	mustDo("PutBucketVersioning", err)
	_, err = c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: b, Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}})
	mustDo("PutBucketTagging", err)
	_, err = c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: b, LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: []s3types.LifecycleRule{{
		ID: aws.String("expire"), Status: s3types.ExpirationStatusEnabled, Filter: &s3types.LifecycleRuleFilter{Prefix: aws.String("")}, Expiration: &s3types.LifecycleExpiration{Days: aws.Int32(400)},
	}}}})
	mustDo("PutBucketLifecycleConfiguration", err)
	_, err = c.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: b})
	mustDo("DeletePublicAccessBlock", err)
	v1, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("obj"), Body: strings.NewReader("first"), ContentType: aws.String("text/plain")})
	mustDo("PutObject", err)
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("obj"), Body: strings.NewReader("second")})
	mustDo("PutObject", err)
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("gone"), Body: strings.NewReader("first")})
	mustDo("PutObject", err)
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: aws.String("gone")})
	mustDo("DeleteObject", err)
	_, err = e.CloudTrail("us-east-1").CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("kept-trail"), S3BucketName: b})
	mustDo("CreateTrail", err)
	role, err := e.STS("us-east-1").AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), RoleSessionName: aws.String("kept")})
	mustDo("AssumeRole", err)

	// A second server on the same directory sees everything.
	e2 := sandboxtest.New(t, sandbox.Options{NoHistory: true, DataDir: dir, Now: e.Clock.Now})
	c2 := e2.S3("us-east-1")

	if got := sandboxtest.ReadObject(t, c2, "kept-bucket", "obj", nil); got != "second" {
		t.Errorf("current object = %q", got)
	}
	if got := sandboxtest.ReadObject(t, c2, "kept-bucket", "obj", v1.VersionId); got != "first" {
		t.Errorf("older version = %q", got)
	}
	head, err := c2.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: aws.String("obj"), VersionId: v1.VersionId})
	if err != nil || aws.ToString(head.ContentType) != "text/plain" {
		t.Errorf("HeadObject after restart = %+v, %v", head, err)
	}
	_, err = c2.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("gone")})
	sandboxtest.WantCode(t, err, "NoSuchKey")
	vs, err := c2.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: b})
	if err != nil || len(vs.Versions) != 3 || len(vs.DeleteMarkers) != 1 {
		t.Errorf("versions after restart = %d + %d markers, %v", len(vs.Versions), len(vs.DeleteMarkers), err)
	}
	pol, err := c2.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b})
	if err != nil || !strings.Contains(aws.ToString(pol.Policy), "AWSCloudTrailWrite") {
		t.Errorf("policy after restart = %v, %v", pol, err)
	}
	ver, err := c2.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: b})
	if err != nil || ver.Status != s3types.BucketVersioningStatusEnabled {
		t.Errorf("versioning after restart = %+v, %v", ver, err)
	}
	tags, err := c2.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: b})
	if err != nil || len(tags.TagSet) != 1 {
		t.Errorf("tags after restart = %+v, %v", tags, err)
	}
	lc, err := c2.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: b})
	if err != nil || aws.ToInt32(lc.Rules[0].Expiration.Days) != 400 {
		t.Errorf("lifecycle after restart = %+v, %v", lc, err)
	}
	_, err = c2.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b})
	sandboxtest.WantCode(t, err, "NoSuchPublicAccessBlockConfiguration")
	trails, err := e2.CloudTrail("us-east-1").GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("kept-trail")})
	if err != nil || aws.ToString(trails.Trail.TrailARN) != trailARN {
		t.Errorf("trail after restart = %+v, %v", trails, err)
	}
	cr := role.Credentials
	id, err := sandboxtest.STSClient(e2.URL, "us-east-1", sandboxtest.Creds(aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), aws.ToString(cr.SessionToken))).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || !strings.HasSuffix(aws.ToString(id.Arn), "assumed-role/r/kept") {
		t.Errorf("temporary credentials after restart: %v, %v", id, err)
	}

	// Nothing but the state file and referenced bodies is left behind.
	if _, err := c2.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: aws.String("obj"), VersionId: v1.VersionId}); err != nil {
		t.Fatal(err)
	}
	if _, err := sandbox.New(sandbox.Options{NoHistory: true, DataDir: dir}); err != nil {
		t.Fatal(err)
	}
	bodies, err := os.ReadDir(filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	// "second" and "first" (still the body of the deleted key's version
	// under its delete marker).
	if len(bodies) != 2 {
		t.Errorf("%d body files after clean-up, want 2", len(bodies))
	}
	entries, _ := os.ReadDir(dir)
	for _, en := range entries {
		if strings.HasPrefix(en.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", en.Name())
		}
	}
}

func TestRestoreRejectsCorruptBody(t *testing.T) {
	dir := t.TempDir()
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true, DataDir: dir})
	e.MakeBucket(t, "us-east-1", "corrupt", "")
	if _, err := e.S3("us-east-1").PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("corrupt"), Key: aws.String("k"), Body: strings.NewReader("data")}); err != nil {
		t.Fatal(err)
	}
	// The body file is named by the SHA-256 of "data".
	if err := os.WriteFile(filepath.Join(dir, "objects", "3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7"), []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := sandbox.New(sandbox.Options{NoHistory: true, DataDir: dir}); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("New with a corrupt body file: %v, want an error", err)
	}
}

// TestRestoreUpgradesVersion1 restores a data directory the sandbox wrote
// before it kept a journal per service (testdata/v1-data: the state of
// TestRestartKeepsState, in one state.json).
func TestRestoreUpgradesVersion1(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata/v1-data")); err != nil {
		t.Fatal(err)
	}
	var legacy struct {
		Sessions map[string]struct{ AccessKey, Secret, Token string }
	}
	data, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil || json.Unmarshal(data, &legacy) != nil || len(legacy.Sessions) != 1 {
		t.Fatalf("fixture: %v, %d sessions", err, len(legacy.Sessions))
	}
	ctx := context.Background()
	for restart := range 2 {
		e := sandboxtest.New(t, sandbox.Options{NoHistory: true, DataDir: dir})
		c := e.S3("us-east-1")
		if got := sandboxtest.ReadObject(t, c, "kept-bucket", "obj", nil); got != "second" {
			t.Errorf("restart %d: current object = %q", restart, got)
		}
		vs, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("kept-bucket")})
		if err != nil || len(vs.Versions) != 3 || len(vs.DeleteMarkers) != 1 {
			t.Errorf("restart %d: versions = %d + %d markers, %v", restart, len(vs.Versions), len(vs.DeleteMarkers), err)
		}
		trail, err := e.CloudTrail("us-east-1").GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("kept-trail")})
		if err != nil || aws.ToString(trail.Trail.S3BucketName) != "kept-bucket" {
			t.Errorf("restart %d: trail = %+v, %v", restart, trail, err)
		}
		for _, sess := range legacy.Sessions {
			id, err := sandboxtest.STSClient(e.URL, "us-east-1", sandboxtest.Creds(sess.AccessKey, sess.Secret, sess.Token)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			if err != nil || !strings.HasSuffix(aws.ToString(id.Arn), "assumed-role/r/kept") {
				t.Errorf("restart %d: temporary credentials: %v, %v", restart, id, err)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "state.json")); !os.IsNotExist(err) {
			t.Errorf("restart %d: %s still there: %v", restart, "state.json", err)
		}
	}
}

// TestDigestsAcrossRestart restarts a sandbox between two digests: the
// chain goes on, signed with the key kept in the data directory.
func TestDigestsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	opts := sandbox.Options{NoHistory: true, DataDir: dir, DigestInterval: 10 * time.Second}
	e := sandboxtest.New(t, opts)
	arn := sandboxtest.TrailARN("us-east-1", sandbox.DefaultAccount, "restarted")
	e.MakeBucket(t, "us-east-1", "restarted-logs", sandboxtest.TrailPolicy("restarted-logs", "", sandbox.DefaultAccount, arn))
	c := e.CloudTrail("us-east-1")
	if _, err := c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("restarted"), S3BucketName: aws.String("restarted-logs"),
		EnableLogFileValidation: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("restarted")}); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(15 * time.Second)
	before, err := c.ListPublicKeys(ctx, &cloudtrail.ListPublicKeysInput{})
	if err != nil || len(before.PublicKeyList) != 1 {
		t.Fatalf("ListPublicKeys = %+v, %v", before, err)
	}

	opts.Now = e.Clock.Now
	e2 := sandboxtest.New(t, opts)
	e.Clock.Advance(10 * time.Second)
	c2 := e2.CloudTrail("us-east-1")
	after, err := c2.ListPublicKeys(ctx, &cloudtrail.ListPublicKeysInput{})
	if err != nil || len(after.PublicKeyList) != 1 || aws.ToString(after.PublicKeyList[0].Fingerprint) != aws.ToString(before.PublicKeyList[0].Fingerprint) {
		t.Fatalf("the key after the restart: %+v, %v; before: %+v", after, err, before)
	}
	s3c := e2.S3("us-east-1")
	digests := sandboxtest.ReadDigests(t, s3c, "restarted-logs", sandboxtest.DigestPrefix("", sandbox.DefaultAccount, "us-east-1"))
	if len(digests) != 2 || sandboxtest.CheckChain(t, c2, s3c, digests) != 1 {
		t.Fatalf("%d digests across the restart", len(digests))
	}
}

// TestArchiveNotSaved starts twice on one data directory: the
// pre-existing trail and its bucket are made again, and never written to
// the directory.
func TestArchiveNotSaved(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	bucket := aws.String(sandbox.ArchiveBucket(sandbox.DefaultAccount))
	for range 2 {
		e := sandboxtest.New(t, sandbox.Options{DataDir: dir})
		c := e.S3("us-east-1")
		list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket, Prefix: aws.String("AWSLogs/" + sandbox.DefaultAccount + "/CloudTrail/eu-west-1/2024/")})
		if err != nil || len(list.Contents) == 0 {
			t.Fatalf("the archive's 2024 in eu-west-1: %+v, %v", list, err)
		}
		// Calls the trail delivers into its bucket.
		if _, err := e.CloudTrail("us-east-1").GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(sandbox.ArchiveTrailName)}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.CloudTrail("us-east-1").ListTrails(ctx, &cloudtrail.ListTrailsInput{}); err != nil {
			t.Fatal(err)
		}
	}
	bodies, err := os.ReadDir(filepath.Join(dir, "objects"))
	if err != nil || len(bodies) != 0 {
		t.Fatalf("%d object bodies saved, %v", len(bodies), err)
	}
	// The journals hold no change to the bucket or the trail (whose
	// settings are saved with a capitalised Name; recorded calls name it
	// in lower case).
	for name, saved := range map[string]string{"s3.0.log": aws.ToString(bucket), "cloudtrail.0.log": `"Name":"` + sandbox.ArchiveTrailName + `"`} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || strings.Contains(string(data), saved) {
			t.Errorf("%s: %v, or it holds %s", name, err, saved)
		}
	}
}
