package logvalidation

import (
	"container/heap"
	"sync"
	"time"
)

// Status is the verdict of a validation.
type Status string

const (
	// StatusPass: every digest and log file found in the window is valid.
	StatusPass Status = "pass"
	// StatusFail: at least one file is invalid.
	StatusFail Status = "fail"
	// StatusUnknown: no file is invalid, but a region could not be
	// validated (access denied, no public key, no digest where one was
	// required).
	StatusUnknown Status = "unknown"
)

// Kind is the kind of file a verdict is about.
type Kind string

const (
	KindDigest Kind = "digest"
	KindLog    Kind = "log"
)

// Reason is why a file is invalid, one for each INVALID message of
// `aws cloudtrail validate-logs`.
type Reason string

const (
	// ReasonNotFound: a digest the chain or a log a digest names is gone.
	ReasonNotFound Reason = "not_found"
	// ReasonSignatureInvalid: the digest's signature metadata is missing
	// or does not verify.
	ReasonSignatureInvalid Reason = "signature_invalid"
	// ReasonHashMismatch: the log's uncompressed bytes are not the ones
	// its digest hashed.
	ReasonHashMismatch Reason = "hash_mismatch"
	// ReasonMoved: the digest names another bucket or key than the one it
	// was read from.
	ReasonMoved Reason = "moved"
	// ReasonInvalidFormat: not gzipped JSON, or a required field missing
	// or unreadable.
	ReasonInvalidFormat Reason = "invalid_format"
	// ReasonPublicKeyNotFound: no usable public key of the region has the
	// digest's fingerprint.
	ReasonPublicKeyNotFound Reason = "public_key_not_found"
)

// Problem is one invalid file.
type Problem struct {
	Kind   Kind   `json:"kind"`
	Region string `json:"region"`
	Bucket string `json:"s3_bucket"`
	Key    string `json:"s3_key"`
	// Backfill marks a backfill digest (one whose key ends in
	// _backfill.json.gz) and the logs it lists.
	Backfill bool   `json:"backfill,omitempty"`
	Reason   Reason `json:"reason"`
	// Message is the AWS CLI's line for the file, with a detail where the
	// CLI has none.
	Message string `json:"message"`
}

