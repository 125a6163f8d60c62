package s3

import (
	"bytes"
	"cmp"
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

const (
	defaultContentType = "binary/octet-stream"
	maxKeyLength       = 1024
	maxDeleteObjects   = 1000
	nullVersion        = "null"
)

var versionIDPattern = regexp.MustCompile(`^(null|[A-Za-z0-9._]{32})$`)

// objectVersion is one version of an object, or a delete marker.
type objectVersion struct {
	VersionID    string
	DeleteMarker bool `json:",omitempty"`
	LastModified time.Time
	Owner        string
	ETag         string `json:",omitempty"`
	Size         int64
	ContentType  string `json:",omitempty"`
	// Headers are the stored headers answered on Get and Head:
	// user metadata (x-amz-meta-*, named in lower case), Cache-Control
	// and the like.
	Headers           map[string]string `json:",omitempty"`
	ChecksumAlgorithm string            `json:",omitempty"`
	Checksum          string            `json:",omitempty"`
	// ChecksumType is COMPOSITE for the checksum of an upload's part
	// checksums; "" is a checksum of the whole object.
	ChecksumType string `json:",omitempty"`
	// PartSizes are the sizes of the parts of an object uploaded in
	// parts, which GetObject's partNumber addresses.
	PartSizes   []int64   `json:",omitempty"`
	SSE         string    `json:",omitempty"`
	LockMode    string    `json:",omitempty"`
	RetainUntil time.Time `json:",omitzero"`
	// BodyHash names the body's file under the data directory.
	BodyHash string `json:",omitempty"`
	Body     []byte `json:"-"`
}

// storedHeaders are the request headers S3 keeps with an object.
var storedHeaders = []string{"Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires"}

func newObjectVersion(body []byte, contentType string, now time.Time, owner, sse string) *objectVersion {
	sum := md5.Sum(body)
	return &objectVersion{
		LastModified: now.UTC().Truncate(time.Millisecond),
		Owner:        owner,
		ETag:         `"` + hex.EncodeToString(sum[:]) + `"`,
		Size:         int64(len(body)),
		ContentType:  contentType,
		SSE:          sse,
		Body:         body,
	}
}

// metaPrefix starts the headers of user metadata.
const metaPrefix = "x-amz-meta-"

func userMetadata(header string) bool {
	return len(header) > len(metaPrefix) && strings.EqualFold(header[:len(metaPrefix)], metaPrefix)
}

// setMetadata keeps one entry of user metadata, named without its
// x-amz-meta- prefix. S3 keeps names in lower case, whatever case the
// client sent.
func (v *objectVersion) setMetadata(name, value string) {
	if v.Headers == nil {
		v.Headers = map[string]string{}
	}
	v.Headers[metaPrefix+strings.ToLower(name)] = value
}

func newVersionID() string {
	return awsapi.RandomString(32, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._")
}

// storeVersionLocked adds v as the key's current version. A versioned
// bucket keeps the older ones; an unversioned or suspended one replaces
// the "null" version. s.mu is held.
func (s *Service) storeVersionLocked(b *bucket, key string, v *objectVersion) {
	versions := b.Objects[key]
	if b.versioningStatus() == "Enabled" {
		v.VersionID = newVersionID()
	} else {
		v.VersionID = nullVersion
		versions = removeVersion(versions, nullVersion)
	}
	if lock := b.ObjectLock; lock != nil && lock.Rule != nil && lock.Rule.DefaultRetention != nil && !v.DeleteMarker {
		d := lock.Rule.DefaultRetention
		v.LockMode = d.Mode
		if d.Days != nil {
			v.RetainUntil = v.LastModified.AddDate(0, 0, *d.Days)
		} else {
			v.RetainUntil = v.LastModified.AddDate(*d.Years, 0, 0)
		}
	}
	b.setVersions(key, append([]*objectVersion{v}, versions...))
}

func removeVersion(versions []*objectVersion, id string) []*objectVersion {
	out := versions[:0:0]
	for _, v := range versions {
		if v.VersionID != id {
			out = append(out, v)
		}
	}
	return out
}

func findVersion(versions []*objectVersion, id string) *objectVersion {
	for _, v := range versions {
		if v.VersionID == id {
			return v
		}
	}
	return nil
}

func objectKey(r *http.Request) string { return parseS3Target(r).key }

func (s *Service) putObject(w http.ResponseWriter, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
	key := objectKey(r)
	if serr := checkKeyLength(key); serr != nil {
		return nil, serr
	}
	alg, checksum, serr := verifyIntegrity(r, req.Body, false)
	if serr != nil {
		return nil, serr
	}
	if b.ObjectLock != nil && alg == "" && r.Header.Get("Content-MD5") == "" {
		return nil, &s3Error{status: http.StatusBadRequest, code: "InvalidRequest",
			message: "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters"}
	}
	if serr := checkWritePreconditions(r, b.Objects[key], key); serr != nil {
		return nil, serr
	}
	sse, serr := objectSSE(r, b)
	if serr != nil {
		return nil, serr
	}
	contentType := requestContentType(r)
	v := newObjectVersion(req.Body, contentType, s.now(), req.Account, sse)
	v.ChecksumAlgorithm, v.Checksum = alg, checksum
	if v.BodyHash, serr = s.storeBodyLocked(b, v.Body); serr != nil {
		return nil, serr
	}
	v.Headers = requestHeaders(r)
	s.storeVersionLocked(b, key, v)

	h := w.Header()
	h.Set("ETag", v.ETag)
	h.Set("X-Amz-Server-Side-Encryption", v.SSE)
	if b.Versioning != nil {
		h.Set("X-Amz-Version-Id", v.VersionID)
	}
	if alg != "" {
		h.Set("X-Amz-Checksum-"+alg, checksum)
	}
	writeS3Empty(w, http.StatusOK)
	return nil, nil
}

// checkKeyLength refuses a key S3 would not store.
// requestContentType is the content type a write stores: the request's,
// else S3's default.
func requestContentType(r *http.Request) string {
	return cmp.Or(r.Header.Get("Content-Type"), defaultContentType)
}

func checkKeyLength(key string) *s3Error {
	if len(key) > maxKeyLength {
		return &s3Error{status: http.StatusBadRequest, code: "KeyTooLongError", message: "Your key is too long", key: key}
	}
	return nil
}

// checksumType is the object's checksum type as S3 names it.
func (v *objectVersion) checksumType() string {
	if v.ChecksumType == "" {
		return checksumFullObject
	}
	return v.ChecksumType
}

// objectSSE is the encryption an object a request writes gets: the one
// it names, else its bucket's default.
func objectSSE(r *http.Request, b *bucket) (string, *s3Error) {
	sse := r.Header.Get("X-Amz-Server-Side-Encryption")
	if sse == "" {
		return defaultSSE(b), nil
	}
	if !sseAlgorithms[sse] {
		return "", errInvalidArgument("The encryption method specified is not supported")
	}
	return sse, nil
}

// writeSettings are the encryption (objectSSE) and the checksum algorithm
// (x-amz-checksum-algorithm, in lower case) of an object a copy or a
// multipart upload writes, whose body the request does not carry.
func writeSettings(r *http.Request, b *bucket) (sse, checksumAlg string, serr *s3Error) {
	if sse, serr = objectSSE(r, b); serr != nil {
		return "", "", serr
	}
	checksumAlg = strings.ToLower(r.Header.Get("X-Amz-Checksum-Algorithm"))
	if _, known := checksumAlgorithms[checksumAlg]; checksumAlg != "" && !known {
		return "", "", &s3Error{status: http.StatusBadRequest, code: "InvalidRequest",
			message: "Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]"}
	}
	return sse, checksumAlg, nil
}

// requestHeaders are the headers S3 keeps with an object a request
// writes: user metadata (named in lower case) and storedHeaders; nil when
// there are none.
func requestHeaders(r *http.Request) map[string]string {
	var h map[string]string
	for name, values := range r.Header {
		stored := name
		switch {
		case userMetadata(name):
			// S3 keeps names in lower case, whatever case the client
			// sent.
			stored = strings.ToLower(name)
		case !slices.Contains(storedHeaders, name):
			continue
		}
		if h == nil {
			h = map[string]string{}
		}
		h[stored] = strings.Join(values, ",")
	}
	return h
}

// checkWritePreconditions applies S3's conditional writes: If-None-Match: *
// refuses to overwrite, If-Match requires the current ETag.
func checkWritePreconditions(r *http.Request, versions []*objectVersion, key string) *s3Error {
	var current *objectVersion
	if len(versions) > 0 && !versions[0].DeleteMarker {
		current = versions[0]
	}
	failed := &s3Error{status: http.StatusPreconditionFailed, code: "PreconditionFailed", message: "At least one of the pre-conditions you specified did not hold", key: key}
	if r.Header.Get("If-None-Match") == "*" && current != nil {
		return failed
	}
	if m := r.Header.Get("If-Match"); m != "" {
		if current == nil {
			return &s3Error{status: http.StatusNotFound, code: "NoSuchKey", message: "The specified key does not exist.", key: key}
		}
		if strings.Trim(m, `"`) != strings.Trim(current.ETag, `"`) {
			return failed
		}
	}
	return nil
}

func (s *Service) getObject(w http.ResponseWriter, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
	key := objectKey(r)
	q := r.URL.Query()
	versions := b.Objects[key]
	var v *objectVersion
	if id := q.Get("versionId"); q.Has("versionId") {
		if !versionIDPattern.MatchString(id) {
			return nil, errInvalidArgument("Invalid version id specified")
		}
		if v = findVersion(versions, id); v == nil {
			return nil, &s3Error{status: http.StatusNotFound, code: "NoSuchVersion", message: "The specified version does not exist.", key: key, versionID: id}
		}
		if v.DeleteMarker {
			w.Header().Set("X-Amz-Delete-Marker", "true")
			w.Header().Set("X-Amz-Version-Id", v.VersionID)
			w.Header().Set("Last-Modified", v.LastModified.Format(http.TimeFormat))
			return nil, &s3Error{status: http.StatusMethodNotAllowed, code: "MethodNotAllowed", message: "The specified method is not allowed against this resource."}
		}
	} else {
		if len(versions) == 0 {
			return nil, &s3Error{status: http.StatusNotFound, code: "NoSuchKey", message: "The specified key does not exist.", key: key}
		}
		if v = versions[0]; v.DeleteMarker {
			w.Header().Set("X-Amz-Delete-Marker", "true")
			w.Header().Set("X-Amz-Version-Id", v.VersionID)
			return nil, &s3Error{status: http.StatusNotFound, code: "NoSuchKey", message: "The specified key does not exist.", key: key}
		}
	}

	h := w.Header()
	setS3Headers(w, s3RequestID())
	h.Set("ETag", v.ETag)
	h.Set("Content-Type", v.ContentType)
	h.Set("Accept-Ranges", "bytes")
	h.Set("X-Amz-Server-Side-Encryption", v.SSE)
	if b.Versioning != nil {
		h.Set("X-Amz-Version-Id", v.VersionID)
	}
	for name, value := range v.Headers {
		if userMetadata(name) {
			// S3 answers user metadata names in lower case, and botocore
			// keeps the case it receives: set the key as is, past
			// net/http's canonical form.
			h[strings.ToLower(name)] = []string{value}
		} else {
			h.Set(name, value)
		}
	}
	if v.LockMode != "" {
		h.Set("X-Amz-Object-Lock-Mode", v.LockMode)
		h.Set("X-Amz-Object-Lock-Retain-Until-Date", v.RetainUntil.Format(time.RFC3339))
	}
	if q.Has("partNumber") {
		if serr := v.servePart(r, q.Get("partNumber")); serr != nil {
			return nil, serr
		}
		if len(v.PartSizes) > 0 {
			h.Set("X-Amz-Mp-Parts-Count", strconv.Itoa(len(v.PartSizes)))
		}
	}
	// A full-object checksum describes only a whole-object answer.
	if strings.EqualFold(r.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") && v.ChecksumAlgorithm != "" && r.Header.Get("Range") == "" {
		h.Set("X-Amz-Checksum-"+v.ChecksumAlgorithm, v.Checksum)
		h.Set("X-Amz-Checksum-Type", v.checksumType())
	}
	for param, header := range responseOverrides {
		if val := q.Get(param); val != "" {
			h.Set(header, val)
		}
	}
	ignore, serr := checkRange(r.Header.Get("Range"), v.Size)
	if serr != nil {
		h.Set("Content-Range", "bytes */"+strconv.FormatInt(v.Size, 10))
		return nil, serr
	}
	if ignore {
		r.Header.Del("Range")
	}
	// http.ServeContent does ranges and conditional requests as HTTP
	// defines them, which is what S3 follows.
	http.ServeContent(w, r, "", v.LastModified, bytes.NewReader(v.Body))
	return nil, nil
}

// servePart turns a GetObject of one part (partNumber) into the range of
// bytes the part holds. An object written whole is its only part.
func (v *objectVersion) servePart(r *http.Request, number string) *s3Error {
	n, ok := decimal(number)
	if !ok || n < 1 || n > maxParts {
		return errInvalidArgument("Part number must be an integer between 1 and %d, inclusive", maxParts)
	}
	if r.Header.Get("Range") != "" {
		return &s3Error{status: http.StatusBadRequest, code: "InvalidRequest", message: "Cannot specify both Range header and partNumber query parameter"}
	}
	sizes := v.PartSizes
	if len(sizes) == 0 {
		sizes = []int64{v.Size}
	}
	if n > int64(len(sizes)) {
		return &s3Error{status: http.StatusRequestedRangeNotSatisfiable, code: "InvalidPartNumber", message: "The requested partnumber is not satisfiable"}
	}
	if len(v.PartSizes) == 0 {
		return nil
	}
	var start int64
	for _, size := range sizes[:n-1] {
		start += size
	}
	r.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", start, start+sizes[n-1]-1))
	return nil
}

// responseOverrides are GetObject's response-* query parameters.
var responseOverrides = map[string]string{
	"response-content-type":        "Content-Type",
	"response-content-disposition": "Content-Disposition",
	"response-content-encoding":    "Content-Encoding",
	"response-content-language":    "Content-Language",
	"response-cache-control":       "Cache-Control",
	"response-expires":             "Expires",
}

// deleteOutcome is what deleting one key or version did.
type deleteOutcome struct {
	versionID    string // the version removed, or the delete marker created
	deleteMarker bool   // a delete marker was created or removed
}

// deleteLocked deletes a key (adding a delete marker when versioning is
// on) or, with versionID, one version for good. s.mu is held.
func (s *Service) deleteLocked(r *http.Request, b *bucket, key, versionID string, hasVersion bool) (deleteOutcome, *s3Error) {
	versions := b.Objects[key]
	if hasVersion {
		if !versionIDPattern.MatchString(versionID) {
			return deleteOutcome{}, errInvalidArgument("Invalid version id specified")
		}
		v := findVersion(versions, versionID)
		if v == nil {
			return deleteOutcome{versionID: versionID}, nil
		}
		if !v.DeleteMarker && v.LockMode != "" && s.now().Before(v.RetainUntil) {
			bypass := strings.EqualFold(r.Header.Get("X-Amz-Bypass-Governance-Retention"), "true")
			if v.LockMode == "COMPLIANCE" || !bypass {
				return deleteOutcome{}, &s3Error{status: http.StatusForbidden, code: "AccessDenied", message: "Access Denied because object protected by object lock.", key: key}
			}
		}
		b.setVersions(key, removeVersion(versions, versionID))
		return deleteOutcome{versionID: versionID, deleteMarker: v.DeleteMarker}, nil
	}
	if b.Versioning == nil {
		b.setVersions(key, nil)
		return deleteOutcome{}, nil
	}
	marker := &objectVersion{DeleteMarker: true, LastModified: s.now().UTC().Truncate(time.Millisecond), Owner: b.Account}
	s.storeVersionLocked(b, key, marker)
	return deleteOutcome{versionID: marker.VersionID, deleteMarker: true}, nil
}

// setVersions replaces a key's versions (none deletes the key) and notes
// the key as written.
func (b *bucket) setVersions(key string, versions []*objectVersion) {
	if b.touched == nil {
		b.touched = map[string]bool{}
	}
	b.touched[key] = true
	if len(versions) == 0 {
		delete(b.Objects, key)
		b.index().Delete(key)
		return
	}
	b.Objects[key] = versions
	b.index().ReplaceOrInsert(key)
}

func (s *Service) deleteObject(w http.ResponseWriter, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
	q := r.URL.Query()
	out, serr := s.deleteLocked(r, b, objectKey(r), q.Get("versionId"), q.Has("versionId"))
	if serr != nil {
		return nil, serr
	}
	if out.deleteMarker {
		w.Header().Set("X-Amz-Delete-Marker", "true")
	}
	if out.versionID != "" {
		w.Header().Set("X-Amz-Version-Id", out.versionID)
	}
	writeS3Empty(w, http.StatusNoContent)
	return nil, nil
}

func (s *Service) deleteObjects(w http.ResponseWriter, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
	if _, _, serr := verifyIntegrity(r, req.Body, true); serr != nil {
		return nil, serr
	}
	var in struct {
		Quiet   bool
		Objects []struct {
			Key       string
			VersionID *string `xml:"VersionId"`
		} `xml:"Object"`
	}
	if serr := parseS3XML(req.Body, "Delete", &in); serr != nil {
		return nil, serr
	}
	if len(in.Objects) == 0 || len(in.Objects) > maxDeleteObjects {
		return nil, errMalformedXML()
	}
	type deleted struct {
		Key                   string
		VersionID             string `xml:"VersionId,omitempty"`
		DeleteMarker          bool   `xml:",omitempty"`
		DeleteMarkerVersionID string `xml:"DeleteMarkerVersionId,omitempty"`
	}
	type failed struct {
		Key       string
		VersionID string `xml:"VersionId,omitempty"`
		Code      string
		Message   string
	}
	var res struct {
		Deleted []deleted `xml:"Deleted"`
		Errors  []failed  `xml:"Error"`
	}
	for _, o := range in.Objects {
		id := ""
		if o.VersionID != nil {
			id = *o.VersionID
		}
		out, serr := s.deleteLocked(r, b, o.Key, id, o.VersionID != nil)
		if serr != nil {
			res.Errors = append(res.Errors, failed{Key: o.Key, VersionID: id, Code: serr.code, Message: serr.message})
			continue
		}
		if in.Quiet {
			continue
		}
		d := deleted{Key: o.Key, VersionID: id, DeleteMarker: out.deleteMarker}
		if o.VersionID == nil && out.deleteMarker {
			d.DeleteMarkerVersionID = out.versionID
		}
		res.Deleted = append(res.Deleted, d)
	}
	writeS3XML(w, "DeleteResult", res)
	return nil, nil
}

// listParams are the parameters the list operations share.
type listParams struct {
	prefix, delimiter string
	maxKeys           int
	urlEncode         bool
}

func parseListParams(q url.Values) (listParams, *s3Error) {
	p := listParams{prefix: q.Get("prefix"), delimiter: q.Get("delimiter"), maxKeys: 1000}
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, errInvalidArgument("Provided max-keys not an integer or within integer range")
		}
		p.maxKeys = min(n, 1000)
	}
	switch q.Get("encoding-type") {
	case "":
	case "url":
		p.urlEncode = true
	default:
		return p, errInvalidArgument("Invalid Encoding Method specified in Request")
	}
	return p, nil
}

