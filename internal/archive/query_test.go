package archive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-log/tflogtest"
	"github.com/klauspost/compress/gzip"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
)

// TestMidnightRecordInNextDayFolder: a file delivered after midnight holds
// the last minutes of the day before; the window ends on that day, so its
// folder and the next are listed, and nothing later.
func TestMidnightRecordInNextDayFolder(t *testing.T) {
	dir := t.TempDir()
	lateEvening := day(10).Add(-2 * time.Minute)
	writeLog(t, dir, logKey(Location{}, acctA, "us-east-1", day(10).Add(3*time.Minute), 1),
		rec{id: uuidN(1), name: "DeleteServer", region: "us-east-1", account: acctA, at: lateEvening},
		rec{id: uuidN(2), name: "DeleteServer", region: "us-east-1", account: acctA, at: day(10).Add(time.Minute)})
	// Two days past the window's end: never listed.
	writeLog(t, dir, logKey(Location{}, acctA, "us-east-1", day(11).Add(time.Hour), 2),
		rec{id: uuidN(3), name: "DeleteServer", region: "us-east-1", account: acctA, at: lateEvening})

	q := query(openDir(t, dir))
	q.Start, q.End = day(9), day(10).Add(-time.Second)
	res := mustRun(t, q)
	if got := ids(res.Events); !slices.Equal(got, []string{uuidN(1)}) {
		t.Errorf("events %v, want the 23:58 record only", got)
	}
	if res.FilesScanned != 1 || res.Listings != 2 {
		t.Errorf("read %d files in %d listings, want 1 file in 2 listings (the window's day and the next)", res.FilesScanned, res.Listings)
	}
	if res.Events[0].LogFile != logKey(Location{}, acctA, "us-east-1", day(10).Add(3*time.Minute), 1) {
		t.Errorf("log file %q", res.Events[0].LogFile)
	}
}

// TestDuplicateDelivery: a record delivered in two files counts once and
// reports the first file in key order, whichever is read first.
func TestDuplicateDelivery(t *testing.T) {
	dir := t.TempDir()
	r := rec{id: uuidN(1), name: "UpdateServer", region: "us-east-1", account: acctA, at: day(5).Add(time.Hour)}
	other := rec{id: uuidN(2), name: "UpdateServer", region: "us-east-1", account: acctA, at: day(5).Add(2 * time.Hour)}
	first := logKey(Location{}, acctA, "us-east-1", day(5).Add(65*time.Minute), 1)
	second := logKey(Location{}, acctA, "us-east-1", day(5).Add(70*time.Minute), 2)
	writeLog(t, dir, first, r)
	writeLog(t, dir, second, other, r)
	for _, conc := range []int{1, 2, 8} {
		q := query(openDir(t, dir))
		q.Concurrency = conc
		res := mustRun(t, q)
		if res.TotalCount != 2 || res.CountsByEventName["UpdateServer"] != 2 || len(res.Events) != 2 {
			t.Fatalf("concurrency %d: total %d, counts %v, events %v; want 2 distinct events", conc, res.TotalCount, res.CountsByEventName, ids(res.Events))
		}
		if res.Events[1].EventID != uuidN(1) || res.Events[1].LogFile != first {
			t.Errorf("concurrency %d: duplicate reported from %q, want %q", conc, res.Events[1].LogFile, first)
		}
	}
}

