package provider

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awserr"
)

// Writing the log bucket's sub-resources and emptying it: what the
// resource's create, update and delete do to the bucket.

// apply writes each sub-resource whose desired value (plan) differs from
// prior (nil: a new bucket, write all), one after another: concurrent
// writes to one bucket fail with OperationAborted (hashicorp/aws #7628).
func (r *logBucketResource) apply(ctx context.Context, client *s3.Client, plan, prior *logBucketModel) error {
	name := plan.Bucket.ValueString()
	changed := func(desired, current attr.Value) bool { return prior == nil || !desired.Equal(current) }
	var p logBucketModel
	if prior != nil {
		p = *prior
	}
	type step struct {
		what  string
		needs bool
		call  func() error
	}
	steps := []step{
		{"object ownership", changed(plan.ObjectOwnership, p.ObjectOwnership), func() error {
			_, err := client.PutBucketOwnershipControls(ctx, &s3.PutBucketOwnershipControlsInput{
				Bucket: aws.String(name),
				OwnershipControls: &s3types.OwnershipControls{Rules: []s3types.OwnershipControlsRule{
					{ObjectOwnership: s3types.ObjectOwnershipBucketOwnerEnforced}}},
			})
			return err
		}},
		{"public access block", changed(plan.BlockPublicACLs, p.BlockPublicACLs) || changed(plan.BlockPublicPolicy, p.BlockPublicPolicy) ||
			changed(plan.IgnorePublicACLs, p.IgnorePublicACLs) || changed(plan.RestrictPublicBuckets, p.RestrictPublicBuckets), func() error {
			_, err := client.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{
				Bucket: aws.String(name),
				PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
					BlockPublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true),
					IgnorePublicAcls: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true),
				},
			})
			return err
		}},
		{"bucket policy", changed(plan.Policy, p.Policy), func() error {
			_, err := client.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(name), Policy: aws.String(plan.Policy.ValueString())})
			return err
		}},
		{"default encryption", changed(plan.KMSKeyARN, p.KMSKeyARN) || changed(plan.SSEAlgorithm, p.SSEAlgorithm) ||
			changed(plan.BucketKeyEnabled, p.BucketKeyEnabled), func() error {
			rule := s3types.ServerSideEncryptionRule{ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{
				SSEAlgorithm: s3types.ServerSideEncryptionAes256}}
			if !plan.KMSKeyARN.IsNull() {
				rule.ApplyServerSideEncryptionByDefault = &s3types.ServerSideEncryptionByDefault{
					SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String(plan.KMSKeyARN.ValueString())}
				rule.BucketKeyEnabled = aws.Bool(true)
			}
			_, err := client.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(name),
				ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{rule}}})
			return err
		}},
		// A new bucket is unversioned: only turning versioning on needs a call.
		{"versioning", (prior == nil && plan.Versioning.ValueBool()) || (prior != nil && changed(plan.Versioning, p.Versioning)), func() error {
			status := s3types.BucketVersioningStatusSuspended
			if plan.Versioning.ValueBool() {
				status = s3types.BucketVersioningStatusEnabled
			}
			_, err := client.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(name),
				VersioningConfiguration: &s3types.VersioningConfiguration{Status: status}})
			return err
		}},
		{"object lock retention", !plan.ObjectLock.IsNull() && changed(plan.ObjectLock, p.ObjectLock), func() error {
			lock, diags := plan.objectLock(ctx)
			if diags.HasError() {
				return fmt.Errorf("reading object_lock: %v", diags)
			}
			_, err := client.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String(name),
				ObjectLockConfiguration: &s3types.ObjectLockConfiguration{
					ObjectLockEnabled: s3types.ObjectLockEnabledEnabled,
					Rule: &s3types.ObjectLockRule{DefaultRetention: &s3types.DefaultRetention{
						Mode: s3types.ObjectLockRetentionMode(lock.Mode.ValueString()),
						Days: aws.Int32(int32(lock.Days.ValueInt64())),
					}},
				}})
			return err
		}},
		{"lifecycle", changed(plan.RetentionDays, p.RetentionDays) || changed(plan.NoncurrentVersionRetentionDays, p.NoncurrentVersionRetentionDays), func() error {
			return putLifecycle(ctx, client, name, plan.RetentionDays.ValueInt64(), plan.NoncurrentVersionRetentionDays.ValueInt64(), prior == nil)
		}},
		{"server access logging", (prior == nil && !plan.AccessLogBucket.IsNull()) ||
			(prior != nil && (changed(plan.AccessLogBucket, p.AccessLogBucket) || changed(plan.AccessLogPrefix, p.AccessLogPrefix))), func() error {
			status := &s3types.BucketLoggingStatus{}
			if !plan.AccessLogBucket.IsNull() {
				status.LoggingEnabled = &s3types.LoggingEnabled{TargetBucket: aws.String(plan.AccessLogBucket.ValueString()),
					TargetPrefix: aws.String(plan.AccessLogPrefix.ValueString())}
			}
			_, err := client.PutBucketLogging(ctx, &s3.PutBucketLoggingInput{Bucket: aws.String(name), BucketLoggingStatus: status})
			return err
		}},
		{"tags", (prior == nil && len(plan.Tags.Elements()) > 0) || (prior != nil && !tagsEqual(plan.Tags, p.Tags)), func() error {
			tags := map[string]string{}
			if d := plan.Tags.ElementsAs(ctx, &tags, false); d.HasError() {
				return fmt.Errorf("reading tags: %v", d)
			}
			if len(tags) == 0 {
				_, err := client.DeleteBucketTagging(ctx, &s3.DeleteBucketTaggingInput{Bucket: aws.String(name)})
				return err
			}
			set := make([]s3types.Tag, 0, len(tags))
			for _, k := range slices.Sorted(maps.Keys(tags)) {
				set = append(set, s3types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
			}
			_, err := client.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(name), Tagging: &s3types.Tagging{TagSet: set}})
			return err
		}},
	}
	for _, s := range steps {
		if !s.needs {
			continue
		}
		tflog.Debug(ctx, "writing log bucket "+s.what, map[string]any{"bucket": name})
		// Right after CreateBucket, S3 may still answer NoSuchBucket.
		if _, err := awserr.RetryWhen(ctx, awserr.PropagationTimeout, func(context.Context) (struct{}, error) {
			return struct{}{}, s.call()
		}, "OperationAborted", "NoSuchBucket"); err != nil {
			return fmt.Errorf("writing the %s of bucket %q: %w", s.what, name, err)
		}
	}
	return nil
}