// enc writes a key as the request asked: botocore asks for URL encoding
// so that keys with control characters survive XML.
func (p listParams) enc(s string) string {
	if !p.urlEncode || s == "" {
		return s
	}
	return strings.ReplaceAll(url.QueryEscape(s), "%2F", "/")
}

// rollUp returns the common prefix a key falls under, if any.
func (p listParams) rollUp(key string) (string, bool) {
	if p.delimiter == "" {
		return "", false
	}
	i := strings.Index(key[len(p.prefix):], p.delimiter)
	if i < 0 {
		return "", false
	}
	return key[:len(p.prefix)+i+len(p.delimiter)], true
}

type listedObject struct {
	Key               string
	LastModified      string
	ETag              string
	Size              int64
	StorageClass      string
	ChecksumAlgorithm string `xml:",omitempty"`
	Owner             *owner `xml:",omitempty"`
}

type owner struct {
	ID string
}

type commonPrefix struct {
	Prefix string
}

// listCurrent pages through the current objects after a marker, rolling
// keys up into common prefixes. next is the marker of the next page.
func listCurrent(b *bucket, p listParams, after string, withOwner bool) (objects []listedObject, prefixes []commonPrefix, next string, truncated bool) {
	count := 0
	b.scan(p, after, false, true, func(name string, rolled bool) bool {
		if count == p.maxKeys {
			truncated = true
			return false
		}
		count++
		next = name
		if rolled {
			prefixes = append(prefixes, commonPrefix{Prefix: p.enc(name)})
			return true
		}
		v := b.Objects[name][0]
		o := listedObject{Key: p.enc(name), LastModified: v.LastModified.Format(s3TimeFormat), ETag: v.ETag, Size: v.Size,
			StorageClass: "STANDARD", ChecksumAlgorithm: strings.ToUpper(v.ChecksumAlgorithm)}
		if withOwner {
			o.Owner = &owner{ID: canonicalUserID(v.Owner)}
		}
		objects = append(objects, o)
		return true
	})
	return objects, prefixes, next, truncated
}