// TestLocations: organization trails and key prefixes put the account
// folders deeper; folders next to CloudTrail/ are not read.
func TestLocations(t *testing.T) {
	for _, loc := range []Location{{}, {Prefix: "audit/trail"}, {OrganizationID: "o-abc123def4"}, {Prefix: "p", OrganizationID: "o-abc123def4"}} {
		t.Run(fmt.Sprintf("%+v", loc), func(t *testing.T) {
			dir := t.TempDir()
			at := day(3).Add(time.Hour)
			writeLog(t, dir, logKey(loc, acctA, "us-east-1", at, 1), rec{id: uuidN(1), name: "CreateBackup", region: "us-east-1", account: acctA, at: at})
			// The same day's digests, insights and stray files.
			for _, folder := range []string{CloudTrailDigestFolder, "CloudTrail-Insight"} {
				writeLog(t, dir, loc.DayPrefix(acctA, folder, "us-east-1", at)+acctA+"_"+folder+"_us-east-1_x.json.gz",
					rec{id: uuidN(2), name: "CreateBackup", region: "us-east-1", account: acctA, at: at})
			}
			writeLog(t, dir, loc.DayPrefix(acctA, CloudTrailFolder, "us-east-1", at)+"copy/inner.json.gz",
				rec{id: uuidN(3), name: "CreateBackup", region: "us-east-1", account: acctA, at: at})
			writeFile(t, dir, loc.DayPrefix(acctA, CloudTrailFolder, "us-east-1", at)+"notes.json", []byte("not a log file"))

			q := query(openDir(t, dir))
			q.Location = loc
			res := mustRun(t, q)
			if got := ids(res.Events); !slices.Equal(got, []string{uuidN(1)}) || res.FilesScanned != 1 {
				t.Errorf("events %v from %d files; want %s from 1", got, res.FilesScanned, uuidN(1))
			}
			// Read from the wrong location, nothing is found.
			q.Location = Location{Prefix: "elsewhere"}
			if res := mustRun(t, q); res.TotalCount != 0 || res.FilesScanned != 0 {
				t.Errorf("another location found %d events in %d files", res.TotalCount, res.FilesScanned)
			}
		})
	}
}

// TestDiscover: "*" reads every account and region folder there is.
func TestDiscover(t *testing.T) {
	dir := t.TempDir()
	loc := Location{OrganizationID: "o-abc123def4"}
	at := day(7).Add(time.Hour)
	n := 0
	for acct, regions := range map[string][]string{acctA: {"us-east-1", "eu-west-1"}, acctB: {"ap-northeast-1"}} {
		for _, region := range regions {
			n++
			writeLog(t, dir, logKey(loc, acct, region, at, n), rec{id: uuidN(n), name: "DescribeServers", region: region, account: acct, at: at})
		}
	}
	// Not an account folder.
	writeLog(t, dir, loc.AccountsPrefix()+"backup/CloudTrail/us-east-1/2024/03/07/x.json.gz",
		rec{id: uuidN(99), name: "DescribeServers", region: "us-east-1", account: acctA, at: at})

	q := query(openDir(t, dir))
	q.Location = loc
	q.AccountIDs, q.Regions = []string{Discover}, []string{Discover}
	res := mustRun(t, q)
	if res.TotalCount != 3 || !slices.Equal(res.Accounts, []string{acctA, acctB}) ||
		!slices.Equal(res.Regions, []string{"ap-northeast-1", "eu-west-1", "us-east-1"}) {
		t.Errorf("found %d events, accounts %v, regions %v", res.TotalCount, res.Accounts, res.Regions)
	}
	if want := map[string]int{acctA: 2, acctB: 1}; !maps.Equal(res.CountsByAccount, want) {
		t.Errorf("counts by account %v, want %v", res.CountsByAccount, want)
	}

	q.Regions = []string{"us-east-1"}
	if res := mustRun(t, q); res.TotalCount != 1 || !slices.Equal(res.Accounts, []string{acctA, acctB}) {
		t.Errorf("every account in us-east-1: %d events, accounts %v", res.TotalCount, res.Accounts)
	}
	q.AccountIDs, q.Regions = []string{acctA}, []string{Discover}
	if res := mustRun(t, q); res.TotalCount != 2 {
		t.Errorf("every region of account A: %d events", res.TotalCount)
	}
}

