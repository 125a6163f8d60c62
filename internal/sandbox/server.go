// Package sandbox is a local AWS endpoint for CloudTrail, S3 and STS.
//
// It is an independent implementation of AWS behaviour: it shares no code
// with the provider, so that a misunderstanding of the API cannot hide by
// being on both sides of a test. It may use the AWS SDK's signer and types.
package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sigv4"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sts"
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
	opts     Options
	verifier *sigv4.Verifier

	// mu guards every field below and all service state.
	mu sync.Mutex

	// ct is the CloudTrail state that persists (trails, selectors, tags,
	// recorded events); ctrt is what does not (rate limiters, faults,
	// the generated history). Both are set by initCloudTrail.
	ct   *cloudTrailState
	ctrt *cloudTrailRuntime

	// buckets holds every account's S3 buckets: bucket names are global,
	// as in AWS.
	buckets map[string]*bucket
	sts     *sts.Service

	// Each service's journal, and the object bodies, keep the state in
	// Options.DataDir; without one they keep nothing.
	s3Journal, ctJournal awsapi.Journal
	bodies               bodyStore
	// ctPending are CloudTrail changes not yet written to its journal.
	ctPending []any
}

// requestInfo is what the router learned about an authenticated request
// before handing it to a service.
type requestInfo struct {
	awsapi.Caller
	Service string // "cloudtrail", "s3" or "sts"
	Body    []byte // the request body, already read
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
//	func awsapi.WriteJSONError(w http.ResponseWriter, status int, code, message string)
//	func writeS3Error(w http.ResponseWriter, r *http.Request, status int, code, message string)
//	func writeSTSError(w http.ResponseWriter, status int, code, message string)
//	func (s *Server) now() time.Time
//	func (s *Server) bucketPolicyLocked(bucket string) (policy string, written time.Time, region string, ok bool)
//	func (s *Server) putObjectLocked(bucket, key string, body []byte, contentType string) error

// Defaults for the zero Options.
const (
	DefaultAccount   = "123456789012"
	DefaultAccessKey = "test"
	DefaultSecretKey = "test"
	DefaultLookupRPS = 2
)

// maxBodyBytes bounds a request body held in memory: far above anything a
// test or demo sends, low enough that a stray upload cannot exhaust memory.
const maxBodyBytes = 256 << 20

// New returns a Server with defaults applied and state restored from
// opts.DataDir when it holds any.
func New(opts Options) (*Server, error) {
	if opts.Account == "" {
		opts.Account = DefaultAccount
	}
	if !accountPattern.MatchString(opts.Account) {
		return nil, fmt.Errorf("account %q: want 12 digits", opts.Account)
	}
	if opts.AccessKey == "" {
		opts.AccessKey = DefaultAccessKey
	}
	if opts.SecretKey == "" {
		opts.SecretKey = DefaultSecretKey
	}
	if opts.LookupRPS == 0 {
		opts.LookupRPS = DefaultLookupRPS
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:    opts,
		buckets: map[string]*bucket{},
	}
	s.verifier = &sigv4.Verifier{Keys: keys{s}, Now: s.now}
	s.s3Journal, s.ctJournal, s.bodies = memory{}, memory{}, memory{}
	s.sts = sts.New(sts.Config{Now: s.now, Recorder: recorder{s}, Journal: memory{}})
	var st *store
	if opts.DataDir != "" {
		var err error
		if st, err = s.restore(opts.DataDir); err != nil {
			return nil, fmt.Errorf("restoring sandbox state from %s: %w", opts.DataDir, err)
		}
	}
	if err := s.initCloudTrail(); err != nil {
		return nil, fmt.Errorf("starting CloudTrail: %w", err)
	}
	if st != nil {
		if err := st.removeUnreferenced(); err != nil {
			return nil, fmt.Errorf("cleaning up %s: %w", opts.DataDir, err)
		}
	}
	return s, nil
}

// restore opens the data directory and restores each service from its
// snapshot and journal.
func (s *Server) restore(dir string) (*store, error) {
	st, err := openStore(dir)
	if err != nil {
		return nil, err
	}
	s.bodies = st
	stsJournal, snapshot, changes, err := st.journal(areaSTS)
	if err != nil {
		return nil, err
	}
	s.sts = sts.New(sts.Config{Now: s.now, Recorder: recorder{s}, Journal: stsJournal})
	if err := s.sts.Restore(snapshot, changes); err != nil {
		return nil, fmt.Errorf("restoring %s: %w", areaSTS, err)
	}
	for _, area := range []struct {
		name    string
		journal *awsapi.Journal
		restore func(snapshot json.RawMessage, changes []json.RawMessage) error
	}{
		{areaS3, &s.s3Journal, s.restoreS3},
		{areaCloudTrail, &s.ctJournal, s.restoreCloudTrail},
	} {
		j, snapshot, changes, err := st.journal(area.name)
		if err != nil {
			return nil, err
		}
		if err := area.restore(snapshot, changes); err != nil {
			return nil, fmt.Errorf("restoring %s: %w", area.name, err)
		}
		*area.journal = j
	}
	return st, nil
}

func (s *Server) now() time.Time { return s.opts.Now() }

// Service names as they appear in SigV4 credential scopes, and as the data
// directory names their state.
const (
	serviceCloudTrail = "cloudtrail"
	serviceS3         = "s3"
	serviceSTS        = "sts"

	areaS3         = serviceS3
	areaSTS        = serviceSTS
	areaCloudTrail = serviceCloudTrail
)

// cloudTrailTargetPrefixes are the X-Amz-Target prefixes of CloudTrail: the
// Go SDK sends the short one, botocore the fully qualified one.
var cloudTrailTargetPrefixes = []string{
	"CloudTrail_20131101.",
	"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.",
}

// ServeHTTP routes a request to CloudTrail (X-Amz-Target), STS (Action=) or
// S3 (everything else), after verifying its SigV4 signature.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		writeS3Error(w, r, http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
		return
	}
	service := classify(r, body)
	if len(body) > maxBodyBytes {
		s.writeAuthError(w, r, service, &sigv4.Error{Kind: sigv4.TooLarge, Status: http.StatusRequestEntityTooLarge})
		return
	}
	ri, body, aerr := s.authenticate(r, body, service)
	if aerr != nil {
		s.writeAuthError(w, r, service, aerr)
		return
	}
	ri.Body = body
	ri.SourceIP = sourceIP(r)
	ri.UserAgent = r.UserAgent()
	// Handlers read the body from ri; a decoded aws-chunked body also
	// replaces what r carries, so nothing sees the chunk framing.
	r.Body = io.NopCloser(bytes.NewReader(body))
	switch service {
	case serviceCloudTrail:
		s.serveCloudTrail(w, r, ri)
	case serviceSTS:
		if op, ok := s.sts.Operation(r, ri.Body); ok && s.injectFault(w, ri, op) {
			return
		}
		s.sts.ServeAPI(w, r, ri.Caller, ri.Body)
	default:
		s.serveS3(w, r, ri)
	}
}

// classify tells the service a request is for, as AWS endpoints would by
// host name: CloudTrail by its X-Amz-Target, STS by the query protocol's
// Action parameter, S3 otherwise.
func classify(r *http.Request, body []byte) string {
	target := r.Header.Get("X-Amz-Target")
	for _, p := range cloudTrailTargetPrefixes {
		if strings.HasPrefix(target, p) {
			return serviceCloudTrail
		}
	}
	if r.URL.Query().Get("Action") != "" {
		return serviceSTS
	}
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if form, err := url.ParseQuery(string(body)); err == nil && form.Get("Action") != "" {
			return serviceSTS
		}
	}
	return serviceS3
}

func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
