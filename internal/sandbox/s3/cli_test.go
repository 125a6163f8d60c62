package s3_test

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

// TestCLIS3AndSTS drives the command with the AWS CLI v1, whose botocore
// parsers must accept every answer.
func TestCLIS3AndSTS(t *testing.T) {
	sandboxtest.RequireAWSCLI(t)
	endpoint := sandboxtest.StartCommand(t, "-no-history")
	region := "eu-west-1"
	aws := func(v any, args ...string) {
		t.Helper()
		sandboxtest.AWSCLIJSON(t, endpoint, region, v, args...)
	}

	var id struct{ Account, Arn, UserId string }
	aws(&id, "sts", "get-caller-identity")
	if id.Account != sandbox.DefaultAccount || id.Arn != "arn:aws:iam::123456789012:user/sandbox" || !strings.HasPrefix(id.UserId, "AIDA") {
		t.Errorf("get-caller-identity = %+v", id)
	}

	var created struct{ Location string }
	aws(&created, "s3api", "create-bucket", "--bucket", "cli-bucket", "--create-bucket-configuration", "LocationConstraint="+region)
	if created.Location != "/cli-bucket" {
		t.Errorf("create-bucket Location = %q", created.Location)
	}
	_, err := sandboxtest.AWSCLI(t, endpoint, region, "s3api", "create-bucket", "--bucket", "cli-bucket", "--create-bucket-configuration", "LocationConstraint="+region)
	if err == nil || !strings.Contains(err.Error(), "BucketAlreadyOwnedByYou") {
		t.Errorf("second create-bucket: %v, want BucketAlreadyOwnedByYou", err)
	}

	policy := sandboxtest.TrailPolicy("cli-bucket", "", sandbox.DefaultAccount, sandboxtest.TrailARN(region, sandbox.DefaultAccount, "cli"))
	aws(nil, "s3api", "put-bucket-policy", "--bucket", "cli-bucket", "--policy", policy)
	var got struct{ Policy string }
	aws(&got, "s3api", "get-bucket-policy", "--bucket", "cli-bucket")
	if got.Policy != policy {
		t.Errorf("get-bucket-policy = %q", got.Policy)
	}
	_, err = sandboxtest.AWSCLI(t, endpoint, region, "s3api", "put-bucket-policy", "--bucket", "cli-bucket", "--policy", `{"Version":"2012-10-17"}`)
	if err == nil || !strings.Contains(err.Error(), "MalformedPolicy") {
		t.Errorf("put-bucket-policy of a malformed policy: %v", err)
	}

	file := filepath.Join(t.TempDir(), "body.txt")
	if err := os.WriteFile(file, []byte("from botocore"), 0o644); err != nil {
		t.Fatal(err)
	}
	var put struct{ ETag string }
	aws(&put, "s3api", "put-object", "--bucket", "cli-bucket", "--key", "dir/with space.txt", "--body", file)
	if sum := md5.Sum([]byte("from botocore")); put.ETag != `"`+hex.EncodeToString(sum[:])+`"` {
		t.Errorf("put-object ETag = %q", put.ETag)
	}
	aws(nil, "s3api", "put-object", "--bucket", "cli-bucket", "--key", "top.txt", "--body", file, "--metadata", "Foo-Bar=x")
	// S3 answers user metadata names in lower case, and botocore keeps
	// the case it receives.
	var head struct{ Metadata map[string]string }
	aws(&head, "s3api", "head-object", "--bucket", "cli-bucket", "--key", "top.txt")
	if !reflect.DeepEqual(head.Metadata, map[string]string{"foo-bar": "x"}) {
		t.Errorf("head-object Metadata = %v, want foo-bar", head.Metadata)
	}
	var list struct {
		Contents       []struct{ Key string }
		CommonPrefixes []struct{ Prefix string }
	}
	aws(&list, "s3api", "list-objects-v2", "--bucket", "cli-bucket", "--delimiter", "/")
	if len(list.Contents) != 1 || list.Contents[0].Key != "top.txt" || len(list.CommonPrefixes) != 1 || list.CommonPrefixes[0].Prefix != "dir/" {
		t.Errorf("list-objects-v2 with delimiter = %+v", list)
	}

	// The remaining configuration calls botocore parses.
	aws(nil, "s3api", "put-bucket-versioning", "--bucket", "cli-bucket", "--versioning-configuration", "Status=Enabled")
	var ver struct{ Status string }
	aws(&ver, "s3api", "get-bucket-versioning", "--bucket", "cli-bucket")
	if ver.Status != "Enabled" {
		t.Errorf("get-bucket-versioning = %+v", ver)
	}
	var loc struct{ LocationConstraint string }
	aws(&loc, "s3api", "get-bucket-location", "--bucket", "cli-bucket")
	if loc.LocationConstraint != region {
		t.Errorf("get-bucket-location = %+v", loc)
	}
	var enc struct {
		ServerSideEncryptionConfiguration struct {
			Rules []struct {
				ApplyServerSideEncryptionByDefault struct{ SSEAlgorithm string }
			}
		}
	}
	aws(&enc, "s3api", "get-bucket-encryption", "--bucket", "cli-bucket")
	if r := enc.ServerSideEncryptionConfiguration.Rules; len(r) != 1 || r[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != "AES256" {
		t.Errorf("get-bucket-encryption = %+v", enc)
	}
	var versions struct {
		Versions []struct {
			Key      string
			IsLatest bool
		}
	}
	aws(&versions, "s3api", "list-object-versions", "--bucket", "cli-bucket")
	if len(versions.Versions) != 2 || versions.Versions[0].Key != "dir/with space.txt" {
		t.Errorf("list-object-versions = %+v", versions)
	}
	if _, err := sandboxtest.AWSCLI(t, endpoint, region, "s3api", "get-bucket-tagging", "--bucket", "cli-bucket"); err == nil || !strings.Contains(err.Error(), "NoSuchTagSet") {
		t.Errorf("get-bucket-tagging: %v, want NoSuchTagSet", err)
	}
}

// TestCLILargeFiles moves files above the AWS CLI's 8 MB multipart
// threshold with aws s3 cp and aws s3 sync, as users load archives into
// the sandbox, and copies between buckets (UploadPartCopy and CopyObject).
func TestCLILargeFiles(t *testing.T) {
	sandboxtest.RequireAWSCLI(t)
	endpoint := sandboxtest.StartCommand(t, "-no-history")
	region := "us-east-1"
	aws := func(v any, args ...string) {
		t.Helper()
		sandboxtest.AWSCLIJSON(t, endpoint, region, v, args...)
	}
	run := func(args ...string) { t.Helper(); aws(nil, args...) }
	run("s3api", "create-bucket", "--bucket", "cli-big")
	run("s3api", "create-bucket", "--bucket", "cli-copies")

	dir := t.TempDir()
	up := filepath.Join(dir, "up")
	files := map[string][]byte{
		"big.json.gz":          randomBytes(20*mib+7, 10),
		"small.json":           []byte(`{"Records":[]}`),
		"nested/dir/more.json": randomBytes(1000, 11),
	}
	for name, body := range files {
		path := filepath.Join(up, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	big := files["big.json.gz"]
	bigETag := multipartETag(big, 8*mib, 8*mib, 4*mib+7)
	etag := func(bucket, key string) string {
		t.Helper()
		var head struct {
			ETag string
		}
		aws(&head, "s3api", "head-object", "--bucket", bucket, "--key", key)
		return head.ETag
	}
	sameFile := func(path string, want []byte) {
		t.Helper()
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes (%v), want the %d uploaded", path, len(got), err, len(want))
		}
	}

	run("s3", "cp", filepath.Join(up, "big.json.gz"), "s3://cli-big/cp/big.json.gz")
	if got := etag("cli-big", "cp/big.json.gz"); got != bigETag {
		t.Errorf("ETag of the uploaded file = %s, want %s", got, bigETag)
	}
	run("s3", "cp", "s3://cli-big/cp/big.json.gz", filepath.Join(dir, "down.json.gz"))
	sameFile(filepath.Join(dir, "down.json.gz"), big)

	run("s3", "sync", up, "s3://cli-big/synced/")
	if got := etag("cli-big", "synced/big.json.gz"); got != bigETag {
		t.Errorf("ETag of the synced file = %s, want %s", got, bigETag)
	}
	down := filepath.Join(dir, "down")
	run("s3", "sync", "s3://cli-big/synced/", down)
	for name, body := range files {
		sameFile(filepath.Join(down, name), body)
	}
	if out, err := sandboxtest.AWSCLI(t, endpoint, region, "s3", "sync", up, "s3://cli-big/synced/"); err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("a second sync of the same folder copied again (%v):\n%s", err, out)
	}

	// Above the threshold the CLI copies in parts (UploadPartCopy), below
	// it with CopyObject.
	run("s3", "cp", "s3://cli-big/synced/big.json.gz", "s3://cli-copies/big-copy.json.gz")
	run("s3", "cp", "s3://cli-big/synced/small.json", "s3://cli-copies/small-copy.json")
	if got := etag("cli-copies", "big-copy.json.gz"); got != bigETag {
		t.Errorf("ETag of the file copied in parts = %s, want %s", got, bigETag)
	}
	run("s3", "cp", "s3://cli-copies/big-copy.json.gz", filepath.Join(dir, "big-copy"))
	sameFile(filepath.Join(dir, "big-copy"), big)
	run("s3", "cp", "s3://cli-copies/small-copy.json", filepath.Join(dir, "small-copy"))
	sameFile(filepath.Join(dir, "small-copy"), files["small.json"])
	if sum := md5.Sum(files["small.json"]); etag("cli-copies", "small-copy.json") != `"`+hex.EncodeToString(sum[:])+`"` {
		t.Errorf("ETag of the copied small file is not its MD5")
	}

	var created struct{ UploadId string }
	aws(&created, "s3api", "create-multipart-upload", "--bucket", "cli-big", "--key", "pending")
	var listed struct {
		Uploads []struct{ Key, UploadId string }
	}
	aws(&listed, "s3api", "list-multipart-uploads", "--bucket", "cli-big")
	if len(listed.Uploads) != 1 || listed.Uploads[0].UploadId != created.UploadId || listed.Uploads[0].Key != "pending" {
		t.Errorf("list-multipart-uploads = %+v, want the upload %s of pending", listed.Uploads, created.UploadId)
	}
	run("s3api", "abort-multipart-upload", "--bucket", "cli-big", "--key", "pending", "--upload-id", created.UploadId)
}
