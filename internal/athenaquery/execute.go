package athenaquery

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/athena/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// Catalog is the data catalog the tables are in.
const Catalog = "AwsDataCatalog"

// DefaultWorkgroup is the workgroup every account has.
const DefaultWorkgroup = "primary"

// Client is the part of *athena.Client the engine and the table use.
type Client interface {
	StartQueryExecution(ctx context.Context, in *athena.StartQueryExecutionInput, optFns ...func(*athena.Options)) (*athena.StartQueryExecutionOutput, error)
	GetQueryExecution(ctx context.Context, in *athena.GetQueryExecutionInput, optFns ...func(*athena.Options)) (*athena.GetQueryExecutionOutput, error)
	GetQueryResults(ctx context.Context, in *athena.GetQueryResultsInput, optFns ...func(*athena.Options)) (*athena.GetQueryResultsOutput, error)
	StopQueryExecution(ctx context.Context, in *athena.StopQueryExecutionInput, optFns ...func(*athena.Options)) (*athena.StopQueryExecutionOutput, error)
	GetTableMetadata(ctx context.Context, in *athena.GetTableMetadataInput, optFns ...func(*athena.Options)) (*athena.GetTableMetadataOutput, error)
}

// Statement is one SQL statement to run.
type Statement struct {
	SQL string
	// Parameters replace the statement's ? markers in order. Athena reads
	// each as an SQL literal: Quote a string.
	Parameters []string
	// Database is the query's context, "" for none.
	Database string
	// Workgroup is DefaultWorkgroup when empty.
	Workgroup string
	// OutputLocation is where results are written (s3://bucket/prefix/);
	// empty leaves it to the workgroup's setting.
	OutputLocation string
}

// Polling backs off from pollFirst to pollMax: a DDL statement ends in
// about a second, a query over months of an organization's logs in
// minutes, and GetQueryExecution calls count against the account's quota.
var (
	pollFirst = 200 * time.Millisecond
	pollMax   = 5 * time.Second
)

// stopTimeout bounds the StopQueryExecution call made once the caller's
// context is done.
const stopTimeout = 30 * time.Second

// QueryError is a query that ended FAILED or CANCELLED, with Athena's
// reason.
type QueryError struct {
	QueryExecutionID string
	State            types.QueryExecutionState
	// Reason is the StateChangeReason, such as "TABLE_NOT_FOUND: line
	// 1:15: Table 'awsdatacatalog.audit.t' does not exist".
	Reason string
	// Category and Type are AthenaError's: category 1 is a system error,
	// 2 an error in the query, 3 another.
	Category, Type int32
	Retryable      bool
}

func (e *QueryError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Athena query %s %s", e.QueryExecutionID, strings.ToLower(string(e.State)))
	if e.Reason != "" {
		fmt.Fprintf(&b, ": %s", e.Reason)
	}
	switch e.Category {
	case 1:
		b.WriteString(" (an error in Athena")
	case 2:
		b.WriteString(" (an error in the query")
	case 3:
		b.WriteString(" (error")
	}
	if e.Category != 0 {
		fmt.Fprintf(&b, ", error type %d", e.Type)
		if e.Retryable {
			b.WriteString(", which Athena says may succeed if run again")
		}
		b.WriteString(")")
	}
	return b.String()
}

// Start starts st and returns its query execution id. The SDK sends a
// ClientRequestToken, so a retried start does not start a second query.
func Start(ctx context.Context, c Client, st Statement) (string, error) {
	in := &athena.StartQueryExecutionInput{
		QueryString:         aws.String(st.SQL),
		WorkGroup:           aws.String(workgroup(st.Workgroup)),
		ExecutionParameters: st.Parameters,
	}
	if st.Database != "" {
		in.QueryExecutionContext = &types.QueryExecutionContext{Catalog: aws.String(Catalog), Database: aws.String(st.Database)}
	}
	if st.OutputLocation != "" {
		in.ResultConfiguration = &types.ResultConfiguration{OutputLocation: aws.String(st.OutputLocation)}
	}
	out, err := c.StartQueryExecution(ctx, in)
	if err != nil {
		return "", fmt.Errorf("starting an Athena query in workgroup %s: %w", workgroup(st.Workgroup), err)
	}
	id := aws.ToString(out.QueryExecutionId)
	tflog.Debug(ctx, "Athena query started", map[string]any{"query_execution_id": id, "workgroup": workgroup(st.Workgroup)})
	return id, nil
}

func workgroup(w string) string {
	if w == "" {
		return DefaultWorkgroup
	}
	return w
}

