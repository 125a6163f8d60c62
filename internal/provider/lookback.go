package provider

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The lookback syntax is shared by every data source that reads events
// (opsaudit_events, opsaudit_compliance), so their arguments read alike.

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
