package logvalidation

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/archive"
)

// DefaultConcurrency is how many files are read at once by default.
const DefaultConcurrency = 32

// Config is what to validate.
type Config struct {
	// Source is the trail's bucket and Bucket its name, the one digests
	// record as theirs.
	Source archive.Source
	Bucket string
	// OtherBuckets opens another bucket a chain leads into (the trail's
	// bucket changed) or a digest lists log files in. When nil, a region
	// that needs one cannot be validated.
	OtherBuckets func(ctx context.Context, bucket string) (archive.Source, error)
	// Location is where the trail writes in its bucket; Account is the
	// account whose files are validated (for an organization trail, a
	// member account).
	Location archive.Location
	Account  string
	// Trail is the trail's name and HomeRegion its home region, both part
	// of its digests' names.
	Trail      string
	HomeRegion string
	// Regions are the source regions to validate, each a chain of its own.
	Regions []string
	// Start and End bound the log files to validate by delivery time, as
	// validate-logs' --start-time and --end-time: digests whose key time
	// lies between Start and an hour past End are walked.
	Start, End time.Time
	// Keys gives each region's public keys.
	Keys KeyProvider
	// Concurrency bounds the files read at once; 0 means
	// DefaultConcurrency.
	Concurrency int
	// MaxProblems bounds Result.Problems; 0 keeps them all.
	MaxProblems int
	// RequireDigests makes a region without a single digest in the window
	// unknown: the trail was logging with log file validation on, so
	// digests should be there.
	RequireDigests bool
	// OnFile, when set, receives the verdict on every digest and log file,
	// one call at a time.
	OnFile func(FileVerdict)
}

func (c *Config) check() error {
	var missing []string
	for _, f := range []struct {
		name  string
		empty bool
	}{
		{"source", c.Source == nil}, {"bucket", c.Bucket == ""}, {"account", c.Account == ""},
		{"trail", c.Trail == ""}, {"home region", c.HomeRegion == ""}, {"regions", len(c.Regions) == 0},
		{"start time", c.Start.IsZero()}, {"end time", c.End.IsZero()}, {"key provider", c.Keys == nil},
	} {
		if f.empty {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("log file validation is missing its %s", strings.Join(missing, ", "))
	}
	if strings.HasPrefix(c.Trail, "arn:") {
		return fmt.Errorf("trail %q: give the trail's name, not its ARN", c.Trail)
	}
	if c.Start.After(c.End) {
		return fmt.Errorf("start time %s is after end time %s", c.Start.UTC().Format(time.RFC3339), c.End.UTC().Format(time.RFC3339))
	}
	if c.Concurrency < 0 || c.MaxProblems < 0 {
		return fmt.Errorf("concurrency (%d) and max problems (%d) cannot be negative", c.Concurrency, c.MaxProblems)
	}
	seen := map[string]bool{}
	for _, r := range c.Regions {
		if seen[r] {
			return fmt.Errorf("region %q is given twice", r)
		}
		seen[r] = true
	}
	return nil
}

// Run validates every region of cfg at once. Region failures (access
// denied, no public key) make the result unknown and leave the other
// regions' verdicts; Run itself fails on a bad Config or when ctx ends.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	cfg.Start, cfg.End = cfg.Start.UTC(), cfg.End.UTC()
	r := &run{
		cfg:      &cfg,
		pool:     newPool(cfg.Concurrency),
		verdicts: &verdicts{max: cfg.MaxProblems, onFile: cfg.OnFile},
		sources:  map[string]archive.Source{cfg.Bucket: cfg.Source},
	}
	regions := make([]*regionRun, len(cfg.Regions))
	var walks sync.WaitGroup
	for i, name := range cfg.Regions {
		rctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		regions[i] = &regionRun{
			run: r, idx: i, region: name, start: cfg.Start, end: cfg.End, cancel: cancel,
			names: newDigestNames(cfg.Location, cfg.Account, name, cfg.Trail, cfg.HomeRegion),
		}
		walks.Go(func() { regions[i].validate(rctx) })
	}
	// Every log check is started by a walk: once the walks are done, the
	// pool has all its work.
	walks.Wait()
	r.pool.Wait()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("validating log files: %w", context.Cause(ctx))
	}
	return r.result(regions), nil
}

