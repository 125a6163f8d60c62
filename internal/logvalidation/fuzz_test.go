package logvalidation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzMutatedFile changes one file of a signed chain (three hourly
// digests of two logs each) and validates the chain. A changed log or
// digest never validates and the result fails. With resign, the changed
// digest is signed again as CloudTrail would sign it, so whatever it
// says is believed: the digest parser meets arbitrary JSON, and a log
// still validates only if a digest lists its true hash.
func FuzzMutatedFile(f *testing.F) {
	fx := newFixture(f)
	refs := fx.deliver(chainSpec{region: region, from: t0, hours: 3, logs: 2})
	cfg := fx.config(t0, t0.Add(3*time.Hour), region)
	original := maps.Clone(fx.src.objects)
	keys := slices.Sorted(maps.Keys(original))
	digests := map[string]*digestRef{}
	for _, r := range refs {
		digests[r.key] = r
	}
	f.Add(uint8(0), uint16(10), []byte("x"), uint8(1), false)
	f.Add(uint8(3), uint16(0), []byte(`{"Records":[]}`), uint8(255), false)
	f.Add(uint8(6), uint16(300), []byte(`"logFiles":[],`), uint8(0), true)
	f.Add(uint8(8), uint16(40), []byte("2026-03-01T02:05:17Z"), uint8(20), true)
	f.Fuzz(func(t *testing.T, target uint8, offset uint16, patch []byte, cut uint8, resign bool) {
		fx.src.objects = maps.Clone(original)
		key := keys[int(target)%len(keys)]
		o := original[key]
		content := gunzip(t, o.body)
		at := int(offset) % (len(content) + 1)
		mutated := slices.Concat(content[:at], patch, content[min(at+int(cut), len(content)):])
		if string(mutated) == string(content) {
			return
		}
		meta := o.meta
		d := digests[key]
		if d != nil && resign {
			meta = maps.Clone(meta)
			sum := sha256.Sum256(mutated)
			prev := "null"
			if i := slices.Index(refs, d); i > 0 {
				prev = refs[i-1].signature
			}
			meta[metaSignature] = testSigner(t, 0).sign(t, d.end.Format(time.RFC3339)+"\n"+d.bucket+"/"+d.key+"\n"+hex.EncodeToString(sum[:])+"\n"+prev)
		}
		fx.src.put(key, gz(mutated), meta)

		verdicts := map[string][]FileVerdict{}
		run := cfg
		run.OnFile = func(v FileVerdict) { verdicts[v.Key] = append(verdicts[v.Key], v) }
		res, err := Run(context.Background(), run)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if d == nil || !resign {
			for _, v := range verdicts[key] {
				if v.Valid {
					t.Fatalf("the changed %s %s validates", v.Kind, key)
				}
			}
			if res.Status != StatusFail {
				t.Fatalf("status %s with %s changed, want %s", res.Status, key, StatusFail)
			}
		}
		listed := listedHashes(t, fx)
		for k, vs := range verdicts {
			if !strings.Contains(k, "/CloudTrail/") {
				continue
			}
			sum := sha256.Sum256(gunzip(t, fx.src.objects[k].body))
			for _, v := range vs {
				if v.Valid && !listed[k][hex.EncodeToString(sum[:])] {
					t.Fatalf("log %s validates, but no digest lists its hash", k)
				}
			}
		}
	})
}

// listedHashes are the hash values the digests in fx's bucket list for
// each log key, as far as their JSON can be read.
func listedHashes(t *testing.T, fx *fixture) map[string]map[string]bool {
	listed := map[string]map[string]bool{}
	for key, o := range fx.src.objects {
		if !strings.Contains(key, "/CloudTrail-Digest/") {
			continue
		}
		var d struct {
			LogFiles []struct {
				S3Object  string `json:"s3Object"`
				HashValue string `json:"hashValue"`
			} `json:"logFiles"`
		}
		if json.Unmarshal(gunzip(t, o.body), &d) != nil {
			continue
		}
		for _, lf := range d.LogFiles {
			if listed[lf.S3Object] == nil {
				listed[lf.S3Object] = map[string]bool{}
			}
			listed[lf.S3Object][lf.HashValue] = true
		}
	}
	return listed
}