// TestWindowEdges: both ends of the window are inclusive, to the second.
func TestWindowEdges(t *testing.T) {
	dir := t.TempDir()
	start, end := day(4).Add(6*time.Hour), day(6).Add(18*time.Hour)
	var recs []rec
	for i, at := range []time.Time{start.Add(-time.Second), start, end, end.Add(time.Second)} {
		recs = append(recs, rec{id: uuidN(i), name: "StartMaintenance", region: "us-east-1", account: acctA, at: at})
	}
	writeLog(t, dir, logKey(Location{}, acctA, "us-east-1", day(4).Add(7*time.Hour), 1), recs[:2]...)
	writeLog(t, dir, logKey(Location{}, acctA, "us-east-1", day(6).Add(19*time.Hour), 2), recs[2:]...)
	q := query(openDir(t, dir))
	q.Start, q.End = start, end
	res := mustRun(t, q)
	if got := ids(res.Events); !slices.Equal(got, []string{uuidN(2), uuidN(1)}) {
		t.Errorf("events %v, want the two on the edges", got)
	}
	if !res.EarliestEventTime.Equal(start) || !res.LatestEventTime.Equal(end) {
		t.Errorf("earliest %s latest %s", res.EarliestEventTime, res.LatestEventTime)
	}
}

// TestTruncationAndCounts: the newest MaxEvents are kept, counts cover
// every match.
func TestTruncationAndCounts(t *testing.T) {
	dir := t.TempDir()
	names := []string{"DescribeServers", "UpdateServer", "DeleteServer"}
	regions := []string{"us-east-1", "eu-west-1"}
	var all []rec
	for f := range 10 {
		var recs []rec
		for i := range 5 {
			n := f*5 + i
			region := regions[n%2]
			r := rec{id: uuidN(n), name: names[n%3], region: region, account: acctA, at: day(2).Add(time.Duration(n*37%50) * time.Hour)}
			recs = append(recs, r)
			all = append(all, r)
		}
		// Records of other services in the same files.
		recs = append(recs, rec{id: uuidN(1000 + f), source: "ec2.amazonaws.com", name: "DescribeServers", region: "us-east-1", account: acctA, at: day(3)})
		writeLog(t, dir, logKey(Location{}, acctA, regions[f%2], day(2).Add(time.Duration(f)*5*time.Hour), f), recs...)
	}
	q := query(openDir(t, dir))
	q.Regions = regions
	q.MaxEvents = 7
	res := mustRun(t, q)

	slices.SortFunc(all, func(a, b rec) int {
		if c := b.at.Compare(a.at); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	var want []string
	byName, byRegion := map[string]int{}, map[string]int{}
	for i, r := range all {
		if i < 7 {
			want = append(want, r.id)
		}
		byName[r.name]++
		byRegion[r.region]++
	}
	if got := ids(res.Events); !slices.Equal(got, want) {
		t.Errorf("events %v, want the newest 7 %v", got, want)
	}
	if res.TotalCount != 50 || !res.Truncated || !maps.Equal(res.CountsByEventName, byName) || !maps.Equal(res.CountsByRegion, byRegion) ||
		!maps.Equal(res.CountsByAccount, map[string]int{acctA: 50}) {
		t.Errorf("total %d truncated %v by name %v by region %v by account %v", res.TotalCount, res.Truncated, res.CountsByEventName, res.CountsByRegion, res.CountsByAccount)
	}
	if !res.EarliestEventTime.Equal(all[49].at) || !res.LatestEventTime.Equal(all[0].at) {
		t.Errorf("earliest %s latest %s, want %s and %s", res.EarliestEventTime, res.LatestEventTime, all[49].at, all[0].at)
	}
	if res.FilesScanned != 10 || res.RecordsScanned != 60 {
		t.Errorf("scanned %d files, %d records", res.FilesScanned, res.RecordsScanned)
	}

	q.MaxEvents = 50
	if res := mustRun(t, q); res.Truncated || len(res.Events) != 50 {
		t.Errorf("max 50 of 50: %d events, truncated %v", len(res.Events), res.Truncated)
	}

	q.MaxEvents = 0
	counts := mustRun(t, q)
	if len(counts.Events) != 0 || counts.TotalCount != 50 || !counts.Truncated || !maps.Equal(counts.CountsByEventName, byName) {
		t.Errorf("counts only: %d events, total %d, truncated %v, by name %v", len(counts.Events), counts.TotalCount, counts.Truncated, counts.CountsByEventName)
	}

	q.MaxEvents = 100
	q.Filter = events.Filter{EventNames: []string{"DeleteServer"}, ReadOnly: new(false)}
	if res := mustRun(t, q); res.TotalCount != byName["DeleteServer"] || res.CountsByEventName["DescribeServers"] != 0 {
		t.Errorf("filtered by name: total %d, by name %v", res.TotalCount, res.CountsByEventName)
	}
	q.Filter = events.Filter{EventSource: "ec2.amazonaws.com"}
	if res := mustRun(t, q); res.TotalCount != 10 {
		t.Errorf("another event source: %d events, want 10", res.TotalCount)
	}
	q.Filter = events.Filter{EventSource: events.AllEventSources}
	if res := mustRun(t, q); res.TotalCount != 60 || res.CountsByEventName["DescribeServers"] != byName["DescribeServers"]+10 {
		t.Errorf("every event source: %d events, by name %v; want 60", res.TotalCount, res.CountsByEventName)
	}
}

// TestRedaction: a credential a record carries never reaches the result.
func TestRedaction(t *testing.T) {
	dir := t.TempDir()
	const secret = "Pupp3t-Adm1n-Pa55w0rd!"
	at := day(8).Add(time.Hour)
	writeLog(t, dir, logKey(Location{}, acctA, "us-east-1", at, 1), rec{
		id: uuidN(1), name: "CreateServer", region: "us-east-1", account: acctA, at: at,
		request: `{"serverName":"puppet-1","engineAttributes":[{"name":"PUPPET_ADMIN_PASSWORD","value":"` + secret + `"}]}`,
	})
	res := mustRun(t, query(openDir(t, dir)))
	if len(res.Events) != 1 {
		t.Fatalf("%d events", len(res.Events))
	}
	if dump := fmt.Sprintf("%+v", res); strings.Contains(dump, secret) {
		t.Errorf("the result leaks the admin password: %s", dump)
	}
	if ev := res.Events[0]; !strings.Contains(ev.RequestParameters, events.Redacted) || !strings.Contains(ev.RequestParameters, "puppet-1") ||
		!strings.Contains(ev.CloudTrailEvent, events.Redacted) {
		t.Errorf("request parameters %s", ev.RequestParameters)
	}
}

// TestBadFiles: files that cannot be read fail the query, or with
// WarnOnFileError are reported with their key and reason. The records a
// file yielded before it failed are kept.
func TestBadFiles(t *testing.T) {
	at := day(12).Add(time.Hour)
	good := rec{id: uuidN(1), name: "DescribeBackups", region: "us-east-1", account: acctA, at: at}
	first := rec{id: uuidN(2), name: "DescribeBackups", region: "us-east-1", account: acctA, at: at}
	valid := gzipped(t, []byte(`{"Records":[`+good.json()+`]}`))
	corrupt := gzipped(t, []byte(`{"Records":[`+first.json()+`]}`))
	corrupt[len(corrupt)/2] ^= 0xff
	badCRC := gzipped(t, []byte(`{"Records":[`+first.json()+`]}`))
	badCRC[len(badCRC)-5] ^= 0xff
	for _, tc := range []struct {
		name, reason string
		data         []byte
		// partial is how many records the file yields before failing.
		partial int
	}{
		{"empty file", "empty file", nil, 0},
		{"not gzip", "not a gzipped log file", []byte(`{"Records":[]}`), 0},
		// Flipped bits decompress to garbage or fail to: either way an error.
		{"corrupt gzip", "", corrupt, 0},
		{"truncated gzip", "unexpected EOF", valid[:len(valid)/2], 0},
		{"gzip checksum", "checksum", badCRC, 1},
		{"truncated JSON", "unexpected EOF", gzipped(t, []byte(`{"Records":[`+first.json()+`,{"eventVersion":"1.09","eventTi`)), 1},
		{"not JSON", "invalid JSON", gzipped(t, []byte(`<Error><Code>AccessDenied</Code></Error>`)), 0},
		{"no Records", "no Records array", gzipped(t, []byte(`{"logFiles":[]}`)), 0},
		{"record without a time", "eventTime", gzipped(t, []byte(`{"Records":[{"eventID":"x","eventName":"CreateServer","eventSource":"opsworks-cm.amazonaws.com"}]}`)), 0},
		{"data after the document", "after the Records document", gzipped(t, []byte(`{"Records":[]} {}`)), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			badKey := logKey(Location{}, acctA, "us-east-1", at, 1)
			writeFile(t, dir, badKey, tc.data)
			writeFile(t, dir, logKey(Location{}, acctA, "us-east-1", at, 2), valid)

			q := query(openDir(t, dir))
			_, err := Run(context.Background(), q)
			var fe *FileError
			if !errors.As(err, &fe) || fe.Key != badKey || !strings.Contains(err.Error(), badKey) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("fail mode: error %v, want one naming %s and %q", err, badKey, tc.reason)
			}

			q.OnFileError = WarnOnFileError
			res := mustRun(t, q)
			if len(res.FilesFailed) != 1 || res.FilesFailed[0].Key != badKey || res.FilesScanned != 1 {
				t.Fatalf("warn mode: failed %v, scanned %d", res.FilesFailed, res.FilesScanned)
			}
			if !strings.Contains(res.FilesFailed[0].Err.Error(), tc.reason) {
				t.Errorf("warn mode: reason %q, want it to say %q", res.FilesFailed[0].Err, tc.reason)
			}
			if res.TotalCount != 1+tc.partial || !slices.Contains(ids(res.Events), uuidN(1)) {
				t.Errorf("warn mode: events %v, want the good file's and %d of the bad one's", ids(res.Events), tc.partial)
			}
		})
	}

	t.Run("empty Records", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, logKey(Location{}, acctA, "us-east-1", at, 1), gzipped(t, []byte(`{"Records":[]}`)))
		if res := mustRun(t, query(openDir(t, dir))); res.FilesScanned != 1 || res.TotalCount != 0 {
			t.Errorf("scanned %d files, %d events", res.FilesScanned, res.TotalCount)
		}
	})
}

