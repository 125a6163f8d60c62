package sandbox

import (
	"bytes"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sigv4"
)

// Service names as they appear in SigV4 credential scopes, as faults name
// them, and as the data directory names their state.
const (
	serviceAthena        = "athena"
	serviceCloudTrail    = "cloudtrail"
	serviceS3            = "s3"
	serviceSTS           = "sts"
	serviceOrganizations = "organizations"
)

// serviceNames are the services the router serves. A service is a package
// with an api (and a Restore when it keeps state); adding one takes its
// name here, a route and, if it keeps state, its name in journaled and a
// Restore in New.
var serviceNames = []string{serviceAthena, serviceCloudTrail, serviceS3, serviceSTS, serviceOrganizations}

// api is one AWS service behind the router.
type api interface {
	// Operation names the operation a request calls, as faults name it;
	// ok is false for a request the service refuses without calling
	// anything.
	Operation(r *http.Request, body []byte) (name string, ok bool)
	ServeAPI(w http.ResponseWriter, r *http.Request, c awsapi.Caller, body []byte)
	WriteError(w http.ResponseWriter, r *http.Request, status int, code, message string)
}

// route is one service: how the router tells its requests apart, and how
// the service words a rejected signature and an injected fault.
type route struct {
	service string
	claims  func(r *http.Request, body []byte) bool
	api     api
	auth    sigv4.Wording
	faults  faultReplies
}

// maxBodyBytes bounds a request body held in memory: far above anything a
// test or demo sends, low enough that a stray upload cannot exhaust memory.
const maxBodyBytes = 256 << 20

// ServeHTTP routes a request to the first service that claims it, as AWS
// endpoints would by host name, after verifying its SigV4 signature.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	rt := s.route(r, body)
	if err != nil {
		rt.api.WriteError(w, r, http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
		return
	}
	if len(body) > maxBodyBytes {
		rt.reject(w, r, &sigv4.Error{Kind: sigv4.TooLarge, Status: http.StatusRequestEntityTooLarge})
		return
	}
	signed, body, verr := s.verifier.Verify(r, body, rt.service)
	if verr != nil {
		rt.reject(w, r, verr)
		return
	}
	c := awsapi.Caller{
		Region:    signed.Region,
		Account:   signed.Account,
		AccessKey: signed.AccessKey,
		ARN:       signed.ARN,
		SourceIP:  sourceIP(r),
		UserAgent: r.UserAgent(),
	}
	// A decoded aws-chunked body replaces what r carries, so nothing sees
	// the chunk framing.
	r.Body = io.NopCloser(bytes.NewReader(body))
	// What CloudTrail delivers in the background in AWS, it delivers here
	// before a request is answered, as the sandbox's clock says it is due.
	if err := s.cloudtrail.DeliverDue(); err != nil {
		log.Printf("sandbox: CloudTrail delivery: %v", err)
	}
	if op, ok := rt.api.Operation(r, body); ok && s.faults.inject(w, r, rt, c, op) {
		return
	}
	rt.api.ServeAPI(w, r, c, body)
}

func (s *Server) route(r *http.Request, body []byte) *route {
	for i := range s.routes {
		if s.routes[i].claims(r, body) {
			return &s.routes[i]
		}
	}
	// The last route claims every request.
	panic("sandbox: no route claims the request")
}

// reject answers a request whose signature failed, as the service words it.
func (rt *route) reject(w http.ResponseWriter, r *http.Request, e *sigv4.Error) {
	reply := rt.auth.Reply(e)
	rt.api.WriteError(w, r, reply.Status, reply.Code, reply.Message)
}

// hasTarget claims the JSON protocol's requests by their X-Amz-Target
// prefix.
func hasTarget(prefixes ...string) func(*http.Request, []byte) bool {
	return func(r *http.Request, _ []byte) bool {
		target := r.Header.Get("X-Amz-Target")
		for _, p := range prefixes {
			if strings.HasPrefix(target, p) {
				return true
			}
		}
		return false
	}
}

// hasAction claims the query protocol's requests by their Action
// parameter, in the query or a form body.
func hasAction(r *http.Request, body []byte) bool {
	if r.URL.Query().Get("Action") != "" {
		return true
	}
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if form, err := url.ParseQuery(string(body)); err == nil && form.Get("Action") != "" {
			return true
		}
	}
	return false
}

// anyRequest claims what no other service does: S3's REST protocol has
// no marker of its own.
func anyRequest(*http.Request, []byte) bool { return true }

func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// sandboxUser is the IAM user the configured long-term key pair belongs to.
const sandboxUser = "sandbox"

// keys are the access keys the sandbox accepts: the configured key pair
// and the temporary credentials STS issued.
type keys struct{ s *Server }

func (k keys) Principal(accessKey string) (sigv4.Principal, bool) {
	o := k.s.opts
	if accessKey == o.AccessKey {
		return sigv4.Principal{Account: o.Account, ARN: "arn:aws:iam::" + o.Account + ":user/" + sandboxUser, Secret: o.SecretKey}, true
	}
	sess, ok := k.s.sts.Session(accessKey)
	if !ok {
		return sigv4.Principal{}, false
	}
	return sigv4.Principal{Account: sess.Account, ARN: sess.ARN, Secret: sess.Secret, Token: sess.Token, Expires: sess.Expires}, true
}
