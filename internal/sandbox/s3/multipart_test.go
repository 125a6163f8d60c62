package s3_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

const mib = 1 << 20

// randomBytes are n bytes that compress to nothing, seeded so a failure
// repeats.
func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// multipartETag is S3's ETag of an object uploaded in parts of the given
// sizes, computed here from its definition: the MD5 of the parts' binary
// MD5s, a dash and the number of parts.
func multipartETag(body []byte, sizes ...int) string {
	h := md5.New()
	for _, n := range sizes {
		sum := md5.Sum(body[:n])
		h.Write(sum[:])
		body = body[n:]
	}
	return fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(h.Sum(nil)), len(sizes))
}

// compositeCRC32 is the composite CRC32 checksum of parts of the given
// sizes: the CRC32 of the parts' big-endian CRC32s, a dash and the count.
func compositeCRC32(body []byte, sizes ...int) string {
	var sums []byte
	for _, n := range sizes {
		sums = binary.BigEndian.AppendUint32(sums, crc32.ChecksumIEEE(body[:n]))
		body = body[n:]
	}
	return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(sums))) + fmt.Sprintf("-%d", len(sizes))
}

func TestMultipartTransferManager(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true})
	ctx := context.Background()
	e.MakeBucket(t, "eu-west-1", "big-bucket", "")
	c := e.S3("eu-west-1")
	tm := transfermanager.New(c, func(o *transfermanager.Options) { o.PartSizeBytes = 8 * mib })

	body := randomBytes(20*mib+123, 1)
	up, err := tm.UploadObject(ctx, &transfermanager.UploadObjectInput{Bucket: aws.String("big-bucket"), Key: aws.String("archive/file.json.gz"),
		Body: bytes.NewReader(body), ContentType: aws.String("application/gzip"), Metadata: map[string]string{"Origin": "upload"}})
	if err != nil {
		t.Fatalf("UploadObject: %v", err)
	}
	sizes := []int{8 * mib, 8 * mib, 4*mib + 123}
	want := multipartETag(body, sizes...)
	if aws.ToString(up.ETag) != want {
		t.Errorf("upload ETag = %s, want %s", aws.ToString(up.ETag), want)
	}

	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("big-bucket"), Key: aws.String("archive/file.json.gz"), ChecksumMode: s3types.ChecksumModeEnabled})
	if err != nil {
		t.Fatalf("HeadObject: %v", err)
	}
	if aws.ToString(head.ETag) != want || aws.ToInt64(head.ContentLength) != int64(len(body)) || aws.ToString(head.ContentType) != "application/gzip" ||
		head.Metadata["origin"] != "upload" {
		t.Errorf("HeadObject = ETag %s, length %d, type %s, metadata %v", aws.ToString(head.ETag), aws.ToInt64(head.ContentLength), aws.ToString(head.ContentType), head.Metadata)
	}
	if got, wantSum := aws.ToString(head.ChecksumCRC32), compositeCRC32(body, sizes...); got != wantSum || head.ChecksumType != s3types.ChecksumTypeComposite {
		t.Errorf("HeadObject checksum = %s %s, want %s COMPOSITE", got, head.ChecksumType, wantSum)
	}

	// The transfer manager downloads part by part (GetObject with
	// partNumber), the plain client in one piece.
	file := filepath.Join(t.TempDir(), "down")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tm.DownloadObject(ctx, &transfermanager.DownloadObjectInput{Bucket: aws.String("big-bucket"), Key: aws.String("archive/file.json.gz"), WriterAt: f}); err != nil {
		t.Fatalf("DownloadObject: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(file); err != nil || !bytes.Equal(got, body) {
		t.Errorf("downloaded %d bytes (%v), not the %d uploaded", len(got), err, len(body))
	}
	if got := sandboxtest.ReadObject(t, c, "big-bucket", "archive/file.json.gz", nil); got != string(body) {
		t.Errorf("GetObject read %d bytes, not the %d uploaded", len(got), len(body))
	}
	part, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("big-bucket"), Key: aws.String("archive/file.json.gz"), PartNumber: aws.Int32(3)})
	if err != nil {
		t.Fatalf("GetObject part 3: %v", err)
	}
	if err := part.Body.Close(); err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(part.PartsCount) != 3 || aws.ToInt64(part.ContentLength) != int64(sizes[2]) ||
		aws.ToString(part.ContentRange) != fmt.Sprintf("bytes %d-%d/%d", 16*mib, len(body)-1, len(body)) {
		t.Errorf("GetObject part 3 = %d parts, length %d, range %s", aws.ToInt32(part.PartsCount), aws.ToInt64(part.ContentLength), aws.ToString(part.ContentRange))
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("big-bucket"), Key: aws.String("archive/file.json.gz"), PartNumber: aws.Int32(4)})
	sandboxtest.WantCode(t, err, "InvalidPartNumber")
}

