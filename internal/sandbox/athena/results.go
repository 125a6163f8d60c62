package athena

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

// resultTable is a statement's result: its columns and rows, a nil
// value being NULL. header is whether the result file and
// GetQueryResults start with a row of column names, as a query's do.
type resultTable struct {
	columns []columnInfo
	header  bool
	rows    [][]*string
}

// columnInfo describes a result column as GetQueryResults does.
type columnInfo struct {
	CatalogName   string
	SchemaName    string
	TableName     string
	Name          string
	Label         string
	Type          string
	Precision     int
	Scale         int
	Nullable      string
	CaseSensitive bool
}

// newColumn describes a column of an Athena type with the precision and
// scale Athena reports for it.
func newColumn(name, athenaType string, precision, scale int) columnInfo {
	c := columnInfo{CatalogName: "hive", Name: name, Label: name, Type: athenaType, Nullable: "UNKNOWN", Scale: scale}
	switch athenaType {
	case "varchar", "char":
		c.CaseSensitive = true
		c.Precision = precision
		if c.Precision == 0 {
			c.Precision = 2147483647
		}
	case "decimal":
		c.Precision = precision
	default:
		c.Precision = typePrecision[athenaType]
	}
	return c
}

// typePrecision is the precision Athena reports for a type.
var typePrecision = map[string]int{
	"tinyint": 3, "smallint": 5, "integer": 10, "bigint": 19, "double": 17, "float": 17,
	"timestamp": 3, "timestamp with time zone": 3, "time": 3, "time with time zone": 3, "varbinary": 1073741824,
}

// stringColumn is a column of a SHOW statement's result, typed as Hive
// types them.
func stringColumn(name string) columnInfo {
	return columnInfo{CatalogName: "hive", Name: name, Label: name, Type: "string", Nullable: "UNKNOWN"}
}

// writeResult writes a statement's result file to the output location,
// with the .metadata file that describes its columns when it has any, as
// Athena does: a query's as CSV, other statements' as text.
func (s *Service) writeResult(ex *execution, st *statement, out resultTable) error {
	bucket, key, _ := parseS3URL(ex.OutputLocation)
	body, contentType := encodeText(out), "binary/octet-stream"
	if st.kind == stmtSelect {
		body, contentType = encodeCSV(out), "application/octet-stream"
	}
	if err := s.cfg.Objects.PutObject(bucket, key, body, contentType, nil); err != nil {
		return &queryFailure{reason: fmt.Sprintf("Error writing the query results to %s: %v", ex.OutputLocation, err), category: 2, errorType: errTypeGeneric}
	}
	if len(out.columns) == 0 {
		return nil
	}
	if err := s.cfg.Objects.PutObject(bucket, key+".metadata", encodeMetadata(ex.ID, out.columns), contentType, nil); err != nil {
		return &queryFailure{reason: fmt.Sprintf("Error writing the query results to %s.metadata: %v", ex.OutputLocation, err), category: 2, errorType: errTypeGeneric}
	}
	return nil
}

// encodeCSV writes rows as Athena does: every value quoted (a doubled
// quote inside), NULL as an empty unquoted field, \n after every line.
// encoding/csv cannot: it quotes only where needed, so NULL and the empty
// string would look alike.
func encodeCSV(t resultTable) []byte {
	var b strings.Builder
	line := func(values []*string) {
		for i, v := range values {
			if i > 0 {
				b.WriteByte(',')
			}
			if v != nil {
				b.WriteString(`"` + strings.ReplaceAll(*v, `"`, `""`) + `"`)
			}
		}
		b.WriteByte('\n')
	}
	if t.header {
		names := make([]*string, len(t.columns))
		for i := range t.columns {
			names[i] = &t.columns[i].Name
		}
		line(names)
	}
	for _, r := range t.rows {
		line(r)
	}
	return []byte(b.String())
}

