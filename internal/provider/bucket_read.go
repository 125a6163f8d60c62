package provider

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/awserr"
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

// bucketClient returns an S3 client of the bucket's region. A bucket
// outside the home region answers other regions with a redirect the SDK
// does not follow: it is asked where it is first.
func bucketClient(ctx context.Context, clients *awsclient.Clients, name string) (*s3.Client, error) {
	region, err := clients.BucketRegion(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("reading the location of bucket %q: %w", name, err)
	}
	return clients.S3(region), nil
}
