package archive

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// A scan is one Run: a pool of workers over a queue of tasks. Listing a
// folder adds tasks (the folders under it, the files in it), so listing
// and reading overlap, and every request counts against one limit.
type scan struct {
	q *Query
	// firstDay and lastDay are the delivery days listed.
	firstDay, lastDay time.Time

	mu   sync.Mutex
	cond *sync.Cond
	// queues holds the pending tasks by priority: reading files first,
	// so the files listed but not yet read stay few, then listing days,
	// then discovering folders.
	queues [3][]task
	// busy counts the tasks being done; with empty queues and none busy
	// the scan is over.
	busy int
	done bool

	accounts, regions map[string]bool
	failed            []*FileError

	files, listings              atomic.Int64
	bytes, uncompressed, records atomic.Int64
	filesListed                  atomic.Int64
	collect                      *collector
}

type taskKind int

const (
	readFile taskKind = iota
	listDay
	discoverRegions
	discoverAccounts
)

// task is one listing or read. A listDay task lists one day and queues
// the next, so a long window costs one pending task per account and
// region.
type task struct {
	kind            taskKind
	account, region string
	day             time.Time
	key             string
}

func (t task) priority() int { return min(int(t.kind), 2) }

func newScan(q *Query) *scan {
	s := &scan{
		q:        q,
		firstDay: q.Start.UTC().Truncate(24 * time.Hour),
		lastDay:  q.End.UTC().Truncate(24*time.Hour).AddDate(0, 0, 1),
		accounts: map[string]bool{},
		regions:  map[string]bool{},
		collect:  newCollector(q),
	}
	s.cond = sync.NewCond(&s.mu)
	if q.AccountIDs[0] == Discover {
		s.push(task{kind: discoverAccounts})
	} else {
		for _, a := range q.AccountIDs {
			s.account(a)
		}
	}
	return s
}

// account queues the reading of one account's folders.
func (s *scan) account(a string) {
	s.mu.Lock()
	s.accounts[a] = true
	s.mu.Unlock()
	if s.q.Regions[0] == Discover {
		s.push(task{kind: discoverRegions, account: a})
		return
	}
	for _, r := range s.q.Regions {
		s.region(a, r)
	}
}

func (s *scan) region(account, region string) {
	s.mu.Lock()
	s.regions[region] = true
	s.mu.Unlock()
	s.push(task{kind: listDay, account: account, region: region, day: s.firstDay})
}

func (s *scan) push(t task) {
	s.mu.Lock()
	s.queues[t.priority()] = append(s.queues[t.priority()], t)
	s.mu.Unlock()
	s.cond.Signal()
}

// next waits for a task; false means the scan is over or stopped.
func (s *scan) next() (task, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.done {
			return task{}, false
		}
		for p := range s.queues {
			if q := s.queues[p]; len(q) > 0 {
				t := q[len(q)-1]
				s.queues[p] = q[:len(q)-1]
				s.busy++
				return t, true
			}
		}
		if s.busy == 0 {
			s.done = true
			s.cond.Broadcast()
			return task{}, false
		}
		s.cond.Wait()
	}
}

func (s *scan) finish() {
	s.mu.Lock()
	s.busy--
	idle := s.busy == 0
	s.mu.Unlock()
	if idle {
		s.cond.Broadcast()
	}
}

func (s *scan) stop() {
	s.mu.Lock()
	s.done = true
	s.mu.Unlock()
	s.cond.Broadcast()
}

// work does tasks until the scan is over. A task's failure that fails the
// query cancels ctx with it, which stops every worker.
func (s *scan) work(ctx context.Context, cancel context.CancelCauseFunc) {
	r := newFileReader(s)
	for {
		// A stopped query takes no further task, whether or not stop
		// has run yet to wake the waiting workers.
		if ctx.Err() != nil {
			return
		}
		t, ok := s.next()
		if !ok {
			return
		}
		err := s.do(ctx, r, t)
		s.finish()
		if err != nil {
			cancel(err)
			return
		}
	}
}

