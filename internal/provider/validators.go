package provider

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/archive"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/bucketpolicy"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/lookup"
)

// stringCheck is a string validator from a description and a check that
// returns the problem, or "" when the value is fine. Unknown and null values
// are left to other validators.
type stringCheck struct {
	description string
	check       func(string) string
}

func (v stringCheck) Description(context.Context) string         { return v.description }
func (v stringCheck) MarkdownDescription(context.Context) string { return v.description }

func (v stringCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if problem := v.check(req.ConfigValue.ValueString()); problem != "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid value", problem)
	}
}

func knownRegion() validator.String {
	return stringCheck{description: "value must be an AWS region name", check: func(s string) string {
		if awsclient.KnownRegion(s) {
			return ""
		}
		return fmt.Sprintf("%q is not an AWS region name (for example us-east-1).", s)
	}}
}

// regionList validates a list of regions to query: at least one, each
// named once, every one a known region.
func regionList() []validator.List {
	return []validator.List{
		listvalidator.SizeAtLeast(1),
		listvalidator.UniqueValues(),
		listvalidator.ValueStringsAre(knownRegion()),
	}
}

func endpointURL() validator.String {
	return stringCheck{description: "value must be an absolute http or https URL", check: func(s string) string {
		if err := awsclient.ValidateEndpoint(s); err != nil {
			return fmt.Sprintf("%q is not a usable endpoint URL: %s. Give an absolute URL such as http://127.0.0.1:4599.", s, err)
		}
		return ""
	}}
}

func durationBetween(min, max time.Duration) validator.String {
	return stringCheck{description: fmt.Sprintf("value must be a duration between %s and %s", min, max), check: func(s string) string {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Sprintf("%q is not a duration such as \"1h\" or \"90m\": %s.", s, err)
		}
		if d < min || d > max {
			return fmt.Sprintf("%s is outside the allowed range %s to %s.", d, min, max)
		}
		return ""
	}}
}

func bucketName() validator.String {
	return stringCheck{description: "value must be a valid S3 bucket name", check: bucketNameProblem}
}

func trailName() validator.String {
	return stringCheck{description: "value must be a valid CloudTrail trail name", check: trailNameProblem}
}

func kmsKeyARN() validator.String {
	return stringCheck{description: "value must be a KMS key ARN", check: kmsKeyARNProblem}
}

func bucketPrefix() validator.String {
	return stringCheck{description: "value must be a valid start of an S3 bucket name", check: bucketPrefixProblem}
}

func trailARN() validator.String {
	return stringCheck{description: "value must be a CloudTrail trail ARN", check: trailARNProblem}
}

// trailNameOrARN accepts a trail ARN (anything that starts with "arn:" is
// checked as one) or a trail name.
func trailNameOrARN() validator.String {
	return stringCheck{description: "value must be a trail name or ARN", check: func(s string) string {
		if strings.HasPrefix(s, "arn:") {
			return trailARNProblem(s)
		}
		return trailNameProblem(s)
	}}
}

// keyPrefix checks an s3_key_prefix as the bucket policy does: the trail
// and the bucket must agree on it.
func keyPrefix() validator.String {
	return stringCheck{description: "value must be a CloudTrail S3 key prefix", check: func(s string) string {
		if err := bucketpolicy.ValidateKeyPrefix(s); err != nil {
			return err.Error() + "."
		}
		return ""
	}}
}

func organizationID() validator.String {
	return stringCheck{description: "value must be an AWS Organizations id", check: func(s string) string {
		if !bucketpolicy.OrganizationIDPattern.MatchString(s) {
			return fmt.Sprintf("%q is not an organization id such as o-a1b2c3d4e5.", s)
		}
		return ""
	}}
}

// eventSource accepts a service's endpoint name as CloudTrail records it,
// or "*" for every service.
func eventSource() validator.String {
	return stringCheck{description: `value must be a service endpoint name or "*"`, check: func(s string) string {
		if s != events.AllEventSources && !eventSourcePattern.MatchString(s) {
			return fmt.Sprintf("%q must be a service endpoint name such as opsworks-cm.amazonaws.com, or \"*\" for "+
				"every service.", s)
		}
		return ""
	}}
}

