package athena

import (
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Hive's DDL failures, as Athena reports them.
const (
	ddlTaskError = "Execution Error, return code 1 from org.apache.hadoop.hive.ql.exec.DDLTask. "
)

// contextDatabase is the database a statement's unqualified names refer
// to: the query context's, else default.
func contextDatabase(ex *execution) string {
	if ex.Database != "" {
		return normalizeName(ex.Database)
	}
	return defaultDatabase
}

// ddl runs a DDL or SHOW statement against the catalog.
func (s *Service) ddl(ex *execution, st *statement) (resultTable, error) {
	db := st.database
	if db == "" {
		db = contextDatabase(ex)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cat := s.catalogLocked(ex.Scope)
	d := cat.Databases[db]
	var out resultTable
	switch st.kind {
	case stmtCreateDatabase:
		if d != nil {
			if st.ifNotExists {
				return out, nil
			}
			return out, hiveFailure(errTypeGeneric, "%sAlreadyExistsException(message:Database %s already exists)", ddlTaskError, db)
		}
		d = &database{Name: db, Description: st.dbDescription, Parameters: st.dbParams, Created: s.now(), Tables: map[string]*table{}}
		cat.Databases[db] = d
		s.databaseCreatedLocked(ex.Scope, d)
	case stmtDropDatabase:
		switch {
		case d == nil && st.ifExists:
			return out, nil
		case d == nil:
			return out, hiveFailure(errTypeTableNotFound, "SemanticException [Error 10072]: Database does not exist: %s", db)
		case db == defaultDatabase:
			return out, hiveFailure(errTypeGeneric, "%sMetaException(message:Can not drop default database)", ddlTaskError)
		case len(d.Tables) > 0 && !st.cascade:
			return out, hiveFailure(errTypeGeneric, "%sInvalidOperationException(message:Database %s is not empty. One or more tables exist.)", ddlTaskError, db)
		}
		delete(cat.Databases, db)
		s.pending = append(s.pending, change{Scope: ex.Scope, DroppedDatabase: db})
	case stmtCreateTable:
		if d == nil {
			return out, hiveFailure(errTypeTableNotFound, "SemanticException [Error 10072]: Database does not exist: %s", db)
		}
		if d.Tables[st.table] != nil {
			if st.ifNotExists {
				return out, nil
			}
			return out, hiveFailure(errTypeGeneric, "%sAlreadyExistsException(message:Table %s already exists)", ddlTaskError, st.table)
		}
		if f := validateTable(st.def); f != nil {
			return out, f
		}
		t := *st.def
		t.Created = s.now()
		d.Tables[t.Name] = &t
		s.pending = append(s.pending, change{Scope: ex.Scope, TableDatabase: db, Table: &t})
	case stmtDropTable:
		if d == nil || d.Tables[st.table] == nil {
			if st.ifExists {
				return out, nil
			}
			return out, hiveFailure(errTypeTableNotFound, "SemanticException [Error 10001]: Table not found %s.%s", db, st.table)
		}
		delete(d.Tables, st.table)
		s.pending = append(s.pending, change{Scope: ex.Scope, TableDatabase: db, DroppedTable: st.table})
	case stmtShowTables:
		if d == nil {
			return out, hiveFailure(errTypeTableNotFound, "SemanticException [Error 10072]: Database does not exist: %s", db)
		}
		out = nameList("tab_name", slices.Sorted(maps.Keys(d.Tables)), st.pattern)
	case stmtShowDatabases:
		out = nameList("database_name", slices.Sorted(maps.Keys(cat.Databases)), st.pattern)
	}
	if err := s.flushLocked(); err != nil {
		return out, err
	}
	return out, nil
}

// validateTable checks what Hive checks of a new table's columns and
// location.
func validateTable(t *table) *queryFailure {
	seen := map[string]bool{}
	for _, c := range t.Columns {
		if seen[c.Name] {
			return hiveFailure(errTypeGeneric, "SemanticException [Error 10036]: Duplicate column name: %s", c.Name)
		}
		seen[c.Name] = true
	}
	for _, c := range t.PartitionKeys {
		if seen[c.Name] {
			return hiveFailure(errTypeGeneric, "SemanticException [Error 10035]: Column repeated in partitioning columns")
		}
		seen[c.Name] = true
	}
	if _, _, ok := parseS3URL(t.Location); !ok {
		return hiveFailure(errTypeGeneric, "%sMetaException(message:%s is not an s3:// location)", ddlTaskError, t.Location)
	}
	return nil
}

// nameList is a SHOW statement's result: the names a Hive pattern
// matches ('*' any characters, '|' between alternatives, case ignored).
func nameList(column string, names []string, pattern *string) resultTable {
	out := resultTable{columns: []columnInfo{stringColumn(column)}}
	var re *regexp.Regexp
	if pattern != nil {
		alts := strings.Split(*pattern, "|")
		for i, a := range alts {
			alts[i] = strings.ReplaceAll(regexp.QuoteMeta(strings.TrimSpace(a)), `\*`, ".*")
		}
		re = regexp.MustCompile(`(?i)^(?:` + strings.Join(alts, "|") + `)$`)
	}
	for _, n := range names {
		if re == nil || re.MatchString(n) {
			out.rows = append(out.rows, []*string{&n})
		}
	}
	return out
}
