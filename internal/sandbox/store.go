package sandbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/s3"
)

// The data directory holds, for each service, a snapshot of its state
// (<service>.json) and a journal of the changes made since
// (<service>.<generation>.log, one JSON array of changes a line), and
// objects/<sha256>, each object body once.
//
// A change is durable once its journal line is synced, and only then
// acknowledged; bodies are written before the line that names them. A
// crash can leave only a torn last line, which restore drops: it was
// never acknowledged. When a journal has grown past its snapshot, the
// snapshot is rewritten (atomically, under the next generation) and a new
// journal started, so a write costs the size of the change, not of the
// state, and restoring replays a bounded journal.
const (
	objectsDir   = "objects"
	tempPrefix   = ".tmp-"
	storeVersion = 2
	// legacyStateFile is the whole state as version 1 kept it, rewritten
	// on every change.
	legacyStateFile = "state.json"
)

// journaled are the services that keep state, each in its own journal.
var journaled = []string{serviceAthena, serviceCloudTrail, serviceS3, serviceSTS}

// minCompaction is the journal size below which it is never compacted:
// small states are cheaper to replay than to rewrite. Tests lower it to
// compact at every write.
var minCompaction int64 = 1 << 20

// snapshotFile is a service's state at the start of its journal's
// generation.
type snapshotFile struct {
	Version    int
	Generation int
	State      json.RawMessage
}

// store is the data directory.
type store struct {
	dir string

	mu sync.Mutex
	// saved are the bodies on disk, so each is written once; loaded are
	// those a restored state names, so restore can remove the rest.
	saved  map[string]bool
	loaded map[string]bool
}

// savedState is what the data directory holds for one service: the
// journal to continue, and the snapshot and changes to restore.
type savedState struct {
	journal  awsapi.Journal
	snapshot json.RawMessage
	changes  []json.RawMessage
}

