package iampolicy

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzDocumentJSON reads any document as a policy: what Parse reads, JSON
// writes back as a document that Parse reads the same.
func FuzzDocumentJSON(f *testing.F) {
	for _, name := range []string{"bucket_policy_hardened.json", "bucket_policy_public.json"} {
		doc, err := os.ReadFile(filepath.Join("..", "policy", "testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(doc))
	}
	f.Add(`{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Condition":{"Bool":{"aws:SecureTransport":false}}}}`)
	f.Fuzz(func(t *testing.T, doc string) {
		d, err := Parse(doc)
		if err != nil {
			return
		}
		out, err := d.JSON()
		if err != nil {
			t.Fatalf("writing back %q: %v", doc, err)
		}
		again, err := Parse(out)
		if err != nil || !reflect.DeepEqual(normalised(again), normalised(d)) {
			t.Fatalf("%q reads as %#v, written back as %s, which reads as %#v (%v)", doc, d, out, again, err)
		}
	})
}

// normalised makes the empty and nil forms of a document's lists and maps
// alike: JSON writes both as nothing.
func normalised(d Document) Document {
	if len(d.Statement) == 0 {
		d.Statement = nil
	}
	for i, s := range d.Statement {
		if len(s.Principal) == 0 {
			s.Principal = nil
		}
		if len(s.Action) == 0 {
			s.Action = nil
		}
		if len(s.Resource) == 0 {
			s.Resource = nil
		}
		if len(s.Condition) == 0 {
			s.Condition = nil
		}
		d.Statement[i] = s
	}
	return d
}
