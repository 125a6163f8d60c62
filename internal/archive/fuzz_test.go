package archive

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"strings"
	"testing"
	"time"
)

// oneFile is a source with a single log file, in account A's us-east-1
// folder of 2024-03-12.
type oneFile struct {
	key  string
	data []byte
}

func (o *oneFile) Name() string { return "one file" }

func (o *oneFile) List(_ context.Context, prefix, _ string) (Listing, error) {
	if !strings.HasPrefix(o.key, prefix) {
		return Listing{}, nil
	}
	return Listing{Objects: []ObjectInfo{{Key: o.key, Size: int64(len(o.data))}}}, nil
}

func (o *oneFile) Open(_ context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	if key != o.key {
		return nil, ObjectInfo{}, fs.ErrNotExist
	}
	return io.NopCloser(bytes.NewReader(o.data)), ObjectInfo{Key: key, Size: int64(len(o.data))}, nil
}

// FuzzReadLogFile reads one log file of arbitrary bytes: as they are (a
// broken gzip stream), gzipped (a broken JSON document) or gzipped and cut
// short. A file is read or fails as a file error, never the query; no
// more than the limit is inflated; and what is kept matches the query.
func FuzzReadLogFile(f *testing.F) {
	at := day(12).Add(time.Hour)
	r1 := rec{id: uuidN(1), name: "DescribeServers", region: "us-east-1", account: acctA, at: at}
	r2 := rec{id: uuidN(2), name: "DeleteServer", region: "us-east-1", account: acctA, at: at.Add(time.Minute), request: `{"password":"p"}`}
	for _, doc := range []string{
		`{"Records":[` + r1.json() + `,` + r2.json() + `]}`,
		`{"Records":[]}`,
		`{"logFiles":[],"Records":[` + r1.json() + `]} `,
		`{"Records":[{"eventName":"X","eventTime":"2024-03-12T01:00:00Z","eventSource":"opsworks-cm.amazonaws.com"}]}`,
	} {
		for mode := range uint8(3) {
			f.Add([]byte(doc), mode, uint16(len(doc)/2))
		}
	}
	const limit = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte, mode uint8, cut uint16) {
		if mode%3 > 0 {
			data = gzipped(t, data)
			if mode%3 == 2 {
				data = data[:int(cut)%len(data)]
			}
		}
		src := &oneFile{key: logKey(Location{}, acctA, "us-east-1", at, 1), data: data}
		q := query(src)
		q.OnFileError, q.MaxUncompressedBytes, q.Concurrency = WarnOnFileError, limit, 2
		res, err := Run(context.Background(), q)
		if err != nil {
			t.Fatalf("a file failed the query: %v", err)
		}
		if res.FilesScanned+len(res.FilesFailed) != 1 {
			t.Fatalf("%d files read and %d failed, want the one file in either", res.FilesScanned, len(res.FilesFailed))
		}
		if res.UncompressedBytes > limit {
			t.Fatalf("inflated %d bytes, past the limit of %d", res.UncompressedBytes, limit)
		}
		for _, ev := range res.Events {
			if ev.EventTime.Before(q.Start) || ev.EventTime.After(q.End) || !q.Filter.Match(&ev) || ev.LogFile != src.key {
				t.Fatalf("kept an event outside the query: %+v", ev)
			}
		}
	})
}
