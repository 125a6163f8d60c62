package cloudtrail

import (
	"encoding/json"
	"slices"
	"strings"
)

// policyValues is a policy element that may be one string or a list.
type policyValues []string

func (l *policyValues) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*l = policyValues{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*l = many
	return nil
}

type policyStatement struct {
	Effect    string
	Principal json.RawMessage
	Action    policyValues
	Resource  policyValues
	Condition map[string]map[string]policyValues
}

type policyDoc struct {
	Statement []policyStatement
}

// UnmarshalJSON accepts Statement as one object or a list.
func (d *policyDoc) UnmarshalJSON(b []byte) error {
	var raw struct{ Statement json.RawMessage }
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	var one policyStatement
	if len(raw.Statement) > 0 && raw.Statement[0] == '{' {
		if err := json.Unmarshal(raw.Statement, &one); err != nil {
			return err
		}
		d.Statement = []policyStatement{one}
		return nil
	}
	return json.Unmarshal(raw.Statement, &d.Statement)
}

// policyRequest is one request CloudTrail makes to the bucket, with the
// context keys IAM evaluates conditions against.
type policyRequest struct {
	action   string
	resource string
	context  map[string]string
}

// principalIsCloudTrail reports whether a Principal element names the
// CloudTrail service (or everyone).
func principalIsCloudTrail(p json.RawMessage) bool {
	var star string
	if json.Unmarshal(p, &star) == nil {
		return star == "*"
	}
	var m map[string]policyValues
	if json.Unmarshal(p, &m) != nil {
		return false
	}
	for _, v := range m["Service"] {
		if v == "cloudtrail.amazonaws.com" {
			return true
		}
	}
	for _, v := range m["AWS"] {
		if v == "*" {
			return true
		}
	}
	return false
}

// wildcardMatch matches IAM patterns: '*' is any run of characters and '?'
// one character, across '/' too (which is why path.Match does not fit).
func wildcardMatch(pattern, s string) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if wildcardMatch(pattern[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
		default:
			if s == "" || pattern[0] != s[0] {
				return false
			}
		}
		pattern, s = pattern[1:], s[1:]
	}
	return s == ""
}

func anyMatch(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if fold && wildcardMatch(strings.ToLower(p), strings.ToLower(s)) || !fold && wildcardMatch(p, s) {
			return true
		}
	}
	return false
}

// conditionsHold evaluates a statement's Condition block: every operator
// and key must hold; a key absent from the context fails unless the
// operator ends in IfExists.
func conditionsHold(cond map[string]map[string]policyValues, ctx map[string]string) bool {
	for op, keys := range cond {
		base, ifExists := strings.CutSuffix(op, "IfExists")
		for key, values := range keys {
			v, present := lookupFold(ctx, key)
			if !present {
				if ifExists {
					continue
				}
				return false
			}
			var ok bool
			switch base {
			case "StringEquals", "ArnEquals":
				ok = slices.Contains(values, v)
			case "StringEqualsIgnoreCase":
				ok = slices.ContainsFunc(values, func(x string) bool { return strings.EqualFold(x, v) })
			case "StringLike", "ArnLike":
				ok = anyMatch(values, v, false)
			case "StringNotEquals", "ArnNotEquals":
				ok = !slices.Contains(values, v)
			case "StringNotLike", "ArnNotLike":
				ok = !anyMatch(values, v, false)
			default:
				// Operators CloudTrail's requests cannot satisfy (numeric,
				// date, IP) do not grant access.
				ok = false
			}
			if !ok {
				return false
			}
		}
	}
	return true
}

func lookupFold(ctx map[string]string, key string) (string, bool) {
	for k, v := range ctx {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return "", false
}

// policyAllows evaluates a bucket policy for one CloudTrail request: an
// explicit Deny wins, then an Allow is needed.
func policyAllows(doc policyDoc, req policyRequest) bool {
	allowed := false
	for _, st := range doc.Statement {
		if !principalIsCloudTrail(st.Principal) || !anyMatch(st.Action, req.action, true) ||
			!anyMatch(st.Resource, req.resource, false) || !conditionsHold(st.Condition, req.context) {
			continue
		}
		switch st.Effect {
		case "Deny":
			return false
		case "Allow":
			allowed = true
		}
	}
	return allowed
}

// cloudTrailMayWrite reports whether a bucket policy lets this trail check
// the bucket ACL and write its log files.
func cloudTrailMayWrite(policy string, t *trail) bool {
	var doc policyDoc
	if policy == "" || json.Unmarshal([]byte(policy), &doc) != nil {
		return false
	}
	ctx := map[string]string{
		"aws:SourceArn":     t.arn(),
		"aws:SourceAccount": t.Account,
	}
	acl := policyRequest{action: "s3:GetBucketAcl", resource: "arn:aws:s3:::" + t.S3BucketName, context: ctx}
	putCtx := map[string]string{"s3:x-amz-acl": "bucket-owner-full-control"}
	for k, v := range ctx {
		putCtx[k] = v
	}
	put := policyRequest{
		action:   "s3:PutObject",
		resource: "arn:aws:s3:::" + t.S3BucketName + "/" + t.logPrefix() + "CloudTrail/" + t.HomeRegion + "/log.json.gz",
		context:  putCtx,
	}
	return policyAllows(doc, acl) && policyAllows(doc, put)
}

// logPrefix is where the trail's log files go in its bucket, up to and
// including "AWSLogs/<account>/".
func (t *trail) logPrefix() string {
	p := "AWSLogs/" + t.Account + "/"
	if t.S3KeyPrefix != "" {
		p = t.S3KeyPrefix + "/" + p
	}
	return p
}

// checkBucketLocked checks the trail's bucket exists and lets CloudTrail
// write; with propagation, a policy written less than
// Options.PolicyPropagationDelay ago is not yet in force.
func (s *Service) checkBucketLocked(t *trail, propagation bool) *ctError {
	policy, written, ok := s.cfg.Buckets.BucketPolicy(t.S3BucketName)
	if !ok {
		return ctErr("S3BucketDoesNotExistException", "S3 bucket %s does not exist.", t.S3BucketName)
	}
	insufficient := ctErr("InsufficientS3BucketPolicyException", "Incorrect S3 bucket policy is detected for bucket: %s", t.S3BucketName)
	if propagation && s.cfg.PolicyPropagationDelay > 0 && s.now().Sub(written) < s.cfg.PolicyPropagationDelay {
		return insufficient
	}
	if !cloudTrailMayWrite(policy, t) {
		return insufficient
	}
	return nil
}
