package sandbox

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SigV4 verification, written by hand: the SDK's signer chooses for itself
// which headers to sign, while a verifier must rebuild the canonical request
// from exactly the headers the client listed in SignedHeaders (botocore and
// the Go SDK list different ones). The SDK's signer is used by the tests to
// produce the requests this code checks.

const (
	sigAlgorithm     = "AWS4-HMAC-SHA256"
	amzDateFormat    = "20060102T150405Z"
	scopeDateFormat  = "20060102"
	maxClockSkew     = 15 * time.Minute
	maxPresignExpiry = 7 * 24 * time.Hour

	unsignedPayload        = "UNSIGNED-PAYLOAD"
	streamingUnsigned      = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	streamingSigned        = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
)

var (
	accountPattern = regexp.MustCompile(`^[0-9]{12}$`)
	sha256Hex      = regexp.MustCompile(`^[0-9a-f]{64}$`)
	emptySHA256    = hex.EncodeToString(sha256.New().Sum(nil))
)

// sandboxUser is the IAM user the configured long-term key pair belongs to.
const sandboxUser = "sandbox"

// principal is who a verified access key belongs to.
type principal struct {
	Account string
	ARN     string
	Secret  string
	// Token is the session token temporary credentials must present.
	Token   string
	Expires time.Time
}

// session is one set of temporary credentials issued by AssumeRole.
type session struct {
	AccessKey string
	principal
}

type authErrorKind int

const (
	errMissing authErrorKind = iota
	errMalformed
	errUnknownKey
	errBadSignature
	errExpiredToken
	errInvalidToken
	errClockSkew
	errPresignExpired
	errContentSHA256
	errBadChunk
	errTooLarge
)

// authError is a rejected request; each service words it its own way (see
// writeAuthError).
type authError struct {
	kind   authErrorKind
	status int    // overrides the service's status when set
	detail string // overrides the service's message when set
}

// sigV4 is a parsed signature, from the Authorization header or the query.
type sigV4 struct {
	accessKey     string
	scopeDate     string
	region        string
	service       string
	signedHeaders []string
	signature     string
	amzDate       time.Time
	token         string
	presigned     bool
	expires       time.Duration
}

func (v *sigV4) scope() string {
	return strings.Join([]string{v.scopeDate, v.region, v.service, "aws4_request"}, "/")
}

// authenticate verifies the request's signature and returns who sent it,
// and the body with any aws-chunked framing removed.
func (s *Server) authenticate(r *http.Request, body []byte, service string) (*requestInfo, []byte, *authError) {
	sig, aerr := parseSignature(r, service)
	if aerr != nil {
		return nil, nil, aerr
	}
	p, aerr := s.lookupPrincipal(sig)
	if aerr != nil {
		return nil, nil, aerr
	}
	// Clock checks use the wall clock, not Options.Now: clients sign with
	// the real time even when a test pins the sandbox's notion of now.
	wall := time.Now()
	if sig.presigned {
		if sig.amzDate.After(wall.Add(maxClockSkew)) {
			return nil, nil, &authError{kind: errPresignExpired, detail: "Request is not valid yet"}
		}
		if wall.After(sig.amzDate.Add(sig.expires)) {
			return nil, nil, &authError{kind: errPresignExpired}
		}
	} else if d := wall.Sub(sig.amzDate); d > maxClockSkew || d < -maxClockSkew {
		return nil, nil, &authError{kind: errClockSkew, detail: fmt.Sprintf(
			"Signature expired: %s is now earlier than %s (%s - 15 min.)",
			sig.amzDate.Format(amzDateFormat), wall.UTC().Add(-maxClockSkew).Format(amzDateFormat), wall.UTC().Format(amzDateFormat))}
	}

	key := signingKey(p.Secret, sig.scopeDate, sig.region, sig.service)
	canonicalURI := canonicalPath(r, service)
	query := canonicalQuery(r.URL.RawQuery, sig.presigned)
	headers := canonicalHeaders(r, sig.signedHeaders)
	matched := false
	var payloadHash string
	for _, h := range payloadHashes(r, body, sig.presigned) {
		creq := strings.Join([]string{r.Method, canonicalURI, query, headers, strings.Join(sig.signedHeaders, ";"), h}, "\n")
		if hmac.Equal([]byte(sig.signature), []byte(signString(key, sig, creq))) {
			matched, payloadHash = true, h
			break
		}
	}
	if !matched {
		return nil, nil, &authError{kind: errBadSignature}
	}

	switch {
	case strings.HasPrefix(payloadHash, "STREAMING-"):
		decoded, trailers, err := decodeAWSChunked(body, payloadHash, key, sig)
		if err != nil {
			return nil, nil, err
		}
		if want := r.Header.Get("X-Amz-Decoded-Content-Length"); want != "" && want != strconv.Itoa(len(decoded)) {
			return nil, nil, &authError{kind: errBadChunk, detail: "The decoded content length does not match x-amz-decoded-content-length."}
		}
		// Trailing checksums mean the same as checksum headers: the S3
		// handlers read them from there.
		for name, values := range trailers {
			r.Header[name] = values
		}
		body = decoded
	case sha256Hex.MatchString(payloadHash) && payloadHash != hashHex(body):
		return nil, nil, &authError{kind: errContentSHA256}
	}

	return &requestInfo{
		Region:    sig.region,
		Account:   p.Account,
		AccessKey: sig.accessKey,
		ARN:       p.ARN,
		Service:   service,
	}, body, nil
}

