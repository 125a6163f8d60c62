package provider

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/logvalidation"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/policy"
)

// The posture the compliance rules judge: a trail and its log bucket as
// read from AWS, mapped onto the policy package's types.

// policyTrail maps what readTrail read onto the policy's Trail.
func policyTrail(info *trailInfo) *policy.Trail {
	t := &policy.Trail{
		Name:                              info.Name,
		ARN:                               info.ARN,
		HomeRegion:                        info.HomeRegion,
		IsMultiRegion:                     info.IsMultiRegionTrail,
		IsLogging:                         info.Status.IsLogging,
		IncludeGlobalServiceEvents:        info.IncludeGlobalServiceEvents,
		LogFileValidationEnabled:          info.LogFileValidationEnabled,
		KMSKeyID:                          info.KMSKeyID,
		CloudWatchLogsLogGroupARN:         info.CloudWatchLogsGroupARN,
		CloudWatchLogsRoleARN:             info.CloudWatchLogsRoleARN,
		S3BucketName:                      info.S3BucketName,
		LatestDeliveryError:               info.Status.LatestDeliveryError,
		LatestDeliveryTime:                info.Status.LatestDeliveryTime,
		LatestCloudWatchLogsDeliveryError: info.Status.LatestCloudWatchLogsDeliveryError,
	}
	for _, s := range info.EventSelectors {
		t.EventSelectors = append(t.EventSelectors, policy.EventSelector{
			ReadWriteType:                 string(s.ReadWriteType),
			IncludeManagementEvents:       aws.ToBool(s.IncludeManagementEvents),
			ExcludeManagementEventSources: s.ExcludeManagementEventSources,
		})
	}
	for _, s := range info.AdvancedEventSelectors {
		t.AdvancedEventSelectors = append(t.AdvancedEventSelectors, policyAdvancedSelector(s))
	}
	return t
}

// policyLogIntegrity maps a validation of the trail's log files, every
// problem kept, onto the policy's LogIntegrity.
func policyLogIntegrity(res *logvalidation.Result) *policy.LogIntegrity {
	li := &policy.LogIntegrity{Unknown: validationReasons(res)}
	for _, p := range res.Problems {
		li.InvalidFiles = append(li.InvalidFiles, policy.InvalidFile{Region: p.Region, Key: p.Key, Message: p.Message})
	}
	return li
}

func policyAdvancedSelector(s cttypes.AdvancedEventSelector) policy.AdvancedEventSelector {
	out := policy.AdvancedEventSelector{Name: aws.ToString(s.Name)}
	for _, f := range s.FieldSelectors {
		out.FieldSelectors = append(out.FieldSelectors, policy.FieldSelector{
			Field:         aws.ToString(f.Field),
			Equals:        f.Equals,
			NotEquals:     f.NotEquals,
			StartsWith:    f.StartsWith,
			NotStartsWith: f.NotStartsWith,
			EndsWith:      f.EndsWith,
			NotEndsWith:   f.NotEndsWith,
		})
	}
	return out
}

// readBucketPosture reads a trail's log bucket for the compliance rules:
// its configuration from the bucket's own region, plus its ACL. keyPrefix
// is the trail's S3 key prefix, which decides which lifecycle rules apply
// to the log files.
func readBucketPosture(ctx context.Context, clients *awsclient.Clients, name, keyPrefix string, now time.Time) (*policy.Bucket, error) {
	client, err := bucketClient(ctx, clients, name)
	if err != nil {
		return nil, err
	}

	cfg, err := readBucketConfig(ctx, client, name)
	if err != nil {
		return nil, err
	}
	acl, err := client.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("reading the ACL of bucket %q: %w", name, err)
	}

	b := &policy.Bucket{
		Name:                      name,
		Policy:                    cfg.Policy,
		EncryptionAlgorithm:       cfg.SSEAlgorithm,
		EncryptionKMSKeyID:        cfg.KMSKeyID,
		VersioningStatus:          cfg.Versioning,
		LogExpirationDays:         logExpirationDays(cfg.LifecycleRules, keyPrefix, now),
		AccessLoggingTargetBucket: cfg.AccessLogBucket,
		AccessLoggingTargetPrefix: cfg.AccessLogPrefix,
		ObjectOwnership:           cfg.ObjectOwnership,
	}
	if p := cfg.PublicAccessBlock; p != nil {
		b.PublicAccessBlock = policy.PublicAccessBlock{
			Configured:            true,
			BlockPublicAcls:       aws.ToBool(p.BlockPublicAcls),
			IgnorePublicAcls:      aws.ToBool(p.IgnorePublicAcls),
			BlockPublicPolicy:     aws.ToBool(p.BlockPublicPolicy),
			RestrictPublicBuckets: aws.ToBool(p.RestrictPublicBuckets),
		}
	}
	for _, g := range acl.Grants {
		grant := policy.Grant{Permission: string(g.Permission)}
		if g.Grantee != nil {
			grant.GranteeType = string(g.Grantee.Type)
			grant.GranteeID = aws.ToString(g.Grantee.ID)
			grant.GranteeURI = aws.ToString(g.Grantee.URI)
		}
		b.ACLGrants = append(b.ACLGrants, grant)
	}
	return b, nil
}

// logExpirationDays is the shortest lifetime an enabled lifecycle rule
// gives the trail's log files (under "[<keyPrefix>/]AWSLogs/"), 0 when none
// expires them. A rule applies when its prefix and the log prefix overlap;
// tag and size filters are ignored, so a rule that deletes only some log
// files still counts: a retention check should err towards a finding. A
// rule expiring objects on a date gives them the days left until then.
func logExpirationDays(rules []s3types.LifecycleRule, keyPrefix string, now time.Time) int {
	logPrefix := "AWSLogs/"
	if keyPrefix != "" {
		logPrefix = keyPrefix + "/" + logPrefix
	}
	shortest := 0
	for _, r := range rules {
		if r.Status != s3types.ExpirationStatusEnabled || r.Expiration == nil {
			continue
		}
		p := lifecycleRulePrefix(r)
		if !strings.HasPrefix(logPrefix, p) && !strings.HasPrefix(p, logPrefix) {
			continue
		}
		days := 0
		switch e := r.Expiration; {
		case e.Days != nil:
			days = int(*e.Days)
		case e.Date != nil:
			days = max(1, int(math.Ceil(e.Date.Sub(now).Hours()/24)))
		}
		if days > 0 && (shortest == 0 || days < shortest) {
			shortest = days
		}
	}
	return shortest
}

// lifecycleRulePrefix is the key prefix a rule is limited to, wherever the
// rule states it (the filter, an And filter, or the legacy Prefix field).
func lifecycleRulePrefix(r s3types.LifecycleRule) string {
	if f := r.Filter; f != nil {
		if f.Prefix != nil {
			return *f.Prefix
		}
		if f.And != nil {
			return aws.ToString(f.And.Prefix)
		}
		return ""
	}
	return aws.ToString(r.Prefix) //nolint:staticcheck // Rules written before filters existed carry it.
}
