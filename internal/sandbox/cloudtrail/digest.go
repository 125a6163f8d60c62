package cloudtrail

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

const (
	// fileTimeFormat is how log files and digests write times.
	fileTimeFormat = "2006-01-02T15:04:05Z"
	// gzipContentType is the content type of log files and digests.
	gzipContentType    = "application/x-gzip"
	signatureAlgorithm = "SHA256withRSA"
	hashAlgorithm      = "SHA-256"
)

// digestLogFile is a log file as a digest lists it.
type digestLogFile struct {
	S3Bucket        string `json:"s3Bucket"`
	S3Object        string `json:"s3Object"`
	HashValue       string `json:"hashValue"`
	HashAlgorithm   string `json:"hashAlgorithm"`
	NewestEventTime string `json:"newestEventTime"`
	OldestEventTime string `json:"oldestEventTime"`
}

// logEntry is one record as a log file holds it.
type logEntry struct {
	raw []byte
	at  time.Time
}

// logFile builds a log file: its object, with the records in a gzipped
// {"Records":[...]} under CloudTrail's key for a delivery at delivered,
// and the entry a digest lists for it, hashed over the uncompressed JSON.
// unique is the 16 characters that end the file name.
func logFile(bucket, logPrefix, account, region string, delivered time.Time, unique string, entries []logEntry) (awsapi.Object, digestLogFile, error) {
	var raw bytes.Buffer
	raw.WriteString(`{"Records":[`)
	for i, e := range entries {
		if i > 0 {
			raw.WriteByte(',')
		}
		raw.Write(e.raw)
	}
	byTime := func(a, b logEntry) int { return a.at.Compare(b.at) }
	oldest, newest := slices.MinFunc(entries, byTime).at, slices.MaxFunc(entries, byTime).at
	raw.WriteString(`]}`)
	key := logKey(logPrefix, account, region, delivered, unique)
	body, err := gzipBytes(raw.Bytes())
	if err != nil {
		return awsapi.Object{}, digestLogFile{}, fmt.Errorf("log file %s: %w", key, err)
	}
	sum := sha256.Sum256(raw.Bytes())
	entry := digestLogFile{
		S3Bucket: bucket, S3Object: key, HashValue: hex.EncodeToString(sum[:]), HashAlgorithm: hashAlgorithm,
		NewestEventTime: newest.Format(fileTimeFormat), OldestEventTime: oldest.Format(fileTimeFormat),
	}
	return awsapi.Object{Key: key, Body: body, ContentType: gzipContentType, LastModified: delivered}, entry, nil
}

// logKey is where CloudTrail delivers a log file: under the source
// region and the delivery day, named for the delivery's minute.
func logKey(logPrefix, account, region string, delivered time.Time, unique string) string {
	return fmt.Sprintf("%sCloudTrail/%s/%s/%s_CloudTrail_%s_%s_%s.json.gz",
		logPrefix, region, delivered.Format("2006/01/02"), account, region, delivered.Format("20060102T1504Z"), unique)
}

// uniqueAlphabet is what the 16 characters ending a log file's name are
// made of.
const uniqueAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// uniqueName is the 16 characters that end a log file's name, derived
// from seed so the same delivery is named the same.
func uniqueName(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	b := make([]byte, 16)
	for i := range b {
		b[i] = uniqueAlphabet[int(sum[i])%len(uniqueAlphabet)]
	}
	return string(b)
}

// digestFile is a digest as CloudTrail writes it: every field is present,
// the previous digest's null in a chain's first.
type digestFile struct {
	AWSAccountID                string          `json:"awsAccountId"`
	DigestStartTime             string          `json:"digestStartTime"`
	DigestEndTime               string          `json:"digestEndTime"`
	DigestS3Bucket              string          `json:"digestS3Bucket"`
	DigestS3Object              string          `json:"digestS3Object"`
	DigestPublicKeyFingerprint  string          `json:"digestPublicKeyFingerprint"`
	DigestSignatureAlgorithm    string          `json:"digestSignatureAlgorithm"`
	NewestEventTime             *string         `json:"newestEventTime"`
	OldestEventTime             *string         `json:"oldestEventTime"`
	PreviousDigestS3Bucket      *string         `json:"previousDigestS3Bucket"`
	PreviousDigestS3Object      *string         `json:"previousDigestS3Object"`
	PreviousDigestHashValue     *string         `json:"previousDigestHashValue"`
	PreviousDigestHashAlgorithm *string         `json:"previousDigestHashAlgorithm"`
	PreviousDigestSignature     *string         `json:"previousDigestSignature"`
	LogFiles                    []digestLogFile `json:"logFiles"`
}