// parseSignature reads the SigV4 fields from the Authorization header or,
// for presigned URLs, the query.
func parseSignature(r *http.Request, service string) (*sigV4, *authError) {
	sig := &sigV4{}
	var credential, signedHeaders, date string
	q := r.URL.Query()
	switch auth := r.Header.Get("Authorization"); {
	case auth != "":
		rest, ok := strings.CutPrefix(auth, sigAlgorithm+" ")
		if !ok {
			return nil, &authError{kind: errMalformed, detail: "The authorization mechanism you have provided is not supported. Please use " + sigAlgorithm + "."}
		}
		for _, part := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch k {
			case "Credential":
				credential = v
			case "SignedHeaders":
				signedHeaders = v
			case "Signature":
				sig.signature = v
			}
		}
		date = r.Header.Get("X-Amz-Date")
		sig.token = r.Header.Get("X-Amz-Security-Token")
		if date == "" {
			t, err := http.ParseTime(r.Header.Get("Date"))
			if err != nil {
				return nil, &authError{kind: errMalformed, detail: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."}
			}
			date = t.UTC().Format(amzDateFormat)
		}
	case q.Get("X-Amz-Algorithm") != "":
		if q.Get("X-Amz-Algorithm") != sigAlgorithm {
			return nil, &authError{kind: errMalformed, detail: "X-Amz-Algorithm only supports \"" + sigAlgorithm + "\""}
		}
		sig.presigned = true
		credential = q.Get("X-Amz-Credential")
		signedHeaders = q.Get("X-Amz-SignedHeaders")
		sig.signature = q.Get("X-Amz-Signature")
		sig.token = q.Get("X-Amz-Security-Token")
		date = q.Get("X-Amz-Date")
		secs, err := strconv.Atoi(q.Get("X-Amz-Expires"))
		if err != nil || secs < 1 || time.Duration(secs)*time.Second > maxPresignExpiry {
			return nil, &authError{kind: errMalformed, detail: "X-Amz-Expires must be a number of seconds between 1 and 604800"}
		}
		sig.expires = time.Duration(secs) * time.Second
	default:
		return nil, &authError{kind: errMissing}
	}
	if credential == "" || signedHeaders == "" || sig.signature == "" {
		return nil, &authError{kind: errMalformed, detail: "Authorization must contain Credential, SignedHeaders and Signature."}
	}
	scope := strings.Split(credential, "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || scope[2] == "" {
		return nil, &authError{kind: errMalformed, detail: fmt.Sprintf("Credential %q must have the form <key>/<date>/<region>/<service>/aws4_request.", credential)}
	}
	sig.accessKey, sig.scopeDate, sig.region, sig.service = scope[0], scope[1], scope[2], scope[3]
	if sig.service != service {
		return nil, &authError{kind: errBadSignature, detail: fmt.Sprintf("Credential should be scoped to correct service: '%s'.", service)}
	}
	t, err := time.Parse(amzDateFormat, date)
	if err != nil {
		return nil, &authError{kind: errMalformed, detail: fmt.Sprintf("X-Amz-Date %q must be in the ISO8601 basic format yyyyMMdd'T'HHmmss'Z'.", date)}
	}
	sig.amzDate = t
	if t.Format(scopeDateFormat) != sig.scopeDate {
		return nil, &authError{kind: errMalformed, detail: fmt.Sprintf("Credential date %s does not match X-Amz-Date %s.", sig.scopeDate, date)}
	}
	sig.signedHeaders = strings.Split(strings.ToLower(signedHeaders), ";")
	if !sort.StringsAreSorted(sig.signedHeaders) || !slices.Contains(sig.signedHeaders, "host") {
		return nil, &authError{kind: errMalformed, detail: "SignedHeaders must be sorted and include host."}
	}
	return sig, nil
}

