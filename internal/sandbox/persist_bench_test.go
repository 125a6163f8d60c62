package sandbox_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
)

// BenchmarkPutObjectWithData times 10,000 PutObject calls with a data
// directory, each acknowledged only once durable: the cost of -data.
func BenchmarkPutObjectWithData(b *testing.B) {
	const puts = 10000
	for range b.N {
		srv, err := sandbox.New(sandbox.Options{NoHistory: true, DataDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		hs := httptest.NewServer(srv)
		c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), UsePathStyle: true,
			Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
		ctx := context.Background()
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bench")}); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for i := range puts {
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bench"), Key: aws.String(fmt.Sprintf("AWSLogs/%05d.json", i)), Body: strings.NewReader(fmt.Sprintf("body %d", i))}); err != nil {
				b.Fatal(err)
			}
			if i == 999 {
				b.ReportMetric(time.Since(start).Seconds(), "s/first1000")
			}
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/10000puts")
		hs.Close()
	}
}
