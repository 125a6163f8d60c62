package sandboxtest

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto"
	"crypto/md5"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Digest is a digest file read back from S3: its fields, its
// uncompressed JSON and the signature S3 keeps in its metadata.
type Digest struct {
	Key                string
	Raw                []byte
	Signature          string
	SignatureAlgorithm string
	// Fields are the JSON's fields by name, null ones included.
	Fields map[string]json.RawMessage
	DigestFields
}

// DigestFields are the digest's fields a test reads.
type DigestFields struct {
	AccountID             string          `json:"awsAccountId"`
	StartTime             string          `json:"digestStartTime"`
	EndTime               string          `json:"digestEndTime"`
	Bucket                string          `json:"digestS3Bucket"`
	Object                string          `json:"digestS3Object"`
	Fingerprint           string          `json:"digestPublicKeyFingerprint"`
	Algorithm             string          `json:"digestSignatureAlgorithm"`
	PreviousBucket        *string         `json:"previousDigestS3Bucket"`
	PreviousObject        *string         `json:"previousDigestS3Object"`
	PreviousHashValue     *string         `json:"previousDigestHashValue"`
	PreviousHashAlgorithm *string         `json:"previousDigestHashAlgorithm"`
	PreviousSignature     *string         `json:"previousDigestSignature"`
	NewestEventTime       *string         `json:"newestEventTime"`
	OldestEventTime       *string         `json:"oldestEventTime"`
	LogFiles              []DigestLogFile `json:"logFiles"`
}

// DigestLogFile is a log file a digest lists.
type DigestLogFile struct {
	S3Bucket        string `json:"s3Bucket"`
	S3Object        string `json:"s3Object"`
	HashValue       string `json:"hashValue"`
	HashAlgorithm   string `json:"hashAlgorithm"`
	NewestEventTime string `json:"newestEventTime"`
	OldestEventTime string `json:"oldestEventTime"`
}

// DigestFieldNames are the fields every digest has, null or not.
var DigestFieldNames = []string{
	"awsAccountId", "digestStartTime", "digestEndTime", "digestS3Bucket", "digestS3Object", "digestPublicKeyFingerprint",
	"digestSignatureAlgorithm", "newestEventTime", "oldestEventTime", "previousDigestS3Bucket", "previousDigestS3Object",
	"previousDigestHashValue", "previousDigestHashAlgorithm", "previousDigestSignature", "logFiles",
}

// Starting reports whether the digest starts a chain.
func (d *Digest) Starting() bool { return d.PreviousObject == nil }

// ReadDigests reads every digest under prefix, in key order: for one
// region, oldest first.
func ReadDigests(t testing.TB, c *s3.Client, bucket, prefix string) []Digest {
	t.Helper()
	ctx := context.Background()
	var out []Digest
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("listing s3://%s/%s: %v", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
			if err != nil {
				t.Fatalf("GetObject %s: %v", key, err)
			}
			raw := Gunzip(t, got.Body)
			d := Digest{Key: key, Raw: raw, Signature: got.Metadata["signature"], SignatureAlgorithm: got.Metadata["signature-algorithm"]}
			if err := json.Unmarshal(raw, &d.Fields); err != nil {
				t.Fatalf("digest %s: %v", key, err)
			}
			if err := json.Unmarshal(raw, &d.DigestFields); err != nil {
				t.Fatalf("digest %s: %v", key, err)
			}
			out = append(out, d)
		}
	}
	return out
}