// run is one validation: what its regions share.
type run struct {
	cfg      *Config
	pool     *pool
	verdicts *verdicts

	mu      sync.Mutex
	sources map[string]archive.Source
}

// source returns the Source of a bucket.
func (r *run) source(ctx context.Context, bucket string) (archive.Source, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if src, ok := r.sources[bucket]; ok {
		return src, nil
	}
	if r.cfg.OtherBuckets == nil {
		return nil, fmt.Errorf("files are in bucket %q, not in the trail's bucket %q: give that bucket to validate them", bucket, r.cfg.Bucket)
	}
	src, err := r.cfg.OtherBuckets(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("opening bucket %q: %w", bucket, err)
	}
	r.sources[bucket] = src
	return src, nil
}

func (r *run) prefetch(ctx context.Context, src archive.Source, keys []string) *prefetch {
	return startPrefetch(ctx, r.pool, src, keys, r.cfg.Concurrency)
}

func (r *run) result(regions []*regionRun) *Result {
	res := &Result{Start: r.cfg.Start, End: r.cfg.End, Gaps: []Gap{}}
	anyUnknown := false
	for _, rr := range regions {
		out := RegionResult{Region: rr.region, Counts: rr.counts, Covered: rr.covered}
		switch {
		case rr.err != nil:
			out.Error = rr.err.Error()
		case r.cfg.RequireDigests && rr.counts.DigestsValid+rr.counts.DigestsInvalid == 0:
			out.Error = fmt.Sprintf("no digest file between %s and %s, although the trail logged with log file validation on",
				r.cfg.Start.Format(time.RFC3339), r.cfg.End.Add(time.Hour).Format(time.RFC3339))
		}
		anyUnknown = anyUnknown || out.Error != ""
		res.add(&rr.counts)
		if c := rr.covered; c != nil {
			res.Covered = res.Covered.extend(c.Start, c.End, r.cfg.Start, r.cfg.End)
		}
		res.Gaps = append(res.Gaps, rr.gaps...)
		res.Regions = append(res.Regions, out)
	}
	res.Problems, res.ProblemsTotal = r.verdicts.sorted(), r.verdicts.total
	switch {
	case res.invalid() > 0:
		res.Status = StatusFail
	case anyUnknown:
		res.Status = StatusUnknown
	default:
		res.Status = StatusPass
	}
	return res
}

// regionRun validates one source region.
type regionRun struct {
	run        *run
	idx        int
	region     string
	start, end time.Time
	names      digestNames
	cancel     context.CancelCauseFunc

	mu      sync.Mutex
	counts  Counts
	covered *Covered
	gaps    []Gap
	err     error
}

// validate walks the region's regular chain, then its backfill chain, as
// the AWS CLI does; the log checks they start run on in the pool.
func (r *regionRun) validate(ctx context.Context) {
	cfg := r.run.cfg
	regular, backfill, err := r.names.list(ctx, cfg.Source, r.start, r.end)
	if err != nil {
		r.fail(err)
		return
	}
	if len(regular) > 0 {
		// The window's keys, with two hours to spare for the digests
		// after its end.
		from, to := r.start, r.end.Add(2*time.Hour)
		keys, err := cfg.Keys.PublicKeys(ctx, r.region, from, to)
		if err != nil {
			r.fail(err)
			return
		}
		if len(keys) == 0 {
			r.fail(fmt.Errorf("no public keys found in %s between %s and %s", r.region, from.Format(time.RFC3339), to.Format(time.RFC3339)))
			return
		}
		ring := keyring{}
		ring.add(keys)
		if err := r.walk(ctx, false, regular, ring); err != nil {
			r.fail(err)
			return
		}
	}
	if len(backfill) > 0 {
		if err := r.walk(ctx, true, backfill, keyring{}); err != nil {
			r.fail(err)
		}
	}
}

