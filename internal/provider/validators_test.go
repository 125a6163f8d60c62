package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/bucketpolicy"
)

func TestValidationRules(t *testing.T) {
	for name, want := range map[string]bool{
		"logs": true, "my.audit-logs.2024": true, "ab": false, "Logs": false, "logs-": false, "-logs": false,
		"log..s": false, "192.168.1.1": false, "xn--logs": false, "logs-s3alias": false, strings.Repeat("a", 64): false,
	} {
		if got := bucketNameProblem(name) == ""; got != want {
			t.Errorf("bucket name %q valid = %v, want %v (%s)", name, got, want, bucketNameProblem(name))
		}
	}
	for name, want := range map[string]bool{
		"main": true, "Org_Trail.1": true, "ab": false, "a--b": false, "_a1": false, "a1_": false, "10.0.0.1": false,
		"has space": false,
	} {
		if got := trailNameProblem(name) == ""; got != want {
			t.Errorf("trail name %q valid = %v, want %v (%s)", name, got, want, trailNameProblem(name))
		}
	}
	for key, want := range map[string]bool{
		testKMSKey: true,
		"arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/mrk-1234567890abcdef1234567890abcdef": true,
		"arn:aws:kms:us-east-1:123456789012:alias/logs":                                          false,
		"alias/logs":                                       false,
		"1234abcd-12ab-34cd-56ef-1234567890ab":             false,
		"arn:aws:s3:::bucket":                              false,
		"arn:aws:kms:us-east-1:123456789012:key/not-a-key": false,
		"arn:aws:kms::123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab":  false,
		"arn:aws:kms:us-east-1:1234:key/1234abcd-12ab-34cd-56ef-1234567890ab": false,
	} {
		if got := kmsKeyARNProblem(key) == ""; got != want {
			t.Errorf("KMS key %q valid = %v, want %v (%s)", key, got, want, kmsKeyARNProblem(key))
		}
	}
}

// TestTrailARNVerdicts runs one table of trail ARNs through every schema
// validator that takes one and through the check the bucket policy makes:
// a value the plan accepts must never be refused at apply time, nor the
// reverse.
func TestTrailARNVerdicts(t *testing.T) {
	for arn, valid := range map[string]bool{
		"arn:aws:cloudtrail:us-east-1:123456789012:trail/main":             true,
		"arn:aws-us-gov:cloudtrail:us-gov-west-1:123456789012:trail/org.1": true,
		"arn:aws-cn:cloudtrail:cn-north-1:123456789012:trail/a_b-c":        true,
		"arn:aws:cloudtrail:us-east-1::trail/x":                            false, // no account
		"arn:aws:cloudtrail::123456789012:trail/x":                         false, // no region
		"arn:aws:cloudtrail:us-east-1:1234:trail/x":                        false, // short account
		"arn:aws:cloudtrail:us-east-1:123456789012:trail/":                 false, // no name
		"arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/x":       false,
		"arn:aws:s3:::bucket":                                              false,
		"arn:aws:cloudtrail":                                               false,
		"arn:main":                                                         false,
	} {
		_, err := bucketpolicy.ParseTrailARN(arn)
		if got := err == nil; got != valid {
			t.Errorf("bucketpolicy.ParseTrailARN(%q) valid = %v, want %v (%v)", arn, got, valid, err)
		}
		for name, v := range map[string]validator.String{"trailARN": trailARN(), "trailNameOrARN": trailNameOrARN()} {
			resp := &validator.StringResponse{}
			v.ValidateString(context.Background(), validator.StringRequest{
				Path: path.Root("arn"), ConfigValue: types.StringValue(arn)}, resp)
			if got := !resp.Diagnostics.HasError(); got != valid {
				t.Errorf("%s(%q) valid = %v, want %v (%v)", name, arn, got, valid, resp.Diagnostics)
			}
		}
		opts := bucketpolicy.Options{Bucket: "logs", AccountID: "123456789012", TrailARNs: []string{arn}}
		if _, err := bucketpolicy.Build(opts); (err == nil) != valid {
			t.Errorf("bucketpolicy.Build with %q: %v, want valid = %v", arn, err, valid)
		}
	}
}
