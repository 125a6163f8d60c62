package cloudtrail

import "testing"

// TestArchiveRegionStable checks a region's log files do not depend on
// when the sandbox starts, but for those delivered after it started.
func TestArchiveRegionStable(t *testing.T) {
	end := archiveEnd(testNow)
	now := archiveRegion(testAccount, "eu-west-1", end)
	later := archiveRegion(testAccount, "eu-west-1", end.AddDate(0, 1, 0))
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
	if again := archiveRegion(testAccount, "eu-west-1", end); len(again) != len(now) || again[len(again)-1].unique != now[len(now)-1].unique {
		t.Fatal("the same start gives other files")
	}
	if other := archiveRegion("210987654321", "eu-west-1", end); other[0].unique == now[0].unique {
		t.Fatal("another account has the same files")
	}
}
