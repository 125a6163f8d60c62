package sandbox

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sigv4"
)

// FaultKind is what a Fault does to a matching request.
type FaultKind string

const (
	// FaultThrottle answers the service's throttling error.
	FaultThrottle FaultKind = "throttle"
	// FaultError answers a 5xx error (Status, default 500).
	FaultError FaultKind = "error"
	// FaultLatency delays the request by Latency, then serves it.
	FaultLatency FaultKind = "latency"
	// FaultRegionDown answers every request to Region with 503.
	FaultRegionDown FaultKind = "region-down"
	// FaultDeny answers as AWS answers a caller whose IAM policies do not
	// allow the operation: AccessDenied in S3 and STS,
	// AccessDeniedException in the JSON services.
	FaultDeny FaultKind = "deny"
)

// Fault is a failure injected into matching requests, for testing clients'
// retries and partial-failure handling.
//
// Spec syntax (ParseFault, the command's -fault flag):
//
//	KIND[:key=value,...]
//
// KIND is throttle, error, latency, region-down or deny. Keys:
//
//	rate=P        probability 0..1 that a matching request is hit (default 1)
//	op=NAME       only this operation (e.g. LookupEvents, PutObject)
//	region=NAME   only requests signed for this region
//	service=NAME  only this service: athena, cloudtrail, s3 or sts
//	key=KEY       only this S3 object key (the whole key, without the bucket)
//	status=N      HTTP status for error (500 default, or 503)
//	ms=N          added latency in milliseconds (latency)
//
// Examples: "throttle:rate=0.5,op=LookupEvents,region=us-east-1",
// "error:rate=0.1,status=500", "latency:ms=200", "region-down:region=eu-west-1",
// "deny:op=GetObject,key=AWSLogs/123456789012/CloudTrail/us-east-1/2024/04/25/file.json.gz".
type Fault struct {
	Kind    FaultKind
	Rate    float64
	Op      string
	Region  string
	Service string
	Key     string
	Status  int
	Latency time.Duration
}

// ParseFault parses a fault spec (see Fault).
func ParseFault(spec string) (Fault, error) {
	kind, params, _ := strings.Cut(strings.TrimSpace(spec), ":")
	f := Fault{Kind: FaultKind(kind), Rate: 1}
	switch f.Kind {
	case FaultThrottle, FaultError, FaultLatency, FaultRegionDown, FaultDeny:
	default:
		return Fault{}, fmt.Errorf("fault %q: kind must be throttle, error, latency, region-down or deny", spec)
	}
	if params != "" {
		for _, kv := range strings.Split(params, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return Fault{}, fmt.Errorf("fault %q: %q is not key=value", spec, kv)
			}
			if err := f.set(strings.TrimSpace(k), strings.TrimSpace(v)); err != nil {
				return Fault{}, fmt.Errorf("fault %q: %w", spec, err)
			}
		}
	}
	switch {
	case f.Kind == FaultRegionDown && f.Region == "":
		return Fault{}, fmt.Errorf("fault %q: region-down needs region=", spec)
	case f.Kind == FaultLatency && f.Latency <= 0:
		return Fault{}, fmt.Errorf("fault %q: latency needs ms= greater than 0", spec)
	case f.Kind == FaultError && f.Status == 0:
		f.Status = http.StatusInternalServerError
	}
	return f, nil
}

func (f *Fault) set(k, v string) error {
	switch k {
	case "rate":
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r < 0 || r > 1 {
			return fmt.Errorf("rate %q must be a number from 0 to 1", v)
		}
		f.Rate = r
	case "op":
		f.Op = v
	case "region":
		f.Region = v
	case "service":
		if !slices.Contains(serviceNames, v) {
			return fmt.Errorf("service %q must be one of %s", v, strings.Join(serviceNames, ", "))
		}
		f.Service = v
	case "key":
		if v == "" {
			return errors.New("key must not be empty")
		}
		f.Key = v
	case "status":
		n, err := strconv.Atoi(v)
		if err != nil || n < 500 || n > 599 {
			return fmt.Errorf("status %q must be a 5xx code", v)
		}
		f.Status = n
	case "ms":
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return fmt.Errorf("ms %q must be a positive integer", v)
		}
		f.Latency = time.Duration(n) * time.Millisecond
	default:
		return fmt.Errorf("unknown key %q", k)
	}
	return nil
}

// target is what a fault can select a request by.
type target struct {
	service, region, operation string
	// key is the S3 object key a request addresses, "" for any other.
	key string
}

func (f Fault) matches(t target) bool {
	return (f.Op == "" || f.Op == t.operation) &&
		(f.Region == "" || f.Region == t.region) &&
		(f.Service == "" || f.Service == t.service) &&
		(f.Key == "" || f.Key == t.key)
}

// faultSeed makes fault injection repeatable: the same requests in the same
// order meet the same faults.
const faultSeed = 20240331

// faultSet is the active faults. It has its own lock: it is consulted
// before a request reaches its service, and may sleep.
type faultSet struct {
	mu     sync.Mutex
	faults []Fault
	rng    *rand.Rand
}

// set replaces the active faults and restarts their random sequence.
func (fs *faultSet) set(faults []Fault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.faults = append([]Fault(nil), faults...)
	fs.rng = rand.New(rand.NewPCG(faultSeed, faultSeed))
}

// SetFaults replaces the active faults and restarts their random sequence.
func (s *Server) SetFaults(faults []Fault) { s.faults.set(faults) }

