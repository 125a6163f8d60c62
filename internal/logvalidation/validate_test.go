package logvalidation

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/archive"
)

func validate(t *testing.T, cfg Config) (*Result, LogVerdicts) {
	t.Helper()
	logs := LogVerdicts{}
	cfg.OnFile = logs.Record
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res, logs
}

// problem is a Problem without its message, to compare.
type problem struct {
	Kind   Kind
	Region string
	Key    string
	Reason Reason
}

func problemsOf(res *Result) []problem {
	out := []problem{}
	for _, p := range res.Problems {
		out = append(out, problem{p.Kind, p.Region, p.Key, p.Reason})
	}
	return out
}

func wantResult(t *testing.T, res *Result, status Status, counts Counts, problems []problem) {
	t.Helper()
	if res.Status != status {
		t.Errorf("status %s, want %s (regions %+v)", res.Status, status, res.Regions)
	}
	if diff := cmp.Diff(counts, res.Counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if problems == nil {
		problems = []problem{}
	}
	if diff := cmp.Diff(problems, problemsOf(res)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if res.ProblemsTotal != len(res.Problems) {
		t.Errorf("%d problems in all, %d listed", res.ProblemsTotal, len(res.Problems))
	}
}

// wantUnknown checks that the result is unknown because the i-th region
// could not be validated, for the reason given.
func wantUnknown(t *testing.T, res *Result, i int, reason string) {
	t.Helper()
	if res.Status != StatusUnknown || !strings.Contains(res.Regions[i].Error, reason) {
		t.Errorf("status %s, region %+v; want unknown because of %q", res.Status, res.Regions[i], reason)
	}
}

// wantLogs checks the verdict on every log of digests: valid unless in
// invalid, absent for the digests in unchecked.
func wantLogs(t *testing.T, got LogVerdicts, digests []*digestRef, invalid map[string]bool, unchecked ...*digestRef) {
	t.Helper()
	skip := map[*digestRef]bool{}
	for _, d := range unchecked {
		skip[d] = true
	}
	for _, d := range digests {
		for _, key := range d.logs {
			valid, ok := got[key]
			switch {
			case skip[d] && ok:
				t.Errorf("log %s of an unchecked digest has a verdict", key)
			case skip[d]:
			case !ok:
				t.Errorf("log %s has no verdict", key)
			case valid == invalid[key]:
				t.Errorf("log %s: valid = %v", key, valid)
			}
		}
	}
}

const region = "us-east-1"

// day is a fixture of one region: 24 hourly digests with 3 logs each, and
// the window that covers them all.
func day(t *testing.T) (*fixture, []*digestRef, Config) {
	f := newFixture(t)
	chain := f.deliver(chainSpec{region: region, from: t0, hours: 24, logs: 3})
	return f, chain, f.config(t0, t0.Add(24*time.Hour), region)
}

func TestCleanChainPasses(t *testing.T) {
	f, chain, cfg := day(t)
	res, logs := validate(t, cfg)
	wantResult(t, res, StatusPass, Counts{DigestsValid: 24, LogsValid: 72}, nil)
	wantLogs(t, logs, chain, nil)
	if len(res.Gaps) != 0 {
		t.Errorf("gaps %+v", res.Gaps)
	}
	want := &Covered{Start: t0, End: t0.Add(24 * time.Hour)}
	if diff := cmp.Diff(want, res.Covered); diff != "" {
		t.Errorf("covered (-want +got):\n%s", diff)
	}
	if got := res.Regions[0]; got.Region != region || got.Error != "" || got.DigestsValid != 24 {
		t.Errorf("region result %+v", got)
	}
	// One ListPublicKeys for the region's whole chain.
	if f.keys.calls != 1 {
		t.Errorf("%d public key lookups, want 1", f.keys.calls)
	}
}

func TestLogChanged(t *testing.T) {
	f, chain, cfg := day(t)
	changed := chain[10].logs[1]
	f.src.put(changed, gz([]byte(`{"Records":[]}`)), nil)
	res, logs := validate(t, cfg)
	wantResult(t, res, StatusFail, Counts{DigestsValid: 24, LogsValid: 71, LogsInvalid: 1},
		[]problem{{KindLog, region, changed, ReasonHashMismatch}})
	wantLogs(t, logs, chain, map[string]bool{changed: true})
	if msg := res.Problems[0].Message; msg != "Log file s3://audit-logs/"+changed+" INVALID: hash value doesn't match" {
		t.Errorf("message %q", msg)
	}
}

func TestLogDeleted(t *testing.T) {
	f, chain, cfg := day(t)
	gone := chain[3].logs[0]
	f.src.remove(gone)
	res, logs := validate(t, cfg)
	wantResult(t, res, StatusFail, Counts{DigestsValid: 24, LogsValid: 71, LogsInvalid: 1},
		[]problem{{KindLog, region, gone, ReasonNotFound}})
	wantLogs(t, logs, chain, map[string]bool{gone: true})
}

// The AWS CLI inflates logs with zlib: bytes after the gzip member do not
// count, a stream cut short is hashed as far as it goes, and what is not
// gzip is an invalid format.
func TestLogGzipLikeTheCLI(t *testing.T) {
	f, chain, cfg := day(t)
	trailing, cut, notGzip := chain[1].logs[0], chain[2].logs[0], chain[3].logs[0]
	f.src.put(trailing, append(f.src.get(trailing).body, "trailing bytes"...), nil)
	body := f.src.get(cut).body
	f.src.put(cut, body[:len(body)-20], nil)
	f.src.put(notGzip, []byte(`{"Records":[]}`), nil)
	res, logs := validate(t, cfg)
	wantResult(t, res, StatusFail, Counts{DigestsValid: 24, LogsValid: 70, LogsInvalid: 2},
		[]problem{{KindLog, region, notGzip, ReasonInvalidFormat}, {KindLog, region, cut, ReasonHashMismatch}})
	wantLogs(t, logs, chain, map[string]bool{cut: true, notGzip: true})
}

func TestDigestChanged(t *testing.T) {
	f, chain, cfg := day(t)
	f.rewriteDigest(chain[5].key, func(d map[string]any) {
		d["logFiles"] = d["logFiles"].([]any)[:2]
	})
	res, logs := validate(t, cfg)
	// The walk leaves an invalid digest for the newest listed one before
	// it; the logs it lists are not checked.
	wantResult(t, res, StatusFail, Counts{DigestsValid: 23, DigestsInvalid: 1, LogsValid: 69},
		[]problem{{KindDigest, region, chain[5].key, ReasonSignatureInvalid}})
	wantLogs(t, logs, chain, nil, chain[5])
	if len(res.Gaps) != 0 {
		t.Errorf("gaps %+v", res.Gaps)
	}
}

func TestDigestDeleted(t *testing.T) {
	f, chain, cfg := day(t)
	f.src.remove(chain[7].key)
	res, logs := validate(t, cfg)
	wantResult(t, res, StatusFail, Counts{DigestsValid: 23, DigestsInvalid: 1, LogsValid: 69},
		[]problem{{KindDigest, region, chain[7].key, ReasonNotFound}})
	wantLogs(t, logs, chain, nil, chain[7])
	if want := "Digest file s3://audit-logs/" + chain[7].key + " INVALID: not found"; res.Problems[0].Message != want {
		t.Errorf("message %q, want %q", res.Problems[0].Message, want)
	}
}

func TestDigestMoved(t *testing.T) {
	t.Run("copied to a newer key", func(t *testing.T) {
		f, chain, cfg := day(t)
		last := chain[23]
		o := f.src.get(last.key)
		copied := newDigestNames(f.loc, f.account, region, f.trail, f.home).key(last.end.Add(30 * time.Minute))
		f.src.put(copied, o.body, o.meta)
		res, logs := validate(t, cfg)
		wantResult(t, res, StatusFail, Counts{DigestsValid: 24, DigestsInvalid: 1, LogsValid: 72},
			[]problem{{KindDigest, region, copied, ReasonMoved}})
		wantLogs(t, logs, chain, nil)
	})
	t.Run("copied over the next one", func(t *testing.T) {
		f, chain, cfg := day(t)
		o := f.src.get(chain[9].key)
		f.src.put(chain[10].key, o.body, o.meta)
		res, logs := validate(t, cfg)
		wantResult(t, res, StatusFail, Counts{DigestsValid: 23, DigestsInvalid: 1, LogsValid: 69},
			[]problem{{KindDigest, region, chain[10].key, ReasonMoved}})
		wantLogs(t, logs, chain, nil, chain[10])
	})
	t.Run("another bucket's", func(t *testing.T) {
		f, chain, cfg := day(t)
		f.rewriteDigest(chain[4].key, func(d map[string]any) { d["digestS3Bucket"] = "elsewhere" })
		res, _ := validate(t, cfg)
		wantResult(t, res, StatusFail, Counts{DigestsValid: 23, DigestsInvalid: 1, LogsValid: 69},
			[]problem{{KindDigest, region, chain[4].key, ReasonMoved}})
	})
}

func TestSignatureMetadataRemoved(t *testing.T) {
	for _, name := range []string{metaSignature, metaSignatureAlgorithm} {
		t.Run(name, func(t *testing.T) {
			f, chain, cfg := day(t)
			o := f.src.get(chain[12].key)
			delete(o.meta, name)
			f.src.put(chain[12].key, o.body, o.meta)
			res, _ := validate(t, cfg)
			wantResult(t, res, StatusFail, Counts{DigestsValid: 23, DigestsInvalid: 1, LogsValid: 69},
				[]problem{{KindDigest, region, chain[12].key, ReasonSignatureInvalid}})
		})
	}
}

func TestSignedByAnotherKey(t *testing.T) {
	f := newFixture(t)
	// Signed with a key the region's key list does not have.
	chain := f.deliver(chainSpec{region: region, from: t0, hours: 6, logs: 1, signer: func(end time.Time) *signer {
		if end.After(t0.Add(4 * time.Hour)) {
			return testSigner(t, 3)
		}
		return testSigner(t, 0)
	}})
	res, logs := validate(t, f.config(t0, t0.Add(6*time.Hour), region))
	wantResult(t, res, StatusFail, Counts{DigestsValid: 4, DigestsInvalid: 2, LogsValid: 4}, []problem{
		{KindDigest, region, chain[5].key, ReasonPublicKeyNotFound},
		{KindDigest, region, chain[4].key, ReasonPublicKeyNotFound},
	})
	wantLogs(t, logs, chain, nil, chain[4], chain[5])

	// The same key, known but with another key's fingerprint, does not
	// verify.
	f.keys.add(region, PublicKey{Fingerprint: testSigner(t, 3).fingerprint, Value: testSigner(t, 2).der,
		ValidityStart: t0, ValidityEnd: t0.AddDate(0, 1, 0)})
	res, _ = validate(t, f.config(t0, t0.Add(6*time.Hour), region))
	wantResult(t, res, StatusFail, Counts{DigestsValid: 4, DigestsInvalid: 2, LogsValid: 4}, []problem{
		{KindDigest, region, chain[5].key, ReasonSignatureInvalid},
		{KindDigest, region, chain[4].key, ReasonSignatureInvalid},
	})
}

func TestInvalidFormat(t *testing.T) {
	for name, damage := range map[string]func(f *fixture, key string){
		"not gzip": func(f *fixture, key string) {
			o := f.src.get(key)
			f.src.put(key, gunzip(t, o.body), o.meta)
		},
		"truncated gzip": func(f *fixture, key string) {
			o := f.src.get(key)
			f.src.put(key, o.body[:len(o.body)-4], o.meta)
		},
		"not JSON": func(f *fixture, key string) {
			o := f.src.get(key)
			f.src.put(key, gz([]byte("{not json")), o.meta)
		},
		"not an object": func(f *fixture, key string) {
			o := f.src.get(key)
			f.src.put(key, gz([]byte(`["digestS3Object"]`)), o.meta)
		},
		"a required field missing": func(f *fixture, key string) {
			f.rewriteDigest(key, func(d map[string]any) { delete(d, "previousDigestSignature") })
		},
	} {
		t.Run(name, func(t *testing.T) {
			f, chain, cfg := day(t)
			damage(f, chain[20].key)
			res, logs := validate(t, cfg)
			wantResult(t, res, StatusFail, Counts{DigestsValid: 23, DigestsInvalid: 1, LogsValid: 69},
				[]problem{{KindDigest, region, chain[20].key, ReasonInvalidFormat}})
			wantLogs(t, logs, chain, nil, chain[20])
		})
	}
}

// A digest is held whole to be hashed and decoded: past maxDigestSize it
// is refused, not read on.
func TestDigestTooLarge(t *testing.T) {
	f, chain, cfg := day(t)
	var b bytes.Buffer
	w, err := gzip.NewWriterLevel(&b, gzip.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("x"), 1<<20)
	_, _ = w.Write([]byte(`{"logFiles":"`))
	for range maxDigestSize >> 20 {
		_, _ = w.Write(chunk)
	}
	_, _ = w.Write([]byte(`"}`))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.src.put(chain[15].key, b.Bytes(), f.src.get(chain[15].key).meta)
	res, _ := validate(t, cfg)
	wantResult(t, res, StatusFail, Counts{DigestsValid: 23, DigestsInvalid: 1, LogsValid: 69},
		[]problem{{KindDigest, region, chain[15].key, ReasonInvalidFormat}})
	if !strings.Contains(res.Problems[0].Message, "larger than 64 MiB") {
		t.Errorf("message %q", res.Problems[0].Message)
	}
}

// Turning log file validation off and on starts a new chain: the time
// between is a gap, not a failure.
func TestValidationOffAndOn(t *testing.T) {
	f := newFixture(t)
	before := f.deliver(chainSpec{region: region, from: t0, hours: 8, logs: 2})
	after := f.deliver(chainSpec{region: region, from: t0.Add(13 * time.Hour), hours: 8, logs: 2})
	res, logs := validate(t, f.config(t0, t0.Add(21*time.Hour), region))
	wantResult(t, res, StatusPass, Counts{DigestsValid: 16, LogsValid: 32}, nil)
	wantLogs(t, logs, append(before, after...), nil)
	want := []Gap{{Region: region, Start: before[7].end, End: after[0].start}}
	if diff := cmp.Diff(want, res.Gaps); diff != "" {
		t.Errorf("gaps (-want +got):\n%s", diff)
	}
	if want := "No log files were delivered by CloudTrail between 2026-03-01T08:05:17Z and 2026-03-01T13:05:17Z"; res.Gaps[0].Message() != want {
		t.Errorf("gap message %q", res.Gaps[0].Message())
	}

	// A window that starts after the first chain's last digest (by less
	// than the minute the listing reads back) sees no gap.
	res, _ = validate(t, f.config(before[7].end.Add(30*time.Second), t0.Add(21*time.Hour), region))
	wantResult(t, res, StatusPass, Counts{DigestsValid: 8, LogsValid: 16}, nil)
	if len(res.Gaps) != 0 {
		t.Errorf("gaps %+v", res.Gaps)
	}
}

// Keys rotate: their validity windows overlap, each digest names the key
// that signed it.
func TestKeyRotation(t *testing.T) {
	f := newFixture(t)
	f.keys.keys[region] = nil
	rotation := t0.Add(10 * time.Hour)
	f.keys.add(region, testSigner(t, 1).publicKey(t0.AddDate(0, 0, -30), rotation.Add(time.Hour)))
	f.keys.add(region, testSigner(t, 2).publicKey(rotation, t0.AddDate(0, 0, 30)))
	chain := f.deliver(chainSpec{region: region, from: t0, hours: 20, logs: 1, signer: func(end time.Time) *signer {
		if end.Before(rotation) {
			return testSigner(t, 1)
		}
		return testSigner(t, 2)
	}})
	res, logs := validate(t, f.config(t0, t0.Add(20*time.Hour), region))
	wantResult(t, res, StatusPass, Counts{DigestsValid: 20, LogsValid: 20}, nil)
	wantLogs(t, logs, chain, nil)

	// A window past the first key's validity gets only the second key,
	// which signed every digest it reaches.
	res, _ = validate(t, f.config(rotation.Add(2*time.Hour), t0.Add(20*time.Hour), region))
	wantResult(t, res, StatusPass, Counts{DigestsValid: 9, LogsValid: 9}, nil)
}

func TestEmptyHourlyDigests(t *testing.T) {
	f := newFixture(t)
	chain := f.deliver(chainSpec{region: region, from: t0, hours: 12, logsAt: func(h int) int { return h % 3 }})
	var d map[string]any
	if err := json.Unmarshal(gunzip(t, f.src.get(chain[0].key).body), &d); err != nil {
		t.Fatal(err)
	}
	if d["logFiles"] == nil || len(d["logFiles"].([]any)) != 0 || d["newestEventTime"] != nil {
		t.Fatalf("the fixture's empty digest is %v", d)
	}
	res, logs := validate(t, f.config(t0, t0.Add(12*time.Hour), region))
	wantResult(t, res, StatusPass, Counts{DigestsValid: 12, LogsValid: 12}, nil)
	wantLogs(t, logs, chain, nil)
}

func TestRegionsAtOnce(t *testing.T) {
	f := newFixture(t)
	chains := map[string][]*digestRef{}
	for _, r := range testRegions {
		chains[r] = f.deliver(chainSpec{region: r, from: t0, hours: 24, logs: 2})
	}
	changed := chains["eu-west-1"][6].logs[1]
	f.src.put(changed, gz([]byte("{}")), nil)
	f.src.remove(chains["ap-southeast-2"][20].key)
	res, logs := validate(t, f.config(t0, t0.Add(24*time.Hour), testRegions...))
	wantResult(t, res, StatusFail, Counts{DigestsValid: 71, DigestsInvalid: 1, LogsValid: 141, LogsInvalid: 1}, []problem{
		{KindLog, "eu-west-1", changed, ReasonHashMismatch},
		{KindDigest, "ap-southeast-2", chains["ap-southeast-2"][20].key, ReasonNotFound},
	})
	for _, r := range testRegions {
		unchecked := []*digestRef{}
		if r == "ap-southeast-2" {
			unchecked = append(unchecked, chains[r][20])
		}
		wantLogs(t, logs, chains[r], map[string]bool{changed: true}, unchecked...)
	}
	want := map[string]Counts{
		"us-east-1":      {DigestsValid: 24, LogsValid: 48},
		"eu-west-1":      {DigestsValid: 24, LogsValid: 47, LogsInvalid: 1},
		"ap-southeast-2": {DigestsValid: 23, DigestsInvalid: 1, LogsValid: 46},
	}
	for i, rr := range res.Regions {
		if rr.Region != testRegions[i] {
			t.Errorf("region %d is %s", i, rr.Region)
		}
		if diff := cmp.Diff(want[rr.Region], rr.Counts); diff != "" {
			t.Errorf("%s counts (-want +got):\n%s", rr.Region, diff)
		}
	}
}

// The window selects digests as validate-logs does: key times from the
// start to an hour past the end, then back through the chain to the digest
// that covers the start.
func TestWindowEdges(t *testing.T) {
	f := newFixture(t)
	chain := f.deliver(chainSpec{region: region, from: t0, hours: 24, logs: 1})
	for _, tc := range []struct {
		name       string
		start, end time.Time
		// first and last are the chain's digests walked.
		first, last int
	}{
		{"inside", t0.Add(10*time.Hour + 30*time.Minute), t0.Add(15*time.Hour + 30*time.Minute), 10, 15},
		{"start on a digest's start", chain[10].start, chain[15].start, 9, 15},
		{"end an hour before a digest's end", t0.Add(10 * time.Hour), chain[15].end.Add(-time.Hour), 9, 15},
		{"a second earlier", t0.Add(10 * time.Hour), chain[15].end.Add(-time.Hour - time.Second), 9, 14},
		{"before the first digest", t0.Add(-48 * time.Hour), t0.Add(3 * time.Hour), 0, 3},
		{"past the last digest", t0.Add(22 * time.Hour), t0.Add(48 * time.Hour), 21, 23},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, logs := validate(t, f.config(tc.start, tc.end, region))
			n := tc.last - tc.first + 1
			wantResult(t, res, StatusPass, Counts{DigestsValid: n, LogsValid: n}, nil)
			for i, d := range chain {
				_, checked := logs[d.logs[0]]
				if checked != (i >= tc.first && i <= tc.last) {
					t.Errorf("digest %d walked: %v", i, checked)
				}
			}
			want := &Covered{Start: maxTime(chain[tc.first].start, tc.start), End: minTime(chain[tc.last].end, tc.end)}
			if diff := cmp.Diff(want, res.Covered); diff != "" {
				t.Errorf("covered (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOrganizationTrail(t *testing.T) {
	f := newFixture(t)
	f.loc = archive.Location{Prefix: "org", OrganizationID: "o-a1b2c3d4e5"}
	f.account = "444455556666"
	member := f.deliver(chainSpec{region: region, from: t0, hours: 6, logs: 2})
	// Another member's files sit next to it, invalid: they are not this
	// account's.
	f.account = "777788889999"
	other := f.deliver(chainSpec{region: region, from: t0, hours: 6, logs: 2})
	f.src.remove(other[2].logs[0])
	f.account = "444455556666"

	if !strings.HasPrefix(member[0].key, "org/AWSLogs/o-a1b2c3d4e5/444455556666/CloudTrail-Digest/us-east-1/2026/03/01/444455556666_CloudTrail-Digest_us-east-1_opsaudit_us-east-1_") {
		t.Fatalf("digest key %s", member[0].key)
	}
	res, logs := validate(t, f.config(t0, t0.Add(6*time.Hour), region))
	wantResult(t, res, StatusPass, Counts{DigestsValid: 6, LogsValid: 12}, nil)
	wantLogs(t, logs, member, nil)
}

// Backfill digests (CloudTrail's late additions) form a chain of their
// own. A backfill digest's key is looked up around the time it was
// generated, unless an earlier lookup of the walk found it.
func TestBackfillDigests(t *testing.T) {
	f := newFixture(t)
	chain := f.deliver(chainSpec{region: region, from: t0, hours: 6, logs: 1})
	generated := t0.AddDate(0, 1, 0)
	f.keys.add(region, testSigner(t, 1).publicKey(generated.Add(-time.Hour), generated.Add(time.Hour)))
	signedBy1 := func(time.Time) *signer { return testSigner(t, 1) }
	// Walked first (the newer one): its key is found around its generation.
	newer := f.deliver(chainSpec{region: region, from: t0.Add(3 * time.Hour), hours: 1, logs: 2, backfillAt: generated, signer: signedBy1})
	// Generated when the region has no key at all: its key is the one
	// found for the newer digest.
	older := f.deliver(chainSpec{region: region, from: t0.Add(time.Hour), hours: 1, logs: 2, backfillAt: t0.AddDate(2, 0, 0), signer: signedBy1})
	res, logs := validate(t, f.config(t0, t0.Add(6*time.Hour), region))
	wantResult(t, res, StatusPass, Counts{DigestsValid: 8, BackfillDigestsValid: 2, LogsValid: 10}, nil)
	wantLogs(t, logs, append(append(chain, newer...), older...), nil)
	want := []Gap{{Region: region, Start: older[0].end, End: newer[0].start, Backfill: true}}
	if diff := cmp.Diff(want, res.Gaps); diff != "" {
		t.Errorf("gaps (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(res.Gaps[0].Message(), "(backfill) No log files") {
		t.Errorf("gap message %q", res.Gaps[0].Message())
	}
	// The regular chain's lookup and the newer backfill digest's.
	if f.keys.calls != 2 {
		t.Errorf("%d public key lookups, want 2", f.keys.calls)
	}

	o := f.src.get(newer[0].key)
	delete(o.meta, metaBackfillGenerated)
	f.src.put(newer[0].key, o.body, o.meta)
	res, _ = validate(t, f.config(t0, t0.Add(6*time.Hour), region))
	wantResult(t, res, StatusFail, Counts{DigestsValid: 6, DigestsInvalid: 2, BackfillDigestsInvalid: 2, LogsValid: 6}, []problem{
		{KindDigest, region, newer[0].key, ReasonInvalidFormat},
		{KindDigest, region, older[0].key, ReasonPublicKeyNotFound},
	})
	if !strings.HasPrefix(res.Problems[0].Message, "(backfill) Digest file") || !res.Problems[0].Backfill {
		t.Errorf("problem %+v", res.Problems[0])
	}
}

// A chain that goes on in the trail's previous bucket is followed there.
func TestChainAcrossBuckets(t *testing.T) {
	f := newFixture(t)
	old := newMemSource("old-audit-logs")
	f.others[old.name] = old
	before := f.deliver(chainSpec{region: region, from: t0, hours: 5, logs: 1, bucket: old})
	after := f.deliver(chainSpec{region: region, from: t0.Add(5 * time.Hour), hours: 5, logs: 1, after: before[4]})
	cfg := f.config(t0, t0.Add(10*time.Hour), region)
	res, logs := validate(t, cfg)
	wantResult(t, res, StatusPass, Counts{DigestsValid: 10, LogsValid: 10}, nil)
	wantLogs(t, logs, append(before, after...), nil)

	cfg.OtherBuckets = nil
	res, _ = validate(t, cfg)
	wantUnknown(t, res, 0, `bucket "old-audit-logs"`)
}

func TestCannotValidate(t *testing.T) {
	t.Run("access denied", func(t *testing.T) {
		f := newFixture(t)
		us := f.deliver(chainSpec{region: region, from: t0, hours: 6, logs: 2})
		f.deliver(chainSpec{region: "eu-west-1", from: t0, hours: 6, logs: 2})
		f.src.denied[us[3].logs[1]] = true
		res, _ := validate(t, f.config(t0, t0.Add(6*time.Hour), region, "eu-west-1"))
		wantUnknown(t, res, 0, "AccessDenied")
		if rr := res.Regions[1]; rr.Error != "" || rr.DigestsValid != 6 || rr.LogsValid != 12 {
			t.Errorf("the other region: %+v", rr)
		}
	})
	t.Run("no public key", func(t *testing.T) {
		f := newFixture(t)
		f.deliver(chainSpec{region: region, from: t0, hours: 2})
		f.keys.keys[region] = nil
		res, _ := validate(t, f.config(t0, t0.Add(2*time.Hour), region))
		wantUnknown(t, res, 0, "no public keys found")
	})
	t.Run("public key lookup fails", func(t *testing.T) {
		f := newFixture(t)
		f.deliver(chainSpec{region: region, from: t0, hours: 2})
		f.keys.err = errors.New("AccessDeniedException: not authorized to perform cloudtrail:ListPublicKeys")
		res, _ := validate(t, f.config(t0, t0.Add(2*time.Hour), region))
		wantUnknown(t, res, 0, "cloudtrail:ListPublicKeys")
	})
	t.Run("backfill key lookup fails", func(t *testing.T) {
		f := newFixture(t)
		f.deliver(chainSpec{region: region, from: t0, hours: 1, backfillAt: t0.AddDate(0, 0, 3)})
		f.keys.err = errors.New("ThrottlingException: Rate exceeded")
		res, _ := validate(t, f.config(t0, t0.Add(2*time.Hour), region))
		wantUnknown(t, res, 0, "Rate exceeded")
	})
	t.Run("no digest where one is required", func(t *testing.T) {
		f := newFixture(t)
		f.deliver(chainSpec{region: region, from: t0, hours: 2})
		cfg := f.config(t0.Add(5*time.Hour), t0.Add(9*time.Hour), region)
		res, _ := validate(t, cfg)
		wantResult(t, res, StatusPass, Counts{}, nil)
		cfg.RequireDigests = true
		res, _ = validate(t, cfg)
		wantUnknown(t, res, 0, "no digest file")
	})
	t.Run("an invalid file outweighs", func(t *testing.T) {
		f := newFixture(t)
		us := f.deliver(chainSpec{region: region, from: t0, hours: 3, logs: 1})
		f.deliver(chainSpec{region: "eu-west-1", from: t0, hours: 3, logs: 1})
		f.src.remove(us[1].logs[0])
		cfg := f.config(t0, t0.Add(3*time.Hour), region, "eu-west-1", "ap-southeast-2")
		cfg.RequireDigests = true
		res, _ := validate(t, cfg)
		if res.Status != StatusFail || res.Regions[2].Error == "" {
			t.Errorf("status %s, regions %+v", res.Status, res.Regions)
		}
	})
}

// A read the store breaks off is read again, not taken for a changed file.
func TestStoreErrorsAreRetried(t *testing.T) {
	f, chain, cfg := day(t)
	f.src.breakOnce[chain[8].key] = true
	f.src.breakOnce[chain[8].logs[2]] = true
	res, _ := validate(t, cfg)
	wantResult(t, res, StatusPass, Counts{DigestsValid: 24, LogsValid: 72}, nil)
}

func TestMaxProblems(t *testing.T) {
	f, chain, cfg := day(t)
	var changed []string
	for _, i := range []int{2, 5, 9, 14, 20} {
		changed = append(changed, chain[i].logs[0])
		f.src.put(chain[i].logs[0], gz([]byte("{}")), nil)
	}
	cfg.MaxProblems = 2
	cfg.Concurrency = 3
	res, _ := validate(t, cfg)
	// The newest first, as the walk meets them, whichever hash finished
	// first.
	want := []problem{{KindLog, region, changed[4], ReasonHashMismatch}, {KindLog, region, changed[3], ReasonHashMismatch}}
	if diff := cmp.Diff(want, problemsOf(res)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if res.ProblemsTotal != 5 || res.LogsInvalid != 5 {
		t.Errorf("%d problems, %d invalid logs", res.ProblemsTotal, res.LogsInvalid)
	}
}

func TestConfigErrors(t *testing.T) {
	f := newFixture(t)
	for name, tc := range map[string]struct {
		change func(*Config)
		want   string
	}{
		"no bucket":      {func(c *Config) { c.Bucket = "" }, "missing its bucket"},
		"no regions":     {func(c *Config) { c.Regions = nil }, "missing its regions"},
		"an ARN":         {func(c *Config) { c.Trail = "arn:aws:cloudtrail:us-east-1:111122223333:trail/opsaudit" }, "not its ARN"},
		"reversed times": {func(c *Config) { c.Start, c.End = c.End, c.Start }, "is after end time"},
		"region twice":   {func(c *Config) { c.Regions = []string{region, region} }, "given twice"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := f.config(t0, t0.Add(time.Hour), region)
			tc.change(&cfg)
			if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestReportJSON(t *testing.T) {
	f, chain, cfg := day(t)
	f.src.remove(chain[1].logs[0])
	res, _ := validate(t, cfg)
	raw, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Status   string `json:"status"`
		Problems []struct {
			Kind, Region, Reason string
			Key                  string `json:"s3_key"`
		} `json:"problems"`
		LogsInvalid int `json:"logs_invalid"`
	}
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back.Status != "fail" || back.LogsInvalid != 1 || len(back.Problems) != 1 || back.Problems[0].Key != chain[1].logs[0] ||
		back.Problems[0].Reason != "not_found" || back.Problems[0].Kind != "log" {
		t.Errorf("report %s", raw)
	}
}

// The listing reads the year, month and day folders from the window's
// start, and stops at the first digest past it.
func TestListingReadsTheWindowsFolders(t *testing.T) {
	f := newFixture(t)
	f.deliver(chainSpec{region: region, from: t0, hours: 10 * 24})
	start := t0.AddDate(0, 0, 5).Add(10 * time.Hour)
	res, _ := validate(t, f.config(start, start.Add(24*time.Hour), region))
	wantResult(t, res, StatusPass, Counts{DigestsValid: 26}, nil)
	// The region's folder, 2026/, 2026/03/, then 03/06/ and 03/07/.
	if f.src.lists != 5 {
		t.Errorf("%d listings, want 5", f.src.lists)
	}
}

// What CloudTrail signed is checked as the AWS CLI checks it, odd or not.
func TestSignedOddities(t *testing.T) {
	for _, tc := range []struct {
		name     string
		edit     func(d map[string]any)
		counts   Counts
		problems func(d *digestRef) []problem
	}{
		{
			name:   "a log entry without hashValue",
			edit:   func(d map[string]any) { delete(d["logFiles"].([]any)[0].(map[string]any), "hashValue") },
			counts: Counts{DigestsValid: 3, LogsValid: 5, LogsInvalid: 1},
			problems: func(d *digestRef) []problem {
				return []problem{{KindLog, region, d.logs[0], ReasonInvalidFormat}}
			},
		},
		{
			name:   "a log entry without s3Object",
			edit:   func(d map[string]any) { delete(d["logFiles"].([]any)[1].(map[string]any), "s3Object") },
			counts: Counts{DigestsValid: 3, LogsValid: 5, LogsInvalid: 1},
			problems: func(*digestRef) []problem {
				return []problem{{KindLog, region, "", ReasonInvalidFormat}}
			},
		},
		{
			name:   "logFiles an empty object",
			edit:   func(d map[string]any) { d["logFiles"] = map[string]any{} },
			counts: Counts{DigestsValid: 3, LogsValid: 4},
		},
		{
			name:   "logFiles a string",
			edit:   func(d map[string]any) { d["logFiles"] = "s3://audit-logs/AWSLogs/" },
			counts: Counts{DigestsValid: 2, DigestsInvalid: 1, LogsValid: 4},
			problems: func(d *digestRef) []problem {
				return []problem{{KindDigest, region, d.key, ReasonInvalidFormat}}
			},
		},
		{
			name:   "an unreadable start time",
			edit:   func(d map[string]any) { d["digestStartTime"] = "yesterday" },
			counts: Counts{DigestsValid: 2, DigestsInvalid: 1, LogsValid: 4},
			problems: func(d *digestRef) []problem {
				return []problem{{KindDigest, region, d.key, ReasonInvalidFormat}}
			},
		},
		{
			name:   "a null digestS3Object",
			edit:   func(d map[string]any) { d["digestS3Object"] = nil },
			counts: Counts{DigestsValid: 2, DigestsInvalid: 1, LogsValid: 4},
			problems: func(d *digestRef) []problem {
				return []problem{{KindDigest, region, d.key, ReasonMoved}}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			chain := f.deliver(chainSpec{region: region, from: t0, hours: 3, logs: 2, edit: func(hour int, d map[string]any) {
				if hour == 1 {
					tc.edit(d)
				}
			}})
			res, _ := validate(t, f.config(t0, t0.Add(3*time.Hour), region))
			if tc.problems == nil {
				wantResult(t, res, StatusPass, tc.counts, nil)
				return
			}
			wantResult(t, res, StatusFail, tc.counts, tc.problems(chain[1]))
		})
	}
}
