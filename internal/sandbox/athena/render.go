package athena

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"
)

// athenaTypeOf names a DuckDB result type as Athena's ColumnInfo does,
// with its precision and scale.
func athenaTypeOf(ti duckdb.TypeInfo) (name string, precision, scale int) {
	if ti.Alias() == "JSON" {
		return "json", 0, 0
	}
	switch ti.InternalType() {
	case duckdb.TYPE_BOOLEAN:
		return "boolean", 0, 0
	case duckdb.TYPE_TINYINT, duckdb.TYPE_UTINYINT:
		return "tinyint", 0, 0
	case duckdb.TYPE_SMALLINT, duckdb.TYPE_USMALLINT:
		return "smallint", 0, 0
	case duckdb.TYPE_INTEGER, duckdb.TYPE_UINTEGER:
		return "integer", 0, 0
	case duckdb.TYPE_BIGINT, duckdb.TYPE_UBIGINT, duckdb.TYPE_HUGEINT, duckdb.TYPE_UHUGEINT:
		// Trino's sums and counts are bigint where DuckDB widens them.
		return "bigint", 0, 0
	case duckdb.TYPE_FLOAT:
		return "float", 0, 0
	case duckdb.TYPE_DOUBLE:
		return "double", 0, 0
	case duckdb.TYPE_DECIMAL:
		d := ti.Details().(*duckdb.DecimalDetails)
		return "decimal", int(d.Width), int(d.Scale)
	case duckdb.TYPE_BLOB:
		return "varbinary", 0, 0
	case duckdb.TYPE_DATE:
		return "date", 0, 0
	case duckdb.TYPE_TIME:
		return "time", 0, 0
	case duckdb.TYPE_TIME_TZ:
		return "time with time zone", 0, 0
	case duckdb.TYPE_TIMESTAMP, duckdb.TYPE_TIMESTAMP_S, duckdb.TYPE_TIMESTAMP_MS, duckdb.TYPE_TIMESTAMP_NS:
		return "timestamp", 0, 0
	case duckdb.TYPE_TIMESTAMP_TZ:
		return "timestamp with time zone", 0, 0
	case duckdb.TYPE_INTERVAL:
		return "interval day to second", 0, 0
	case duckdb.TYPE_LIST, duckdb.TYPE_ARRAY:
		return "array", 0, 0
	case duckdb.TYPE_MAP:
		return "map", 0, 0
	case duckdb.TYPE_STRUCT:
		return "row", 0, 0
	case duckdb.TYPE_UUID:
		return "uuid", 0, 0
	}
	return "varchar", 0, 0
}

// render writes a non-NULL value as Athena does in GetQueryResults and
// its CSV files: doubles in Java's notation, timestamps to the
// millisecond, arrays as [a, b], maps as {k=v}, rows as {name=value},
// NULL inside them as null.
func render(ti duckdb.TypeInfo, v any) string {
	if ti.Alias() == "JSON" {
		// A JSON value nested in a list or row, which the driver parsed.
		if b, err := json.Marshal(v); err == nil {
			return string(b)
		}
	}
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return javaDouble(x, 64)
	case float32:
		return javaDouble(float64(x), 32)
	case *big.Int:
		return x.String()
	case []byte:
		return hexBytes(x)
	case time.Time:
		return renderTime(ti.InternalType(), x)
	case duckdb.Interval:
		d := time.Duration(x.Micros) * time.Microsecond
		days := int64(x.Days) + int64(x.Months)*30
		return fmt.Sprintf("%d %02d:%02d:%02d.%03d", days, int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60, d.Milliseconds()%1000)
	case duckdb.Decimal:
		return renderDecimal(x)
	case duckdb.UUID:
		return x.String()
	case []any:
		child := ti
		switch d := ti.Details().(type) {
		case *duckdb.ListDetails:
			child = d.Child
		case *duckdb.ArrayDetails:
			child = d.Child
		}
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = renderNested(child, e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case duckdb.OrderedMap:
		d, _ := ti.Details().(*duckdb.MapDetails)
		keys, values := x.Keys(), x.Values()
		parts := make([]string, len(keys))
		for i := range keys {
			parts[i] = renderNested(d.Key, keys[i]) + "=" + renderNested(d.Value, values[i])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case map[string]any:
		d, _ := ti.Details().(*duckdb.StructDetails)
		parts := make([]string, 0, len(x))
		for _, e := range d.Entries {
			parts = append(parts, e.Name()+"="+renderNested(e.Info(), x[e.Name()]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

func renderNested(ti duckdb.TypeInfo, v any) string {
	if v == nil {
		return "null"
	}
	return render(ti, v)
}

func renderTime(t duckdb.Type, x time.Time) string {
	x = x.UTC()
	switch t {
	case duckdb.TYPE_DATE:
		return x.Format("2006-01-02")
	case duckdb.TYPE_TIME, duckdb.TYPE_TIME_TZ:
		return x.Format("15:04:05.000")
	case duckdb.TYPE_TIMESTAMP_TZ:
		return x.Format("2006-01-02 15:04:05.000") + " UTC"
	}
	return x.Format("2006-01-02 15:04:05.000")
}

func renderDecimal(d duckdb.Decimal) string {
	s := new(big.Int).Abs(d.Value).String()
	scale := int(d.Scale)
	if scale > 0 {
		if len(s) <= scale {
			s = strings.Repeat("0", scale-len(s)+1) + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if d.Value.Sign() < 0 {
		s = "-" + s
	}
	return s
}

// javaDouble writes a floating-point number as Java's Double.toString
// does, which Athena uses: plain notation from 10^-3 to 10^7 (with at
// least one decimal), computerized scientific notation (1.0E20) outside.
func javaDouble(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	if abs := math.Abs(f); abs >= 1e-3 && abs < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, bits)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	mant, exp, _ := strings.Cut(strconv.FormatFloat(f, 'e', -1, bits), "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	n, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(n)
}

// hexBytes writes varbinary as Athena does: bytes in hex, space
// separated.
func hexBytes(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = hex.EncodeToString([]byte{c})
	}
	return strings.Join(parts, " ")
}