// chainTail is the last digest of a region's chain, which the next one
// links to.
type chainTail struct {
	Bucket    string
	Key       string
	HashValue string
	Signature string
	End       time.Time
}

// digestSpec is what one digest covers: a trail's log files delivered in
// one region between start and end.
type digestSpec struct {
	account, bucket, logPrefix, trail, home, region string
	start, end                                      time.Time
	logs                                            []digestLogFile
}

// key is where the digest goes: under the source region, named for the
// trail, its home region and the digest's end.
func (d digestSpec) key() string {
	return fmt.Sprintf("%sCloudTrail-Digest/%s/%s/%s_CloudTrail-Digest_%s_%s_%s_%s.json.gz",
		d.logPrefix, d.region, d.end.Format("2006/01/02"), d.account, d.region, d.trail, d.home, d.end.Format("20060102T150405Z"))
}

// signDigest writes and signs a digest that follows prev (nil for a
// chain's first): the object, with the signature and its algorithm in the
// metadata, and the tail the next digest links to.
func signDigest(d digestSpec, prev *chainTail, key *signingKey) (awsapi.Object, chainTail, error) {
	f := digestFile{
		AWSAccountID: d.account, DigestStartTime: d.start.Format(fileTimeFormat), DigestEndTime: d.end.Format(fileTimeFormat),
		DigestS3Bucket: d.bucket, DigestS3Object: d.key(), DigestPublicKeyFingerprint: key.fingerprint,
		DigestSignatureAlgorithm: signatureAlgorithm, LogFiles: d.logs,
	}
	if f.LogFiles == nil {
		f.LogFiles = []digestLogFile{}
	}
	for _, l := range d.logs {
		if f.OldestEventTime == nil || l.OldestEventTime < *f.OldestEventTime {
			f.OldestEventTime = &l.OldestEventTime
		}
		if f.NewestEventTime == nil || l.NewestEventTime > *f.NewestEventTime {
			f.NewestEventTime = &l.NewestEventTime
		}
	}
	previous := "null"
	if prev != nil {
		alg := hashAlgorithm
		f.PreviousDigestS3Bucket, f.PreviousDigestS3Object = &prev.Bucket, &prev.Key
		f.PreviousDigestHashValue, f.PreviousDigestHashAlgorithm, f.PreviousDigestSignature = &prev.HashValue, &alg, &prev.Signature
		previous = prev.Signature
	}
	raw, err := json.Marshal(f)
	if err != nil {
		return awsapi.Object{}, chainTail{}, fmt.Errorf("encoding digest %s: %w", f.DigestS3Object, err)
	}
	sum := sha256.Sum256(raw)
	hash := hex.EncodeToString(sum[:])
	sig, err := key.sign(f.DigestEndTime + "\n" + d.bucket + "/" + f.DigestS3Object + "\n" + hash + "\n" + previous)
	if err != nil {
		return awsapi.Object{}, chainTail{}, err
	}
	body, err := gzipBytes(raw)
	if err != nil {
		return awsapi.Object{}, chainTail{}, fmt.Errorf("digest %s: %w", f.DigestS3Object, err)
	}
	obj := awsapi.Object{
		Key: f.DigestS3Object, Body: body, ContentType: gzipContentType, LastModified: d.end,
		Metadata: map[string]string{"signature": sig, "signature-algorithm": signatureAlgorithm},
	}
	return obj, chainTail{Bucket: d.bucket, Key: f.DigestS3Object, HashValue: hash, Signature: sig, End: d.end}, nil
}

// gzipWriters are reused: a compressor's state is far larger than a log
// file, and the archive writes thousands.
var gzipWriters = sync.Pool{New: func() any {
	zw, err := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	if err != nil {
		// BestSpeed is a valid level.
		panic(err)
	}
	return zw
}}

func gzipBytes(raw []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&buf)
	if _, err := zw.Write(raw); err != nil {
		return nil, fmt.Errorf("compressing: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compressing: %w", err)
	}
	// The archive keeps thousands of these: none with room to spare.
	return bytes.Clone(buf.Bytes()), nil
}
