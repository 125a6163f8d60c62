package athena

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/duckdb/duckdb-go/v2"
)

// target is a table a query reads, with the references to it.
type target struct {
	db   string
	t    *table
	refs []tableRef
}

// query runs a SELECT: it resolves the tables the query names, reads the
// files of the partitions it selects into DuckDB, and runs it there.
func (s *Service) query(ctx context.Context, ex *execution) (_ resultTable, res result, err error) {
	tr, err := translate(ex.Query, ex.Parameters)
	var syn *syntaxError
	if errors.As(err, &syn) {
		return resultTable{}, res, userError("SYNTAX_ERROR", errTypeGeneric, "%s", syn.Error())
	}
	if err != nil {
		return resultTable{}, res, err
	}
	contextDB := contextDatabase(ex)
	e, err := openEngine(ctx, contextDB, s.now())
	if err != nil {
		return resultTable{}, res, err
	}
	defer func() { err = errors.Join(err, e.close()) }()
	tree, err := serialize(ctx, e.conn, tr)
	if errors.As(err, &syn) {
		return resultTable{}, res, userError("SYNTAX_ERROR", errTypeGeneric, "%s", syn.Error())
	}
	if err != nil {
		return resultTable{}, res, err
	}
	stmts, _ := tree["statements"].([]any)
	if len(stmts) != 1 {
		return resultTable{}, res, userError("SYNTAX_ERROR", errTypeGeneric, "line 1:1: a query is one statement")
	}
	node, _ := stmts[0].(map[string]any)["node"].(map[string]any)
	targets, err := s.resolve(ex, tr, contextDB, tableRefs(node))
	if err != nil {
		return resultTable{}, res, err
	}
	template, err := e.selectTemplate(ctx)
	if err != nil {
		return resultTable{}, res, err
	}
	for _, tg := range targets {
		files, err := s.targetFiles(ctx, e, tg, template)
		if err != nil {
			return resultTable{}, res, err
		}
		for _, f := range files {
			res.files = append(res.files, f.url())
			res.scanned += f.size
		}
		if err := e.load(ctx, s, tg.db, tg.t, files); err != nil {
			return resultTable{}, res, err
		}
	}
	out, err := e.run(ctx, tr.sql, trinoNames(node))
	if err != nil {
		return resultTable{}, res, queryError(err)
	}
	return out, res, nil
}

// resolve finds the catalog's tables a query names, as Trino resolves
// them: an unqualified name in the context database, a two-part one in
// the named database, a three-part one in the named catalog.
func (s *Service) resolve(ex *execution, tr *translation, contextDB string, refs []tableRef) ([]*target, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cat := s.catalogLocked(ex.Scope)
	byName := map[string]*target{}
	var targets []*target
	for _, r := range refs {
		at, _ := tr.original(r.pos)
		where := fmt.Sprintf("line %d:%d: ", at.line, at.col)
		if r.catalog != "" && r.catalog != strings.ToLower(catalogName) {
			return nil, userError("CATALOG_NOT_FOUND", errTypeColumnNotFound, "%sCatalog '%s' does not exist", where, r.catalog)
		}
		db := r.schema
		if db == "" {
			db = contextDB
		}
		d := cat.Databases[db]
		if d == nil {
			return nil, userError("SCHEMA_NOT_FOUND", errTypeTableNotFound, "%sSchema '%s' does not exist", where, db)
		}
		t := d.Tables[r.name]
		if t == nil {
			return nil, userError("TABLE_NOT_FOUND", errTypeTableNotFound, "%sTable 'awsdatacatalog.%s.%s' does not exist", where, db, r.name)
		}
		if !jsonSerDes[t.SerDe] {
			return nil, userError("NOT_SUPPORTED", errTypeNotSupported, "%sthe sandbox reads tables of JSON documents (org.apache.hive.hcatalog.data.JsonSerDe, org.openx.data.jsonserde.JsonSerDe, com.amazon.emr.hive.serde.CloudTrailSerde), not %s", where, t.SerDe)
		}
		key := db + "." + r.name
		tg := byName[key]
		if tg == nil {
			copied := *t
			tg = &target{db: db, t: &copied}
			byName[key] = tg
			targets = append(targets, tg)
		}
		tg.refs = append(tg.refs, r)
	}
	return targets, nil
}

