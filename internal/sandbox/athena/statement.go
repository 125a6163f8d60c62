package athena

import (
	"fmt"
	"strings"
)

// stmtKind is what a statement does in the sandbox.
type stmtKind int

const (
	stmtSelect stmtKind = iota
	stmtCreateDatabase
	stmtDropDatabase
	stmtCreateTable
	stmtDropTable
	stmtShowTables
	stmtShowDatabases
	// stmtUnsupported is a statement Athena runs and the sandbox does
	// not: it fails with NOT_SUPPORTED.
	stmtUnsupported
)

// statement is a parsed statement: its kind and Athena's classification,
// and for DDL what it names.
type statement struct {
	kind stmtKind
	// statementType and substatementType are Athena's classification
	// (DML/SELECT, DDL/CREATE_TABLE, UTILITY/SHOW_TABLES, ...).
	statementType, substatementType string

	ifNotExists, ifExists, cascade bool
	// database is the database a statement names ("" for the query
	// context's), table the table.
	database, table string
	// def is CREATE EXTERNAL TABLE's table, without its creation time.
	def *table
	// dbDescription and dbParams are CREATE DATABASE's COMMENT and
	// DBPROPERTIES (and LOCATION, as the location parameter).
	dbDescription string
	dbParams      map[string]string
	// pattern is SHOW TABLES' and SHOW DATABASES' name filter.
	pattern *string
	// verb names an unsupported statement in its failure reason.
	verb string
}

// resultFile is the extension of the statement's result file: a CSV for
// queries, text for the rest, as Athena writes them.
func (st *statement) resultFile() string {
	if st.kind == stmtSelect {
		return ".csv"
	}
	return ".txt"
}

// unsupportedStatements are statements Athena runs that the sandbox does
// not, by their leading keywords, with Athena's classification.
var unsupportedStatements = []struct {
	words                  []string
	statementType, subtype string
}{
	{[]string{"INSERT"}, "DML", "INSERT"},
	{[]string{"UPDATE"}, "DML", "UPDATE"},
	{[]string{"DELETE"}, "DML", "DELETE"},
	{[]string{"MERGE"}, "DML", "MERGE"},
	{[]string{"UNLOAD"}, "DML", "UNLOAD"},
	{[]string{"EXPLAIN"}, "DML", "EXPLAIN"},
	{[]string{"DESCRIBE"}, "UTILITY", "DESCRIBE_TABLE"},
	{[]string{"DESC"}, "UTILITY", "DESCRIBE_TABLE"},
	{[]string{"SHOW", "CREATE", "TABLE"}, "UTILITY", "SHOW_CREATE_TABLE"},
	{[]string{"SHOW", "CREATE", "VIEW"}, "UTILITY", "SHOW_CREATE_VIEW"},
	{[]string{"SHOW", "PARTITIONS"}, "UTILITY", "SHOW_PARTITIONS"},
	{[]string{"SHOW", "TBLPROPERTIES"}, "UTILITY", "SHOW_TABLE_PROPERTIES"},
	{[]string{"SHOW", "COLUMNS"}, "UTILITY", "SHOW_COLUMNS"},
	{[]string{"SHOW", "VIEWS"}, "UTILITY", "SHOW_VIEWS"},
	{[]string{"SHOW", "FUNCTIONS"}, "UTILITY", "SHOW_FUNCTIONS"},
	{[]string{"ALTER"}, "DDL", "ALTER_TABLE"},
	{[]string{"MSCK"}, "DDL", "MSCK_REPAIR"},
	{[]string{"CREATE", "VIEW"}, "DDL", "CREATE_VIEW"},
	{[]string{"CREATE", "OR", "REPLACE", "VIEW"}, "DDL", "CREATE_VIEW"},
	{[]string{"DROP", "VIEW"}, "DDL", "DROP_VIEW"},
	{[]string{"CREATE", "TABLE"}, "DDL", "CREATE_TABLE"},
}

