// Package sigv4 verifies AWS Signature Version 4 on the sandbox's requests:
// the Authorization header, presigned URLs and aws-chunked bodies, and
// words a rejection as each protocol does.
//
// It is written by hand: the SDK's signer chooses for itself which headers
// to sign, while a verifier must rebuild the canonical request from exactly
// the headers the client listed in SignedHeaders (botocore and the Go SDK
// list different ones). The tests use the SDK's signer to make the
// requests this code checks.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	algorithm        = "AWS4-HMAC-SHA256"
	amzDateFormat    = "20060102T150405Z"
	scopeDateFormat  = "20060102"
	maxClockSkew     = 15 * time.Minute
	maxPresignExpiry = 7 * 24 * time.Hour

	unsignedPayload        = "UNSIGNED-PAYLOAD"
	streamingSigned        = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"

	// s3Service is the one service whose canonical URI is encoded once.
	s3Service = "s3"
)

var (
	sha256Hex   = regexp.MustCompile(`^[0-9a-f]{64}$`)
	emptySHA256 = hashHex(nil)
)

// Principal is who an access key belongs to, and what its signature must
// be checked against.
type Principal struct {
	Account string
	ARN     string
	Secret  string
	// Token is the session token temporary credentials must present; ""
	// for a long-term key, which must present none.
	Token string
	// Expires is when temporary credentials stop working; zero for a
	// long-term key.
	Expires time.Time
}

// Keys finds the principal an access key belongs to.
type Keys interface {
	Principal(accessKey string) (Principal, bool)
}

// Verifier checks requests against the keys it knows.
type Verifier struct {
	Keys Keys
	// Now is the sandbox's clock, which temporary credentials expire by.
	// Signing times are checked against the wall clock instead: clients
	// sign with the real time even when a test pins the sandbox's clock.
	Now func() time.Time
}

// Signed is what a verified signature establishes.
type Signed struct {
	AccessKey string
	// Region is the credential scope's region.
	Region string
	Principal
}

// signature is a parsed signature, from the Authorization header or the
// query.
type signature struct {
	accessKey     string
	scopeDate     string
	region        string
	service       string
	signedHeaders []string
	value         string
	amzDate       time.Time
	token         string
	presigned     bool
	expires       time.Duration
}

func (sig *signature) scope() string {
	return strings.Join([]string{sig.scopeDate, sig.region, sig.service, "aws4_request"}, "/")
}

