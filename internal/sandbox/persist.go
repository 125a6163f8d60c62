package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The data directory holds state.json (everything but object bodies) and
// objects/<sha256>, each body once. Bodies are written before the state
// that names them, and every file is replaced atomically, so a crash at
// any point leaves the last acknowledged state readable.
const (
	stateFile    = "state.json"
	objectsDir   = "objects"
	tempPrefix   = ".tmp-"
	stateVersion = 1
)

type persistedState struct {
	Version    int
	Buckets    map[string]*bucket
	Sessions   map[string]*session
	CloudTrail *cloudTrailState
}

// persistLocked writes the whole state to the data directory. s.mu is
// held; without a data directory it does nothing.
func (s *Server) persistLocked() error {
	dir := s.opts.DataDir
	if dir == "" {
		return nil
	}
	for _, b := range s.buckets {
		for _, versions := range b.Objects {
			for _, v := range versions {
				if v.DeleteMarker || s.savedBodies[v.BodyHash] {
					continue
				}
				if err := writeFileAtomic(filepath.Join(dir, objectsDir, v.BodyHash), v.Body); err != nil {
					return fmt.Errorf("saving object body: %w", err)
				}
				s.savedBodies[v.BodyHash] = true
			}
		}
	}
	data, err := json.Marshal(persistedState{Version: stateVersion, Buckets: s.buckets, Sessions: s.sessions, CloudTrail: s.ct})
	if err != nil {
		return fmt.Errorf("encoding sandbox state: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, stateFile), data); err != nil {
		return fmt.Errorf("saving sandbox state: %w", err)
	}
	return nil
}

// writeFileAtomic replaces path with data: a synced temporary file renamed
// over it, then the directory synced so the rename itself is durable.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return errors.Join(fmt.Errorf("writing %s: %w", path, err), os.Remove(tmp))
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	if err := errors.Join(d.Sync(), d.Close()); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// restore loads the data directory's state, if any, and removes what a
// crash or later deletes left behind: temporary files and unreferenced
// bodies.
func (s *Server) restore() error {
	dir := s.opts.DataDir
	if err := os.MkdirAll(filepath.Join(dir, objectsDir), 0o755); err != nil {
		return err
	}
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return removeUnreferenced(dir, nil)
	}
	if err != nil {
		return err
	}
	var st persistedState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("parsing %s: %w", stateFile, err)
	}
	if st.Version != stateVersion {
		return fmt.Errorf("%s has version %d, want %d", stateFile, st.Version, stateVersion)
	}
	bodies := map[string][]byte{}
	for name, b := range st.Buckets {
		if b.Objects == nil {
			b.Objects = map[string][]*objectVersion{}
		}
		for key, versions := range b.Objects {
			for _, v := range versions {
				if v.DeleteMarker {
					continue
				}
				body, ok := bodies[v.BodyHash]
				if !ok {
					if body, err = os.ReadFile(filepath.Join(dir, objectsDir, v.BodyHash)); err != nil {
						return fmt.Errorf("object %s/%s: %w", name, key, err)
					}
					if hashHex(body) != v.BodyHash {
						return fmt.Errorf("object %s/%s: body file %s is corrupt", name, key, v.BodyHash)
					}
					bodies[v.BodyHash] = body
				}
				v.Body = body
			}
		}
	}
	if st.Buckets != nil {
		s.buckets = st.Buckets
	}
	if st.Sessions != nil {
		s.sessions = st.Sessions
	}
	s.ct = st.CloudTrail
	for h := range bodies {
		s.savedBodies[h] = true
	}
	return removeUnreferenced(dir, bodies)
}

func removeUnreferenced(dir string, bodies map[string][]byte) error {
	for _, sub := range []string{dir, filepath.Join(dir, objectsDir)} {
		entries, err := os.ReadDir(sub)
		if err != nil {
			return err
		}
		for _, e := range entries {
			name := e.Name()
			_, referenced := bodies[name]
			stale := strings.HasPrefix(name, tempPrefix) || (sub != dir && !referenced)
			if !stale || e.IsDir() {
				continue
			}
			if err := os.Remove(filepath.Join(sub, name)); err != nil {
				return fmt.Errorf("removing stale %s: %w", name, err)
			}
		}
	}
	return nil
}
