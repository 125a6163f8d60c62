package athena

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestJavaDouble(t *testing.T) {
	for f, want := range map[float64]string{
		1.5: "1.5", 2: "2.0", 0.30000000000000004: "0.30000000000000004", 1e20: "1.0E20", 1e-7: "1.0E-7",
		1749952380: "1.74995238E9", 9999999: "9999999.0", 0.001: "0.001", -12.25: "-12.25", 0: "0.0",
	} {
		if got := javaDouble(f, 64); got != want {
			t.Errorf("javaDouble(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestCSVRoundTrip(t *testing.T) {
	s := func(v string) *string { return &v }
	table := resultTable{header: true, columns: []columnInfo{{Name: "a"}, {Name: "b"}}, rows: [][]*string{{s(`x"y`), nil}, {s(""), s("1,\n2")}}}
	data := encodeCSV(table)
	if want := "\"a\",\"b\"\n\"x\"\"y\",\n\"\",\"1,\n2\"\n"; string(data) != want {
		t.Fatalf("encodeCSV = %q, want %q", data, want)
	}
	rows, err := decodeCSV(string(data))
	if err != nil {
		t.Fatal(err)
	}
	want := append([][]*string{{s("a"), s("b")}}, table.rows...)
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("decodeCSV (-want +got):\n%s", diff)
	}
}

func TestParameterLiteral(t *testing.T) {
	for v, want := range map[string]string{
		"'111122223333'":                      "('111122223333')",
		"111122223333":                        "(111122223333)",
		"us-east-1":                           "'us-east-1'",
		"it's":                                "'it''s'",
		"TIMESTAMP '2025-06-01 00:00:00 UTC'": "(TIMESTAMPTZ '2025-06-01 00:00:00 UTC')",
		"DATE '2025-06-01'":                   "(DATE '2025-06-01')",
		"NULL":                                "(NULL)",
		"x OR 1=1":                            "'x OR 1=1'",
	} {
		if got := parameterLiteral(v); got != want {
			t.Errorf("parameterLiteral(%q) = %s, want %s", v, got, want)
		}
	}
}

func TestTranslatePositions(t *testing.T) {
	tr, err := translate("SELECT ?,\n  CAST(x AS ARRAY(varchar)) FROM t", []string{"'a'"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "SELECT ('a'),\n  CAST(x AS varchar[]) FROM t"; tr.sql != want {
		t.Errorf("sql = %q, want %q", tr.sql, want)
	}
	tok, ok := tr.original(len("SELECT ('a'),\n  CAST(x AS varchar[]) FROM "))
	if !ok || tok.text != "t" || tok.line != 2 || tok.col != 34 {
		t.Errorf("original = %+v, want t at 2:34", tok)
	}
}

func TestHiveTypes(t *testing.T) {
	h, err := parseHiveTypeString("STRUCT< type: STRING, `Items`:ARRAY<MAP<STRING,INT>>, d: DECIMAL(10, 2)>")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := h.String(), "struct<type:string,items:array<map<string,int>>,d:decimal(10,2)>"; got != want {
		t.Errorf("String = %s, want %s", got, want)
	}
	if got, want := h.duckDB(), `STRUCT("type" VARCHAR, "items" MAP(VARCHAR, INTEGER)[], "d" DECIMAL(10,2))`; got != want {
		t.Errorf("duckDB = %s, want %s", got, want)
	}
	v := h.fromJSON([]byte(`{"TYPE": 7, "items": [{"a": "1", "b": "x"}, null], "extra": true}`))
	m := v.(map[string]any)
	if m["type"] != "7" || m["d"] != nil || len(m["items"].([]any)) != 2 || m["items"].([]any)[1] != nil {
		t.Errorf("fromJSON = %#v", v)
	}
	s, _ := parseHiveTypeString("string")
	if got := s.fromJSON([]byte(` {"b": 1,  "a": [true, null]} `)); got != `{"b":1,"a":[true,null]}` {
		t.Errorf("an object in a string column = %v, want its compact JSON text", got)
	}
}

func TestDateProjection(t *testing.T) {
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	got, err := dateValues("yyyy/MM/dd", "NOW-2DAYS,NOW", "", "", now)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"2025/06/13", "2025/06/14", "2025/06/15"}, got); diff != "" {
		t.Errorf("days (-want +got):\n%s", diff)
	}
	got, err = dateValues("yyyy-MM-dd-HH", "2025-06-15-10,NOW", "1", "HOURS", now)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"2025-06-15-10", "2025-06-15-11", "2025-06-15-12"}, got); diff != "" {
		t.Errorf("hours (-want +got):\n%s", diff)
	}
	for _, bad := range [][2]string{{"yyyy/MM/dd", "2025/06/01"}, {"yyyy/MMM/dd", "2025/Jun/01,NOW"}, {"yyyy/MM/dd", "NOW-3FORTNIGHTS,NOW"}} {
		if _, err := dateValues(bad[0], bad[1], "", "", now); err == nil {
			t.Errorf("dateValues(%q, %q) did not fail", bad[0], bad[1])
		}
	}
}