func tagsEqual(a, b types.Map) bool {
	return a.Equal(b) || (len(a.Elements()) == 0 && len(b.Elements()) == 0)
}

func putLifecycle(ctx context.Context, client *s3.Client, name string, retention, noncurrent int64, fresh bool) error {
	if retention == 0 && noncurrent == 0 {
		if fresh {
			return nil
		}
		_, err := client.DeleteBucketLifecycle(ctx, &s3.DeleteBucketLifecycleInput{Bucket: aws.String(name)})
		return err
	}
	rule := s3types.LifecycleRule{
		ID:     aws.String(lifecycleRuleID),
		Status: s3types.ExpirationStatusEnabled,
		Filter: &s3types.LifecycleRuleFilter{Prefix: aws.String("")},
	}
	if retention > 0 {
		rule.Expiration = &s3types.LifecycleExpiration{Days: aws.Int32(int32(retention))}
	}
	if noncurrent > 0 {
		rule.NoncurrentVersionExpiration = &s3types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(int32(noncurrent))}
	}
	_, err := client.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{
		Bucket:                 aws.String(name),
		LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: []s3types.LifecycleRule{rule}},
	})
	return err
}

// emptyBucket deletes every object version and delete marker, a page of
// up to 1,000 at a time (DeleteObjects' limit and ListObjectVersions' page).
func emptyBucket(ctx context.Context, client *s3.Client, name string) error {
	pages := s3.NewListObjectVersionsPaginator(client, &s3.ListObjectVersionsInput{Bucket: aws.String(name)})
	deleted := 0
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			if awserr.BucketNotFound(err) {
				return nil
			}
			return fmt.Errorf("listing the object versions of bucket %q: %w", name, err)
		}
		ids := make([]s3types.ObjectIdentifier, 0, len(page.Versions)+len(page.DeleteMarkers))
		for _, v := range page.Versions {
			ids = append(ids, s3types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
		}
		for _, d := range page.DeleteMarkers {
			ids = append(ids, s3types.ObjectIdentifier{Key: d.Key, VersionId: d.VersionId})
		}
		if len(ids) == 0 {
			continue
		}
		out, err := client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(name),
			Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)},
			// Objects under GOVERNANCE retention may go when the caller
			// may bypass it; COMPLIANCE ones stay and are reported below.
			BypassGovernanceRetention: aws.Bool(true),
		})
		if err != nil {
			return fmt.Errorf("deleting object versions of bucket %q: %w", name, err)
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return fmt.Errorf("deleting object versions of bucket %q: %d could not be deleted, first %q (version %s): %s: %s",
				name, len(out.Errors), aws.ToString(e.Key), aws.ToString(e.VersionId), aws.ToString(e.Code), aws.ToString(e.Message))
		}
		deleted += len(ids)
	}
	tflog.Debug(ctx, "emptied log bucket", map[string]any{"bucket": name, "deleted": deleted})
	return nil
}
