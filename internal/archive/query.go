package archive

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
)

// Discover, as the only account id or region, reads every account or
// region folder the location has.
const Discover = "*"

// DefaultConcurrency is how many listings and reads run at once when a
// query does not say: enough to keep S3's latency from setting the pace.
const DefaultConcurrency = 32

// DefaultProgressInterval is how often a long read logs its progress.
const DefaultProgressInterval = 5 * time.Second

// DefaultMaxUncompressedBytes is how much one log file may decompress to
// when a query does not say: 1 GiB. CloudTrail writes a file per account
// and region about every five minutes and truncates a record's large
// fields (requestParameters, responseElements) at 100 KB, so even a busy
// region's files are tens of megabytes uncompressed; a gigabyte is far
// above any of them, and yet a gzip bomb stops after a few seconds of
// one core's decompression, with memory flat since files are streamed.
const DefaultMaxUncompressedBytes = 1 << 30

// OnFileError says what a file that cannot be read does to a query. A
// folder that cannot be listed always fails it: what it holds is unknown.
type OnFileError string

const (
	// FailOnFileError fails the query: its counts would be incomplete.
	FailOnFileError OnFileError = "fail"
	// WarnOnFileError reports the file in Result.FilesFailed and goes on.
	// The records a file yielded before it failed are kept: a file cut
	// short still holds the records it had.
	WarnOnFileError OnFileError = "warn"
)

// Query is what to read from a trail's archive.
type Query struct {
	Source   Source
	Location Location
	// AccountIDs and Regions name the folders read; []string{Discover}
	// lists the location's folders instead.
	AccountIDs []string
	Regions    []string
	// Start and End bound the events' time, both inclusive. Files are
	// listed from Start's day to the day after End's, as folders are
	// named by delivery date.
	Start, End time.Time
	// Filter selects events; an empty EventSource means
	// events.DefaultEventSource, as for LookupEvents, and
	// events.AllEventSources keeps every service's.
	Filter events.Filter
	// MaxEvents is how many of the newest matching events are kept; 0
	// keeps none and only counts.
	MaxEvents int
	// Concurrency is how many listings and reads run at once; 0 means
	// DefaultConcurrency.
	Concurrency int
	// OnFileError is FailOnFileError when empty.
	OnFileError OnFileError
	// LogFileVerdict, when set, tells whether a log file validated against
	// the trail's digests (nil: not checked); events read from it carry
	// the verdict in LogFileValid.
	LogFileVerdict func(key string) *bool
	// ProgressInterval is how often progress is logged at INFO level;
	// 0 means DefaultProgressInterval.
	ProgressInterval time.Duration
	// MaxUncompressedBytes is how much one log file may decompress to; a
	// file that goes past it (a gzip bomb) fails as a FileError, as
	// OnFileError says. 0 means DefaultMaxUncompressedBytes.
	MaxUncompressedBytes int64
}

// Result is what a query found.
type Result struct {
	// Events are the newest MaxEvents matches, newest first, each event id
	// once, with credential-bearing values redacted.
	Events []events.Event
	// TotalCount counts every match, also those past MaxEvents; the
	// counts below and the times cover every match too.
	TotalCount        int
	Truncated         bool
	CountsByEventName map[string]int
	CountsByRegion    map[string]int
	CountsByAccount   map[string]int
	// EarliestEventTime and LatestEventTime are zero without a match.
	EarliestEventTime time.Time
	LatestEventTime   time.Time

	// Accounts and Regions are the folders read, sorted: the query's or,
	// with Discover, those found.
	Accounts []string
	Regions  []string
	// FilesScanned counts the log files read to their end.
	FilesScanned int
	// BytesScanned is the compressed bytes read, UncompressedBytes what
	// they decompressed to, RecordsScanned the records in them.
	BytesScanned      int64
	UncompressedBytes int64
	RecordsScanned    int64
	// Listings counts the List calls.
	Listings int
	// FilesFailed are the files that could not be read, with
	// WarnOnFileError, sorted by key.
	FilesFailed []*FileError
	Duration    time.Duration
}

// FileError is a log file that could not be read: missing, refused,
// corrupt or not a CloudTrail log file.
type FileError struct {
	Key string
	Err error
}

