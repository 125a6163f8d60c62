// Package organizations is the sandbox's AWS Organizations, in the JSON
// 1.1 protocol. The sandbox's accounts belong to no organization (as
// CloudTrail's refusal of organization trails says too), so
// DescribeOrganization answers as AWS does for a standalone account. The
// AWS CLI's validate-logs asks it about organization trails.
package organizations

import (
	"log"
	"net/http"
	"strings"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

// TargetPrefix is the X-Amz-Target prefix of Organizations' operations.
const TargetPrefix = "AWSOrganizationsV20161128."

const (
	source = "organizations.amazonaws.com"
	// globalRegion is where CloudTrail records the calls of a global
	// service such as Organizations.
	globalRegion = "us-east-1"
)

// Recorder records management calls as CloudTrail events.
type Recorder interface {
	RecordCall(c awsapi.Caller, call awsapi.Call) error
}

// Config is what Organizations needs from the sandbox.
type Config struct {
	Recorder Recorder
}

// Service is Organizations, for accounts outside any organization.
type Service struct {
	cfg Config
}

// New returns Organizations.
func New(cfg Config) *Service { return &Service{cfg: cfg} }

// operations are the operations the sandbox answers, and whether each
// only reads.
var operations = map[string]bool{"DescribeOrganization": true}

func operation(r *http.Request) string {
	return strings.TrimPrefix(r.Header.Get("X-Amz-Target"), TargetPrefix)
}

// Operation names the operation a request calls; ok is false for one the
// sandbox does not have, which ServeAPI answers.
func (s *Service) Operation(r *http.Request, _ []byte) (string, bool) {
	name := operation(r)
	_, ok := operations[name]
	return name, ok
}

// ServeAPI answers one authenticated Organizations request.
func (s *Service) ServeAPI(w http.ResponseWriter, r *http.Request, c awsapi.Caller, _ []byte) {
	name := operation(r)
	readOnly, ok := operations[name]
	if !ok {
		awsapi.WriteJSONError(w, http.StatusBadRequest, "UnknownOperationException", "Unknown operation "+name)
		return
	}
	const code, message = "AWSOrganizationsNotInUseException", "Your account is not a member of an organization."
	c.Region = globalRegion
	call := awsapi.Call{Source: source, Name: name, ReadOnly: readOnly, RequestParameters: map[string]any{}, ErrorCode: code, ErrorMessage: message}
	if err := s.cfg.Recorder.RecordCall(c, call); err != nil {
		log.Printf("sandbox: Organizations %s: %v", name, err)
		awsapi.WriteJSONError(w, http.StatusInternalServerError, "ServiceException", "persisting state: "+err.Error())
		return
	}
	awsapi.WriteJSONError(w, http.StatusBadRequest, code, message)
}

// WriteError answers in the JSON 1.1 protocol's error shape.
func (s *Service) WriteError(w http.ResponseWriter, _ *http.Request, status int, code, message string) {
	awsapi.WriteJSONError(w, status, code, message)
}