// bomb is a gzipped log file: head, then chunk over and over until it
// inflates to more than size bytes. Each is a gzip member of its own, and
// the chunk's member is compressed once and repeated, so a bomb of a
// gigabyte takes a megabyte and no time to make.
func bomb(t testing.TB, head, chunk string, size int64) []byte {
	t.Helper()
	b := gzipped(t, []byte(head))
	member := gzipped(t, []byte(chunk))
	for n := int64(len(head)); n <= size; n += int64(len(chunk)) {
		b = append(b, member...)
	}
	return b
}

// TestGzipBomb: a file that decompresses past the limit, or holds a record
// no CloudTrail file holds, is a file error, found after reading no more
// than the limit.
func TestGzipBomb(t *testing.T) {
	at := day(12).Add(time.Hour)
	good := gzipped(t, []byte(`{"Records":[`+rec{id: uuidN(1), name: "DescribeBackups", region: "us-east-1", account: acctA, at: at}.json()+`]}`))
	for _, tc := range []struct {
		name  string
		limit int64
		data  []byte
		want  error
	}{
		// Whitespace between records, and records of a megabyte, are
		// valid JSON: only the limit stops them.
		{"past a configured limit", 4 << 20, bomb(t, `{"Records":[`, strings.Repeat(" ", 1<<20), 8<<20), errFileTooLarge},
		{"past the default limit", 0, bomb(t, `{"Records":[`, `{"a":"`+strings.Repeat("A", 1<<20)+`"},`, DefaultMaxUncompressedBytes), errFileTooLarge},
		{"one endless record", 0, bomb(t, `{"Records":[{"eventName":"`, strings.Repeat("A", 1<<20), 40<<20), errRecordTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.limit == 0 && errors.Is(tc.want, errFileTooLarge) && testing.Short() {
				t.Skip("inflates a gigabyte twice")
			}
			t.Logf("%d KiB of gzip", len(tc.data)>>10)
			dir := t.TempDir()
			badKey := logKey(Location{}, acctA, "us-east-1", at, 1)
			writeFile(t, dir, badKey, tc.data)
			writeFile(t, dir, logKey(Location{}, acctA, "us-east-1", at, 2), good)
			q := query(openDir(t, dir))
			q.MaxUncompressedBytes = tc.limit
			_, err := Run(context.Background(), q)
			var fe *FileError
			if !errors.As(err, &fe) || fe.Key != badKey || !errors.Is(err, tc.want) {
				t.Fatalf("fail mode: error %v, want a file error of %s for %v", err, badKey, tc.want)
			}
			q.OnFileError = WarnOnFileError
			res := mustRun(t, q)
			limit := tc.limit
			if limit == 0 {
				limit = DefaultMaxUncompressedBytes
			}
			if len(res.FilesFailed) != 1 || !errors.Is(res.FilesFailed[0], tc.want) || res.TotalCount != 1 {
				t.Errorf("warn mode: failed %v, %d events; want the bomb failed and the other file read", res.FilesFailed, res.TotalCount)
			}
			if res.UncompressedBytes > limit+int64(len(`{"Records":[`)+len(good)*20) {
				t.Errorf("read %d bytes uncompressed, past the limit of %d", res.UncompressedBytes, limit)
			}
		})
	}
}

func gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestLargeFileStreams: a file far larger than the memory it may take is
// read record by record.
func TestLargeFileStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 100 MB log file")
	}
	dir := t.TempDir()
	c := corpus{Accounts: []string{acctA}, Regions: []string{"us-east-1"}, First: day(20), Days: 1, FilesPerDay: 1, RecordsPerFile: 80000, Seed: 7}
	facts, err := c.write(dir)
	if err != nil {
		t.Fatal(err)
	}
	if facts.Uncompressed < 100<<20 {
		t.Fatalf("the file has %d bytes, want 100 MB", facts.Uncompressed)
	}
	q := query(openDir(t, dir))
	q.MaxEvents = 10
	q.Filter = events.Filter{EventSource: "ec2.amazonaws.com"}

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak heapPeak
	stop := sampleHeap(&peak)
	res := mustRun(t, q)
	stop()
	grown := float64(peak.inUse-min(peak.inUse, base.HeapInuse)) / (1 << 20)
	t.Logf("read %d MB in %d records (%d EC2 matches); heap grew by %.1f MiB at most", res.UncompressedBytes>>20, res.RecordsScanned, res.TotalCount, grown)
	if res.UncompressedBytes != facts.Uncompressed || res.TotalCount < 1000 {
		t.Errorf("read %d bytes and %d matches", res.UncompressedBytes, res.TotalCount)
	}
	if grown > 24 {
		t.Errorf("reading a %d MB file grew the heap by %.1f MiB", facts.Uncompressed>>20, grown)
	}
}