func (s *scan) do(ctx context.Context, r *fileReader, t task) error {
	switch t.kind {
	case readFile:
		err := r.read(ctx, t.key)
		if err == nil {
			s.files.Add(1)
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		fe := &FileError{Key: t.key, Err: err}
		if s.q.OnFileError == FailOnFileError {
			return fe
		}
		tflog.Warn(ctx, "skipping a CloudTrail log file that cannot be read", map[string]any{"key": t.key, "error": err.Error()})
		s.mu.Lock()
		s.failed = append(s.failed, fe)
		s.mu.Unlock()
		return nil
	case listDay:
		l, err := s.list(ctx, s.q.Location.DayPrefix(t.account, CloudTrailFolder, t.region, t.day))
		if err != nil {
			return err
		}
		if next := t.day.AddDate(0, 0, 1); !next.After(s.lastDay) {
			s.push(task{kind: listDay, account: t.account, region: t.region, day: next})
		}
		for _, o := range l.Objects {
			// Only log files: a day folder holds nothing else, but a
			// copy of it may.
			if strings.HasSuffix(o.Key, ".json.gz") {
				s.filesListed.Add(1)
				s.push(task{kind: readFile, key: o.Key})
			}
		}
		return nil
	case discoverRegions:
		l, err := s.list(ctx, s.q.Location.RegionsPrefix(t.account, CloudTrailFolder))
		if err != nil {
			return err
		}
		for _, p := range l.Prefixes {
			s.region(t.account, folderName(p))
		}
		return nil
	default:
		l, err := s.list(ctx, s.q.Location.AccountsPrefix())
		if err != nil {
			return err
		}
		for _, p := range l.Prefixes {
			// An organization's folder sits next to the management
			// account's when the location does not name it.
			if name := folderName(p); AccountIDPattern.MatchString(name) {
				s.account(name)
			}
		}
		return nil
	}
}

func (s *scan) list(ctx context.Context, prefix string) (Listing, error) {
	s.listings.Add(1)
	l, err := s.q.Source.List(ctx, prefix, "/")
	if err != nil && ctx.Err() != nil {
		return Listing{}, nil
	}
	return l, err
}

// folderName is the last folder of a common prefix such as a/b/c/.
func folderName(prefix string) string {
	p := strings.TrimSuffix(prefix, "/")
	return p[strings.LastIndexByte(p, '/')+1:]
}

// progress logs the scan's progress every interval until stopped, so that
// a long read shows it is moving with TF_LOG=INFO.
func (s *scan) progress(ctx context.Context) (stop func()) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(stopped)
		tick := time.NewTicker(s.q.ProgressInterval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			s.mu.Lock()
			failed := len(s.failed)
			s.mu.Unlock()
			tflog.Info(ctx, "reading CloudTrail log files", map[string]any{
				"source": s.q.Source.Name(), "files_done": s.files.Load(), "files_listed": s.filesListed.Load(),
				"files_failed": failed, "bytes": s.bytes.Load(), "uncompressed_bytes": s.uncompressed.Load(),
				"matches": s.collect.matches.Load(), "elapsed": time.Since(start).Round(time.Second).String(),
			})
		}
	}()
	return func() { close(done); <-stopped }
}

// result assembles the answer once every worker has stopped.
func (s *scan) result() *Result {
	res := s.collect.result()
	res.Accounts = sortedKeys(s.accounts)
	res.Regions = sortedKeys(s.regions)
	res.FilesScanned = int(s.files.Load())
	res.BytesScanned = s.bytes.Load()
	res.UncompressedBytes = s.uncompressed.Load()
	res.RecordsScanned = s.records.Load()
	res.Listings = int(s.listings.Load())
	res.FilesFailed = slices.SortedFunc(slices.Values(s.failed), func(a, b *FileError) int { return strings.Compare(a.Key, b.Key) })
	return res
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
