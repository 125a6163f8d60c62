package athena

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

// Query execution states.
const (
	stateQueued    = "QUEUED"
	stateRunning   = "RUNNING"
	stateSucceeded = "SUCCEEDED"
	stateFailed    = "FAILED"
	stateCancelled = "CANCELLED"
)

// execution is one query execution.
type execution struct {
	ID    string
	Scope string
	// Query is the statement as sent, without surrounding white space and
	// a trailing semicolon.
	Query            string
	Token            string `json:",omitempty"`
	StatementType    string
	SubstatementType string
	// Catalog and Database are the query context as sent.
	Catalog   string `json:",omitempty"`
	Database  string `json:",omitempty"`
	WorkGroup string
	// OutputLocation is the result file's s3:// URL.
	OutputLocation string
	Parameters     []string `json:",omitempty"`

	State     string
	Reason    string       `json:",omitempty"`
	Failure   *athenaError `json:",omitempty"`
	Submitted time.Time
	Completed time.Time `json:",omitzero"`
	// QueueMillis and EngineMillis are measured on the wall clock, as the
	// sandbox's clock may stand still.
	QueueMillis  int64 `json:",omitempty"`
	EngineMillis int64 `json:",omitempty"`
	// DataScanned is the stored (compressed) size of the objects read.
	DataScanned int64 `json:",omitempty"`
	// Files are the s3:// URLs of the objects the query read.
	Files []string `json:",omitempty"`
	// Columns describe the result.
	Columns []columnInfo `json:",omitempty"`
}

// athenaError is Status.AthenaError of a failed query.
type athenaError struct {
	ErrorCategory int
	ErrorType     int
	Retryable     bool
	ErrorMessage  string
}

func (ex *execution) finished() bool {
	return ex.State == stateSucceeded || ex.State == stateFailed || ex.State == stateCancelled
}

func (ex *execution) fail(f *queryFailure, now time.Time) {
	ex.State, ex.Reason, ex.Completed = stateFailed, f.reason, now
	ex.Failure = &athenaError{ErrorCategory: f.category, ErrorType: f.errorType, ErrorMessage: f.reason}
}

type queryExecutionContext struct {
	Database *string `json:",omitempty"`
	Catalog  *string `json:",omitempty"`
}

type resultConfiguration struct {
	OutputLocation *string `json:",omitempty"`
}

type startQueryExecutionInput struct {
	QueryString           *string
	ClientRequestToken    *string
	QueryExecutionContext *queryExecutionContext
	ResultConfiguration   *resultConfiguration
	WorkGroup             *string
	ExecutionParameters   []string
}

type startQueryExecutionOutput struct {
	QueryExecutionID string `json:"QueryExecutionId"`
}

const (
	maxQueryLength     = 262144
	maxParameterLength = 1024
	primaryWorkGroup   = "primary"
)

