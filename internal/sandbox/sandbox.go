// Package sandbox is a local AWS endpoint for CloudTrail, S3 and STS: one
// router (router.go) over one package per service, which it wires to each
// other through the interfaces they declare.
//
// It is an independent implementation of AWS behaviour: it shares no code
// with the provider, so that a misunderstanding of the API cannot hide by
// being on both sides of a test. It may use the AWS SDK's signer and types.
package sandbox

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/s3"
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

// Defaults for the zero Options.
const (
	DefaultAccount   = "123456789012"
	DefaultAccessKey = "test"
	DefaultSecretKey = "test"
	DefaultLookupRPS = 2
)

var accountPattern = regexp.MustCompile(`^[0-9]{12}$`)

// Server is the sandbox: an http.Handler serving CloudTrail, S3 and STS.
type Server struct {
	opts     Options
	verifier *sigv4.Verifier
	faults   *faultSet
	routes   []route

	s3  *s3.Service
	sts *sts.Service

	// mu guards CloudTrail's state below.
	mu sync.Mutex
	// ct is the CloudTrail state that persists (trails, selectors, tags,
	// recorded events); ctrt is what does not (rate limiters, the
	// generated history). Both are set by initCloudTrail.
	ct        *cloudTrailState
	ctrt      *cloudTrailRuntime
	ctJournal awsapi.Journal
	// ctPending are CloudTrail changes not yet written to its journal.
	ctPending []any
}

// stateful is a service whose state the data directory keeps.
type stateful interface {
	Restore(snapshot json.RawMessage, changes []json.RawMessage) error
}

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
	st, saved, err := load(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("opening sandbox state in %s: %w", opts.DataDir, err)
	}
	s := &Server{opts: opts, faults: &faultSet{}}
	s.faults.set(opts.Faults)
	s.verifier = &sigv4.Verifier{Keys: keys{s}, Now: s.now}
	rec := recorder{s}
	s.s3 = s3.New(s3.Config{Now: s.now, Recorder: rec, Store: st.bodiesWith(saved[serviceS3].journal)})
	s.sts = sts.New(sts.Config{Now: s.now, Recorder: rec, Journal: saved[serviceSTS].journal})
	s.ctJournal = saved[serviceCloudTrail].journal
	s.routes = []route{
		{service: serviceCloudTrail, claims: hasTarget(cloudTrailTargetPrefixes...), api: ctAPI{s}, auth: sigv4.JSON, faults: jsonFaults},
		{service: serviceSTS, claims: hasAction, api: s.sts, auth: sigv4.Query, faults: queryFaults},
		{service: serviceS3, claims: anyRequest, api: s.s3, auth: sigv4.S3, faults: s3Faults},
	}
	for name, svc := range map[string]stateful{serviceS3: s.s3, serviceSTS: s.sts, serviceCloudTrail: ctState{s}} {
		if err := svc.Restore(saved[name].snapshot, saved[name].changes); err != nil {
			return nil, fmt.Errorf("restoring %s from %s: %w", name, opts.DataDir, err)
		}
	}
	if err := s.initCloudTrail(); err != nil {
		return nil, fmt.Errorf("starting CloudTrail: %w", err)
	}
	if err := st.removeUnreferenced(); err != nil {
		return nil, fmt.Errorf("cleaning up %s: %w", opts.DataDir, err)
	}
	return s, nil
}

func (s *Server) now() time.Time { return s.opts.Now() }
