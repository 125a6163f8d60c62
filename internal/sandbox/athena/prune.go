package athena

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/duckdb/duckdb-go/v2"
)

// Partition pruning: a query reads only the partitions its WHERE clause
// can select. The clause's conjuncts (its terms joined by AND) that
// depend on nothing but a table's partition columns are evaluated, by
// DuckDB, over the table's projected partitions; the files of the
// partitions that pass are the ones read. A query with no such conjunct
// on a column reads all of that column's projected values, as Athena
// does. Because the whole WHERE clause still applies to the rows read,
// pruning changes which files are read, never the result.

// tableRef is a table a query names in a FROM clause.
type tableRef struct {
	catalog, schema, name string
	// alias is the name the query refers to the table by.
	alias string
	// node is the SELECT whose FROM clause names the table; sole is
	// whether the table is all that FROM clause holds (no join), so that
	// unqualified columns in its WHERE clause are the table's.
	node map[string]any
	sole bool
	// from is the table reference as DuckDB's syntax tree has it.
	from map[string]any
	// pos is where the reference is in the translated query.
	pos int
}

// tableRefs finds the tables a query's syntax tree names, leaving out
// the names of its common table expressions.
func tableRefs(tree any) []tableRef {
	ctes := map[string]bool{}
	var refs []tableRef
	walk(tree, func(n map[string]any) bool {
		if n["type"] == "SELECT_NODE" {
			from, _ := n["from_table"].(map[string]any)
			collectFrom(n, from, from != nil && from["type"] == "BASE_TABLE", &refs)
		}
		if m, ok := n["cte_map"].(map[string]any); ok {
			entries, _ := m["map"].([]any)
			for _, e := range entries {
				if entry, ok := e.(map[string]any); ok {
					ctes[strings.ToLower(fmt.Sprint(entry["key"]))] = true
				}
			}
		}
		return true
	})
	out := refs[:0]
	for _, r := range refs {
		if r.schema == "" && r.catalog == "" && ctes[r.name] {
			continue
		}
		out = append(out, r)
	}
	return out
}

// walk visits the objects of a syntax tree, depth first; visit returns
// false to leave an object's members unvisited.
func walk(v any, visit func(map[string]any) bool) {
	switch n := v.(type) {
	case []any:
		for _, e := range n {
			walk(e, visit)
		}
	case map[string]any:
		if visit(n) {
			for _, child := range n {
				walk(child, visit)
			}
		}
	}
}