func (e *FileError) Error() string { return fmt.Sprintf("log file %s: %v", e.Key, e.Err) }

func (e *FileError) Unwrap() error { return e.Err }

// AccountIDPattern is an AWS account id: an account folder's name.
var AccountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)

// prepare checks q and fills its defaults.
func (q *Query) prepare() error {
	if q.Source == nil {
		return errors.New("no source to read")
	}
	if err := CheckWindow(q.Start, q.End); err != nil {
		return err
	}
	if err := CheckFolders("account id", q.AccountIDs, AccountIDPattern.MatchString); err != nil {
		return err
	}
	validRegion := func(r string) bool { return r != "" && !strings.Contains(r, "/") }
	if err := CheckFolders("region", q.Regions, validRegion); err != nil {
		return err
	}
	if q.MaxEvents < 0 {
		return fmt.Errorf("max events must not be negative, got %d", q.MaxEvents)
	}
	switch {
	case q.Concurrency < 0:
		return fmt.Errorf("concurrency must not be negative, got %d", q.Concurrency)
	case q.Concurrency == 0:
		q.Concurrency = DefaultConcurrency
	}
	switch q.OnFileError {
	case "":
		q.OnFileError = FailOnFileError
	case FailOnFileError, WarnOnFileError:
	default:
		return fmt.Errorf("on file error must be %q or %q, got %q", FailOnFileError, WarnOnFileError, q.OnFileError)
	}
	switch {
	case q.MaxUncompressedBytes < 0:
		return fmt.Errorf("max uncompressed bytes must not be negative, got %d", q.MaxUncompressedBytes)
	case q.MaxUncompressedBytes == 0:
		q.MaxUncompressedBytes = DefaultMaxUncompressedBytes
	}
	if q.ProgressInterval <= 0 {
		q.ProgressInterval = DefaultProgressInterval
	}
	if q.Filter.EventSource == "" {
		q.Filter.EventSource = events.DefaultEventSource
	}
	return nil
}

// CheckWindow refuses a window that ends before it starts.
func CheckWindow(start, end time.Time) error {
	if end.Before(start) {
		return fmt.Errorf("start time %s is after end time %s", start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	return nil
}

// CheckFolders checks the account ids or regions (what) a query reads:
// Discover alone, or names that valid accepts.
func CheckFolders(what string, names []string, valid func(string) bool) error {
	switch {
	case len(names) == 0:
		return fmt.Errorf("no %s to read", what)
	case slices.Contains(names, Discover) && len(names) > 1:
		return fmt.Errorf("%q discovers every %s folder, so it must be the only %s", Discover, what, what)
	case len(names) == 1 && names[0] == Discover:
		return nil
	}
	return CheckNames(what, names, valid)
}

// CheckNames names the first of names that valid refuses.
func CheckNames(what string, names []string, valid func(string) bool) error {
	for _, n := range names {
		if !valid(n) {
			return fmt.Errorf("%q is not a valid %s", n, what)
		}
	}
	return nil
}

// Run reads the log files q names, all at once within q.Concurrency, and
// returns the matching events. Cancelling ctx stops every listing and
// read.
func Run(ctx context.Context, q Query) (*Result, error) {
	if err := q.prepare(); err != nil {
		return nil, err
	}
	start := time.Now()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	s := newScan(&q)
	unhook := context.AfterFunc(ctx, s.stop)
	defer unhook()
	stopProgress := s.progress(ctx)
	var wg sync.WaitGroup
	for range q.Concurrency {
		wg.Go(func() { s.work(ctx, cancel) })
	}
	wg.Wait()
	stopProgress()

	if err := context.Cause(ctx); err != nil {
		return nil, fmt.Errorf("reading CloudTrail log files in %s: %w", q.Source.Name(), err)
	}
	res := s.result()
	res.Duration = time.Since(start)
	tflog.Debug(ctx, "CloudTrail archive read", map[string]any{
		"source": q.Source.Name(), "files": res.FilesScanned, "files_failed": len(res.FilesFailed),
		"bytes": res.BytesScanned, "uncompressed_bytes": res.UncompressedBytes, "records": res.RecordsScanned,
		"matches": res.TotalCount, "duration": res.Duration.String(),
	})
	return res, nil
}
