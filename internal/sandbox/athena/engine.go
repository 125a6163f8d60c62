package athena

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/duckdb/duckdb-go/v2"
)

// Queries run on DuckDB, an embedded SQL engine: each query gets an
// in-memory database of its own, with a catalog named awsdatacatalog in
// which every table the query names is a DuckDB table of the same
// database (schema) and name, loaded with the rows of the files the
// query's partition predicates select. The query then runs as written,
// once translated (see translate) and with Trino's functions defined as
// macros (see trinoMacros).

// engine is one query's DuckDB database.
type engine struct {
	db   *sql.DB
	conn *sql.Conn
}

// trinoMacros define Trino's functions that DuckDB lacks or defines
// differently, under Trino's names; system.main.<name> reaches DuckDB's
// own function a macro shadows.
var trinoMacros = []string{
	`from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)`,
	`from_iso8601_date(s) AS CAST(s AS DATE)`,
	`to_iso8601(t) AS strftime(CAST(t AS TIMESTAMPTZ), '%Y-%m-%dT%H:%M:%S.%gZ')`,
	`from_unixtime(n) AS to_timestamp(n)`,
	`to_unixtime(t) AS epoch(t)`,
	`date_add(unit, n, t) AS t + CAST(n AS BIGINT) * CAST('1 ' || unit AS INTERVAL)`,
	`date_diff(unit, a, b) AS date_sub(unit, a, b)`,
	`date_format(t, f) AS strftime(t, ` + mysqlFormat("f") + `)`,
	`json_extract(j, p) AS CASE WHEN json_valid(j) THEN system.main.json_extract(j, p) END`,
	`json_extract_scalar(j, p) AS CASE WHEN json_valid(j) THEN (CASE WHEN json_type(system.main.json_extract(j, p)) IN ('OBJECT', 'ARRAY') THEN NULL ELSE json_extract_string(j, p) END) END`,
	`json_format(j) AS CAST(j AS VARCHAR)`,
	`json_parse(s) AS CAST(s AS JSON)`,
	`json_array_contains(j, v) AS list_contains(json_extract_string(j, '$[*]'), CAST(v AS VARCHAR))`,
	`cardinality(a) AS len(a)`,
	`element_at(c, k) AS c[k]`,
	`regexp_like(s, p) AS regexp_matches(s, p)`,
	`regexp_replace(s, p) AS system.main.regexp_replace(s, p, '', 'g'), (s, p, r) AS system.main.regexp_replace(s, p, system.main.regexp_replace(r, '\$(\d)', '\\\1', 'g'), 'g')`,
	`arbitrary(x) AS any_value(x)`,
	`approx_distinct(x) AS approx_count_distinct(x)`,
	`array_join(a, sep) AS array_to_string(a, sep)`,
	`sequence(start, stop) AS generate_series(start, stop), (start, stop, step) AS generate_series(start, stop, step)`,
}

// mysqlFormat translates Trino's date_format specifiers (MySQL's) into
// strftime's at run time, as a SQL expression of the format f.
func mysqlFormat(f string) string {
	pairs := [][2]string{{"%M", "%B"}, {"%i", "%M"}, {"%s", "%S"}, {"%T", "%H:%M:%S"}, {"%r", "%I:%M:%S %p"}, {"%e", "%-d"}, {"%c", "%-m"}, {"%k", "%-H"}, {"%l", "%-I"}, {"%W", "%A"}}
	expr := f
	for _, p := range pairs {
		expr = fmt.Sprintf("replace(%s, '%s', '%s')", expr, p[0], p[1])
	}
	return expr
}

// openEngine starts a query's database: Trino's settings (integer
// division, UTC, NULLs last), the awsdatacatalog catalog with the
// context database, the macros, and no access to files or settings.
func openEngine(ctx context.Context, contextDB string, now time.Time) (*engine, error) {
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, fmt.Errorf("starting DuckDB: %w", err)
	}
	e := &engine{db: sql.OpenDB(connector)}
	if e.conn, err = e.db.Conn(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("connecting to DuckDB: %w", err), e.db.Close())
	}
	setup := []string{
		"SET threads = 1",
		"SET TimeZone = 'UTC'",
		"SET integer_division = true",
		"SET default_null_order = 'nulls_last'",
		"ATTACH ':memory:' AS awsdatacatalog",
		"CREATE SCHEMA awsdatacatalog." + quoteIdent(contextDB),
		"USE awsdatacatalog." + quoteIdent(contextDB),
		"CREATE TEMP MACRO now() AS TIMESTAMPTZ '" + now.UTC().Format("2006-01-02 15:04:05.999999") + "+00'",
		"CREATE TEMP MACRO current_date() AS DATE '" + now.UTC().Format("2006-01-02") + "'",
	}
	for _, m := range trinoMacros {
		setup = append(setup, "CREATE TEMP MACRO "+m)
	}
	setup = append(setup, "SET enable_external_access = false", "SET lock_configuration = true")
	for _, stmt := range setup {
		if _, err := e.conn.ExecContext(ctx, stmt); err != nil {
			return nil, errors.Join(fmt.Errorf("setting up DuckDB (%s): %w", stmt, err), e.close())
		}
	}
	return e, nil
}