// Wait polls the query until it ends and returns its execution once it
// SUCCEEDED; FAILED and CANCELLED are a *QueryError. When ctx is done
// first (a timeout, Ctrl-C), it stops the query, so that it stops
// scanning, and returns ctx's error.
func Wait(ctx context.Context, c Client, id string) (*types.QueryExecution, error) {
	delay := pollFirst
	for {
		out, err := c.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: aws.String(id)})
		if err != nil {
			if ctx.Err() != nil {
				return nil, stop(ctx, c, id)
			}
			return nil, fmt.Errorf("reading the state of Athena query %s: %w", id, err)
		}
		qe := out.QueryExecution
		if qe == nil || qe.Status == nil {
			return nil, fmt.Errorf("no status in GetQueryExecution's answer for Athena query %s", id)
		}
		switch st := qe.Status; st.State {
		case types.QueryExecutionStateSucceeded:
			return qe, nil
		case types.QueryExecutionStateFailed, types.QueryExecutionStateCancelled:
			e := &QueryError{QueryExecutionID: id, State: st.State, Reason: aws.ToString(st.StateChangeReason)}
			if ae := st.AthenaError; ae != nil {
				e.Category, e.Type, e.Retryable = aws.ToInt32(ae.ErrorCategory), aws.ToInt32(ae.ErrorType), ae.Retryable
				if e.Reason == "" {
					e.Reason = aws.ToString(ae.ErrorMessage)
				}
			}
			return nil, e
		}
		select {
		case <-ctx.Done():
			return nil, stop(ctx, c, id)
		case <-time.After(delay):
		}
		delay = min(2*delay, pollMax)
	}
}

// stop stops a query whose caller gave up, with a context of its own:
// ctx is already done. The error says the query was stopped, and why.
func stop(ctx context.Context, c Client, id string) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
	defer cancel()
	_, err := c.StopQueryExecution(sctx, &athena.StopQueryExecutionInput{QueryExecutionId: aws.String(id)})
	if err != nil {
		return fmt.Errorf("stopping Athena query %s, abandoned (%w): %w; it may still be running and scanning", id,
			context.Cause(ctx), err)
	}
	tflog.Info(ctx, "Athena query stopped", map[string]any{"query_execution_id": id, "cause": context.Cause(ctx).Error()})
	return &StoppedError{QueryExecutionID: id, Cause: context.Cause(ctx)}
}

// StoppedError is a query stopped because its caller gave up: Cause is
// why (context.Canceled, context.DeadlineExceeded).
type StoppedError struct {
	QueryExecutionID string
	Cause            error
}

func (e *StoppedError) Error() string {
	return fmt.Sprintf("stopped Athena query %s: %v", e.QueryExecutionID, e.Cause)
}

func (e *StoppedError) Unwrap() error { return e.Cause }

// Exec runs st to its end.
func Exec(ctx context.Context, c Client, st Statement) (*types.QueryExecution, error) {
	id, err := Start(ctx, c, st)
	if err != nil {
		return nil, err
	}
	return Wait(ctx, c, id)
}

// maxPage is the most rows GetQueryResults returns at once.
const maxPage = 1000

// Rows pages through a query's results and passes each row after the
// header to each; a NULL is a nil value. The header must name columns,
// so that a value is never read from the wrong column.
func Rows(ctx context.Context, c Client, id string, columns []string, each func(row []*string) error) error {
	pages := athena.NewGetQueryResultsPaginator(c, &athena.GetQueryResultsInput{QueryExecutionId: aws.String(id), MaxResults: aws.Int32(maxPage)})
	header := true
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("reading the results of Athena query %s: %w", id, err)
		}
		if page.ResultSet == nil {
			continue
		}
		for _, r := range page.ResultSet.Rows {
			row := make([]*string, len(r.Data))
			for i, d := range r.Data {
				row[i] = d.VarCharValue
			}
			if header {
				header = false
				names := make([]string, len(row))
				for i, v := range row {
					names[i] = aws.ToString(v)
				}
				if !slices.Equal(names, columns) {
					return fmt.Errorf("the results of Athena query %s have the columns (%s), not (%s)", id, strings.Join(names, ", "), strings.Join(columns, ", "))
				}
				continue
			}
			if len(row) != len(columns) {
				return fmt.Errorf("the results of Athena query %s have a row of %d values for %d columns", id, len(row), len(columns))
			}
			if err := each(row); err != nil {
				return err
			}
		}
	}
	if header {
		return fmt.Errorf("the results of Athena query %s have no header row", id)
	}
	return nil
}

// Quote is s as an SQL string literal, the form an ExecutionParameters
// value takes to be read as that string.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
