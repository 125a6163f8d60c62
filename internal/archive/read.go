package archive

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/klauspost/compress/gzip"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
)

// The libraries are the fastest of those measured on generated CloudTrail
// files: klauspost/compress's gzip decompresses about 1.25 times as fast as
// compress/gzip, and go-json-experiment's jsontext cuts the stream into
// records about 3 times as fast as encoding/json's Decoder (and faster than
// goccy/go-json, json-iterator or bytedance/sonic), handing out each
// record's bytes without copying them. BenchmarkArchive/libraries repeats
// the comparison with the standard library.

// lenient skips checks that cost a sixth of the reading and that CloudTrail
// never needs: repeated names and invalid UTF-8 are accepted, as
// encoding/json accepts them.
var lenient = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// maxRecordBytes bounds one record, which the JSON decoder holds whole:
// CloudTrail truncates a record's large fields at 100 KB (and marks them
// "omitted"), so a record of megabytes is not CloudTrail's, and a worker's
// memory stays bounded whatever a file holds.
const maxRecordBytes = 16 << 20

// errors of a file that decompresses past a limit.
var (
	errFileTooLarge   = errors.New("decompresses to more than the limit on one log file")
	errRecordTooLarge = fmt.Errorf("holds a record larger than %d MiB: not a CloudTrail log file, whose records are a few kilobytes", maxRecordBytes>>20)
)

// boundedReader hands the JSON decoder a file's decompressed bytes up to
// the file's limit, and up to maxRecordBytes past the end of the last
// record read.
type boundedReader struct {
	r         io.Reader
	read      int64
	fileLimit int64
	// recordLimit is where the current record must have ended.
	recordLimit int64
}

func (b *boundedReader) reset(r io.Reader, fileLimit int64) {
	*b = boundedReader{r: r, fileLimit: fileLimit, recordLimit: maxRecordBytes}
}

func (b *boundedReader) Read(p []byte) (int, error) {
	left := min(b.fileLimit, b.recordLimit) - b.read
	switch {
	case left > 0:
	case b.read >= b.fileLimit:
		return 0, fmt.Errorf("%w (%d MiB): a gzip bomb or not a CloudTrail log file", errFileTooLarge, b.fileLimit>>20)
	default:
		return 0, errRecordTooLarge
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := b.r.Read(p)
	b.read += int64(n)
	return n, err
}

// fileReader reads log files one after another for one worker, reusing
// its buffers: a log file is streamed from the source through gzip into a
// JSON decoder, record by record, and never held whole.
type fileReader struct {
	s      *scan
	pre    *events.Prefilter
	br     *bufio.Reader
	zr     gzip.Reader
	dec    *jsontext.Decoder
	body   countingReader
	plain  countingReader
	bound  boundedReader
	key    string
	record int
}

// countingReader counts the bytes read through it into total.
type countingReader struct {
	r     io.Reader
	total *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.total.Add(int64(n))
	return n, err
}

func newFileReader(s *scan) *fileReader {
	r := &fileReader{
		s:   s,
		pre: s.q.Filter.Prefilter(),
		br:  bufio.NewReaderSize(nil, 64<<10),
		dec: new(jsontext.Decoder),
	}
	r.body.total = &s.bytes
	r.plain.total = &s.uncompressed
	return r
}

// read reads one log file, passing its matches to the collector.
func (r *fileReader) read(ctx context.Context, key string) error {
	body, _, err := r.s.q.Source.Open(ctx, key)
	if err != nil {
		return err
	}
	// Closing tells the store the read is over; what it says then changes
	// nothing to what was read.
	defer func() { _ = body.Close() }()
	r.key, r.record = key, 0
	r.body.r = body
	r.br.Reset(&r.body)
	if err := r.zr.Reset(r.br); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty file, not a gzipped log file")
		}
		return fmt.Errorf("not a gzipped log file: %w", err)
	}
	r.plain.r = &r.zr
	r.bound.reset(&r.plain, r.s.q.MaxUncompressedBytes)
	r.dec.Reset(&r.bound, lenient...)
	err = r.document(ctx)
	r.s.records.Add(int64(r.record))
	if err != nil {
		return err
	}
	// The gzip checksum is checked at the end of the stream.
	if _, err := io.Copy(io.Discard, &r.bound); err != nil {
		return fmt.Errorf("gzip stream: %w", err)
	}
	return nil
}

// document reads {"Records":[...]}, passing each record to r.match.
func (r *fileReader) document(ctx context.Context) error {
	if err := r.expect('{'); err != nil {
		return err
	}
	found := false
	for r.dec.PeekKind() == '"' {
		name, err := r.dec.ReadToken()
		if err != nil {
			return jsonError(err)
		}
		if name.String() != "Records" {
			if err := r.dec.SkipValue(); err != nil {
				return jsonError(err)
			}
			continue
		}
		found = true
		if err := r.records(ctx); err != nil {
			return err
		}
	}
	if err := r.expect('}'); err != nil {
		return err
	}
	if !found {
		return errors.New("no Records array: not a CloudTrail log file")
	}
	// Nothing may follow the document.
	if _, err := r.dec.ReadToken(); !errors.Is(err, io.EOF) {
		if err == nil {
			return errors.New("data after the Records document")
		}
		return jsonError(err)
	}
	return nil
}

func (r *fileReader) records(ctx context.Context) error {
	if err := r.expect('['); err != nil {
		return err
	}
	for r.dec.PeekKind() != ']' {
		raw, err := r.dec.ReadValue()
		if err != nil {
			return jsonError(err)
		}
		r.bound.recordLimit = r.dec.InputOffset() + maxRecordBytes
		r.record++
		// A cancelled query stops within a file.
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := r.match(raw); err != nil {
			return fmt.Errorf("record %d: %w", r.record, err)
		}
	}
	return r.expect(']')
}

// match decodes raw if it may match and passes a match to the collector.
func (r *fileReader) match(raw []byte) error {
	if !r.pre.MayMatch(raw) {
		return nil
	}
	ev, err := events.DecodeRecord(raw)
	if err != nil {
		return err
	}
	q := r.s.q
	if ev.EventTime.Before(q.Start) || ev.EventTime.After(q.End) || !q.Filter.Match(&ev) {
		return nil
	}
	ev.LogFile = r.key
	return r.s.collect.add(&ev, raw)
}

// expect reads one delimiter token.
func (r *fileReader) expect(kind jsontext.Kind) error {
	tok, err := r.dec.ReadToken()
	if err != nil {
		return jsonError(err)
	}
	if tok.Kind() != kind {
		return fmt.Errorf("found %s where %s was expected: not a CloudTrail log file", tok.Kind(), kind)
	}
	return nil
}

// jsonError says that a file ended early rather than that it ended, and
// that it went past a limit rather than that its JSON is invalid.
func jsonError(err error) error {
	if errors.Is(err, errFileTooLarge) || errors.Is(err, errRecordTooLarge) {
		return err
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("invalid JSON: %w", err)
}