// heapPeak is the largest heap seen: in use (live objects, garbage not
// yet collected and free space in spans), and live after a collection.
type heapPeak struct{ inUse, live uint64 }

// sampleHeap records the peaks every 5ms until the returned stop is
// called.
func sampleHeap(peak *heapPeak) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		for {
			runtime.ReadMemStats(&ms)
			metrics.Read(live)
			peak.inUse = max(peak.inUse, ms.HeapInuse)
			peak.live = max(peak.live, live[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// endless is a source whose every day folder holds files, each an
// endless stream of records, and which counts the files open.
type endless struct {
	open, opened atomic.Int64
}

func (e *endless) Name() string { return "endless" }

func (e *endless) List(ctx context.Context, prefix, _ string) (Listing, error) {
	var l Listing
	for i := range 4 {
		l.Objects = append(l.Objects, ObjectInfo{Key: fmt.Sprintf("%s%d.json.gz", prefix, i)})
	}
	return l, ctx.Err()
}

func (e *endless) Open(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	e.open.Add(1)
	e.opened.Add(1)
	pr, pw := io.Pipe()
	go func() {
		zw := gzip.NewWriter(pw)
		_, err := io.WriteString(zw, `{"Records":[`)
		for i := 0; err == nil; i++ {
			r := rec{id: fmt.Sprintf("%s-%d", key, i), name: "DescribeServers", region: "us-east-1", account: acctA, at: day(15)}
			_, err = io.WriteString(zw, r.json()+",")
		}
		pw.CloseWithError(err)
	}()
	return &countedBody{ReadCloser: pr, open: &e.open}, ObjectInfo{Key: key}, nil
}

type countedBody struct {
	io.ReadCloser
	open *atomic.Int64
}

func (b *countedBody) Close() error {
	b.open.Add(-1)
	return b.ReadCloser.Close()
}

// TestCancel: cancelling the context stops every worker within a file.
func TestCancel(t *testing.T) {
	src := &endless{}
	q := query(src)
	q.Concurrency = 8
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	_, err := Run(ctx, q)
	stopped := time.Since(start) - 300*time.Millisecond
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want the cancellation", err)
	}
	if stopped > time.Second {
		t.Errorf("Run returned %s after the cancellation", stopped)
	}
	if n := src.open.Load(); n != 0 || src.opened.Load() < 8 {
		t.Errorf("%d of %d files still open after Run returned", n, src.opened.Load())
	}
}

// failing lists as its Source does and fails every Open with its error,
// counting them.
type failing struct {
	Source
	err    error
	opened *atomic.Int64
}

func (f failing) Open(context.Context, string) (io.ReadCloser, ObjectInfo, error) {
	f.opened.Add(1)
	return nil, ObjectInfo{}, f.err
}

// TestFailStopsEarly: in fail mode the first unreadable file stops the
// query without reading the others.
func TestFailStopsEarly(t *testing.T) {
	dir := t.TempDir()
	for i := range 200 {
		at := day(14).Add(time.Duration(i) * time.Minute)
		writeLog(t, dir, logKey(Location{}, acctA, "us-east-1", at, i), rec{id: uuidN(i), name: "DescribeEvents", region: "us-east-1", account: acctA, at: at})
	}
	refused := fmt.Errorf("AccessDenied: Access Denied: %w", fs.ErrPermission)
	var opened atomic.Int64
	q := query(failing{Source: openDir(t, dir), err: refused, opened: &opened})
	q.Concurrency = 4
	_, err := Run(context.Background(), q)
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("error %v, want the refusal", err)
	}
	if n := opened.Load(); n > 20 {
		t.Errorf("%d of 200 files were opened after the first failed", n)
	}
}

// TestProgress: a long read logs its progress at INFO level.
func TestProgress(t *testing.T) {
	var out bytes.Buffer
	ctx := tflogtest.RootLogger(context.Background(), &out)
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	q := query(&endless{})
	q.Concurrency = 2
	q.ProgressInterval = 100 * time.Millisecond
	if _, err := Run(ctx, q); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run returned %v", err)
	}
	lines, err := tflogtest.MultilineJSONDecode(&out)
	if err != nil {
		t.Fatal(err)
	}
	var progress []map[string]any
	for _, l := range lines {
		if l["@message"] == "reading CloudTrail log files" && l["@level"] == "info" {
			progress = append(progress, l)
		}
	}
	if len(progress) < 2 {
		t.Fatalf("%d progress lines in %d log lines", len(progress), len(lines))
	}
	if last := progress[len(progress)-1]; last["uncompressed_bytes"].(float64) <= 0 || last["matches"].(float64) <= 0 {
		t.Errorf("the last progress line shows no work: %v", last)
	}
}

