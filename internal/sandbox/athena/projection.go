package athena

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Partition projection: Athena computes a table's partitions from its
// TBLPROPERTIES instead of a metastore (projection.enabled = true), and
// finds each partition's files under storage.location.template with the
// partition's values in place of ${column}.

// maxProjectedValues bounds the values of one projected column, as
// Athena bounds the partitions a query may touch.
const maxProjectedValues = 1_000_000

// projection is one partition column's projection.
type projection struct {
	column string
	kind   string // enum, integer, date or injected
	values []string
}

// projectionEnabled reports whether a table's partitions are projected.
func projectionEnabled(t *table) bool {
	return strings.EqualFold(t.Properties["projection.enabled"], "true")
}

func invalidProjection(format string, args ...any) *queryFailure {
	return userError("HIVE_INVALID_METADATA", errTypeInvalidMetadata, format, args...)
}

// projectColumn computes a partition column's values from its
// projection.<column>.* properties; injected columns have none until a
// query gives them.
func projectColumn(t *table, col string, now time.Time) (*projection, error) {
	prop := func(name string) string { return t.Properties["projection."+col+"."+name] }
	p := &projection{column: col, kind: strings.ToLower(prop("type"))}
	switch p.kind {
	case "enum":
		values := prop("values")
		if values == "" {
			return nil, invalidProjection("Column '%s' projection values must be set for type enum", col)
		}
		for _, v := range strings.Split(values, ",") {
			p.values = append(p.values, strings.TrimSpace(v))
		}
	case "integer":
		values, err := integerValues(prop("range"), prop("interval"), prop("digits"))
		if err != nil {
			return nil, invalidProjection("Column '%s' projection: %v", col, err)
		}
		p.values = values
	case "date":
		values, err := dateValues(prop("format"), prop("range"), prop("interval"), prop("interval.unit"), now)
		if err != nil {
			return nil, invalidProjection("Column '%s' projection: %v", col, err)
		}
		p.values = values
	case "injected":
	case "":
		return nil, invalidProjection("Column '%s' projection type must be set when projection is enabled", col)
	default:
		return nil, invalidProjection("Column '%s' projection type %q is not one of enum, integer, date, injected", col, p.kind)
	}
	return p, nil
}

func integerValues(rng, interval, digits string) ([]string, error) {
	lo, hi, ok := strings.Cut(rng, ",")
	from, err1 := strconv.ParseInt(strings.TrimSpace(lo), 10, 64)
	to, err2 := strconv.ParseInt(strings.TrimSpace(hi), 10, 64)
	if !ok || err1 != nil || err2 != nil || from > to {
		return nil, fmt.Errorf("range %q must be two integers, the smaller first", rng)
	}
	step := int64(1)
	if interval != "" {
		var err error
		if step, err = strconv.ParseInt(interval, 10, 64); err != nil || step < 1 {
			return nil, fmt.Errorf("interval %q must be a positive integer", interval)
		}
	}
	width := 0
	if digits != "" {
		var err error
		if width, err = strconv.Atoi(digits); err != nil || width < 1 {
			return nil, fmt.Errorf("digits %q must be a positive integer", digits)
		}
	}
	if (to-from)/step >= maxProjectedValues {
		return nil, fmt.Errorf("range %q has more than %d values", rng, maxProjectedValues)
	}
	var values []string
	for v := from; v <= to; v += step {
		values = append(values, fmt.Sprintf("%0*d", width, v))
	}
	return values, nil
}