// parseStatement reads one statement (an optional trailing semicolon
// aside). A statement it cannot read is a syntaxError.
func parseStatement(sql string) (*statement, error) {
	toks, err := lex(sql)
	if err != nil {
		return nil, err
	}
	if n := len(toks); n > 0 && toks[n-1].is(";") {
		toks = toks[:n-1]
	}
	p := &parser{toks: toks}
	first := p.peek()
	switch {
	case first.is("SELECT"), first.is("WITH"), first.is("VALUES"), first.is("("):
		for _, t := range toks {
			if t.is(";") {
				return nil, &syntaxError{t.line, t.col, "mismatched input ';'. Expecting: <EOF>"}
			}
			if t.kind == tokBackquote {
				return nil, &syntaxError{t.line, t.col, "backquoted identifiers are not supported; use double quotes to quote identifiers"}
			}
		}
		return &statement{kind: stmtSelect, statementType: "DML", substatementType: "SELECT"}, nil
	case first.is("CREATE") && (p.lookingAt("CREATE", "EXTERNAL", "TABLE")):
		return p.createTable()
	case first.is("CREATE") && (p.lookingAt("CREATE", "DATABASE") || p.lookingAt("CREATE", "SCHEMA")):
		return p.createDatabase()
	case first.is("DROP") && (p.lookingAt("DROP", "DATABASE") || p.lookingAt("DROP", "SCHEMA")):
		return p.dropDatabase()
	case first.is("DROP") && p.lookingAt("DROP", "TABLE"):
		return p.dropTable()
	case p.lookingAt("SHOW", "TABLES"):
		return p.showTables()
	case p.lookingAt("SHOW", "DATABASES"), p.lookingAt("SHOW", "SCHEMAS"):
		return p.showDatabases()
	}
	for _, u := range unsupportedStatements {
		if p.lookingAt(u.words...) {
			return &statement{kind: stmtUnsupported, statementType: u.statementType, substatementType: u.subtype, verb: strings.Join(u.words, " ")}, nil
		}
	}
	return nil, p.unexpected(first, "'ALTER', 'CREATE', 'DESCRIBE', 'DROP', 'EXPLAIN', 'INSERT', 'SELECT', 'SHOW', 'WITH', <query>")
}

// parser reads a statement's tokens.
type parser struct {
	toks []token
	i    int
}

var eof = token{kind: tokSymbol, text: "<EOF>"}

func (p *parser) peek() token {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	t := eof
	if n := len(p.toks); n > 0 {
		last := p.toks[n-1]
		t.line, t.col = last.line, last.col+len([]rune(last.text))
	} else {
		t.line, t.col = 1, 1
	}
	return t
}

func (p *parser) next() token {
	t := p.peek()
	if p.i < len(p.toks) {
		p.i++
	}
	return t
}

func (p *parser) atEnd() bool { return p.i >= len(p.toks) }

// lookingAt reports whether the next tokens are the keywords words.
func (p *parser) lookingAt(words ...string) bool {
	for j, w := range words {
		if p.i+j >= len(p.toks) || !p.toks[p.i+j].is(w) {
			return false
		}
	}
	return true
}

// accept consumes words if the next tokens are they.
func (p *parser) accept(words ...string) bool {
	if !p.lookingAt(words...) {
		return false
	}
	p.i += len(words)
	return true
}

func (p *parser) expect(words ...string) error {
	for _, w := range words {
		if t := p.next(); !t.is(w) {
			return p.unexpected(t, "'"+w+"'")
		}
	}
	return nil
}

func (p *parser) unexpected(t token, expecting string) *syntaxError {
	return &syntaxError{t.line, t.col, fmt.Sprintf("mismatched input '%s'. Expecting: %s", t.text, expecting)}
}

// name reads an identifier: plain (keywords included, as Hive allows for
// column names) or quoted.
func (p *parser) name() (string, error) {
	t := p.next()
	if !t.isName() {
		return "", p.unexpected(t, "<identifier>")
	}
	return t.name(), nil
}

// qualifiedName reads [database.]name.
func (p *parser) qualifiedName() (db, name string, err error) {
	if name, err = p.name(); err != nil {
		return "", "", err
	}
	if p.peek().is(".") {
		p.next()
		db = name
		if name, err = p.name(); err != nil {
			return "", "", err
		}
	}
	return normalizeName(db), normalizeName(name), nil
}

func (p *parser) stringLiteral() (string, error) {
	t := p.next()
	if t.kind != tokString {
		return "", p.unexpected(t, "<string>")
	}
	return t.value, nil
}

