package sts

import (
	"encoding/xml"
	"net/http"
	"strings"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

func (s *Service) getCallerIdentity(w http.ResponseWriter, c awsapi.Caller) {
	type result struct {
		Arn     string
		UserId  string
		Account string
	}
	writeResponse(w, struct {
		XMLName  xml.Name `xml:"GetCallerIdentityResponse"`
		Xmlns    string   `xml:"xmlns,attr"`
		Result   result   `xml:"GetCallerIdentityResult"`
		Metadata metadata
	}{
		Xmlns:    namespace,
		Result:   result{Arn: c.ARN, UserId: userID(c.ARN, c.Account), Account: c.Account},
		Metadata: metadata{RequestID: awsapi.NewUUID()},
	})
}

// userID is GetCallerIdentity's UserId: the IAM user's unique id, or the
// role's unique id and the session name for an assumed role.
func userID(arn, account string) string {
	if role, sessionName, ok := assumedRoleParts(arn); ok {
		return awsapi.UniqueID("AROA", "arn:aws:iam::"+account+":role/"+role) + ":" + sessionName
	}
	return awsapi.UniqueID("AIDA", arn)
}

// assumedRoleParts splits arn:aws:sts::<acct>:assumed-role/<role>/<session>.
func assumedRoleParts(arn string) (role, sessionName string, ok bool) {
	_, rest, found := strings.Cut(arn, ":assumed-role/")
	if !found {
		return "", "", false
	}
	return strings.Cut(rest, "/")
}
