package cloudtrail

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// globalSources are services whose events CloudTrail counts as global:
// a trail without IncludeGlobalServiceEvents leaves them out.
var globalSources = map[string]bool{
	"iam.amazonaws.com": true, "sts.amazonaws.com": true, "cloudfront.amazonaws.com": true, "organizations.amazonaws.com": true,
}

// pendingLocked lists, by region, the records the trail has yet to deliver.
func (s *Service) pendingLocked(t *trail) (map[string][]*Record, uint64) {
	from := s.delivered[t.arn()]
	upTo := s.seq
	byRegion := map[string][]*Record{}
	prefix := t.Account + "/"
	for key, idx := range s.index {
		region, ok := strings.CutPrefix(key, prefix)
		if !ok || !t.IsMultiRegionTrail && region != t.HomeRegion {
			continue
		}
		for _, r := range idx.events {
			if r.seq <= from || !r.Management || r.EventTime.Before(t.StartLoggingTime) ||
				globalSources[r.EventSource] && !t.IncludeGlobalServiceEvents ||
				!t.logsManagementEvent(r.EventSource, r.ReadOnly) {
				continue
			}
			byRegion[region] = append(byRegion[region], r)
		}
	}
	return byRegion, upTo
}

// deliverLocked writes the trail's undelivered records to its bucket, one
// gzipped log file per region, as CloudTrail does every few minutes. On
// failure the records stay pending and LatestDeliveryError says why.
func (s *Service) deliverLocked(t *trail) {
	if !t.IsLogging {
		return
	}
	byRegion, upTo := s.pendingLocked(t)
	if len(byRegion) == 0 {
		s.delivered[t.arn()] = upTo
		return
	}
	now := s.now().UTC()
	t.LatestDeliveryAttemptTime = now
	s.trailChangedLocked(t)
	policy, _, ok := s.cfg.Buckets.BucketPolicy(t.S3BucketName)
	switch {
	case !ok:
		t.LatestDeliveryError = "NoSuchBucket"
		return
	case !cloudTrailMayWrite(policy, t):
		t.LatestDeliveryError = "AccessDenied"
		return
	}
	regions := make([]string, 0, len(byRegion))
	for r := range byRegion {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	var written []digestLogFile
	for _, region := range regions {
		key, body, err := logFile(t, region, now, byRegion[region])
		if err == nil {
			err = s.cfg.Buckets.PutObject(t.S3BucketName, key, body, "application/x-gzip", nil)
		}
		if err != nil {
			t.LatestDeliveryError = "InternalError"
			return
		}
		sum := sha256.Sum256(body)
		written = append(written, digestLogFile{S3Bucket: t.S3BucketName, S3Object: key, HashValue: hex.EncodeToString(sum[:]), HashAlgorithm: "SHA-256"})
	}
	if t.LogFileValidationEnabled {
		key, body, err := digestFile(t, now, written)
		if err == nil && s.cfg.Buckets.PutObject(t.S3BucketName, key, body, "application/x-gzip", nil) == nil {
			t.LatestDigestDeliveryTime = now
		}
	}
	s.delivered[t.arn()] = upTo
	t.LatestDeliveryTime = now
	t.LatestDeliveryError = ""
}

// logFile builds one log file: its key as CloudTrail names it and the
// gzipped {"Records":[...]} body, oldest record first.
func logFile(t *trail, region string, now time.Time, recs []*Record) (string, []byte, error) {
	raws := make([]json.RawMessage, len(recs))
	for i := range recs {
		raws[len(recs)-1-i] = recs[i].Raw
	}
	sum := sha256.Sum256([]byte(t.arn() + region + recs[0].EventID + now.String()))
	key := fmt.Sprintf("%sCloudTrail/%s/%s/%s_CloudTrail_%s_%s_%s.json.gz",
		t.logPrefix(), region, now.Format("2006/01/02"), t.Account, region, now.Format("20060102T1504Z"),
		strings.ToUpper(hex.EncodeToString(sum[:8])))
	body, err := gzipJSON(map[string]any{"Records": raws})
	return key, body, err
}

type digestLogFile struct {
	S3Bucket      string `json:"s3Bucket"`
	S3Object      string `json:"s3Object"`
	HashValue     string `json:"hashValue"`
	HashAlgorithm string `json:"hashAlgorithm"`
}

// digestFile builds the log file integrity digest for one delivery. The
// sandbox has no signing key, so digestSignature is left out.
func digestFile(t *trail, now time.Time, files []digestLogFile) (string, []byte, error) {
	key := fmt.Sprintf("%sCloudTrail-Digest/%s/%s/%s_CloudTrail-Digest_%s_%s_%s_%s.json.gz",
		t.logPrefix(), t.HomeRegion, now.Format("2006/01/02"), t.Account, t.HomeRegion, t.Name, t.HomeRegion,
		now.Format("20060102T150405Z"))
	body, err := gzipJSON(map[string]any{
		"awsAccountId":               t.Account,
		"digestEndTime":              now.Format(time.RFC3339),
		"digestS3Bucket":             t.S3BucketName,
		"digestS3Object":             key,
		"digestPublicKeyFingerprint": "",
		"digestSignatureAlgorithm":   "SHA256withRSA",
		"logFiles":                   files,
	})
	return key, body, err
}

func gzipJSON(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding log file: %w", err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		return nil, fmt.Errorf("compressing log file: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compressing log file: %w", err)
	}
	return buf.Bytes(), nil
}