func (e *engine) close() error {
	return errors.Join(e.conn.Close(), e.db.Close())
}

func (e *engine) exec(ctx context.Context, stmt string) error {
	_, err := e.conn.ExecContext(ctx, stmt)
	return err
}

// serialize parses a statement with DuckDB's parser into its syntax tree
// (json_serialize_sql); a statement DuckDB cannot read is a syntaxError
// at the position the translation maps it back to.
func serialize(ctx context.Context, conn *sql.Conn, tr *translation) (map[string]any, error) {
	var raw string
	if err := conn.QueryRowContext(ctx, "SELECT CAST(json_serialize_sql(CAST(? AS VARCHAR)) AS VARCHAR)", tr.sql).Scan(&raw); err != nil {
		return nil, fmt.Errorf("parsing with DuckDB: %w", err)
	}
	// Numbers stay as written: constants of any size, and offsets DuckDB
	// writes as the largest unsigned 64-bit integer.
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var tree map[string]any
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("reading DuckDB's syntax tree: %w", err)
	}
	if tree["error"] != true {
		return tree, nil
	}
	msg, _ := tree["error_message"].(string)
	pos, _ := strconv.Atoi(fmt.Sprint(tree["position"]))
	t, ok := tr.original(pos)
	if !ok {
		t = token{line: 1, col: 1}
	}
	if m := nearPattern.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("mismatched input '%s'", m[1])
	}
	return nil, &syntaxError{t.line, t.col, msg}
}

var nearPattern = regexp.MustCompile(`^syntax error at or near "(.*)"$`)

// parseEngine is a DuckDB database used only to parse, so that
// StartQueryExecution rejects a query that does not parse at once, as
// Athena does.
type parseEngine struct {
	mu   sync.Mutex
	conn *sql.Conn
}

// check parses a query; a syntaxError is a query Athena would reject.
// Failures the query can only meet when it runs are left for then.
func (p *parseEngine) check(query string, params []string) error {
	tr, err := translate(query, params)
	var f *queryFailure
	if errors.As(err, &f) {
		return nil
	}
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	ctx := context.Background()
	if p.conn == nil {
		connector, err := duckdb.NewConnector("", nil)
		if err != nil {
			return fmt.Errorf("starting DuckDB: %w", err)
		}
		conn, err := sql.OpenDB(connector).Conn(ctx)
		if err != nil {
			return fmt.Errorf("connecting to DuckDB: %w", err)
		}
		p.conn = conn
	}
	_, err = serialize(ctx, p.conn, tr)
	return err
}

// load creates a table in the query's database and appends the rows of
// its files, each with its partition's values.
func (e *engine) load(ctx context.Context, s *Service, db string, t *table, files []dataFile) error {
	cols := append(append([]column(nil), t.Columns...), t.PartitionKeys...)
	return e.fillTable(ctx, db, t, nil, cols, func(a *duckdb.Appender, types []*hiveType) error {
		return appendFiles(ctx, s, a, t, types, files)
	})
}

// fillTable creates (or replaces) the table of t's name in the query's
// database, with the columns lead (DuckDB definitions) then cols (Hive
// types), and fills it with fill, given an appender on the table and the
// Hive types of cols.
func (e *engine) fillTable(ctx context.Context, db string, t *table, lead []string, cols []column, fill func(a *duckdb.Appender, types []*hiveType) error) error {
	types := make([]*hiveType, len(cols))
	defs := append(make([]string, 0, len(lead)+len(cols)), lead...)
	for i, c := range cols {
		h, err := parseHiveTypeString(c.Type)
		if err != nil {
			return userError("HIVE_INVALID_METADATA", errTypeInvalidMetadata, "Table %s.%s: %v", db, t.Name, err)
		}
		types[i] = h
		defs = append(defs, quoteIdent(c.Name)+" "+h.duckDB())
	}
	name := "awsdatacatalog." + quoteIdent(db) + "." + quoteIdent(t.Name)
	for _, stmt := range []string{
		"CREATE SCHEMA IF NOT EXISTS awsdatacatalog." + quoteIdent(db),
		"CREATE OR REPLACE TABLE " + name + " (" + strings.Join(defs, ", ") + ")",
	} {
		if err := e.exec(ctx, stmt); err != nil {
			return fmt.Errorf("creating %s: %w", name, err)
		}
	}
	return e.conn.Raw(func(dc any) error {
		a, err := duckdb.NewAppender(dc.(driver.Conn), "awsdatacatalog", db, t.Name)
		if err != nil {
			return fmt.Errorf("appending to %s: %w", name, err)
		}
		return errors.Join(fill(a, types), a.Close())
	})
}

