package organizations_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

// TestDescribeOrganizationOutsideAnOrganization asks from a region other
// than us-east-1, and finds the refused call recorded where CloudTrail
// records a global service's calls.
func TestDescribeOrganizationOutsideAnOrganization(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true})
	ctx := context.Background()
	c := organizations.New(organizations.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(e.URL), Retryer: sandboxtest.Retryer(),
		Credentials: sandboxtest.Creds(sandbox.DefaultAccessKey, sandbox.DefaultSecretKey, ""),
	})
	_, err := c.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	sandboxtest.WantCode(t, err, "AWSOrganizationsNotInUseException")

	out, err := e.CloudTrail("us-east-1").LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{
		{AttributeKey: cttypes.LookupAttributeKeyEventSource, AttributeValue: aws.String("organizations.amazonaws.com")}}})
	if err != nil || len(out.Events) != 1 {
		t.Fatalf("LookupEvents = %+v, %v; want the one call", out, err)
	}
	var rec struct {
		EventName string `json:"eventName"`
		ErrorCode string `json:"errorCode"`
		AWSRegion string `json:"awsRegion"`
		ReadOnly  bool   `json:"readOnly"`
	}
	raw := aws.ToString(out.Events[0].CloudTrailEvent)
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.EventName != "DescribeOrganization" || rec.ErrorCode != "AWSOrganizationsNotInUseException" || rec.AWSRegion != "us-east-1" || !rec.ReadOnly {
		t.Fatalf("recorded %s", raw)
	}
}

// TestAWSCLIDescribeOrganization is the call validate-logs makes for an
// organization trail, as botocore makes it.
func TestAWSCLIDescribeOrganization(t *testing.T) {
	sandboxtest.RequireAWSCLI(t)
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true})
	_, err := sandboxtest.AWSCLI(t, e.URL, "us-west-2", "organizations", "describe-organization")
	if err == nil || !strings.Contains(err.Error(), "AWSOrganizationsNotInUseException") {
		t.Fatalf("describe-organization: %v", err)
	}
}
