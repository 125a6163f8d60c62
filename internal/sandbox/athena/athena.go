// Package athena is the sandbox's Amazon Athena, in the JSON 1.1 protocol
// (X-Amz-Target AmazonAthena.<Operation>, SigV4 service athena): a data
// catalog per account and region that DDL statements build, and queries
// that run on DuckDB, an embedded SQL engine, over the log files in the
// sandbox's S3 buckets.
//
// # API
//
// StartQueryExecution, GetQueryExecution, GetQueryResults,
// StopQueryExecution; GetDatabase, ListDatabases, GetTableMetadata,
// ListTableMetadata (catalog AwsDataCatalog); GetWorkGroup and
// ListWorkGroups (the workgroup primary, without an output location of
// its own). Every call is recorded in CloudTrail (athena.amazonaws.com).
//
// Queries run in the background: QUEUED (two run at once), RUNNING, then
// SUCCEEDED, FAILED (StateChangeReason and AthenaError say why, as
// Athena words it: COLUMN_NOT_FOUND: ..., TABLE_NOT_FOUND: line 1:15:
// Table 'awsdatacatalog.db.t' does not exist, FAILED: SemanticException
// ... for DDL) or CANCELLED (StopQueryExecution). A statement that does
// not parse is refused by StartQueryExecution with
// InvalidRequestException (AthenaErrorCode MALFORMED_QUERY), as are a
// missing output location (none given, and primary has none), an output
// bucket that does not exist ("Unable to verify/create output bucket"),
// another workgroup, and a reused ClientRequestToken with other
// parameters (IDEMPOTENT_PARAMETER_MISMATCH). A missing database or table
// in the catalog reads is MetadataException with the Glue Data Catalog's
// "Entity Not Found (... Error Code: EntityNotFoundException ...)".
//
// Results are written to <OutputLocation>/<QueryExecutionId>.csv (every
// value quoted, NULL an empty field, a header line) with a .csv.metadata
// beside it, or .txt for DDL and SHOW statements, and GetQueryResults
// reads them back from S3: pages of MaxResults (1 to 1000) rows with
// NextToken; a query's first row is its column names; ColumnInfo has
// Athena's types (varchar, bigint, double, boolean, timestamp, timestamp
// with time zone, date, array, map, row, json, decimal) and precisions.
// Values are written as Athena writes them: doubles in Java's notation
// (1.0E20), timestamps to the millisecond (2025-06-15 12:00:00.000 UTC),
// arrays [a, b], maps {k=v}, rows {name=value}. Columns are named as
// Trino names them: an expression without an alias is _col<position>.
//
// GetQueryExecution's Statistics.DataScannedInBytes is the stored
// (compressed) size of the objects the query read; Service.QueryFiles
// lists them, so that tests can check partition pruning.
//
// # Statements
//
//	CREATE {DATABASE|SCHEMA} [IF NOT EXISTS] name [COMMENT '...'] [LOCATION '...'] [WITH DBPROPERTIES (...)]
//	DROP {DATABASE|SCHEMA} [IF EXISTS] name [RESTRICT|CASCADE]
//	CREATE EXTERNAL TABLE [IF NOT EXISTS] [db.]name (column type [COMMENT '...'], ...)
//	  [COMMENT '...'] [PARTITIONED BY (column type, ...)]
//	  [ROW FORMAT SERDE '...' [WITH SERDEPROPERTIES (...)] | ROW FORMAT DELIMITED ...]
//	  [STORED AS INPUTFORMAT '...' OUTPUTFORMAT '...' | STORED AS {TEXTFILE|PARQUET|ORC}]
//	  LOCATION 's3://...' [TBLPROPERTIES ('key'='value', ...)]
//	DROP TABLE [IF EXISTS] [db.]name
//	SHOW TABLES [{IN|FROM} db] [[LIKE] 'pattern']
//	SHOW {DATABASES|SCHEMAS} [[LIKE] 'pattern']
//	SELECT ... | WITH ... | VALUES ...
//
// Column types are Hive's: string, varchar(n), char(n), int, bigint,
// smallint, tinyint, double, float, boolean, date, timestamp,
// decimal(p,s), binary, array<T>, map<K,V>, struct<name:T,...>; the
// catalog keeps them as Glue does (lower case, no spaces). This is enough
// for AWS's documented CloudTrail table ("Create the table for CloudTrail
// logs in Athena using partition projection"), and for its organization
// form. Other statements (INSERT, CTAS, views, ALTER TABLE, MSCK,
// DESCRIBE, EXPLAIN, ...) are classified as Athena classifies them and
// fail with NOT_SUPPORTED.
//
// # Reading tables
//
// A table is read by its input format and serde as Athena reads it: with
// com.amazon.emr.cloudtrail.CloudTrailInputFormat a file's Records array
// is its rows, otherwise every line is a JSON document; files ending in
// .gz are gunzipped; hidden files (_x, .x) and folder markers are skipped.
// JSON documents are read as the Hive JSON SerDe (org.apache.hive.hcatalog.
// data.JsonSerDe, org.openx.data.jsonserde.JsonSerDe, CloudTrailSerde)
// reads them: keys match columns and struct fields whatever their case; a
// JSON object or array in a string column is its compact JSON text;
// numbers and booleans in a string column are their text (readonly is
// 'true' or 'false'); a missing key, JSON null or a value of another
// shape is NULL; duplicate records are all read. Tables of other serdes
// (Parquet, ORC, CSV) can be created, not queried.
//
// Partitions come from partition projection (projection.enabled = true):
// enum (projection.<col>.values), integer (range, interval, digits), date
// (format in yyyy, yy, MM, dd, HH, mm, ss; range from a date or NOW[±N
// unit] to another; interval and interval.unit) and injected (the values
// the query compares the column with, required); files are under
// storage.location.template with ${column} replaced, or the table's
// location and column=value/ folders without a template. A partitioned
// table without projection has no partitions (there is no ALTER TABLE ADD
// PARTITION). The conjuncts of a query's WHERE clause that depend on
// partition columns only (=, IN, BETWEEN, <, LIKE, functions, OR across
// partition columns, ...) are evaluated over the projected partitions
// and only the files of the partitions that pass are read; a column
// without such a conjunct reads all its projected values, from the
// range's start to NOW for a date. A table's partitions are listed under
// one bucket.
//
// # SQL of queries
//
// Queries are Athena's (Trino's) SQL, run by DuckDB after a translation:
// ExecutionParameters replace the ? markers as Athena binds them (a value
// that reads as a literal, such as '111122223333', 42, DATE '2025-06-01'
// or TIMESTAMP '2025-06-01 00:00:00 UTC', is that literal; anything else
// is a string; a count other than the markers' fails with
// INVALID_PARAMETER_USAGE), TIMESTAMP '... zone' is a timestamp with time
// zone, CAST(x AS ARRAY(T)) is T[]. Identifiers are case-insensitive and
// quoted with double quotes (backquotes are refused, as in Trino).
// Tables are named name, db.name or awsdatacatalog.db.name. SELECT with
// DISTINCT, joins, subqueries, WITH, UNION, GROUP BY, HAVING, ORDER BY
// (NULLs last), LIMIT, window functions, UNNEST, struct fields
// (useridentity.sessioncontext.sessionissuer.arn), array subscripts from
// 1 (resources[1].arn) and map subscripts (m['k']) mean what they mean in
// Trino; / of integers is integer division; the time zone is UTC; now()
// and current_date are the sandbox's clock.
//
// Functions DuckDB has under Trino's names and meanings: lower, upper,
// length, substr, strpos, replace (three arguments), trim, ltrim, rtrim,
// split, split_part, starts_with, concat and ||, coalesce, nullif, if,
// greatest, least, try, cast, try_cast, abs, round, floor, ceil, count,
// count(DISTINCT), count_if, sum, avg, min, max, min_by, max_by,
// array_agg, contains, json_array_length, regexp_extract, date_trunc,
// map_keys, map_values. Defined as macros
// with Trino's meaning: from_iso8601_timestamp, from_iso8601_date,
// to_iso8601, from_unixtime, to_unixtime, date_add(unit, n, t),
// date_diff(unit, a, b) (whole units), date_format (MySQL specifiers
// %Y %m %d %H %i %s %T %M %W %e %c %k %l %r), json_extract and
// json_extract_scalar (NULL for a value that is not JSON, and
// json_extract_scalar NULL for an object or array), json_format,
// json_parse, json_array_contains, cardinality (of an array),
// element_at, regexp_like, regexp_replace (every match; $1 groups),
// arbitrary, approx_distinct, array_join, sequence. Not supported:
// date_parse and parse_datetime, lambdas (transform, filter, any_match),
// cardinality of a map, the "$path" pseudo-column, and DuckDB's concat
// differs from Trino's in skipping NULLs. Functions neither DuckDB nor
// the macros have fail with FUNCTION_NOT_FOUND; DuckDB's own functions
// that Trino lacks (list_contains, ...) run, where Athena would refuse
// them: write queries in Trino's functions.
package athena

