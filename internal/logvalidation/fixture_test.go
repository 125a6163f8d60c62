package logvalidation

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/archive"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
)

// memSource is an S3 bucket in memory: keys in order, user metadata, and
// the errors a bucket can answer with.
type memSource struct {
	name string

	mu      sync.Mutex
	objects map[string]memObject
	keys    []string // sorted; nil when objects changed since
	// denied keys answer AccessDenied.
	denied map[string]bool
	// breakOnce keys fail mid-body the next time they are read.
	breakOnce map[string]bool
	// latency is added to every Open: an S3 round trip.
	latency time.Duration
	lists   int
}

type memObject struct {
	body []byte
	meta map[string]string
}

func newMemSource(bucket string) *memSource {
	return &memSource{name: bucket, objects: map[string]memObject{}, denied: map[string]bool{}, breakOnce: map[string]bool{}}
}

func (m *memSource) Name() string { return "s3://" + m.name }

func (m *memSource) put(key string, body []byte, meta map[string]string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objects[key] = memObject{body: body, meta: meta}
	m.keys = nil
}

func (m *memSource) get(key string) memObject {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objects[key]
	if !ok {
		panic("no object " + key)
	}
	return o
}

func (m *memSource) remove(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objects[key]; !ok {
		panic("no object " + key)
	}
	delete(m.objects, key)
	m.keys = nil
}

func (m *memSource) List(ctx context.Context, prefix, delimiter string) (archive.Listing, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lists++
	if m.keys == nil {
		m.keys = slices.Sorted(maps.Keys(m.objects))
	}
	var l archive.Listing
	for i := sort.SearchStrings(m.keys, prefix); i < len(m.keys) && strings.HasPrefix(m.keys[i], prefix); i++ {
		key := m.keys[i]
		if j := strings.Index(key[len(prefix):], delimiter); delimiter != "" && j >= 0 {
			p := key[:len(prefix)+j+len(delimiter)]
			if n := len(l.Prefixes); n == 0 || l.Prefixes[n-1] != p {
				l.Prefixes = append(l.Prefixes, p)
			}
			continue
		}
		o := m.objects[key]
		l.Objects = append(l.Objects, archive.ObjectInfo{Key: key, Size: int64(len(o.body)), Metadata: o.meta})
	}
	return l, nil
}

func (m *memSource) Open(ctx context.Context, key string) (io.ReadCloser, archive.ObjectInfo, error) {
	time.Sleep(m.latency)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.denied[key] {
		return nil, archive.ObjectInfo{}, fmt.Errorf("s3://%s/%s: AccessDenied: %w", m.name, key, fs.ErrPermission)
	}
	o, ok := m.objects[key]
	if !ok {
		return nil, archive.ObjectInfo{}, fmt.Errorf("s3://%s/%s: NoSuchKey: %w", m.name, key, fs.ErrNotExist)
	}
	info := archive.ObjectInfo{Key: key, Size: int64(len(o.body)), Metadata: maps.Clone(o.meta)}
	var r io.Reader = bytes.NewReader(o.body)
	if m.breakOnce[key] {
		delete(m.breakOnce, key)
		r = io.MultiReader(bytes.NewReader(o.body[:len(o.body)/2]), errReader{})
	}
	return io.NopCloser(r), info, nil
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, fmt.Errorf("connection reset by peer") }

// memKeys is ListPublicKeys in memory: a region's keys whose validity
// overlaps the range asked.
type memKeys struct {
	mu    sync.Mutex
	keys  map[string][]PublicKey
	calls int
	err   error
}

func (k *memKeys) add(region string, pk PublicKey) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys[region] = append(k.keys[region], pk)
}

func (k *memKeys) PublicKeys(_ context.Context, region string, start, end time.Time) ([]PublicKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls++
	if k.err != nil {
		return nil, k.err
	}
	var out []PublicKey
	for _, pk := range k.keys[region] {
		if !pk.ValidityStart.After(end) && !pk.ValidityEnd.Before(start) {
			out = append(out, pk)
		}
	}
	return out, nil
}

// signer is a CloudTrail signing key pair. Generating 2048-bit keys takes
// a while, so a test binary makes a few and shares them.
type signer struct {
	priv        *rsa.PrivateKey
	der         []byte
	fingerprint string
}

var (
	signersOnce sync.Once
	signers     []*signer
)

func testSigner(tb testing.TB, i int) *signer {
	signersOnce.Do(func() {
		for range 4 {
			priv, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			der := x509.MarshalPKCS1PublicKey(&priv.PublicKey)
			sum := md5.Sum(der)
			signers = append(signers, &signer{priv: priv, der: der, fingerprint: hex.EncodeToString(sum[:])})
		}
	})
	return signers[i]
}

func (s *signer) publicKey(from, to time.Time) PublicKey {
	return PublicKey{Fingerprint: s.fingerprint, Value: s.der, ValidityStart: from, ValidityEnd: to}
}

