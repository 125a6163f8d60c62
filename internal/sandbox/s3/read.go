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
	if err := s.fillSeeds(bucketName, func(p string) bool { return strings.HasPrefix(p, prefix) || strings.HasPrefix(prefix, p) }); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[bucketName]
	if b == nil {
		return nil, errNoSuchBucket(bucketName)
	}
	var objects []ObjectSummary
	b.scan(listParams{prefix: prefix}, "", true, true, func(key string, _ bool) bool {
		objects = append(objects, ObjectSummary{Key: key, Size: b.Objects[key][0].Size})
		return true
	})
	return objects, nil
}

// GetObject returns the body of an object's current version, which the
// caller must not change.
func (s *Service) GetObject(bucketName, key string) ([]byte, error) {
	if err := s.fillSeeds(bucketName, func(p string) bool { return strings.HasPrefix(key, p) }); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[bucketName]
	if b == nil {
		return nil, errNoSuchBucket(bucketName)
	}
	versions := b.Objects[key]
	if len(versions) == 0 || versions[0].DeleteMarker {
		return nil, fmt.Errorf("s3://%s/%s: %w", bucketName, key, &s3Error{status: http.StatusNotFound, code: "NoSuchKey", message: "The specified key does not exist.", key: key})
	}
	return versions[0].Body, nil
}