func appendFiles(ctx context.Context, s *Service, a *duckdb.Appender, t *table, types []*hiveType, files []dataFile) error {
	ncols := len(t.Columns)
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		body, err := s.cfg.Objects.GetObject(f.bucket, f.key)
		if err != nil {
			return userError("HIVE_CANNOT_OPEN_SPLIT", errTypeBadData, "Error opening Hive split %s: %v", f.url(), err)
		}
		records, err := readRecords(t, f, body)
		if err != nil {
			return err
		}
		row := make([]driver.Value, len(types))
		// A file lies in one partition: its values are the same in every
		// row.
		for j, k := range t.PartitionKeys {
			row[ncols+j] = types[ncols+j].fromJSON(jsonString(f.partition[k.Name]))
		}
		for _, rec := range records {
			for i, c := range t.Columns {
				row[i] = types[i].fromJSON(rec.get(c.Name))
			}
			if err := a.AppendRow(row...); err != nil {
				return fmt.Errorf("appending a row of %s: %w", f.url(), err)
			}
		}
	}
	return nil
}

// run executes the translated query and reads its result, rendered as
// Athena renders values, with columns named as Trino names them.
func (e *engine) run(ctx context.Context, sqlText string, names func(n int) []string) (resultTable, error) {
	out := resultTable{header: true}
	err := e.conn.Raw(func(dc any) (err error) {
		conn := dc.(driver.ConnPrepareContext)
		stmt, err := prepare(ctx, conn, sqlText)
		if err != nil {
			return err
		}
		n, err := stmt.ColumnCount()
		if err != nil {
			return errors.Join(err, stmt.Close())
		}
		types := make([]duckdb.TypeInfo, n)
		trino := names(n)
		var jsonColumns []int
		for i := range n {
			if types[i], err = stmt.ColumnTypeInfo(i); err != nil {
				return errors.Join(err, stmt.Close())
			}
			name, err := stmt.ColumnName(i)
			if err != nil {
				return errors.Join(err, stmt.Close())
			}
			if trino[i] != "" {
				name = trino[i]
			}
			athenaType, precision, scale := athenaTypeOf(types[i])
			out.columns = append(out.columns, newColumn(strings.ToLower(name), athenaType, precision, scale))
			if athenaType == "json" {
				jsonColumns = append(jsonColumns, i)
			}
		}
		if len(jsonColumns) > 0 {
			// The driver parses JSON values, losing their text: select
			// their text instead.
			if err := stmt.Close(); err != nil {
				return err
			}
			if stmt, err = prepare(ctx, conn, jsonAsText(sqlText, n, jsonColumns)); err != nil {
				return err
			}
			for _, i := range jsonColumns {
				if types[i], err = stmt.ColumnTypeInfo(i); err != nil {
					return errors.Join(err, stmt.Close())
				}
			}
		}
		defer func() { err = errors.Join(err, stmt.Close()) }()
		rows, err := stmt.QueryContext(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, rows.Close()) }()
		values := make([]driver.Value, n)
		for {
			if err := rows.Next(values); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
			row := make([]*string, n)
			for i, v := range values {
				if v != nil {
					s := render(types[i], v)
					row[i] = &s
				}
			}
			out.rows = append(out.rows, row)
		}
	})
	return out, err
}

func prepare(ctx context.Context, conn driver.ConnPrepareContext, sqlText string) (*duckdb.Stmt, error) {
	st, err := conn.PrepareContext(ctx, sqlText)
	if err != nil {
		return nil, err
	}
	return st.(*duckdb.Stmt), nil
}

// jsonAsText selects a query's columns by position, its JSON columns as
// their text.
func jsonAsText(sqlText string, n int, jsonColumns []int) string {
	names := make([]string, n)
	list := make([]string, n)
	for i := range n {
		names[i] = quoteIdent("c" + strconv.Itoa(i))
		list[i] = names[i]
	}
	for _, i := range jsonColumns {
		list[i] = "CAST(" + names[i] + " AS VARCHAR)"
	}
	return "SELECT " + strings.Join(list, ", ") + " FROM (" + sqlText + "\n) AS q(" + strings.Join(names, ", ") + ")"
}

// jsonString is s as a JSON string, for converting a partition value to
// its column's type as a JSON value would be.
func jsonString(s string) json.RawMessage {
	b, err := json.Marshal(s)
	if err != nil {
		// A string always marshals.
		panic(err)
	}
	return b
}
