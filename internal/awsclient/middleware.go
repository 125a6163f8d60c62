package awsclient

import (
	"context"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go/middleware"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"golang.org/x/time/rate"
)

// logCalls adds a debug line for every call: service, operation, region,
// request id, attempts and duration. Never headers or bodies, which carry
// signatures, session tokens and engine attributes.
//
// It sits at the end of the Initialize step because clients generated before
// the SDK moved service metadata into invokeOperation (CloudTrail among them)
// register the service, operation and region in an Initialize middleware
// added Before, and the stack values it sets are visible only downstream.
func logCalls(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("OpsauditLogging",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			start := time.Now()
			out, md, err := next.HandleInitialize(ctx, in)
			fields := map[string]any{
				"aws_service":   awsmiddleware.GetServiceID(ctx),
				"aws_operation": awsmiddleware.GetOperationName(ctx),
				"aws_region":    awsmiddleware.GetRegion(ctx),
				"duration_ms":   time.Since(start).Milliseconds(),
			}
			if id, ok := awsmiddleware.GetRequestIDMetadata(md); ok {
				fields["aws_request_id"] = id
			}
			if attempts, ok := retry.GetAttemptResults(md); ok {
				fields["aws_attempts"] = len(attempts.Results)
			}
			if err != nil {
				fields["error"] = err.Error()
				tflog.Debug(ctx, "AWS call failed", fields)
			} else {
				tflog.Debug(ctx, "AWS call", fields)
			}
			return out, md, err
		}), middleware.After)
}

// paceLookups makes every LookupEvents attempt, retries included, wait for
// the region's limiter, so the provider itself never exceeds the API's
// per-region rate however many queries run at once.
func paceLookups(limiter *rate.Limiter) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("OpsauditLookupPace",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if awsmiddleware.GetOperationName(ctx) == "LookupEvents" {
					if err := limiter.Wait(ctx); err != nil {
						return middleware.FinalizeOutput{}, middleware.Metadata{}, err
					}
				}
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
	}
}
