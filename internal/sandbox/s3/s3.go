package s3

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

const (
	s3Namespace  = "http://s3.amazonaws.com/doc/2006-03-01/"
	s3TimeFormat = "2006-01-02T15:04:05.000Z"
	s3Source     = "s3.amazonaws.com"
	// usEast1 is where a bucket lives when CreateBucket names no
	// location, and the one region that must not be named.
	usEast1 = "us-east-1"
)

// bucket is one S3 bucket with its sub-resources, stored parsed so Get
// answers normalised XML as AWS does. A nil sub-resource is unset.
type bucket struct {
	Name    string
	Account string
	Region  string
	Created time.Time

	Policy        string    `json:",omitempty"`
	PolicyWritten time.Time `json:",omitzero"`

	PublicAccessBlock *publicAccessBlock `json:",omitempty"`
	Encryption        *encryptionConfig  `json:",omitempty"`
	Versioning        *versioningConfig  `json:",omitempty"`
	Lifecycle         *lifecycleConfig   `json:",omitempty"`
	Ownership         *ownershipControls `json:",omitempty"`
	Logging           *loggingEnabled    `json:",omitempty"`
	Tags              []s3Tag            `json:",omitempty"`
	ObjectLock        *objectLockConfig  `json:",omitempty"`

	// Objects holds each key's versions, newest first.
	Objects map[string][]*objectVersion `json:",omitempty"`
	// Uploads are the multipart uploads in progress, by upload id.
	Uploads map[string]*multipartUpload `json:",omitempty"`
	// touched are the keys written since the bucket was last saved, and
	// touchedUploads the uploads.
	touched        map[string]bool
	touchedUploads map[string]bool
	// keys orders the keys of Objects (see index).
	keys *keyIndex
	// seeds are the parts of a seeded bucket (see SeedBucket), nil for
	// any other; a seeded bucket is never saved.
	seeds []*seedPart
}

// versioningStatus is "" for a bucket that was never versioned, else
// "Enabled" or "Suspended".
func (b *bucket) versioningStatus() string {
	if b.Versioning == nil {
		return ""
	}
	return b.Versioning.Status
}

// s3Error is an S3 error response; the optional fields are the extra
// elements AWS adds for some codes.
type s3Error struct {
	status     int
	code       string
	message    string
	bucketName string
	key        string
	region     string
	versionID  string
	// rangeRequested and actualObjectSize explain an InvalidRange.
	rangeRequested   string
	actualObjectSize string
	// details are further elements some codes carry (the UploadId of a
	// NoSuchUpload, the sizes of an EntityTooSmall), in order.
	details []errorDetail
}

// errorDetail is one further element of an error response.
type errorDetail struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

func detail(name, value string) errorDetail {
	return errorDetail{XMLName: xml.Name{Local: name}, Value: value}
}

func (e *s3Error) Error() string { return e.code + ": " + e.message }

func errNoSuchBucket(name string) *s3Error {
	return &s3Error{status: http.StatusNotFound, code: "NoSuchBucket", message: "The specified bucket does not exist", bucketName: name}
}

func errMalformedXML() *s3Error {
	return &s3Error{status: http.StatusBadRequest, code: "MalformedXML", message: "The XML you provided was not well-formed or did not validate against our published schema"}
}

func errInvalidArgument(format string, args ...any) *s3Error {
	return &s3Error{status: http.StatusBadRequest, code: "InvalidArgument", message: fmt.Sprintf(format, args...)}
}

// errInternal answers a failure of the sandbox itself (it could not save
// state); the cause goes to the log.
func errInternal() *s3Error {
	return &s3Error{status: http.StatusInternalServerError, code: "InternalError", message: "We encountered an internal error. Please try again."}
}

func errAccessDenied() *s3Error {
	return &s3Error{status: http.StatusForbidden, code: "AccessDenied", message: "Access Denied"}
}

// writeS3Error answers in S3's error shape. HEAD responses carry no body,
// so there only the status and headers speak.
func writeS3Error(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	writeS3Err(w, r, &s3Error{status: status, code: code, message: message})
}