// Gunzip reads and closes a gzipped body.
func Gunzip(t testing.TB, body io.ReadCloser) []byte {
	t.Helper()
	defer func() {
		if err := body.Close(); err != nil {
			t.Errorf("closing: %v", err)
		}
	}()
	zr, err := gzip.NewReader(body)
	if err != nil {
		t.Fatalf("not gzipped: %v", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return raw
}

// CheckChain checks one region's digests, read with ReadDigests, as
// validate-logs would and more strictly: every field present; each
// digest where it says it is, signed with a key the region's CloudTrail
// lists under its fingerprint; each linked to the one before it (hash of
// its JSON, signature) and starting where it ended, unless it starts a
// chain; and every log file it lists hashing, uncompressed, to its
// hashValue. It returns how many chains there are.
func CheckChain(t testing.TB, ct *cloudtrail.Client, c *s3.Client, digests []Digest) int {
	t.Helper()
	ctx := context.Background()
	if len(digests) == 0 {
		t.Fatal("no digests")
	}
	first, err := time.Parse(time.RFC3339, digests[0].StartTime)
	if err != nil {
		t.Fatalf("digest %s: digestStartTime: %v", digests[0].Key, err)
	}
	last, err := time.Parse(time.RFC3339, digests[len(digests)-1].EndTime)
	if err != nil {
		t.Fatalf("digest %s: digestEndTime: %v", digests[len(digests)-1].Key, err)
	}
	listed, err := ct.ListPublicKeys(ctx, &cloudtrail.ListPublicKeysInput{StartTime: aws.Time(first), EndTime: aws.Time(last.Add(2 * time.Hour))})
	if err != nil {
		t.Fatalf("ListPublicKeys: %v", err)
	}
	keys := map[string]*rsa.PublicKey{}
	for _, k := range listed.PublicKeyList {
		sum := md5.Sum(k.Value)
		if fp := hex.EncodeToString(sum[:]); fp != aws.ToString(k.Fingerprint) {
			t.Fatalf("key fingerprint %s, but the MD5 of its value is %s", aws.ToString(k.Fingerprint), fp)
		}
		pub, err := x509.ParsePKCS1PublicKey(k.Value)
		if err != nil || pub.N.BitLen() != 2048 {
			t.Fatalf("key %s is not a 2048-bit PKCS#1 RSAPublicKey: %v", aws.ToString(k.Fingerprint), err)
		}
		keys[aws.ToString(k.Fingerprint)] = pub
	}
	chains := 0
	for i, d := range digests {
		for _, name := range DigestFieldNames {
			if _, ok := d.Fields[name]; !ok {
				t.Fatalf("digest %s lacks %s", d.Key, name)
			}
		}
		if !bytes.HasPrefix(d.Fields["logFiles"], []byte("[")) {
			t.Fatalf("digest %s: logFiles is %s, want an array", d.Key, d.Fields["logFiles"])
		}
		if d.Object != d.Key || d.AccountID == "" || d.Algorithm != "SHA256withRSA" || d.SignatureAlgorithm != "SHA256withRSA" {
			t.Fatalf("digest %s: object %s, account %q, algorithm %s, metadata algorithm %q", d.Key, d.Object, d.AccountID, d.Algorithm, d.SignatureAlgorithm)
		}
		pub := keys[d.Fingerprint]
		if pub == nil {
			t.Fatalf("digest %s: no public key listed with fingerprint %s", d.Key, d.Fingerprint)
		}
		previous := "null"
		if d.Starting() {
			chains++
			if d.PreviousBucket != nil || d.PreviousHashValue != nil || d.PreviousHashAlgorithm != nil || d.PreviousSignature != nil {
				t.Fatalf("starting digest %s has some previous fields", d.Key)
			}
		} else {
			if i == 0 {
				t.Fatalf("the first digest %s links to %s, which was not read", d.Key, *d.PreviousObject)
			}
			p := digests[i-1]
			sum := sha256.Sum256(p.Raw)
			if *d.PreviousObject != p.Key || aws.ToString(d.PreviousBucket) != p.Bucket || aws.ToString(d.PreviousHashValue) != hex.EncodeToString(sum[:]) ||
				aws.ToString(d.PreviousHashAlgorithm) != "SHA-256" || aws.ToString(d.PreviousSignature) != p.Signature || d.StartTime != p.EndTime {
				t.Fatalf("digest %s does not link to %s", d.Key, p.Key)
			}
			previous = p.Signature
		}
		sum := sha256.Sum256(d.Raw)
		toSign := sha256.Sum256([]byte(d.EndTime + "\n" + d.Bucket + "/" + d.Object + "\n" + hex.EncodeToString(sum[:]) + "\n" + previous))
		sig, err := hex.DecodeString(d.Signature)
		if err != nil || d.Signature != hex.EncodeToString(sig) {
			t.Fatalf("digest %s: signature %q is not lower-case hex", d.Key, d.Signature)
		}
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, toSign[:], sig); err != nil {
			t.Fatalf("digest %s: signature: %v", d.Key, err)
		}
		var oldest, newest string
		for _, l := range d.LogFiles {
			got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(l.S3Bucket), Key: aws.String(l.S3Object)})
			if err != nil {
				t.Fatalf("digest %s lists %s: %v", d.Key, l.S3Object, err)
			}
			sum := sha256.Sum256(Gunzip(t, got.Body))
			if l.HashValue != hex.EncodeToString(sum[:]) || l.HashAlgorithm != "SHA-256" {
				t.Fatalf("digest %s: log file %s hashes to %x, listed as %s %s", d.Key, l.S3Object, sum, l.HashAlgorithm, l.HashValue)
			}
			if oldest == "" || l.OldestEventTime < oldest {
				oldest = l.OldestEventTime
			}
			newest = max(newest, l.NewestEventTime)
		}
		if oldest != aws.ToString(d.OldestEventTime) || newest != aws.ToString(d.NewestEventTime) {
			t.Fatalf("digest %s: event times %v..%v, its log files' %s..%s", d.Key, d.OldestEventTime, d.NewestEventTime, oldest, newest)
		}
	}
	return chains
}

// DigestedLogs are the log files digests list, once each, in order.
func DigestedLogs(digests []Digest) []string {
	var out []string
	for _, d := range digests {
		for _, l := range d.LogFiles {
			out = append(out, l.S3Object)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ListKeys lists every key under prefix.
func ListKeys(t testing.TB, c *s3.Client, bucket, prefix string) []string {
	t.Helper()
	var out []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("listing s3://%s/%s: %v", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			out = append(out, aws.ToString(o.Key))
		}
	}
	return out
}

// Tamper rewrites a gzipped object with one byte of its uncompressed
// content changed, as someone covering their tracks would.
func Tamper(t testing.TB, c *s3.Client, bucket, key string) {
	t.Helper()
	ctx := context.Background()
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("GetObject %s: %v", key, err)
	}
	raw := Gunzip(t, got.Body)
	i := bytes.Index(raw, []byte(`"eventName":"`))
	if i < 0 {
		t.Fatalf("%s has no eventName to change", key)
	}
	raw[i+len(`"eventName":"`)] ^= 0x20
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(buf.Bytes())}); err != nil {
		t.Fatalf("PutObject %s: %v", key, err)
	}
}

// DigestPrefix is where a trail's digests for one source region go.
func DigestPrefix(prefix, account, region string) string {
	p := "AWSLogs/" + account + "/CloudTrail-Digest/" + region + "/"
	if prefix != "" {
		p = prefix + "/" + p
	}
	return p
}

// LogPrefix is where a trail's log files for one source region go.
func LogPrefix(prefix, account, region string) string {
	p := "AWSLogs/" + account + "/CloudTrail/" + region + "/"
	if prefix != "" {
		p = prefix + "/" + p
	}
	return p
}
