package s3

// ObjectSummary is a current object as a service that reads a bucket
// (Athena) lists it.
type ObjectSummary struct {
	Key  string
	Size int64
}

// ListObjects returns the current objects whose keys start with prefix,
// in key order, as a service reads them: no request, no record. ok is
// false when there is no such bucket.
func (s *Service) ListObjects(bucketName, prefix string) (objects []ObjectSummary, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[bucketName]
	if b == nil {
		return nil, false
	}
	for _, k := range b.sortedKeys(prefix, true) {
		objects = append(objects, ObjectSummary{Key: k, Size: b.Objects[k][0].Size})
	}
	return objects, true
}

// GetObject returns the body of an object's current version, which the
// caller must not change; ok is false when there is no such bucket or
// object, or the current version is a delete marker.
func (s *Service) GetObject(bucketName, key string) (body []byte, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[bucketName]
	if b == nil {
		return nil, false
	}
	versions := b.Objects[key]
	if len(versions) == 0 || versions[0].DeleteMarker {
		return nil, false
	}
	return versions[0].Body, true
}