func (s *Service) listObjectsV2(w http.ResponseWriter, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
	q := r.URL.Query()
	p, serr := parseListParams(q)
	if serr != nil {
		return nil, serr
	}
	after := q.Get("start-after")
	token := q.Get("continuation-token")
	if q.Has("continuation-token") {
		marker, err := decodeToken(token)
		if err != nil || token == "" {
			return nil, errInvalidArgument("The continuation token provided is incorrect")
		}
		after = max(after, marker)
	}
	objects, prefixes, next, truncated := listCurrent(b, p, after, q.Get("fetch-owner") == "true")
	out := struct {
		Name                  string
		Prefix                string
		Delimiter             string `xml:",omitempty"`
		MaxKeys               int
		KeyCount              int
		IsTruncated           bool
		ContinuationToken     string         `xml:",omitempty"`
		NextContinuationToken string         `xml:",omitempty"`
		StartAfter            string         `xml:",omitempty"`
		EncodingType          string         `xml:",omitempty"`
		Contents              []listedObject `xml:"Contents"`
		CommonPrefixes        []commonPrefix `xml:"CommonPrefixes"`
	}{
		Name: b.Name, Prefix: p.enc(p.prefix), Delimiter: p.enc(p.delimiter), MaxKeys: p.maxKeys,
		KeyCount: len(objects) + len(prefixes), IsTruncated: truncated, ContinuationToken: token,
		StartAfter: p.enc(q.Get("start-after")), EncodingType: q.Get("encoding-type"),
		Contents: objects, CommonPrefixes: prefixes,
	}
	if truncated {
		out.NextContinuationToken = encodeToken(next)
	}
	writeS3XML(w, "ListBucketResult", out)
	return nil, nil
}

