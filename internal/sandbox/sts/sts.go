// Package sts is the sandbox's STS, in the query protocol:
// GetCallerIdentity, and AssumeRole, which issues the temporary
// credentials every service of the sandbox accepts.
package sts

import (
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

const (
	apiVersion = "2011-06-15"
	source     = "sts.amazonaws.com"
)

// Recorder records management calls as CloudTrail events.
type Recorder interface {
	RecordCall(c awsapi.Caller, call awsapi.Call) error
}

// Config is what STS needs from the sandbox.
type Config struct {
	// Now is the sandbox's clock, which sessions expire by.
	Now      func() time.Time
	Recorder Recorder
	Journal  awsapi.Journal
}

// Service is STS: the sessions AssumeRole issued.
type Service struct {
	cfg Config

	mu sync.Mutex
	// sessions by access key id.
	sessions map[string]*Session
}

// New returns STS with no sessions.
func New(cfg Config) *Service {
	return &Service{cfg: cfg, sessions: map[string]*Session{}}
}

// Session finds the temporary credentials of an access key AssumeRole
// issued. Expired ones are still found: whoever checks a signature
// answers that they expired.
func (s *Service) Session(accessKey string) (Session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[accessKey]
	if !ok {
		return Session{}, false
	}
	return *sess, true
}

// params merges the query and a form body, as the query protocol allows
// either.
func params(r *http.Request, body []byte) url.Values {
	p := r.URL.Query()
	if form, err := url.ParseQuery(string(body)); err == nil {
		for k, v := range form {
			p[k] = v
		}
	}
	return p
}

// Operation names the action a request calls; ok is false for an unknown
// action or version, which ServeAPI answers.
func (s *Service) Operation(r *http.Request, body []byte) (string, bool) {
	p := params(r, body)
	switch action := p.Get("Action"); {
	case p.Get("Version") != apiVersion:
		return "", false
	case action == "GetCallerIdentity", action == "AssumeRole":
		return action, true
	}
	return "", false
}

// ServeAPI answers one authenticated STS request.
func (s *Service) ServeAPI(w http.ResponseWriter, r *http.Request, c awsapi.Caller, body []byte) {
	p := params(r, body)
	action := p.Get("Action")
	if v := p.Get("Version"); v != apiVersion {
		writeError(w, http.StatusBadRequest, "InvalidAction", fmt.Sprintf("Could not find operation %s for version %s", action, v))
		return
	}
	switch action {
	case "GetCallerIdentity":
		s.getCallerIdentity(w, c)
	case "AssumeRole":
		s.assumeRole(w, c, p)
	default:
		writeError(w, http.StatusBadRequest, "InvalidAction", fmt.Sprintf("Could not find operation %s for version %s", action, apiVersion))
	}
}

// WriteError answers in the query protocol's error shape.
func (s *Service) WriteError(w http.ResponseWriter, _ *http.Request, status int, code, message string) {
	writeError(w, status, code, message)
}
