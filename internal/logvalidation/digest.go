package logvalidation

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// maxDigestSize bounds a digest's uncompressed JSON, which is held whole to
// be hashed and decoded. An hourly digest lists one account's log files of
// one region: a few kilobytes, a few megabytes for the busiest trails.
const maxDigestSize = 64 << 20

// Metadata keys of a digest object (x-amz-meta-*, as S3 returns them).
const (
	metaSignature          = "signature"
	metaSignatureAlgorithm = "signature-algorithm"
	metaBackfillGenerated  = "backfill-generation-timestamp"
)

// requiredFields must be present (null is present) before a digest's
// content is checked, as the AWS CLI requires them.
var requiredFields = []string{
	"digestPublicKeyFingerprint", "digestS3Bucket", "digestS3Object",
	"previousDigestSignature", "digestEndTime", "digestStartTime",
}

// digestFile is a digest as read: what its checks need that does not
// depend on where the walk stands, so it can be read ahead in parallel.
type digestFile struct {
	key  string
	meta map[string]string
	// badFormat says why the body is not gzipped JSON; nothing below it
	// is set when it is.
	badFormat string
	// sum is the SHA-256 of the uncompressed digest.
	sum [sha256.Size]byte
	// fields is empty when the JSON is not an object.
	fields map[string]json.RawMessage
}

// parse fills in f from the uncompressed body.
func (f *digestFile) parse(raw []byte) {
	f.sum = sha256.Sum256(raw)
	if !utf8.Valid(raw) {
		f.badFormat = "not UTF-8"
		return
	}
	var typeErr *json.UnmarshalTypeError
	if err := json.Unmarshal(raw, &f.fields); err != nil && !errors.As(err, &typeErr) {
		f.badFormat = "not JSON: " + err.Error()
	}
}

// digest is a valid digest: what the walk follows and the logs it lists.
type digest struct {
	start, end time.Time
	// previousBucket and previousKey are nil when the digest starts a
	// chain.
	previousBucket, previousKey *string
	logs                        []logFile
}

// logFile is one entry of a digest's logFiles. An entry that is not an
// object with string s3Bucket and s3Object is kept with bad set.
type logFile struct {
	bucket, key string
	hash        *string
	bad         bool
}

// digestCheck is the outcome of checking a digest: valid (d set) or
// invalid (reason and detail set).
type digestCheck struct {
	d      *digest
	reason Reason
	detail string
}

func invalidDigest(reason Reason, format string, args ...any) digestCheck {
	return digestCheck{reason: reason, detail: fmt.Sprintf(format, args...)}
}

// keyLookup finds the public key of a fingerprint for a digest; an error
// stops the region (the key provider failed).
type keyLookup func(fingerprint string, f *digestFile) (*rsa.PublicKey, *digestCheck, error)

// check validates f, read from bucket, in the AWS CLI's order, which
// decides the reason a digest with several faults gets: format, signature
// metadata, required fields, location, public key, signature, dates.
func (f *digestFile) check(bucket string, backfill bool, lookup keyLookup) (digestCheck, error) {
	if f.badFormat != "" {
		return invalidDigest(ReasonInvalidFormat, "invalid format (%s)", f.badFormat), nil
	}
	sigHex, hasSig := f.meta[metaSignature]
	if _, hasAlg := f.meta[metaSignatureAlgorithm]; !hasSig || !hasAlg {
		return invalidDigest(ReasonSignatureInvalid, "signature verification failed (no %s and %s metadata)", metaSignature, metaSignatureAlgorithm), nil
	}
	if _, ok := f.meta[metaBackfillGenerated]; backfill && !ok {
		return invalidDigest(ReasonInvalidFormat, "invalid format (no %s metadata)", metaBackfillGenerated), nil
	}
	for _, name := range requiredFields {
		if _, ok := f.fields[name]; !ok {
			return invalidDigest(ReasonInvalidFormat, "invalid format (no %s)", name), nil
		}
	}
	if b, ok := f.str("digestS3Bucket"); !ok || b != bucket {
		return invalidDigest(ReasonMoved, "has been moved from its original location"), nil
	}
	if k, ok := f.str("digestS3Object"); !ok || k != f.key {
		return invalidDigest(ReasonMoved, "has been moved from its original location"), nil
	}
	pub, failed, err := lookup(f.text("digestPublicKeyFingerprint"), f)
	if err != nil {
		return digestCheck{}, err
	}
	if failed != nil {
		return *failed, nil
	}
	sig, err := hex.DecodeString(sigHex)
	if err != nil {
		return invalidDigest(ReasonSignatureInvalid, "signature verification failed (signature metadata is not hex)"), nil
	}
	signed := sha256.Sum256([]byte(f.stringToSign()))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, signed[:], sig) != nil {
		return invalidDigest(ReasonSignatureInvalid, "signature verification failed"), nil
	}

	d := &digest{}
	if d.end, err = parseTime(f.text("digestEndTime")); err != nil {
		return invalidDigest(ReasonInvalidFormat, "invalid format (digestEndTime: %v)", err), nil
	}
	if d.start, err = parseTime(f.text("digestStartTime")); err != nil {
		return invalidDigest(ReasonInvalidFormat, "invalid format (digestStartTime: %v)", err), nil
	}
	d.previousBucket, d.previousKey = f.optionalText("previousDigestS3Bucket"), f.optionalText("previousDigestS3Object")
	if d.logs, err = f.logFiles(); err != nil {
		return invalidDigest(ReasonInvalidFormat, "invalid format (logFiles: %v)", err), nil
	}
	return digestCheck{d: d}, nil
}

