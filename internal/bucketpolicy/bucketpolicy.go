// Package bucketpolicy builds and parses the S3 bucket policy a CloudTrail
// log bucket needs: CloudTrail may read the bucket ACL and write log files
// under its own prefixes, only for the named trails (aws:SourceArn), and any
// request without TLS is denied. The opsaudit_log_bucket resource and the
// cloudtrail_bucket_policy function both use it, so they write the same
// document.
package bucketpolicy

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	awspolicy "github.com/hashicorp/awspolicyequivalence"
)

// Statement ids, as in the AWS CloudTrail documentation's sample policy.
const (
	SidACLCheck              = "AWSCloudTrailAclCheck"
	SidWrite                 = "AWSCloudTrailWrite"
	SidDenyInsecureTransport = "DenyInsecureTransport"
)

// ServicePrincipal is the principal CloudTrail delivers log files as.
const ServicePrincipal = "cloudtrail.amazonaws.com"

const policyVersion = "2012-10-17"

var (
	accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)
	// OrganizationIDPattern is the format of an AWS Organizations id.
	OrganizationIDPattern = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
)

// Options describe the bucket and the trails allowed to write to it.
type Options struct {
	Bucket    string
	AccountID string
	// TrailARNs are the trails allowed to write (the aws:SourceArn
	// condition). Their partition is the bucket's.
	TrailARNs []string
	// KeyPrefix is the trail's s3_key_prefix, without slashes at either end.
	KeyPrefix string
	// OrganizationID also lets an organization trail write under
	// AWSLogs/<organization id>/.
	OrganizationID string
}

// TrailARN is the ARN CloudTrail gives the trail name created in region by
// account. It is predictable, so the policy can be written before the trail
// exists.
func TrailARN(partition, region, account, name string) string {
	return arn.ARN{Partition: partition, Service: "cloudtrail", Region: region, AccountID: account,
		Resource: "trail/" + name}.String()
}

// ValidateTrailARN checks s is the ARN of a CloudTrail trail and returns its
// partition.
func ValidateTrailARN(s string) (string, error) {
	a, err := arn.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%q is not an ARN: %w", s, err)
	}
	name, ok := strings.CutPrefix(a.Resource, "trail/")
	if a.Service != "cloudtrail" || !ok || name == "" {
		return "", fmt.Errorf("%q is not a CloudTrail trail ARN (arn:<partition>:cloudtrail:<region>:<account>:trail/<name>)", s)
	}
	if a.Region == "" || !accountIDPattern.MatchString(a.AccountID) {
		return "", fmt.Errorf("%q lacks a region or a 12-digit account id", s)
	}
	return a.Partition, nil
}

// ValidateKeyPrefix checks an s3_key_prefix: CloudTrail joins it to
// "/AWSLogs/" itself, so a slash at either end would leave an empty path
// segment the policy and the log files disagree on.
func ValidateKeyPrefix(p string) error {
	switch {
	case strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/"):
		return fmt.Errorf("key prefix %q must not start or end with \"/\"", p)
	case len(p) > 200:
		return fmt.Errorf("key prefix is %d characters long; CloudTrail allows at most 200", len(p))
	}
	return nil
}

// Build returns the policy document as JSON. Trail ARNs are sorted and
// deduplicated, so the document depends only on the set of trails.
func Build(o Options) (string, error) {
	doc, err := build(o)
	if err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encoding bucket policy: %w", err)
	}
	return string(b), nil
}

// document is the policy's JSON shape. Fields are ordered as AWS writes them
// so the built document reads like the documentation's sample.
type document struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

type statement struct {
	Sid       string                    `json:"Sid"`
	Effect    string                    `json:"Effect"`
	Principal any                       `json:"Principal"`
	Action    any                       `json:"Action"`
	Resource  any                       `json:"Resource"`
	Condition map[string]map[string]any `json:"Condition"`
}

func build(o Options) (document, error) {
	if o.Bucket == "" {
		return document{}, errors.New("bucket name is empty")
	}
	if !accountIDPattern.MatchString(o.AccountID) {
		return document{}, fmt.Errorf("account id %q is not 12 digits", o.AccountID)
	}
	if err := ValidateKeyPrefix(o.KeyPrefix); err != nil {
		return document{}, err
	}
	if o.OrganizationID != "" && !OrganizationIDPattern.MatchString(o.OrganizationID) {
		return document{}, fmt.Errorf("organization id %q does not look like o-xxxxxxxxxx", o.OrganizationID)
	}
	if len(o.TrailARNs) == 0 {
		return document{}, errors.New("no trail ARN: the policy must name the trails allowed to write (aws:SourceArn)")
	}
	trails := slices.Clone(o.TrailARNs)
	slices.Sort(trails)
	trails = slices.Compact(trails)
	partition := ""
	for _, t := range trails {
		p, err := ValidateTrailARN(t)
		if err != nil {
			return document{}, err
		}
		if partition != "" && p != partition {
			return document{}, fmt.Errorf("trail ARNs span partitions %q and %q; a bucket lives in one", partition, p)
		}
		partition = p
	}

	bucketARN := arn.ARN{Partition: partition, Service: "s3", Resource: o.Bucket}.String()
	logs := bucketARN + "/"
	if o.KeyPrefix != "" {
		logs += o.KeyPrefix + "/"
	}
	writes := []string{logs + "AWSLogs/" + o.AccountID + "/*"}
	if o.OrganizationID != "" {
		writes = append(writes, logs+"AWSLogs/"+o.OrganizationID+"/*")
	}
	service := map[string]string{"Service": ServicePrincipal}
	return document{
		Version: policyVersion,
		Statement: []statement{
			{
				Sid: SidACLCheck, Effect: "Allow", Principal: service, Action: "s3:GetBucketAcl", Resource: bucketARN,
				Condition: map[string]map[string]any{"StringEquals": {"aws:SourceArn": trails}},
			},
			{
				Sid: SidWrite, Effect: "Allow", Principal: service, Action: "s3:PutObject", Resource: writes,
				Condition: map[string]map[string]any{"StringEquals": {
					"s3:x-amz-acl":  "bucket-owner-full-control",
					"aws:SourceArn": trails,
				}},
			},
			{
				Sid: SidDenyInsecureTransport, Effect: "Deny", Principal: "*", Action: "s3:*",
				Resource:  []string{bucketARN, bucketARN + "/*"},
				Condition: map[string]map[string]any{"Bool": {"aws:SecureTransport": "false"}},
			},
		},
	}, nil
}