func (r *regionRun) walk(ctx context.Context, backfill bool, keys []string, ring keyring) error {
	src := r.run.cfg.Source
	c := &chainWalk{r: r, backfill: backfill, bucket: r.run.cfg.Bucket, src: src, keys: keys, ring: ring,
		ahead: r.run.prefetch(ctx, src, keys)}
	return c.walk(ctx)
}

// fail stops the region: the first error is the one reported.
func (r *regionRun) fail(err error) {
	r.mu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.mu.Unlock()
	r.cancel(err)
}

func (r *regionRun) gap(g Gap) {
	r.mu.Lock()
	r.gaps = append(r.gaps, g)
	r.mu.Unlock()
}

func (r *regionRun) digestVerdict(c *chainWalk, key string, check digestCheck) {
	valid := check.d != nil
	r.mu.Lock()
	switch {
	case valid && c.backfill:
		r.counts.BackfillDigestsValid++
		fallthrough
	case valid:
		r.counts.DigestsValid++
		r.covered = r.covered.extend(check.d.start, check.d.end, r.start, r.end)
	case c.backfill:
		r.counts.BackfillDigestsInvalid++
		fallthrough
	default:
		r.counts.DigestsInvalid++
	}
	r.mu.Unlock()

	message := ""
	if !valid {
		prefix := ""
		if c.backfill {
			prefix = "(backfill) "
		}
		message = fmt.Sprintf("%sDigest file s3://%s/%s INVALID: %s", prefix, c.bucket, key, check.detail)
	}
	r.run.verdicts.record(rank{region: r.idx, chain: c.chain(), step: c.step},
		FileVerdict{Kind: KindDigest, Region: r.region, Bucket: c.bucket, Key: key, Backfill: c.backfill, Valid: valid, Reason: check.reason},
		message)
}

// checkLogs hashes the log files of a valid digest in the pool.
func (r *regionRun) checkLogs(ctx context.Context, c *chainWalk, d *digest) {
	for i, lf := range d.logs {
		rk := rank{region: r.idx, chain: c.chain(), step: c.step, log: i + 1}
		if !r.run.pool.Go(ctx, func() { r.checkLog(ctx, rk, lf, c.backfill) }) {
			return
		}
	}
}

func (r *regionRun) checkLog(ctx context.Context, rk rank, lf logFile, backfill bool) {
	reason, detail, err := r.logVerdict(ctx, lf)
	if err != nil {
		r.fail(err)
		return
	}
	r.mu.Lock()
	if reason == "" {
		r.counts.LogsValid++
	} else {
		r.counts.LogsInvalid++
	}
	r.mu.Unlock()
	message := ""
	if reason != "" {
		message = fmt.Sprintf("Log file s3://%s/%s INVALID: %s", lf.bucket, lf.key, detail)
	}
	r.run.verdicts.record(rk,
		FileVerdict{Kind: KindLog, Region: r.region, Bucket: lf.bucket, Key: lf.key, Backfill: backfill, Valid: reason == "", Reason: reason},
		message)
}

// logVerdict reads and hashes one log file; an error (a failure to read it
// that is not its absence) stops the region.
func (r *regionRun) logVerdict(ctx context.Context, lf logFile) (Reason, string, error) {
	if lf.bad {
		return ReasonInvalidFormat, "invalid format (the digest's entry has no s3Bucket and s3Object)", nil
	}
	src, err := r.run.source(ctx, lf.bucket)
	if err != nil {
		return "", "", err
	}
	sum, badFormat, err := hashLog(ctx, src, lf.key)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return ReasonNotFound, "not found", nil
	case err != nil:
		return "", "", fmt.Errorf("reading log file s3://%s/%s: %w", lf.bucket, lf.key, err)
	case badFormat != "":
		return ReasonInvalidFormat, "invalid format (" + badFormat + ")", nil
	case lf.hash == nil:
		return ReasonInvalidFormat, "invalid format (the digest's entry has no hashValue)", nil
	case sum != *lf.hash:
		return ReasonHashMismatch, "hash value doesn't match", nil
	}
	return "", "", nil
}
