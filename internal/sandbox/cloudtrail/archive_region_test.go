package cloudtrail

import (
	"slices"
	"testing"
	"time"
)

// TestArchiveRegionStable checks a region's log files do not depend on
// when the sandbox starts, but for those delivered after it started.
func TestArchiveRegionStable(t *testing.T) {
	end := archiveEnd(testNow)
	now := regionLogs(testAccount, end)
	later := regionLogs(testAccount, end.AddDate(0, 1, 0))
	if len(later) <= len(now) {
		t.Fatalf("a month later: %d files, before %d", len(later), len(now))
	}
	for i, f := range now {
		g := later[i]
		if f.delivered != g.delivered || f.unique != g.unique || len(f.entries) != len(g.entries) || string(f.entries[0].raw) != string(g.entries[0].raw) {
			t.Fatalf("file %d delivered at %s differs a month later", i, f.delivered)
		}
		if f.delivered.After(end) {
			t.Fatalf("file %d delivered at %s, after %s", i, f.delivered, end)
		}
	}
	if again := regionLogs(testAccount, end); len(again) != len(now) || again[len(again)-1].unique != now[len(now)-1].unique {
		t.Fatal("the same start gives other files")
	}
	if other := regionLogs("210987654321", end); other[0].unique == now[0].unique {
		t.Fatal("another account has the same files")
	}
}

// regionLogs are the archive's log files in eu-west-1, in delivery
// order.
func regionLogs(account string, end time.Time) []archiveLog {
	var out []archiveLog
	archiveRegion(account, "eu-west-1", end, func(l archiveLog) { out = append(out, l) })
	slices.SortStableFunc(out, func(a, b archiveLog) int { return a.delivered.Compare(b.delivered) })
	return out
}
