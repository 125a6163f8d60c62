package sts

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

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

func (s *Service) assumeRole(w http.ResponseWriter, c awsapi.Caller, p url.Values) {
	roleARN := p.Get("RoleArn")
	sessionName := p.Get("RoleSessionName")
	var problems []string
	m := roleARNPattern.FindStringSubmatch(roleARN)
	if m == nil {
		problems = append(problems, fmt.Sprintf("Value '%s' at 'roleArn' failed to satisfy constraint: Member must be a role ARN (arn:aws:iam::<account>:role/<name>)", roleARN))
	}
	if !sessionNamePattern.MatchString(sessionName) {
		problems = append(problems, fmt.Sprintf("Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64 and satisfy regular expression pattern: [\\w+=,.@-]*", sessionName))
	}
	if ext := p.Get("ExternalId"); ext != "" && (len(ext) < 2 || len(ext) > 1224 || !externalIDPattern.MatchString(ext)) {
		problems = append(problems, fmt.Sprintf("Value '%s' at 'externalId' failed to satisfy constraint: Member must have length between 2 and 1224 and satisfy regular expression pattern: [\\w+=,.@:\\/-]*", ext))
	}
	duration := defaultSessionSeconds
	if d := p.Get("DurationSeconds"); d != "" {
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
		writeError(w, http.StatusBadRequest, "ValidationError", fmt.Sprintf("%d validation %s detected: %s", len(problems), noun, strings.Join(problems, "; ")))
		return
	}
	if _, _, chained := assumedRoleParts(c.ARN); chained && duration > chainedSessionSeconds {
		writeError(w, http.StatusBadRequest, "ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
		return
	}
	account, roleName := m[1], m[2]
	now := s.cfg.Now().UTC()
	sess := &Session{
		AccessKey: "ASIA" + awsapi.RandomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
		Account:   account,
		ARN:       "arn:aws:sts::" + account + ":assumed-role/" + roleName + "/" + sessionName,
		Secret:    base64.StdEncoding.EncodeToString(awsapi.RandomBytes(30)),
		Token:     "IQoJb3JpZ2luX2VjE" + base64.StdEncoding.EncodeToString(awsapi.RandomBytes(300)),
		Expires:   now.Add(time.Duration(duration) * time.Second).Truncate(time.Second),
	}
	roleID := awsapi.UniqueID("AROA", "arn:aws:iam::"+account+":role/"+roleName)
	err := s.addSession(sess, now)
	err = errors.Join(err, s.cfg.Recorder.RecordCall(c, awsapi.Call{
		Source:   source,
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
		Resources: []awsapi.Resource{{ARN: roleARN, AccountID: account, Type: "AWS::IAM::Role"}},
	}))
	if err != nil {
		writeError(w, http.StatusInternalServerError, "InternalFailure", err.Error())
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
	writeResponse(w, struct {
		XMLName  xml.Name `xml:"AssumeRoleResponse"`
		Xmlns    string   `xml:"xmlns,attr"`
		Result   result   `xml:"AssumeRoleResult"`
		Metadata metadata
	}{
		Xmlns: namespace,
		Result: result{
			Credentials: credentials{
				AccessKeyId:     sess.AccessKey,
				SecretAccessKey: sess.Secret,
				SessionToken:    sess.Token,
				Expiration:      sess.Expires.Format(time.RFC3339),
			},
			AssumedRoleUser: assumedRoleUser{AssumedRoleId: roleID + ":" + sessionName, Arn: sess.ARN},
		},
		Metadata: metadata{RequestID: awsapi.NewUUID()},
	})
}