// targetFiles finds the files a query reads of one table: those of the
// partitions any of its references selects.
func (s *Service) targetFiles(ctx context.Context, e *engine, tg *target, template map[string]any) ([]dataFile, error) {
	t := tg.t
	if len(t.PartitionKeys) == 0 {
		return s.listFiles(t, nil)
	}
	if !projectionEnabled(t) {
		// Without projection, partitions come from the metastore, where
		// the sandbox registers none (it has no ALTER TABLE ADD PARTITION).
		return nil, nil
	}
	projections := map[string]*projection{}
	for _, k := range t.PartitionKeys {
		p, err := projectColumn(t, k.Name, s.now())
		if err != nil {
			return nil, err
		}
		projections[k.Name] = p
	}
	seen := map[string]bool{}
	var parts []map[string]string
	for _, r := range tg.refs {
		selected, err := e.partitions(ctx, t, tg.db, r, template, projections)
		if err != nil {
			return nil, err
		}
		for _, p := range selected {
			if loc := partitionLocation(t, p); !seen[loc] {
				seen[loc] = true
				parts = append(parts, p)
			}
		}
	}
	return s.listFiles(t, parts)
}

// trinoNames names a query's result columns as Trino does, for those
// DuckDB names differently: an expression without an alias is _col<n>,
// its position; every name is in lower case. It answers for n columns,
// counting columns after a * from the end.
func trinoNames(node map[string]any) func(n int) []string {
	return func(n int) []string {
		for node["type"] == "SET_OPERATION_NODE" {
			left, ok := node["left"].(map[string]any)
			if !ok {
				break
			}
			node = left
		}
		items, _ := node["select_list"].([]any)
		firstStar, lastStar := -1, -1
		for i, it := range items {
			if m, _ := it.(map[string]any); m["class"] == "STAR" {
				if firstStar < 0 {
					firstStar = i
				}
				lastStar = i
			}
		}
		names := make([]string, n)
		for i, it := range items {
			m, _ := it.(map[string]any)
			pos := i
			if firstStar >= 0 && i > firstStar {
				if i <= lastStar {
					continue
				}
				pos = n - (len(items) - i)
			}
			if pos < 0 || pos >= n {
				continue
			}
			switch alias := str(m["alias"]); {
			case alias != "":
				names[pos] = alias
			case m["class"] != "COLUMN_REF" && m["class"] != "STAR":
				names[pos] = "_col" + strconv.Itoa(pos)
			}
		}
		return names
	}
}

// queryError words a DuckDB error as Athena words the same failure.
func queryError(err error) error {
	var de *duckdb.Error
	if !errors.As(err, &de) {
		return err
	}
	msg := de.Msg
	if i := strings.Index(msg, "\n"); i >= 0 {
		msg = msg[:i]
	}
	if i := strings.Index(msg, " Error: "); i >= 0 && i < 40 {
		msg = msg[i+len(" Error: "):]
	}
	switch de.Type {
	case duckdb.ErrorTypeInterrupt:
		return context.Canceled
	case duckdb.ErrorTypeBinder:
		switch {
		case strings.Contains(msg, "Referenced column"), strings.Contains(msg, "not found in FROM clause"), strings.Contains(msg, "does not have a column"), strings.Contains(msg, "Could not find key"):
			return userError("COLUMN_NOT_FOUND", errTypeColumnNotFound, "%s", msg)
		case strings.Contains(msg, "No function matches"):
			return userError("FUNCTION_NOT_FOUND", errTypeFunctionNotFound, "%s", msg)
		case strings.Contains(msg, "Cannot compare"), strings.Contains(msg, "Cannot mix"), strings.Contains(msg, "type mismatch"):
			return userError("TYPE_MISMATCH", errTypeTypeMismatch, "%s", msg)
		}
	case duckdb.ErrorTypeCatalog:
		switch {
		case strings.Contains(msg, "Function with name"), strings.Contains(msg, "Macro Function with name"):
			return userError("FUNCTION_NOT_FOUND", errTypeFunctionNotFound, "%s", msg)
		case strings.Contains(msg, "Table with name"):
			return userError("TABLE_NOT_FOUND", errTypeTableNotFound, "%s", msg)
		}
	case duckdb.ErrorTypeConversion:
		return userError("INVALID_CAST_ARGUMENT", errTypeInvalidCast, "%s", msg)
	case duckdb.ErrorTypeDivideByZero:
		return userError("DIVISION_BY_ZERO", errTypeDivisionByZero, "%s", msg)
	case duckdb.ErrorTypeMismatchType:
		return userError("TYPE_MISMATCH", errTypeTypeMismatch, "%s", msg)
	case duckdb.ErrorTypeParser, duckdb.ErrorTypeSyntax:
		return userError("SYNTAX_ERROR", errTypeGeneric, "%s", msg)
	case duckdb.ErrorTypeInvalidInput, duckdb.ErrorTypeOutOfRange:
		return userError("INVALID_FUNCTION_ARGUMENT", errTypeGeneric, "%s", msg)
	case duckdb.ErrorTypeNotImplemented:
		return userError("NOT_SUPPORTED", errTypeNotSupported, "%s", msg)
	}
	return userError("GENERIC_USER_ERROR", errTypeGeneric, "%s", msg)
}
