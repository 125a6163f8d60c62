package athena

import (
	"encoding/json"
	"maps"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

// state is Athena's state that persists across restarts.
type state struct {
	// Catalogs by scope (account/region).
	Catalogs map[string]*catalog `json:",omitempty"`
	// Executions by query execution id.
	Executions map[string]*execution `json:",omitempty"`
}

// change is one change to Athena's state as its journal keeps it.
type change struct {
	Scope string `json:",omitempty"`
	// Database is a database after it was created, without its tables;
	// DroppedDatabase one that was dropped with its tables.
	Database        *database `json:",omitempty"`
	DroppedDatabase string    `json:",omitempty"`
	// TableDatabase holds Table, a table after it was created, or
	// DroppedTable, one that was dropped.
	TableDatabase string `json:",omitempty"`
	Table         *table `json:",omitempty"`
	DroppedTable  string `json:",omitempty"`
	// Execution is a query execution after its state changed.
	Execution *execution `json:",omitempty"`
}

func (s *Service) databaseCreatedLocked(sc string, d *database) {
	c := *d
	c.Tables = nil
	s.pending = append(s.pending, change{Scope: sc, Database: &c})
}

func (s *Service) executionChangedLocked(ex *execution) {
	c := *ex
	s.pending = append(s.pending, change{Execution: &c})
}

// flushLocked writes the changes noted since the last flush. s.mu is
// held.
func (s *Service) flushLocked() error {
	changes := s.pending
	s.pending = nil
	return s.cfg.Journal.Write(s.snapshotLocked, changes...)
}

func (s *Service) snapshotLocked() any { return s.state }

// Restore rebuilds the catalogs and query executions from a snapshot and
// the changes since. A query that had not finished when the sandbox
// stopped failed with it.
func (s *Service) Restore(snapshot json.RawMessage, changes []json.RawMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := replay(s.state, snapshot, changes)
	if err != nil {
		return err
	}
	for _, ex := range s.state.Executions {
		if !ex.finished() {
			ex.fail(&queryFailure{reason: "The sandbox stopped before the query finished.", category: 1, errorType: 100}, s.now())
		}
	}
	return nil
}

func replay(st *state, snapshot json.RawMessage, changes []json.RawMessage) error {
	return awsapi.Replay(snapshot, st, changes, func(c change) error {
		if st.Catalogs == nil {
			st.Catalogs = map[string]*catalog{}
		}
		if st.Executions == nil {
			st.Executions = map[string]*execution{}
		}
		switch {
		case c.Execution != nil:
			st.Executions[c.Execution.ID] = c.Execution
			return nil
		case c.Scope == "":
			return nil
		}
		cat := st.Catalogs[c.Scope]
		if cat == nil {
			// The default database was made with the catalog, unjournaled.
			cat = newCatalog(time.Time{})
			st.Catalogs[c.Scope] = cat
		}
		switch {
		case c.Database != nil:
			d := *c.Database
			d.Tables = map[string]*table{}
			if old := cat.Databases[d.Name]; old != nil {
				maps.Copy(d.Tables, old.Tables)
			}
			cat.Databases[d.Name] = &d
		case c.DroppedDatabase != "":
			delete(cat.Databases, c.DroppedDatabase)
		case c.Table != nil:
			if d := cat.Databases[c.TableDatabase]; d != nil {
				if d.Tables == nil {
					d.Tables = map[string]*table{}
				}
				d.Tables[c.Table.Name] = c.Table
			}
		case c.DroppedTable != "":
			if d := cat.Databases[c.TableDatabase]; d != nil {
				delete(d.Tables, c.DroppedTable)
			}
		}
		return nil
	})
}
