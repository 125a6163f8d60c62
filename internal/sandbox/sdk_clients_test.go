package sandbox

import (
	"context"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Clients with chosen credentials, for the auth, STS and S3 tests; the
// CloudTrail helpers' clients always use the configured key pair.

func staticCreds(key, secret, token string) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(key, secret, token)
}

func s3With(url, region string, creds aws.CredentialsProvider, optFns ...func(*s3.Options)) *s3.Client {
	return s3.New(s3.Options{
		Region:       region,
		BaseEndpoint: aws.String(url),
		Credentials:  creds,
		UsePathStyle: true,
		Retryer:      connectionRetryer(),
	}, optFns...)
}

func stsWith(url, region string, creds aws.CredentialsProvider) *sts.Client {
	return sts.New(sts.Options{
		Region:       region,
		BaseEndpoint: aws.String(url),
		Credentials:  creds,
		Retryer:      connectionRetryer(),
	})
}

// readObject returns an object's body, failing the test on error.
func readObject(t *testing.T, c *s3.Client, bucket, key string, versionID *string) string {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), VersionId: versionID})
	if err != nil {
		t.Fatalf("GetObject %s/%s: %v", bucket, key, err)
	}
	b, err := io.ReadAll(out.Body)
	if cerr := out.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("reading %s/%s: %v", bucket, key, err)
	}
	return string(b)
}