// lookupPrincipal finds the access key and checks the session token that
// must accompany temporary credentials.
func (s *Server) lookupPrincipal(sig *sigV4) (principal, *authError) {
	if sig.accessKey == s.opts.AccessKey {
		if sig.token != "" {
			return principal{}, &authError{kind: errInvalidToken}
		}
		return principal{
			Account: s.opts.Account,
			ARN:     "arn:aws:iam::" + s.opts.Account + ":user/" + sandboxUser,
			Secret:  s.opts.SecretKey,
		}, nil
	}
	s.mu.Lock()
	sess, ok := s.sessions[sig.accessKey]
	s.mu.Unlock()
	if !ok {
		return principal{}, &authError{kind: errUnknownKey}
	}
	if !hmac.Equal([]byte(sig.token), []byte(sess.Token)) {
		return principal{}, &authError{kind: errInvalidToken}
	}
	if s.now().After(sess.Expires) {
		return principal{}, &authError{kind: errExpiredToken}
	}
	return sess.principal, nil
}

func signingKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func signString(key []byte, sig *sigV4, canonicalRequest string) string {
	sts := strings.Join([]string{sigAlgorithm, sig.amzDate.Format(amzDateFormat), sig.scope(), hashHex([]byte(canonicalRequest))}, "\n")
	return hex.EncodeToString(hmacSHA256(key, sts))
}

// payloadHashes are the payload hashes the client may have signed. S3
// says which in x-amz-content-sha256; presigned URLs sign UNSIGNED-PAYLOAD
// (botocore) or the empty body's hash (the Go SDK, outside S3).
func payloadHashes(r *http.Request, body []byte, presigned bool) []string {
	if presigned {
		if h := r.URL.Query().Get("X-Amz-Content-Sha256"); h != "" {
			return []string{h}
		}
		return []string{unsignedPayload, hashHex(body)}
	}
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" {
		return []string{h}
	}
	return []string{hashHex(body)}
}