// TestLogFileVerdict: the verdict hook marks each event with its file's.
func TestLogFileVerdict(t *testing.T) {
	dir := t.TempDir()
	at := day(9).Add(time.Hour)
	validKey, invalidKey := logKey(Location{}, acctA, "us-east-1", at, 1), logKey(Location{}, acctA, "us-east-1", at, 2)
	writeLog(t, dir, validKey, rec{id: uuidN(1), name: "TagResource", region: "us-east-1", account: acctA, at: at})
	writeLog(t, dir, invalidKey, rec{id: uuidN(2), name: "TagResource", region: "us-east-1", account: acctA, at: at})
	q := query(openDir(t, dir))
	res := mustRun(t, q)
	if res.Events[0].LogFileValid != nil {
		t.Errorf("unverified events carry a verdict")
	}
	q.LogFileVerdict = func(key string) *bool { return new(key == validKey) }
	res = mustRun(t, q)
	for _, ev := range res.Events {
		if ev.LogFileValid == nil || *ev.LogFileValid != (ev.LogFile == validKey) {
			t.Errorf("event from %s has verdict %v", ev.LogFile, ev.LogFileValid)
		}
	}
}

func TestQueryErrors(t *testing.T) {
	src := openDir(t, t.TempDir())
	for _, tc := range []struct {
		want   string
		change func(q *Query)
	}{
		{"no source", func(q *Query) { q.Source = nil }},
		{"after end time", func(q *Query) { q.Start, q.End = q.End, q.Start }},
		{"no account id", func(q *Query) { q.AccountIDs = nil }},
		{`"12345" is not a valid account id`, func(q *Query) { q.AccountIDs = []string{"12345"} }},
		{"must be the only region", func(q *Query) { q.Regions = []string{"*", "us-east-1"} }},
		{"not a valid region", func(q *Query) { q.Regions = []string{"us-east-1/2024"} }},
		{"max events must not be negative", func(q *Query) { q.MaxEvents = -1 }},
		{"concurrency must not be negative", func(q *Query) { q.Concurrency = -2 }},
		{`on file error must be "fail" or "warn"`, func(q *Query) { q.OnFileError = "ignore" }},
	} {
		q := query(src)
		tc.change(&q)
		if _, err := Run(context.Background(), q); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}

// TestCorpus checks a generated archive against what the generator wrote.
func TestCorpus(t *testing.T) {
	dir := t.TempDir()
	c := corpus{Accounts: []string{acctA, acctB}, Regions: []string{"us-east-1", "eu-west-1"}, First: day(1), Days: 4,
		FilesPerDay: 12, RecordsPerFile: 60, Seed: 3}
	facts, err := c.write(dir)
	if err != nil {
		t.Fatal(err)
	}
	start, end := day(2).Add(5*time.Hour), day(4).Add(-3*time.Hour)
	want := facts.between(start, end)
	q := query(openDir(t, dir))
	q.AccountIDs, q.Regions, q.Start, q.End, q.MaxEvents = []string{Discover}, []string{Discover}, start, end, 20
	res := mustRun(t, q)

	byName, byRegion, byAccount := map[string]int{}, map[string]int{}, map[string]int{}
	for _, r := range want {
		byName[r.Name]++
		byRegion[r.Region]++
		byAccount[r.Account]++
	}
	if res.TotalCount != len(want) || len(want) < 20 {
		t.Fatalf("total %d, want %d", res.TotalCount, len(want))
	}
	if diff := cmp.Diff([]map[string]int{byName, byRegion, byAccount}, []map[string]int{res.CountsByEventName, res.CountsByRegion, res.CountsByAccount}); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	slices.SortFunc(want, func(a, b factRecord) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	for i, ev := range res.Events {
		if ev.EventID != want[i].ID || !ev.EventTime.Equal(want[i].Time) || ev.Region != want[i].Region || ev.AccountID != want[i].Account {
			t.Errorf("event %d: %s %s %s %s, want %+v", i, ev.EventID, ev.EventTime, ev.Region, ev.AccountID, want[i])
		}
	}
}
