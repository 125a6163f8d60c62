package archive

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awserr"
)

// S3Client is the part of *s3.Client a bucket is read with.
type S3Client interface {
	s3.ListObjectsV2APIClient
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Bucket is a trail's S3 bucket, read through a client of the bucket's
// region.
type Bucket struct {
	client S3Client
	name   string
}

// NewBucket returns the bucket name read through client.
func NewBucket(client S3Client, name string) *Bucket {
	return &Bucket{client: client, name: name}
}

// Name is s3://bucket.
func (b *Bucket) Name() string { return "s3://" + b.name }

// List pages through ListObjectsV2.
func (b *Bucket) List(ctx context.Context, prefix, delimiter string) (Listing, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(b.name), Prefix: aws.String(prefix)}
	if delimiter != "" {
		in.Delimiter = aws.String(delimiter)
	}
	var l Listing
	pages := s3.NewListObjectsV2Paginator(b.client, in)
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return Listing{}, fmt.Errorf("listing s3://%s/%s: %w", b.name, prefix, storeError(err))
		}
		for _, o := range out.Contents {
			l.Objects = append(l.Objects, ObjectInfo{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size)})
		}
		for _, p := range out.CommonPrefixes {
			l.Prefixes = append(l.Prefixes, aws.ToString(p.Prefix))
		}
	}
	return l, nil
}

// Open starts a GetObject; the body streams from the network as it is read.
func (b *Bucket) Open(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.name), Key: aws.String(key)})
	if err != nil {
		return nil, ObjectInfo{}, fmt.Errorf("getting s3://%s/%s: %w", b.name, key, storeError(err))
	}
	info := ObjectInfo{Key: key, Size: aws.ToInt64(out.ContentLength)}
	if len(out.Metadata) > 0 {
		info.Metadata = make(map[string]string, len(out.Metadata))
		for k, v := range out.Metadata {
			info.Metadata[strings.ToLower(k)] = v
		}
	}
	return out.Body, info, nil
}

// StoreError is a refusal by the store, with its error code and what to
// do about it. Missing objects and buckets satisfy
// errors.Is(err, fs.ErrNotExist), refused access
// errors.Is(err, fs.ErrPermission).
type StoreError struct {
	Code    string
	Message string
	Advice  string
	kind    error
	err     error
}

func (e *StoreError) Error() string {
	msg := e.Code + ": " + e.Message
	if e.Advice != "" {
		msg += ". " + e.Advice
	}
	return msg
}

func (e *StoreError) Is(target error) bool { return e.kind != nil && target == e.kind }

func (e *StoreError) Unwrap() error { return e.err }

// storeError turns an S3 API error into a StoreError. Other errors
// (network, cancellation) are returned as they are.
func storeError(err error) error {
	code := awserr.Code(err)
	if code == "" {
		return err
	}
	e := &StoreError{Code: code, Message: awserr.Message(err), Advice: awserr.Advice(err), err: err}
	if e.Message == "" {
		e.Message = err.Error()
	}
	switch {
	case awserr.BucketNotFound(err) || awserr.IsA[*s3types.NoSuchKey](err) || code == "NoSuchKey":
		e.kind = fs.ErrNotExist
	case awserr.HasCode(err, "AccessDenied", "Forbidden", "AllAccessDisabled"):
		e.kind = fs.ErrPermission
	}
	return e
}