// awsEncode is SigV4's URI encoding: everything but unreserved characters
// is percent-encoded with upper-case hex. url.PathEscape and QueryEscape
// both leave other characters alone or write spaces as '+'.
func awsEncode(s string, keepSlash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && keepSlash:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// canonicalPath rebuilds the URI path as the client encoded it. Each
// segment is decoded and re-encoded, so clients that escape differently
// on the wire agree; S3 encodes once, the other services twice.
func canonicalPath(r *http.Request, service string) string {
	raw := r.URL.EscapedPath()
	if raw == "" {
		return "/"
	}
	segments := strings.Split(raw, "/")
	for i, seg := range segments {
		dec, err := url.PathUnescape(seg)
		if err != nil {
			dec = seg
		}
		segments[i] = awsEncode(dec, false)
	}
	p := strings.Join(segments, "/")
	if service != serviceS3 {
		p = awsEncode(p, true)
	}
	return p
}

// canonicalQuery sorts the encoded parameters; a presigned URL's signature
// is not part of what it signs.
func canonicalQuery(raw string, presigned bool) string {
	var pairs []string
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		dk, err := url.QueryUnescape(k)
		if err != nil {
			dk = k
		}
		if presigned && dk == "X-Amz-Signature" {
			continue
		}
		dv, err := url.QueryUnescape(v)
		if err != nil {
			dv = v
		}
		pairs = append(pairs, awsEncode(dk, false)+"="+awsEncode(dv, false))
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

// canonicalHeaders writes the signed headers. net/http moves Host,
// Content-Length and Transfer-Encoding out of r.Header, so those come from
// the request's own fields.
func canonicalHeaders(r *http.Request, signed []string) string {
	var b strings.Builder
	for _, name := range signed {
		var values []string
		switch name {
		case "host":
			values = []string{r.Host}
		case "content-length":
			values = append([]string(nil), r.Header.Values(name)...)
			if len(values) == 0 {
				values = []string{strconv.FormatInt(r.ContentLength, 10)}
			}
		case "transfer-encoding":
			values = append([]string(nil), r.TransferEncoding...)
		default:
			values = append([]string(nil), r.Header.Values(name)...)
		}
		for i, v := range values {
			values[i] = strings.Join(strings.Fields(v), " ")
		}
		b.WriteString(name + ":" + strings.Join(values, ",") + "\n")
	}
	return b.String()
}

// decodeAWSChunked removes aws-chunked framing, verifying chunk and trailer
// signatures when the payload is signed, and returns the trailing headers.
func decodeAWSChunked(body []byte, mode string, key []byte, sig *sigV4) ([]byte, http.Header, *authError) {
	bad := func(detail string) *authError { return &authError{kind: errBadChunk, detail: detail} }
	signed := mode == streamingSigned || mode == streamingSignedTrailer
	prev := sig.signature
	chunkSignature := func(data []byte) string {
		sts := strings.Join([]string{sigAlgorithm + "-PAYLOAD", sig.amzDate.Format(amzDateFormat), sig.scope(), prev, emptySHA256, hashHex(data)}, "\n")
		return hex.EncodeToString(hmacSHA256(key, sts))
	}
	br := bufio.NewReader(bytes.NewReader(body))
	var out bytes.Buffer
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, nil, bad("The aws-chunked body ended before its final chunk.")
		}
		sizeHex, ext, _ := strings.Cut(strings.TrimRight(line, "\r\n"), ";")
		size, err := strconv.ParseInt(sizeHex, 16, 64)
		if err != nil || size < 0 || size > int64(len(body)) {
			return nil, nil, bad(fmt.Sprintf("Invalid aws-chunked chunk size %q.", sizeHex))
		}
		data := make([]byte, size)
		if _, err := io.ReadFull(br, data); err != nil {
			return nil, nil, bad("An aws-chunked chunk is shorter than its declared size.")
		}
		if signed {
			got, _ := strings.CutPrefix(ext, "chunk-signature=")
			want := chunkSignature(data)
			if !hmac.Equal([]byte(got), []byte(want)) {
				return nil, nil, &authError{kind: errBadSignature, detail: "The chunk signature does not match."}
			}
			prev = want
		}
		if size == 0 {
			break
		}
		out.Write(data)
		if crlf, err := br.ReadString('\n'); err != nil || crlf != "\r\n" {
			return nil, nil, bad("An aws-chunked chunk is not followed by CRLF.")
		}
	}
	trailers := http.Header{}
	var canonicalTrailers strings.Builder
	var trailerSig string
	for {
		line, err := br.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, nil, bad(fmt.Sprintf("Malformed aws-chunked trailer %q.", line))
		}
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.TrimSpace(value)
		if name == "x-amz-trailer-signature" {
			trailerSig = value
		} else {
			trailers.Add(name, value)
			canonicalTrailers.WriteString(name + ":" + value + "\n")
		}
		if err != nil {
			break
		}
	}
	if mode == streamingSignedTrailer {
		sts := strings.Join([]string{sigAlgorithm + "-TRAILER", sig.amzDate.Format(amzDateFormat), sig.scope(), prev, hashHex([]byte(canonicalTrailers.String()))}, "\n")
		if !hmac.Equal([]byte(trailerSig), []byte(hex.EncodeToString(hmacSHA256(key, sts)))) {
			return nil, nil, &authError{kind: errBadSignature, detail: "The trailer signature does not match."}
		}
	}
	return out.Bytes(), trailers, nil
}