// orEveryFolder accepts "*", which reads every folder found, besides what
// v accepts.
func orEveryFolder(v validator.String) validator.String { return everyFolderOr{v} }

type everyFolderOr struct{ validator.String }

func (v everyFolderOr) Description(ctx context.Context) string {
	return v.String.Description(ctx) + ` or "*"`
}

func (v everyFolderOr) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v everyFolderOr) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if !req.ConfigValue.IsUnknown() && req.ConfigValue.ValueString() == archive.Discover {
		return
	}
	v.String.ValidateString(ctx, req, resp)
}

// everyFolderAlone refuses "*" beside other values in a list of folders to
// read: it reads every folder already.
func everyFolderAlone() validator.List { return everyFolder{} }

type everyFolder struct{}

func (everyFolder) Description(context.Context) string {
	return `"*" must be the only value`
}

func (v everyFolder) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (everyFolder) ValidateList(_ context.Context, req validator.ListRequest, resp *validator.ListResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() || len(req.ConfigValue.Elements()) < 2 {
		return
	}
	for i, el := range req.ConfigValue.Elements() {
		if s, ok := el.(types.String); ok && !s.IsUnknown() && s.ValueString() == archive.Discover {
			resp.Diagnostics.AddAttributeError(req.Path.AtListIndex(i), "Invalid value",
				`"*" reads every folder found, so it must be the only value.`)
		}
	}
}

func rfc3339Time() validator.String {
	return stringCheck{description: "value must be an RFC 3339 time", check: func(s string) string {
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return fmt.Sprintf("%q is not an RFC 3339 time such as \"2024-03-01T00:00:00Z\": %s.", s, err)
		}
		return ""
	}}
}

func cidrBlock() validator.String {
	return stringCheck{description: "value must be a CIDR block or IP address", check: func(s string) string {
		if _, err := events.ParseCIDR(s); err != nil {
			return err.Error() + "."
		}
		return ""
	}}
}

// lookbackDuration accepts what parseLookback reads, up to how far back
// LookupEvents reaches.
func lookbackDuration() validator.String {
	return stringCheck{description: "value must be a duration of at most 90 days", check: func(s string) string {
		d, err := parseLookback(s)
		if err != nil {
			return err.Error() + "."
		}
		if d > lookup.Window {
			return fmt.Sprintf("%q is longer than 90 days: LookupEvents only reaches 90 days back. For older events, "+
				"read the trail's archive in S3.", s)
		}
		return ""
	}}
}

// anyLookback accepts what parseLookback reads, however long: reading
// the archive is not bounded by LookupEvents' 90 days.
func anyLookback() validator.String {
	return stringCheck{description: "value must be a duration such as 72h, 30d or 1d12h", check: func(s string) string {
		if _, err := parseLookback(s); err != nil {
			return err.Error() + "."
		}
		return ""
	}}
}

func awsAccountID() validator.String {
	return stringCheck{description: "value must be a 12-digit AWS account id", check: func(s string) string {
		if !accountID.MatchString(s) {
			return fmt.Sprintf("%q is not a 12-digit AWS account id.", s)
		}
		return ""
	}}
}

func joinQuoted(ss []string) string {
	return strings.Join(ss, "`, `")
}

