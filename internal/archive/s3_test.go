package archive

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/sync/errgroup"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/testserver"
)

// s3Client is a path-style client of a local endpoint, on the provider's
// HTTP client.
func s3Client(endpoint string, creds aws.CredentialsProvider) *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  creds,
		HTTPClient:   awsclient.HTTPClient(),
	})
}

var testCreds = credentials.NewStaticCredentialsProvider("test", "test", "")

// upload creates bucket and copies every file under dir into it, keyed by
// its path, as `aws s3 sync` would.
func upload(tb testing.TB, client *s3.Client, bucket, dir string) {
	tb.Helper()
	ctx := context.Background()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		tb.Fatalf("creating bucket %s: %v", bucket, err)
	}
	g := new(errgroup.Group)
	g.SetLimit(8)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		g.Go(func() error {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(filepath.ToSlash(rel)), Body: f})
			return errors.Join(err, f.Close())
		})
		return nil
	})
	if err := errors.Join(err, g.Wait()); err != nil {
		tb.Fatalf("uploading %s: %v", dir, err)
	}
}

// compareResults ignores what differs between two reads of the same files:
// the time taken and the store's wording of an error.
var compareResults = []cmp.Option{
	cmpopts.IgnoreFields(Result{}, "Duration"),
	cmp.Comparer(func(a, b *FileError) bool { return a.Key == b.Key }),
	cmpopts.EquateEmpty(),
}

// TestBucketMatchesDir reads the same archive from moto_server's S3 and
// from a directory: the answers are the same.
func TestBucketMatchesDir(t *testing.T) {
	endpoint := testserver.Moto(t)
	dir := t.TempDir()
	loc := Location{Prefix: "trail/logs", OrganizationID: "o-abc123def4"}
	c := corpus{Location: loc, Accounts: []string{acctA, acctB}, Regions: []string{"us-east-1", "eu-west-1", "ap-northeast-1"},
		First: day(1), Days: 3, FilesPerDay: 8, RecordsPerFile: 40, Seed: 11}
	facts, err := c.write(dir)
	if err != nil {
		t.Fatal(err)
	}
	// What a reader must leave alone or report, next to the log files.
	at := day(2).Add(time.Hour)
	writeLog(t, dir, loc.DayPrefix(acctA, CloudTrailDigestFolder, "us-east-1", at)+"digest.json.gz",
		rec{id: uuidN(1), name: "DeleteServer", region: "us-east-1", account: acctA, at: at})
	broken := logKey(loc, acctB, "eu-west-1", at, 99)
	writeFile(t, dir, broken, []byte("not gzip"))

	client := s3Client(endpoint, testCreds)
	upload(t, client, "trail-archive", dir)
	bucket, local := NewBucket(client, "trail-archive"), openDir(t, dir)

	base := Query{Location: loc, AccountIDs: []string{Discover}, Regions: []string{Discover}, Start: day(1), End: day(3).Add(-time.Second),
		MaxEvents: 25, OnFileError: WarnOnFileError}
	for name, change := range map[string]func(q *Query){
		"discover":       func(*Query) {},
		"listed folders": func(q *Query) { q.AccountIDs, q.Regions = []string{acctB}, []string{"eu-west-1", "us-east-1"} },
		"counts only":    func(q *Query) { q.MaxEvents = 0 },
		"other service": func(q *Query) {
			q.Filter = events.Filter{EventSource: "kms.amazonaws.com", ErrorCodes: []string{"AccessDenied"}}
		},
	} {
		t.Run(name, func(t *testing.T) {
			q := base
			change(&q)
			q.Source = local
			fromDir := mustRun(t, q)
			q.Source = bucket
			fromS3 := mustRun(t, q)
			if diff := cmp.Diff(fromDir, fromS3, compareResults...); diff != "" {
				t.Errorf("directory and S3 differ (-directory +S3):\n%s", diff)
			}
		})
	}

	q := base
	q.Source = bucket
	res := mustRun(t, q)
	if len(res.FilesFailed) != 1 || res.FilesFailed[0].Key != broken || !strings.Contains(res.FilesFailed[0].Err.Error(), "not a gzipped log file") {
		t.Errorf("failed files %v, want %s", res.FilesFailed, broken)
	}
	if res.FilesScanned != facts.Files || res.UncompressedBytes != facts.Uncompressed {
		t.Errorf("S3: scanned %d files, %d bytes; the generator wrote %d, %d", res.FilesScanned, res.UncompressedBytes, facts.Files, facts.Uncompressed)
	}
	if want := len(facts.between(q.Start, q.End)); res.TotalCount != want || res.TotalCount == 0 {
		t.Errorf("S3: %d OpsWorks CM events, the generator wrote %d", res.TotalCount, want)
	}
}

