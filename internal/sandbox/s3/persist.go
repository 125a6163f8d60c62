package s3

import (
	"encoding/json"
	"fmt"
	"log"
	"maps"
	"slices"
	"sort"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

// change is one change to S3's state as its journal keeps it: a
// bucket's settings, its deletion, or one key's versions.
type change struct {
	Bucket string
	// Settings are the bucket's settings after it was created or changed;
	// its objects are left out.
	Settings *bucket `json:",omitempty"`
	Deleted  bool    `json:",omitempty"`
	Key      string  `json:",omitempty"`
	// Versions are the key's versions after a write, newest first; none
	// when the key is gone.
	Versions []*objectVersion `json:",omitempty"`
	// UploadID names a multipart upload, and Upload is it after a write;
	// none when it was completed or aborted.
	UploadID string           `json:",omitempty"`
	Upload   *multipartUpload `json:",omitempty"`
}

// saveBucketLocked writes what a call changed in one bucket: its settings
// when settings is set (or its deletion), and the keys it wrote. s.mu is
// held.
func (s *Service) saveBucketLocked(name string, settings bool) error {
	b := s.buckets[name]
	if b != nil && b.seeds != nil {
		b.touched, b.touchedUploads = nil, nil
		return nil
	}
	var changes []any
	switch {
	case b == nil:
		changes = append(changes, change{Bucket: name, Deleted: true})
	case settings:
		c := *b
		c.Objects, c.Uploads, c.touched, c.touchedUploads = nil, nil, nil, nil
		changes = append(changes, change{Bucket: name, Settings: &c})
	}
	if b != nil {
		keys := make([]string, 0, len(b.touched))
		for k := range b.touched {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			changes = append(changes, change{Bucket: name, Key: k, Versions: b.Objects[k]})
		}
		for _, id := range slices.Sorted(maps.Keys(b.touchedUploads)) {
			changes = append(changes, change{Bucket: name, UploadID: id, Upload: b.Uploads[id]})
		}
		b.touched, b.touchedUploads = nil, nil
	}
	return s.cfg.Store.Write(s.snapshotLocked, changes...)
}

// saveBodyLocked stores a new body, unless its bucket is seeded and so
// never saved, and returns the name LoadBody finds it by. s.mu is held.
func (s *Service) saveBodyLocked(b *bucket, body []byte) (string, error) {
	if b.seeds != nil {
		return "", nil
	}
	return s.cfg.Store.SaveBody(body)
}

// storeBodyLocked is saveBodyLocked for a request: a failure is the
// sandbox's own, logged and answered InternalError. s.mu is held.
func (s *Service) storeBodyLocked(b *bucket, body []byte) (string, *s3Error) {
	name, err := s.saveBodyLocked(b, body)
	if err != nil {
		log.Printf("sandbox: saving an S3 object body: %v", err)
		return "", errInternal()
	}
	return name, nil
}

// snapshotLocked is S3's whole state: every bucket with its objects, but
// the seeded ones. s.mu is held.
func (s *Service) snapshotLocked() any {
	saved := make(map[string]*bucket, len(s.buckets))
	for name, b := range s.buckets {
		if b.seeds == nil {
			saved[name] = b
		}
	}
	return saved
}

// Restore rebuilds S3's state from a snapshot and the changes since, and
// reads back every body the state names.
func (s *Service) Restore(snapshot json.RawMessage, changes []json.RawMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Buckets in the snapshot have all their objects; a change to a key
	// names a bucket a change before it created.
	err := awsapi.Replay(snapshot, &s.buckets, changes, func(c change) error {
		switch {
		case c.Deleted:
			delete(s.buckets, c.Bucket)
		case c.Settings != nil:
			c.Settings.Objects = map[string][]*objectVersion{}
			if old := s.buckets[c.Bucket]; old != nil {
				c.Settings.Objects, c.Settings.Uploads = old.Objects, old.Uploads
			}
			s.buckets[c.Bucket] = c.Settings
		case c.UploadID != "":
			b := s.buckets[c.Bucket]
			if b == nil {
				return fmt.Errorf("upload %q of a bucket %q that does not exist", c.UploadID, c.Bucket)
			}
			b.setUpload(c.UploadID, c.Upload)
		default:
			b := s.buckets[c.Bucket]
			if b == nil {
				return fmt.Errorf("key %q of a bucket %q that does not exist", c.Key, c.Bucket)
			}
			if b.Objects == nil {
				b.Objects = map[string][]*objectVersion{}
			}
			b.setVersions(c.Key, c.Versions)
		}
		return nil
	})
	if err != nil {
		return err
	}
	bodies := map[string][]byte{}
	load := func(hash, what string) ([]byte, error) {
		body, ok := bodies[hash]
		if !ok {
			var err error
			if body, err = s.cfg.Store.LoadBody(hash); err != nil {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
			bodies[hash] = body
		}
		return body, nil
	}
	for name, b := range s.buckets {
		b.touched, b.touchedUploads = nil, nil
		if b.Objects == nil {
			b.Objects = map[string][]*objectVersion{}
		}
		b.reindex()
		for key, versions := range b.Objects {
			for _, v := range versions {
				if v.DeleteMarker {
					continue
				}
				if v.Body, err = load(v.BodyHash, "object "+name+"/"+key); err != nil {
					return err
				}
			}
		}
		for id, u := range b.Uploads {
			for n, p := range u.Parts {
				if p.Body, err = load(p.BodyHash, fmt.Sprintf("part %d of upload %s of %s/%s", n, id, name, u.Key)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