// Verify checks r's signature for service and returns who signed it, and
// the body with any aws-chunked framing removed. Trailing headers of an
// aws-chunked body (checksums) are added to r.Header, where they mean what
// the same headers would.
func (v *Verifier) Verify(r *http.Request, body []byte, service string) (Signed, []byte, *Error) {
	sig, verr := parseSignature(r, service)
	if verr != nil {
		return Signed{}, nil, verr
	}
	p, verr := v.principal(sig)
	if verr != nil {
		return Signed{}, nil, verr
	}
	wall := time.Now()
	if sig.presigned {
		if sig.amzDate.After(wall.Add(maxClockSkew)) {
			return Signed{}, nil, &Error{Kind: PresignExpired, Detail: "Request is not valid yet"}
		}
		if wall.After(sig.amzDate.Add(sig.expires)) {
			return Signed{}, nil, &Error{Kind: PresignExpired}
		}
	} else if d := wall.Sub(sig.amzDate); d > maxClockSkew || d < -maxClockSkew {
		return Signed{}, nil, &Error{Kind: ClockSkew, Detail: fmt.Sprintf(
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
		if hmac.Equal([]byte(sig.value), []byte(signString(key, sig, creq))) {
			matched, payloadHash = true, h
			break
		}
	}
	if !matched {
		return Signed{}, nil, &Error{Kind: BadSignature}
	}

	switch {
	case strings.HasPrefix(payloadHash, "STREAMING-"):
		decoded, trailers, verr := decodeAWSChunked(body, payloadHash, key, sig)
		if verr != nil {
			return Signed{}, nil, verr
		}
		if want := r.Header.Get("X-Amz-Decoded-Content-Length"); want != "" && want != strconv.Itoa(len(decoded)) {
			return Signed{}, nil, &Error{Kind: BadChunk, Detail: "The decoded content length does not match x-amz-decoded-content-length."}
		}
		for name, values := range trailers {
			r.Header[name] = values
		}
		body = decoded
	case sha256Hex.MatchString(payloadHash) && payloadHash != hashHex(body):
		return Signed{}, nil, &Error{Kind: ContentSHA256}
	}
	return Signed{AccessKey: sig.accessKey, Region: sig.region, Principal: p}, body, nil
}

// parseSignature reads the SigV4 fields from the Authorization header or,
// for presigned URLs, the query.
func parseSignature(r *http.Request, service string) (*signature, *Error) {
	sig := &signature{}
	malformed := func(detail string) *Error {
		if sig.presigned {
			return &Error{Kind: MalformedQuery, Detail: detail}
		}
		return &Error{Kind: Malformed, Detail: detail}
	}
	var credential, signedHeaders, date string
	q := r.URL.Query()
	switch auth := r.Header.Get("Authorization"); {
	case auth != "":
		rest, ok := strings.CutPrefix(auth, algorithm+" ")
		if !ok {
			return nil, malformed("The authorization mechanism you have provided is not supported. Please use " + algorithm + ".")
		}
		for _, part := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch k {
			case "Credential":
				credential = v
			case "SignedHeaders":
				signedHeaders = v
			case "Signature":
				sig.value = v
			}
		}
		date = r.Header.Get("X-Amz-Date")
		sig.token = r.Header.Get("X-Amz-Security-Token")
		if date == "" {
			t, err := http.ParseTime(r.Header.Get("Date"))
			if err != nil {
				return nil, malformed("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
			}
			date = t.UTC().Format(amzDateFormat)
		}
	case q.Get("X-Amz-Algorithm") != "":
		sig.presigned = true
		if q.Get("X-Amz-Algorithm") != algorithm {
			return nil, malformed("X-Amz-Algorithm only supports \"" + algorithm + "\"")
		}
		credential = q.Get("X-Amz-Credential")
		signedHeaders = q.Get("X-Amz-SignedHeaders")
		sig.value = q.Get("X-Amz-Signature")
		sig.token = q.Get("X-Amz-Security-Token")
		date = q.Get("X-Amz-Date")
		secs, err := strconv.Atoi(q.Get("X-Amz-Expires"))
		if err != nil || secs < 1 || time.Duration(secs)*time.Second > maxPresignExpiry {
			return nil, malformed("X-Amz-Expires must be a number of seconds between 1 and 604800")
		}
		sig.expires = time.Duration(secs) * time.Second
	default:
		return nil, &Error{Kind: Missing}
	}
	if credential == "" || signedHeaders == "" || sig.value == "" {
		return nil, malformed("Authorization must contain Credential, SignedHeaders and Signature.")
	}
	scope := strings.Split(credential, "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || scope[2] == "" {
		return nil, malformed(fmt.Sprintf("Credential %q must have the form <key>/<date>/<region>/<service>/aws4_request.", credential))
	}
	sig.accessKey, sig.scopeDate, sig.region, sig.service = scope[0], scope[1], scope[2], scope[3]
	if sig.service != service {
		return nil, &Error{Kind: BadSignature, Detail: fmt.Sprintf("Credential should be scoped to correct service: '%s'.", service)}
	}
	t, err := time.Parse(amzDateFormat, date)
	if err != nil {
		return nil, malformed(fmt.Sprintf("X-Amz-Date %q must be in the ISO8601 basic format yyyyMMdd'T'HHmmss'Z'.", date))
	}
	sig.amzDate = t
	if t.Format(scopeDateFormat) != sig.scopeDate {
		return nil, malformed(fmt.Sprintf("Credential date %s does not match X-Amz-Date %s.", sig.scopeDate, date))
	}
	sig.signedHeaders = strings.Split(strings.ToLower(signedHeaders), ";")
	if !sort.StringsAreSorted(sig.signedHeaders) || !slices.Contains(sig.signedHeaders, "host") {
		return nil, malformed("SignedHeaders must be sorted and include host.")
	}
	return sig, nil
}

// principal finds the access key and checks the session token that must
// accompany temporary credentials (and that a long-term key must not
// carry).
func (v *Verifier) principal(sig *signature) (Principal, *Error) {
	p, ok := v.Keys.Principal(sig.accessKey)
	if !ok {
		return Principal{}, &Error{Kind: UnknownKey}
	}
	if !hmac.Equal([]byte(sig.token), []byte(p.Token)) {
		return Principal{}, &Error{Kind: InvalidToken}
	}
	if !p.Expires.IsZero() && v.Now().After(p.Expires) {
		return Principal{}, &Error{Kind: ExpiredToken}
	}
	return p, nil
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

func signString(key []byte, sig *signature, canonicalRequest string) string {
	sts := strings.Join([]string{algorithm, sig.amzDate.Format(amzDateFormat), sig.scope(), hashHex([]byte(canonicalRequest))}, "\n")
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
	if service != s3Service {
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