func (s *signer) sign(tb testing.TB, message string) string {
	sum := sha256.Sum256([]byte(message))
	sig, err := rsa.SignPKCS1v15(nil, s.priv, crypto.SHA256, sum[:])
	if err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(sig)
}

// The digest as CloudTrail writes it, fields in its order.
type digestJSON struct {
	AWSAccountID                string        `json:"awsAccountId"`
	DigestStartTime             string        `json:"digestStartTime"`
	DigestEndTime               string        `json:"digestEndTime"`
	DigestS3Bucket              string        `json:"digestS3Bucket"`
	DigestS3Object              string        `json:"digestS3Object"`
	DigestPublicKeyFingerprint  string        `json:"digestPublicKeyFingerprint"`
	DigestSignatureAlgorithm    string        `json:"digestSignatureAlgorithm"`
	NewestEventTime             *string       `json:"newestEventTime"`
	OldestEventTime             *string       `json:"oldestEventTime"`
	PreviousDigestS3Bucket      *string       `json:"previousDigestS3Bucket"`
	PreviousDigestS3Object      *string       `json:"previousDigestS3Object"`
	PreviousDigestHashValue     *string       `json:"previousDigestHashValue"`
	PreviousDigestHashAlgorithm *string       `json:"previousDigestHashAlgorithm"`
	PreviousDigestSignature     *string       `json:"previousDigestSignature"`
	LogFiles                    []logFileJSON `json:"logFiles"`
}

type logFileJSON struct {
	S3Bucket        string `json:"s3Bucket"`
	S3Object        string `json:"s3Object"`
	HashValue       string `json:"hashValue"`
	HashAlgorithm   string `json:"hashAlgorithm"`
	NewestEventTime string `json:"newestEventTime"`
	OldestEventTime string `json:"oldestEventTime"`
}

// fixture is a trail's bucket with the digests and logs CloudTrail would
// have delivered to it, and the region's public keys.
type fixture struct {
	tb      testing.TB
	src     *memSource
	loc     archive.Location
	account string
	trail   string
	home    string
	keys    *memKeys
	// others are further buckets, by name.
	others map[string]*memSource
	serial int
}

// t0 is when the fixtures' first digests start: digests end at odd
// minutes and seconds, as CloudTrail's do.
var t0 = time.Date(2026, 3, 1, 0, 5, 17, 0, time.UTC)

// testRegions are three of the regions with a default key.
var testRegions = []string{"us-east-1", "eu-west-1", "ap-southeast-2"}

func newFixture(tb testing.TB) *fixture {
	f := &fixture{
		tb: tb, src: newMemSource("audit-logs"), account: "111122223333", trail: "opsaudit", home: "us-east-1",
		keys: &memKeys{keys: map[string][]PublicKey{}}, others: map[string]*memSource{},
	}
	// Every region's default key is valid throughout.
	for _, r := range awsclient.OpsWorksCMRegions {
		f.keys.add(r, testSigner(tb, 0).publicKey(t0.AddDate(-1, 0, 0), t0.AddDate(1, 0, 0)))
	}
	return f
}

// digestRef is a delivered digest.
type digestRef struct {
	region      string
	bucket, key string
	start, end  time.Time
	signature   string
	sum         string
	logs        []string
}

// chainSpec is a run of hourly digests of one region.
type chainSpec struct {
	region string
	// from is the first digest's start.
	from  time.Time
	hours int
	// logs is the number of log files per digest; logsAt, when set,
	// gives it per hour.
	logs   int
	logsAt func(hour int) int
	// signer signs a digest ending at end; nil is test signer 0.
	signer func(end time.Time) *signer
	// after is the digest the chain continues from; nil starts a chain.
	after *digestRef
	// bucket is where the chain is delivered; nil is the trail's bucket.
	bucket *memSource
	// backfillAt, when set, makes backfill digests generated then.
	backfillAt time.Time
	// edit, when set, changes the digest of an hour before it is signed:
	// what CloudTrail itself would have written.
	edit func(hour int, d map[string]any)
}