// properties reads ('key'='value', ...).
func (p *parser) properties() (map[string]string, error) {
	if err := p.expect("("); err != nil {
		return nil, err
	}
	props := map[string]string{}
	for {
		k, err := p.stringLiteral()
		if err != nil {
			return nil, err
		}
		if err := p.expect("="); err != nil {
			return nil, err
		}
		v, err := p.stringLiteral()
		if err != nil {
			return nil, err
		}
		props[k] = v
		if !p.peek().is(",") {
			break
		}
		p.next()
	}
	return props, p.expect(")")
}

func (p *parser) end() error {
	if !p.atEnd() {
		return p.unexpected(p.peek(), "<EOF>")
	}
	return nil
}

func (p *parser) createDatabase() (*statement, error) {
	p.i += 2
	st := &statement{kind: stmtCreateDatabase, statementType: "DDL", substatementType: "CREATE_DATABASE", dbParams: map[string]string{}}
	st.ifNotExists = p.accept("IF", "NOT", "EXISTS")
	name, err := p.name()
	if err != nil {
		return nil, err
	}
	st.database = normalizeName(name)
	for !p.atEnd() {
		switch {
		case p.accept("COMMENT"):
			if st.dbDescription, err = p.stringLiteral(); err != nil {
				return nil, err
			}
		case p.accept("LOCATION"):
			loc, err := p.stringLiteral()
			if err != nil {
				return nil, err
			}
			st.dbParams["location"] = loc
		case p.accept("WITH", "DBPROPERTIES"):
			props, err := p.properties()
			if err != nil {
				return nil, err
			}
			for k, v := range props {
				st.dbParams[k] = v
			}
		default:
			return nil, p.unexpected(p.peek(), "'COMMENT', 'LOCATION', 'WITH', <EOF>")
		}
	}
	return st, nil
}

func (p *parser) dropDatabase() (*statement, error) {
	p.i += 2
	st := &statement{kind: stmtDropDatabase, statementType: "DDL", substatementType: "DROP_DATABASE"}
	st.ifExists = p.accept("IF", "EXISTS")
	name, err := p.name()
	if err != nil {
		return nil, err
	}
	st.database = normalizeName(name)
	switch {
	case p.accept("CASCADE"):
		st.cascade = true
	case p.accept("RESTRICT"):
	}
	return st, p.end()
}

func (p *parser) dropTable() (*statement, error) {
	p.i += 2
	st := &statement{kind: stmtDropTable, statementType: "DDL", substatementType: "DROP_TABLE"}
	st.ifExists = p.accept("IF", "EXISTS")
	var err error
	if st.database, st.table, err = p.qualifiedName(); err != nil {
		return nil, err
	}
	return st, p.end()
}

// showPattern reads SHOW's optional [LIKE] 'pattern'.
func (p *parser) showPattern(st *statement) error {
	p.accept("LIKE")
	if p.peek().kind == tokString {
		pat, _ := p.stringLiteral()
		st.pattern = &pat
	}
	return p.end()
}

func (p *parser) showTables() (*statement, error) {
	p.i += 2
	st := &statement{kind: stmtShowTables, statementType: "UTILITY", substatementType: "SHOW_TABLES"}
	if p.accept("IN") || p.accept("FROM") {
		name, err := p.name()
		if err != nil {
			return nil, err
		}
		st.database = normalizeName(name)
	}
	return st, p.showPattern(st)
}

func (p *parser) showDatabases() (*statement, error) {
	p.i += 2
	st := &statement{kind: stmtShowDatabases, statementType: "UTILITY", substatementType: "SHOW_DATABASES"}
	return st, p.showPattern(st)
}

