// Package s3 is the sandbox's S3, in the REST-XML protocol, path-style or
// virtual-host style: buckets with the sub-resources an audit log bucket
// needs, and versioned objects.
package s3

import (
	"cmp"
	"errors"
	"fmt"
	"log"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

// Recorder records management calls as CloudTrail events.
type Recorder interface {
	RecordCall(c awsapi.Caller, call awsapi.Call) error
}

// Store keeps S3's state across restarts: its journal, and object bodies.
type Store interface {
	awsapi.Journal
	// SaveBody stores a body durably and returns the name LoadBody finds
	// it by.
	SaveBody(body []byte) (string, error)
	LoadBody(name string) ([]byte, error)
}

// Config is what S3 needs from the sandbox.
type Config struct {
	Now      func() time.Time
	Recorder Recorder
	Store    Store
}

// Service is S3: every account's buckets.
type Service struct {
	cfg Config

	mu sync.Mutex
	// buckets by name: bucket names are global, as in AWS.
	buckets map[string]*bucket
}

// request is an authenticated request as a handler sees it.
type request struct {
	awsapi.Caller
	Body []byte
}

// New returns S3 without buckets.
func New(cfg Config) *Service {
	return &Service{cfg: cfg, buckets: map[string]*bucket{}}
}

func (s *Service) now() time.Time { return s.cfg.Now() }

// resolve names the operation a request calls and what it addresses.
func resolve(r *http.Request) (s3Target, s3Op, *s3Error) {
	t := parseS3Target(r)
	q := r.URL.Query()
	switch {
	case t.bucket == "":
		if r.Method != http.MethodGet {
			return t, s3Op{}, &s3Error{status: http.StatusMethodNotAllowed, code: "MethodNotAllowed", message: "The specified method is not allowed against this resource."}
		}
		return t, s3Op{name: "ListBuckets"}, nil
	case t.key == "" && r.Method == http.MethodPut && !hasAnySubresource(q):
		return t, s3Op{name: "CreateBucket", event: "CreateBucket", mutates: true}, nil
	}
	op, ok := s3Operation(r, t.key != "")
	if !ok {
		return t, op, &s3Error{status: http.StatusNotImplemented, code: "NotImplemented", message: "A header you provided implies functionality that is not implemented"}
	}
	return t, op, nil
}

// Operation names the operation a request calls; ok is false for requests
// ServeAPI refuses without calling anything.
func (s *Service) Operation(r *http.Request, _ []byte) (string, bool) {
	_, op, serr := resolve(r)
	return op.name, serr == nil
}

// ObjectKey is the object key a request addresses, "" for none, whether
// it names the bucket in its path or its host.
func (s *Service) ObjectKey(r *http.Request) string { return objectKey(r) }

// ServeAPI answers one authenticated S3 request.
func (s *Service) ServeAPI(w http.ResponseWriter, r *http.Request, c awsapi.Caller, body []byte) {
	req := &request{Caller: c, Body: body}
	t, op, serr := resolve(r)
	switch {
	case serr != nil:
		writeS3Err(w, r, serr)
	case op.name == "ListBuckets":
		s.listBuckets(w, r, req)
	case op.name == "CreateBucket":
		s.createBucket(w, r, req, t.bucket, op)
	default:
		s.runS3Op(w, r, req, t, op)
	}
}

// WriteError answers in S3's error shape.
func (s *Service) WriteError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	writeS3Error(w, r, status, code, message)
}

func (s *Service) runS3Op(w http.ResponseWriter, r *http.Request, req *request, t s3Target, op s3Op) {
	err := s.fillSeeds(t.bucket, seedScope(r, t, op))
	if op.copies && err == nil {
		// The object copied may lie in a part of a seeded bucket; a
		// source the handler cannot read it refuses.
		if src, serr := parseCopySource(r.Header.Get("X-Amz-Copy-Source")); serr == nil {
			err = s.fillSeeds(src.bucket, func(p string) bool { return strings.HasPrefix(src.key, p) })
		}
	}
	if err != nil {
		log.Printf("sandbox: S3 %s: %v", op.name, err)
		writeS3Err(w, r, errInternal())
		return
	}
	rec := &responseRecorder{ResponseWriter: w}
	s.mu.Lock()
	b, serr := s.bucketLocked(req, r, t.bucket, op)
	var params map[string]any
	if serr == nil {
		params, serr = op.handler(s, rec, r, req, b)
	}
	err = s.saveLocked(op, t.bucket, serr)
	s.mu.Unlock()
	if serr = s.finish(req, r, op, t.bucket, params, serr, err); serr != nil {
		writeS3Err(w, r, serr)
		return
	}
	rec.flush()
}

