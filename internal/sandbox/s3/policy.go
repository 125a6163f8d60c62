package s3

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"regexp"
	"strings"
)

// maxBucketPolicyBytes is S3's bucket policy size limit (20 KB).
const maxBucketPolicyBytes = 20 * 1024

var (
	s3ActionPattern      = regexp.MustCompile(`^(?i:s3):[A-Za-z*?]+$`)
	awsPrincipalPattern  = regexp.MustCompile(`^(\*|[0-9]{12}|arn:aws:iam::[0-9]{12}:(root|(user|role|group)/[\x21-\x7e]+)|arn:aws:sts::[0-9]{12}:(assumed-role|federated-user)/[\x21-\x7e]+)$`)
	canonicalUserPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)
	servicePrincipal     = regexp.MustCompile(`^[a-z0-9.-]+\.amazonaws\.com(\.cn)?$`)
	conditionOperatorRe  = regexp.MustCompile(`^(ForAnyValue:|ForAllValues:)?(StringEquals|StringNotEquals|StringEqualsIgnoreCase|StringNotEqualsIgnoreCase|StringLike|StringNotLike|NumericEquals|NumericNotEquals|NumericLessThan|NumericLessThanEquals|NumericGreaterThan|NumericGreaterThanEquals|DateEquals|DateNotEquals|DateLessThan|DateLessThanEquals|DateGreaterThan|DateGreaterThanEquals|Bool|BinaryEquals|IpAddress|NotIpAddress|ArnEquals|ArnLike|ArnNotEquals|ArnNotLike|Null)(IfExists)?$`)
	policyTopLevelFields = map[string]bool{"Version": true, "Id": true, "Statement": true}
	statementFields      = map[string]bool{"Sid": true, "Effect": true, "Principal": true, "NotPrincipal": true, "Action": true, "NotAction": true, "Resource": true, "NotResource": true, "Condition": true}
	// restrictingConditionKeys are the keys that, fixed to a value, make a
	// statement with a wildcard principal not public in S3's Block Public
	// Access sense.
	restrictingConditionKeys = map[string]bool{
		"aws:sourcearn": true, "aws:sourceaccount": true, "aws:sourceowner": true, "aws:sourcevpc": true,
		"aws:sourcevpce": true, "aws:sourceip": true, "aws:principalorgid": true, "aws:principalaccount": true,
		"aws:principalarn": true, "aws:userid": true, "aws:principalorgpaths": true,
	}
)

func malformedPolicy(format string, args ...any) *s3Error {
	return &s3Error{status: http.StatusBadRequest, code: "MalformedPolicy", message: fmt.Sprintf(format, args...)}
}

// validateBucketPolicy checks a bucket policy as PutBucketPolicy does and
// reports whether it grants public access.
func validateBucketPolicy(doc []byte, bucketName string) (parsed map[string]any, public bool, serr *s3Error) {
	if len(doc) > maxBucketPolicyBytes {
		return nil, false, malformedPolicy("Policy exceeds the maximum allowed document size.")
	}
	trimmed := bytes.TrimSpace(doc)
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &parsed) != nil {
		return nil, false, malformedPolicy("Policies must be valid JSON and the first byte must be '{'")
	}
	for k := range parsed {
		if !policyTopLevelFields[k] {
			return nil, false, malformedPolicy("Unknown field %s", k)
		}
	}
	version, ok := parsed["Version"].(string)
	if !ok {
		return nil, false, malformedPolicy("Missing required field Version")
	}
	if version != "2012-10-17" && version != "2008-10-17" {
		return nil, false, malformedPolicy("The policy must contain a valid version string")
	}
	var statements []any
	switch st := parsed["Statement"].(type) {
	case map[string]any:
		statements = []any{st}
	case []any:
		statements = st
	}
	if len(statements) == 0 {
		return nil, false, malformedPolicy("Missing required field Statement")
	}
	sids := map[string]bool{}
	for _, raw := range statements {
		st, ok := raw.(map[string]any)
		if !ok {
			return nil, false, malformedPolicy("Invalid policy syntax.")
		}
		stPublic, serr := validateStatement(st, bucketName, sids)
		if serr != nil {
			return nil, false, serr
		}
		public = public || stPublic
	}
	return parsed, public, nil
}

