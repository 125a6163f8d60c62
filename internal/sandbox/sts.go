package sandbox

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sigv4"
)

const stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

var (
	roleARNPattern     = regexp.MustCompile(`^arn:aws:iam::([0-9]{12}):role/(?:[\x21-\x7e]*/)?([\w+=,.@-]{1,64})$`)
	sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	externalIDPattern  = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
)

// Session duration bounds of AssumeRole; a session that assumes a further
// role (role chaining) is limited to an hour.
const (
	minSessionSeconds     = 900
	maxSessionSeconds     = 43200
	defaultSessionSeconds = 3600
	chainedSessionSeconds = 3600
)

func (s *Server) serveSTS(w http.ResponseWriter, r *http.Request, ri *requestInfo) {
	params := r.URL.Query()
	if form, err := url.ParseQuery(string(ri.Body)); err == nil {
		for k, v := range form {
			params[k] = v
		}
	}
	action := params.Get("Action")
	if v := params.Get("Version"); v != "2011-06-15" {
		writeSTSError(w, http.StatusBadRequest, "InvalidAction", fmt.Sprintf("Could not find operation %s for version %s", action, v))
		return
	}
	switch action {
	case "GetCallerIdentity":
		if s.injectFault(w, ri, action) {
			return
		}
		s.getCallerIdentity(w, ri)
	case "AssumeRole":
		if s.injectFault(w, ri, action) {
			return
		}
		s.assumeRole(w, ri, params)
	default:
		writeSTSError(w, http.StatusBadRequest, "InvalidAction", fmt.Sprintf("Could not find operation %s for version 2011-06-15", action))
	}
}

type stsMetadata struct {
	RequestID string `xml:"RequestId"`
}

func (s *Server) getCallerIdentity(w http.ResponseWriter, ri *requestInfo) {
	type result struct {
		Arn     string
		UserId  string
		Account string
	}
	writeSTS(w, struct {
		XMLName  xml.Name `xml:"GetCallerIdentityResponse"`
		Xmlns    string   `xml:"xmlns,attr"`
		Result   result   `xml:"GetCallerIdentityResult"`
		Metadata stsMetadata
	}{
		Xmlns:    stsNamespace,
		Result:   result{Arn: ri.ARN, UserId: userID(ri.ARN, ri.Account), Account: ri.Account},
		Metadata: stsMetadata{RequestID: randomUUID()},
	})
}

// userID is GetCallerIdentity's UserId: the IAM user's unique id, or the
// role's unique id and the session name for an assumed role.
func userID(arn, account string) string {
	if role, sessionName, ok := assumedRoleParts(arn); ok {
		return principalID("AROA", "arn:aws:iam::"+account+":role/"+role) + ":" + sessionName
	}
	return principalID("AIDA", arn)
}

// assumedRoleParts splits arn:aws:sts::<acct>:assumed-role/<role>/<session>.
func assumedRoleParts(arn string) (role, sessionName string, ok bool) {
	_, rest, found := strings.Cut(arn, ":assumed-role/")
	if !found {
		return "", "", false
	}
	return strings.Cut(rest, "/")
}

