// Package cloudtrail is the sandbox's CloudTrail, in the JSON 1.1
// protocol: trails with their selectors and tags, LookupEvents over the
// events of every account and region, the record of every service's
// management calls, log file delivery to the trails' buckets with signed
// digests, and a pre-existing trail with years of history.
package cloudtrail

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

// Buckets are the S3 buckets CloudTrail delivers log files to.
type Buckets interface {
	// BucketPolicy returns a bucket's policy and when it was last
	// written; ok is false when there is no such bucket.
	BucketPolicy(bucket string) (policy string, written time.Time, ok bool)
	// PutObject writes an object as the bucket owner's, with user
	// metadata by name without the x-amz-meta- prefix.
	PutObject(bucket, key string, body []byte, contentType string, metadata map[string]string) error
	// SeedBucket creates a bucket that exists from the start.
	SeedBucket(seed awsapi.BucketSeed) error
}

// DefaultLookupRPS is AWS's LookupEvents rate limit per account and
// region.
const DefaultLookupRPS = 2

// Config is what CloudTrail needs from the sandbox.
type Config struct {
	// Account owns the records that name no account.
	Account string
	// LookupRPS is the LookupEvents rate allowed per account and region
	// (DefaultLookupRPS when zero).
	LookupRPS float64
	// PolicyPropagationDelay makes CreateTrail keep answering
	// InsufficientS3BucketPolicyException for this long after a bucket
	// policy was last written.
	PolicyPropagationDelay time.Duration
	Now                    func() time.Time
	// DigestInterval is how often digests are delivered
	// (DefaultDigestInterval when zero).
	DigestInterval time.Duration
	// KeyRotation is how long one key signs digests before the next
	// (DefaultKeyRotation when zero).
	KeyRotation time.Duration
	// Regions are the regions the accounts have enabled, which a
	// multi-region trail delivers digests for (Regions when empty).
	Regions []string
	// Records are the events present from the start: the history and
	// loaded record files.
	Records []Record
	Buckets Buckets
	Journal awsapi.Journal
}

// Regions are the regions the sandbox's accounts have enabled: the nine
// OpsWorks CM ran in.
var Regions = []string{
	"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ap-northeast-1", "ap-southeast-1", "ap-southeast-2", "eu-central-1", "eu-west-1",
}

// TargetPrefixes are the X-Amz-Target prefixes of CloudTrail: the Go SDK
// sends the short one, botocore the fully qualified one.
var TargetPrefixes = []string{
	"CloudTrail_20131101.",
	"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.",
}

// Service is CloudTrail: the trails and recorded calls that persist, and
// the index of every event, rebuilt at each start.
type Service struct {
	cfg Config

	// keys are the digest signing keys, under a lock of their own.
	keys *keyStore

	mu    sync.Mutex
	state *state
	// index holds every event by account and region (see indexKey).
	index map[string]*eventIndex
	// arrivals are the records in the order they were indexed.
	arrivals []*Record
	// cursors are, per trail ARN, how far log delivery has come.
	cursors  map[string]*cursor
	limiters map[string]*rate.Limiter
	// pending are changes not yet written to the journal.
	pending []any
}

// New returns CloudTrail with no trails and cfg.Records indexed.
func New(cfg Config) *Service {
	if cfg.DigestInterval <= 0 {
		cfg.DigestInterval = DefaultDigestInterval
	}
	if len(cfg.Regions) == 0 {
		cfg.Regions = Regions
	}
	s := &Service{
		cfg:      cfg,
		keys:     newKeyStore(cfg.KeyRotation),
		state:    &state{Trails: map[string]*trail{}},
		index:    map[string]*eventIndex{},
		cursors:  map[string]*cursor{},
		limiters: map[string]*rate.Limiter{},
	}
	s.indexRecordsLocked(cfg.Records)
	return s
}

func (s *Service) now() time.Time { return s.cfg.Now() }

// Operation names the operation a request calls; ok is false for an
// operation CloudTrail does not have, which ServeAPI answers.
func (s *Service) Operation(r *http.Request, _ []byte) (string, bool) {
	name := ctOperation(r.Header.Get("X-Amz-Target"))
	_, ok := ctOps[name]
	return name, ok
}

// WriteError answers in the JSON 1.1 protocol's error shape.
func (s *Service) WriteError(w http.ResponseWriter, _ *http.Request, status int, code, message string) {
	awsapi.WriteJSONError(w, status, code, message)
}

// ctError is a CloudTrail error answer.
type ctError struct {
	code, msg string
	status    int
}

