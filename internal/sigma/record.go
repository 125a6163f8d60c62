package sigma

import (
	"errors"
	"fmt"

	"github.com/valyala/fastjson"
)

// field is a dotted field name and its path into nested objects.
type field struct {
	name string
	path []string
}

// Record is one CloudTrail record as rules read it, parsed once and shared
// by every rule. Reuse one Record for a stream of events with Reset: its
// parser then reuses its memory, which is what makes matching many events
// cheap (encoding/json's map[string]any costs ten times the parse). A
// Record is not safe for concurrent use.
type Record struct {
	parser fastjson.Parser
	root   *fastjson.Value
	// objectValues caches, by field name, the values of fields that reach
	// objects, whose JSON text is made on first use.
	objectValues map[string][][]byte
	buf          [][]byte
	sawObject    bool
	present      bool
}

var (
	jsonTrue  = []byte("true")
	jsonFalse = []byte("false")
)

// Reset parses the next record, the JSON object of one CloudTrail record.
// On error the Record matches nothing until the next Reset.
func (r *Record) Reset(record string) error {
	clear(r.objectValues)
	r.root = nil
	v, err := r.parser.Parse(record)
	if err != nil {
		return fmt.Errorf("parsing the CloudTrail record: %w", err)
	}
	if v.Type() != fastjson.TypeObject {
		return errors.New("the CloudTrail record is not a JSON object")
	}
	r.root = v
	return nil
}

// values returns the non-null values the field reaches, as text: arrays
// are looked through (any element), objects are their JSON text, numbers
// and booleans as written. The slice is valid until the next call.
func (r *Record) values(f *field) [][]byte {
	if vs, ok := r.objectValues[f.name]; ok {
		return vs
	}
	r.walk(f)
	if !r.sawObject {
		return r.buf
	}
	vs := append([][]byte(nil), r.buf...)
	if r.objectValues == nil {
		r.objectValues = map[string][][]byte{}
	}
	r.objectValues[f.name] = vs
	return vs
}

// exists reports whether the record has the field, null or not.
func (r *Record) exists(f *field) bool {
	r.walk(f)
	return r.present
}

func (r *Record) walk(f *field) {
	r.buf, r.sawObject, r.present = r.buf[:0], false, false
	if r.root != nil {
		r.collect(r.root, f.path)
	}
}

func (r *Record) collect(v *fastjson.Value, path []string) {
	switch v.Type() {
	case fastjson.TypeObject:
		if len(path) == 0 {
			r.present, r.sawObject = true, true
			r.buf = append(r.buf, v.MarshalTo(nil))
		} else if child := v.Get(path[0]); child != nil {
			r.collect(child, path[1:])
		}
		return
	case fastjson.TypeArray:
		if len(path) == 0 {
			r.present = true
		}
		for _, e := range v.GetArray() {
			r.collect(e, path)
		}
		return
	}
	if len(path) > 0 {
		return
	}
	r.present = true
	switch v.Type() {
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		r.buf = append(r.buf, s)
	case fastjson.TypeNumber:
		r.buf = append(r.buf, v.MarshalTo(nil))
	case fastjson.TypeTrue:
		r.buf = append(r.buf, jsonTrue)
	case fastjson.TypeFalse:
		r.buf = append(r.buf, jsonFalse)
	}
}
