package s3

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

const (
	// minPartSize is the least size of every part of a completed upload
	// but the last: 5 MiB.
	minPartSize = 5 << 20
	maxParts    = 10000
	// maxListed is how many parts or uploads a listing answers at most.
	maxListed = 1000
)

// The checksum types of a multipart upload: a checksum of the part
// checksums ("<base64>-<parts>"), or the checksum of the whole object,
// which only the CRCs can be combined into.
const (
	checksumComposite  = "COMPOSITE"
	checksumFullObject = "FULL_OBJECT"
)

// multipartUpload is an upload between CreateMultipartUpload and its
// completion or abort. It holds what the object will have besides its
// body, and the parts uploaded so far.
type multipartUpload struct {
	ID        string
	Key       string
	Initiated time.Time
	// Initiator is the ARN of the caller who started the upload; Owner is
	// its account, which will own the object.
	Initiator         string
	Owner             string
	ContentType       string
	Headers           map[string]string `json:",omitempty"`
	SSE               string
	ChecksumAlgorithm string              `json:",omitempty"`
	ChecksumType      string              `json:",omitempty"`
	Parts             map[int]*uploadPart `json:",omitempty"`
}

// uploadPart is one part of an upload. A part uploaded again under its
// number replaces it.
type uploadPart struct {
	ETag         string
	Size         int64
	LastModified time.Time
	// Checksum is the part's checksum in the upload's algorithm.
	Checksum string `json:",omitempty"`
	// BodyHash names the body's file under the data directory.
	BodyHash string `json:",omitempty"`
	Body     []byte `json:"-"`
}

// setUpload stores an upload, or removes it when u is nil, and notes it as
// written.
func (b *bucket) setUpload(id string, u *multipartUpload) {
	if b.touchedUploads == nil {
		b.touchedUploads = map[string]bool{}
	}
	b.touchedUploads[id] = true
	if u == nil {
		delete(b.Uploads, id)
		return
	}
	if b.Uploads == nil {
		b.Uploads = map[string]*multipartUpload{}
	}
	b.Uploads[id] = u
}

func errNoSuchUpload(id string) *s3Error {
	return &s3Error{status: http.StatusNotFound, code: "NoSuchUpload",
		message: "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
		details: []errorDetail{detail("UploadId", id)}}
}

// uploadOf finds the upload a request's uploadId names, for the key it
// addresses.
func uploadOf(r *http.Request, b *bucket) (*multipartUpload, *s3Error) {
	id := r.URL.Query().Get("uploadId")
	u := b.Uploads[id]
	if u == nil || u.Key != objectKey(r) {
		return nil, errNoSuchUpload(id)
	}
	return u, nil
}

// partOf finds the upload and the part number an UploadPart or
// UploadPartCopy writes.
func partOf(r *http.Request, b *bucket) (*multipartUpload, int, *s3Error) {
	n, ok := decimal(r.URL.Query().Get("partNumber"))
	if !ok || n < 1 || n > maxParts {
		return nil, 0, errInvalidArgument("Part number must be an integer between 1 and %d, inclusive", maxParts)
	}
	u, serr := uploadOf(r, b)
	return u, int(n), serr
}

// uploadChecksumType is the checksum type of an upload in algorithm alg:
// the one x-amz-checksum-type names, else COMPOSITE, but for CRC-64/NVME,
// which is only ever a full-object checksum. SHA checksums cannot be
// combined into a full-object one.
func uploadChecksumType(alg, requested string) (string, *s3Error) {
	invalid := func(msg string) (string, *s3Error) {
		return "", &s3Error{status: http.StatusBadRequest, code: "InvalidRequest", message: msg}
	}
	switch {
	case alg == "" && requested != "":
		return invalid("The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.")
	case alg == "":
		return "", nil
	case requested == "" && alg == "crc64nvme":
		return checksumFullObject, nil
	case requested == "":
		return checksumComposite, nil
	case requested != checksumComposite && requested != checksumFullObject:
		return invalid("Value for x-amz-checksum-type header is invalid.")
	case requested == checksumFullObject && strings.HasPrefix(alg, "sha"):
		return invalid("The FULL_OBJECT checksum type cannot be used with the " + alg + " checksum algorithm.")
	case requested == checksumComposite && alg == "crc64nvme":
		return invalid("The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.")
	}
	return requested, nil
}