// load opens every service's journal in dir; without a data directory the
// store is nil and the journals keep nothing.
func load(dir string) (*store, map[string]savedState, error) {
	saved := map[string]savedState{}
	if dir == "" {
		for _, name := range journaled {
			saved[name] = savedState{journal: memory{}}
		}
		return nil, saved, nil
	}
	st, err := openStore(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, name := range journaled {
		j, snapshot, changes, err := st.journal(name)
		if err != nil {
			return nil, nil, err
		}
		saved[name] = savedState{journal: j, snapshot: snapshot, changes: changes}
	}
	return st, saved, nil
}

// bodiesWith is S3's store: its journal j, and the object bodies.
func (st *store) bodiesWith(j awsapi.Journal) s3.Store {
	if st == nil {
		return memory{}
	}
	return bodyJournal{Journal: j, store: st}
}

type bodyJournal struct {
	awsapi.Journal
	*store
}

// openStore prepares dir and turns a version 1 state file into version 2
// snapshots.
func openStore(dir string) (*store, error) {
	if err := os.MkdirAll(filepath.Join(dir, objectsDir), 0o755); err != nil {
		return nil, err
	}
	st := &store{dir: dir, saved: map[string]bool{}, loaded: map[string]bool{}}
	if err := st.upgradeLegacy(); err != nil {
		return nil, err
	}
	return st, nil
}

// upgradeLegacy splits a version 1 state.json into the services'
// snapshots. Its parts are the services' snapshot states unchanged, and
// state.json is removed last, so an upgrade cut short is done again.
func (st *store) upgradeLegacy() error {
	data, err := os.ReadFile(filepath.Join(st.dir, legacyStateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var legacy struct {
		Version    int
		Buckets    json.RawMessage
		Sessions   json.RawMessage
		CloudTrail json.RawMessage
	}
	if err := json.Unmarshal(data, &legacy); err != nil {
		return fmt.Errorf("parsing %s: %w", legacyStateFile, err)
	}
	if legacy.Version != 1 {
		return fmt.Errorf("%s has version %d, want 1", legacyStateFile, legacy.Version)
	}
	for name, state := range map[string]json.RawMessage{serviceS3: legacy.Buckets, serviceSTS: legacy.Sessions, serviceCloudTrail: legacy.CloudTrail} {
		if err := st.writeSnapshot(name, 1, state); err != nil {
			return err
		}
	}
	return os.Remove(filepath.Join(st.dir, legacyStateFile))
}

func (st *store) snapshotPath(name string) string { return filepath.Join(st.dir, name+".json") }

func (st *store) logPath(name string, gen int) string {
	return filepath.Join(st.dir, name+"."+strconv.Itoa(gen)+".log")
}

func (st *store) writeSnapshot(name string, gen int, state json.RawMessage) error {
	data, err := json.Marshal(snapshotFile{Version: storeVersion, Generation: gen, State: state})
	if err != nil {
		return fmt.Errorf("encoding the %s snapshot: %w", name, err)
	}
	return writeFileAtomic(st.snapshotPath(name), data)
}

// journal opens a service's journal and returns it with the state to
// restore: the snapshot and the changes logged since, in order.
func (st *store) journal(name string) (*journal, json.RawMessage, []json.RawMessage, error) {
	var snap snapshotFile
	data, err := os.ReadFile(st.snapshotPath(name))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, nil, nil, err
	default:
		if err := json.Unmarshal(data, &snap); err != nil {
			return nil, nil, nil, fmt.Errorf("parsing %s.json: %w", name, err)
		}
		if snap.Version != storeVersion {
			return nil, nil, nil, fmt.Errorf("%s.json has version %d, want %d", name, snap.Version, storeVersion)
		}
	}
	if err := st.removeStaleLogs(name, snap.Generation); err != nil {
		return nil, nil, nil, err
	}
	path := st.logPath(name, snap.Generation)
	changes, good, err := readJournal(path)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("reading the %s journal: %w", name, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, nil, err
	}
	// A torn last line was never acknowledged: cut it off, so the next
	// change starts a line of its own.
	if err := f.Truncate(good); err != nil {
		return nil, nil, nil, errors.Join(err, f.Close())
	}
	if _, err := f.Seek(good, 0); err != nil {
		return nil, nil, nil, errors.Join(err, f.Close())
	}
	if err := syncDir(st.dir); err != nil {
		return nil, nil, nil, errors.Join(err, f.Close())
	}
	j := &journal{st: st, name: name, gen: snap.Generation, f: f, size: good, compactAt: max(minCompaction, int64(len(data)))}
	return j, snap.State, changes, nil
}

// readJournal returns the changes of a journal file and the length of its
// complete lines.
func readJournal(path string) ([]json.RawMessage, int64, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	var changes []json.RawMessage
	var good int64
	for len(data) > 0 {
		line, rest, complete := bytes.Cut(data, []byte("\n"))
		if !complete {
			break
		}
		var batch []json.RawMessage
		if err := json.Unmarshal(line, &batch); err != nil {
			return nil, 0, fmt.Errorf("line at byte %d is corrupt: %w", good, err)
		}
		changes = append(changes, batch...)
		good += int64(len(line)) + 1
		data = rest
	}
	return changes, good, nil
}

// removeStaleLogs removes journals of generations other than gen: a
// compaction that wrote its snapshot leaves the previous journal behind
// if cut short.
func (st *store) removeStaleLogs(name string, gen int) error {
	stale, err := filepath.Glob(filepath.Join(st.dir, name+".*.log"))
	if err != nil {
		return err
	}
	for _, p := range stale {
		if p != st.logPath(name, gen) {
			if err := os.Remove(p); err != nil {
				return fmt.Errorf("removing stale journal: %w", err)
			}
		}
	}
	return nil
}

// SaveBody stores an object body once, under its SHA-256, and returns the
// name that LoadBody finds it by.
func (st *store) SaveBody(body []byte) (string, error) {
	name := bodyName(body)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.saved[name] {
		return name, nil
	}
	if err := writeFileAtomic(filepath.Join(st.dir, objectsDir, name), body); err != nil {
		return "", fmt.Errorf("saving object body: %w", err)
	}
	st.saved[name] = true
	return name, nil
}

// LoadBody reads a body SaveBody stored, checking it is intact.
func (st *store) LoadBody(name string) ([]byte, error) {
	body, err := os.ReadFile(filepath.Join(st.dir, objectsDir, name))
	if err != nil {
		return nil, err
	}
	if bodyName(body) != name {
		return nil, fmt.Errorf("body file %s is corrupt", name)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.saved[name], st.loaded[name] = true, true
	return body, nil
}

func bodyName(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// removeUnreferenced removes what a crash or deletes left behind once
// every service is restored: temporary files and bodies no state named.
func (st *store) removeUnreferenced() error {
	if st == nil {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, sub := range []string{st.dir, filepath.Join(st.dir, objectsDir)} {
		entries, err := os.ReadDir(sub)
		if err != nil {
			return err
		}
		for _, e := range entries {
			name := e.Name()
			stale := strings.HasPrefix(name, tempPrefix) || (sub != st.dir && !st.loaded[name])
			if !stale || e.IsDir() {
				continue
			}
			if err := os.Remove(filepath.Join(sub, name)); err != nil {
				return fmt.Errorf("removing stale %s: %w", name, err)
			}
			delete(st.saved, name)
		}
	}
	return nil
}

// journal is one service's log of changes.
type journal struct {
	st   *store
	name string

	mu        sync.Mutex
	gen       int
	f         *os.File
	size      int64
	compactAt int64
}

// Write makes changes durable as one line. When the journal has grown
// past compactAt it calls snapshot, which the caller's lock keeps still,
// and starts the next generation from it.
func (j *journal) Write(snapshot func() any, changes ...any) error {
	if len(changes) == 0 {
		return nil
	}
	line, err := json.Marshal(changes)
	if err != nil {
		return fmt.Errorf("encoding %s changes: %w", j.name, err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("writing the %s journal: %w", j.name, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("syncing the %s journal: %w", j.name, err)
	}
	j.size += int64(len(line)) + 1
	if j.size < j.compactAt {
		return nil
	}
	return j.compact(snapshot())
}

// compact writes state as the next generation's snapshot, then starts
// that generation's empty journal and removes the old one. j.mu is held.
func (j *journal) compact(state any) error {
	data, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("encoding the %s snapshot: %w", j.name, err)
	}
	next := j.gen + 1
	if err := j.st.writeSnapshot(j.name, next, data); err != nil {
		return err
	}
	f, err := os.OpenFile(j.st.logPath(j.name, next), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	old := j.f
	j.f, j.gen, j.size, j.compactAt = f, next, 0, max(minCompaction, int64(len(data)))
	return errors.Join(old.Close(), os.Remove(j.st.logPath(j.name, next-1)), syncDir(j.st.dir))
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
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	if err := errors.Join(d.Sync(), d.Close()); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// memory is the store without a data directory: state lives only in
// memory.
type memory struct{}

func (memory) Write(func() any, ...any) error { return nil }

func (memory) SaveBody([]byte) (string, error) { return "", nil }

func (memory) LoadBody(name string) ([]byte, error) {
	return nil, fmt.Errorf("no data directory to load body %s from", name)
}
