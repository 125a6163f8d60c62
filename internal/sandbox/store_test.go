package sandbox

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// counter is a toy service state for the journal: named counts, changed
// by setting one at a time.
type counter map[string]int

type counterChange struct {
	Name  string
	Value int
}

func (c counter) apply(t *testing.T, snapshot json.RawMessage, changes []json.RawMessage) {
	t.Helper()
	if len(snapshot) > 0 {
		if err := json.Unmarshal(snapshot, &c); err != nil {
			t.Fatalf("snapshot %s: %v", snapshot, err)
		}
	}
	for _, raw := range changes {
		var ch counterChange
		if err := json.Unmarshal(raw, &ch); err != nil {
			t.Fatalf("change %s: %v", raw, err)
		}
		c[ch.Name] = ch.Value
	}
}

// reopen restores the counter from dir as a restart would.
func reopen(t *testing.T, dir string) (*journal, counter) {
	t.Helper()
	st, err := openStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	j, snapshot, changes, err := st.journal("counter")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := j.f.Close(); err != nil {
			t.Error(err)
		}
	})
	c := counter{}
	c.apply(t, snapshot, changes)
	return j, c
}

func TestJournalCompacts(t *testing.T) {
	dir := t.TempDir()
	j, c := reopen(t, dir)
	j.compactAt = 200
	snapshots := 0
	snapshot := func() any { snapshots++; return c }
	for i := range 100 {
		name := []string{"a", "b", "c"}[i%3]
		c[name] = i
		if err := j.Write(snapshot, counterChange{name, i}); err != nil {
			t.Fatal(err)
		}
	}
	if snapshots == 0 || snapshots > 50 {
		t.Errorf("%d snapshots for 100 changes with compaction at 200 bytes", snapshots)
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "counter.*.log"))
	if len(logs) != 1 || logs[0] != j.st.logPath("counter", j.gen) {
		t.Errorf("journals %v, want only generation %d's", logs, j.gen)
	}
	if _, restored := reopen(t, dir); !reflect.DeepEqual(restored, c) {
		t.Errorf("restored %v, want %v", restored, c)
	}
}

func TestJournalDropsATornLastLine(t *testing.T) {
	dir := t.TempDir()
	j, c := reopen(t, dir)
	snapshot := func() any { return c }
	if err := j.Write(snapshot, counterChange{"a", 1}, counterChange{"b", 2}); err != nil {
		t.Fatal(err)
	}
	// A crash in the middle of the next write.
	if _, err := j.f.WriteString(`[{"Name":"a","Val`); err != nil {
		t.Fatal(err)
	}
	j2, restored := reopen(t, dir)
	if want := (counter{"a": 1, "b": 2}); !reflect.DeepEqual(restored, want) {
		t.Fatalf("restored %v, want %v", restored, want)
	}
	// The next change starts a line of its own.
	if err := j2.Write(func() any { return restored }, counterChange{"c", 3}); err != nil {
		t.Fatal(err)
	}
	if _, again := reopen(t, dir); !reflect.DeepEqual(again, counter{"a": 1, "b": 2, "c": 3}) {
		t.Errorf("after a write past the torn line: %v", again)
	}
}

func TestJournalRejectsACorruptLine(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "counter.0.log"), []byte("[{\"Name\":\"a\",\"Value\":1}]\nnot json\n[]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := openStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := st.journal("counter"); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("journal with a corrupt line: %v, want an error", err)
	}
}

// TestJournalCompactionCutShort restores from a compaction that wrote its
// snapshot but crashed before it removed the previous journal: the
// snapshot holds everything, the old journal is stale.
func TestJournalCompactionCutShort(t *testing.T) {
	dir := t.TempDir()
	st, err := openStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(st.logPath("counter", 3), []byte("[{\"Name\":\"a\",\"Value\":1}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := st.writeSnapshot("counter", 4, json.RawMessage(`{"a":2}`)); err != nil {
		t.Fatal(err)
	}
	j, c := reopen(t, dir)
	if !reflect.DeepEqual(c, counter{"a": 2}) || j.gen != 4 {
		t.Errorf("restored %v at generation %d, want a=2 at 4", c, j.gen)
	}
	if _, err := os.Stat(st.logPath("counter", 3)); !os.IsNotExist(err) {
		t.Errorf("stale journal left: %v", err)
	}
}
