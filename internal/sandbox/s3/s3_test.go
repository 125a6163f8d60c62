package s3_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

func TestCreateBucketRules(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true})
	ctx := context.Background()
	east, west := e.S3("us-east-1"), e.S3("eu-west-1")
	create := func(c *s3.Client, name, location string) error {
		in := &s3.CreateBucketInput{Bucket: aws.String(name)}
		if location != "" {
			in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(location)}
		}
		_, err := c.CreateBucket(ctx, in)
		return err
	}
	if err := create(east, "east-bucket", ""); err != nil {
		t.Fatalf("CreateBucket in us-east-1: %v", err)
	}
	if err := create(west, "west-bucket", "eu-west-1"); err != nil {
		t.Fatalf("CreateBucket in eu-west-1: %v", err)
	}
	for _, name := range []string{"ab", "UPPER", "-start", "end-", "a..b", "192.168.1.1", "xn--bucket", "bucket-s3alias", strings.Repeat("a", 64), "under_score"} {
		sandboxtest.WantCode(t, create(east, name, ""), "InvalidBucketName")
	}
	// Re-creating one's own bucket is 200 in us-east-1 for legacy
	// compatibility, an error elsewhere.
	if err := create(east, "east-bucket", ""); err != nil {
		t.Errorf("re-creating own bucket in us-east-1: %v", err)
	}
	sandboxtest.WantCode(t, create(west, "west-bucket", "eu-west-1"), "BucketAlreadyOwnedByYou")
	sandboxtest.WantCode(t, create(west, "no-location", ""), "IllegalLocationConstraintException")
	sandboxtest.WantCode(t, create(west, "wrong-location", "eu-central-1"), "IllegalLocationConstraintException")
	sandboxtest.WantCode(t, create(east, "explicit-east", "us-east-1"), "InvalidLocationConstraint")

	// GetBucketLocation answers whatever region the client signed for:
	// it is how clients find the region to sign for.
	for _, tt := range []struct{ bucket, want string }{{"east-bucket", ""}, {"west-bucket", "eu-west-1"}} {
		for _, c := range []*s3.Client{east, west} {
			out, err := c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String(tt.bucket)})
			if err != nil {
				t.Fatalf("GetBucketLocation %s: %v", tt.bucket, err)
			}
			if string(out.LocationConstraint) != tt.want {
				t.Errorf("GetBucketLocation %s = %q, want %q", tt.bucket, out.LocationConstraint, tt.want)
			}
		}
	}
	head, err := west.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("west-bucket")})
	if err != nil || aws.ToString(head.BucketRegion) != "eu-west-1" {
		t.Errorf("HeadBucket = %v, %v", head, err)
	}
	_, err = west.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("missing-bucket")})
	sandboxtest.WantCode(t, err, "NotFound")
	_, err = east.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("west-bucket")})
	sandboxtest.WantCode(t, err, "AuthorizationHeaderMalformed")

	list, err := east.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range list.Buckets {
		names = append(names, aws.ToString(b.Name)+"@"+aws.ToString(b.BucketRegion))
	}
	if got := strings.Join(names, ","); got != "east-bucket@us-east-1,west-bucket@eu-west-1" {
		t.Errorf("ListBuckets = %s", got)
	}
	page, err := east.ListBuckets(ctx, &s3.ListBucketsInput{MaxBuckets: aws.Int32(1)})
	if err != nil || len(page.Buckets) != 1 || page.ContinuationToken == nil {
		t.Fatalf("ListBuckets page 1 = %+v, %v", page, err)
	}
	page, err = east.ListBuckets(ctx, &s3.ListBucketsInput{MaxBuckets: aws.Int32(1), ContinuationToken: page.ContinuationToken})
	if err != nil || len(page.Buckets) != 1 || aws.ToString(page.Buckets[0].Name) != "west-bucket" || page.ContinuationToken != nil {
		t.Errorf("ListBuckets page 2 = %+v, %v", page, err)
	}

	if _, err := west.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("west-bucket"), Key: aws.String("k"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	_, err = west.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("west-bucket")})
	sandboxtest.WantCode(t, err, "BucketNotEmpty")
	if _, err := west.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("west-bucket"), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	if _, err := west.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("west-bucket")}); err != nil {
		t.Fatalf("DeleteBucket: %v", err)
	}
	_, err = west.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("west-bucket")})
	sandboxtest.WantCode(t, err, "NoSuchBucket")
}

