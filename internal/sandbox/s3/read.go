package s3

import (
	"fmt"
	"net/http"
	"strings"
)

// ObjectSummary is a current object as a service that reads a bucket
// (Athena) lists it.
type ObjectSummary struct {
	Key  string
	Size int64
}

// ListObjects returns the current objects whose keys start with prefix,
// in key order, as a service reads them: no request, no record; the
// parts of a seeded bucket under prefix are made first, as for a client.
func (s *Service) ListObjects(bucketName, prefix string) ([]ObjectSummary, error) {
	var objects []ObjectSummary
	err := s.readBucket(bucketName, func(p string) bool { return strings.HasPrefix(p, prefix) || strings.HasPrefix(prefix, p) }, func(b *bucket) error {
		b.scan(listParams{prefix: prefix}, "", true, true, func(key string, _ bool) bool {
			objects = append(objects, ObjectSummary{Key: key, Size: b.Objects[key][0].Size})
			return true
		})
		return nil
	})
	return objects, err
}

// GetObject returns the body of an object's current version, which the
// caller must not change.
func (s *Service) GetObject(bucketName, key string) ([]byte, error) {
	var body []byte
	err := s.readBucket(bucketName, func(p string) bool { return strings.HasPrefix(key, p) }, func(b *bucket) error {
		versions := b.Objects[key]
		if len(versions) == 0 || versions[0].DeleteMarker {
			return fmt.Errorf("s3://%s/%s: %w", bucketName, key, &s3Error{status: http.StatusNotFound, code: "NoSuchKey", message: "The specified key does not exist.", key: key})
		}
		body = versions[0].Body
		return nil
	})
	return body, err
}

// readBucket makes the parts of a seeded bucket that scope names, as for
// a client's request, then reads the bucket with s.mu held.
func (s *Service) readBucket(name string, scope func(prefix string) bool, read func(b *bucket) error) error {
	if err := s.fillSeeds(name, scope); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[name]
	if b == nil {
		return errNoSuchBucket(name)
	}
	return read(b)
}