// decodeCSV reads what encodeCSV wrote.
func decodeCSV(data string) ([][]*string, error) {
	var rows [][]*string
	var row []*string
	i := 0
	for i < len(data) {
		var v *string
		if data[i] == '"' {
			var b strings.Builder
			i++
			for {
				if i >= len(data) {
					return nil, fmt.Errorf("unterminated quoted field")
				}
				if data[i] == '"' {
					if i+1 < len(data) && data[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(data[i])
				i++
			}
			s := b.String()
			v = &s
		}
		row = append(row, v)
		switch {
		case i < len(data) && data[i] == ',':
			i++
		case i < len(data) && data[i] == '\n':
			i++
			rows, row = append(rows, row), nil
		case i >= len(data):
		default:
			return nil, fmt.Errorf("unexpected %q at byte %d", data[i], i)
		}
	}
	if row != nil {
		rows = append(rows, row)
	}
	return rows, nil
}

// encodeText writes the rows of a DDL or SHOW statement as Athena's .txt
// result: values joined by tabs, rows by newlines, no header.
func encodeText(t resultTable) []byte {
	lines := make([]string, len(t.rows))
	for i, r := range t.rows {
		vals := make([]string, len(r))
		for j, v := range r {
			if v != nil {
				vals[j] = *v
			}
		}
		lines[i] = strings.Join(vals, "\t")
	}
	return []byte(strings.Join(lines, "\n"))
}

func decodeText(data string) [][]*string {
	if data == "" {
		return nil
	}
	var rows [][]*string
	for _, line := range strings.Split(data, "\n") {
		var row []*string
		for _, v := range strings.Split(line, "\t") {
			row = append(row, &v)
		}
		rows = append(rows, row)
	}
	return rows
}

// encodeMetadata writes the .metadata file Athena puts beside a result:
// a protocol buffer message with the query id (field 1) and a message per
// column (field 4) whose fields are catalog (1), name (4), label (5),
// type (6), precision (7), scale (8), nullable (9) and case sensitivity
// (10). Which of 7, 8 and 10 a column carries depends on its type, as
// in Athena's files.
func encodeMetadata(id string, cols []columnInfo) []byte {
	b := protowire.AppendTag(nil, 1, protowire.BytesType)
	b = protowire.AppendString(b, id)
	for _, c := range cols {
		var m []byte
		str := func(n protowire.Number, v string) {
			m = protowire.AppendTag(m, n, protowire.BytesType)
			m = protowire.AppendString(m, v)
		}
		num := func(n protowire.Number, v int) {
			m = protowire.AppendTag(m, n, protowire.VarintType)
			m = protowire.AppendVarint(m, uint64(v))
		}
		str(1, c.CatalogName)
		str(4, c.Name)
		str(5, c.Label)
		str(6, c.Type)
		fields := metadataFields(c.Type)
		if strings.Contains(fields, "p") {
			num(7, c.Precision)
		}
		if strings.Contains(fields, "s") {
			num(8, c.Scale)
		}
		num(9, 3)
		if strings.Contains(fields, "c") {
			num(10, map[bool]int{false: 0, true: 1}[c.CaseSensitive])
		}
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendBytes(b, m)
	}
	return b
}

// metadataFields says which of precision (p), scale (s) and case
// sensitivity (c) a column of the type carries.
func metadataFields(athenaType string) string {
	switch athenaType {
	case "boolean", "interval day to second", "interval year to month":
		return "c"
	case "date":
		return "sc"
	case "array", "map", "row", "json", "string", "uuid", "ipaddress":
		return ""
	}
	return "psc"
}

type getQueryResultsInput struct {
	QueryExecutionID *string `json:"QueryExecutionId"`
	NextToken        *string
	MaxResults       *int
}

type resultRow struct {
	Data []datum
}

type datum struct {
	VarCharValue *string `json:",omitempty"`
}

const maxResultsPerPage = 1000

func (s *Service) getQueryResults(c awsapi.Caller, body []byte) (any, *apiError) {
	var in getQueryResultsInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	switch {
	case in.QueryExecutionID == nil:
		return nil, missingParameter("queryExecutionId")
	case in.NextToken != nil && *in.NextToken == "":
		return nil, validationError("Value '' at 'nextToken' failed to satisfy constraint: Member must have length greater than or equal to 1")
	case in.MaxResults != nil && *in.MaxResults < 1:
		return nil, validationError("Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1", *in.MaxResults)
	}
	s.mu.Lock()
	found, e := s.findLocked(c, in.QueryExecutionID)
	var ex execution
	if found != nil {
		ex = *found
	}
	s.mu.Unlock()
	if e != nil {
		return nil, e
	}
	limit := maxResultsPerPage
	if in.MaxResults != nil {
		if *in.MaxResults > maxResultsPerPage {
			return nil, invalidRequest("INVALID_INPUT", "MaxResults is more than maximum allowed length %d", maxResultsPerPage)
		}
		limit = *in.MaxResults
	}
	switch ex.State {
	case stateQueued, stateRunning:
		return nil, invalidRequest("INVALID_QUERY_EXECUTION_STATE", "Query has not yet finished. Current state: %s", ex.State)
	case stateFailed:
		return nil, invalidRequest("INVALID_QUERY_EXECUTION_STATE", "Query did not finish successfully. Final query state: FAILED")
	case stateCancelled:
		return nil, invalidRequest("RESULT_NOT_FOUND", "Could not find results")
	}
	offset := 0
	if in.NextToken != nil {
		var ok bool
		if offset, ok = decodePageToken(ex.ID, *in.NextToken); !ok {
			return nil, invalidRequest("INVALID_INPUT", "Malformed nextPageToken %s", *in.NextToken)
		}
	}
	rows, err := s.readResult(&ex)
	if err != nil {
		return nil, invalidRequest("RESULT_NOT_FOUND", "Could not find results")
	}
	end := min(offset+limit, len(rows))
	page := make([]resultRow, 0, max(end-offset, 0))
	for _, r := range rows[min(offset, len(rows)):end] {
		data := make([]datum, len(r))
		for i, v := range r {
			data[i] = datum{VarCharValue: v}
		}
		page = append(page, resultRow{Data: data})
	}
	columns := ex.Columns
	if columns == nil {
		columns = []columnInfo{}
	}
	out := map[string]any{"ResultSet": map[string]any{"Rows": page, "ResultSetMetadata": map[string]any{"ColumnInfo": columns}}}
	if ex.StatementType != "DDL" {
		out["UpdateCount"] = 0
	}
	if end < len(rows) {
		out["NextToken"] = encodePageToken(ex.ID, end)
	}
	return out, nil
}

// readResult reads a finished query's rows back from its result file, as
// Athena streams them from S3.
func (s *Service) readResult(ex *execution) ([][]*string, error) {
	bucket, key, _ := parseS3URL(ex.OutputLocation)
	body, err := s.cfg.Objects.GetObject(bucket, key)
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(key, ".csv") {
		return decodeCSV(string(body))
	}
	return decodeText(string(body)), nil
}

func encodePageToken(id string, offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(id + "/" + strconv.Itoa(offset)))
}

func decodePageToken(id, token string) (int, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, false
	}
	tokenID, offset, ok := strings.Cut(string(raw), "/")
	n, err := strconv.Atoi(offset)
	if !ok || tokenID != id || err != nil || n < 0 {
		return 0, false
	}
	return n, true
}