import (
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

// Objects are the S3 buckets Athena reads tables from and writes query
// results to.
type Objects interface {
	// ListObjects returns the current objects whose keys start with
	// prefix, in key order; it fails when there is no such bucket.
	ListObjects(bucket, prefix string) ([]Object, error)
	// GetObject returns an object's current body, which the caller must
	// not change.
	GetObject(bucket, key string) ([]byte, error)
	// PutObject writes an object as the bucket owner's, with user
	// metadata by name without the x-amz-meta- prefix.
	PutObject(bucket, key string, body []byte, contentType string, metadata map[string]string) error
}

// Object is a listed object.
type Object struct {
	Key  string
	Size int64
}

// Recorder records management calls as CloudTrail events.
type Recorder interface {
	RecordCall(c awsapi.Caller, call awsapi.Call) error
}

// Config is what Athena needs from the sandbox.
type Config struct {
	// Now is the sandbox's clock: submission and completion times, and
	// NOW in partition projection ranges.
	Now      func() time.Time
	Objects  Objects
	Recorder Recorder
	Journal  awsapi.Journal
	// QueryDelay keeps every query RUNNING at least this long before it
	// runs, so that clients' polling and StopQueryExecution can be
	// tested.
	QueryDelay time.Duration
}

// TargetPrefix is the X-Amz-Target prefix of Athena's operations, from
// the Go SDK and botocore alike.
const TargetPrefix = "AmazonAthena."

const source = "athena.amazonaws.com"

// maxConcurrentQueries is how many queries run at once; the others wait
// QUEUED, as on Athena.
const maxConcurrentQueries = 2

// Service is Athena: each account's data catalog and query executions
// in each region.
type Service struct {
	cfg Config

	mu    sync.Mutex
	state *state
	// running cancels the queries not yet finished, by id.
	running map[string]func()
	pending []any

	slots chan struct{}
	// parse is DuckDB's parser, for StartQueryExecution's syntax check.
	parse *parseEngine
}

// New returns Athena with empty catalogs.
func New(cfg Config) *Service {
	return &Service{
		cfg:     cfg,
		state:   &state{Catalogs: map[string]*catalog{}, Executions: map[string]*execution{}},
		running: map[string]func(){},
		slots:   make(chan struct{}, maxConcurrentQueries),
		parse:   &parseEngine{},
	}
}

func (s *Service) now() time.Time { return s.cfg.Now() }

// scope names an account's resources in a region: catalogs, workgroups
// and query executions are regional.
func scope(c awsapi.Caller) string { return c.Account + "/" + c.Region }

// catalogLocked returns the scope's catalog, made on first use. s.mu is
// held.
func (s *Service) catalogLocked(sc string) *catalog {
	c := s.state.Catalogs[sc]
	if c == nil {
		c = newCatalog(s.now())
		s.state.Catalogs[sc] = c
	}
	return c
}

// op is one Athena operation: it decodes its input from body and returns
// its output.
type op struct {
	readOnly bool
	run      func(s *Service, c awsapi.Caller, body []byte) (any, *apiError)
}

var ops = map[string]op{
	"StartQueryExecution": {run: (*Service).startQueryExecution},
	"GetQueryExecution":   {readOnly: true, run: (*Service).getQueryExecution},
	"GetQueryResults":     {readOnly: true, run: (*Service).getQueryResults},
	"StopQueryExecution":  {run: (*Service).stopQueryExecution},
	"GetDatabase":         {readOnly: true, run: (*Service).getDatabase},
	"ListDatabases":       {readOnly: true, run: (*Service).listDatabases},
	"GetTableMetadata":    {readOnly: true, run: (*Service).getTableMetadata},
	"ListTableMetadata":   {readOnly: true, run: (*Service).listTableMetadata},
	"GetWorkGroup":        {readOnly: true, run: (*Service).getWorkGroup},
	"ListWorkGroups":      {readOnly: true, run: (*Service).listWorkGroups},
}

func operation(r *http.Request) string {
	return strings.TrimPrefix(r.Header.Get("X-Amz-Target"), TargetPrefix)
}

// Operation names the operation a request calls; ok is false for one
// Athena does not have (or the sandbox does not serve), which ServeAPI
// answers.
func (s *Service) Operation(r *http.Request, _ []byte) (string, bool) {
	name := operation(r)
	_, ok := ops[name]
	return name, ok
}

// WriteError answers in Athena's error shape.
func (s *Service) WriteError(w http.ResponseWriter, _ *http.Request, status int, code, message string) {
	writeError(w, &apiError{status: status, code: code, msg: message})
}

// ServeAPI answers one authenticated Athena request and records it as
// CloudTrail does.
func (s *Service) ServeAPI(w http.ResponseWriter, r *http.Request, c awsapi.Caller, body []byte) {
	name := operation(r)
	o, ok := ops[name]
	if !ok {
		writeError(w, &apiError{status: http.StatusBadRequest, code: "UnknownOperationException"})
		return
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	out, aerr := o.run(s, c, body)
	call := awsapi.Call{Source: source, Name: name, ReadOnly: o.readOnly, RequestParameters: awsapi.RequestParameters(body)}
	if aerr != nil {
		call.ErrorCode, call.ErrorMessage = aerr.code, aerr.msg
	} else if started, ok := out.(startQueryExecutionOutput); ok {
		call.ResponseElements = map[string]string{"queryExecutionId": started.QueryExecutionID}
	}
	if err := s.cfg.Recorder.RecordCall(c, call); err != nil {
		log.Printf("sandbox: recording Athena %s: %v", name, err)
	}
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	awsapi.WriteJSON(w, out)
}

// decode reads an operation's input; a body of the wrong shape is a
// SerializationException, as the AWS JSON protocol answers it.
func decode(body []byte, v any) *apiError {
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		msg := ""
		if errors.As(err, &te) {
			msg = te.Value + " can not be converted to " + te.Type.String()
		}
		return &apiError{status: http.StatusBadRequest, code: "SerializationException", msg: msg}
	}
	return nil
}