func (s *Service) listObjects(w http.ResponseWriter, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
	q := r.URL.Query()
	p, serr := parseListParams(q)
	if serr != nil {
		return nil, serr
	}
	objects, prefixes, next, truncated := listCurrent(b, p, q.Get("marker"), true)
	out := struct {
		Name           string
		Prefix         string
		Marker         string
		NextMarker     string `xml:",omitempty"`
		MaxKeys        int
		Delimiter      string `xml:",omitempty"`
		IsTruncated    bool
		EncodingType   string         `xml:",omitempty"`
		Contents       []listedObject `xml:"Contents"`
		CommonPrefixes []commonPrefix `xml:"CommonPrefixes"`
	}{
		Name: b.Name, Prefix: p.enc(p.prefix), Marker: p.enc(q.Get("marker")), MaxKeys: p.maxKeys,
		Delimiter: p.enc(p.delimiter), IsTruncated: truncated, EncodingType: q.Get("encoding-type"),
		Contents: objects, CommonPrefixes: prefixes,
	}
	if truncated {
		out.NextMarker = p.enc(next)
	}
	writeS3XML(w, "ListBucketResult", out)
	return nil, nil
}

// versionEntry is a Version or DeleteMarker element of
// ListObjectVersions; XMLName says which, so both keep their order.
type versionEntry struct {
	XMLName           xml.Name
	Key               string
	VersionID         string `xml:"VersionId"`
	IsLatest          bool
	LastModified      string
	ETag              string `xml:",omitempty"`
	Size              *int64 `xml:",omitempty"`
	StorageClass      string `xml:",omitempty"`
	ChecksumAlgorithm string `xml:",omitempty"`
	Owner             owner
}