// serviceError is how one service words a rejected request.
type serviceError struct {
	status  int
	code    string
	message string
}

const sigMismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

var authErrors = map[string]map[authErrorKind]serviceError{
	serviceCloudTrail: {
		errMissing:        {400, "MissingAuthenticationTokenException", "Missing Authentication Token"},
		errMalformed:      {400, "IncompleteSignatureException", "The request signature is incomplete."},
		errUnknownKey:     {400, "UnrecognizedClientException", "The security token included in the request is invalid."},
		errBadSignature:   {400, "InvalidSignatureException", sigMismatch},
		errExpiredToken:   {400, "ExpiredTokenException", "The security token included in the request is expired"},
		errInvalidToken:   {400, "UnrecognizedClientException", "The security token included in the request is invalid."},
		errClockSkew:      {400, "InvalidSignatureException", "Signature expired"},
		errPresignExpired: {400, "InvalidSignatureException", "Signature expired"},
		errContentSHA256:  {400, "InvalidSignatureException", sigMismatch},
		errBadChunk:       {400, "SerializationException", "Malformed request body"},
		errTooLarge:       {413, "RequestEntityTooLarge", "Request body too large"},
	},
	serviceSTS: {
		errMissing:        {403, "MissingAuthenticationToken", "Request is missing Authentication Token"},
		errMalformed:      {400, "IncompleteSignature", "The request signature is incomplete."},
		errUnknownKey:     {403, "InvalidClientTokenId", "The security token included in the request is invalid."},
		errBadSignature:   {403, "SignatureDoesNotMatch", sigMismatch},
		errExpiredToken:   {403, "ExpiredToken", "The security token included in the request is expired"},
		errInvalidToken:   {403, "InvalidClientTokenId", "The security token included in the request is invalid."},
		errClockSkew:      {403, "SignatureDoesNotMatch", "Signature expired"},
		errPresignExpired: {403, "SignatureDoesNotMatch", "Signature expired"},
		errContentSHA256:  {403, "SignatureDoesNotMatch", sigMismatch},
		errBadChunk:       {400, "MalformedInput", "Malformed request body"},
		errTooLarge:       {413, "RequestEntityTooLarge", "Request body too large"},
	},
	serviceS3: {
		errMissing:        {403, "AccessDenied", "Access Denied"},
		errMalformed:      {400, "AuthorizationHeaderMalformed", "The authorization header is malformed."},
		errUnknownKey:     {403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."},
		errBadSignature:   {403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method."},
		errExpiredToken:   {400, "ExpiredToken", "The provided token has expired."},
		errInvalidToken:   {400, "InvalidToken", "The provided token is malformed or otherwise invalid."},
		errClockSkew:      {403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."},
		errPresignExpired: {403, "AccessDenied", "Request has expired"},
		errContentSHA256:  {400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed."},
		errBadChunk:       {400, "IncompleteBody", "The request body terminated unexpectedly"},
		errTooLarge:       {400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"},
	},
}

func (s *Server) writeAuthError(w http.ResponseWriter, r *http.Request, service string, e *authError) {
	se := authErrors[service][e.kind]
	if e.status != 0 {
		se.status = e.status
	}
	if e.detail != "" {
		se.message = e.detail
	}
	if service == serviceS3 && e.kind == errMalformed && r.URL.Query().Has("X-Amz-Algorithm") {
		se.code = "AuthorizationQueryParametersError"
	}
	switch service {
	case serviceCloudTrail:
		writeJSONError(w, se.status, se.code, se.message)
	case serviceSTS:
		writeSTSError(w, se.status, se.code, se.message)
	default:
		writeS3Error(w, r, se.status, se.code, se.message)
	}
}