func (s *Service) createBucket(w http.ResponseWriter, r *http.Request, req *request, name string, op s3Op) {
	s.mu.Lock()
	params, serr := s.createBucketLocked(r, req, name)
	err := s.saveLocked(op, name, serr)
	s.mu.Unlock()
	if serr = s.finish(req, r, op, name, params, serr, err); serr != nil {
		writeS3Err(w, r, serr)
		return
	}
	setS3Headers(w, s3RequestID())
	w.Header().Set("Location", "/"+name)
	w.WriteHeader(http.StatusOK)
}

// saveLocked writes what a successful write changed in its bucket: the
// bucket's settings for a management call, the keys it wrote for an
// object call. s.mu is held.
func (s *Service) saveLocked(op s3Op, bucketName string, serr *s3Error) error {
	if !op.mutates || serr != nil {
		return nil
	}
	return s.saveBucketLocked(bucketName, op.event != "")
}

// finish records a management call as CloudTrail does (failed ones too),
// once what it changed is saved, and returns the error to answer.
func (s *Service) finish(req *request, r *http.Request, op s3Op, bucketName string, params map[string]any, serr *s3Error, saveErr error) *s3Error {
	if op.event != "" {
		if params == nil {
			params = map[string]any{}
		}
		params["bucketName"] = bucketName
		params["Host"] = r.Host
		c := awsapi.Call{
			Source:            s3Source,
			Name:              op.event,
			RequestParameters: params,
			Resources:         []awsapi.Resource{{ARN: bucketARN(bucketName), AccountID: req.Account, Type: "AWS::S3::Bucket"}},
		}
		if serr != nil {
			c.ErrorCode, c.ErrorMessage = serr.code, serr.message
		}
		saveErr = errors.Join(saveErr, s.cfg.Recorder.RecordCall(req.Caller, c))
	}
	if saveErr != nil {
		log.Printf("sandbox: S3 %s: %v", op.name, saveErr)
		return errInternal()
	}
	return serr
}

// BucketPolicy is what CloudTrail checks before it writes to a bucket: the
// bucket's policy and when it was last written. ok is false when there is
// no such bucket.
func (s *Service) BucketPolicy(name string) (policy string, written time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[name]
	if b == nil {
		return "", time.Time{}, false
	}
	return b.Policy, b.PolicyWritten, true
}

// PutObject writes an object as a service does (CloudTrail's log
// delivery): versioning and the bucket's default encryption apply, the
// bucket owner owns it, and no request is involved. metadata is user
// metadata, by name without the x-amz-meta- prefix. A service writes only
// new keys, so the parts of a seeded bucket need not be made first.
func (s *Service) PutObject(bucketName, key string, body []byte, contentType string, metadata map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[bucketName]
	if b == nil {
		return fmt.Errorf("putting %s/%s: %w", bucketName, key, errNoSuchBucket(bucketName))
	}
	v := newObjectVersion(body, cmp.Or(contentType, defaultContentType), s.now(), b.Account, defaultSSE(b))
	for name, value := range metadata {
		v.setMetadata(name, value)
	}
	var err error
	if v.BodyHash, err = s.saveBodyLocked(b, v.Body); err != nil {
		return fmt.Errorf("putting %s/%s: %w", bucketName, key, err)
	}
	s.storeVersionLocked(b, key, v)
	if err := s.saveBucketLocked(bucketName, false); err != nil {
		return fmt.Errorf("putting %s/%s: %w", bucketName, key, err)
	}
	return nil
}
