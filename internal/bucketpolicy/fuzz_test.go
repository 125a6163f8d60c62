package bucketpolicy

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/iampolicy"
)

// FuzzParse reads any document as a policy: iampolicy writes back what it
// read, and the Options Parse recovers build a policy that parses back
// to them.
func FuzzParse(f *testing.F) {
	for _, o := range []Options{
		{Bucket: bucket, AccountID: account, TrailARNs: []string{trailB, trailA}, KeyPrefix: "audit/logs", OrganizationID: "o-a1b2c3d4e5"},
		{Bucket: bucket, AccountID: account, TrailARNs: []string{trailA}},
	} {
		doc, err := Build(o)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(doc)
	}
	for _, name := range []string{"bucket_policy_hardened.json", "bucket_policy_public.json"} {
		doc, err := os.ReadFile(filepath.Join("..", "policy", "testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(doc))
	}
	f.Add(`{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Condition":{"Bool":{"aws:SecureTransport":false}}}}`)
	f.Fuzz(func(t *testing.T, doc string) {
		d, err := iampolicy.Parse(doc)
		if err != nil {
			return
		}
		out, err := d.JSON()
		if err != nil {
			t.Fatalf("writing back %q: %v", doc, err)
		}
		again, err := iampolicy.Parse(out)
		if err != nil || !reflect.DeepEqual(normalised(again), normalised(d)) {
			t.Fatalf("%q reads as %#v, written back as %s, which reads as %#v (%v)", doc, d, out, again, err)
		}
		o, err := Parse(doc)
		if err != nil {
			return
		}
		built, err := Build(o)
		if err != nil {
			return
		}
		back, err := Parse(built)
		if err != nil || !reflect.DeepEqual(back, o) {
			t.Fatalf("%q parses as %+v, which builds %s, which parses as %+v (%v)", doc, o, built, back, err)
		}
	})
}

// normalised makes the empty and nil forms of a document's lists and maps
// alike: JSON writes both as nothing.
func normalised(d iampolicy.Document) iampolicy.Document {
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
