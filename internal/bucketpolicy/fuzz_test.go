package bucketpolicy

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParse reads any document as a policy: the Options Parse recovers
// build a policy that parses back to them.
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
	f.Fuzz(func(t *testing.T, doc string) {
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