func ctErr(code, format string, args ...any) *ctError {
	return &ctError{code: code, msg: fmt.Sprintf(format, args...), status: http.StatusBadRequest}
}

// ctOp is one CloudTrail operation: it decodes body into its input, works
// on state under s.mu, and returns the output and the call to record.
type ctOp struct {
	readOnly bool
	// noRecord is for operations AWS does not record (LookupEvents).
	noRecord bool
	run      func(s *Service, caller awsapi.Caller, body []byte) (out any, rec callDetail, err *ctError)
}

// callDetail is what an operation adds to its recorded call.
type callDetail struct {
	request   any
	response  any
	resources []awsapi.Resource
}

var ctOps = map[string]ctOp{
	"CreateTrail":         {run: (*Service).ctCreateTrail},
	"UpdateTrail":         {run: (*Service).ctUpdateTrail},
	"DeleteTrail":         {run: (*Service).ctDeleteTrail},
	"GetTrail":            {readOnly: true, run: (*Service).ctGetTrail},
	"DescribeTrails":      {readOnly: true, run: (*Service).ctDescribeTrails},
	"ListTrails":          {readOnly: true, run: (*Service).ctListTrails},
	"GetTrailStatus":      {readOnly: true, run: (*Service).ctGetTrailStatus},
	"ListPublicKeys":      {readOnly: true, run: (*Service).ctListPublicKeys},
	"StartLogging":        {run: (*Service).ctStartLogging},
	"StopLogging":         {run: (*Service).ctStopLogging},
	"PutEventSelectors":   {run: (*Service).ctPutEventSelectors},
	"GetEventSelectors":   {readOnly: true, run: (*Service).ctGetEventSelectors},
	"PutInsightSelectors": {run: (*Service).ctPutInsightSelectors},
	"GetInsightSelectors": {readOnly: true, run: (*Service).ctGetInsightSelectors},
	"AddTags":             {run: (*Service).ctAddTags},
	"RemoveTags":          {run: (*Service).ctRemoveTags},
	"ListTags":            {readOnly: true, run: (*Service).ctListTags},
	"LookupEvents":        {readOnly: true, noRecord: true, run: (*Service).ctLookupEvents},
}

// ctOperation extracts the operation from X-Amz-Target, which the Go SDK
// sends as "CloudTrail_20131101.<Op>" and botocore as
// "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.<Op>".
func ctOperation(target string) string {
	if i := strings.LastIndex(target, "."); i >= 0 {
		return target[i+1:]
	}
	return target
}

// ServeAPI answers one authenticated CloudTrail request.
func (s *Service) ServeAPI(w http.ResponseWriter, r *http.Request, caller awsapi.Caller, body []byte) {
	name := ctOperation(r.Header.Get("X-Amz-Target"))
	op, ok := ctOps[name]
	if !ok {
		awsapi.WriteJSONError(w, http.StatusBadRequest, "UnknownOperationException", "Unknown operation "+name)
		return
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	s.mu.Lock()
	out, detail, cerr := op.run(s, caller, body)
	if !op.noRecord {
		c := awsapi.Call{
			Source: "cloudtrail.amazonaws.com", Name: name, ReadOnly: op.readOnly,
			RequestParameters: detail.request, ResponseElements: detail.response, Resources: detail.resources,
		}
		if c.RequestParameters == nil {
			c.RequestParameters = awsapi.RequestParameters(body)
		}
		if cerr != nil {
			c.ErrorCode, c.ErrorMessage, c.ResponseElements = cerr.code, cerr.msg, nil
		}
		s.recordCallLocked(caller, c)
	}
	perr := s.flushLocked()
	s.mu.Unlock()
	if cerr != nil {
		awsapi.WriteJSONError(w, cerr.status, cerr.code, cerr.msg)
		return
	}
	if perr != nil {
		awsapi.WriteJSONError(w, http.StatusInternalServerError, "InternalFailure", "persisting state: "+perr.Error())
		return
	}
	awsapi.WriteJSON(w, out)
}

// decodeCT decodes a request body; a malformed body is a
// SerializationException, as AWS answers.
func decodeCT(body []byte, v any) *ctError {
	if err := json.Unmarshal(body, v); err != nil {
		return ctErr("SerializationException", "could not parse request body: %v", err)
	}
	return nil
}

// sortedTrails lists trails in a stable order (by ARN).
func (s *Service) sortedTrails() []*trail {
	out := make([]*trail, 0, len(s.state.Trails))
	for _, t := range s.state.Trails {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].arn() < out[j].arn() })
	return out
}