// mpu drives one multipart upload with explicit calls.
type mpu struct {
	t      *testing.T
	c      *s3.Client
	bucket string
	key    string
	id     *string
	parts  []s3types.CompletedPart
}

func startUpload(t *testing.T, c *s3.Client, bucket, key string) *mpu {
	t.Helper()
	out, err := c.CreateMultipartUpload(context.Background(), &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("CreateMultipartUpload %s: %v", key, err)
	}
	if aws.ToString(out.Bucket) != bucket || aws.ToString(out.Key) != key || aws.ToString(out.UploadId) == "" {
		t.Fatalf("CreateMultipartUpload = %+v", out)
	}
	return &mpu{t: t, c: c, bucket: bucket, key: key, id: out.UploadId}
}

func (u *mpu) part(n int32, body []byte) s3types.CompletedPart {
	u.t.Helper()
	out, err := u.c.UploadPart(context.Background(), &s3.UploadPartInput{Bucket: aws.String(u.bucket), Key: aws.String(u.key), UploadId: u.id,
		PartNumber: aws.Int32(n), Body: bytes.NewReader(body)})
	if err != nil {
		u.t.Fatalf("UploadPart %d: %v", n, err)
	}
	sum := md5.Sum(body)
	if want := `"` + hex.EncodeToString(sum[:]) + `"`; aws.ToString(out.ETag) != want {
		u.t.Errorf("UploadPart %d ETag = %s, want %s", n, aws.ToString(out.ETag), want)
	}
	p := s3types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32}
	u.parts = append(u.parts, p)
	return p
}

func (u *mpu) complete(parts ...s3types.CompletedPart) (*s3.CompleteMultipartUploadOutput, error) {
	in := &s3.CompleteMultipartUploadInput{Bucket: aws.String(u.bucket), Key: aws.String(u.key), UploadId: u.id}
	if parts != nil {
		in.MultipartUpload = &s3types.CompletedMultipartUpload{Parts: parts}
	}
	return u.c.CompleteMultipartUpload(context.Background(), in)
}

