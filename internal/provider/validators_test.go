package provider

import (
	"strings"
	"testing"
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