// collectFrom adds the base tables of a FROM clause, joins included.
func collectFrom(node, from map[string]any, sole bool, refs *[]tableRef) {
	if from == nil {
		return
	}
	switch from["type"] {
	case "BASE_TABLE":
		r := tableRef{
			catalog: strings.ToLower(str(from["catalog_name"])),
			schema:  strings.ToLower(str(from["schema_name"])),
			name:    strings.ToLower(str(from["table_name"])),
			alias:   strings.ToLower(str(from["alias"])),
			node:    node,
			sole:    sole,
			from:    from,
		}
		if r.alias == "" {
			r.alias = r.name
		}
		if loc, err := strconv.Atoi(fmt.Sprint(from["query_location"])); err == nil {
			r.pos = loc
		}
		*refs = append(*refs, r)
	case "JOIN":
		left, _ := from["left"].(map[string]any)
		right, _ := from["right"].(map[string]any)
		collectFrom(node, left, false, refs)
		collectFrom(node, right, false, refs)
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// conjuncts splits a WHERE clause into its terms joined by AND.
func conjuncts(expr any) []map[string]any {
	n, ok := expr.(map[string]any)
	if !ok {
		return nil
	}
	if n["type"] == "CONJUNCTION_AND" {
		var out []map[string]any
		children, _ := n["children"].([]any)
		for _, c := range children {
			out = append(out, conjuncts(c)...)
		}
		return out
	}
	return []map[string]any{n}
}

// partitionColumns returns the partition columns a conjunct depends on,
// and ok false if it depends on anything else: another column, or a
// subquery. columns are all of the table's; an unqualified name that is
// none of them is not a column (current_date).
func partitionColumns(expr map[string]any, ref tableRef, keys, columns map[string]bool) (cols []string, ok bool) {
	seen := map[string]bool{}
	ok = true
	walk(expr, func(n map[string]any) bool {
		switch n["class"] {
		case "SUBQUERY":
			ok = false
			return false
		case "COLUMN_REF":
			names, _ := n["column_names"].([]any)
			col := ""
			switch {
			case len(names) == 1 && ref.sole && !columns[strings.ToLower(str(names[0]))]:
				return false
			case len(names) == 1 && ref.sole:
				col = strings.ToLower(str(names[0]))
			case len(names) == 2 && strings.EqualFold(str(names[0]), ref.alias):
				col = strings.ToLower(str(names[1]))
			}
			if !keys[col] {
				ok = false
			} else if !seen[col] {
				seen[col] = true
				cols = append(cols, col)
			}
			return false
		}
		return ok
	})
	return cols, ok && len(cols) > 0
}

// injectedValues are the values an injected partition column takes in a
// query: those its conjuncts compare it with for equality (= or IN), as
// Athena requires.
func injectedValues(expr map[string]any, col string) []string {
	isCol := func(v any) bool {
		n, _ := v.(map[string]any)
		names, _ := n["column_names"].([]any)
		return n["class"] == "COLUMN_REF" && len(names) > 0 && strings.EqualFold(str(names[len(names)-1]), col)
	}
	constant := func(v any) (string, bool) {
		n, _ := v.(map[string]any)
		if n["class"] != "CONSTANT" {
			return "", false
		}
		val, _ := n["value"].(map[string]any)
		if val["is_null"] == true {
			return "", false
		}
		return fmt.Sprint(val["value"]), true
	}
	var out []string
	switch expr["type"] {
	case "COMPARE_EQUAL":
		for _, pair := range [][2]any{{expr["left"], expr["right"]}, {expr["right"], expr["left"]}} {
			if v, ok := constant(pair[1]); ok && isCol(pair[0]) {
				out = append(out, v)
			}
		}
	case "COMPARE_IN":
		children, _ := expr["children"].([]any)
		if len(children) > 1 && isCol(children[0]) {
			for _, c := range children[1:] {
				v, ok := constant(c)
				if !ok {
					return nil
				}
				out = append(out, v)
			}
		}
	}
	return out
}

// maxPartitions is the most partitions a query may read of a table, as
// Athena limits it.
const maxPartitions = 1_000_000

// partitions computes the partitions a table reference selects: every
// projected partition that its partition conjuncts keep.
func (e *engine) partitions(ctx context.Context, t *table, db string, ref tableRef, template map[string]any, projections map[string]*projection) ([]map[string]string, error) {
	var err error
	keys, columns := map[string]bool{}, map[string]bool{}
	for _, k := range t.PartitionKeys {
		keys[k.Name], columns[k.Name] = true, true
	}
	for _, c := range t.Columns {
		columns[c.Name] = true
	}
	single := map[string][]map[string]any{}
	var multi []map[string]any
	where := conjuncts(ref.node["where_clause"])
	for _, c := range where {
		cols, ok := partitionColumns(c, ref, keys, columns)
		switch {
		case !ok:
		case len(cols) == 1:
			single[cols[0]] = append(single[cols[0]], c)
		default:
			multi = append(multi, c)
		}
	}
	values := map[string][]string{}
	for _, k := range t.PartitionKeys {
		p := projections[k.Name]
		vals := p.values
		if p.kind == "injected" {
			vals = nil
			for _, c := range where {
				vals = append(vals, injectedValues(c, k.Name)...)
			}
			if len(vals) == 0 {
				return nil, userError("CONSTRAINT_VIOLATION", errTypeGeneric, "For the injected projected partition column %s, the WHERE clause must contain only static equality conditions, and at least one such condition must be present.", k.Name)
			}
		}
		if cs := single[k.Name]; len(cs) > 0 {
			if vals, err = e.filter(ctx, t, db, ref, template, []column{k}, rowsOf(vals), cs); err != nil {
				return nil, err
			}
		}
		values[k.Name] = vals
	}
	count := 1
	for _, k := range t.PartitionKeys {
		count *= len(values[k.Name])
		if count > maxPartitions {
			return nil, userError("HIVE_EXCEEDED_PARTITION_LIMIT", errTypeGeneric, "Query over table '%s.%s' can potentially read more than %d partitions", db, t.Name, maxPartitions)
		}
	}
	combos := [][]string{{}}
	for _, k := range t.PartitionKeys {
		var next [][]string
		for _, c := range combos {
			for _, v := range values[k.Name] {
				next = append(next, append(append([]string(nil), c...), v))
			}
		}
		combos = next
	}
	if len(multi) > 0 && len(combos) > 0 {
		flat, err := e.filterRows(ctx, t, db, ref, template, t.PartitionKeys, combos, multi)
		if err != nil {
			return nil, err
		}
		combos = flat
	}
	out := make([]map[string]string, len(combos))
	for i, c := range combos {
		out[i] = map[string]string{}
		for j, k := range t.PartitionKeys {
			out[i][k.Name] = c[j]
		}
	}
	return out, nil
}

func rowsOf(vals []string) [][]string {
	rows := make([][]string, len(vals))
	for i, v := range vals {
		rows[i] = []string{v}
	}
	return rows
}

func (e *engine) filter(ctx context.Context, t *table, db string, ref tableRef, template map[string]any, cols []column, rows [][]string, where []map[string]any) ([]string, error) {
	kept, err := e.filterRows(ctx, t, db, ref, template, cols, rows, where)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(kept))
	for i, r := range kept {
		out[i] = r[0]
	}
	return out, nil
}

// rowColumn numbers the candidate partitions in the table filterRows
// queries, so that the partitions kept are known by their values as
// projected (0042), not as their column type reads them back (42).
const rowColumn = "$partition"

// filterRows evaluates conjuncts over candidate partitions: a table of
// the query's table name holding just the candidate values, queried with
// the conjuncts as written in the query (the same FROM clause, alias and
// all), so that they mean what they mean in the query.
func (e *engine) filterRows(ctx context.Context, t *table, db string, ref tableRef, template map[string]any, cols []column, rows [][]string, where []map[string]any) ([][]string, error) {
	name := "awsdatacatalog." + quoteIdent(db) + "." + quoteIdent(t.Name)
	defer func() {
		// The table is replaced by the loaded one; a failed drop leaves it
		// to be replaced all the same.
		_ = e.exec(context.Background(), "DROP TABLE IF EXISTS "+name)
	}()
	err := e.fillTable(ctx, db, t, []string{quoteIdent(rowColumn) + " BIGINT"}, cols, func(a *duckdb.Appender, types []*hiveType) error {
		row := make([]driver.Value, len(cols)+1)
		for n, r := range rows {
			row[0] = int64(n)
			for i, v := range r {
				row[i+1] = types[i].fromJSON(jsonString(v))
			}
			if err := a.AppendRow(row...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("loading the partitions of %s: %w", name, err)
	}
	query, err := e.filterQuery(ctx, ref, template, where)
	if err != nil {
		return nil, err
	}
	res, err := e.conn.QueryContext(ctx, query)
	if err != nil {
		return nil, queryError(err)
	}
	var kept [][]string
	for res.Next() {
		var n int64
		if err := res.Scan(&n); err != nil {
			return nil, errors.Join(err, res.Close())
		}
		kept = append(kept, rows[n])
	}
	return kept, errors.Join(res.Err(), res.Close())
}

// filterQuery writes SELECT "$partition" FROM <the reference> WHERE
// <the conjuncts>, from the query's own syntax tree.
func (e *engine) filterQuery(ctx context.Context, ref tableRef, template map[string]any, where []map[string]any) (string, error) {
	node := maps.Clone(template)
	from := maps.Clone(ref.from)
	from["alias"] = ref.alias
	node["from_table"] = from
	node["select_list"] = []any{map[string]any{"class": "COLUMN_REF", "type": "COLUMN_REF", "alias": "", "column_names": []any{ref.alias, rowColumn}}}
	var cond any = where[0]
	if len(where) > 1 {
		children := make([]any, len(where))
		for i, w := range where {
			children[i] = w
		}
		cond = map[string]any{"class": "CONJUNCTION", "type": "CONJUNCTION_AND", "alias": "", "children": children}
	}
	node["where_clause"] = cond
	tree, err := json.Marshal(map[string]any{"error": false, "statements": []any{map[string]any{"node": node, "named_param_map": []any{}}}})
	if err != nil {
		return "", fmt.Errorf("building the partition filter: %w", err)
	}
	var query string
	if err := e.conn.QueryRowContext(ctx, "SELECT json_deserialize_sql(CAST(? AS JSON))", string(tree)).Scan(&query); err != nil {
		return "", fmt.Errorf("writing the partition filter: %w", err)
	}
	return query, nil
}

// selectTemplate is a bare SELECT node, which partition filters fill.
func (e *engine) selectTemplate(ctx context.Context) (map[string]any, error) {
	tree, err := serialize(ctx, e.conn, &translation{sql: "SELECT 1 WHERE true"})
	if err != nil {
		return nil, err
	}
	stmts, _ := tree["statements"].([]any)
	if len(stmts) != 1 {
		return nil, fmt.Errorf("unexpected syntax tree of a bare SELECT")
	}
	node, _ := stmts[0].(map[string]any)["node"].(map[string]any)
	return node, nil
}
