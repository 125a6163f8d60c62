package s3

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"
)

var (
	bucketNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	// reservedBucketPrefixes and reservedBucketSuffixes are names AWS
	// keeps for its own features (access points, Object Lambda, express
	// directory buckets, table buckets).
	reservedBucketPrefixes = []string{"xn--", "sthree-", "amzn-s3-demo-"}
	reservedBucketSuffixes = []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"}
)

func validBucketName(name string) bool {
	if !bucketNamePattern.MatchString(name) || strings.Contains(name, "..") || net.ParseIP(name) != nil {
		return false
	}
	for _, p := range reservedBucketPrefixes {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	for _, sfx := range reservedBucketSuffixes {
		if strings.HasSuffix(name, sfx) {
			return false
		}
	}
	return true
}

// legacyLocations are LocationConstraint values that name a region by an
// older alias.
var legacyLocations = map[string]string{"EU": "eu-west-1"}

func (s *Service) createBucketLocked(r *http.Request, req *request, name string) (map[string]any, *s3Error) {
	if !validBucketName(name) {
		return nil, &s3Error{status: http.StatusBadRequest, code: "InvalidBucketName", message: "The specified bucket is not valid.", bucketName: name}
	}
	var cfg struct {
		LocationConstraint string
	}
	if len(strings.TrimSpace(string(req.Body))) > 0 {
		if serr := parseS3XML(req.Body, "CreateBucketConfiguration", &cfg); serr != nil {
			return nil, serr
		}
	}
	region := cfg.LocationConstraint
	if alias, ok := legacyLocations[region]; ok {
		region = alias
	}
	switch {
	case region == usEast1:
		return nil, &s3Error{status: http.StatusBadRequest, code: "InvalidLocationConstraint", message: "The specified location-constraint is not valid"}
	case region == "" && req.Region != usEast1:
		return nil, &s3Error{status: http.StatusBadRequest, code: "IllegalLocationConstraintException",
			message: "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to."}
	case region == "":
		region = usEast1
	case region != req.Region:
		return nil, &s3Error{status: http.StatusBadRequest, code: "IllegalLocationConstraintException",
			message: fmt.Sprintf("The %s location constraint is incompatible for the region specific endpoint this request was sent to.", cfg.LocationConstraint)}
	}
	ownership := r.Header.Get("X-Amz-Object-Ownership")
	if ownership == "" {
		ownership = "BucketOwnerEnforced"
	} else if !validOwnership(ownership) {
		return nil, errInvalidArgument("Invalid x-amz-object-ownership header: %s", ownership)
	}
	lockHeader := strings.ToLower(r.Header.Get("X-Amz-Bucket-Object-Lock-Enabled"))
	params := map[string]any{}
	if cfg.LocationConstraint != "" {
		params["CreateBucketConfiguration"] = map[string]any{"LocationConstraint": cfg.LocationConstraint}
	}
	if lockHeader != "" {
		params["x-amz-bucket-object-lock-enabled"] = lockHeader
	}
	if existing := s.buckets[name]; existing != nil {
		if existing.Account != req.Account {
			return params, &s3Error{status: http.StatusConflict, code: "BucketAlreadyExists",
				message: "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.", bucketName: name}
		}
		// For legacy compatibility AWS answers 200 to re-creating one's
		// own bucket in us-east-1, and BucketAlreadyOwnedByYou elsewhere.
		if existing.Region == usEast1 && region == usEast1 {
			return params, nil
		}
		return params, &s3Error{status: http.StatusConflict, code: "BucketAlreadyOwnedByYou",
			message: "Your previous request to create the named bucket succeeded and you already own it.", bucketName: name}
	}
	b := newBucket(name, req.Account, region, s.now(), ownership)
	if lockHeader == "true" {
		b.ObjectLock = &objectLockConfig{ObjectLockEnabled: "Enabled"}
		b.Versioning = &versioningConfig{Status: "Enabled"}
	}
	s.buckets[name] = b
	return params, nil
}

// newBucket is a bucket with the settings AWS has applied by default since
// 2023: Block Public Access on, ACLs disabled, SSE-S3 encryption.
func newBucket(name, account, region string, created time.Time, ownership string) *bucket {
	return &bucket{
		Name:              name,
		Account:           account,
		Region:            region,
		Created:           created.UTC(),
		PublicAccessBlock: &publicAccessBlock{BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true},
		Ownership:         &ownershipControls{Rules: []ownershipRule{{ObjectOwnership: ownership}}},
		Encryption:        defaultEncryption(),
		Objects:           map[string][]*objectVersion{},
	}
}

func (s *Service) deleteBucket(w http.ResponseWriter, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
	if len(b.Objects) > 0 {
		msg := "The bucket you tried to delete is not empty"
		if b.Versioning != nil {
			msg += ". You must delete all versions in the bucket."
		}
		return nil, &s3Error{status: http.StatusConflict, code: "BucketNotEmpty", message: msg, bucketName: b.Name}
	}
	delete(s.buckets, b.Name)
	writeS3Empty(w, http.StatusNoContent)
	return nil, nil
}

func (s *Service) headBucket(w http.ResponseWriter, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
	w.Header().Set("X-Amz-Bucket-Region", b.Region)
	w.Header().Set("X-Amz-Access-Point-Alias", "false")
	writeS3Empty(w, http.StatusOK)
	return nil, nil
}

func (s *Service) getBucketLocation(w http.ResponseWriter, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
	loc := b.Region
	if loc == usEast1 {
		// us-east-1 is reported as an empty constraint.
		loc = ""
	}
	writeS3XML(w, "LocationConstraint", loc)
	return nil, nil
}

type aclGrantee struct {
	XSI  string `xml:"xmlns:xsi,attr"`
	Type string `xml:"xsi:type,attr"`
	ID   string
}

func (s *Service) getBucketACL(w http.ResponseWriter, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
	type grant struct {
		Grantee    aclGrantee
		Permission string
	}
	id := canonicalUserID(b.Account)
	writeS3XML(w, "AccessControlPolicy", struct {
		Owner struct{ ID string }
		ACL   []grant `xml:"AccessControlList>Grant"`
	}{
		Owner: struct{ ID string }{ID: id},
		ACL: []grant{{
			Grantee:    aclGrantee{XSI: "http://www.w3.org/2001/XMLSchema-instance", Type: "CanonicalUser", ID: id},
			Permission: "FULL_CONTROL",
		}},
	})
	return nil, nil
}

// bucketSubresource is a bucket configuration with Get, Put and possibly
// Delete operations.
type bucketSubresource struct {
	query                  string // the query parameter that addresses it
	getOp, putOp, deleteOp string // the API operations
	putEvent, deleteEvent  string // their CloudTrail event names
	get                    func(s *Service, w http.ResponseWriter, b *bucket) *s3Error
	put                    func(s *Service, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error)
	delete                 func(b *bucket)
	putStatus              int
}

func (sr *bucketSubresource) serveGet(s *Service, w http.ResponseWriter, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
	return nil, sr.get(s, w, b)
}

func (sr *bucketSubresource) servePut(s *Service, w http.ResponseWriter, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
	params, serr := sr.put(s, r, req, b)
	if serr != nil {
		return params, serr
	}
	if params == nil {
		params = map[string]any{}
	}
	params[sr.query] = ""
	writeS3Empty(w, sr.putStatus)
	return params, nil
}

func (sr *bucketSubresource) serveDelete(s *Service, w http.ResponseWriter, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
	sr.delete(b)
	writeS3Empty(w, http.StatusNoContent)
	return map[string]any{sr.query: ""}, nil
}

// xmlSubresource builds the Get of a sub-resource kept as a parsed XML
// document: value returns nil when it is unset.
func xmlGetter(root string, value func(b *bucket) any, notFound func(b *bucket) *s3Error) func(*Service, http.ResponseWriter, *bucket) *s3Error {
	return func(s *Service, w http.ResponseWriter, b *bucket) *s3Error {
		v := value(b)
		if v == nil {
			return notFound(b)
		}
		writeS3XML(w, root, v)
		return nil
	}
}

func notFound(code, message string) func(b *bucket) *s3Error {
	return func(b *bucket) *s3Error {
		return &s3Error{status: http.StatusNotFound, code: code, message: message, bucketName: b.Name}
	}
}

// bucketSubresources are matched in order against the query.
var bucketSubresources = []*bucketSubresource{
	{
		query: "policy", getOp: "GetBucketPolicy", putOp: "PutBucketPolicy", deleteOp: "DeleteBucketPolicy",
		putEvent: "PutBucketPolicy", deleteEvent: "DeleteBucketPolicy", putStatus: http.StatusNoContent,
		get: func(s *Service, w http.ResponseWriter, b *bucket) *s3Error {
			if b.Policy == "" {
				return notFound("NoSuchBucketPolicy", "The bucket policy does not exist")(b)
			}
			setS3Headers(w, s3RequestID())
			w.Header().Set("Content-Type", "application/json")
			// A write fails only once the client has gone; there is no
			// one left to answer.
			_, _ = io.WriteString(w, b.Policy)
			return nil
		},
		put:    putBucketPolicy,
		delete: func(b *bucket) { b.Policy = "" },
	},
	{
		query: "publicAccessBlock", getOp: "GetPublicAccessBlock", putOp: "PutPublicAccessBlock", deleteOp: "DeletePublicAccessBlock",
		putEvent: "PutBucketPublicAccessBlock", deleteEvent: "DeleteBucketPublicAccessBlock", putStatus: http.StatusOK,
		get: xmlGetter("PublicAccessBlockConfiguration", func(b *bucket) any { return nilIfNone(b.PublicAccessBlock) },
			notFound("NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found")),
		put: func(s *Service, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
			var cfg publicAccessBlock
			if serr := parseS3XML(req.Body, "PublicAccessBlockConfiguration", &cfg); serr != nil {
				return nil, serr
			}
			b.PublicAccessBlock = &cfg
			return map[string]any{"PublicAccessBlockConfiguration": cfg}, nil
		},
		delete: func(b *bucket) { b.PublicAccessBlock = nil },
	},
	{
		query: "encryption", getOp: "GetBucketEncryption", putOp: "PutBucketEncryption", deleteOp: "DeleteBucketEncryption",
		putEvent: "PutBucketEncryption", deleteEvent: "DeleteBucketEncryption", putStatus: http.StatusOK,
		get: xmlGetter("ServerSideEncryptionConfiguration", func(b *bucket) any { return nilIfNone(b.Encryption) },
			notFound("ServerSideEncryptionConfigurationNotFoundError", "The server side encryption configuration was not found")),
		put: putBucketEncryption,
		// Deleting the configuration returns the bucket to AWS's default
		// SSE-S3 encryption, which can no longer be switched off.
		delete: func(b *bucket) { b.Encryption = defaultEncryption() },
	},
	{
		query: "versioning", getOp: "GetBucketVersioning", putOp: "PutBucketVersioning",
		putEvent: "PutBucketVersioning", putStatus: http.StatusOK,
		get: func(s *Service, w http.ResponseWriter, b *bucket) *s3Error {
			cfg := versioningConfig{}
			if b.Versioning != nil {
				cfg = *b.Versioning
			}
			writeS3XML(w, "VersioningConfiguration", cfg)
			return nil
		},
		put: putBucketVersioning,
	},
	{
		query: "lifecycle", getOp: "GetBucketLifecycleConfiguration", putOp: "PutBucketLifecycleConfiguration", deleteOp: "DeleteBucketLifecycle",
		putEvent: "PutBucketLifecycle", deleteEvent: "DeleteBucketLifecycle", putStatus: http.StatusOK,
		get: func(s *Service, w http.ResponseWriter, b *bucket) *s3Error {
			if b.Lifecycle == nil {
				return notFound("NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist")(b)
			}
			w.Header().Set("X-Amz-Transition-Default-Minimum-Object-Size", b.Lifecycle.minimumObjectSize())
			writeS3XML(w, "LifecycleConfiguration", b.Lifecycle)
			return nil
		},
		put:    putBucketLifecycle,
		delete: func(b *bucket) { b.Lifecycle = nil },
	},
	{
		query: "ownershipControls", getOp: "GetBucketOwnershipControls", putOp: "PutBucketOwnershipControls", deleteOp: "DeleteBucketOwnershipControls",
		putEvent: "PutBucketOwnershipControls", deleteEvent: "DeleteBucketOwnershipControls", putStatus: http.StatusOK,
		get: xmlGetter("OwnershipControls", func(b *bucket) any { return nilIfNone(b.Ownership) },
			notFound("OwnershipControlsNotFoundError", "The bucket ownership controls were not found")),
		put: func(s *Service, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
			var cfg ownershipControls
			if serr := parseS3XML(req.Body, "OwnershipControls", &cfg); serr != nil {
				return nil, serr
			}
			if len(cfg.Rules) != 1 || !validOwnership(cfg.Rules[0].ObjectOwnership) {
				return nil, errMalformedXML()
			}
			b.Ownership = &cfg
			return map[string]any{"OwnershipControls": cfg}, nil
		},
		delete: func(b *bucket) { b.Ownership = nil },
	},
	{
		query: "logging", getOp: "GetBucketLogging", putOp: "PutBucketLogging",
		putEvent: "PutBucketLogging", putStatus: http.StatusOK,
		get: func(s *Service, w http.ResponseWriter, b *bucket) *s3Error {
			writeS3XML(w, "BucketLoggingStatus", loggingStatus{LoggingEnabled: b.Logging})
			return nil
		},
		put: putBucketLogging,
	},
	{
		query: "tagging", getOp: "GetBucketTagging", putOp: "PutBucketTagging", deleteOp: "DeleteBucketTagging",
		putEvent: "PutBucketTagging", deleteEvent: "DeleteBucketTagging", putStatus: http.StatusNoContent,
		get: xmlGetter("Tagging", func(b *bucket) any {
			if len(b.Tags) == 0 {
				return nil
			}
			return tagging{TagSet: b.Tags}
		}, notFound("NoSuchTagSet", "The TagSet does not exist")),
		put:    putBucketTagging,
		delete: func(b *bucket) { b.Tags = nil },
	},
	{
		query: "object-lock", getOp: "GetObjectLockConfiguration", putOp: "PutObjectLockConfiguration",
		putEvent: "PutObjectLockConfiguration", putStatus: http.StatusOK,
		get: xmlGetter("ObjectLockConfiguration", func(b *bucket) any { return nilIfNone(b.ObjectLock) },
			notFound("ObjectLockConfigurationNotFoundError", "Object Lock configuration does not exist for this bucket")),
		put: putObjectLockConfiguration,
	},
}

// nilIfNone turns a typed nil pointer into an untyped nil, so xmlGetter
// can tell an unset sub-resource.
func nilIfNone[T any](p *T) any {
	if p == nil {
		return nil
	}
	return p
}

func putBucketPolicy(s *Service, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
	parsed, public, serr := validateBucketPolicy(req.Body, b.Name)
	if serr != nil {
		return nil, serr
	}
	if public && b.PublicAccessBlock != nil && b.PublicAccessBlock.BlockPublicPolicy {
		return map[string]any{"bucketPolicy": parsed}, &s3Error{status: http.StatusForbidden, code: "AccessDenied",
			message: fmt.Sprintf("User: %s is not authorized to perform: s3:PutBucketPolicy on resource: \"%s\" because public policies are blocked by the BlockPublicPolicy block public access setting.", req.ARN, bucketARN(b.Name))}
	}
	b.Policy = string(req.Body)
	b.PolicyWritten = s.now()
	return map[string]any{"bucketPolicy": parsed}, nil
}
