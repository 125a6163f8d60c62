package sigv4

// Kind is why a request was rejected.
type Kind int

// The kinds of rejection; each protocol words them its own way (Wording).
const (
	Missing Kind = iota
	Malformed
	// MalformedQuery is a malformed presigned URL.
	MalformedQuery
	UnknownKey
	BadSignature
	ExpiredToken
	InvalidToken
	ClockSkew
	PresignExpired
	ContentSHA256
	BadChunk
	TooLarge
)

// Error is a rejected request.
type Error struct {
	Kind Kind
	// Status overrides the protocol's status when set.
	Status int
	// Detail overrides the protocol's message when set.
	Detail string
}

// Reply is the status, error code and message a service answers.
type Reply struct {
	Status  int
	Code    string
	Message string
}

// Wording is how one protocol words each kind of rejection.
type Wording map[Kind]Reply

// Reply is how w words e.
func (w Wording) Reply(e *Error) Reply {
	r := w[e.Kind]
	if e.Status != 0 {
		r.Status = e.Status
	}
	if e.Detail != "" {
		r.Message = e.Detail
	}
	return r
}

const mismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

// JSON is the wording of the JSON 1.1 services (CloudTrail, Athena).
var JSON = Wording{
	Missing:        {400, "MissingAuthenticationTokenException", "Missing Authentication Token"},
	Malformed:      {400, "IncompleteSignatureException", "The request signature is incomplete."},
	MalformedQuery: {400, "IncompleteSignatureException", "The request signature is incomplete."},
	UnknownKey:     {400, "UnrecognizedClientException", "The security token included in the request is invalid."},
	BadSignature:   {400, "InvalidSignatureException", mismatch},
	ExpiredToken:   {400, "ExpiredTokenException", "The security token included in the request is expired"},
	InvalidToken:   {400, "UnrecognizedClientException", "The security token included in the request is invalid."},
	ClockSkew:      {400, "InvalidSignatureException", "Signature expired"},
	PresignExpired: {400, "InvalidSignatureException", "Signature expired"},
	ContentSHA256:  {400, "InvalidSignatureException", mismatch},
	BadChunk:       {400, "SerializationException", "Malformed request body"},
	TooLarge:       {413, "RequestEntityTooLarge", "Request body too large"},
}

// Query is the wording of the query-protocol services (STS).
var Query = Wording{
	Missing:        {403, "MissingAuthenticationToken", "Request is missing Authentication Token"},
	Malformed:      {400, "IncompleteSignature", "The request signature is incomplete."},
	MalformedQuery: {400, "IncompleteSignature", "The request signature is incomplete."},
	UnknownKey:     {403, "InvalidClientTokenId", "The security token included in the request is invalid."},
	BadSignature:   {403, "SignatureDoesNotMatch", mismatch},
	ExpiredToken:   {403, "ExpiredToken", "The security token included in the request is expired"},
	InvalidToken:   {403, "InvalidClientTokenId", "The security token included in the request is invalid."},
	ClockSkew:      {403, "SignatureDoesNotMatch", "Signature expired"},
	PresignExpired: {403, "SignatureDoesNotMatch", "Signature expired"},
	ContentSHA256:  {403, "SignatureDoesNotMatch", mismatch},
	BadChunk:       {400, "MalformedInput", "Malformed request body"},
	TooLarge:       {413, "RequestEntityTooLarge", "Request body too large"},
}

// S3 is S3's wording.
var S3 = Wording{
	Missing:        {403, "AccessDenied", "Access Denied"},
	Malformed:      {400, "AuthorizationHeaderMalformed", "The authorization header is malformed."},
	MalformedQuery: {400, "AuthorizationQueryParametersError", "The authorization query parameters are malformed."},
	UnknownKey:     {403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."},
	BadSignature:   {403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method."},
	ExpiredToken:   {400, "ExpiredToken", "The provided token has expired."},
	InvalidToken:   {400, "InvalidToken", "The provided token is malformed or otherwise invalid."},
	ClockSkew:      {403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."},
	PresignExpired: {403, "AccessDenied", "Request has expired"},
	ContentSHA256:  {400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed."},
	BadChunk:       {400, "IncompleteBody", "The request body terminated unexpectedly"},
	TooLarge:       {400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"},
}