// decide picks the fault (if any) that answers the request, and the
// latency to add before answering or serving it.
func (fs *faultSet) decide(t target) (hit *Fault, delay time.Duration) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i := range fs.faults {
		f := fs.faults[i]
		if !f.matches(t) {
			continue
		}
		if f.Kind == FaultRegionDown {
			return &f, delay
		}
		if f.Rate < 1 && fs.rng.Float64() >= f.Rate {
			continue
		}
		if f.Kind == FaultLatency {
			delay += f.Latency
			continue
		}
		if hit == nil {
			hit = &f
		}
	}
	return hit, delay
}

// jsonFaults, athenaFaults, queryFaults and s3Faults are how CloudTrail,
// Athena, STS and S3 answer injected faults.
var (
	athenaFaults = faultReplies{
		throttle: sigv4.Reply{Status: http.StatusBadRequest, Code: "TooManyRequestsException", Message: "Rate exceeded"},
		unavailable: func(string) sigv4.Reply {
			return sigv4.Reply{Status: http.StatusServiceUnavailable, Code: "InternalServerException", Message: "Service unavailable"}
		},
		internal: sigv4.Reply{Code: "InternalServerException", Message: "An internal error occurred."},
		denied:   notAuthorized("AccessDeniedException", http.StatusBadRequest),
	}
	jsonFaults = faultReplies{
		throttle: sigv4.Reply{Status: http.StatusBadRequest, Code: "ThrottlingException", Message: "Rate exceeded"},
		unavailable: func(region string) sigv4.Reply {
			return sigv4.Reply{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailableException", Message: "The service is unavailable in " + region}
		},
		internal: sigv4.Reply{Code: "InternalFailure", Message: "The request processing has failed because of an unknown error, exception or failure."},
		denied:   notAuthorized("AccessDeniedException", http.StatusBadRequest),
	}
	queryFaults = faultReplies{
		throttle: sigv4.Reply{Status: http.StatusBadRequest, Code: "Throttling", Message: "Rate exceeded"},
		unavailable: func(string) sigv4.Reply {
			return sigv4.Reply{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable", Message: "Service is unavailable"}
		},
		internal: sigv4.Reply{Code: "InternalFailure", Message: "The request processing has failed because of an unknown error, exception or failure."},
		denied:   notAuthorized("AccessDenied", http.StatusForbidden),
	}
	s3Faults = faultReplies{
		throttle: sigv4.Reply{Status: http.StatusServiceUnavailable, Code: "SlowDown", Message: "Please reduce your request rate."},
		unavailable: func(string) sigv4.Reply {
			return sigv4.Reply{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable", Message: "Please reduce your request rate."}
		},
		internal: sigv4.Reply{Code: "InternalError", Message: "We encountered an internal error. Please try again."},
		// S3 words every refusal alike, whatever the missing permission.
		denied: func(awsapi.Caller, string, string) sigv4.Reply {
			return sigv4.Reply{Status: http.StatusForbidden, Code: "AccessDenied", Message: "Access Denied"}
		},
	}
)

// notAuthorized is how IAM words a refusal in the services that name the
// caller and the action.
func notAuthorized(code string, status int) func(c awsapi.Caller, service, operation string) sigv4.Reply {
	return func(c awsapi.Caller, service, operation string) sigv4.Reply {
		action := service + ":" + operation
		return sigv4.Reply{Status: status, Code: code, Message: fmt.Sprintf(
			"User: %s is not authorized to perform: %s because no identity-based policy allows the %s action", c.ARN, action, action)}
	}
}

// faultReplies are how a service answers injected faults.
type faultReplies struct {
	throttle sigv4.Reply
	// unavailable answers a 503 in the region the request was signed for.
	unavailable func(region string) sigv4.Reply
	// internal answers any other 5xx, with the fault's status.
	internal sigv4.Reply
	// denied answers a caller refused the service's operation.
	denied func(c awsapi.Caller, service, operation string) sigv4.Reply
}

// objectKeyer is a service whose requests address object keys, which a
// fault may be scoped to. The service resolves the key, as it does to
// serve the request, whatever style of address the request uses.
type objectKeyer interface {
	ObjectKey(r *http.Request) string
}

// inject applies the active faults to a request for rt: it sleeps for any
// added latency, then, if a fault answers the request, writes the error as
// the service words it and returns true.
func (fs *faultSet) inject(w http.ResponseWriter, r *http.Request, rt *route, c awsapi.Caller, operation string) bool {
	t := target{service: rt.service, region: c.Region, operation: operation}
	if k, ok := rt.api.(objectKeyer); ok {
		t.key = k.ObjectKey(r)
	}
	f, delay := fs.decide(t)
	if delay > 0 {
		time.Sleep(delay)
	}
	if f == nil {
		return false
	}
	var reply sigv4.Reply
	switch {
	case f.Kind == FaultThrottle:
		reply = rt.faults.throttle
	case f.Kind == FaultDeny:
		reply = rt.faults.denied(c, rt.service, operation)
	case f.Kind == FaultRegionDown || f.Status == http.StatusServiceUnavailable:
		reply = rt.faults.unavailable(c.Region)
	default:
		reply = rt.faults.internal
		reply.Status = f.Status
	}
	rt.api.WriteError(w, r, reply.Status, reply.Code, reply.Message)
	return true
}