var workGroupPattern = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,128}$`)

func (s *Service) startQueryExecution(c awsapi.Caller, body []byte) (any, *apiError) {
	var in startQueryExecutionInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := validateStart(&in); e != nil {
		return nil, e
	}
	ex := &execution{
		ID:         awsapi.NewUUID(),
		Scope:      scope(c),
		Query:      trimStatement(*in.QueryString),
		Token:      *in.ClientRequestToken,
		WorkGroup:  primaryWorkGroup,
		Parameters: in.ExecutionParameters,
		State:      stateQueued,
	}
	if in.WorkGroup != nil {
		ex.WorkGroup = *in.WorkGroup
	}
	if ctx := in.QueryExecutionContext; ctx != nil {
		ex.Catalog, ex.Database = deref(ctx.Catalog), deref(ctx.Database)
	}
	var location string
	if rc := in.ResultConfiguration; rc != nil {
		location = deref(rc.OutputLocation)
	}

	s.mu.Lock()
	prior := s.byTokenLocked(ex.Scope, ex.Token)
	s.mu.Unlock()
	if prior != nil {
		return retried(prior, ex, location)
	}
	if ex.Catalog != "" && !strings.EqualFold(ex.Catalog, catalogName) {
		return nil, invalidRequest("DATACATALOG_NOT_FOUND", "Catalog '%s' does not exist", ex.Catalog)
	}
	if ex.WorkGroup != primaryWorkGroup {
		return nil, invalidRequest("INVALID_INPUT", "WorkGroup is not found.")
	}
	if location == "" {
		return nil, invalidRequest("INVALID_INPUT", "No output location provided. An output location is required either through the Workgroup result configuration setting or as an API input.")
	}
	bucket, prefix, ok := parseS3URL(location)
	if !ok {
		return nil, invalidRequest("INVALID_INPUT", "outputLocation is not a valid S3 path.")
	}
	if _, err := s.cfg.Objects.ListObjects(bucket, prefix); err != nil {
		return nil, invalidRequest("INVALID_INPUT", "Unable to verify/create output bucket %s", bucket)
	}
	st, err := parseStatement(*in.QueryString)
	if err == nil && st.kind == stmtSelect {
		err = s.parse.check(*in.QueryString, in.ExecutionParameters)
	}
	var syn *syntaxError
	if errors.As(err, &syn) {
		return nil, invalidRequest("MALFORMED_QUERY", "%s", syn.Error())
	}
	if err != nil {
		return nil, internalError(err)
	}
	ex.StatementType, ex.SubstatementType = st.statementType, st.substatementType
	ex.OutputLocation = "s3://" + bucket + "/" + joinKey(prefix, ex.ID+st.resultFile())

	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	if prior := s.byTokenLocked(ex.Scope, ex.Token); prior != nil {
		// Started by a concurrent retry meanwhile.
		s.mu.Unlock()
		cancel()
		return retried(prior, ex, location)
	}
	ex.Submitted = s.now()
	s.state.Executions[ex.ID] = ex
	s.running[ex.ID] = cancel
	s.executionChangedLocked(ex)
	perr := s.flushLocked()
	s.mu.Unlock()
	if perr != nil {
		cancel()
		return nil, internalError(fmt.Errorf("persisting the query execution: %w", perr))
	}
	go s.run(ctx, ex.ID, st)
	return startQueryExecutionOutput{QueryExecutionID: ex.ID}, nil
}

// retried answers a start with a client request token already used: the
// query it started, whatever its state, unless the start asks for
// something else.
func retried(prior, ex *execution, location string) (any, *apiError) {
	b, p, _ := parseS3URL(location)
	dir := prior.OutputLocation[:strings.LastIndex(prior.OutputLocation, "/")]
	if prior.Query != ex.Query || prior.Catalog != ex.Catalog || prior.Database != ex.Database || dir != strings.TrimSuffix("s3://"+b+"/"+p, "/") {
		return nil, invalidRequest("IDEMPOTENT_PARAMETER_MISMATCH", "Idempotent parameters do not match")
	}
	return startQueryExecutionOutput{QueryExecutionID: prior.ID}, nil
}

func validateStart(in *startQueryExecutionInput) *apiError {
	switch {
	case in.QueryString == nil:
		return missingParameter("queryString")
	case len(*in.QueryString) < 1:
		return validationError("Value at 'queryString' failed to satisfy constraint: Member must have length greater than or equal to 1")
	case len(*in.QueryString) > maxQueryLength:
		return validationError("Value at 'queryString' failed to satisfy constraint: Member must have length less than or equal to %d", maxQueryLength)
	case in.ClientRequestToken == nil || *in.ClientRequestToken == "":
		return invalidRequest("INVALID_INPUT", "clientRequestToken is null or empty")
	case utf8.RuneCountInString(*in.ClientRequestToken) < 32:
		return validationError("Value '%s' at 'clientRequestToken' failed to satisfy constraint: Member must have length greater than or equal to 32", *in.ClientRequestToken)
	case utf8.RuneCountInString(*in.ClientRequestToken) > 128:
		return validationError("Value '%s' at 'clientRequestToken' failed to satisfy constraint: Member must have length less than or equal to 128", *in.ClientRequestToken)
	case in.WorkGroup != nil && !workGroupPattern.MatchString(*in.WorkGroup):
		return validationError("Value '%s' at 'workGroup' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9._-]{1,128}", *in.WorkGroup)
	case in.ExecutionParameters != nil && len(in.ExecutionParameters) == 0:
		return validationError("Value '[]' at 'executionParameters' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	for _, p := range in.ExecutionParameters {
		if n := utf8.RuneCountInString(p); n < 1 || n > maxParameterLength {
			return validationError("Value '[%s]' at 'executionParameters' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to %d, Member must have length greater than or equal to 1]", p, maxParameterLength)
		}
	}
	return nil
}

// trimStatement is the query as GetQueryExecution returns it.
func trimStatement(q string) string {
	q = strings.TrimSpace(q)
	q = strings.TrimSuffix(q, ";")
	return strings.TrimSpace(q)
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// byTokenLocked finds the scope's query started with a client request
// token. s.mu is held.
func (s *Service) byTokenLocked(sc, token string) *execution {
	for _, ex := range s.state.Executions {
		if ex.Scope == sc && ex.Token == token {
			return ex
		}
	}
	return nil
}

// parseS3URL splits s3://bucket[/prefix] into the bucket and the key
// prefix (without a trailing slash).
func parseS3URL(s string) (bucket, prefix string, ok bool) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return "", "", false
	}
	return u.Host, strings.Trim(u.Path, "/"), true
}

func joinKey(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "/" + name
}

// run executes a query in the background: QUEUED until a slot is free,
// then RUNNING, then SUCCEEDED or FAILED, unless StopQueryExecution
// cancelled it first.
func (s *Service) run(ctx context.Context, id string, st *statement) {
	queued := time.Now()
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-s.slots }()
	s.mu.Lock()
	ex := s.state.Executions[id]
	if ex.finished() {
		s.mu.Unlock()
		return
	}
	ex.State = stateRunning
	ex.QueueMillis = time.Since(queued).Milliseconds()
	s.executionChangedLocked(ex)
	s.logFlushLocked()
	job := *ex
	s.mu.Unlock()

	started := time.Now()
	res, err := s.execute(ctx, &job, st)

	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.running, id)
	if ex.finished() {
		// Stopped while running.
		return
	}
	ex.EngineMillis = time.Since(started).Milliseconds()
	var f *queryFailure
	switch {
	case err == nil:
		ex.State, ex.Completed = stateSucceeded, s.now()
		ex.Columns = res.columns
		ex.DataScanned, ex.Files = res.scanned, res.files
	case errors.As(err, &f):
		ex.DataScanned, ex.Files = res.scanned, res.files
		ex.fail(f, s.now())
	default:
		ex.fail(&queryFailure{reason: "INTERNAL_ERROR: " + err.Error(), category: 1, errorType: 100}, s.now())
	}
	s.executionChangedLocked(ex)
	s.logFlushLocked()
}

// logFlushLocked flushes changes from a query's goroutine, where no
// request is left to answer with an error.
func (s *Service) logFlushLocked() {
	if err := s.flushLocked(); err != nil {
		log.Printf("sandbox: Athena: persisting a query execution: %v", err)
	}
}

// result is what a finished query leaves: its result's columns and what
// it read.
type result struct {
	columns []columnInfo
	scanned int64
	files   []string
}

// execute runs a statement and writes its result file; a queryFailure
// is the query's own failure.
func (s *Service) execute(ctx context.Context, ex *execution, st *statement) (result, error) {
	if d := s.cfg.QueryDelay; d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return result{}, ctx.Err()
		}
	}
	var (
		out resultTable
		res result
		err error
	)
	switch st.kind {
	case stmtSelect:
		out, res, err = s.query(ctx, ex)
	case stmtUnsupported:
		err = userError("NOT_SUPPORTED", errTypeNotSupported, "the sandbox's Athena does not run %s statements; it runs SELECT, CREATE DATABASE, DROP DATABASE, CREATE EXTERNAL TABLE, DROP TABLE, SHOW TABLES and SHOW DATABASES", st.verb)
	default:
		out, err = s.ddl(ex, st)
	}
	if err != nil {
		return res, err
	}
	res.columns = out.columns
	if err := s.writeResult(ex, st, out); err != nil {
		return res, err
	}
	return res, nil
}

type getQueryExecutionInput struct {
	QueryExecutionID *string `json:"QueryExecutionId"`
}

func (s *Service) findLocked(c awsapi.Caller, id *string) (*execution, *apiError) {
	if id == nil {
		return nil, missingParameter("queryExecutionId")
	}
	ex := s.state.Executions[*id]
	if ex == nil || ex.Scope != scope(c) {
		return nil, invalidRequest("QUERY_EXECUTION_NOT_FOUND", "QueryExecution %s was not found", *id)
	}
	return ex, nil
}

// requestedLocked finds the query execution a request's
// QueryExecutionId names. s.mu is held.
func (s *Service) requestedLocked(c awsapi.Caller, body []byte) (*execution, *apiError) {
	var in getQueryExecutionInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	return s.findLocked(c, in.QueryExecutionID)
}

func (s *Service) getQueryExecution(c awsapi.Caller, body []byte) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ex, e := s.requestedLocked(c, body)
	if e != nil {
		return nil, e
	}
	return map[string]any{"QueryExecution": ex.describe()}, nil
}

func (s *Service) stopQueryExecution(c awsapi.Caller, body []byte) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ex, e := s.requestedLocked(c, body)
	if e != nil {
		return nil, e
	}
	if ex.finished() {
		return struct{}{}, nil
	}
	if cancel := s.running[ex.ID]; cancel != nil {
		cancel()
		delete(s.running, ex.ID)
	}
	ex.State, ex.Reason, ex.Completed = stateCancelled, "Query cancelled by user", s.now()
	s.executionChangedLocked(ex)
	if err := s.flushLocked(); err != nil {
		return nil, internalError(err)
	}
	return struct{}{}, nil
}

// describe is the execution as GetQueryExecution answers it.
func (ex *execution) describe() map[string]any {
	status := map[string]any{"State": ex.State, "SubmissionDateTime": awsapi.Epoch(ex.Submitted)}
	if ex.Reason != "" {
		status["StateChangeReason"] = ex.Reason
	}
	if !ex.Completed.IsZero() {
		status["CompletionDateTime"] = awsapi.Epoch(ex.Completed)
	}
	if ex.Failure != nil {
		status["AthenaError"] = ex.Failure
	}
	context := map[string]string{}
	if ex.Database != "" {
		context["Database"] = ex.Database
	}
	if ex.Catalog != "" {
		context["Catalog"] = strings.ToLower(ex.Catalog)
	}
	out := map[string]any{
		"QueryExecutionId":         ex.ID,
		"Query":                    ex.Query,
		"StatementType":            ex.StatementType,
		"SubstatementType":         ex.SubstatementType,
		"ResultConfiguration":      map[string]string{"OutputLocation": ex.OutputLocation},
		"ResultReuseConfiguration": map[string]any{"ResultReuseByAgeConfiguration": map[string]bool{"Enabled": false}},
		"QueryExecutionContext":    context,
		"Status":                   status,
		"Statistics": map[string]any{
			"EngineExecutionTimeInMillis":      ex.EngineMillis,
			"DataScannedInBytes":               ex.DataScanned,
			"TotalExecutionTimeInMillis":       ex.QueueMillis + ex.EngineMillis,
			"QueryQueueTimeInMillis":           ex.QueueMillis,
			"ServicePreProcessingTimeInMillis": 0,
			"QueryPlanningTimeInMillis":        0,
			"ServiceProcessingTimeInMillis":    0,
			"ResultReuseInformation":           map[string]bool{"ReusedPreviousResult": false},
		},
		"WorkGroup":     ex.WorkGroup,
		"EngineVersion": engineVersion,
	}
	if len(ex.Parameters) > 0 {
		out["ExecutionParameters"] = ex.Parameters
	}
	return out
}

// QueryFiles returns the s3:// URLs of the objects a query read, in the
// order it read them; ok is false for an unknown query. Tests use it to
// check partition pruning.
func (s *Service) QueryFiles(id string) (files []string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ex := s.state.Executions[id]
	if ex == nil {
		return nil, false
	}
	return append([]string(nil), ex.Files...), true
}