var (
	bucketNameChars        = regexp.MustCompile(`^[a-z0-9.-]+$`)
	trailNameCharset       = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	trailNameAdjacentPunct = regexp.MustCompile(`[._-]{2}`)
	accountID              = regexp.MustCompile(`^\d{12}$`)
	// eventSourcePattern is a service's endpoint name as CloudTrail records it.
	eventSourcePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*\.amazonaws\.com$`)
	kmsKeyID           = regexp.MustCompile(`^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$`)
)

// bucketPrefixProblem checks the characters a bucket name may start with;
// the generated suffix makes the rest valid.
func bucketPrefixProblem(s string) string {
	switch {
	case !bucketNameChars.MatchString(s):
		return fmt.Sprintf("%q may contain only lower-case letters, digits, dots and hyphens.", s)
	case !isLowerAlnum(s[0]):
		return fmt.Sprintf("%q must start with a lower-case letter or a digit.", s)
	case strings.Contains(s, ".."):
		return fmt.Sprintf("%q must not contain two adjacent dots.", s)
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(s, p) {
			return fmt.Sprintf("%q must not start with %q, which S3 reserves.", s, p)
		}
	}
	return ""
}

// bucketNameProblem applies the S3 general purpose bucket naming rules.
func bucketNameProblem(s string) string {
	if len(s) < 3 || len(s) > 63 {
		return fmt.Sprintf("%q is %d characters long; a bucket name has 3 to 63.", s, len(s))
	}
	if p := bucketPrefixProblem(s); p != "" {
		return p
	}
	switch {
	case !isLowerAlnum(s[len(s)-1]):
		return fmt.Sprintf("%q must end with a lower-case letter or a digit.", s)
	case net.ParseIP(s) != nil:
		return fmt.Sprintf("%q must not be formatted as an IP address.", s)
	}
	for _, suffix := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(s, suffix) {
			return fmt.Sprintf("%q must not end with %q, which S3 reserves.", s, suffix)
		}
	}
	return ""
}

// trailNameProblem applies CloudTrail's trail naming rules.
func trailNameProblem(s string) string {
	switch {
	case len(s) < 3 || len(s) > 128:
		return fmt.Sprintf("%q is %d characters long; a trail name has 3 to 128.", s, len(s))
	case !trailNameCharset.MatchString(s):
		return fmt.Sprintf("%q may contain only letters, digits, periods, underscores and dashes.", s)
	case !isASCIIAlnum(s[0]) || !isASCIIAlnum(s[len(s)-1]):
		return fmt.Sprintf("%q must start and end with a letter or a digit.", s)
	case trailNameAdjacentPunct.MatchString(s):
		return fmt.Sprintf("%q must not have adjacent periods, underscores or dashes.", s)
	case net.ParseIP(s) != nil:
		return fmt.Sprintf("%q must not be formatted as an IP address.", s)
	}
	return ""
}

// trailARNProblem is bucketpolicy.ParseTrailARN's verdict, the check the
// bucket policy applies, so a trail ARN accepted at plan time is never
// refused at apply time.
func trailARNProblem(s string) string {
	if _, err := bucketpolicy.ParseTrailARN(s); err != nil {
		return err.Error() + "."
	}
	return ""
}

// kmsKeyARNProblem accepts only key ARNs. CloudTrail and S3 both report the
// key ARN whatever form was configured, so an alias or a bare key id would
// differ from it on every read (hashicorp/aws #33928).
func kmsKeyARNProblem(s string) string {
	const want = " Give the key ARN, arn:<partition>:kms:<region>:<account>:key/<key id>: AWS reports the key ARN, " +
		"so anything else would show a change on every plan (hashicorp/aws #33928). With an alias, use the " +
		"target_key_arn of an aws_kms_alias data source."
	a, err := arn.Parse(s)
	switch {
	case strings.HasPrefix(s, "alias/"):
		return fmt.Sprintf("%q is a KMS alias, not a key ARN.", s) + want
	case kmsKeyID.MatchString(s):
		return fmt.Sprintf("%q is a bare KMS key id, not a key ARN.", s) + want
	case err != nil:
		return fmt.Sprintf("%q is not an ARN.", s) + want
	case a.Service != "kms":
		return fmt.Sprintf("%q is a %s ARN, not a KMS key ARN.", s, a.Service) + want
	case strings.HasPrefix(a.Resource, "alias/"):
		return fmt.Sprintf("%q is a KMS alias ARN, not a key ARN.", s) + want
	case !strings.HasPrefix(a.Resource, "key/") || !kmsKeyID.MatchString(strings.TrimPrefix(a.Resource, "key/")):
		return fmt.Sprintf("%q does not name a key (key/<key id>).", s) + want
	case a.Region == "" || !accountID.MatchString(a.AccountID):
		return fmt.Sprintf("%q lacks the key's region or 12-digit account id.", s) + want
	}
	return ""
}

func isLowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func isASCIIAlnum(c byte) bool { return isLowerAlnum(c) || c >= 'A' && c <= 'Z' }
