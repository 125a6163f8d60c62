package cloudtrail_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

// TestEventFilesRouting loads testdata/events (plain, gzipped, nested) and
// checks each record lands in its region and account.
func TestEventFilesRouting(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true, LookupRPS: 1e6, EventFiles: []string{"testdata/events"}})
	want := map[string][]string{
		"us-east-1":      {"f1000000-0000-4000-8000-000000000001"},
		"eu-west-1":      {"f1000000-0000-4000-8000-000000000002"},
		"ap-southeast-2": {"f1000000-0000-4000-8000-000000000003"},
		"us-west-2":      nil,
	}
	for region, ids := range want {
		got := lookupAll(t, e.CloudTrail(region), cloudtrail.LookupEventsInput{})
		if len(got) != len(ids) {
			t.Fatalf("%s: %d events, want %v", region, len(got), ids)
		}
		for i, id := range ids {
			if aws.ToString(got[i].EventId) != id {
				t.Fatalf("%s: event %s, want %s", region, aws.ToString(got[i].EventId), id)
			}
		}
	}
	// The record without recipientAccountId belongs to its caller's
	// account, which sees it from a role there.
	role, err := e.STS("us-east-1").AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::111122223333:role/auditor"), RoleSessionName: aws.String("audit")})
	if err != nil {
		t.Fatal(err)
	}
	cr := role.Credentials
	other := sandboxtest.CloudTrailClient(e.URL, "us-east-1", sandboxtest.Creds(aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), aws.ToString(cr.SessionToken)))
	got := lookupAll(t, other, cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{
		{AttributeKey: cttypes.LookupAttributeKeyEventSource, AttributeValue: aws.String(sandbox.OpsWorksCMSource)}}})
	if len(got) != 1 || aws.ToString(got[0].EventName) != "DeleteServer" {
		t.Fatalf("the other account's events = %+v", got)
	}
}

func TestAddRecordsGzipAndDuplicates(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true, LookupRPS: 1e6})
	body := []byte(`{"Records":[` + testRecord("dup-1", "CreateBackup", "us-east-1", sandboxtest.Now.Add(-time.Hour), false) + `]}`)
	for _, b := range [][]byte{body, gzipBytes(t, body)} {
		if err := e.Server.AddRecords(bytes.NewReader(b)); err != nil {
			t.Fatalf("AddRecords: %v", err)
		}
	}
	out, err := e.CloudTrail("us-east-1").LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{})
	if err != nil || len(out.Events) != 1 {
		t.Fatalf("LookupEvents = %+v, %v", out, err)
	}
	for _, bad := range []string{`{"Records":[{"eventName":"X"}]}`, `not json`, `{"Records":[{"eventName":"X","eventSource":"s","eventTime":"yesterday"}]}`} {
		if err := e.Server.AddRecords(bytes.NewReader([]byte(bad))); err == nil {
			t.Fatalf("AddRecords(%s) succeeded", bad)
		}
	}
}
