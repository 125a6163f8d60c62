package athena

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"
)

// hiveType is a column type of a Hive table, as CREATE EXTERNAL TABLE
// declares it.
type hiveType struct {
	// kind is the type's name in Hive's spelling: string, varchar, char,
	// int, bigint, smallint, tinyint, double, float, boolean, date,
	// timestamp, decimal, binary, array, map or struct.
	kind string
	// params are varchar(n), char(n) and decimal(p,s)'s numbers.
	params     []int
	elem       *hiveType // array
	key, value *hiveType // map
	fields     []hiveField
}

type hiveField struct {
	name string
	typ  *hiveType
}

var primitiveHiveTypes = map[string]string{
	"string": "string", "varchar": "varchar", "char": "char",
	"int": "int", "integer": "int", "bigint": "bigint", "smallint": "smallint", "tinyint": "tinyint",
	"double": "double", "float": "float", "real": "float", "boolean": "boolean",
	"date": "date", "timestamp": "timestamp", "decimal": "decimal", "binary": "binary",
}

// parseHiveType reads a type at the parser's position: a primitive, or
// array<T>, map<K,V>, struct<name:T,...>.
func (p *parser) hiveType() (*hiveType, error) {
	t := p.next()
	if t.kind != tokIdent {
		return nil, p.unexpected(t, "a column type")
	}
	kind := strings.ToLower(t.text)
	if prim, ok := primitiveHiveTypes[kind]; ok {
		h := &hiveType{kind: prim}
		if p.peek().is("(") && (prim == "varchar" || prim == "char" || prim == "decimal") {
			p.next()
			for {
				n := p.next()
				v, err := strconv.Atoi(n.text)
				if n.kind != tokNumber || err != nil {
					return nil, p.unexpected(n, "a number")
				}
				h.params = append(h.params, v)
				if !p.peek().is(",") {
					break
				}
				p.next()
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
		}
		return h, nil
	}
	if kind != "array" && kind != "map" && kind != "struct" {
		return nil, p.unexpected(t, "a column type")
	}
	if err := p.expect("<"); err != nil {
		return nil, err
	}
	var h *hiveType
	switch kind {
	case "array":
		elem, err := p.hiveType()
		if err != nil {
			return nil, err
		}
		h = &hiveType{kind: "array", elem: elem}
	case "map":
		key, err := p.hiveType()
		if err != nil {
			return nil, err
		}
		if err := p.expect(","); err != nil {
			return nil, err
		}
		value, err := p.hiveType()
		if err != nil {
			return nil, err
		}
		h = &hiveType{kind: "map", key: key, value: value}
	case "struct":
		h = &hiveType{kind: "struct"}
		for {
			name, err := p.name()
			if err != nil {
				return nil, err
			}
			if err := p.expect(":"); err != nil {
				return nil, err
			}
			ft, err := p.hiveType()
			if err != nil {
				return nil, err
			}
			if p.peek().is("COMMENT") {
				p.next()
				if _, err := p.stringLiteral(); err != nil {
					return nil, err
				}
			}
			h.fields = append(h.fields, hiveField{name: strings.ToLower(name), typ: ft})
			if !p.peek().is(",") {
				break
			}
			p.next()
		}
	}
	if err := p.expect(">"); err != nil {
		return nil, err
	}
	return h, nil
}

// parseHiveTypeString reads a type as the catalog keeps it.
func parseHiveTypeString(s string) (*hiveType, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	h, err := p.hiveType()
	if err == nil && !p.atEnd() {
		err = p.unexpected(p.peek(), "the end of the type")
	}
	if err != nil {
		return nil, fmt.Errorf("column type %q: %w", s, err)
	}
	return h, nil
}

// String is the type in the Glue Data Catalog's spelling: lower case,
// no spaces (struct<type:string,arn:string>).
func (h *hiveType) String() string {
	switch h.kind {
	case "array":
		return "array<" + h.elem.String() + ">"
	case "map":
		return "map<" + h.key.String() + "," + h.value.String() + ">"
	case "struct":
		parts := make([]string, len(h.fields))
		for i, f := range h.fields {
			parts[i] = f.name + ":" + f.typ.String()
		}
		return "struct<" + strings.Join(parts, ",") + ">"
	}
	if len(h.params) == 0 {
		return h.kind
	}
	ps := make([]string, len(h.params))
	for i, n := range h.params {
		ps[i] = strconv.Itoa(n)
	}
	return h.kind + "(" + strings.Join(ps, ",") + ")"
}

// duckDB is the type of the DuckDB column the sandbox loads the column
// into.
func (h *hiveType) duckDB() string {
	switch h.kind {
	case "string", "varchar", "char":
		return "VARCHAR"
	case "int":
		return "INTEGER"
	case "bigint":
		return "BIGINT"
	case "smallint":
		return "SMALLINT"
	case "tinyint":
		return "TINYINT"
	case "double":
		return "DOUBLE"
	case "float":
		return "FLOAT"
	case "boolean":
		return "BOOLEAN"
	case "date":
		return "DATE"
	case "timestamp":
		return "TIMESTAMP"
	case "binary":
		return "BLOB"
	case "decimal":
		p, s := h.decimalPrecision()
		return fmt.Sprintf("DECIMAL(%d,%d)", p, s)
	case "array":
		return h.elem.duckDB() + "[]"
	case "map":
		return "MAP(" + h.key.duckDB() + ", " + h.value.duckDB() + ")"
	}
	parts := make([]string, len(h.fields))
	for i, f := range h.fields {
		parts[i] = quoteIdent(f.name) + " " + f.typ.duckDB()
	}
	return "STRUCT(" + strings.Join(parts, ", ") + ")"
}

// decimalPrecision is Hive's: decimal alone is decimal(10,0).
func (h *hiveType) decimalPrecision() (precision, scale int) {
	precision = 10
	if len(h.params) > 0 {
		precision = h.params[0]
	}
	if len(h.params) > 1 {
		scale = h.params[1]
	}
	return precision, scale
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// intBits is the width of each Hive integer type.
var intBits = map[string]int{"int": 32, "bigint": 64, "smallint": 16, "tinyint": 8}

// fromJSON converts one JSON value to the column's value as the Hive JSON
// SerDe reads it: object keys match column and field names whatever
// their case, a JSON object or array in a string column is its JSON text,
// numbers and booleans in a string column are their text, and a missing
// value, a JSON null or a value of another shape is NULL.
func (h *hiveType) fromJSON(raw json.RawMessage) any {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	switch h.kind {
	case "string", "varchar", "char":
		if raw[0] == '"' {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return nil
			}
			return s
		}
		var b bytes.Buffer
		if json.Compact(&b, raw) != nil {
			return nil
		}
		return b.String()
	case "int", "bigint", "smallint", "tinyint":
		n, err := strconv.ParseInt(scalarText(raw), 10, intBits[h.kind])
		if err != nil {
			return nil
		}
		switch h.kind {
		case "int":
			return int32(n)
		case "smallint":
			return int16(n)
		case "tinyint":
			return int8(n)
		}
		return n
	case "double", "float":
		f, err := strconv.ParseFloat(scalarText(raw), 64)
		if err != nil {
			return nil
		}
		if h.kind == "float" {
			return float32(f)
		}
		return f
	case "boolean":
		b, err := strconv.ParseBool(scalarText(raw))
		if err != nil {
			return nil
		}
		return b
	case "date":
		t, err := time.Parse("2006-01-02", scalarText(raw))
		if err != nil {
			return nil
		}
		return t
	case "timestamp":
		s := scalarText(raw)
		for _, layout := range []string{"2006-01-02 15:04:05.999999999", time.RFC3339Nano} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UTC()
			}
		}
		return nil
	case "decimal":
		return h.decimal(scalarText(raw))
	case "binary":
		return []byte(scalarText(raw))
	case "array":
		var elems []json.RawMessage
		if json.Unmarshal(raw, &elems) != nil {
			return nil
		}
		out := make([]any, len(elems))
		for i, e := range elems {
			out[i] = h.elem.fromJSON(e)
		}
		return out
	case "map":
		obj, ok := decodeObject(raw)
		if !ok {
			return nil
		}
		var m duckdb.OrderedMap
		for _, kv := range obj {
			key := h.key.fromJSON(json.RawMessage(strconv.Quote(kv.key)))
			if key != nil {
				m.Set(key, h.value.fromJSON(kv.value))
			}
		}
		return m
	}
	obj, ok := decodeObject(raw)
	if !ok {
		return nil
	}
	out := make(map[string]any, len(h.fields))
	for _, f := range h.fields {
		out[f.name] = f.typ.fromJSON(obj.get(f.name))
	}
	return out
}

// scalarText is a JSON scalar's text: a string unquoted, anything else
// as written.
func scalarText(raw json.RawMessage) string {
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return string(raw)
}

func (h *hiveType) decimal(s string) any {
	precision, scale := h.decimalPrecision()
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
	v := new(big.Int).Quo(r.Num(), r.Denom())
	return duckdb.Decimal{Width: uint8(precision), Scale: uint8(scale), Value: v}
}

// jsonObject is a JSON object's members in document order.
type jsonObject []jsonMember

type jsonMember struct {
	key   string
	value json.RawMessage
}

// get finds a member by name whatever its case, as the Hive JSON SerDe
// does; the last of several wins.
func (o jsonObject) get(name string) json.RawMessage {
	var found json.RawMessage
	for _, m := range o {
		if strings.EqualFold(m.key, name) {
			found = m.value
		}
	}
	return found
}

// decodeObject reads a JSON object's members; ok is false for anything
// else.
func decodeObject(raw json.RawMessage) (jsonObject, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	var obj jsonObject
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, _ := t.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, false
		}
		obj = append(obj, jsonMember{key: key, value: value})
	}
	return obj, true
}
