package sandbox_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

func TestWrongCredentialsPerService(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true})
	ctx := context.Background()
	unknown := sandboxtest.Creds("AKIAUNKNOWN", "test", "")
	badSecret := sandboxtest.Creds("test", "wrong", "")
	ctWith := func(creds aws.CredentialsProvider) *cloudtrail.Client {
		return cloudtrail.New(cloudtrail.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.URL), Credentials: creds, Retryer: sandboxtest.Retryer()})
	}
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"s3 unknown key", func() error {
			_, err := sandboxtest.S3Client(e.URL, "us-east-1", unknown).ListBuckets(ctx, &s3.ListBucketsInput{})
			return err
		}, "InvalidAccessKeyId"},
		{"s3 bad signature", func() error {
			_, err := sandboxtest.S3Client(e.URL, "us-east-1", badSecret).ListBuckets(ctx, &s3.ListBucketsInput{})
			return err
		}, "SignatureDoesNotMatch"},
		{"sts unknown key", func() error {
			_, err := sandboxtest.STSClient(e.URL, "us-east-1", unknown).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			return err
		}, "InvalidClientTokenId"},
		{"sts bad signature", func() error {
			_, err := sandboxtest.STSClient(e.URL, "us-east-1", badSecret).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			return err
		}, "SignatureDoesNotMatch"},
		{"cloudtrail unknown key", func() error { _, err := ctWith(unknown).ListTrails(ctx, &cloudtrail.ListTrailsInput{}); return err }, "UnrecognizedClientException"},
		{"cloudtrail bad signature", func() error { _, err := ctWith(badSecret).ListTrails(ctx, &cloudtrail.ListTrailsInput{}); return err }, "InvalidSignatureException"},
		{"token with a long-term key", func() error {
			_, err := sandboxtest.S3Client(e.URL, "us-east-1", sandboxtest.Creds("test", "test", "bogus")).ListBuckets(ctx, &s3.ListBucketsInput{})
			return err
		}, "InvalidToken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { sandboxtest.WantCode(t, tt.call(), tt.want) })
	}
}
