package s3

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestScanMatchesAFullSort pages through random buckets with random
// prefixes, delimiters and markers, and compares every page with a
// listing made the slow way: every key sorted, filtered and rolled up.
func TestScanMatchesAFullSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	parts := []string{"a", "b", "a/", "b/", "ab", "/", "\xff", "a\xff"}
	word := func(n int) string {
		var sb strings.Builder
		for range n {
			sb.WriteString(parts[rng.IntN(len(parts))])
		}
		return sb.String()
	}
	for round := range 300 {
		b := &bucket{Objects: map[string][]*objectVersion{}}
		for range rng.IntN(40) {
			b.setVersions(word(1+rng.IntN(4)), []*objectVersion{{DeleteMarker: rng.IntN(5) == 0}})
		}
		p := listParams{prefix: word(rng.IntN(2)), maxKeys: 1 + rng.IntN(5)}
		if rng.IntN(3) > 0 {
			p.delimiter = []string{"/", "b", "\xff"}[rng.IntN(3)]
		}
		want := slowListing(b, p)
		var got []string
		after := ""
		for page := 0; ; page++ {
			objects, prefixes, next, truncated := listCurrent(b, p, after, false)
			// Within a page, objects and prefixes are each in order; merged
			// they are the listing's order.
			for _, o := range objects {
				got = append(got, o.Key)
			}
			for _, cp := range prefixes {
				got = append(got, cp.Prefix)
			}
			if !truncated {
				break
			}
			if page > 100 {
				t.Fatalf("round %d: listing does not end", round)
			}
			after = next
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: prefix %q delimiter %q max %d: listed %q, want %q", round, p.prefix, p.delimiter, p.maxKeys, got, want)
		}
	}
}

// slowListing is every current key under p.prefix, rolled up, in order.
func slowListing(b *bucket, p listParams) []string {
	var out []string
	for k, versions := range b.Objects {
		if !strings.HasPrefix(k, p.prefix) || versions[0].DeleteMarker {
			continue
		}
		if cp, rolled := p.rollUp(k); rolled {
			k = cp
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func TestPrefixEnd(t *testing.T) {
	for in, want := range map[string]string{"a/": "a0", "a\xff": "b", "\xff\xff": "", "": ""} {
		if got := prefixEnd(in); got != want {
			t.Errorf("prefixEnd(%q) = %q, want %q", in, got, want)
		}
	}
}
