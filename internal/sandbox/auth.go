package sandbox

import (
	"net/http"
	"regexp"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sigv4"
)

var (
	accountPattern = regexp.MustCompile(`^[0-9]{12}$`)
	sha256Hex      = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// sandboxUser is the IAM user the configured long-term key pair belongs to.
const sandboxUser = "sandbox"

// keys are the access keys the sandbox accepts: the configured key pair
// and the temporary credentials AssumeRole issued.
type keys struct{ s *Server }

func (k keys) Principal(accessKey string) (sigv4.Principal, bool) {
	s := k.s
	if accessKey == s.opts.AccessKey {
		return sigv4.Principal{
			Account: s.opts.Account,
			ARN:     "arn:aws:iam::" + s.opts.Account + ":user/" + sandboxUser,
			Secret:  s.opts.SecretKey,
		}, true
	}
	sess, ok := s.sts.Session(accessKey)
	if !ok {
		return sigv4.Principal{}, false
	}
	return sigv4.Principal{Account: sess.Account, ARN: sess.ARN, Secret: sess.Secret, Token: sess.Token, Expires: sess.Expires}, true
}

// authenticate verifies the request's signature and returns who sent it,
// and the body with any aws-chunked framing removed.
func (s *Server) authenticate(r *http.Request, body []byte, service string) (*requestInfo, []byte, *sigv4.Error) {
	signed, body, verr := s.verifier.Verify(r, body, service)
	if verr != nil {
		return nil, nil, verr
	}
	return &requestInfo{
		Caller:  awsapi.Caller{Region: signed.Region, Account: signed.Account, AccessKey: signed.AccessKey, ARN: signed.ARN},
		Service: service,
	}, body, nil
}

// authWording is how each service words a rejected request.
var authWording = map[string]sigv4.Wording{
	serviceCloudTrail: sigv4.JSON,
	serviceSTS:        sigv4.Query,
	serviceS3:         sigv4.S3,
}

func (s *Server) writeAuthError(w http.ResponseWriter, r *http.Request, service string, e *sigv4.Error) {
	reply := authWording[service].Reply(e)
	switch service {
	case serviceCloudTrail:
		awsapi.WriteJSONError(w, reply.Status, reply.Code, reply.Message)
	case serviceSTS:
		s.sts.WriteError(w, r, reply.Status, reply.Code, reply.Message)
	default:
		writeS3Error(w, r, reply.Status, reply.Code, reply.Message)
	}
}
