package provider

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/archive"
)

// bucketDir lays out keys (their folders and empty files) in a directory
// read as a bucket.
func bucketDir(t *testing.T, keys ...string) *archive.Dir {
	t.Helper()
	root := t.TempDir()
	for _, k := range keys {
		p := filepath.Join(root, filepath.FromSlash(k))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	d, err := archive.OpenDir(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func TestSourceRegions(t *testing.T) {
	digest := func(prefix, account, region string) string {
		return prefix + "AWSLogs/" + account + "/CloudTrail-Digest/" + region + "/2025/06/01/d.json.gz"
	}
	src := bucketDir(t,
		digest("audit/", "111122223333", "eu-west-1"), digest("audit/", "111122223333", "us-east-1"),
		digest("audit/", "111122223333", "not-a-region"), digest("audit/", "444455556666", "ap-south-1"),
		digest("", "111122223333", "sa-east-1"))
	loc := archive.Location{Prefix: "audit"}
	multi := &trailInfo{ARN: "arn:aws:cloudtrail:us-east-2:111122223333:trail/t", HomeRegion: "us-east-2", IsMultiRegionTrail: true}
	for _, tc := range []struct {
		name    string
		trail   *trailInfo
		account string
		loc     archive.Location
		want    []string
	}{
		{"multi-region: the account's digest folders under the prefix", multi, "111122223333", loc, []string{"eu-west-1", "us-east-1"}},
		{"multi-region: another account's", multi, "444455556666", loc, []string{"ap-south-1"}},
		{"multi-region without digests yet: the home region", multi, "777788889999", loc, []string{"us-east-2"}},
		{"single-region: the home region", &trailInfo{HomeRegion: "us-east-2"}, "111122223333", loc, []string{"us-east-2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sourceRegions(context.Background(), src, tc.loc, tc.account, tc.trail)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("sourceRegions = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestOrganizationFolder(t *testing.T) {
	src := bucketDir(t,
		"AWSLogs/o-aa11bb22cc/111122223333/CloudTrail-Digest/us-east-1/2025/06/01/d.json.gz",
		"AWSLogs/o-dd33ee44ff/444455556666/CloudTrail-Digest/us-east-1/2025/06/01/d.json.gz",
		"AWSLogs/o-dd33ee44ff/111122223333/CloudTrail/us-east-1/2025/06/01/l.json.gz",
		"AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2025/06/01/d.json.gz",
		"AWSLogs/o-gg55hh66ii/777788889999/CloudTrail-Digest/us-east-1/2025/06/01/d.json.gz",
		"AWSLogs/o-jj77kk88ll/777788889999/CloudTrail-Digest/eu-west-1/2025/06/01/d.json.gz",
	)
	ctx := context.Background()
	for account, want := range map[string]string{"111122223333": "o-aa11bb22cc", "444455556666": "o-dd33ee44ff"} {
		if got, err := organizationFolder(ctx, src, archive.Location{}, account); err != nil || got != want {
			t.Errorf("account %s: %q, %v; want %q", account, got, err, want)
		}
	}
	for account, want := range map[string]string{
		"123456789012": "no digest folder of account 123456789012",
		"777788889999": "under several organizations",
	} {
		if _, err := organizationFolder(ctx, src, archive.Location{}, account); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("account %s: %v, want an error with %q", account, err, want)
		}
	}
}

func TestDigestsExpected(t *testing.T) {
	start := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 0, 7)
	logging := func(change func(*trailInfo)) *trailInfo {
		t := &trailInfo{LogFileValidationEnabled: true, Status: trailStatus{
			IsLogging: true, StartLoggingTime: start.AddDate(0, -1, 0), LatestDigestDeliveryTime: end.Add(time.Hour),
		}}
		change(t)
		return t
	}
	for name, tc := range map[string]struct {
		trail *trailInfo
		want  bool
	}{
		"logging with validation through the window": {logging(func(*trailInfo) {}), true},
		"validation off":             {logging(func(t *trailInfo) { t.LogFileValidationEnabled = false }), false},
		"logging stopped":            {logging(func(t *trailInfo) { t.Status.IsLogging = false }), false},
		"logging started after":      {logging(func(t *trailInfo) { t.Status.StartLoggingTime = end.Add(time.Minute) }), false},
		"logging started within":     {logging(func(t *trailInfo) { t.Status.StartLoggingTime = end.Add(-time.Hour) }), true},
		"no digest since it started": {logging(func(t *trailInfo) { t.Status.LatestDigestDeliveryTime = time.Time{} }), false},
		"no digest since restarted": {logging(func(t *trailInfo) {
			t.Status.StartLoggingTime, t.Status.LatestDigestDeliveryTime = end.Add(-time.Minute), end.Add(-time.Hour)
		}), false},
	} {
		if got := digestsExpected(tc.trail, end); got != tc.want {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
}