func writeS3Err(w http.ResponseWriter, r *http.Request, e *s3Error) {
	reqID := s3RequestID()
	setS3Headers(w, reqID)
	if e.region != "" {
		w.Header().Set("X-Amz-Bucket-Region", e.region)
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(e.status)
		return
	}
	body, err := xml.Marshal(struct {
		XMLName          xml.Name `xml:"Error"`
		Code             string
		Message          string
		BucketName       string `xml:",omitempty"`
		Key              string `xml:",omitempty"`
		VersionID        string `xml:"VersionId,omitempty"`
		Region           string `xml:",omitempty"`
		RangeRequested   string `xml:",omitempty"`
		ActualObjectSize string `xml:",omitempty"`
		Details          []errorDetail
		RequestID        string `xml:"RequestId"`
		HostID           string `xml:"HostId"`
	}{Code: e.code, Message: e.message, BucketName: e.bucketName, Key: e.key, VersionID: e.versionID, Region: e.region,
		RangeRequested: e.rangeRequested, ActualObjectSize: e.actualObjectSize, Details: e.details, RequestID: reqID, HostID: hostID(reqID)})
	if err != nil {
		panic(fmt.Sprintf("encoding S3 error: %v", err))
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(e.status)
	// A write fails only once the client has gone; there is no one left to
	// answer.
	_, _ = w.Write(append([]byte(xml.Header), body...))
}

func s3RequestID() string {
	return strings.ToUpper(hex.EncodeToString(awsapi.RandomBytes(8)))
}

func hostID(reqID string) string {
	sum := sha256.Sum256([]byte(reqID))
	return hex.EncodeToString(sum[:])
}

func setS3Headers(w http.ResponseWriter, reqID string) {
	w.Header().Set("X-Amz-Request-Id", reqID)
	w.Header().Set("X-Amz-Id-2", hostID(reqID))
}

// writeS3XML answers 200 with v as the root element name, in S3's
// namespace.
func writeS3XML(w http.ResponseWriter, name string, v any) {
	setS3Headers(w, s3RequestID())
	w.Header().Set("Content-Type", "application/xml")
	if _, err := io.WriteString(w, xml.Header); err != nil {
		log.Printf("sandbox: writing S3 %s response: %v", name, err)
		return
	}
	enc := xml.NewEncoder(w)
	start := xml.StartElement{Name: xml.Name{Local: name}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: s3Namespace}}}
	if err := enc.EncodeElement(v, start); err != nil {
		log.Printf("sandbox: writing S3 %s response: %v", name, err)
	}
}

func writeS3Empty(w http.ResponseWriter, status int) {
	setS3Headers(w, s3RequestID())
	w.WriteHeader(status)
}

// parseS3XML decodes a request body whose root element must be root.
func parseS3XML(body []byte, root string, v any) *s3Error {
	dec := xml.NewDecoder(strings.NewReader(string(body)))
	for {
		tok, err := dec.Token()
		if err != nil {
			return errMalformedXML()
		}
		if start, ok := tok.(xml.StartElement); ok {
			if start.Name.Local != root {
				return errMalformedXML()
			}
			if err := dec.DecodeElement(v, &start); err != nil {
				return errMalformedXML()
			}
			return nil
		}
	}
}

func canonicalUserID(account string) string {
	sum := sha256.Sum256([]byte("canonical-user:" + account))
	return hex.EncodeToString(sum[:])
}

func bucketARN(name string) string { return "arn:aws:s3:::" + name }

// s3Target is the bucket and key a request addresses.
type s3Target struct {
	bucket string
	key    string
}

// virtualHostSuffixes are the host names under which the first labels
// name a bucket (virtual-host style); anything else is path-style.
var virtualHostSuffixes = []string{".s3.localhost", ".localhost", ".s3.amazonaws.com"}

func parseS3Target(r *http.Request) s3Target {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	for _, suffix := range virtualHostSuffixes {
		if name, ok := strings.CutSuffix(host, suffix); ok && name != "" && name != "s3" {
			return s3Target{bucket: name, key: strings.TrimPrefix(r.URL.Path, "/")}
		}
	}
	name, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	return s3Target{bucket: name, key: key}
}

// bucketLocked finds a bucket the caller may use from the region it
// signed for. GetBucketLocation answers from any region, path-style, as
// S3 does: it is how clients learn which region to sign for. s.mu is held.
func (s *Service) bucketLocked(req *request, r *http.Request, name string, op s3Op) (*bucket, *s3Error) {
	b := s.buckets[name]
	if b == nil {
		return nil, errNoSuchBucket(name)
	}
	if b.Account != req.Account {
		return nil, errAccessDenied()
	}
	if b.Region != req.Region && op.name != "GetBucketLocation" {
		if r.URL.Query().Get("X-Amz-Credential") != "" {
			return nil, &s3Error{status: http.StatusBadRequest, code: "AuthorizationQueryParametersError",
				message: fmt.Sprintf("Error parsing the X-Amz-Credential parameter; the region '%s' is wrong; expecting '%s'", req.Region, b.Region), region: b.Region}
		}
		return nil, &s3Error{status: http.StatusBadRequest, code: "AuthorizationHeaderMalformed",
			message: fmt.Sprintf("The authorization header is malformed; the region '%s' is wrong; expecting '%s'", req.Region, b.Region), region: b.Region}
	}
	return b, nil
}