func TestMultipartRules(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true})
	ctx := context.Background()
	e.MakeBucket(t, "us-east-1", "mpu", "")
	c := e.S3("us-east-1")

	big, small := randomBytes(5*mib, 2), []byte("the last part may be small")
	u := startUpload(t, c, "mpu", "a/object")
	p1 := u.part(1, big)
	p2 := u.part(2, small)
	tiny := u.part(3, []byte("tiny"))

	_, err := u.complete(p2, p1)
	sandboxtest.WantCode(t, err, "InvalidPartOrder")
	_, err = u.complete(p1, p1)
	sandboxtest.WantCode(t, err, "InvalidPartOrder")
	wrongETag := p2
	wrongETag.ETag = aws.String(`"00000000000000000000000000000000"`)
	_, err = u.complete(p1, wrongETag)
	sandboxtest.WantCode(t, err, "InvalidPart")
	missing := p2
	missing.PartNumber = aws.Int32(7)
	_, err = u.complete(p1, missing)
	sandboxtest.WantCode(t, err, "InvalidPart")
	_, err = u.complete(p1, p2, tiny)
	sandboxtest.WantCode(t, err, "EntityTooSmall")
	_, err = u.complete()
	sandboxtest.WantCode(t, err, "MalformedXML")
	_, err = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpu"), Key: aws.String("a/object"), UploadId: u.id, PartNumber: aws.Int32(10001), Body: strings.NewReader("x")})
	sandboxtest.WantCode(t, err, "InvalidArgument")
	_, err = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpu"), Key: aws.String("other"), UploadId: u.id, PartNumber: aws.Int32(1), Body: strings.NewReader("x")})
	sandboxtest.WantCode(t, err, "NoSuchUpload")

	// ListParts pages by part number.
	var numbers []int32
	var marker *string
	for {
		page, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("mpu"), Key: aws.String("a/object"), UploadId: u.id, MaxParts: aws.Int32(2), PartNumberMarker: marker})
		if err != nil {
			t.Fatalf("ListParts: %v", err)
		}
		for _, p := range page.Parts {
			numbers = append(numbers, aws.ToInt32(p.PartNumber))
		}
		if !aws.ToBool(page.IsTruncated) {
			if page.Initiator == nil || !strings.HasSuffix(aws.ToString(page.Initiator.ID), ":user/sandbox") {
				t.Errorf("ListParts initiator = %+v", page.Initiator)
			}
			break
		}
		marker = page.NextPartNumberMarker
	}
	if fmt.Sprint(numbers) != "[1 2 3]" {
		t.Errorf("ListParts numbers = %v", numbers)
	}

	// Parts need not be contiguous: part 3 is left out.
	done, err := u.complete(p1, p2)
	if err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}
	body := append(append([]byte(nil), big...), small...)
	if want := multipartETag(body, len(big), len(small)); aws.ToString(done.ETag) != want {
		t.Errorf("CompleteMultipartUpload ETag = %s, want %s", aws.ToString(done.ETag), want)
	}
	if !strings.HasSuffix(aws.ToString(done.Location), "/mpu/a/object") {
		t.Errorf("Location = %s", aws.ToString(done.Location))
	}
	if got := sandboxtest.ReadObject(t, c, "mpu", "a/object", nil); got != string(body) {
		t.Errorf("completed object has %d bytes, want %d", len(got), len(body))
	}
	_, err = u.complete(p1, p2)
	sandboxtest.WantCode(t, err, "NoSuchUpload")

	aborted := startUpload(t, c, "mpu", "b/aborted")
	aborted.part(1, small)
	if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("b/aborted"), UploadId: aborted.id}); err != nil {
		t.Fatalf("AbortMultipartUpload: %v", err)
	}
	_, err = c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("b/aborted"), UploadId: aborted.id})
	sandboxtest.WantCode(t, err, "NoSuchUpload")
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("mpu"), Key: aws.String("b/aborted")})
	sandboxtest.WantCode(t, err, "NotFound")
}

func TestListMultipartUploads(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true})
	ctx := context.Background()
	e.MakeBucket(t, "us-east-1", "uploads", "")
	c := e.S3("us-east-1")
	ids := map[string]string{}
	for _, key := range []string{"logs/a", "logs/b", "logs/b", "top", "dir/x/1", "dir/y/2"} {
		e.Clock.Advance(1)
		ids[aws.ToString(startUpload(t, c, "uploads", key).id)] = key
	}
	var got []string
	in := &s3.ListMultipartUploadsInput{Bucket: aws.String("uploads"), MaxUploads: aws.Int32(2)}
	for {
		page, err := c.ListMultipartUploads(ctx, in)
		if err != nil {
			t.Fatalf("ListMultipartUploads: %v", err)
		}
		for _, u := range page.Uploads {
			if ids[aws.ToString(u.UploadId)] != aws.ToString(u.Key) {
				t.Errorf("upload %s is listed under %s", aws.ToString(u.UploadId), aws.ToString(u.Key))
			}
			got = append(got, aws.ToString(u.Key))
		}
		if !aws.ToBool(page.IsTruncated) {
			break
		}
		in.KeyMarker, in.UploadIdMarker = page.NextKeyMarker, page.NextUploadIdMarker
	}
	if want := "dir/x/1 dir/y/2 logs/a logs/b logs/b top"; strings.Join(got, " ") != want {
		t.Errorf("uploads listed = %s, want %s", strings.Join(got, " "), want)
	}
	page, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("uploads"), Prefix: aws.String("dir/"), Delimiter: aws.String("/")})
	if err != nil {
		t.Fatal(err)
	}
	var prefixes []string
	for _, p := range page.CommonPrefixes {
		prefixes = append(prefixes, aws.ToString(p.Prefix))
	}
	if len(page.Uploads) != 0 || strings.Join(prefixes, " ") != "dir/x/ dir/y/" {
		t.Errorf("uploads under dir/ by / = %d uploads, prefixes %v", len(page.Uploads), prefixes)
	}
}

