package s3

import (
	"encoding/json"
	"fmt"
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
}

// saveBucketLocked writes what a call changed in one bucket: its settings
// when settings is set (or its deletion), and the keys it wrote. s.mu is
// held.
func (s *Service) saveBucketLocked(name string, settings bool) error {
	b := s.buckets[name]
	if b != nil && b.seeds != nil {
		b.touched = nil
		return nil
	}
	var changes []any
	switch {
	case b == nil:
		changes = append(changes, change{Bucket: name, Deleted: true})
	case settings:
		c := *b
		c.Objects, c.touched = nil, nil
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
		b.touched = nil
	}
	return s.cfg.Store.Write(s.snapshotLocked, changes...)
}

// saveBodyLocked stores a new version's body, unless its bucket is
// seeded and so never saved. s.mu is held.
func (s *Service) saveBodyLocked(b *bucket, v *objectVersion) error {
	if b.seeds != nil {
		return nil
	}
	name, err := s.cfg.Store.SaveBody(v.Body)
	v.BodyHash = name
	return err
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
				c.Settings.Objects = old.Objects
			}
			s.buckets[c.Bucket] = c.Settings
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
	for name, b := range s.buckets {
		b.touched = nil
		if b.Objects == nil {
			b.Objects = map[string][]*objectVersion{}
		}
		b.reindex()
		for key, versions := range b.Objects {
			for _, v := range versions {
				if v.DeleteMarker {
					continue
				}
				body, ok := bodies[v.BodyHash]
				if !ok {
					var err error
					if body, err = s.cfg.Store.LoadBody(v.BodyHash); err != nil {
						return fmt.Errorf("object %s/%s: %w", name, key, err)
					}
					bodies[v.BodyHash] = body
				}
				v.Body = body
			}
		}
	}
	return nil
}