func newUploadID() string {
	return awsapi.RandomString(64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
}

func (s *Service) createMultipartUpload(w http.ResponseWriter, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
	key := objectKey(r)
	if serr := checkKeyLength(key); serr != nil {
		return nil, serr
	}
	sse, alg, serr := writeSettings(r, b)
	if serr != nil {
		return nil, serr
	}
	typ, serr := uploadChecksumType(alg, r.Header.Get("X-Amz-Checksum-Type"))
	if serr != nil {
		return nil, serr
	}
	contentType := requestContentType(r)
	u := &multipartUpload{
		ID: newUploadID(), Key: key, Initiated: s.now().UTC().Truncate(time.Millisecond),
		Initiator: req.ARN, Owner: req.Account, ContentType: contentType, Headers: requestHeaders(r),
		SSE: sse, ChecksumAlgorithm: alg, ChecksumType: typ, Parts: map[int]*uploadPart{},
	}
	b.setUpload(u.ID, u)

	h := w.Header()
	h.Set("X-Amz-Server-Side-Encryption", sse)
	if alg != "" {
		h.Set("X-Amz-Checksum-Algorithm", strings.ToUpper(alg))
		h.Set("X-Amz-Checksum-Type", typ)
	}
	writeS3XML(w, "InitiateMultipartUploadResult", struct {
		Bucket   string
		Key      string
		UploadID string `xml:"UploadId"`
	}{b.Name, key, u.ID})
	return nil, nil
}

// partChecksum is the checksum a part keeps: in the upload's algorithm,
// as the client sent it (verified) or, when it sent none, as computed
// here. An upload without an algorithm keeps none.
func partChecksum(u *multipartUpload, sentAlg, sent string, body []byte) (string, *s3Error) {
	switch {
	case u.ChecksumAlgorithm == "":
		return "", nil
	case sentAlg == "":
		return checksumOf(u.ChecksumAlgorithm, body), nil
	case sentAlg != u.ChecksumAlgorithm:
		return "", &s3Error{status: http.StatusBadRequest, code: "InvalidRequest",
			message: "Checksum Type mismatch occurred, expected checksum Type: " + u.ChecksumAlgorithm + ", actual checksum Type: " + sentAlg}
	}
	return sent, nil
}

// putPartLocked stores a part's body and adds the part to its upload.
// s.mu is held.
func (s *Service) putPartLocked(b *bucket, u *multipartUpload, number int, body []byte, checksum string) (*uploadPart, *s3Error) {
	sum := md5.Sum(body)
	p := &uploadPart{ETag: `"` + hex.EncodeToString(sum[:]) + `"`, Size: int64(len(body)),
		LastModified: s.now().UTC().Truncate(time.Millisecond), Checksum: checksum, Body: body}
	var serr *s3Error
	if p.BodyHash, serr = s.storeBodyLocked(b, body); serr != nil {
		return nil, serr
	}
	u.Parts[number] = p
	b.setUpload(u.ID, u)
	return p, nil
}

func (s *Service) uploadPart(w http.ResponseWriter, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
	u, number, serr := partOf(r, b)
	if serr != nil {
		return nil, serr
	}
	alg, sent, serr := verifyIntegrity(r, req.Body, false)
	if serr != nil {
		return nil, serr
	}
	checksum, serr := partChecksum(u, alg, sent, req.Body)
	if serr != nil {
		return nil, serr
	}
	p, serr := s.putPartLocked(b, u, number, req.Body, checksum)
	if serr != nil {
		return nil, serr
	}
	h := w.Header()
	h.Set("ETag", p.ETag)
	h.Set("X-Amz-Server-Side-Encryption", u.SSE)
	if u.ChecksumAlgorithm != "" {
		h.Set("X-Amz-Checksum-"+u.ChecksumAlgorithm, checksum)
	}
	writeS3Empty(w, http.StatusOK)
	return nil, nil
}

func (s *Service) uploadPartCopy(w http.ResponseWriter, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
	u, number, serr := partOf(r, b)
	if serr != nil {
		return nil, serr
	}
	srcBucket, from, _, serr := s.copySourceLocked(r, req)
	if serr != nil {
		return nil, serr
	}
	body, serr := copyRange(r.Header.Get("X-Amz-Copy-Source-Range"), from.Body)
	if serr != nil {
		return nil, serr
	}
	checksum, serr := partChecksum(u, "", "", body)
	if serr != nil {
		return nil, serr
	}
	p, serr := s.putPartLocked(b, u, number, body, checksum)
	if serr != nil {
		return nil, serr
	}
	h := w.Header()
	if srcBucket.Versioning != nil {
		h.Set("X-Amz-Copy-Source-Version-Id", from.VersionID)
	}
	h.Set("X-Amz-Server-Side-Encryption", u.SSE)
	writeS3XML(w, "CopyPartResult", copyResult{ETag: p.ETag, LastModified: p.LastModified.Format(s3TimeFormat),
		checksumElements: checksumElementsOf(u.ChecksumAlgorithm, checksum)})
	return nil, nil
}

// copyRange is the part of body x-amz-copy-source-range names: all of it
// without the header, else bytes=first-last within it.
func copyRange(header string, body []byte) ([]byte, *s3Error) {
	if header == "" {
		return body, nil
	}
	spec, ok := strings.CutPrefix(header, "bytes=")
	first, last, ok2 := strings.Cut(spec, "-")
	start, ok3 := decimal(first)
	end, ok4 := decimal(last)
	if !ok || !ok2 || !ok3 || !ok4 || end < start {
		return nil, errInvalidArgument("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
	}
	if end >= int64(len(body)) {
		return nil, errInvalidArgument("Range specified is not valid for source object of size: %d", len(body))
	}
	return body[start : end+1], nil
}

// completedPart is a Part element of CompleteMultipartUpload.
type completedPart struct {
	PartNumber int
	ETag       string
	checksumElements
}

func (s *Service) completeMultipartUpload(w http.ResponseWriter, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
	u, serr := uploadOf(r, b)
	if serr != nil {
		return nil, serr
	}
	var in struct {
		Parts []completedPart `xml:"Part"`
	}
	if serr := parseS3XML(req.Body, "CompleteMultipartUpload", &in); serr != nil {
		return nil, serr
	}
	if len(in.Parts) == 0 {
		return nil, errMalformedXML()
	}
	parts, serr := u.chosenParts(in.Parts)
	if serr != nil {
		return nil, serr
	}
	if serr := checkWritePreconditions(r, b.Objects[u.Key], u.Key); serr != nil {
		return nil, serr
	}
	v, serr := u.assemble(parts, s.now())
	if serr != nil {
		return nil, serr
	}
	if size := r.Header.Get("X-Amz-Mp-Object-Size"); size != "" && size != strconv.FormatInt(v.Size, 10) {
		return nil, &s3Error{status: http.StatusBadRequest, code: "InvalidRequest",
			message: "The provided x-amz-mp-object-size header value " + size + " does not match the object size " + strconv.FormatInt(v.Size, 10)}
	}
	if given := r.Header.Get("X-Amz-Checksum-" + u.ChecksumAlgorithm); u.ChecksumAlgorithm != "" && given != "" &&
		given != v.Checksum && given != strings.Split(v.Checksum, "-")[0] {
		return nil, &s3Error{status: http.StatusBadRequest, code: "BadDigest",
			message: "The " + strings.ToUpper(u.ChecksumAlgorithm) + " you specified did not match the calculated checksum."}
	}
	if v.BodyHash, serr = s.storeBodyLocked(b, v.Body); serr != nil {
		return nil, serr
	}
	s.storeVersionLocked(b, u.Key, v)
	b.setUpload(u.ID, nil)

	h := w.Header()
	if b.Versioning != nil {
		h.Set("X-Amz-Version-Id", v.VersionID)
	}
	h.Set("X-Amz-Server-Side-Encryption", v.SSE)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	res := struct {
		Location     string
		Bucket       string
		Key          string
		ETag         string
		ChecksumType string `xml:",omitempty"`
		checksumElements
	}{Location: scheme + "://" + r.Host + r.URL.EscapedPath(), Bucket: b.Name, Key: u.Key, ETag: v.ETag,
		checksumElements: checksumElementsOf(v.ChecksumAlgorithm, v.Checksum)}
	if v.ChecksumAlgorithm != "" {
		res.ChecksumType = v.checksumType()
	}
	writeS3XML(w, "CompleteMultipartUploadResult", res)
	return nil, nil
}

// chosenParts checks the parts a completion lists, as S3 does: in
// ascending order, each uploaded with the ETag (and checksum) given, and
// each but the last at least 5 MiB.
func (u *multipartUpload) chosenParts(listed []completedPart) ([]*uploadPart, *s3Error) {
	uploadID := detail("UploadId", u.ID)
	parts := make([]*uploadPart, len(listed))
	for i, cp := range listed {
		if i > 0 && cp.PartNumber <= listed[i-1].PartNumber {
			return nil, &s3Error{status: http.StatusBadRequest, code: "InvalidPartOrder",
				message: "The list of parts was not in ascending order. The parts list must be specified in order by part number.",
				details: []errorDetail{uploadID}}
		}
		p := u.Parts[cp.PartNumber]
		invalid := &s3Error{status: http.StatusBadRequest, code: "InvalidPart",
			message: "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
			details: []errorDetail{uploadID, detail("PartNumber", strconv.Itoa(cp.PartNumber)), detail("ETag", cp.ETag)}}
		if p == nil || !sameETag(cp.ETag, p.ETag) {
			return nil, invalid
		}
		if u.ChecksumAlgorithm != "" {
			given := cp.value(u.ChecksumAlgorithm)
			if given == "" {
				return nil, &s3Error{status: http.StatusBadRequest, code: "InvalidRequest", message: "The upload was created using a " +
					u.ChecksumAlgorithm + " checksum. The complete request must include the checksum for each part. It was missing for part " +
					strconv.Itoa(cp.PartNumber) + " in the request."}
			}
			if given != p.Checksum {
				return nil, invalid
			}
		}
		parts[i] = p
	}
	for i, p := range parts[:len(parts)-1] {
		if p.Size < minPartSize {
			return nil, &s3Error{status: http.StatusBadRequest, code: "EntityTooSmall",
				message: "Your proposed upload is smaller than the minimum allowed size",
				details: []errorDetail{detail("ProposedSize", strconv.FormatInt(p.Size, 10)), detail("MinSizeAllowed", strconv.Itoa(minPartSize)),
					detail("PartNumber", strconv.Itoa(listed[i].PartNumber)), detail("ETag", p.ETag)}}
		}
	}
	return parts, nil
}

// assemble makes the object the parts form. Its ETag is S3's for an
// upload in parts: the MD5 of the parts' binary MD5s, then the number of
// parts. A composite checksum is built the same way from the part
// checksums; a full-object one is the whole body's.
func (u *multipartUpload) assemble(parts []*uploadPart, now time.Time) (*objectVersion, *s3Error) {
	var size int64
	for _, p := range parts {
		size += p.Size
	}
	body := make([]byte, 0, size)
	md5s := md5.New()
	var sums hash.Hash
	if u.ChecksumType == checksumComposite {
		sums = checksumAlgorithms[u.ChecksumAlgorithm]()
	}
	for _, p := range parts {
		body = append(body, p.Body...)
		raw, err := hex.DecodeString(strings.Trim(p.ETag, `"`))
		if err != nil {
			return nil, errInternal()
		}
		md5s.Write(raw)
		if sums != nil {
			raw, err := base64.StdEncoding.DecodeString(p.Checksum)
			if err != nil {
				return nil, errInternal()
			}
			sums.Write(raw)
		}
	}
	suffix := "-" + strconv.Itoa(len(parts))
	v := newObjectVersion(body, u.ContentType, now, u.Owner, u.SSE)
	v.ETag = `"` + hex.EncodeToString(md5s.Sum(nil)) + suffix + `"`
	for _, p := range parts {
		v.PartSizes = append(v.PartSizes, p.Size)
	}
	v.Headers = maps.Clone(u.Headers)
	switch u.ChecksumType {
	case checksumComposite:
		v.ChecksumAlgorithm, v.ChecksumType = u.ChecksumAlgorithm, checksumComposite
		v.Checksum = base64.StdEncoding.EncodeToString(sums.Sum(nil)) + suffix
	case checksumFullObject:
		v.ChecksumAlgorithm, v.Checksum = u.ChecksumAlgorithm, checksumOf(u.ChecksumAlgorithm, body)
	}
	return v, nil
}

func (s *Service) abortMultipartUpload(w http.ResponseWriter, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
	u, serr := uploadOf(r, b)
	if serr != nil {
		return nil, serr
	}
	b.setUpload(u.ID, nil)
	writeS3Empty(w, http.StatusNoContent)
	return nil, nil
}

// initiator is who started an upload: an IAM identity's ARN and name.
type initiator struct {
	ID          string
	DisplayName string
}

func initiatorOf(arn string) initiator {
	return initiator{ID: arn, DisplayName: arn[strings.LastIndexByte(arn, '/')+1:]}
}

// listLimit reads a listing's max-parts or max-uploads: at most 1000.
func listLimit(q url.Values, name string) (int, *s3Error) {
	v := q.Get(name)
	if v == "" {
		return maxListed, nil
	}
	n, ok := decimal(v)
	if !ok || n > 2147483647 {
		return 0, errInvalidArgument("Provided %s not an integer or within integer range", name)
	}
	return int(min(n, maxListed)), nil
}

func (s *Service) listParts(w http.ResponseWriter, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
	u, serr := uploadOf(r, b)
	if serr != nil {
		return nil, serr
	}
	q := r.URL.Query()
	limit, serr := listLimit(q, "max-parts")
	if serr != nil {
		return nil, serr
	}
	marker := 0
	if v := q.Get("part-number-marker"); v != "" {
		n, ok := decimal(v)
		if !ok || n > 2147483647 {
			return nil, errInvalidArgument("Provided part-number-marker not an integer or within integer range")
		}
		marker = int(n)
	}
	type listedPart struct {
		PartNumber   int
		LastModified string
		ETag         string
		Size         int64
		checksumElements
	}
	out := struct {
		Bucket               string
		Key                  string
		UploadID             string `xml:"UploadId"`
		PartNumberMarker     int
		NextPartNumberMarker int
		MaxParts             int
		IsTruncated          bool
		Parts                []listedPart `xml:"Part"`
		Initiator            initiator
		Owner                owner
		StorageClass         string
		ChecksumAlgorithm    string `xml:",omitempty"`
		ChecksumType         string `xml:",omitempty"`
	}{Bucket: b.Name, Key: u.Key, UploadID: u.ID, PartNumberMarker: marker, MaxParts: limit,
		Initiator: initiatorOf(u.Initiator), Owner: owner{ID: canonicalUserID(u.Owner)}, StorageClass: "STANDARD",
		ChecksumAlgorithm: strings.ToUpper(u.ChecksumAlgorithm), ChecksumType: u.ChecksumType}
	for _, n := range slices.Sorted(maps.Keys(u.Parts)) {
		if n <= marker {
			continue
		}
		if len(out.Parts) == limit {
			out.IsTruncated = true
			break
		}
		p := u.Parts[n]
		out.Parts = append(out.Parts, listedPart{PartNumber: n, LastModified: p.LastModified.Format(s3TimeFormat), ETag: p.ETag, Size: p.Size,
			checksumElements: checksumElementsOf(u.ChecksumAlgorithm, p.Checksum)})
		out.NextPartNumberMarker = n
	}
	writeS3XML(w, "ListPartsResult", out)
	return nil, nil
}

func (s *Service) listMultipartUploads(w http.ResponseWriter, r *http.Request, req *request, b *bucket) (map[string]any, *s3Error) {
	q := r.URL.Query()
	p, serr := parseListParams(q)
	if serr != nil {
		return nil, serr
	}
	limit, serr := listLimit(q, "max-uploads")
	if serr != nil {
		return nil, serr
	}
	keyMarker, idMarker := q.Get("key-marker"), q.Get("upload-id-marker")
	// Uploads come by key, then in the order they were started.
	uploads := slices.SortedFunc(maps.Values(b.Uploads), func(x, y *multipartUpload) int {
		if c := strings.Compare(x.Key, y.Key); c != 0 {
			return c
		}
		if c := x.Initiated.Compare(y.Initiated); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	type listedUpload struct {
		Key               string
		UploadID          string `xml:"UploadId"`
		Initiator         initiator
		Owner             owner
		StorageClass      string
		Initiated         string
		ChecksumAlgorithm string `xml:",omitempty"`
		ChecksumType      string `xml:",omitempty"`
	}
	var listed []listedUpload
	var prefixes []commonPrefix
	var nextKey, nextID string
	truncated := false
	for _, u := range uploads {
		// Past the markers: an upload of the key marker only with an id
		// after the upload id marker, and never a common prefix an
		// earlier page ended on.
		if !strings.HasPrefix(u.Key, p.prefix) || u.Key < keyMarker || u.Key == keyMarker && (idMarker == "" || u.ID <= idMarker) {
			continue
		}
		cp, rolled := p.rollUp(u.Key)
		if rolled && (cp == keyMarker || len(prefixes) > 0 && prefixes[len(prefixes)-1].Prefix == p.enc(cp)) {
			continue
		}
		if len(listed)+len(prefixes) == limit {
			truncated = true
			break
		}
		if rolled {
			prefixes = append(prefixes, commonPrefix{Prefix: p.enc(cp)})
			nextKey, nextID = cp, ""
			continue
		}
		listed = append(listed, listedUpload{Key: p.enc(u.Key), UploadID: u.ID, Initiator: initiatorOf(u.Initiator),
			Owner: owner{ID: canonicalUserID(u.Owner)}, StorageClass: "STANDARD", Initiated: u.Initiated.Format(s3TimeFormat),
			ChecksumAlgorithm: strings.ToUpper(u.ChecksumAlgorithm), ChecksumType: u.ChecksumType})
		nextKey, nextID = u.Key, u.ID
	}
	out := struct {
		Bucket             string
		KeyMarker          string
		UploadIDMarker     string `xml:"UploadIdMarker"`
		NextKeyMarker      string
		NextUploadIDMarker string `xml:"NextUploadIdMarker"`
		Prefix             string
		Delimiter          string `xml:",omitempty"`
		MaxUploads         int
		IsTruncated        bool
		Uploads            []listedUpload `xml:"Upload"`
		CommonPrefixes     []commonPrefix `xml:"CommonPrefixes"`
		EncodingType       string         `xml:",omitempty"`
	}{Bucket: b.Name, KeyMarker: p.enc(keyMarker), UploadIDMarker: idMarker, Prefix: p.enc(p.prefix), Delimiter: p.enc(p.delimiter),
		MaxUploads: limit, IsTruncated: truncated, Uploads: listed, CommonPrefixes: prefixes, EncodingType: q.Get("encoding-type")}
	if truncated {
		out.NextKeyMarker, out.NextUploadIDMarker = p.enc(nextKey), nextID
	}
	writeS3XML(w, "ListMultipartUploadsResult", out)
	return nil, nil
}