func TestMultipartChecksums(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true})
	ctx := context.Background()
	e.MakeBucket(t, "us-east-1", "sums", "")
	c := e.S3("us-east-1")
	body := randomBytes(6*mib, 3)

	out, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("sums"), Key: aws.String("full"),
		ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32, ChecksumType: s3types.ChecksumTypeFullObject})
	if err != nil {
		t.Fatal(err)
	}
	var parts []s3types.CompletedPart
	for i, chunk := range [][]byte{body[:5*mib], body[5*mib:]} {
		p, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("sums"), Key: aws.String("full"), UploadId: out.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(chunk), ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, s3types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: p.ETag, ChecksumCRC32: p.ChecksumCRC32})
	}
	withoutSum := []s3types.CompletedPart{parts[0], {PartNumber: parts[1].PartNumber, ETag: parts[1].ETag}}
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("sums"), Key: aws.String("full"), UploadId: out.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: withoutSum}})
	sandboxtest.WantCode(t, err, "InvalidRequest")
	done, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("sums"), Key: aws.String("full"), UploadId: out.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts}, ChecksumType: s3types.ChecksumTypeFullObject})
	if err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}
	want := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(body)))
	if aws.ToString(done.ChecksumCRC32) != want || done.ChecksumType != s3types.ChecksumTypeFullObject {
		t.Errorf("full-object CRC32 = %s %s, want %s FULL_OBJECT", aws.ToString(done.ChecksumCRC32), done.ChecksumType, want)
	}

	_, err = c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("sums"), Key: aws.String("bad"),
		ChecksumAlgorithm: s3types.ChecksumAlgorithmSha256, ChecksumType: s3types.ChecksumTypeFullObject})
	sandboxtest.WantCode(t, err, "InvalidRequest")
}

func TestMultipartUploadSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true, DataDir: dir})
	e.MakeBucket(t, "us-east-1", "kept", "")
	first, second := randomBytes(5*mib, 4), []byte("tail")
	u := startUpload(t, e.S3("us-east-1"), "kept", "k")
	p1 := u.part(1, first)
	gone := startUpload(t, e.S3("us-east-1"), "kept", "gone")
	if _, err := gone.c.AbortMultipartUpload(context.Background(), &s3.AbortMultipartUploadInput{Bucket: aws.String("kept"), Key: aws.String("gone"), UploadId: gone.id}); err != nil {
		t.Fatal(err)
	}

	e2 := sandboxtest.New(t, sandbox.Options{NoHistory: true, DataDir: dir, Now: e.Clock.Now})
	c2 := e2.S3("us-east-1")
	list, err := c2.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String("kept")})
	if err != nil || len(list.Uploads) != 1 || aws.ToString(list.Uploads[0].UploadId) != aws.ToString(u.id) {
		t.Fatalf("uploads after restart = %+v, %v", list, err)
	}
	u.c = c2
	p2 := u.part(2, second)
	if _, err := u.complete(p1, p2); err != nil {
		t.Fatalf("completing after restart: %v", err)
	}
	if got := sandboxtest.ReadObject(t, c2, "kept", "k", nil); got != string(first)+string(second) {
		t.Errorf("object completed after restart has %d bytes", len(got))
	}
}

