// Package sandbox is a local AWS endpoint for CloudTrail, S3 and STS.
//
// It is an independent implementation of AWS behaviour: it shares no code
// with the provider, so that a misunderstanding of the API cannot hide by
// being on both sides of a test. It may use the AWS SDK's signer and types.
package sandbox

import (
	"net/http"
	"sync"
	"time"
)

// Options configures a Server. The zero value of every field has a sensible
// default (see New).
type Options struct {
	// Account is the 12-digit account id of the configured key pair
	// (default 123456789012).
	Account string
	// AccessKey and SecretKey are the one long-term key pair the sandbox
	// accepts (default "test"/"test"). AssumeRole issues further temporary
	// key pairs.
	AccessKey string
	SecretKey string
	// LookupRPS is the LookupEvents rate allowed per account and region
	// (default 2, as AWS).
	LookupRPS float64
	// NoHistory starts without the built-in OpsWorks CM history.
	NoHistory bool
	// EventFiles are CloudTrail record files ({"Records":[...]}, plain or
	// gzipped) or directories of them, loaded at start.
	EventFiles []string
	// DataDir, when set, keeps state across restarts.
	DataDir string
	// PolicyPropagationDelay makes CreateTrail keep answering
	// InsufficientS3BucketPolicyException for this long after a bucket
	// policy was last written, as AWS does while a new policy propagates.
	PolicyPropagationDelay time.Duration
	// Faults are injected into matching requests.
	Faults []Fault
	// Now returns the current time (default time.Now); tests pin it.
	Now func() time.Time
}

// Server is the sandbox: an http.Handler serving CloudTrail, S3 and STS.
type Server struct {
	opts Options

	// mu guards every field below and all service state.
	mu sync.Mutex

	// ct is the CloudTrail state that persists (trails, selectors, tags,
	// recorded events); ctrt is what does not (rate limiters, faults,
	// the generated history). Both are set by initCloudTrail.
	ct   *cloudTrailState
	ctrt *cloudTrailRuntime
}

// requestInfo is what the router learned about an authenticated request
// before handing it to a service.
type requestInfo struct {
	Region    string // from the SigV4 credential scope
	Account   string // the account the access key belongs to
	AccessKey string
	ARN       string // the caller's identity ARN (user or assumed-role session)
	Service   string // "cloudtrail", "s3" or "sts"
	Body      []byte // the request body, already read
	SourceIP  string
	UserAgent string
}

// Contract between the router, S3 and STS (server.go, auth.go, s3*.go,
// sts.go, persist.go) and CloudTrail (cloudtrail*.go, lookup*.go,
// history*.go, records*.go, faults*.go):
//
// Defined on the CloudTrail side:
//
//	type cloudTrailState struct{...}   // JSON-serialisable, exported fields
//	type cloudTrailRuntime struct{...}
//	func (s *Server) initCloudTrail() error // called by New after defaults and restore
//	func (s *Server) serveCloudTrail(w http.ResponseWriter, r *http.Request, ri *requestInfo)
//	type Fault struct{...}; func ParseFault(spec string) (Fault, error)
//	func (s *Server) injectFault(w http.ResponseWriter, ri *requestInfo, operation string) bool
//	func (s *Server) recordCallLocked(ri *requestInfo, c call) // s.mu held
//
// Defined on the router/S3/STS side:
//
//	func writeJSONError(w http.ResponseWriter, status int, code, message string)
//	func writeS3Error(w http.ResponseWriter, r *http.Request, status int, code, message string)
//	func writeSTSError(w http.ResponseWriter, status int, code, message string)
//	func (s *Server) now() time.Time
//	func (s *Server) persistLocked() error // s.mu held; no-op without DataDir
//	func (s *Server) bucketPolicyLocked(bucket string) (policy string, written time.Time, region string, ok bool)
//	func (s *Server) putObjectLocked(bucket, key string, body []byte, contentType string) error

// ServeHTTP routes a request to CloudTrail (X-Amz-Target), STS (Action=) or
// S3 (everything else), after verifying its SigV4 signature.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "not implemented", http.StatusNotImplemented)
}