func (s *Server) assumeRole(w http.ResponseWriter, ri *requestInfo, params url.Values) {
	roleARN := params.Get("RoleArn")
	sessionName := params.Get("RoleSessionName")
	var problems []string
	m := roleARNPattern.FindStringSubmatch(roleARN)
	if m == nil {
		problems = append(problems, fmt.Sprintf("Value '%s' at 'roleArn' failed to satisfy constraint: Member must be a role ARN (arn:aws:iam::<account>:role/<name>)", roleARN))
	}
	if !sessionNamePattern.MatchString(sessionName) {
		problems = append(problems, fmt.Sprintf("Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64 and satisfy regular expression pattern: [\\w+=,.@-]*", sessionName))
	}
	if ext := params.Get("ExternalId"); ext != "" && (len(ext) < 2 || len(ext) > 1224 || !externalIDPattern.MatchString(ext)) {
		problems = append(problems, fmt.Sprintf("Value '%s' at 'externalId' failed to satisfy constraint: Member must have length between 2 and 1224 and satisfy regular expression pattern: [\\w+=,.@:\\/-]*", ext))
	}
	duration := defaultSessionSeconds
	if d := params.Get("DurationSeconds"); d != "" {
		n, err := strconv.Atoi(d)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must be an integer", d))
		case n < minSessionSeconds:
			problems = append(problems, fmt.Sprintf("Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to %d", n, minSessionSeconds))
		case n > maxSessionSeconds:
			problems = append(problems, fmt.Sprintf("Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to %d", n, maxSessionSeconds))
		default:
			duration = n
		}
	}
	if len(problems) > 0 {
		noun := "error"
		if len(problems) > 1 {
			noun = "errors"
		}
		writeSTSError(w, http.StatusBadRequest, "ValidationError", fmt.Sprintf("%d validation %s detected: %s", len(problems), noun, strings.Join(problems, "; ")))
		return
	}
	if _, _, chained := assumedRoleParts(ri.ARN); chained && duration > chainedSessionSeconds {
		writeSTSError(w, http.StatusBadRequest, "ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
		return
	}
	account, roleName := m[1], m[2]
	now := s.now().UTC()
	sess := &session{
		AccessKey: "ASIA" + randomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
		Principal: sigv4.Principal{
			Account: account,
			ARN:     "arn:aws:sts::" + account + ":assumed-role/" + roleName + "/" + sessionName,
			Secret:  randomBase64(30),
			Token:   "IQoJb3JpZ2luX2VjE" + randomBase64(300),
			Expires: now.Add(time.Duration(duration) * time.Second).Truncate(time.Second),
		},
	}
	roleID := principalID("AROA", "arn:aws:iam::"+account+":role/"+roleName)

	s.mu.Lock()
	defer s.mu.Unlock()
	var changes []any
	for k, old := range s.sessions {
		if now.After(old.Expires) {
			delete(s.sessions, k)
			changes = append(changes, stsChange{Expired: k})
		}
	}
	s.sessions[sess.AccessKey] = sess
	changes = append(changes, stsChange{Session: sess})
	s.recordCallLocked(ri, call{
		Source:   "sts.amazonaws.com",
		Name:     "AssumeRole",
		ReadOnly: true,
		RequestParameters: map[string]any{
			"roleArn": roleARN, "roleSessionName": sessionName, "durationSeconds": duration,
		},
		ResponseElements: map[string]any{
			"credentials": map[string]any{
				"accessKeyId": sess.AccessKey,
				"expiration":  sess.Expires.Format("Jan 2, 2006, 3:04:05 PM"),
			},
			"assumedRoleUser": map[string]any{"assumedRoleId": roleID + ":" + sessionName, "arn": sess.ARN},
		},
		Resources: []recordResource{{ARN: roleARN, AccountID: account, Type: "AWS::IAM::Role"}},
	})
	if err := errors.Join(s.stsJournal.Write(s.stsSnapshotLocked, changes...), s.flushCloudTrailLocked()); err != nil {
		writeSTSError(w, http.StatusInternalServerError, "InternalFailure", err.Error())
		return
	}

	type credentials struct {
		AccessKeyId     string
		SecretAccessKey string
		SessionToken    string
		Expiration      string
	}
	type assumedRoleUser struct {
		AssumedRoleId string
		Arn           string
	}
	type result struct {
		Credentials     credentials
		AssumedRoleUser assumedRoleUser
	}
	writeSTS(w, struct {
		XMLName  xml.Name `xml:"AssumeRoleResponse"`
		Xmlns    string   `xml:"xmlns,attr"`
		Result   result   `xml:"AssumeRoleResult"`
		Metadata stsMetadata
	}{
		Xmlns: stsNamespace,
		Result: result{
			Credentials: credentials{
				AccessKeyId:     sess.AccessKey,
				SecretAccessKey: sess.Secret,
				SessionToken:    sess.Token,
				Expiration:      sess.Expires.Format(time.RFC3339),
			},
			AssumedRoleUser: assumedRoleUser{AssumedRoleId: roleID + ":" + sessionName, Arn: sess.ARN},
		},
		Metadata: stsMetadata{RequestID: randomUUID()},
	})
}

// stsChange is one change to STS's state as its journal keeps it.
type stsChange struct {
	Session *session `json:",omitempty"`
	// Expired is the access key of a session removed once it expired.
	Expired string `json:",omitempty"`
}

// stsSnapshotLocked is STS's whole state. s.mu is held.
func (s *Server) stsSnapshotLocked() any { return s.sessions }

// restoreSTS rebuilds the sessions from a snapshot and the changes since.
func (s *Server) restoreSTS(snapshot json.RawMessage, changes []json.RawMessage) error {
	if len(snapshot) > 0 {
		if err := json.Unmarshal(snapshot, &s.sessions); err != nil {
			return fmt.Errorf("parsing the snapshot: %w", err)
		}
		if s.sessions == nil {
			s.sessions = map[string]*session{}
		}
	}
	for i, raw := range changes {
		var c stsChange
		if err := json.Unmarshal(raw, &c); err != nil {
			return fmt.Errorf("change %d: %w", i, err)
		}
		if c.Session != nil {
			s.sessions[c.Session.AccessKey] = c.Session
		} else {
			delete(s.sessions, c.Expired)
		}
	}
	return nil
}

func writeSTS(w http.ResponseWriter, v any) {
	body, err := xml.Marshal(v)
	if err != nil {
		// The response types are fixed structs of strings.
		panic(fmt.Sprintf("encoding STS response: %v", err))
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", randomUUID())
	// A write fails only once the client has gone; there is no one left to
	// answer.
	_, _ = w.Write(append([]byte(xml.Header), body...))
}

// writeSTSError answers in the query protocol's ErrorResponse shape.
func writeSTSError(w http.ResponseWriter, status int, code, message string) {
	type stsError struct {
		Type    string
		Code    string
		Message string
	}
	errType := "Sender"
	if status >= 500 {
		errType = "Receiver"
	}
	reqID := randomUUID()
	body, err := xml.Marshal(struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		Xmlns     string   `xml:"xmlns,attr"`
		Error     stsError
		RequestID string `xml:"RequestId"`
	}{Xmlns: stsNamespace, Error: stsError{Type: errType, Code: code, Message: message}, RequestID: reqID})
	if err != nil {
		panic(fmt.Sprintf("encoding STS error: %v", err))
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", reqID)
	w.WriteHeader(status)
	// As in writeSTS, a failed write has no one left to answer.
	_, _ = w.Write(append([]byte(xml.Header), body...))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return b
}

func randomBase64(n int) string { return base64.StdEncoding.EncodeToString(randomBytes(n)) }

func randomString(n int, alphabet string) string {
	b := randomBytes(n)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