func TestCopyObject(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true})
	ctx := context.Background()
	e.MakeBucket(t, "eu-west-1", "src-bucket", "")
	e.MakeBucket(t, "eu-west-1", "dst-bucket", "")
	c := e.S3("eu-west-1")
	src := aws.String("src-bucket")
	if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: src, VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	key := "dir/file with space+ü.txt"
	old, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: src, Key: aws.String(key), Body: strings.NewReader("old"), ContentType: aws.String("text/plain"), Metadata: map[string]string{"a": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: src, Key: aws.String(key), Body: strings.NewReader("new"), ContentType: aws.String("text/plain"), Metadata: map[string]string{"a": "2"}}); err != nil {
		t.Fatal(err)
	}
	source := "src-bucket/" + strings.ReplaceAll(url.PathEscape(key), "%2F", "/")

	// Another bucket, metadata copied.
	out, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst-bucket"), Key: aws.String("copy"), CopySource: aws.String(source)})
	if err != nil {
		t.Fatalf("CopyObject: %v", err)
	}
	sum := md5.Sum([]byte("new"))
	if aws.ToString(out.CopyObjectResult.ETag) != `"`+hex.EncodeToString(sum[:])+`"` || out.CopySourceVersionId == nil {
		t.Errorf("CopyObject = ETag %s, source version %v", aws.ToString(out.CopyObjectResult.ETag), out.CopySourceVersionId)
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("dst-bucket"), Key: aws.String("copy")})
	if err != nil || aws.ToString(head.ContentType) != "text/plain" || head.Metadata["a"] != "2" {
		t.Errorf("copy's metadata = %+v, %v", head, err)
	}
	if got := sandboxtest.ReadObject(t, c, "dst-bucket", "copy", nil); got != "new" {
		t.Errorf("copy = %q", got)
	}

	// An older version, metadata replaced.
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst-bucket"), Key: aws.String("older"), CopySource: aws.String(source + "?versionId=" + aws.ToString(old.VersionId)),
		MetadataDirective: s3types.MetadataDirectiveReplace, ContentType: aws.String("text/csv"), Metadata: map[string]string{"b": "3"}}); err != nil {
		t.Fatalf("CopyObject of a version: %v", err)
	}
	head, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("dst-bucket"), Key: aws.String("older")})
	if err != nil || aws.ToString(head.ContentType) != "text/csv" || head.Metadata["b"] != "3" || head.Metadata["a"] != "" {
		t.Errorf("replaced metadata = %+v, %v", head, err)
	}
	if got := sandboxtest.ReadObject(t, c, "dst-bucket", "older", nil); got != "old" {
		t.Errorf("copy of the older version = %q", got)
	}

	// Onto itself only with a change.
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: src, Key: aws.String(key), CopySource: aws.String(source)})
	sandboxtest.WantCode(t, err, "InvalidRequest")
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: src, Key: aws.String(key), CopySource: aws.String(source), MetadataDirective: s3types.MetadataDirectiveReplace}); err != nil {
		t.Errorf("copy onto itself with REPLACE: %v", err)
	}

	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst-bucket"), Key: aws.String("x"), CopySource: aws.String("src-bucket/missing")})
	sandboxtest.WantCode(t, err, "NoSuchKey")
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst-bucket"), Key: aws.String("x"), CopySource: aws.String("no-such-bucket/k")})
	sandboxtest.WantCode(t, err, "NoSuchBucket")
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst-bucket"), Key: aws.String("x"), CopySource: aws.String("src-bucket")})
	sandboxtest.WantCode(t, err, "InvalidArgument")
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst-bucket"), Key: aws.String("x"), CopySource: aws.String(source), CopySourceIfMatch: aws.String(`"abc"`)})
	sandboxtest.WantCode(t, err, "PreconditionFailed")
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst-bucket"), Key: aws.String("x"), CopySource: aws.String(source), MetadataDirective: "MOVE"})
	sandboxtest.WantCode(t, err, "InvalidArgument")
}

func TestUploadPartCopy(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true})
	ctx := context.Background()
	e.MakeBucket(t, "us-east-1", "parts", "")
	c := e.S3("us-east-1")
	body := randomBytes(6*mib, 5)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("parts"), Key: aws.String("src"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	u := startUpload(t, c, "parts", "dst")
	var parts []s3types.CompletedPart
	for i, rng := range []string{fmt.Sprintf("bytes=0-%d", 5*mib-1), fmt.Sprintf("bytes=%d-%d", 5*mib, len(body)-1)} {
		out, err := c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String("parts"), Key: aws.String("dst"), UploadId: u.id,
			PartNumber: aws.Int32(int32(i + 1)), CopySource: aws.String("parts/src"), CopySourceRange: aws.String(rng)})
		if err != nil {
			t.Fatalf("UploadPartCopy %s: %v", rng, err)
		}
		parts = append(parts, s3types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.CopyPartResult.ETag})
	}
	_, err := c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String("parts"), Key: aws.String("dst"), UploadId: u.id,
		PartNumber: aws.Int32(3), CopySource: aws.String("parts/src"), CopySourceRange: aws.String(fmt.Sprintf("bytes=0-%d", len(body)))})
	sandboxtest.WantCode(t, err, "InvalidArgument")
	done, err := u.complete(parts...)
	if err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}
	if want := multipartETag(body, 5*mib, mib); aws.ToString(done.ETag) != want {
		t.Errorf("ETag = %s, want %s", aws.ToString(done.ETag), want)
	}
	if got := sandboxtest.ReadObject(t, c, "parts", "dst", nil); got != string(body) {
		t.Errorf("object copied in parts differs (%d bytes)", len(got))
	}
}