func (f *fixture) deliver(s chainSpec) []*digestRef {
	f.tb.Helper()
	src := s.bucket
	if src == nil {
		src = f.src
	}
	prev := s.after
	var out []*digestRef
	for h := range s.hours {
		start := s.from.Add(time.Duration(h) * time.Hour)
		end := start.Add(time.Hour)
		n := s.logs
		if s.logsAt != nil {
			n = s.logsAt(h)
		}
		d := &digestJSON{
			AWSAccountID: f.account, DigestStartTime: start.Format(time.RFC3339), DigestEndTime: end.Format(time.RFC3339),
			DigestS3Bucket: src.name, DigestSignatureAlgorithm: "SHA256withRSA", LogFiles: []logFileJSON{},
		}
		ref := &digestRef{region: s.region, bucket: src.name, start: start, end: end}
		for i := range n {
			delivered := start.Add(time.Duration(i+1) * time.Hour / time.Duration(n+1))
			lf := f.putLog(src, s.region, delivered)
			d.LogFiles = append(d.LogFiles, lf)
			ref.logs = append(ref.logs, lf.S3Object)
		}
		if n > 0 {
			d.OldestEventTime, d.NewestEventTime = ptr(start.Format(time.RFC3339)), ptr(end.Add(-time.Minute).Format(time.RFC3339))
		}
		if prev != nil {
			d.PreviousDigestS3Bucket, d.PreviousDigestS3Object = ptr(prev.bucket), ptr(prev.key)
			d.PreviousDigestHashValue, d.PreviousDigestHashAlgorithm = ptr(prev.sum), ptr("SHA-256")
			d.PreviousDigestSignature = ptr(prev.signature)
		}
		sg := testSigner(f.tb, 0)
		if s.signer != nil {
			sg = s.signer(end)
		}
		d.DigestPublicKeyFingerprint = sg.fingerprint
		names := newDigestNames(f.loc, f.account, s.region, f.trail, f.home)
		ref.key = names.key(end)
		meta := map[string]string{}
		if !s.backfillAt.IsZero() {
			ref.key = strings.TrimSuffix(ref.key, digestSuffix) + backfillSuffix
			meta[metaBackfillGenerated] = s.backfillAt.Format(time.RFC3339)
		}
		d.DigestS3Object = ref.key
		raw, err := json.Marshal(d)
		if err != nil {
			f.tb.Fatal(err)
		}
		if s.edit != nil {
			raw = editJSON(f.tb, raw, func(m map[string]any) { s.edit(h, m) })
		}
		sum := sha256.Sum256(raw)
		ref.sum = hex.EncodeToString(sum[:])
		prevSig := "null"
		if prev != nil {
			prevSig = prev.signature
		}
		ref.signature = sg.sign(f.tb, d.DigestEndTime+"\n"+src.name+"/"+ref.key+"\n"+ref.sum+"\n"+prevSig)
		meta[metaSignature], meta[metaSignatureAlgorithm] = ref.signature, "SHA256withRSA"
		src.put(ref.key, gz(raw), meta)
		out = append(out, ref)
		prev = ref
	}
	return out
}

// putLog writes a log file delivered at t and returns its digest entry.
func (f *fixture) putLog(src *memSource, region string, t time.Time) logFileJSON {
	f.serial++
	key := fmt.Sprintf("%s%s_CloudTrail_%s_%s_%016X.json.gz",
		f.loc.DayPrefix(f.account, archive.CloudTrailFolder, region, t), f.account, region, t.Format("20060102T1504Z"), f.serial)
	var recs []map[string]any
	for i := range 3 {
		recs = append(recs, map[string]any{
			"eventVersion": "1.08", "eventID": fmt.Sprintf("%08d-0000-4000-8000-%012d", f.serial, i),
			"eventTime": t.Add(-time.Duration(i) * time.Minute).Format(time.RFC3339), "eventSource": "opsworks-cm.amazonaws.com",
			"eventName": "DescribeServers", "awsRegion": region, "recipientAccountId": f.account,
		})
	}
	raw, err := json.Marshal(map[string]any{"Records": recs})
	if err != nil {
		f.tb.Fatal(err)
	}
	src.put(key, gz(raw), nil)
	sum := sha256.Sum256(raw)
	return logFileJSON{
		S3Bucket: src.name, S3Object: key, HashValue: hex.EncodeToString(sum[:]), HashAlgorithm: "SHA-256",
		NewestEventTime: t.Format(time.RFC3339), OldestEventTime: t.Add(-2 * time.Minute).Format(time.RFC3339),
	}
}

// config validates regions over [start, end] in the fixture's bucket.
func (f *fixture) config(start, end time.Time, regions ...string) Config {
	return Config{
		Source: f.src, Bucket: f.src.name, Location: f.loc, Account: f.account, Trail: f.trail, HomeRegion: f.home,
		Regions: regions, Start: start, End: end, Keys: f.keys,
		OtherBuckets: func(_ context.Context, bucket string) (archive.Source, error) {
			if src, ok := f.others[bucket]; ok {
				return src, nil
			}
			return nil, fmt.Errorf("no bucket %q", bucket)
		},
	}
}

// rewriteDigest changes a digest's JSON and keeps its metadata, as
// someone who cannot sign would.
func (f *fixture) rewriteDigest(key string, change func(d map[string]any)) {
	f.tb.Helper()
	o := f.src.get(key)
	f.src.put(key, gz(editJSON(f.tb, gunzip(f.tb, o.body), change)), o.meta)
}

func editJSON(tb testing.TB, raw []byte, change func(d map[string]any)) []byte {
	var d map[string]any
	if err := json.Unmarshal(raw, &d); err != nil {
		tb.Fatal(err)
	}
	change(d)
	out, err := json.Marshal(d)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func gz(raw []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(raw); err != nil {
		panic(err)
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func gunzip(tb testing.TB, b []byte) []byte {
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

func ptr[T any](v T) *T { return &v }
