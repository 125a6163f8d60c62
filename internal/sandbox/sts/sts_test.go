package sts_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

func TestGetCallerIdentity(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true, Account: "111122223333"})
	out, err := e.STS("eu-west-1").GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	if got := aws.ToString(out.Account); got != "111122223333" {
		t.Errorf("Account = %q", got)
	}
	if got := aws.ToString(out.Arn); got != "arn:aws:iam::111122223333:user/sandbox" {
		t.Errorf("Arn = %q", got)
	}
	if got := aws.ToString(out.UserId); !strings.HasPrefix(got, "AIDA") || len(got) != 21 {
		t.Errorf("UserId = %q, want AIDA + 17 characters", got)
	}
}

func TestAssumeRole(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true})
	ctx := context.Background()
	base := e.STS("us-east-1")
	out, err := base.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn:         aws.String("arn:aws:iam::123456789012:role/path/auditor"),
		RoleSessionName: aws.String("ci-run"),
		ExternalId:      aws.String("ext-123"),
		DurationSeconds: aws.Int32(900),
	})
	if err != nil {
		t.Fatalf("AssumeRole: %v", err)
	}
	cr := out.Credentials
	if !strings.HasPrefix(aws.ToString(cr.AccessKeyId), "ASIA") || aws.ToString(cr.SessionToken) == "" {
		t.Errorf("credentials = %+v", cr)
	}
	// newCTEnv pins Options.Now, which expirations are relative to.
	if got := aws.ToTime(cr.Expiration); !got.Equal(sandboxtest.Now.Add(900 * time.Second)) {
		t.Errorf("Expiration = %v, want 900s after %v", got, sandboxtest.Now)
	}
	wantARN := "arn:aws:sts::123456789012:assumed-role/auditor/ci-run"
	if got := aws.ToString(out.AssumedRoleUser.Arn); got != wantARN {
		t.Errorf("AssumedRoleUser.Arn = %q, want %q", got, wantARN)
	}
	roleCreds := sandboxtest.Creds(aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), aws.ToString(cr.SessionToken))
	id, err := sandboxtest.STSClient(e.URL, "us-east-1", roleCreds).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity with role credentials: %v", err)
	}
	if aws.ToString(id.Arn) != wantARN || !strings.HasSuffix(aws.ToString(id.UserId), ":ci-run") || !strings.HasPrefix(aws.ToString(id.UserId), "AROA") {
		t.Errorf("identity = %s / %s", aws.ToString(id.Arn), aws.ToString(id.UserId))
	}

	t.Run("session token must match", func(t *testing.T) {
		bad := sandboxtest.Creds(aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), "forged")
		_, err := sandboxtest.STSClient(e.URL, "us-east-1", bad).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		sandboxtest.WantCode(t, err, "InvalidClientTokenId")
		_, err = sandboxtest.S3Client(e.URL, "us-east-1", bad).ListBuckets(ctx, &s3.ListBucketsInput{})
		sandboxtest.WantCode(t, err, "InvalidToken")
		missing := sandboxtest.Creds(aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), "")
		_, err = sandboxtest.STSClient(e.URL, "us-east-1", missing).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		sandboxtest.WantCode(t, err, "InvalidClientTokenId")
	})
	t.Run("role chaining is limited to an hour", func(t *testing.T) {
		_, err := sandboxtest.STSClient(e.URL, "us-east-1", roleCreds).AssumeRole(ctx, &sts.AssumeRoleInput{
			RoleArn: aws.String("arn:aws:iam::123456789012:role/next"), RoleSessionName: aws.String("chain"), DurationSeconds: aws.Int32(7200),
		})
		sandboxtest.WantCode(t, err, "ValidationError")
	})
	t.Run("validation", func(t *testing.T) {
		for _, in := range []*sts.AssumeRoleInput{
			{RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(899)},
			{RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(43201)},
			{RoleArn: aws.String("arn:aws:iam::123456789012:user/r"), RoleSessionName: aws.String("s1")},
			{RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), RoleSessionName: aws.String("bad session")},
			{RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), RoleSessionName: aws.String("s1"), ExternalId: aws.String("x")},
		} {
			_, err := base.AssumeRole(ctx, in)
			sandboxtest.WantCode(t, err, "ValidationError")
		}
		if _, err := base.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(43200)}); err != nil {
			t.Errorf("AssumeRole for 12 hours: %v", err)
		}
	})
	t.Run("another account owns its buckets", func(t *testing.T) {
		other, err := base.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::210987654321:role/deployer"), RoleSessionName: aws.String("x-acct")})
		if err != nil {
			t.Fatalf("AssumeRole into another account: %v", err)
		}
		oc := other.Credentials
		otherCreds := sandboxtest.Creds(aws.ToString(oc.AccessKeyId), aws.ToString(oc.SecretAccessKey), aws.ToString(oc.SessionToken))
		id, err := sandboxtest.STSClient(e.URL, "us-east-1", otherCreds).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil || aws.ToString(id.Account) != "210987654321" {
			t.Fatalf("GetCallerIdentity in the other account: %v, %v", id, err)
		}
		otherS3 := sandboxtest.S3Client(e.URL, "us-east-1", otherCreds)
		if _, err := otherS3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("other-account-bucket")}); err != nil {
			t.Fatalf("CreateBucket in the other account: %v", err)
		}
		_, err = e.S3("us-east-1").CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("other-account-bucket")})
		sandboxtest.WantCode(t, err, "BucketAlreadyExists")
		_, err = e.S3("us-east-1").GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("other-account-bucket")})
		sandboxtest.WantCode(t, err, "AccessDenied")
		list, err := e.S3("us-east-1").ListBuckets(ctx, &s3.ListBucketsInput{})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range list.Buckets {
			if aws.ToString(b.Name) == "other-account-bucket" {
				t.Errorf("ListBuckets shows another account's bucket")
			}
		}
	})
	t.Run("expired credentials", func(t *testing.T) {
		e.Clock.Advance(901 * time.Second)
		_, err := sandboxtest.STSClient(e.URL, "us-east-1", roleCreds).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		sandboxtest.WantCode(t, err, "ExpiredToken")
		_, err = sandboxtest.S3Client(e.URL, "us-east-1", roleCreds).ListBuckets(ctx, &s3.ListBucketsInput{})
		sandboxtest.WantCode(t, err, "ExpiredToken")
	})
}