// storedAs are STORED AS's shorthands: input format, output format and
// the serde a table without ROW FORMAT gets.
var storedAs = map[string][3]string{
	"TEXTFILE": {"org.apache.hadoop.mapred.TextInputFormat", "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat", lazySimpleSerDe},
	"PARQUET":  {"org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat", "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat", "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
	"ORC":      {"org.apache.hadoop.hive.ql.io.orc.OrcInputFormat", "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat", "org.apache.hadoop.hive.ql.io.orc.OrcSerde"},
}

const lazySimpleSerDe = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"

func (p *parser) createTable() (*statement, error) {
	p.i += 3
	st := &statement{kind: stmtCreateTable, statementType: "DDL", substatementType: "CREATE_TABLE"}
	st.ifNotExists = p.accept("IF", "NOT", "EXISTS")
	var err error
	if st.database, st.table, err = p.qualifiedName(); err != nil {
		return nil, err
	}
	def := &table{Name: st.table}
	text := storedAs["TEXTFILE"]
	def.InputFormat, def.OutputFormat = text[0], text[1]
	if p.peek().is("(") {
		if def.Columns, err = p.columns(); err != nil {
			return nil, err
		}
	}
	var serde string
	for !p.atEnd() {
		switch {
		case p.accept("COMMENT"):
			if def.Comment, err = p.stringLiteral(); err != nil {
				return nil, err
			}
		case p.accept("PARTITIONED", "BY"):
			if def.PartitionKeys, err = p.columns(); err != nil {
				return nil, err
			}
		case p.accept("ROW", "FORMAT", "SERDE"):
			if serde, err = p.stringLiteral(); err != nil {
				return nil, err
			}
			if p.accept("WITH", "SERDEPROPERTIES") {
				if def.SerDeParams, err = p.properties(); err != nil {
					return nil, err
				}
			}
		case p.accept("ROW", "FORMAT", "DELIMITED"):
			serde = lazySimpleSerDe
			if def.SerDeParams, err = p.delimited(); err != nil {
				return nil, err
			}
		case p.accept("STORED", "AS", "INPUTFORMAT"):
			if def.InputFormat, err = p.stringLiteral(); err != nil {
				return nil, err
			}
			if err := p.expect("OUTPUTFORMAT"); err != nil {
				return nil, err
			}
			if def.OutputFormat, err = p.stringLiteral(); err != nil {
				return nil, err
			}
		case p.accept("STORED", "AS"):
			t := p.next()
			formats, ok := storedAs[strings.ToUpper(t.text)]
			if !ok || t.kind != tokIdent {
				return nil, p.unexpected(t, "'INPUTFORMAT', 'ORC', 'PARQUET', 'TEXTFILE'")
			}
			def.InputFormat, def.OutputFormat = formats[0], formats[1]
			if serde == "" {
				serde = formats[2]
			}
		case p.accept("LOCATION"):
			if def.Location, err = p.stringLiteral(); err != nil {
				return nil, err
			}
		case p.accept("TBLPROPERTIES"):
			if def.Properties, err = p.properties(); err != nil {
				return nil, err
			}
		default:
			return nil, p.unexpected(p.peek(), "'COMMENT', 'LOCATION', 'PARTITIONED', 'ROW', 'STORED', 'TBLPROPERTIES', <EOF>")
		}
	}
	if def.Location == "" {
		return nil, &syntaxError{1, 1, "No location was specified for table. An S3 location must be specified"}
	}
	if serde == "" {
		serde = lazySimpleSerDe
	}
	def.SerDe = serde
	st.def = def
	return st, nil
}

// columns reads (name type [COMMENT 'c'], ...).
func (p *parser) columns() ([]column, error) {
	if err := p.expect("("); err != nil {
		return nil, err
	}
	var cols []column
	for {
		name, err := p.name()
		if err != nil {
			return nil, err
		}
		typ, err := p.hiveType()
		if err != nil {
			return nil, err
		}
		c := column{Name: strings.ToLower(name), Type: typ.String()}
		if p.accept("COMMENT") {
			if c.Comment, err = p.stringLiteral(); err != nil {
				return nil, err
			}
		}
		cols = append(cols, c)
		if !p.peek().is(",") {
			break
		}
		p.next()
	}
	return cols, p.expect(")")
}

// delimited reads ROW FORMAT DELIMITED's clauses as LazySimpleSerDe's
// parameters.
func (p *parser) delimited() (map[string]string, error) {
	params := map[string]string{}
	clauses := []struct {
		words []string
		param string
	}{
		{[]string{"FIELDS", "TERMINATED", "BY"}, "field.delim"},
		{[]string{"ESCAPED", "BY"}, "escape.delim"},
		{[]string{"COLLECTION", "ITEMS", "TERMINATED", "BY"}, "collection.delim"},
		{[]string{"MAP", "KEYS", "TERMINATED", "BY"}, "mapkey.delim"},
		{[]string{"LINES", "TERMINATED", "BY"}, "line.delim"},
		{[]string{"NULL", "DEFINED", "AS"}, "serialization.null.format"},
	}
	for {
		matched := false
		for _, c := range clauses {
			if p.accept(c.words...) {
				v, err := p.stringLiteral()
				if err != nil {
					return nil, err
				}
				params[c.param] = v
				matched = true
			}
		}
		if !matched {
			return params, nil
		}
	}
}
