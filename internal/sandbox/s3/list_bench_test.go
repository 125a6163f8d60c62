package s3

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

// BenchmarkListObjectsV2 lists a bucket holding 100,000 log files in
// CloudTrail's layout (9 regions, a year of days, 30 files a day) the way
// an archive reader walks it: the regions, the days of a month, the files
// of a day, and a first page of the flat listing.
func BenchmarkListObjectsV2(b *testing.B) {
	const account = "123456789012"
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	s := New(Config{Now: func() time.Time { return now }, Recorder: memory{}, Store: memory{}})
	s.buckets["archive"] = &bucket{Name: "archive", Account: account, Region: "us-east-1", Objects: map[string][]*objectVersion{}}
	regions := []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ap-northeast-1", "ap-southeast-1", "ap-southeast-2", "eu-central-1", "eu-west-1"}
	n := 0
	for day := 0; n < 100_000; day++ {
		date := now.AddDate(0, 0, -day)
		for _, region := range regions {
			for i := 0; i < 30 && n < 100_000; i++ {
				key := fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%sT%02d%02dZ_%016d.json.gz",
					account, region, date.Format("2006/01/02"), account, region, date.Format("20060102"), i/2, i%2*30, n)
				if err := s.PutObject("archive", key, []byte("x"), "application/x-gzip", nil); err != nil {
					b.Fatal(err)
				}
				n++
			}
		}
	}
	caller := awsapi.Caller{Region: "us-east-1", Account: account}
	list := func(b *testing.B, query string, want string) {
		for b.Loop() {
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodGet, "/archive?list-type=2&"+query, nil)
			s.ServeAPI(w, r, caller, nil)
			if w.Code != http.StatusOK {
				b.Fatalf("%s: %d %s", query, w.Code, w.Body)
			}
			if want != "" && !strings.Contains(w.Body.String(), want) {
				b.Fatalf("%s: no %q in %s", query, want, w.Body)
			}
		}
	}
	base := "AWSLogs/" + account + "/CloudTrail/"
	b.Run("regions", func(b *testing.B) { list(b, "delimiter=/&prefix="+base, base+"us-west-2/") })
	b.Run("days-of-a-month", func(b *testing.B) {
		list(b, "delimiter=/&prefix="+base+"eu-west-1/2025/03/", base+"eu-west-1/2025/03/31/")
	})
	b.Run("files-of-a-day", func(b *testing.B) {
		list(b, "delimiter=/&prefix="+base+"eu-west-1/2025/03/15/", "_CloudTrail_eu-west-1_20250315T1430Z_")
	})
	b.Run("first-page", func(b *testing.B) { list(b, "max-keys=1000", "<IsTruncated>true</IsTruncated>") })
}
