package provider

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// The lookback syntax is shared by every data source that reads a window
// (opsaudit_events, opsaudit_compliance, opsaudit_log_validation), so
// their arguments read alike.

// parseLookback reads a lookback: a Go duration, optionally led by a
// number of days ("30d", "1d12h"), which time.ParseDuration lacks.
func parseLookback(s string) (time.Duration, error) {
	var days time.Duration
	rest := s
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseUint(s[:i], 10, 16)
		if err != nil {
			return 0, fmt.Errorf("%q: the number of days must be a whole number before \"d\"", s)
		}
		days = time.Duration(n) * 24 * time.Hour
		rest = s[i+1:]
	}
	d := days
	if rest != "" {
		r, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration such as \"72h\", \"30d\" or \"1d12h\"", s)
		}
		d += r
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q: the lookback must be longer than zero", s)
	}
	return d, nil
}

// timeWindow is the window start_time, end_time and lookback give, as the
// data sources that read a window take them (their validators accept each
// value and keep lookback apart from the other two): lookback ends now;
// otherwise end_time defaults to now and start_time to span before it. A
// window that ends before it starts is an error on start_time.
func timeWindow(start, end, lookback types.String, now time.Time, span time.Duration) (from, to time.Time, diags diag.Diagnostics) {
	to = now
	if !end.IsNull() {
		to, _ = time.Parse(time.RFC3339, end.ValueString())
	}
	from = to.Add(-span)
	if !start.IsNull() {
		from, _ = time.Parse(time.RFC3339, start.ValueString())
	}
	if !lookback.IsNull() {
		d, _ := parseLookback(lookback.ValueString())
		from = now.Add(-d)
	}
	if from.After(to) {
		diags.AddAttributeError(path.Root("start_time"), "Start after end", fmt.Sprintf(
			"The window starts at %s, after its end %s: give an older start_time or a later end_time.",
			from.Format(time.RFC3339), to.Format(time.RFC3339)))
	}
	return from.UTC(), to.UTC(), diags
}
