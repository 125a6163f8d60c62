package cloudtrail

import (
	"crypto/md5"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

// noBuckets is a sandbox without S3, for what needs none.
type noBuckets struct{}

func (noBuckets) BucketPolicy(string) (string, time.Time, bool)                     { return "", time.Time{}, false }
func (noBuckets) PutObject(string, string, []byte, string, map[string]string) error { return nil }
func (noBuckets) SeedBucket(awsapi.BucketSeed) error                                { return nil }

// nopJournal keeps nothing.
type nopJournal struct{}

func (nopJournal) Write(func() any, ...any) error { return nil }

type listedKeys struct {
	PublicKeyList []struct {
		Value             []byte
		ValidityStartTime float64
		ValidityEndTime   float64
		Fingerprint       string
	}
	NextToken string
}

// TestListPublicKeys checks keys rotate every period per account and
// region, with overlapping validity, and that ListPublicKeys finds them
// by time range, a page at a time.
func TestListPublicKeys(t *testing.T) {
	defer func(old int) { publicKeysPageSize = old }(publicKeysPageSize)
	publicKeysPageSize = 2
	now := time.Date(2025, 6, 15, 12, 30, 0, 0, time.UTC)
	s := New(Config{Account: testAccount, KeyRotation: time.Hour, Now: func() time.Time { return now }, Buckets: noBuckets{}, Journal: nopJournal{}})
	east := awsapi.Caller{Account: testAccount, Region: "us-east-1"}
	list := func(c awsapi.Caller, body string) (listedKeys, *ctError) {
		t.Helper()
		out, _, cerr := s.ctListPublicKeys(c, []byte(body))
		var got listedKeys
		if cerr == nil {
			raw, err := json.Marshal(out)
			if err != nil || json.Unmarshal(raw, &got) != nil {
				t.Fatalf("answer %v does not round-trip: %v", out, err)
			}
		}
		return got, cerr
	}
	// Without a range: the current key, made on demand.
	cur, cerr := list(east, `{}`)
	if cerr != nil || len(cur.PublicKeyList) != 1 || cur.NextToken != "" {
		t.Fatalf("current key: %+v, %v", cur, cerr)
	}
	k := cur.PublicKeyList[0]
	sum := md5.Sum(k.Value)
	if _, err := x509.ParsePKCS1PublicKey(k.Value); err != nil || k.Fingerprint != hex.EncodeToString(sum[:]) ||
		k.ValidityStartTime != float64(now.Truncate(time.Hour).Unix()) || k.ValidityEndTime != float64(now.Truncate(time.Hour).Add(66*time.Minute).Unix()) {
		t.Fatalf("current key = %+v (%v)", k, err)
	}
	// Two more periods signed in.
	for _, h := range []int{1, 2} {
		if _, err := s.keys.signer(testAccount, "us-east-1", now.Add(time.Duration(h)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	at := func(d time.Duration) string { return fmt.Sprint(now.Truncate(time.Hour).Add(d).Unix()) }
	for _, tt := range []struct {
		from, to time.Duration
		want     int
	}{
		{61 * time.Minute, 62 * time.Minute, 2}, // the first key's window overlaps the second's
		{70 * time.Minute, 80 * time.Minute, 1},
		{-5 * time.Hour, -4 * time.Hour, 0},
	} {
		got, cerr := list(east, `{"StartTime":`+at(tt.from)+`,"EndTime":`+at(tt.to)+`}`)
		if cerr != nil || len(got.PublicKeyList) != tt.want {
			t.Errorf("keys %v..%v: %d, %v; want %d", tt.from, tt.to, len(got.PublicKeyList), cerr, tt.want)
		}
	}
	// Other regions have keys of their own.
	west, cerr := list(awsapi.Caller{Account: testAccount, Region: "eu-west-1"}, `{}`)
	if cerr != nil || len(west.PublicKeyList) != 1 || west.PublicKeyList[0].Fingerprint == k.Fingerprint {
		t.Fatalf("eu-west-1: %+v, %v", west, cerr)
	}

	body := `{"StartTime":` + at(-time.Hour) + `,"EndTime":` + at(5*time.Hour) + `}`
	first, cerr := list(east, body)
	if cerr != nil || len(first.PublicKeyList) != 2 || first.NextToken == "" {
		t.Fatalf("first page: %+v, %v", first, cerr)
	}
	second, cerr := list(east, body[:len(body)-1]+`,"NextToken":"`+first.NextToken+`"}`)
	if cerr != nil || len(second.PublicKeyList) != 1 || second.NextToken != "" || second.PublicKeyList[0].ValidityStartTime <= first.PublicKeyList[1].ValidityStartTime {
		t.Fatalf("second page: %+v, %v", second, cerr)
	}
	if _, cerr := list(east, `{"NextToken":"`+first.NextToken+`"}`); cerr == nil || cerr.code != "InvalidTokenException" {
		t.Errorf("a token with another range: %v", cerr)
	}
	if _, cerr := list(east, `{"StartTime":`+at(time.Hour)+`,"EndTime":`+at(0)+`}`); cerr == nil || cerr.code != "InvalidTimeRangeException" {
		t.Errorf("a reversed range: %v", cerr)
	}
}
