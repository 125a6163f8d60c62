package sandbox

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
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
)

// Fault is a failure injected into matching requests, for testing clients'
// retries and partial-failure handling.
//
// Spec syntax (ParseFault, the command's -fault flag):
//
//	KIND[:key=value,...]
//
// KIND is throttle, error, latency or region-down. Keys:
//
//	rate=P        probability 0..1 that a matching request is hit (default 1)
//	op=NAME       only this operation (e.g. LookupEvents, PutObject)
//	region=NAME   only requests signed for this region
//	service=NAME  only cloudtrail, s3 or sts
//	status=N      HTTP status for error (500 default, or 503)
//	ms=N          added latency in milliseconds (latency)
//
// Examples: "throttle:rate=0.5,op=LookupEvents,region=us-east-1",
// "error:rate=0.1,status=500", "latency:ms=200", "region-down:region=eu-west-1".
type Fault struct {
	Kind    FaultKind
	Rate    float64
	Op      string
	Region  string
	Service string
	Status  int
	Latency time.Duration
}

// ParseFault parses a fault spec (see Fault).
func ParseFault(spec string) (Fault, error) {
	kind, params, _ := strings.Cut(strings.TrimSpace(spec), ":")
	f := Fault{Kind: FaultKind(kind), Rate: 1}
	switch f.Kind {
	case FaultThrottle, FaultError, FaultLatency, FaultRegionDown:
	default:
		return Fault{}, fmt.Errorf("fault %q: kind must be throttle, error, latency or region-down", spec)
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
		switch v {
		case "cloudtrail", "s3", "sts":
		default:
			return fmt.Errorf("service %q must be cloudtrail, s3 or sts", v)
		}
		f.Service = v
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

func (f Fault) matches(ri *requestInfo, operation string) bool {
	return (f.Op == "" || f.Op == operation) &&
		(f.Region == "" || f.Region == ri.Region) &&
		(f.Service == "" || f.Service == ri.Service)
}

// faultSeed makes fault injection repeatable: the same requests in the same
// order meet the same faults.
const faultSeed = 20240331

// faultSet is the active faults; it has its own lock because injectFault
// runs before any service takes s.mu and may sleep.
type faultSet struct {
	mu     sync.Mutex
	faults []Fault
	rng    *rand.Rand
}

func newFaultSet(faults []Fault) *faultSet {
	return &faultSet{faults: append([]Fault(nil), faults...), rng: rand.New(rand.NewPCG(faultSeed, faultSeed))}
}

// SetFaults replaces the active faults and restarts their random sequence.
func (s *Server) SetFaults(faults []Fault) {
	fs := s.faultSet()
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.faults = append([]Fault(nil), faults...)
	fs.rng = rand.New(rand.NewPCG(faultSeed, faultSeed))
}

func (s *Server) faultSet() *faultSet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ctrt.faults
}

// decide picks the fault (if any) that answers the request, and the
// latency to add before answering or serving it.
func (fs *faultSet) decide(ri *requestInfo, operation string) (hit *Fault, delay time.Duration) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i := range fs.faults {
		f := fs.faults[i]
		if !f.matches(ri, operation) {
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

// injectFault applies the active faults to a request: it sleeps for any
// added latency, then, if a fault answers the request, writes the error in
// the service's own format and returns true.
func (s *Server) injectFault(w http.ResponseWriter, ri *requestInfo, operation string) bool {
	f, delay := s.faultSet().decide(ri, operation)
	if delay > 0 {
		time.Sleep(delay)
	}
	if f == nil {
		return false
	}
	status, code, msg := faultResponse(*f, ri)
	switch ri.Service {
	case "s3":
		// writeS3Error needs the request only to leave the body out of
		// HEAD answers; the operation name says as much.
		method := http.MethodGet
		if strings.HasPrefix(operation, "Head") {
			method = http.MethodHead
		}
		writeS3Error(w, &http.Request{Method: method}, status, code, msg)
	case "sts":
		s.sts.WriteError(w, nil, status, code, msg)
	default:
		awsapi.WriteJSONError(w, status, code, msg)
	}
	return true
}

// faultResponse is the status, error code and message each service answers
// for a fault.
func faultResponse(f Fault, ri *requestInfo) (int, string, string) {
	switch f.Kind {
	case FaultThrottle:
		switch ri.Service {
		case "s3":
			return http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate."
		case "sts":
			return http.StatusBadRequest, "Throttling", "Rate exceeded"
		}
		return http.StatusBadRequest, "ThrottlingException", "Rate exceeded"
	case FaultRegionDown:
		f.Status = http.StatusServiceUnavailable
	}
	if f.Status == http.StatusServiceUnavailable {
		switch ri.Service {
		case "s3":
			return f.Status, "ServiceUnavailable", "Please reduce your request rate."
		case "sts":
			return f.Status, "ServiceUnavailable", "Service is unavailable"
		}
		return f.Status, "ServiceUnavailableException", "The service is unavailable in " + ri.Region
	}
	if ri.Service == "s3" {
		return f.Status, "InternalError", "We encountered an internal error. Please try again."
	}
	return f.Status, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure."
}
