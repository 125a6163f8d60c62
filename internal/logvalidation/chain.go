package logvalidation

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/archive"
)

// keyTimeLayout is the timestamp in a digest's key: its end time.
const keyTimeLayout = "20060102T150405Z"

const (
	digestSuffix   = ".json.gz"
	backfillSuffix = "_backfill.json.gz"
)

// keyTimestamp is a digest key's timestamp as the AWS CLI cuts it: the 16
// characters before the suffix.
func keyTimestamp(key string) string {
	end := len(key) - len(digestSuffix)
	if strings.HasSuffix(key, backfillSuffix) {
		end = len(key) - len(backfillSuffix)
	}
	if end < len(keyTimeLayout) {
		return ""
	}
	return key[end-len(keyTimeLayout) : end]
}

func keyTime(key string) (time.Time, error) {
	t, err := time.Parse(keyTimeLayout, keyTimestamp(key))
	if err != nil {
		return time.Time{}, fmt.Errorf("digest key %q has no timestamp: %w", key, err)
	}
	return t, nil
}

// digestNames is how one trail names the digests of one source region.
type digestNames struct {
	// folder holds the region's year folders.
	folder  string
	pattern *regexp.Regexp
	// base is the file name up to its timestamp.
	base string
	loc  archive.Location
	acct string
	rgn  string
}

func newDigestNames(loc archive.Location, account, region, trail, homeRegion string) digestNames {
	folder := loc.RegionsPrefix(account, archive.CloudTrailDigestFolder) + region + "/"
	base := account + "_CloudTrail-Digest_" + region + "_" + trail + "_" + homeRegion + "_"
	// The AWS CLI's pattern, so that the same keys count as the trail's.
	pattern := regexp.MustCompile("^" + regexp.QuoteMeta(folder) + `\d+/\d+/\d+/` + regexp.QuoteMeta(base) +
		`.+(?:_backfill)?\.json\.gz$`)
	return digestNames{folder: folder, pattern: pattern, base: base, loc: loc, acct: account, rgn: region}
}

// key is the key of a digest ending at t.
func (n digestNames) key(t time.Time) string {
	return n.loc.DayPrefix(n.acct, archive.CloudTrailDigestFolder, n.rgn, t) + n.base + t.UTC().Format(keyTimeLayout) + digestSuffix
}

// list returns the trail's digest keys of the region whose timestamps lie
// between start and an hour past end, regular and backfill ones apart,
// each in the bucket's order. It reads what the AWS CLI's ListObjects with
// a marker a minute before start reads, and stops where it stops (at the
// first of the trail's keys past the range), but a folder at a time: the
// year, month and day folders at or after the marker's.
func (n digestNames) list(ctx context.Context, src archive.Source, start, end time.Time) (regular, backfill []string, err error) {
	marker := n.key(start.Add(-time.Minute))
	from := start.UTC().Format(keyTimeLayout)
	to := end.Add(time.Hour).UTC().Format(keyTimeLayout)
	_, err = eachKeyAfter(ctx, src, n.folder, marker, 3, func(key string) bool {
		if !n.pattern.MatchString(key) {
			return true
		}
		ts := keyTimestamp(key)
		if ts > to {
			return false
		}
		if ts < from {
			return true
		}
		if strings.HasSuffix(key, backfillSuffix) {
			backfill = append(backfill, key)
		} else {
			regular = append(regular, key)
		}
		return true
	})
	if err != nil {
		return nil, nil, fmt.Errorf("listing digest files under %s%s: %w", src.Name(), n.folder, err)
	}
	return regular, backfill, nil
}

// eachKeyAfter calls fn with the keys under prefix, depth folders down,
// that sort after marker, in key order, until fn returns false (then
// stop is true). Folders that sort before the marker's are not listed.
func eachKeyAfter(ctx context.Context, src archive.Source, prefix, marker string, depth int, fn func(key string) bool) (stop bool, err error) {
	l, err := src.List(ctx, prefix, "/")
	if err != nil {
		return false, err
	}
	if depth == 0 {
		for _, o := range l.Objects {
			if o.Key > marker && !fn(o.Key) {
				return true, nil
			}
		}
		return false, nil
	}
	for _, p := range l.Prefixes {
		if p < marker[:min(len(p), len(marker))] {
			continue
		}
		if stop, err := eachKeyAfter(ctx, src, p, marker, depth-1, fn); stop || err != nil {
			return stop, err
		}
	}
	return false, nil
}

// chainWalk walks one kind of chain (regular or backfill) of a region as
// the AWS CLI does: from the newest listed digest back through each valid
// digest's previousDigestS3Object; past an invalid or missing digest, and
// past the start of a chain (a gap), on to the newest listed digest older
// than it; until a digest starts before the window.
type chainWalk struct {
	r        *regionRun
	backfill bool
	bucket   string
	src      archive.Source
	// keys is the listing not yet passed, newest last.
	keys  []string
	ahead *prefetch
	ring  keyring
	step  int
}