func TestBucketSubresourceDefaultsAndNotFound(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true})
	ctx := context.Background()
	c := e.S3("us-east-1")
	e.MakeBucket(t, "us-east-1", "fresh", "")
	b := aws.String("fresh")

	// New buckets carry AWS's defaults since 2023.
	pab, err := c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b})
	if err != nil || !aws.ToBool(pab.PublicAccessBlockConfiguration.BlockPublicPolicy) || !aws.ToBool(pab.PublicAccessBlockConfiguration.RestrictPublicBuckets) {
		t.Errorf("default public access block = %+v, %v", pab, err)
	}
	own, err := c.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: b})
	if err != nil || own.OwnershipControls.Rules[0].ObjectOwnership != s3types.ObjectOwnershipBucketOwnerEnforced {
		t.Errorf("default ownership = %+v, %v", own, err)
	}
	enc, err := c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: b})
	if err != nil || enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != s3types.ServerSideEncryptionAes256 {
		t.Errorf("default encryption = %+v, %v", enc, err)
	}
	ver, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: b})
	if err != nil || ver.Status != "" {
		t.Errorf("default versioning = %+v, %v", ver, err)
	}
	logging, err := c.GetBucketLogging(ctx, &s3.GetBucketLoggingInput{Bucket: b})
	if err != nil || logging.LoggingEnabled != nil {
		t.Errorf("default logging = %+v, %v", logging, err)
	}
	acl, err := c.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: b})
	if err != nil || len(acl.Grants) != 1 || acl.Grants[0].Permission != s3types.PermissionFullControl || aws.ToString(acl.Grants[0].Grantee.ID) != aws.ToString(acl.Owner.ID) {
		t.Errorf("GetBucketAcl = %+v, %v", acl, err)
	}

	_, err = c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b})
	sandboxtest.WantCode(t, err, "NoSuchBucketPolicy")
	_, err = c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: b})
	sandboxtest.WantCode(t, err, "NoSuchLifecycleConfiguration")
	_, err = c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: b})
	sandboxtest.WantCode(t, err, "NoSuchTagSet")
	_, err = c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: b})
	sandboxtest.WantCode(t, err, "ObjectLockConfigurationNotFoundError")

	if _, err := c.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b})
	sandboxtest.WantCode(t, err, "NoSuchPublicAccessBlockConfiguration")
	if _, err := c.DeleteBucketOwnershipControls(ctx, &s3.DeleteBucketOwnershipControlsInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: b})
	sandboxtest.WantCode(t, err, "OwnershipControlsNotFoundError")

	// Deleting the encryption configuration returns to SSE-S3, as AWS.
	if _, err := c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: b, ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{
		Rules: []s3types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String("alias/logs")}, BucketKeyEnabled: aws.Bool(true)}},
	}}); err != nil {
		t.Fatalf("PutBucketEncryption: %v", err)
	}
	enc, err = c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: b})
	if err != nil {
		t.Fatal(err)
	}
	rule := enc.ServerSideEncryptionConfiguration.Rules[0]
	if rule.ApplyServerSideEncryptionByDefault.SSEAlgorithm != s3types.ServerSideEncryptionAwsKms || aws.ToString(rule.ApplyServerSideEncryptionByDefault.KMSMasterKeyID) != "alias/logs" || !aws.ToBool(rule.BucketKeyEnabled) {
		t.Errorf("GetBucketEncryption = %+v", rule)
	}
	if _, err := c.DeleteBucketEncryption(ctx, &s3.DeleteBucketEncryptionInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	enc, err = c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: b})
	if err != nil || enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != s3types.ServerSideEncryptionAes256 {
		t.Errorf("encryption after delete = %+v, %v", enc, err)
	}
	_, err = c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: b, ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{
		Rules: []s3types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAes256, KMSMasterKeyID: aws.String("k")}}},
	}})
	sandboxtest.WantCode(t, err, "InvalidArgument")

	for _, op := range []func() error{
		func() error {
			_, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("nope-bucket")})
			return err
		},
		func() error {
			_, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("nope-bucket")})
			return err
		},
	} {
		sandboxtest.WantCode(t, op(), "NoSuchBucket")
	}
}

