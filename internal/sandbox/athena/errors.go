package athena

import (
	"fmt"
	"net/http"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

// apiError is an error answer of the Athena API.
type apiError struct {
	status int
	// code is the error shape (__type): InvalidRequestException,
	// MetadataException, ...
	code string
	// athenaCode is InvalidRequestException's AthenaErrorCode.
	athenaCode string
	msg        string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func invalidRequest(athenaCode, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "InvalidRequestException", athenaCode: athenaCode, msg: fmt.Sprintf(format, args...)}
}

// validationError is the AWS framework's answer to a parameter outside
// its model's constraints.
func validationError(format string, args ...any) *apiError {
	return invalidRequest("INVALID_INPUT", "1 validation error detected: "+format, args...)
}

func missingParameter(name string) *apiError {
	return validationError("Value null at '%s' failed to satisfy constraint: Member must not be null", name)
}

// entityNotFound is how Athena relays the Glue Data Catalog's
// EntityNotFoundException for a database or table that does not exist.
func entityNotFound() *apiError {
	return &apiError{status: http.StatusBadRequest, code: "MetadataException", msg: "Entity Not Found (Service: AmazonDataCatalog; Status Code: 400; Error Code: EntityNotFoundException; Request ID: " + awsapi.NewUUID() + "; Proxy: null)"}
}

func internalError(err error) *apiError {
	return &apiError{status: http.StatusInternalServerError, code: "InternalServerException", msg: err.Error()}
}

// writeError answers in Athena's error shape: InvalidRequestException
// carries AthenaErrorCode and the same value as ErrorCode.
func writeError(w http.ResponseWriter, e *apiError) {
	fields := map[string]string{}
	if e.msg != "" {
		fields["Message"] = e.msg
	}
	if e.athenaCode != "" {
		fields["AthenaErrorCode"], fields["ErrorCode"] = e.athenaCode, e.athenaCode
	}
	awsapi.WriteJSONErrorFields(w, e.status, e.code, fields)
}

// queryFailure is why a query ended FAILED: Athena's reason
// (StateChangeReason) and its AthenaError classification.
type queryFailure struct {
	reason string
	// category is 1 (system), 2 (user) or 3 (other); errorType Athena's
	// error type number.
	category, errorType int
}

func (f *queryFailure) Error() string { return f.reason }

// userError is a failure the query's author caused, with Athena's error
// name as the reason's prefix (COLUMN_NOT_FOUND: ...).
func userError(name string, errorType int, format string, args ...any) *queryFailure {
	return &queryFailure{reason: name + ": " + fmt.Sprintf(format, args...), category: 2, errorType: errorType}
}

// Athena's error type numbers for the errors the sandbox reports.
const (
	errTypeGeneric          = 1000
	errTypeDivisionByZero   = 1001
	errTypeTypeMismatch     = 1002
	errTypeColumnNotFound   = 1006
	errTypeInvalidCast      = 1100
	errTypeNotSupported     = 1200
	errTypeTableNotFound    = 1301
	errTypeFunctionNotFound = 1303
	errTypeBadData          = 1101
	errTypeInvalidMetadata  = 1304
)

// hiveFailure is a DDL statement Hive's metastore refused, in Hive's
// words.
func hiveFailure(errorType int, format string, args ...any) *queryFailure {
	return &queryFailure{reason: "FAILED: " + fmt.Sprintf(format, args...), category: 2, errorType: errorType}
}
