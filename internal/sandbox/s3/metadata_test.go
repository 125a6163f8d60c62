package s3_test

import (
	"bufio"
	"context"
	"net"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

// TestUserMetadataInLowerCase checks user metadata comes back named in
// lower case, as S3 answers it, through the Go SDK and on the wire: the
// SDK lowercases names itself, botocore keeps the case it receives (the
// AWS CLI's side is in TestCLIS3AndSTS).
func TestUserMetadataInLowerCase(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true})
	ctx := context.Background()
	c := e.S3("us-east-1")
	e.MakeBucket(t, "us-east-1", "meta-bucket", "")
	b, k := aws.String("meta-bucket"), aws.String("signed.json.gz")
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: k, Body: strings.NewReader("{}"),
		Metadata: map[string]string{"Foo-Bar": "x", "Signature-Algorithm": "SHA256withRSA"}}); err != nil {
		t.Fatal(err)
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: k})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"foo-bar": "x", "signature-algorithm": "SHA256withRSA"}; !reflect.DeepEqual(head.Metadata, want) {
		t.Errorf("HeadObject metadata = %v, want %v", head.Metadata, want)
	}

	// net/http's client puts every header name in canonical case, so read
	// the answer's header lines off the connection.
	ps, err := s3.NewPresignClient(c).PresignHeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: k})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(ps.URL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := conn.Close(); err != nil {
			t.Error(err)
		}
	}()
	if _, err := conn.Write([]byte("HEAD " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nConnection: close\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	var lines []string
	br := bufio.NewReader(conn)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the answer after %q: %v", lines, err)
		}
		if line = strings.TrimRight(line, "\r\n"); line == "" {
			break
		}
		lines = append(lines, line)
	}
	if !strings.HasSuffix(lines[0], " 200 OK") || !slices.Contains(lines, "x-amz-meta-foo-bar: x") || !slices.Contains(lines, "x-amz-meta-signature-algorithm: SHA256withRSA") {
		t.Errorf("HEAD answered %q, want x-amz-meta-foo-bar and x-amz-meta-signature-algorithm", lines)
	}
}
