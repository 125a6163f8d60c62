package sigma

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// field is a dotted field name and its path into nested objects.
type field struct {
	name string
	path []string
}

// Record is one CloudTrail record as rules read it: the record's JSON
// decoded once (encoding/json's map[string]any) and shared by every rule.
// Reuse one Record for a stream of events with Reset. A Record is not safe
// for concurrent use: it keeps scratch space and, until the next Reset, the
// JSON text of the object fields some rule compared.
type Record struct {
	fields map[string]any
	// objectValues caches, by field name, the values of fields that reach
	// objects, whose JSON text is costly to make.
	objectValues map[string][]string
	buf          []string
	sawObject    bool
	present      bool
}

// NewRecord returns a Record over a decoded CloudTrail record.
func NewRecord(fields map[string]any) *Record {
	r := &Record{}
	r.Reset(fields)
	return r
}

// Reset points the Record at the next decoded record.
func (r *Record) Reset(fields map[string]any) {
	r.fields = fields
	clear(r.objectValues)
}

// values returns the non-null values the field reaches, as text: arrays
// are looked through (any element), objects are their JSON text. The
// slice is valid until the next call.
func (r *Record) values(f *field) []string {
	if vs, ok := r.objectValues[f.name]; ok {
		return vs
	}
	r.buf, r.sawObject, r.present = r.buf[:0], false, false
	r.collect(r.fields, f.path)
	if !r.sawObject {
		return r.buf
	}
	vs := append([]string(nil), r.buf...)
	if r.objectValues == nil {
		r.objectValues = map[string][]string{}
	}
	r.objectValues[f.name] = vs
	return vs
}

// exists reports whether the record has the field, null or not.
func (r *Record) exists(f *field) bool {
	r.buf, r.sawObject, r.present = r.buf[:0], false, false
	r.collect(r.fields, f.path)
	return r.present
}

func (r *Record) collect(v any, path []string) {
	switch x := v.(type) {
	case map[string]any:
		if len(path) == 0 {
			r.present, r.sawObject = true, true
			r.buf = append(r.buf, jsonText(x))
			return
		}
		if child, ok := x[path[0]]; ok {
			r.collect(child, path[1:])
		}
		return
	case []any:
		if len(path) == 0 {
			r.present = true
		}
		for _, e := range x {
			r.collect(e, path)
		}
		return
	}
	if len(path) > 0 {
		return
	}
	r.present = true
	switch x := v.(type) {
	case string:
		r.buf = append(r.buf, x)
	case bool:
		r.buf = append(r.buf, strconv.FormatBool(x))
	case float64:
		r.buf = append(r.buf, strconv.FormatFloat(x, 'f', -1, 64))
	}
}

// jsonText is an object's compact JSON with keys sorted and without
// encoding/json's HTML escaping, so that rules can look for <, > and &.
func jsonText(m map[string]any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		// A map decoded from JSON always encodes.
		return ""
	}
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}