func (s *Service) listObjectVersions(w http.ResponseWriter, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
	q := r.URL.Query()
	p, serr := parseListParams(q)
	if serr != nil {
		return nil, serr
	}
	keyMarker, idMarker := q.Get("key-marker"), q.Get("version-id-marker")
	if idMarker != "" && keyMarker == "" {
		return nil, errInvalidArgument("A version-id marker cannot be specified without a key marker.")
	}
	var entries []versionEntry
	var prefixes []commonPrefix
	var nextKey, nextID string
	truncated, count := false, 0
	full := func() bool {
		if count == p.maxKeys {
			truncated = true
		}
		return truncated
	}
	// A version-id marker resumes within the key-marker's versions.
	b.scan(p, keyMarker, idMarker != "", false, func(k string, rolled bool) bool {
		if rolled {
			if full() {
				return false
			}
			count++
			prefixes = append(prefixes, commonPrefix{Prefix: p.enc(k)})
			nextKey, nextID = k, ""
			return true
		}
		versions := b.Objects[k]
		if k == keyMarker {
			i := 0
			for i < len(versions) && versions[i].VersionID != idMarker {
				i++
			}
			versions = versions[min(i+1, len(versions)):]
		}
		for _, v := range versions {
			if full() {
				return false
			}
			count++
			e := versionEntry{Key: p.enc(k), VersionID: v.VersionID, IsLatest: v == b.Objects[k][0],
				LastModified: v.LastModified.Format(s3TimeFormat), Owner: owner{ID: canonicalUserID(v.Owner)}}
			if v.DeleteMarker {
				e.XMLName.Local = "DeleteMarker"
			} else {
				size := v.Size
				e.XMLName.Local = "Version"
				e.ETag, e.Size, e.StorageClass = v.ETag, &size, "STANDARD"
				e.ChecksumAlgorithm = strings.ToUpper(v.ChecksumAlgorithm)
			}
			entries = append(entries, e)
			nextKey, nextID = k, v.VersionID
		}
		return true
	})
	out := struct {
		Name                string
		Prefix              string
		KeyMarker           string
		VersionIDMarker     string `xml:"VersionIdMarker"`
		NextKeyMarker       string `xml:",omitempty"`
		NextVersionIDMarker string `xml:"NextVersionIdMarker,omitempty"`
		MaxKeys             int
		Delimiter           string `xml:",omitempty"`
		IsTruncated         bool
		EncodingType        string `xml:",omitempty"`
		Entries             []versionEntry
		CommonPrefixes      []commonPrefix `xml:"CommonPrefixes"`
	}{
		Name: b.Name, Prefix: p.enc(p.prefix), KeyMarker: p.enc(keyMarker), VersionIDMarker: idMarker,
		MaxKeys: p.maxKeys, Delimiter: p.enc(p.delimiter), IsTruncated: truncated,
		EncodingType: q.Get("encoding-type"), Entries: entries, CommonPrefixes: prefixes,
	}
	if truncated {
		out.NextKeyMarker, out.NextVersionIDMarker = p.enc(nextKey), nextID
	}
	writeS3XML(w, "ListVersionsResult", out)
	return nil, nil
}
