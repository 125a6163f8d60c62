// Package awserr is how every part of the provider that calls AWS talks
// about AWS errors: it recognises them (by the SDK's typed exception where
// the SDK has one, by error code otherwise), retries calls while they fail
// with a transient code, and says what to do about each code. It uses no
// Terraform schema or value types (only the plugin logger), so the event
// readers use it as the resources do.
package awserr

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/cenkalti/backoff/v5"
	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// PropagationTimeout bounds the wait for a change AWS has accepted to show
// everywhere: a new object that reads back as not found, a new bucket that
// its sub-resource calls do not see yet. hashicorp/aws waits as long.
const PropagationTimeout = 2 * time.Minute

// Code is the AWS error code err carries, "" when it carries none (a
// network error, a cancelled context).
func Code(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// Message is the AWS error message err carries, "" when it carries none.
func Message(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorMessage()
	}
	return ""
}

// IsA reports whether err is, or wraps, the SDK's typed exception E, such
// as *types.TrailNotFoundException. Use it where the SDK models the error:
// the compiler then checks the name.
func IsA[E error](err error) bool {
	var target E
	return errors.As(err, &target)
}

// HasCode reports whether err carries one of codes, for the errors the SDK
// models only by code (most of S3's, such as NoSuchBucketPolicy).
func HasCode(err error, codes ...string) bool {
	c := Code(err)
	return c != "" && slices.Contains(codes, c)
}

// BucketNotFound reports whether err says the S3 bucket does not exist:
// HeadBucket's typed NotFound (a 404 has no body to carry a code), or
// NoSuchBucket, which the SDK models as a type for a few listing operations
// and as a bare code for all the others.
func BucketNotFound(err error) bool {
	return IsA[*s3types.NotFound](err) || HasCode(err, "NoSuchBucket")
}

// NotConfigured reports whether err is an S3 getter's answer that the bucket
// has no such sub-resource (no policy, no lifecycle, no tags...): a state to
// read as empty, not a failure. The SDK models none of these as types.
func NotConfigured(err error) bool {
	return HasCode(err, "NoSuchBucketPolicy", "NoSuchPublicAccessBlockConfiguration", "OwnershipControlsNotFoundError",
		"ServerSideEncryptionConfigurationNotFoundError", "NoSuchLifecycleConfiguration",
		"ObjectLockConfigurationNotFoundError", "NoSuchTagSet")
}

// RetryWhen runs op until it succeeds, fails with an error that carries
// none of codes, timeout has passed since the first call (0: no bound of its
// own), or ctx ends. Waits between calls grow from half a second to 15
// seconds. When it gives up on a retried code because ctx ended, the error
// wraps both the last AWS error and the context's, so its code and the
// deadline can both be told.
func RetryWhen[T any](ctx context.Context, timeout time.Duration, op func(context.Context) (T, error), codes ...string) (T, error) {
	b := backoff.NewExponentialBackOff()
	b.MaxInterval = 15 * time.Second
	var last error
	out, err := backoff.Retry(ctx, func() (T, error) {
		v, err := op(ctx)
		if err != nil && !HasCode(err, codes...) {
			return v, backoff.Permanent(err)
		}
		last = err
		return v, err
	}, backoff.WithBackOff(b), backoff.WithMaxElapsedTime(timeout), backoff.WithNotify(func(err error, wait time.Duration) {
		tflog.Debug(ctx, "retrying AWS call", map[string]any{"code": Code(err), "error": err.Error(), "wait": wait.String()})
	}))
	if err != nil && last != nil && ctx.Err() != nil && !errors.Is(err, last) {
		err = fmt.Errorf("%w; gave up waiting: %w", last, err)
	}
	return out, err
}
