package s3

import (
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// copySource is the object an x-amz-copy-source header names.
type copySource struct {
	bucket, key string
	versionID   string
	hasVersion  bool
}

// parseCopySource reads x-amz-copy-source: [/]bucket/key, URL-encoded,
// optionally followed by ?versionId=.
func parseCopySource(header string) (copySource, *s3Error) {
	path, query, hasQuery := strings.Cut(header, "?")
	name, err := url.PathUnescape(path)
	if err != nil {
		return copySource{}, errInvalidArgument("Invalid copy source encoding")
	}
	bucketName, key, _ := strings.Cut(strings.TrimPrefix(name, "/"), "/")
	if bucketName == "" || key == "" {
		return copySource{}, errInvalidArgument("Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	src := copySource{bucket: bucketName, key: key}
	if hasQuery {
		q, err := url.ParseQuery(query)
		if err != nil {
			return copySource{}, errInvalidArgument("Invalid copy source encoding")
		}
		src.versionID, src.hasVersion = q.Get("versionId"), q.Has("versionId")
	}
	return src, nil
}

// copySourceLocked finds the object version a copy reads, in a bucket of
// the caller's account in any region, and applies the copy's
// x-amz-copy-source-if-* conditions. It also returns the source's bucket.
// s.mu is held.
func (s *Service) copySourceLocked(r *http.Request, req *request) (*bucket, *objectVersion, copySource, *s3Error) {
	src, serr := parseCopySource(r.Header.Get("X-Amz-Copy-Source"))
	if serr != nil {
		return nil, nil, src, serr
	}
	b := s.buckets[src.bucket]
	if b == nil {
		return nil, nil, src, errNoSuchBucket(src.bucket)
	}
	if b.Account != req.Account {
		return nil, nil, src, errAccessDenied()
	}
	versions := b.Objects[src.key]
	var v *objectVersion
	if src.hasVersion {
		if !versionIDPattern.MatchString(src.versionID) {
			return nil, nil, src, errInvalidArgument("Invalid version id specified")
		}
		if v = findVersion(versions, src.versionID); v == nil {
			return nil, nil, src, &s3Error{status: http.StatusNotFound, code: "NoSuchVersion", message: "The specified version does not exist.", key: src.key, versionID: src.versionID}
		}
		if v.DeleteMarker {
			return nil, nil, src, &s3Error{status: http.StatusBadRequest, code: "InvalidRequest", message: "The source of a copy request may not specifically refer to a delete marker by version id."}
		}
	} else {
		if len(versions) == 0 || versions[0].DeleteMarker {
			return nil, nil, src, &s3Error{status: http.StatusNotFound, code: "NoSuchKey", message: "The specified key does not exist.", key: src.key}
		}
		v = versions[0]
	}
	if !copyConditionsHold(r.Header, v) {
		return nil, nil, src, &s3Error{status: http.StatusPreconditionFailed, code: "PreconditionFailed", message: "At least one of the pre-conditions you specified did not hold"}
	}
	return b, v, src, nil
}

// copyConditionsHold applies x-amz-copy-source-if-*: as for a GET's
// conditions, a matching ETag overrides a modification time that fails,
// and a non-matching one a modification time that holds.
func copyConditionsHold(h http.Header, v *objectVersion) bool {
	since := func(name string) (time.Time, bool) {
		t, err := http.ParseTime(h.Get(name))
		return t, err == nil
	}
	if m := h.Get("X-Amz-Copy-Source-If-Match"); m != "" {
		if !etagListMatches(m, v.ETag) {
			return false
		}
	} else if t, ok := since("X-Amz-Copy-Source-If-Unmodified-Since"); ok && v.LastModified.Truncate(time.Second).After(t) {
		return false
	}
	if m := h.Get("X-Amz-Copy-Source-If-None-Match"); m != "" {
		if etagListMatches(m, v.ETag) {
			return false
		}
	} else if t, ok := since("X-Amz-Copy-Source-If-Modified-Since"); ok && !v.LastModified.Truncate(time.Second).After(t) {
		return false
	}
	return true
}

// etagListMatches reports whether a condition's list of ETags (or *)
// names etag.
func etagListMatches(list, etag string) bool {
	for _, e := range strings.Split(list, ",") {
		if e = strings.TrimSpace(e); e == "*" || sameETag(e, etag) {
			return true
		}
	}
	return false
}

// sameETag compares ETags with or without their quotes.
func sameETag(a, b string) bool { return strings.Trim(a, `"`) == strings.Trim(b, `"`) }

// copyResult is CopyObjectResult and CopyPartResult.
type copyResult struct {
	ETag         string
	LastModified string
	ChecksumType string `xml:",omitempty"`
	checksumElements
}

func (s *Service) copyObject(w http.ResponseWriter, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
	key := objectKey(r)
	if serr := checkKeyLength(key); serr != nil {
		return nil, serr
	}
	srcBucket, from, src, serr := s.copySourceLocked(r, req)
	if serr != nil {
		return nil, serr
	}
	directive := r.Header.Get("X-Amz-Metadata-Directive")
	if directive != "" && directive != "COPY" && directive != "REPLACE" {
		return nil, errInvalidArgument("Unknown metadata directive.")
	}
	if srcBucket == b && src.key == key && !src.hasVersion && directive != "REPLACE" &&
		r.Header.Get("X-Amz-Server-Side-Encryption") == "" && r.Header.Get("X-Amz-Storage-Class") == "" {
		return nil, &s3Error{status: http.StatusBadRequest, code: "InvalidRequest", message: "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."}
	}
	sse, alg, serr := writeSettings(r, b)
	if serr != nil {
		return nil, serr
	}
	if serr := checkWritePreconditions(r, b.Objects[key], key); serr != nil {
		return nil, serr
	}
	contentType, headers := from.ContentType, maps.Clone(from.Headers)
	if directive == "REPLACE" {
		contentType = requestContentType(r)
		headers = requestHeaders(r)
	}
	// A copy is written whole, so it has a plain MD5 ETag and a
	// full-object checksum even when its source was uploaded in parts;
	// it keeps the source's checksum algorithm unless it names one.
	v := newObjectVersion(from.Body, contentType, s.now(), req.Account, sse)
	v.Headers = headers
	if alg == "" {
		alg = from.ChecksumAlgorithm
	}
	if alg != "" {
		v.ChecksumAlgorithm, v.Checksum = alg, checksumOf(alg, v.Body)
	}
	if v.BodyHash, serr = s.storeBodyLocked(b, v.Body); serr != nil {
		return nil, serr
	}
	s.storeVersionLocked(b, key, v)

	h := w.Header()
	if srcBucket.Versioning != nil {
		h.Set("X-Amz-Copy-Source-Version-Id", from.VersionID)
	}
	if b.Versioning != nil {
		h.Set("X-Amz-Version-Id", v.VersionID)
	}
	h.Set("X-Amz-Server-Side-Encryption", v.SSE)
	res := copyResult{ETag: v.ETag, LastModified: v.LastModified.Format(s3TimeFormat), checksumElements: checksumElementsOf(v.ChecksumAlgorithm, v.Checksum)}
	if alg != "" {
		res.ChecksumType = v.checksumType()
	}
	writeS3XML(w, "CopyObjectResult", res)
	return nil, nil
}
