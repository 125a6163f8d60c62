package logvalidation

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/archive"
)

// pool runs the reading and hashing of files: at most its size at a time,
// across every region.
type pool struct {
	sem *semaphore.Weighted
	wg  sync.WaitGroup
}

func newPool(size int) *pool { return &pool{sem: semaphore.NewWeighted(int64(size))} }

// Go runs f once a slot is free; it returns false, without running f, when
// ctx ends first.
func (p *pool) Go(ctx context.Context, f func()) bool {
	if p.sem.Acquire(ctx, 1) != nil {
		return false
	}
	p.wg.Go(func() {
		defer p.sem.Release(1)
		f()
	})
	return true
}

func (p *pool) Wait() { p.wg.Wait() }

// Reads that fail in the store (not a missing or denied object: a broken
// connection, a 5xx after the SDK's retries) start again from the
// beginning, up to readAttempts times in all.
const (
	readAttempts = 3
	readBackoff  = 200 * time.Millisecond
)

// read opens key and hands its body and metadata to use. use's verdict on
// the content stands only if the store delivered the whole body: when a
// read fails in the store, read starts over and finally returns the
// store's error. Missing objects satisfy errors.Is(err, fs.ErrNotExist).
func read(ctx context.Context, src archive.Source, key string, use func(io.Reader, archive.ObjectInfo)) error {
	for attempt := 1; ; attempt++ {
		err := readOnce(ctx, src, key, use)
		if err == nil || attempt == readAttempts || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return err
		}
		select {
		case <-time.After(time.Duration(attempt) * readBackoff):
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

func readOnce(ctx context.Context, src archive.Source, key string, use func(io.Reader, archive.ObjectInfo)) error {
	body, info, err := src.Open(ctx, key)
	if err != nil {
		return err
	}
	// Only reads count: whether the store took the close well changes
	// nothing of what was read.
	defer func() { _ = body.Close() }()
	r := &storeReader{r: body}
	use(r, info)
	if r.err != nil {
		return fmt.Errorf("reading %s from %s: %w", key, src.Name(), r.err)
	}
	return nil
}

// storeReader keeps the error the store's body returned, which gzip would
// otherwise pass off as a fault of the content.
type storeReader struct {
	r   io.Reader
	err error
}

func (s *storeReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		s.err = err
	}
	return n, err
}

// inflater is what inflating a file takes, kept for the next file: the
// input buffer, the gzip reader's window and tables, and the copy buffer
// would otherwise be allocated and cleared for every one.
type inflater struct {
	in  *bufio.Reader
	zr  gzip.Reader
	buf []byte
}

var inflaters = sync.Pool{New: func() any {
	return &inflater{in: bufio.NewReaderSize(nil, 32<<10), buf: make([]byte, 32<<10)}
}}

// inflate writes the first gzip member of r to w, as the AWS CLI's zlib
// does: what follows the member is ignored, and complete is false when r
// ends before the member does (after writing what it held). err is a fault
// of the gzip stream, or w's.
func inflate(w io.Writer, r io.Reader) (complete bool, err error) {
	inf := inflaters.Get().(*inflater)
	defer func() {
		inf.in.Reset(nil)
		inflaters.Put(inf)
	}()
	inf.in.Reset(r)
	err = inf.zr.Reset(inf.in)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	inf.zr.Multistream(false)
	if _, err := io.CopyBuffer(onlyWriter{w}, &inf.zr, inf.buf); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// onlyWriter hides a writer's ReadFrom, so that io.CopyBuffer copies
// through Write and the given buffer.
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }

var errTooLarge = fmt.Errorf("larger than %d MiB uncompressed", maxDigestSize>>20)

// limitedBuffer fails once more than max bytes are written to it.
type limitedBuffer struct {
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.buf.Len()+len(p) > b.max {
		return 0, errTooLarge
	}
	return b.buf.Write(p)
}

// readDigest reads a digest: its metadata, and its body inflated (up to
// maxDigestSize), hashed and decoded.
func readDigest(ctx context.Context, src archive.Source, key string) (*digestFile, error) {
	var f *digestFile
	err := read(ctx, src, key, func(r io.Reader, info archive.ObjectInfo) {
		f = &digestFile{key: key, meta: info.Metadata}
		buf := &limitedBuffer{max: maxDigestSize}
		complete, err := inflate(buf, r)
		switch {
		case errors.Is(err, errTooLarge):
			f.badFormat = err.Error()
		case err != nil:
			f.badFormat = "gzip: " + err.Error()
		case !complete:
			f.badFormat = "truncated gzip stream"
		default:
			f.parse(buf.buf.Bytes())
		}
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// hashLog streams a log file through gunzip into SHA-256 and returns the
// hex hash of its uncompressed bytes. A stream cut short is hashed as far
// as it goes, as the AWS CLI does (so it mismatches); badFormat says why
// the file is not gzip.
func hashLog(ctx context.Context, src archive.Source, key string) (sum, badFormat string, err error) {
	err = read(ctx, src, key, func(r io.Reader, _ archive.ObjectInfo) {
		h := sha256.New()
		if _, err := inflate(h, r); err != nil {
			sum, badFormat = "", "gzip: "+err.Error()
			return
		}
		sum, badFormat = hex.EncodeToString(h.Sum(nil)), ""
	})
	return sum, badFormat, err
}