// stringToSign is what CloudTrail signs: the end time, where it put the
// digest, the hash of its content and the previous digest's signature.
func (f *digestFile) stringToSign() string {
	prev := "null"
	if p := f.optionalText("previousDigestSignature"); p != nil {
		prev = *p
	}
	return f.text("digestEndTime") + "\n" + f.text("digestS3Bucket") + "/" + f.text("digestS3Object") + "\n" +
		hex.EncodeToString(f.sum[:]) + "\n" + prev
}

// str returns a string field; ok is false when it is absent, null or
// another type.
func (f *digestFile) str(name string) (string, bool) {
	var s *string
	if raw, present := f.fields[name]; !present || json.Unmarshal(raw, &s) != nil || s == nil {
		return "", false
	}
	return *s, true
}

// text returns a field as the AWS CLI formats it into a string: a string as
// is, anything else as its JSON.
func (f *digestFile) text(name string) string {
	if s, ok := f.str(name); ok {
		return s
	}
	return string(f.fields[name])
}

// optionalText returns nil for an absent or null field, as the AWS CLI's
// dict.get does.
func (f *digestFile) optionalText(name string) *string {
	if raw, ok := f.fields[name]; !ok || string(raw) == "null" {
		return nil
	}
	s := f.text(name)
	return &s
}

// logFiles returns the digest's log entries. Like the AWS CLI, it takes
// an absent field or any value Python deems false ({}, "", 0) for none.
func (f *digestFile) logFiles() ([]logFile, error) {
	var value any
	if raw, ok := f.fields["logFiles"]; !ok || json.Unmarshal(raw, &value) != nil || !truthy(value) {
		return nil, nil
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(f.fields["logFiles"], &entries); err != nil {
		return nil, errors.New("not an array")
	}
	logs := make([]logFile, len(entries))
	for i, e := range entries {
		var entry struct {
			S3Bucket  *string `json:"s3Bucket"`
			S3Object  *string `json:"s3Object"`
			HashValue *string `json:"hashValue"`
		}
		if json.Unmarshal(e, &entry) != nil || entry.S3Bucket == nil || entry.S3Object == nil {
			logs[i] = logFile{bad: true}
			if entry.S3Bucket != nil && entry.S3Object != nil {
				logs[i].bucket, logs[i].key = *entry.S3Bucket, *entry.S3Object
			}
			continue
		}
		logs[i] = logFile{bucket: *entry.S3Bucket, key: *entry.S3Object, hash: entry.HashValue}
	}
	return logs, nil
}

func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case float64:
		return v != 0
	case string:
		return v != ""
	case []any:
		return len(v) > 0
	case map[string]any:
		return len(v) > 0
	}
	return true
}

// parseTime reads a digest's timestamps (2006-01-02T15:04:05Z); a time
// without a zone is UTC, as the AWS CLI takes it.
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", keyTimeLayout} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unable to parse date value %q", s)
}
