package s3

import (
	"strings"

	"github.com/google/btree"
)

// keyIndex orders a bucket's keys, so that a listing costs what it
// returns rather than the size of the bucket: an archive bucket holds
// hundreds of thousands of log files, and readers list one day's folder at
// a time.
type keyIndex = btree.BTreeG[string]

// indexDegree is the B-tree's branching: a few cache lines of string
// headers per node.
const indexDegree = 32

func newKeyIndex() *keyIndex {
	return btree.NewG(indexDegree, func(a, b string) bool { return a < b })
}

// index is the bucket's key index, made on first use.
func (b *bucket) index() *keyIndex {
	if b.keys == nil {
		b.keys = newKeyIndex()
	}
	return b.keys
}

// reindex rebuilds the key index from Objects, after they were read back
// from the data directory.
func (b *bucket) reindex() {
	b.keys = newKeyIndex()
	for k := range b.Objects {
		b.keys.ReplaceOrInsert(k)
	}
}

// scan visits, in order, the keys that start with p.prefix and sort after
// after (or at it, when inclusive), rolled up as p's delimiter says: visit
// gets a key, or a common prefix once (rolled true) while the keys under
// it are skipped unread, and returns false to stop. A common prefix equal
// to after was answered on an earlier page and is skipped. With
// currentOnly, keys whose current version is a delete marker are left
// out, and so is a common prefix with nothing else under it.
func (b *bucket) scan(p listParams, after string, inclusive, currentOnly bool, visit func(name string, rolled bool) bool) {
	for from := max(after, p.prefix); ; {
		seek := ""
		b.index().AscendGreaterOrEqual(from, func(k string) bool {
			switch {
			case k == after && !inclusive:
				return true
			case !strings.HasPrefix(k, p.prefix):
				return false
			case currentOnly && b.Objects[k][0].DeleteMarker:
				return true
			}
			cp, rolled := p.rollUp(k)
			if !rolled {
				return visit(k, false)
			}
			if cp != after && !visit(cp, true) {
				return false
			}
			seek = prefixEnd(cp)
			return false
		})
		// Nothing was rolled up (the scan ended), visit stopped it, or no
		// key can sort after the common prefix.
		if seek == "" {
			return
		}
		from = seek
	}
}

// prefixEnd is the least string greater than every string that starts
// with prefix, or "" when there is none.
func prefixEnd(prefix string) string {
	end := []byte(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return string(end[:i+1])
		}
	}
	return ""
}