// Gap is a time no digest covers between two chains of a region: log file
// validation or logging was off. It is not a failure.
type Gap struct {
	Region   string    `json:"region"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Backfill bool      `json:"backfill,omitempty"`
}

// Message is the AWS CLI's line for the gap.
func (g Gap) Message() string {
	prefix := ""
	if g.Backfill {
		prefix = "(backfill) "
	}
	return prefix + "No log files were delivered by CloudTrail between " +
		g.Start.UTC().Format(time.RFC3339) + " and " + g.End.UTC().Format(time.RFC3339)
}

// Counts are the files validated. Digest counts include backfill digests,
// which the Backfill counts repeat on their own as the AWS CLI reports them.
type Counts struct {
	DigestsValid           int `json:"digests_valid"`
	DigestsInvalid         int `json:"digests_invalid"`
	BackfillDigestsValid   int `json:"backfill_digests_valid"`
	BackfillDigestsInvalid int `json:"backfill_digests_invalid"`
	LogsValid              int `json:"logs_valid"`
	LogsInvalid            int `json:"logs_invalid"`
}

func (c *Counts) add(o *Counts) {
	c.DigestsValid += o.DigestsValid
	c.DigestsInvalid += o.DigestsInvalid
	c.BackfillDigestsValid += o.BackfillDigestsValid
	c.BackfillDigestsInvalid += o.BackfillDigestsInvalid
	c.LogsValid += o.LogsValid
	c.LogsInvalid += o.LogsInvalid
}

func (c *Counts) invalid() int { return c.DigestsInvalid + c.LogsInvalid }

// Covered is the part of the requested window valid digests cover, as the
// AWS CLI's "Results found for ... to ...": from the oldest valid digest's
// start to the newest one's end, clipped to the window.
type Covered struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

func (c *Covered) extend(start, end, winStart, winEnd time.Time) *Covered {
	start, end = maxTime(start, winStart), minTime(end, winEnd)
	if c == nil {
		return &Covered{Start: start, End: end}
	}
	c.Start, c.End = minTime(c.Start, start), maxTime(c.End, end)
	return c
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// RegionResult is one source region's share of a validation.
type RegionResult struct {
	Region string `json:"region"`
	Counts
	// Covered is nil when the region has no valid digest.
	Covered *Covered `json:"covered"`
	// Error says why the region could not be validated; empty when it was.
	Error string `json:"error,omitempty"`
}

// Result is what a validation found.
type Result struct {
	Status Status `json:"status"`
	Counts
	// Start and End are the requested window.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Covered is nil when no region has a valid digest.
	Covered *Covered `json:"covered"`
	Gaps    []Gap    `json:"gaps"`
	// Problems are the first MaxProblems invalid files, region by region in
	// the configured order, each region's newest first as the AWS CLI
	// prints them; ProblemsTotal counts them all.
	Problems      []Problem      `json:"problems"`
	ProblemsTotal int            `json:"problems_total"`
	Regions       []RegionResult `json:"regions"`
}

// FileVerdict is the verdict on one file, given to Config.OnFile; its
// JSON names are Problem's.
type FileVerdict struct {
	Kind     Kind   `json:"kind"`
	Region   string `json:"region"`
	Bucket   string `json:"s3_bucket"`
	Key      string `json:"s3_key"`
	Backfill bool   `json:"backfill,omitempty"`
	Valid    bool   `json:"valid"`
	// Reason is empty for a valid file.
	Reason Reason `json:"reason,omitempty"`
}

// LogVerdicts maps the S3 key of every log file a valid digest lists to
// whether it is valid; a log file no valid digest lists is absent. Its
// Record method is a Config.OnFile.
type LogVerdicts map[string]bool

// Record keeps a log file's verdict; a file listed twice is valid only if
// both listings are.
func (v LogVerdicts) Record(f FileVerdict) {
	if f.Kind != KindLog {
		return
	}
	if valid, ok := v[f.Key]; ok && !valid {
		return
	}
	v[f.Key] = f.Valid
}

// rank orders problems as the AWS CLI prints them: by region, the regular
// chain before the backfill one, the walk's order (newest first), a digest
// before its logs.
type rank struct {
	region, chain, step, log int
}

func (a rank) less(b rank) bool {
	if a.region != b.region {
		return a.region < b.region
	}
	if a.chain != b.chain {
		return a.chain < b.chain
	}
	if a.step != b.step {
		return a.step < b.step
	}
	return a.log < b.log
}

type rankedProblem struct {
	rank rank
	Problem
}

// problemHeap is a max-heap on rank: its root is the problem to drop when
// a better-ranked one arrives and the list is full.
type problemHeap []rankedProblem

func (h problemHeap) Len() int           { return len(h) }
func (h problemHeap) Less(i, j int) bool { return h[j].rank.less(h[i].rank) }
func (h problemHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *problemHeap) Push(x any)        { *h = append(*h, x.(rankedProblem)) }
func (h *problemHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// verdicts gathers the verdicts of every region's walk and log checks: the
// best-ranked max problems (all when max is 0), whatever the order in which
// parallel checks finish, and each file's verdict for onFile, one call at
// a time.
type verdicts struct {
	mu       sync.Mutex
	max      int
	problems problemHeap
	total    int
	onFile   func(FileVerdict)
}

func (v *verdicts) record(r rank, f FileVerdict, message string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.onFile != nil {
		v.onFile(f)
	}
	if f.Valid {
		return
	}
	v.total++
	p := rankedProblem{rank: r, Problem: Problem{
		Kind: f.Kind, Region: f.Region, Bucket: f.Bucket, Key: f.Key, Backfill: f.Backfill, Reason: f.Reason, Message: message,
	}}
	if v.max > 0 && len(v.problems) == v.max {
		if !r.less(v.problems[0].rank) {
			return
		}
		heap.Pop(&v.problems)
	}
	heap.Push(&v.problems, p)
}

// sorted returns the kept problems in rank order.
func (v *verdicts) sorted() []Problem {
	v.mu.Lock()
	defer v.mu.Unlock()
	h := append(problemHeap(nil), v.problems...)
	out := make([]Problem, len(h))
	for i := len(h) - 1; i >= 0; i-- {
		out[i] = heap.Pop(&h).(rankedProblem).Problem
	}
	return out
}
