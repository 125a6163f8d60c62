package provider

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestLogExpirationDays(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	rule := func(prefix *string, days int32, enabled bool) s3types.LifecycleRule {
		r := s3types.LifecycleRule{Status: s3types.ExpirationStatusDisabled, Expiration: &s3types.LifecycleExpiration{Days: aws.Int32(days)}}
		if enabled {
			r.Status = s3types.ExpirationStatusEnabled
		}
		if prefix != nil {
			r.Filter = &s3types.LifecycleRuleFilter{Prefix: prefix}
		}
		return r
	}
	for _, tc := range []struct {
		name      string
		rules     []s3types.LifecycleRule
		keyPrefix string
		want      int
	}{
		{"no rules", nil, "", 0},
		{"whole bucket", []s3types.LifecycleRule{rule(aws.String(""), 365, true)}, "", 365},
		{"disabled rule", []s3types.LifecycleRule{rule(aws.String(""), 30, false)}, "", 0},
		{"shortest applies", []s3types.LifecycleRule{rule(aws.String(""), 365, true), rule(aws.String("AWSLogs/"), 30, true)}, "", 30},
		{"narrower than the log prefix", []s3types.LifecycleRule{rule(aws.String("audit/AWSLogs/123456789012/"), 10, true)}, "audit", 10},
		{"other prefix", []s3types.LifecycleRule{rule(aws.String("tmp/"), 1, true)}, "", 0},
		{"key prefix not matched", []s3types.LifecycleRule{rule(aws.String("AWSLogs/"), 1, true)}, "audit", 0},
		{"and filter", []s3types.LifecycleRule{{Status: s3types.ExpirationStatusEnabled,
			Filter:     &s3types.LifecycleRuleFilter{And: &s3types.LifecycleRuleAndOperator{Prefix: aws.String("audit/")}},
			Expiration: &s3types.LifecycleExpiration{Days: aws.Int32(90)}}}, "audit", 90},
		{"legacy prefix", []s3types.LifecycleRule{{Status: s3types.ExpirationStatusEnabled,
			Prefix:     aws.String("AWSLogs"), //nolint:staticcheck // Rules written before filters existed carry it.
			Expiration: &s3types.LifecycleExpiration{Days: aws.Int32(7)}}}, "", 7},
		{"date", []s3types.LifecycleRule{{Status: s3types.ExpirationStatusEnabled, Filter: &s3types.LifecycleRuleFilter{},
			Expiration: &s3types.LifecycleExpiration{Date: aws.Time(now.Add(36 * time.Hour))}}}, "", 2},
		{"date passed", []s3types.LifecycleRule{{Status: s3types.ExpirationStatusEnabled, Filter: &s3types.LifecycleRuleFilter{},
			Expiration: &s3types.LifecycleExpiration{Date: aws.Time(now.Add(-time.Hour))}}}, "", 1},
		{"noncurrent only", []s3types.LifecycleRule{{Status: s3types.ExpirationStatusEnabled, Filter: &s3types.LifecycleRuleFilter{},
			NoncurrentVersionExpiration: &s3types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(5)}}}, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := logExpirationDays(tc.rules, tc.keyPrefix, now); got != tc.want {
				t.Errorf("logExpirationDays = %d, want %d", got, tc.want)
			}
		})
	}
}
