package provider

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/awserr"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/policy"
)

// bucketConfig is how an S3 bucket protects what it holds, as the S3
// getters report it, without Terraform types: the log bucket resource
// compares it with its configuration and the compliance data source judges
// it. A sub-resource the bucket does not have is a zero value, not an error.
type bucketConfig struct {
	// Policy is the bucket policy JSON; empty when the bucket has none.
	Policy string
	// PublicAccessBlock is nil when the bucket has no public access block.
	PublicAccessBlock *s3types.PublicAccessBlockConfiguration
	// ObjectOwnership is empty when the bucket has no ownership controls.
	ObjectOwnership string
	// SSEAlgorithm is empty when no default encryption is configured;
	// KMSKeyID is set for aws:kms only.
	SSEAlgorithm     string
	KMSKeyID         string
	BucketKeyEnabled bool
	// Versioning is Enabled, Suspended or empty (never enabled).
	Versioning     string
	LifecycleRules []s3types.LifecycleRule
	// AccessLogBucket is empty when server access logging is off.
	AccessLogBucket string
	AccessLogPrefix string
}

// readBucketConfig reads a bucket's policy, public access block, ownership
// controls, default encryption, versioning, lifecycle and access logging,
// one call after another, turning each getter's "not configured" error code
// into the zero value.
func readBucketConfig(ctx context.Context, client *s3.Client, name string) (*bucketConfig, error) {
	in := func() *string { return aws.String(name) }
	cfg := &bucketConfig{}

	pol, err := client.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: in()})
	switch {
	case err == nil:
		cfg.Policy = aws.ToString(pol.Policy)
	case !awserr.NotConfigured(err):
		return nil, fmt.Errorf("reading the policy of bucket %q: %w", name, err)
	}

	pab, err := client.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: in()})
	switch {
	case err == nil:
		cfg.PublicAccessBlock = pab.PublicAccessBlockConfiguration
	case !awserr.NotConfigured(err):
		return nil, fmt.Errorf("reading the public access block of bucket %q: %w", name, err)
	}

	own, err := client.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: in()})
	switch {
	case err == nil && own.OwnershipControls != nil && len(own.OwnershipControls.Rules) > 0:
		cfg.ObjectOwnership = string(own.OwnershipControls.Rules[0].ObjectOwnership)
	case err != nil && !awserr.NotConfigured(err):
		return nil, fmt.Errorf("reading the ownership controls of bucket %q: %w", name, err)
	}

	enc, err := client.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: in()})
	switch {
	case err == nil && enc.ServerSideEncryptionConfiguration != nil && len(enc.ServerSideEncryptionConfiguration.Rules) > 0:
		rule := enc.ServerSideEncryptionConfiguration.Rules[0]
		if d := rule.ApplyServerSideEncryptionByDefault; d != nil {
			cfg.SSEAlgorithm = string(d.SSEAlgorithm)
			if d.SSEAlgorithm == s3types.ServerSideEncryptionAwsKms {
				cfg.KMSKeyID = aws.ToString(d.KMSMasterKeyID)
			}
		}
		cfg.BucketKeyEnabled = aws.ToBool(rule.BucketKeyEnabled)
	case err != nil && !awserr.NotConfigured(err):
		return nil, fmt.Errorf("reading the default encryption of bucket %q: %w", name, err)
	}

	ver, err := client.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: in()})
	if err != nil {
		return nil, fmt.Errorf("reading the versioning of bucket %q: %w", name, err)
	}
	cfg.Versioning = string(ver.Status)

	lc, err := client.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: in()})
	switch {
	case err == nil:
		cfg.LifecycleRules = lc.Rules
	case !awserr.NotConfigured(err):
		return nil, fmt.Errorf("reading the lifecycle of bucket %q: %w", name, err)
	}

	logging, err := client.GetBucketLogging(ctx, &s3.GetBucketLoggingInput{Bucket: in()})
	if err != nil {
		return nil, fmt.Errorf("reading the server access logging of bucket %q: %w", name, err)
	}
	if le := logging.LoggingEnabled; le != nil {
		cfg.AccessLogBucket = aws.ToString(le.TargetBucket)
		cfg.AccessLogPrefix = aws.ToString(le.TargetPrefix)
	}
	return cfg, nil
}

// readBucketPosture reads a trail's log bucket for the compliance rules:
// its configuration from the bucket's own region, plus its ACL. keyPrefix
// is the trail's S3 key prefix, which decides which lifecycle rules apply
// to the log files.
func readBucketPosture(ctx context.Context, clients *awsclient.Clients, name, keyPrefix string, now time.Time) (*policy.Bucket, error) {
	// A bucket outside the home region answers other regions with a
	// redirect the SDK does not follow: ask it where it is first.
	loc, err := clients.S3("").GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("reading the location of bucket %q: %w", name, err)
	}
	client := clients.S3(bucketRegion(loc.LocationConstraint))

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
