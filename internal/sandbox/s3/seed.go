package s3

import (
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

// seedPart is one part of a seeded bucket, and whether it was made.
type seedPart struct {
	prefix string
	fill   func() ([]awsapi.Object, error)
	once   sync.Once
	err    error
}

// ErrBucketExists is SeedBucket's answer when the name is taken.
var ErrBucketExists = errors.New("a bucket of that name exists")

// SeedBucket creates a bucket that exists from the start (see
// awsapi.BucketSeed), with AWS's default settings and the given policy.
// Its parts are made the first time a client request reads or changes
// something under their prefixes; objects written there by services
// (PutObject) before that stay as they are.
func (s *Service) SeedBucket(seed awsapi.BucketSeed) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.buckets[seed.Name]; ok {
		return fmt.Errorf("seeding bucket %s: %w", seed.Name, ErrBucketExists)
	}
	b := newBucket(seed.Name, seed.Account, seed.Region, seed.Created, "BucketOwnerEnforced")
	b.Policy, b.PolicyWritten = seed.Policy, seed.Created
	b.seeds = []*seedPart{}
	for _, p := range seed.Parts {
		b.seeds = append(b.seeds, &seedPart{prefix: p.Prefix, fill: p.Fill})
	}
	s.buckets[seed.Name] = b
	return nil
}

// seedScope says which parts of a seeded bucket a request needs made
// before it runs: those it reads or changes objects under. nil needs none.
func seedScope(r *http.Request, t s3Target, op s3Op) func(prefix string) bool {
	switch op.name {
	case "GetObject", "HeadObject", "PutObject", "DeleteObject", "CopyObject", "CompleteMultipartUpload":
		return func(p string) bool { return strings.HasPrefix(t.key, p) }
	case "ListObjects", "ListObjectsV2", "ListObjectVersions":
		lp := r.URL.Query().Get("prefix")
		return func(p string) bool { return strings.HasPrefix(p, lp) || strings.HasPrefix(lp, p) }
	case "DeleteObjects", "DeleteBucket":
		return func(string) bool { return true }
	}
	return nil
}

// fillSeeds makes the parts of a seeded bucket that scope names, side by
// side, without s.mu held: making one can take a while. A request
// that needs a part another request is making waits for it.
func (s *Service) fillSeeds(name string, scope func(prefix string) bool) error {
	if scope == nil {
		return nil
	}
	s.mu.Lock()
	b := s.buckets[name]
	var due []*seedPart
	if b != nil {
		for _, p := range b.seeds {
			if scope(p.prefix) {
				due = append(due, p)
			}
		}
	}
	s.mu.Unlock()
	// Making a part takes a processor and holds its garbage until done:
	// as many at once as there are processors.
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for _, p := range due {
		g.Go(func() error {
			p.once.Do(func() { p.err = s.fillPart(b, p) })
			return p.err
		})
	}
	return g.Wait()
}

// fillPart makes a part's objects and adds them to the bucket, below any
// a service wrote since the start.
func (s *Service) fillPart(b *bucket, p *seedPart) error {
	objects, err := p.fill()
	if err != nil {
		return fmt.Errorf("making the objects of s3://%s/%s: %w", b.Name, p.prefix, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range objects {
		if _, ok := b.Objects[o.Key]; ok {
			continue
		}
		v := newObjectVersion(o.Body, o.ContentType, o.LastModified, b.Account, defaultSSE(b))
		v.VersionID = nullVersion
		for name, value := range o.Metadata {
			v.setMetadata(name, value)
		}
		b.Objects[o.Key] = []*objectVersion{v}
		b.index().ReplaceOrInsert(o.Key)
	}
	return nil
}
