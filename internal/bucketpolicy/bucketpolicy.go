// Package bucketpolicy builds and parses the S3 bucket policy a CloudTrail
// log bucket needs: CloudTrail may read the bucket ACL and write log files
// under its own prefixes, only for the named trails (aws:SourceArn), and any
// request without TLS is denied. The opsaudit_log_bucket resource and the
// cloudtrail_bucket_policy function both use it, so they write the same
// document.
package bucketpolicy

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	awspolicy "github.com/hashicorp/awspolicyequivalence"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/iampolicy"
)

// Statement ids, as in the AWS CloudTrail documentation's sample policy.
const (
	SidACLCheck              = "AWSCloudTrailAclCheck"
	SidWrite                 = "AWSCloudTrailWrite"
	SidDenyInsecureTransport = "DenyInsecureTransport"
)

// ServicePrincipal is the principal CloudTrail delivers log files as.
const ServicePrincipal = "cloudtrail.amazonaws.com"

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

// ParseTrailARN is the one check of a trail ARN, shared by the schema
// validators, the trail reads and the policy: s must be
// arn:<partition>:cloudtrail:<region>:<12-digit account>:trail/<name>.
func ParseTrailARN(s string) (arn.ARN, error) {
	a, err := arn.Parse(s)
	if err != nil {
		return arn.ARN{}, fmt.Errorf("%q is not an ARN: %w", s, err)
	}
	name, ok := strings.CutPrefix(a.Resource, "trail/")
	if a.Service != "cloudtrail" || !ok || name == "" {
		return arn.ARN{}, fmt.Errorf("%q is not a CloudTrail trail ARN (arn:<partition>:cloudtrail:<region>:<account>:trail/<name>)", s)
	}
	if a.Region == "" || !accountIDPattern.MatchString(a.AccountID) {
		return arn.ARN{}, fmt.Errorf("%q lacks a region or a 12-digit account id", s)
	}
	return a, nil
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
	if o.Bucket == "" {
		return "", errors.New("bucket name is empty")
	}
	if !accountIDPattern.MatchString(o.AccountID) {
		return "", fmt.Errorf("account id %q is not 12 digits", o.AccountID)
	}
	if err := ValidateKeyPrefix(o.KeyPrefix); err != nil {
		return "", err
	}
	if o.OrganizationID != "" && !OrganizationIDPattern.MatchString(o.OrganizationID) {
		return "", fmt.Errorf("organization id %q does not look like o-xxxxxxxxxx", o.OrganizationID)
	}
	if len(o.TrailARNs) == 0 {
		return "", errors.New("no trail ARN: the policy must name the trails allowed to write (aws:SourceArn)")
	}
	trails := slices.Clone(o.TrailARNs)
	slices.Sort(trails)
	trails = slices.Compact(trails)
	partition := ""
	for _, t := range trails {
		a, err := ParseTrailARN(t)
		if err != nil {
			return "", err
		}
		if partition != "" && a.Partition != partition {
			return "", fmt.Errorf("trail ARNs span partitions %q and %q; a bucket lives in one", partition, a.Partition)
		}
		partition = a.Partition
	}

	bucketARN := arn.ARN{Partition: partition, Service: "s3", Resource: o.Bucket}.String()
	logs := bucketARN + "/"
	if o.KeyPrefix != "" {
		logs += o.KeyPrefix + "/"
	}
	writes := iampolicy.Values{logs + "AWSLogs/" + o.AccountID + "/*"}
	if o.OrganizationID != "" {
		writes = append(writes, logs+"AWSLogs/"+o.OrganizationID+"/*")
	}
	service := iampolicy.Principal{"Service": {ServicePrincipal}}
	doc := iampolicy.Document{
		Version: iampolicy.Version,
		Statement: iampolicy.Statements{
			{
				Sid: SidACLCheck, Effect: "Allow", Principal: service, Action: iampolicy.Values{"s3:GetBucketAcl"},
				Resource:  iampolicy.Values{bucketARN},
				Condition: iampolicy.Conditions{"StringEquals": {"aws:SourceArn": trails}},
			},
			{
				Sid: SidWrite, Effect: "Allow", Principal: service, Action: iampolicy.Values{"s3:PutObject"}, Resource: writes,
				Condition: iampolicy.Conditions{"StringEquals": {
					"s3:x-amz-acl":  {"bucket-owner-full-control"},
					"aws:SourceArn": trails,
				}},
			},
			{
				Sid: SidDenyInsecureTransport, Effect: "Deny", Principal: iampolicy.Principal{"*": {"*"}},
				Action: iampolicy.Values{"s3:*"}, Resource: iampolicy.Values{bucketARN, bucketARN + "/*"},
				Condition: iampolicy.Conditions{"Bool": {"aws:SecureTransport": {"false"}}},
			},
		},
	}
	return doc.JSON()
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

// ErrNotRecognised is returned by Parse for a policy that does not have the
// shape Build writes.
var ErrNotRecognised = errors.New("not a CloudTrail log bucket policy written by opsaudit")

// Parse recovers the Options a document was built from. It fails with
// ErrNotRecognised when the document does not carry the write statement
// Build writes; it does not check the rest, so callers compare
// Build(Parse(doc)) with doc to know whether the whole policy is as built.
func Parse(doc string) (Options, error) {
	d, err := iampolicy.Parse(doc)
	if err != nil {
		return Options{}, fmt.Errorf("reading bucket policy: %w", err)
	}
	i := slices.IndexFunc(d.Statement, func(s iampolicy.Statement) bool { return s.Sid == SidWrite })
	if i < 0 {
		return Options{}, fmt.Errorf("%w: no %s statement", ErrNotRecognised, SidWrite)
	}
	w := d.Statement[i]
	var o Options
	o.TrailARNs = slices.Clone(w.Condition.Values("StringEquals", "aws:SourceArn"))
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