// vanishing deletes each object just before opening it, as a lifecycle
// rule or a clean-up job may between listing and reading.
type vanishing struct {
	*Bucket
	client *s3.Client
}

func (v vanishing) Open(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	if _, err := v.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(v.name), Key: aws.String(key)}); err != nil {
		return nil, ObjectInfo{}, err
	}
	return v.Bucket.Open(ctx, key)
}

// TestBucketErrors: S3's refusals keep their code and map to fs errors.
func TestBucketErrors(t *testing.T) {
	endpoint := testserver.Moto(t)
	ctx := context.Background()
	dir := t.TempDir()
	at := day(6).Add(time.Hour)
	key := logKey(Location{}, acctA, "us-east-1", at, 1)
	writeLog(t, dir, key, rec{id: uuidN(1), name: "DeleteBackup", region: "us-east-1", account: acctA, at: at})
	client := s3Client(endpoint, testCreds)
	upload(t, client, "trail-archive", dir)

	t.Run("metadata", func(t *testing.T) {
		_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("trail-archive"), Key: aws.String("digest.json.gz"),
			Body: strings.NewReader("x"), Metadata: map[string]string{"Signature": "0a1b", "signature-algorithm": "SHA256withRSA"}})
		if err != nil {
			t.Fatal(err)
		}
		body, info, err := NewBucket(client, "trail-archive").Open(ctx, "digest.json.gz")
		if err != nil {
			t.Fatal(err)
		}
		if err := body.Close(); err != nil {
			t.Error(err)
		}
		if info.Metadata["signature"] != "0a1b" || info.Metadata["signature-algorithm"] != "SHA256withRSA" || info.Size != 1 {
			t.Errorf("object info %+v", info)
		}
	})

	t.Run("NoSuchKey mid-run", func(t *testing.T) {
		q := query(vanishing{Bucket: NewBucket(client, "trail-archive"), client: client})
		_, err := Run(ctx, q)
		var fe *FileError
		if !errors.As(err, &fe) || fe.Key != key || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "NoSuchKey") {
			t.Errorf("error %v, want NoSuchKey for %s", err, key)
		}
	})

	t.Run("NoSuchBucket", func(t *testing.T) {
		_, err := Run(ctx, query(NewBucket(client, "no-such-archive")))
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "NoSuchBucket") || !strings.Contains(err.Error(), "s3://no-such-archive/AWSLogs/") {
			t.Errorf("error %v, want NoSuchBucket naming the prefix", err)
		}
	})
}

// TestBucketAccessDenied reads another account's bucket through the
// sandbox command, which refuses it as S3 does.
func TestBucketAccessDenied(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the sandbox command")
	}
	endpoint := sandboxtest.StartCommand(t, "-no-history")
	ctx := context.Background()
	dir := t.TempDir()
	at := day(6).Add(time.Hour)
	key := logKey(Location{}, acctA, "us-east-1", at, 1)
	writeLog(t, dir, key, rec{id: uuidN(1), name: "DeleteBackup", region: "us-east-1", account: acctA, at: at})
	upload(t, s3Client(endpoint, testCreds), "owner-archive", dir)

	stsClient := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: testCreds})
	out, err := stsClient.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::210987654321:role/Auditor"), RoleSessionName: aws.String("audit")})
	if err != nil {
		t.Fatal(err)
	}
	other := s3Client(endpoint, credentials.NewStaticCredentialsProvider(
		aws.ToString(out.Credentials.AccessKeyId), aws.ToString(out.Credentials.SecretAccessKey), aws.ToString(out.Credentials.SessionToken)))
	bucket := NewBucket(other, "owner-archive")

	_, err = Run(ctx, query(bucket))
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "AccessDenied") || !strings.Contains(err.Error(), "s3:ListBucket") {
		t.Errorf("listing: %v, want AccessDenied naming s3:ListBucket", err)
	}
	_, _, err = bucket.Open(ctx, key)
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "AccessDenied") || !strings.Contains(err.Error(), "s3:GetObject") || !strings.Contains(err.Error(), "s3://owner-archive/"+key) {
		t.Errorf("getting: %v, want AccessDenied naming s3:GetObject", err)
	}
}