func (c *chainWalk) chain() int {
	if c.backfill {
		return 1
	}
	return 0
}

// next pops keys off the listing until one older than before (any one
// when before is empty) and returns it, or "" when none is left.
func (c *chainWalk) next(before string) (string, time.Time, error) {
	var limit time.Time
	if before != "" {
		var err error
		if limit, err = keyTime(before); err != nil {
			return "", time.Time{}, err
		}
	}
	for len(c.keys) > 0 {
		key := c.keys[len(c.keys)-1]
		c.keys = c.keys[:len(c.keys)-1]
		t, err := keyTime(key)
		if err != nil {
			return "", time.Time{}, err
		}
		if before == "" || t.Before(limit) {
			return key, t, nil
		}
	}
	return "", time.Time{}, nil
}

func (c *chainWalk) walk(ctx context.Context) error {
	defer func() { c.ahead.close() }()
	key, at, err := c.next("")
	if err != nil {
		return err
	}
	lastStart := at
	for key != "" && !c.r.start.After(lastStart) {
		c.step++
		var check digestCheck
		f, err := c.load(ctx, key)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			check = invalidDigest(ReasonNotFound, "not found")
		case err != nil:
			return fmt.Errorf("reading digest file s3://%s/%s: %w", c.bucket, key, err)
		default:
			if check, err = f.check(c.bucket, c.backfill, c.lookup(ctx)); err != nil {
				return err
			}
		}
		c.r.digestVerdict(c, key, check)
		if check.d == nil {
			if key, _, err = c.next(key); err != nil {
				return err
			}
			continue
		}

		d := check.d
		lastStart = d.start
		c.r.checkLogs(ctx, c, d)
		if d.previousBucket == nil || d.previousKey == nil {
			next, nextAt, err := c.next(key)
			if err != nil {
				return err
			}
			if next != "" {
				c.r.gap(Gap{Region: c.r.region, Start: nextAt, End: lastStart, Backfill: c.backfill})
			}
			key = next
			continue
		}
		key = *d.previousKey
		if *d.previousBucket != c.bucket {
			if err := c.moveTo(ctx, *d.previousBucket, d.end); err != nil {
				return err
			}
		}
	}
	return nil
}

// load returns the digest at key: read ahead when it was listed, read now
// otherwise (a chain reaching before the listing).
func (c *chainWalk) load(ctx context.Context, key string) (*digestFile, error) {
	if f, ok, err := c.ahead.take(ctx, key); ok {
		return f, err
	}
	return readDigest(ctx, c.src, key)
}

// moveTo follows the chain into another bucket (the trail's bucket
// changed), whose listing up to the current digest replaces this one.
func (c *chainWalk) moveTo(ctx context.Context, bucket string, end time.Time) error {
	src, err := c.r.run.source(ctx, bucket)
	if err != nil {
		return err
	}
	regular, backfill, err := c.r.names.list(ctx, src, c.r.start, end)
	if err != nil {
		return err
	}
	c.ahead.close()
	c.bucket, c.src, c.keys = bucket, src, regular
	if c.backfill {
		c.keys = backfill
	}
	c.ahead = c.r.run.prefetch(ctx, src, c.keys)
	return nil
}

// lookup finds a digest's public key. The regular chain's keys are those
// of the whole window, loaded before the walk; a backfill digest's are
// looked up around the time it was generated, when the keys already
// loaded do not have it.
func (c *chainWalk) lookup(ctx context.Context) keyLookup {
	return func(fingerprint string, f *digestFile) (*rsa.PublicKey, *digestCheck, error) {
		if _, known := c.ring[fingerprint]; !known && c.backfill {
			generated, err := parseTime(f.meta[metaBackfillGenerated])
			if err != nil {
				failed := invalidDigest(ReasonInvalidFormat, "invalid format (%s: %v)", metaBackfillGenerated, err)
				return nil, &failed, nil
			}
			from, to := generated.Add(-time.Hour), generated.Add(time.Hour)
			keys, err := c.r.run.cfg.Keys.PublicKeys(ctx, c.r.region, from, to)
			if err != nil {
				return nil, nil, err
			}
			if len(keys) == 0 {
				failed := invalidDigest(ReasonPublicKeyNotFound, "no public keys found between %s and %s",
					from.Format(time.RFC3339), to.Format(time.RFC3339))
				return nil, &failed, nil
			}
			c.ring.add(keys)
		}
		pub, found, err := c.ring.key(fingerprint)
		if !found {
			failed := invalidDigest(ReasonPublicKeyNotFound, "public key not found in region %s for fingerprint %s", c.r.region, fingerprint)
			return nil, &failed, nil
		}
		if err != nil {
			failed := invalidDigest(ReasonPublicKeyNotFound, "unable to load PKCS #1 key with fingerprint %s: %v", fingerprint, err)
			return nil, &failed, nil
		}
		return pub, nil, nil
	}
}