// javaDateLayout turns a Java DateTimeFormatter pattern (yyyy/MM/dd) into
// a Go layout, for the letters partition projection formats use.
func javaDateLayout(format string) (layout, smallest string, err error) {
	units := []struct{ java, goLayout, unit string }{
		{"yyyy", "2006", "YEARS"}, {"yy", "06", "YEARS"}, {"MM", "01", "MONTHS"}, {"dd", "02", "DAYS"},
		{"HH", "15", "HOURS"}, {"mm", "04", "MINUTES"}, {"ss", "05", "SECONDS"},
	}
	order := map[string]int{"YEARS": 0, "MONTHS": 1, "DAYS": 2, "HOURS": 3, "MINUTES": 4, "SECONDS": 5}
	var b strings.Builder
	for i := 0; i < len(format); {
		if format[i] == '\'' {
			end := strings.IndexByte(format[i+1:], '\'')
			if end < 0 {
				return "", "", fmt.Errorf("format %q has an unterminated quote", format)
			}
			b.WriteString(format[i+1 : i+1+end])
			i += end + 2
			continue
		}
		matched := false
		for _, u := range units {
			if strings.HasPrefix(format[i:], u.java) {
				b.WriteString(u.goLayout)
				if smallest == "" || order[u.unit] > order[smallest] {
					smallest = u.unit
				}
				i += len(u.java)
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		if c := format[i]; (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') {
			return "", "", fmt.Errorf("format %q: the sandbox reads the letters yyyy, yy, MM, dd, HH, mm and ss, not %q", format, c)
		}
		b.WriteByte(format[i])
		i++
	}
	if smallest == "" {
		return "", "", fmt.Errorf("format %q has no date field", format)
	}
	return b.String(), smallest, nil
}

// dateValues lists a date projection's values from the start of its
// range to its end (NOW, optionally NOW±N<unit>, is the sandbox's
// clock), one interval apart.
func dateValues(format, rng, interval, unit string, now time.Time) ([]string, error) {
	if format == "" {
		return nil, fmt.Errorf("format must be set for type date")
	}
	layout, smallest, err := javaDateLayout(format)
	if err != nil {
		return nil, err
	}
	lo, hi, ok := strings.Cut(rng, ",")
	if !ok {
		return nil, fmt.Errorf("range %q must be two dates separated by a comma", rng)
	}
	from, err := dateBound(strings.TrimSpace(lo), layout, now)
	if err != nil {
		return nil, err
	}
	to, err := dateBound(strings.TrimSpace(hi), layout, now)
	if err != nil {
		return nil, err
	}
	step := 1
	if interval != "" {
		if step, err = strconv.Atoi(interval); err != nil || step < 1 {
			return nil, fmt.Errorf("interval %q must be a positive integer", interval)
		}
	}
	if unit == "" {
		unit = smallest
	}
	add, err := dateStep(strings.ToUpper(unit), step)
	if err != nil {
		return nil, err
	}
	var values []string
	for t := from; !t.After(to); t = add(t) {
		if len(values) == maxProjectedValues {
			return nil, fmt.Errorf("range %q has more than %d values", rng, maxProjectedValues)
		}
		values = append(values, t.Format(layout))
	}
	return values, nil
}

// dateBound reads one end of a date range: a date in the format, or NOW
// with an optional offset (NOW-3YEARS, NOW+1DAYS).
func dateBound(s, layout string, now time.Time) (time.Time, error) {
	if rest, ok := strings.CutPrefix(strings.ToUpper(s), "NOW"); ok {
		t := now.UTC()
		if rest == "" {
			return t, nil
		}
		sign := 1
		switch rest[0] {
		case '-':
			sign = -1
		case '+':
		default:
			return time.Time{}, fmt.Errorf("range bound %q is not NOW[+-]<n><unit>", s)
		}
		i := 1
		for i < len(rest) && isDigit(rest[i]) {
			i++
		}
		n, err := strconv.Atoi(rest[1:i])
		if err != nil {
			return time.Time{}, fmt.Errorf("range bound %q is not NOW[+-]<n><unit>", s)
		}
		add, err := dateStep(rest[i:], sign*n)
		if err != nil {
			return time.Time{}, fmt.Errorf("range bound %q: %w", s, err)
		}
		return add(t), nil
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("range bound %q does not match the format", s)
	}
	return t, nil
}

// dateStep adds n units of a projection interval unit.
func dateStep(unit string, n int) (func(time.Time) time.Time, error) {
	switch strings.TrimSuffix(unit, "S") {
	case "YEAR":
		return func(t time.Time) time.Time { return t.AddDate(n, 0, 0) }, nil
	case "MONTH":
		return func(t time.Time) time.Time { return t.AddDate(0, n, 0) }, nil
	case "WEEK":
		return func(t time.Time) time.Time { return t.AddDate(0, 0, 7*n) }, nil
	case "DAY":
		return func(t time.Time) time.Time { return t.AddDate(0, 0, n) }, nil
	case "HOUR":
		return func(t time.Time) time.Time { return t.Add(time.Duration(n) * time.Hour) }, nil
	case "MINUTE":
		return func(t time.Time) time.Time { return t.Add(time.Duration(n) * time.Minute) }, nil
	case "SECOND":
		return func(t time.Time) time.Time { return t.Add(time.Duration(n) * time.Second) }, nil
	}
	return nil, fmt.Errorf("interval unit %q is not one of YEARS, MONTHS, WEEKS, DAYS, HOURS, MINUTES, SECONDS", unit)
}

// partitionLocation is where a partition's files are: the location
// template with the values in place, or Hive's layout under the table's
// location (column=value/...).
func partitionLocation(t *table, values map[string]string) string {
	if tmpl := t.Properties["storage.location.template"]; tmpl != "" {
		for col, v := range values {
			tmpl = strings.ReplaceAll(tmpl, "${"+col+"}", v)
		}
		return tmpl
	}
	loc := strings.TrimSuffix(t.Location, "/")
	for _, k := range t.PartitionKeys {
		loc += "/" + k.Name + "=" + values[k.Name]
	}
	return loc
}