func validateStatement(st map[string]any, bucketName string, sids map[string]bool) (public bool, serr *s3Error) {
	for k := range st {
		if !statementFields[k] {
			return false, malformedPolicy("Unknown field %s", k)
		}
	}
	if sid, ok := st["Sid"]; ok {
		s, isString := sid.(string)
		if !isString {
			return false, malformedPolicy("Invalid policy syntax.")
		}
		if sids[s] {
			return false, malformedPolicy("Statement IDs (SID) in a single policy must be unique")
		}
		sids[s] = true
	}
	effect, _ := st["Effect"].(string)
	if effect != "Allow" && effect != "Deny" {
		return false, malformedPolicy("Invalid effect: %v", st["Effect"])
	}
	principal, serr := onlyOne(st, "Principal", "NotPrincipal")
	if serr != nil {
		return false, serr
	}
	wildcard, serr := validatePrincipal(principal)
	if serr != nil {
		return false, serr
	}
	actions, serr := onlyOne(st, "Action", "NotAction")
	if serr != nil {
		return false, serr
	}
	list, ok := stringList(actions)
	if !ok {
		return false, malformedPolicy("Policy has invalid action")
	}
	for _, a := range list {
		if a != "*" && !s3ActionPattern.MatchString(a) {
			return false, malformedPolicy("Policy has invalid action")
		}
	}
	resources, serr := onlyOne(st, "Resource", "NotResource")
	if serr != nil {
		return false, serr
	}
	if list, ok = stringList(resources); !ok {
		return false, malformedPolicy("Policy has invalid resource")
	}
	for _, res := range list {
		if res == "*" {
			continue
		}
		rest, isS3 := strings.CutPrefix(res, "arn:aws:s3:::")
		if !isS3 || rest == "" {
			return false, malformedPolicy("Policy has invalid resource")
		}
		name, _, _ := strings.Cut(rest, "/")
		if matched, err := path.Match(name, bucketName); err != nil || !matched {
			return false, malformedPolicy("Action does not apply to any resource(s) in statement")
		}
	}
	restricted := false
	if cond, ok := st["Condition"]; ok {
		if restricted, serr = validateCondition(cond); serr != nil {
			return false, serr
		}
	}
	_, notPrincipal := st["NotPrincipal"]
	return effect == "Allow" && (wildcard || notPrincipal) && !restricted, nil
}

// onlyOne returns the value of exactly one of two mutually exclusive
// statement elements.
func onlyOne(st map[string]any, name, negated string) (any, *s3Error) {
	v, has := st[name]
	nv, hasNegated := st[negated]
	switch {
	case has && hasNegated:
		return nil, malformedPolicy("Statement cannot have both %s and %s", name, negated)
	case has:
		return v, nil
	case hasNegated:
		return nv, nil
	}
	return nil, malformedPolicy("Missing required field %s", name)
}

// stringList reads an element that is one string or a non-empty list of
// strings.
func stringList(v any) ([]string, bool) {
	switch t := v.(type) {
	case string:
		return []string{t}, true
	case []any:
		out := make([]string, 0, len(t))
		for _, x := range t {
			s, ok := x.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, len(out) > 0
	}
	return nil, false
}

// validatePrincipal checks a Principal element and reports whether it
// names everyone.
func validatePrincipal(p any) (wildcard bool, serr *s3Error) {
	if s, ok := p.(string); ok {
		if s != "*" {
			return false, malformedPolicy("Invalid principal in policy")
		}
		return true, nil
	}
	m, ok := p.(map[string]any)
	if !ok || len(m) == 0 {
		return false, malformedPolicy("Invalid principal in policy")
	}
	for kind, v := range m {
		list, ok := stringList(v)
		if !ok {
			return false, malformedPolicy("Invalid principal in policy")
		}
		for _, id := range list {
			switch kind {
			case "AWS":
				if !awsPrincipalPattern.MatchString(id) {
					return false, malformedPolicy("Invalid principal in policy")
				}
				wildcard = wildcard || id == "*"
			case "Service":
				if !servicePrincipal.MatchString(id) {
					return false, malformedPolicy("Invalid principal in policy")
				}
			case "CanonicalUser":
				if !canonicalUserPattern.MatchString(id) {
					return false, malformedPolicy("Invalid principal in policy")
				}
			case "Federated":
				if id == "" {
					return false, malformedPolicy("Invalid principal in policy")
				}
			default:
				return false, malformedPolicy("Invalid principal in policy")
			}
		}
	}
	return wildcard, nil
}

// validateCondition checks a Condition block's shape and operators and
// reports whether it pins one of the keys that make a statement
// non-public.
func validateCondition(c any) (restricted bool, serr *s3Error) {
	ops, ok := c.(map[string]any)
	if !ok {
		return false, malformedPolicy("Invalid policy syntax.")
	}
	for op, v := range ops {
		if !conditionOperatorRe.MatchString(op) {
			return false, malformedPolicy("Invalid Condition type : %s", op)
		}
		keys, ok := v.(map[string]any)
		if !ok || len(keys) == 0 {
			return false, malformedPolicy("Invalid policy syntax.")
		}
		for key, val := range keys {
			switch val.(type) {
			case string, bool, float64, []any:
			default:
				return false, malformedPolicy("Invalid policy syntax.")
			}
			negative := strings.Contains(op, "Not") || strings.HasPrefix(op, "Null")
			if restrictingConditionKeys[strings.ToLower(key)] && !negative {
				restricted = true
			}
		}
	}
	return restricted, nil
}