// s3Handler serves one operation on an existing bucket, with s.mu held.
// It returns the request parameters CloudTrail records for a management
// write.
type s3Handler func(s *Service, w http.ResponseWriter, r *http.Request, req *request, b *bucket) (params map[string]any, err *s3Error)

// s3Op describes one S3 operation on an existing bucket.
type s3Op struct {
	name    string // the API operation, as faults name it
	event   string // the CloudTrail eventName of a recorded management write; "" for reads and data events
	mutates bool
	// copies says the operation reads the object x-amz-copy-source names.
	copies  bool
	handler s3Handler
}

// responseRecorder holds a handler's answer back until the state it
// reports has been persisted, so nothing is acknowledged that a crash
// could lose.
type responseRecorder struct {
	http.ResponseWriter
	status int
	body   []byte
}

func (rr *responseRecorder) WriteHeader(status int) { rr.status = status }

func (rr *responseRecorder) Write(b []byte) (int, error) {
	rr.body = append(rr.body, b...)
	return len(b), nil
}

func (rr *responseRecorder) flush() {
	if rr.status != 0 {
		rr.ResponseWriter.WriteHeader(rr.status)
	}
	// A write fails only once the client has gone; the state is persisted
	// already and there is no one left to answer.
	_, _ = rr.ResponseWriter.Write(rr.body)
}

// subresources are the query parameters that address a bucket's or an
// object's sub-resources rather than the bucket or object itself.
var subresources = []string{
	"acl", "accelerate", "analytics", "cors", "delete", "encryption", "intelligent-tiering", "inventory",
	"lifecycle", "location", "logging", "metrics", "notification", "object-lock", "ownershipControls",
	"policy", "policyStatus", "publicAccessBlock", "replication", "requestPayment", "tagging", "uploads",
	"uploadId", "versioning", "versions", "website", "retention", "legal-hold", "attributes", "restore",
	"select", "torrent", "list-type",
}

func hasAnySubresource(q url.Values) bool {
	for _, name := range subresources {
		if q.Has(name) {
			return true
		}
	}
	return false
}

// s3Operation names the operation a request on an existing bucket
// addresses; ok is false for operations the sandbox does not implement.
func s3Operation(r *http.Request, hasKey bool) (s3Op, bool) {
	if hasKey {
		return objectOperation(r)
	}
	method, q := r.Method, r.URL.Query()
	switch method {
	case http.MethodHead:
		if !hasAnySubresource(q) {
			return s3Op{name: "HeadBucket", handler: (*Service).headBucket}, true
		}
	case http.MethodPost:
		if q.Has("delete") {
			return s3Op{name: "DeleteObjects", mutates: true, handler: (*Service).deleteObjects}, true
		}
	case http.MethodGet:
		switch {
		case q.Has("versions"):
			return s3Op{name: "ListObjectVersions", handler: (*Service).listObjectVersions}, true
		case q.Has("uploads"):
			return s3Op{name: "ListMultipartUploads", handler: (*Service).listMultipartUploads}, true
		case q.Get("list-type") == "2":
			return s3Op{name: "ListObjectsV2", handler: (*Service).listObjectsV2}, true
		case q.Has("location"):
			return s3Op{name: "GetBucketLocation", handler: (*Service).getBucketLocation}, true
		case q.Has("acl"):
			return s3Op{name: "GetBucketAcl", handler: (*Service).getBucketACL}, true
		case !hasAnySubresource(q):
			return s3Op{name: "ListObjects", handler: (*Service).listObjects}, true
		}
	}
	for _, sr := range bucketSubresources {
		if !q.Has(sr.query) {
			continue
		}
		switch method {
		case http.MethodGet:
			return s3Op{name: sr.getOp, handler: sr.serveGet}, true
		case http.MethodPut:
			return s3Op{name: sr.putOp, event: sr.putEvent, mutates: true, handler: sr.servePut}, true
		case http.MethodDelete:
			if sr.delete != nil {
				return s3Op{name: sr.deleteOp, event: sr.deleteEvent, mutates: true, handler: sr.serveDelete}, true
			}
		}
		return s3Op{}, false
	}
	if method == http.MethodDelete && !hasAnySubresource(q) {
		return s3Op{name: "DeleteBucket", event: "DeleteBucket", mutates: true, handler: (*Service).deleteBucket}, true
	}
	return s3Op{}, false
}