// Equivalent reports whether two policy documents mean the same, whatever
// their formatting, key order, statement order, or the single-string versus
// one-element-list forms AWS accepts interchangeably. An empty document
// (no policy) is equivalent only to another empty one.
func Equivalent(a, b string) (bool, error) {
	if strings.TrimSpace(a) == "" || strings.TrimSpace(b) == "" {
		return strings.TrimSpace(a) == strings.TrimSpace(b), nil
	}
	// awspolicyequivalence is what hashicorp/aws compares policies with, so
	// users see the same notion of "no change" as there.
	eq, err := awspolicy.PoliciesAreEquivalent(a, b)
	if err != nil {
		return false, fmt.Errorf("comparing bucket policies: %w", err)
	}
	return eq, nil
}

// stringList is a policy value that may be a string or a list of strings.
type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = stringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("expected a string or a list of strings: %w", err)
	}
	*s = many
	return nil
}

type parsedStatement struct {
	Sid       string                           `json:"Sid"`
	Effect    string                           `json:"Effect"`
	Action    stringList                       `json:"Action"`
	Resource  stringList                       `json:"Resource"`
	Condition map[string]map[string]stringList `json:"Condition"`
}

// ErrNotRecognised is returned by Parse for a policy that does not have the
// shape Build writes.
var ErrNotRecognised = errors.New("not a CloudTrail log bucket policy written by opsaudit")

// Parse recovers the Options a document was built from. It fails with
// ErrNotRecognised when the document does not carry the write statement
// Build writes; it does not check the rest, so callers compare
// Build(Parse(doc)) with doc to know whether the whole policy is as built.
func Parse(doc string) (Options, error) {
	var d struct {
		Statement []parsedStatement `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return Options{}, fmt.Errorf("decoding bucket policy: %w", err)
	}
	i := slices.IndexFunc(d.Statement, func(s parsedStatement) bool { return s.Sid == SidWrite })
	if i < 0 {
		return Options{}, fmt.Errorf("%w: no %s statement", ErrNotRecognised, SidWrite)
	}
	w := d.Statement[i]
	var o Options
	o.TrailARNs = slices.Clone(w.Condition["StringEquals"]["aws:SourceArn"])
	slices.Sort(o.TrailARNs)
	if len(o.TrailARNs) == 0 {
		return Options{}, fmt.Errorf("%w: %s has no aws:SourceArn condition", ErrNotRecognised, SidWrite)
	}
	for _, r := range w.Resource {
		a, err := arn.Parse(r)
		if err != nil || a.Service != "s3" {
			return Options{}, fmt.Errorf("%w: resource %q is not an S3 ARN", ErrNotRecognised, r)
		}
		bucket, key, _ := strings.Cut(a.Resource, "/")
		before, owner, ok := cutAWSLogs(key)
		if !ok || (o.Bucket != "" && (bucket != o.Bucket || before != o.KeyPrefix)) {
			return Options{}, fmt.Errorf("%w: resource %q is not <bucket>/[<prefix>/]AWSLogs/<id>/*", ErrNotRecognised, r)
		}
		o.Bucket, o.KeyPrefix = bucket, before
		switch {
		case accountIDPattern.MatchString(owner):
			o.AccountID = owner
		case OrganizationIDPattern.MatchString(owner):
			o.OrganizationID = owner
		default:
			return Options{}, fmt.Errorf("%w: %q is neither an account nor an organization id", ErrNotRecognised, owner)
		}
	}
	if o.AccountID == "" {
		return Options{}, fmt.Errorf("%w: no AWSLogs/<account id>/* resource", ErrNotRecognised)
	}
	return o, nil
}

// cutAWSLogs splits "[<prefix>/]AWSLogs/<id>/*" into prefix and id.
func cutAWSLogs(key string) (prefix, id string, ok bool) {
	rest, ok := strings.CutSuffix(key, "/*")
	if !ok {
		return "", "", false
	}
	i := strings.LastIndex(rest, "AWSLogs/")
	if i < 0 || (i > 0 && rest[i-1] != '/') {
		return "", "", false
	}
	id = rest[i+len("AWSLogs/"):]
	if id == "" || strings.Contains(id, "/") {
		return "", "", false
	}
	return strings.TrimSuffix(rest[:i], "/"), id, true
}
