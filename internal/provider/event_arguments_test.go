package provider

import (
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/types"
)

// TestWindowDefaults checks each data source's default window: its
// length, ending now, when no argument sets it; and that a window set
// with the times keeps them.
func TestWindowDefaults(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for name, tt := range map[string]struct {
		args windowArgs
		span time.Duration
	}{
		"opsaudit_events":         {eventsWindow, 7 * 24 * time.Hour},
		"opsaudit_archive_events": {archiveWindow, 30 * 24 * time.Hour},
		"opsaudit_compliance":     {complianceWindow, 7 * 24 * time.Hour},
	} {
		w := windowModel{StartTime: types.StringNull(), EndTime: types.StringNull(), Lookback: types.StringNull()}
		start, end, diags := w.window(now, tt.args)
		if diags.HasError() || !end.Equal(now) || !start.Equal(now.Add(-tt.span)) {
			t.Errorf("%s: default window %s to %s (%v), want %s before %s", name, start, end, diags, tt.span, now)
		}
	}
	w := windowModel{StartTime: types.StringValue("2022-05-01T00:00:00Z"), EndTime: types.StringNull(), Lookback: types.StringNull()}
	start, end, diags := w.window(now, archiveWindow)
	if diags.HasError() || !start.Equal(time.Date(2022, 5, 1, 0, 0, 0, 0, time.UTC)) || !end.Equal(now) {
		t.Errorf("window from start_time: %s to %s (%v)", start, end, diags)
	}
	w = windowModel{StartTime: types.StringValue("2027-01-01T00:00:00Z"), EndTime: types.StringNull(), Lookback: types.StringNull()}
	if _, _, diags := w.window(now, archiveWindow); !diags.HasError() {
		t.Error("a start_time after now, with end_time defaulting to now, is not an error")
	}
}