// objectOperation names the operation a request on a key addresses: the
// object itself, a copy into it, or a multipart upload of it.
func objectOperation(r *http.Request) (s3Op, bool) {
	method, q := r.Method, r.URL.Query()
	copies := r.Header.Get("X-Amz-Copy-Source") != ""
	switch {
	case q.Has("uploads"):
		if method == http.MethodPost {
			return s3Op{name: "CreateMultipartUpload", mutates: true, handler: (*Service).createMultipartUpload}, true
		}
		return s3Op{}, false
	case q.Has("uploadId"):
		switch method {
		case http.MethodPut:
			if copies {
				return s3Op{name: "UploadPartCopy", mutates: true, copies: true, handler: (*Service).uploadPartCopy}, true
			}
			return s3Op{name: "UploadPart", mutates: true, handler: (*Service).uploadPart}, true
		case http.MethodPost:
			return s3Op{name: "CompleteMultipartUpload", mutates: true, handler: (*Service).completeMultipartUpload}, true
		case http.MethodDelete:
			return s3Op{name: "AbortMultipartUpload", mutates: true, handler: (*Service).abortMultipartUpload}, true
		case http.MethodGet:
			return s3Op{name: "ListParts", handler: (*Service).listParts}, true
		}
		return s3Op{}, false
	case hasAnySubresource(q):
		return s3Op{}, false
	}
	switch method {
	case http.MethodPut:
		if copies {
			return s3Op{name: "CopyObject", mutates: true, copies: true, handler: (*Service).copyObject}, true
		}
		return s3Op{name: "PutObject", mutates: true, handler: (*Service).putObject}, true
	case http.MethodGet:
		return s3Op{name: "GetObject", handler: (*Service).getObject}, true
	case http.MethodHead:
		return s3Op{name: "HeadObject", handler: (*Service).getObject}, true
	case http.MethodDelete:
		return s3Op{name: "DeleteObject", mutates: true, handler: (*Service).deleteObject}, true
	}
	return s3Op{}, false
}

func (s *Service) listBuckets(w http.ResponseWriter, r *http.Request, req *request) {
	q := r.URL.Query()
	prefix, region := q.Get("prefix"), q.Get("bucket-region")
	maxBuckets := 10000
	if v := q.Get("max-buckets"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			writeS3Err(w, r, errInvalidArgument("max-buckets must be an integer between 1 and 10000"))
			return
		}
		maxBuckets = n
	}
	after, err := decodeToken(q.Get("continuation-token"))
	if err != nil {
		writeS3Err(w, r, errInvalidArgument("The continuation token provided is incorrect"))
		return
	}
	s.mu.Lock()
	var names []string
	for name, b := range s.buckets {
		if b.Account == req.Account && strings.HasPrefix(name, prefix) && (region == "" || b.Region == region) && name > after {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	type entry struct {
		Name         string
		CreationDate string
		BucketRegion string
	}
	var out struct {
		Owner struct {
			ID string
		}
		Buckets           []entry `xml:"Buckets>Bucket"`
		ContinuationToken string  `xml:",omitempty"`
		Prefix            string  `xml:",omitempty"`
	}
	out.Owner.ID = canonicalUserID(req.Account)
	out.Prefix = prefix
	out.Buckets = []entry{}
	for i, name := range names {
		if i == maxBuckets {
			out.ContinuationToken = encodeToken(names[i-1])
			break
		}
		b := s.buckets[name]
		out.Buckets = append(out.Buckets, entry{Name: name, CreationDate: b.Created.UTC().Format(s3TimeFormat), BucketRegion: b.Region})
	}
	s.mu.Unlock()
	writeS3XML(w, "ListAllMyBucketsResult", out)
}

var base64URL = base64.RawURLEncoding

var errBadToken = errors.New("malformed continuation token")

// encodeToken and decodeToken make the opaque continuation tokens of the
// list operations: the last name returned, base64-encoded.
func encodeToken(last string) string {
	return base64URL.EncodeToString([]byte(last))
}

func decodeToken(tok string) (string, error) {
	if tok == "" {
		return "", nil
	}
	b, err := base64URL.DecodeString(tok)
	if err != nil {
		return "", errBadToken
	}
	return string(b), nil
}