func TestBucketPolicy(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true})
	ctx := context.Background()
	c := e.S3("us-east-1")
	e.MakeBucket(t, "us-east-1", "logs-bucket", "")
	b := aws.String("logs-bucket")
	good := sandboxtest.TrailPolicy("logs-bucket", "", "123456789012", sandboxtest.TrailARN("us-east-1", "123456789012", "main"))
	if _, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(good)}); err != nil {
		t.Fatalf("PutBucketPolicy: %v", err)
	}
	got, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b})
	if err != nil || aws.ToString(got.Policy) != good {
		t.Fatalf("GetBucketPolicy = %v, %v", aws.ToString(got.Policy), err)
	}
	stmt := func(s string) string { return `{"Version":"2012-10-17","Statement":[` + s + `]}` }
	for name, policy := range map[string]string{
		"not JSON":             `not json`,
		"no version":           `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::logs-bucket/*"}]}`,
		"bad version":          `{"Version":"2020-01-01","Statement":[]}`,
		"no statement":         `{"Version":"2012-10-17"}`,
		"unknown field":        `{"Version":"2012-10-17","Statement":[],"Extra":1}`,
		"bad effect":           stmt(`{"Effect":"Maybe","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::logs-bucket/*"}`),
		"no principal":         stmt(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::logs-bucket/*"}`),
		"bad principal":        stmt(`{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::logs-bucket/*"}`),
		"non-S3 action":        stmt(`{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"ec2:RunInstances","Resource":"arn:aws:s3:::logs-bucket/*"}`),
		"no resource":          stmt(`{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:GetObject"}`),
		"other bucket":         stmt(`{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}`),
		"bad condition":        stmt(`{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::logs-bucket/*","Condition":{"Equalsish":{"a":"b"}}}`),
		"duplicate sid":        stmt(`{"Sid":"a","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::logs-bucket"},{"Sid":"a","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::logs-bucket"}`),
		"action and notaction": stmt(`{"Effect":"Deny","Principal":"*","Action":"s3:*","NotAction":"s3:GetObject","Resource":"arn:aws:s3:::logs-bucket"}`),
	} {
		_, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(policy)})
		if sandboxtest.ErrCode(err) != "MalformedPolicy" {
			t.Errorf("%s: error %v, want MalformedPolicy", name, err)
		}
	}
	// A public policy is refused while Block Public Access says so.
	public := stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::logs-bucket/*"}`)
	_, err = c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(public)})
	sandboxtest.WantCode(t, err, "AccessDenied")
	if _, err := c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: b, PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
		BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(false), RestrictPublicBuckets: aws.Bool(true),
	}}); err != nil {
		t.Fatal(err)
	}
	pab, err := c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b})
	if err != nil || aws.ToBool(pab.PublicAccessBlockConfiguration.BlockPublicPolicy) || !aws.ToBool(pab.PublicAccessBlockConfiguration.BlockPublicAcls) {
		t.Errorf("GetPublicAccessBlock = %+v, %v", pab, err)
	}
	if _, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(public)}); err != nil {
		t.Errorf("public policy with BlockPublicPolicy off: %v", err)
	}
	if _, err := c.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b})
	sandboxtest.WantCode(t, err, "NoSuchBucketPolicy")
}

func TestBucketConfigurations(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true})
	ctx := context.Background()
	c := e.S3("eu-west-1")
	e.MakeBucket(t, "eu-west-1", "cfg-bucket", "")
	e.MakeBucket(t, "eu-west-1", "cfg-logs", "")
	e.MakeBucket(t, "us-east-1", "east-logs", "")
	b := aws.String("cfg-bucket")

	t.Run("versioning", func(t *testing.T) {
		if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: b, VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
			t.Fatal(err)
		}
		out, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: b})
		if err != nil || out.Status != s3types.BucketVersioningStatusEnabled {
			t.Errorf("GetBucketVersioning = %+v, %v", out, err)
		}
		_, err = c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: b, VersioningConfiguration: &s3types.VersioningConfiguration{MFADelete: s3types.MFADeleteEnabled, Status: s3types.BucketVersioningStatusEnabled}})
		sandboxtest.WantCode(t, err, "InvalidRequest")
	})
	t.Run("lifecycle", func(t *testing.T) {
		rules := []s3types.LifecycleRule{{
			ID: aws.String("archive"), Status: s3types.ExpirationStatusEnabled,
			Filter:                         &s3types.LifecycleRuleFilter{Prefix: aws.String("AWSLogs/")},
			Transitions:                    []s3types.Transition{{Days: aws.Int32(30), StorageClass: s3types.TransitionStorageClassStandardIa}, {Days: aws.Int32(90), StorageClass: s3types.TransitionStorageClassGlacier}},
			Expiration:                     &s3types.LifecycleExpiration{Days: aws.Int32(365)},
			NoncurrentVersionExpiration:    &s3types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(30)},
			AbortIncompleteMultipartUpload: &s3types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(7)},
		}}
		if _, err := c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: b, LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: rules}}); err != nil {
			t.Fatalf("PutBucketLifecycleConfiguration: %v", err)
		}
		out, err := c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: b})
		if err != nil {
			t.Fatal(err)
		}
		r := out.Rules[0]
		if aws.ToString(r.ID) != "archive" || aws.ToString(r.Filter.Prefix) != "AWSLogs/" || len(r.Transitions) != 2 || aws.ToInt32(r.Transitions[1].Days) != 90 ||
			aws.ToInt32(r.Expiration.Days) != 365 || aws.ToInt32(r.NoncurrentVersionExpiration.NoncurrentDays) != 30 || aws.ToInt32(r.AbortIncompleteMultipartUpload.DaysAfterInitiation) != 7 {
			t.Errorf("lifecycle rule read back = %+v", r)
		}
		if out.TransitionDefaultMinimumObjectSize != s3types.TransitionDefaultMinimumObjectSizeAllStorageClasses128k {
			t.Errorf("TransitionDefaultMinimumObjectSize = %q", out.TransitionDefaultMinimumObjectSize)
		}
		bad := map[string]s3types.LifecycleRule{
			"no action":     {ID: aws.String("x"), Status: s3types.ExpirationStatusEnabled, Filter: &s3types.LifecycleRuleFilter{Prefix: aws.String("")}},
			"zero days":     {ID: aws.String("x"), Status: s3types.ExpirationStatusEnabled, Filter: &s3types.LifecycleRuleFilter{}, Expiration: &s3types.LifecycleExpiration{Days: aws.Int32(0)}},
			"IA too early":  {ID: aws.String("x"), Status: s3types.ExpirationStatusEnabled, Filter: &s3types.LifecycleRuleFilter{}, Transitions: []s3types.Transition{{Days: aws.Int32(10), StorageClass: s3types.TransitionStorageClassStandardIa}}},
			"abort w/ tags": {ID: aws.String("x"), Status: s3types.ExpirationStatusEnabled, Filter: &s3types.LifecycleRuleFilter{Tag: &s3types.Tag{Key: aws.String("a"), Value: aws.String("b")}}, AbortIncompleteMultipartUpload: &s3types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(1)}},
		}
		for name, rule := range bad {
			_, err := c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: b, LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: []s3types.LifecycleRule{rule}}})
			if code := sandboxtest.ErrCode(err); code != "InvalidRequest" && code != "InvalidArgument" && code != "MalformedXML" {
				t.Errorf("%s: error %v, want a validation error", name, err)
			}
		}
		dup := []s3types.LifecycleRule{rules[0], rules[0]}
		_, err = c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: b, LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: dup}})
		sandboxtest.WantCode(t, err, "InvalidArgument")
		if _, err := c.DeleteBucketLifecycle(ctx, &s3.DeleteBucketLifecycleInput{Bucket: b}); err != nil {
			t.Fatal(err)
		}
		_, err = c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: b})
		sandboxtest.WantCode(t, err, "NoSuchLifecycleConfiguration")
	})
	t.Run("ownership", func(t *testing.T) {
		if _, err := c.PutBucketOwnershipControls(ctx, &s3.PutBucketOwnershipControlsInput{Bucket: b, OwnershipControls: &s3types.OwnershipControls{
			Rules: []s3types.OwnershipControlsRule{{ObjectOwnership: s3types.ObjectOwnershipBucketOwnerPreferred}}}}); err != nil {
			t.Fatal(err)
		}
		out, err := c.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: b})
		if err != nil || out.OwnershipControls.Rules[0].ObjectOwnership != s3types.ObjectOwnershipBucketOwnerPreferred {
			t.Errorf("GetBucketOwnershipControls = %+v, %v", out, err)
		}
		_, err = c.PutBucketOwnershipControls(ctx, &s3.PutBucketOwnershipControlsInput{Bucket: b, OwnershipControls: &s3types.OwnershipControls{
			Rules: []s3types.OwnershipControlsRule{{ObjectOwnership: "Nobody"}}}})
		sandboxtest.WantCode(t, err, "MalformedXML")
	})
	t.Run("logging", func(t *testing.T) {
		put := func(target string) error {
			_, err := c.PutBucketLogging(ctx, &s3.PutBucketLoggingInput{Bucket: b, BucketLoggingStatus: &s3types.BucketLoggingStatus{
				LoggingEnabled: &s3types.LoggingEnabled{TargetBucket: aws.String(target), TargetPrefix: aws.String("access/"),
					TargetObjectKeyFormat: &s3types.TargetObjectKeyFormat{PartitionedPrefix: &s3types.PartitionedPrefix{PartitionDateSource: s3types.PartitionDateSourceEventTime}}}}})
			return err
		}
		if err := put("cfg-logs"); err != nil {
			t.Fatalf("PutBucketLogging: %v", err)
		}
		out, err := c.GetBucketLogging(ctx, &s3.GetBucketLoggingInput{Bucket: b})
		if err != nil || aws.ToString(out.LoggingEnabled.TargetBucket) != "cfg-logs" || aws.ToString(out.LoggingEnabled.TargetPrefix) != "access/" ||
			out.LoggingEnabled.TargetObjectKeyFormat.PartitionedPrefix.PartitionDateSource != s3types.PartitionDateSourceEventTime {
			t.Errorf("GetBucketLogging = %+v, %v", out.LoggingEnabled, err)
		}
		sandboxtest.WantCode(t, put("missing-target"), "InvalidTargetBucketForLogging")
		_, err = c.PutBucketLogging(ctx, &s3.PutBucketLoggingInput{Bucket: b, BucketLoggingStatus: &s3types.BucketLoggingStatus{
			LoggingEnabled: &s3types.LoggingEnabled{TargetBucket: aws.String("cfg-logs"), TargetPrefix: aws.String("g/"), TargetGrants: []s3types.TargetGrant{{
				Grantee: &s3types.Grantee{Type: s3types.TypeCanonicalUser, ID: aws.String(strings.Repeat("a", 64))}, Permission: s3types.BucketLogsPermissionRead}}}}})
		sandboxtest.WantCode(t, err, "InvalidTargetBucketForLogging")
		sandboxtest.WantCode(t, put("east-logs"), "CrossLocationLoggingProhibitted")
		if _, err := c.PutBucketLogging(ctx, &s3.PutBucketLoggingInput{Bucket: b, BucketLoggingStatus: &s3types.BucketLoggingStatus{}}); err != nil {
			t.Fatal(err)
		}
		if out, err := c.GetBucketLogging(ctx, &s3.GetBucketLoggingInput{Bucket: b}); err != nil || out.LoggingEnabled != nil {
			t.Errorf("logging after disabling = %+v, %v", out, err)
		}
	})
	t.Run("tagging", func(t *testing.T) {
		tags := []s3types.Tag{{Key: aws.String("team"), Value: aws.String("audit")}, {Key: aws.String("env"), Value: aws.String("")}}
		if _, err := c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: b, Tagging: &s3types.Tagging{TagSet: tags}}); err != nil {
			t.Fatal(err)
		}
		out, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: b})
		if err != nil || len(out.TagSet) != 2 || aws.ToString(out.TagSet[0].Value) != "audit" {
			t.Errorf("GetBucketTagging = %+v, %v", out, err)
		}
		for _, bad := range [][]s3types.Tag{
			{{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("a"), Value: aws.String("2")}},
			{{Key: aws.String("aws:reserved"), Value: aws.String("1")}},
		} {
			_, err := c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: b, Tagging: &s3types.Tagging{TagSet: bad}})
			sandboxtest.WantCode(t, err, "InvalidTag")
		}
		if _, err := c.DeleteBucketTagging(ctx, &s3.DeleteBucketTaggingInput{Bucket: b}); err != nil {
			t.Fatal(err)
		}
		_, err = c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: b})
		sandboxtest.WantCode(t, err, "NoSuchTagSet")
	})
	t.Run("object lock", func(t *testing.T) {
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("locked-bucket"), ObjectLockEnabledForBucket: aws.Bool(true),
			CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "eu-west-1"}}); err != nil {
			t.Fatal(err)
		}
		lb := aws.String("locked-bucket")
		out, err := c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: lb})
		if err != nil || out.ObjectLockConfiguration.ObjectLockEnabled != s3types.ObjectLockEnabledEnabled || out.ObjectLockConfiguration.Rule != nil {
			t.Errorf("GetObjectLockConfiguration = %+v, %v", out, err)
		}
		if v, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: lb}); err != nil || v.Status != s3types.BucketVersioningStatusEnabled {
			t.Errorf("object lock bucket versioning = %+v, %v", v, err)
		}
		_, err = c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: lb, VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusSuspended}})
		sandboxtest.WantCode(t, err, "InvalidBucketState")
		if _, err := c.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: lb, ObjectLockConfiguration: &s3types.ObjectLockConfiguration{
			ObjectLockEnabled: s3types.ObjectLockEnabledEnabled,
			Rule:              &s3types.ObjectLockRule{DefaultRetention: &s3types.DefaultRetention{Mode: s3types.ObjectLockRetentionModeCompliance, Days: aws.Int32(1)}},
		}}); err != nil {
			t.Fatalf("PutObjectLockConfiguration: %v", err)
		}
		out, err = c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: lb})
		if err != nil || out.ObjectLockConfiguration.Rule.DefaultRetention.Mode != s3types.ObjectLockRetentionModeCompliance || aws.ToInt32(out.ObjectLockConfiguration.Rule.DefaultRetention.Days) != 1 {
			t.Errorf("GetObjectLockConfiguration = %+v, %v", out, err)
		}
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: lb, Key: aws.String("kept"), Body: strings.NewReader("evidence")})
		sandboxtest.WantCode(t, err, "InvalidRequest")
		put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: lb, Key: aws.String("kept"), Body: strings.NewReader("evidence"), ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: lb, Key: aws.String("kept"), VersionId: put.VersionId})
		sandboxtest.WantCode(t, err, "AccessDenied")
		_, err = c.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String("cfg-logs"), ObjectLockConfiguration: &s3types.ObjectLockConfiguration{ObjectLockEnabled: s3types.ObjectLockEnabledEnabled}})
		sandboxtest.WantCode(t, err, "InvalidBucketState")
	})
}

func TestObjects(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true})
	ctx := context.Background()
	c := e.S3("us-east-1")
	e.MakeBucket(t, "us-east-1", "objects", "")
	b := aws.String("objects")
	keys := []string{"a.txt", "dir/one", "dir/two", "dir/sub/three", "other/x", "z y"}
	for _, k := range keys {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String(k), Body: strings.NewReader("body of " + k)}); err != nil {
			t.Fatalf("PutObject %s: %v", k, err)
		}
	}
	put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("meta"), Body: strings.NewReader("{}"), ContentType: aws.String("application/json"),
		Metadata: map[string]string{"owner": "audit"}, CacheControl: aws.String("no-cache")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(put.ETag) != `"99914b932bd37a50b983c5e7c90ae93b"` || put.ServerSideEncryption != s3types.ServerSideEncryptionAes256 {
		t.Errorf("PutObject output = ETag %s SSE %s", aws.ToString(put.ETag), put.ServerSideEncryption)
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: aws.String("meta")})
	if err != nil || aws.ToString(head.ContentType) != "application/json" || head.Metadata["owner"] != "audit" || aws.ToString(head.CacheControl) != "no-cache" || aws.ToInt64(head.ContentLength) != 2 {
		t.Errorf("HeadObject = %+v, %v", head, err)
	}
	if got := sandboxtest.ReadObject(t, c, "objects", "z y", nil); got != "body of z y" {
		t.Errorf("GetObject = %q", got)
	}
	rng, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("a.txt"), Range: aws.String("bytes=0-3")})
	if err != nil {
		t.Fatal(err)
	}
	part, err := io.ReadAll(rng.Body)
	if cerr := rng.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("reading the ranged GetObject: %v", err)
	}
	if string(part) != "body" {
		t.Errorf("ranged GetObject = %q", part)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("missing")})
	sandboxtest.WantCode(t, err, "NoSuchKey")
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: aws.String("missing")})
	sandboxtest.WantCode(t, err, "NotFound")
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("md5"), Body: strings.NewReader("x"), ContentMD5: aws.String("1B2M2Y8AsgTpgAmY7PhCfg==")})
	sandboxtest.WantCode(t, err, "BadDigest")
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("a.txt"), Body: strings.NewReader("x"), IfNoneMatch: aws.String("*")})
	sandboxtest.WantCode(t, err, "PreconditionFailed")

	list := func(in *s3.ListObjectsV2Input) (keys, prefixes []string, next *string) {
		t.Helper()
		in.Bucket = b
		out, err := c.ListObjectsV2(ctx, in)
		if err != nil {
			t.Fatalf("ListObjectsV2: %v", err)
		}
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		for _, p := range out.CommonPrefixes {
			prefixes = append(prefixes, aws.ToString(p.Prefix))
		}
		if aws.ToInt32(out.KeyCount) != int32(len(keys)+len(prefixes)) {
			t.Errorf("KeyCount %d for %d entries", aws.ToInt32(out.KeyCount), len(keys)+len(prefixes))
		}
		return keys, prefixes, out.NextContinuationToken
	}
	k, p, _ := list(&s3.ListObjectsV2Input{Delimiter: aws.String("/")})
	if fmt.Sprint(k, p) != "[a.txt meta z y] [dir/ other/]" {
		t.Errorf("delimited listing = %v %v", k, p)
	}
	k, p, _ = list(&s3.ListObjectsV2Input{Prefix: aws.String("dir/"), Delimiter: aws.String("/")})
	if fmt.Sprint(k, p) != "[dir/one dir/two] [dir/sub/]" {
		t.Errorf("prefix listing = %v %v", k, p)
	}
	k, _, _ = list(&s3.ListObjectsV2Input{StartAfter: aws.String("dir/two")})
	if fmt.Sprint(k) != "[meta other/x z y]" {
		t.Errorf("start-after listing = %v", k)
	}
	var all []string
	var token *string
	for range 10 {
		k, p, next := list(&s3.ListObjectsV2Input{Delimiter: aws.String("/"), MaxKeys: aws.Int32(2), ContinuationToken: token})
		all = append(append(all, k...), p...)
		if token = next; token == nil {
			break
		}
	}
	if fmt.Sprint(all) != "[a.txt dir/ meta other/ z y]" {
		t.Errorf("paged delimited listing = %v", all)
	}
	v1, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: b, Delimiter: aws.String("/"), MaxKeys: aws.Int32(2)})
	if err != nil || len(v1.Contents) != 1 || len(v1.CommonPrefixes) != 1 || !aws.ToBool(v1.IsTruncated) || aws.ToString(v1.NextMarker) != "dir/" {
		t.Errorf("ListObjects (v1) = %+v, %v", v1, err)
	}
	_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b, ContinuationToken: aws.String("!!!")})
	sandboxtest.WantCode(t, err, "InvalidArgument")

	del, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: b, Delete: &s3types.Delete{Objects: []s3types.ObjectIdentifier{
		{Key: aws.String("dir/one")}, {Key: aws.String("dir/two")}, {Key: aws.String("never-existed")},
	}}})
	if err != nil || len(del.Deleted) != 3 || len(del.Errors) != 0 {
		t.Fatalf("DeleteObjects = %+v, %v", del, err)
	}
	k, _, _ = list(&s3.ListObjectsV2Input{Prefix: aws.String("dir/")})
	if fmt.Sprint(k) != "[dir/sub/three]" {
		t.Errorf("after DeleteObjects = %v", k)
	}
}

func TestVersioning(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true})
	ctx := context.Background()
	c := e.S3("us-east-1")
	e.MakeBucket(t, "us-east-1", "versions", "")
	b := aws.String("versions")
	putBody := func(key, body string) *string {
		out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String(key), Body: strings.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		return out.VersionId
	}
	if id := putBody("k", "unversioned"); id != nil {
		t.Errorf("unversioned put returned version %q", aws.ToString(id))
	}
	setVersioning := func(status s3types.BucketVersioningStatus) {
		if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: b, VersioningConfiguration: &s3types.VersioningConfiguration{Status: status}}); err != nil {
			t.Fatal(err)
		}
	}
	setVersioning(s3types.BucketVersioningStatusEnabled)
	v1 := putBody("k", "one")
	v2 := putBody("k", "two")
	if aws.ToString(v1) == "" || aws.ToString(v1) == aws.ToString(v2) || aws.ToString(v1) == "null" {
		t.Fatalf("version ids %q %q", aws.ToString(v1), aws.ToString(v2))
	}
	if got := sandboxtest.ReadObject(t, c, "versions", "k", v1); got != "one" {
		t.Errorf("GetObject v1 = %q", got)
	}
	if got := sandboxtest.ReadObject(t, c, "versions", "k", aws.String("null")); got != "unversioned" {
		t.Errorf("GetObject null version = %q", got)
	}
	_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("k"), VersionId: aws.String(strings.Repeat("A", 32))})
	sandboxtest.WantCode(t, err, "NoSuchVersion")
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("k"), VersionId: aws.String("bad id")})
	sandboxtest.WantCode(t, err, "InvalidArgument")

	del, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: aws.String("k")})
	if err != nil || !aws.ToBool(del.DeleteMarker) || aws.ToString(del.VersionId) == "" {
		t.Fatalf("DeleteObject = %+v, %v", del, err)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("k")})
	sandboxtest.WantCode(t, err, "NoSuchKey")
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("k"), VersionId: del.VersionId})
	sandboxtest.WantCode(t, err, "MethodNotAllowed")

	vs, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: b})
	if err != nil || len(vs.Versions) != 3 || len(vs.DeleteMarkers) != 1 || !aws.ToBool(vs.DeleteMarkers[0].IsLatest) || aws.ToBool(vs.Versions[0].IsLatest) {
		t.Fatalf("ListObjectVersions = %+v, %v", vs, err)
	}
	if aws.ToString(vs.Versions[0].VersionId) != aws.ToString(v2) || aws.ToString(vs.Versions[2].VersionId) != "null" {
		t.Errorf("versions not newest first: %s %s", aws.ToString(vs.Versions[0].VersionId), aws.ToString(vs.Versions[2].VersionId))
	}
	var seen []string
	in := &s3.ListObjectVersionsInput{Bucket: b, MaxKeys: aws.Int32(3)}
	for range 5 {
		page, err := c.ListObjectVersions(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.DeleteMarkers {
			seen = append(seen, "marker:"+aws.ToString(m.VersionId))
		}
		for _, v := range page.Versions {
			seen = append(seen, aws.ToString(v.VersionId))
		}
		if !aws.ToBool(page.IsTruncated) {
			break
		}
		in.KeyMarker, in.VersionIdMarker = page.NextKeyMarker, page.NextVersionIdMarker
	}
	if len(seen) != 4 {
		t.Errorf("paged ListObjectVersions saw %v", seen)
	}

	_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: b})
	sandboxtest.WantCode(t, err, "BucketNotEmpty")
	// Removing the delete marker brings the previous version back.
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: aws.String("k"), VersionId: del.VersionId}); err != nil {
		t.Fatal(err)
	}
	if got := sandboxtest.ReadObject(t, c, "versions", "k", nil); got != "two" {
		t.Errorf("after removing the delete marker = %q", got)
	}

	setVersioning(s3types.BucketVersioningStatusSuspended)
	if id := aws.ToString(putBody("k", "suspended")); id != "null" {
		t.Errorf("suspended put version = %q, want null", id)
	}
	vs, err = c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: b})
	if err != nil || len(vs.Versions) != 3 {
		t.Fatalf("after suspended put: %d versions, %v (the null version must be replaced)", len(vs.Versions), err)
	}
	if got := sandboxtest.ReadObject(t, c, "versions", "k", aws.String("null")); got != "suspended" {
		t.Errorf("null version = %q", got)
	}
}

// TestManagementCallsRecorded checks S3 bucket writes appear in
// LookupEvents as CloudTrail records them, failures included.
func TestManagementCallsRecorded(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true})
	ctx := context.Background()
	e.MakeBucket(t, "eu-central-1", "recorded-bucket", "")
	// Distinct event times make the newest-first order certain.
	e.Clock.Advance(time.Second)
	if _, err := e.S3("eu-central-1").PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("recorded-bucket"),
		Policy: aws.String(sandboxtest.TrailPolicy("recorded-bucket", "", "123456789012", sandboxtest.TrailARN("eu-central-1", "123456789012", "t")))}); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(time.Second)
	_, err := e.S3("eu-central-1").PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("recorded-bucket"), Policy: aws.String("{")})
	sandboxtest.WantCode(t, err, "MalformedPolicy")
	out, err := e.CloudTrail("eu-central-1").LookupEvents(ctx, &cloudtrail.LookupEventsInput{
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventSource, AttributeValue: aws.String("s3.amazonaws.com")}},
	})
	if err != nil {
		t.Fatalf("LookupEvents: %v", err)
	}
	var names []string
	for _, ev := range out.Events {
		names = append(names, aws.ToString(ev.EventName))
	}
	if fmt.Sprint(names) != "[PutBucketPolicy PutBucketPolicy CreateBucket]" {
		t.Fatalf("recorded S3 events = %v", names)
	}
	var failed, ok struct {
		ErrorCode         string `json:"errorCode"`
		AWSRegion         string `json:"awsRegion"`
		RequestParameters struct {
			BucketName   string         `json:"bucketName"`
			BucketPolicy map[string]any `json:"bucketPolicy"`
		} `json:"requestParameters"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Events[0].CloudTrailEvent)), &failed); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Events[1].CloudTrailEvent)), &ok); err != nil {
		t.Fatal(err)
	}
	if failed.ErrorCode != "MalformedPolicy" || ok.ErrorCode != "" || ok.RequestParameters.BucketName != "recorded-bucket" || ok.RequestParameters.BucketPolicy["Version"] != "2012-10-17" || ok.AWSRegion != "eu-central-1" {
		t.Errorf("records = %+v / %+v", failed, ok)
	}
	if r := out.Events[2].Resources; len(r) == 0 || aws.ToString(r[0].ResourceName) != "arn:aws:s3:::recorded-bucket" {
		t.Errorf("CreateBucket resources = %+v", r)
	}
}
