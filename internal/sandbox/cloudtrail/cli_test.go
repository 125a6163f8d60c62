package cloudtrail_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

// cliJSON runs the AWS CLI and decodes its JSON output into out (when not
// nil).
func cliJSON(t *testing.T, endpoint, region string, out any, args ...string) {
	t.Helper()
	stdout, err := sandboxtest.AWSCLI(t, endpoint, region, args...)
	if err != nil {
		t.Fatalf("aws %s: %v", strings.Join(args, " "), err)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(stdout), out); err != nil {
			t.Fatalf("aws %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, stdout)
		}
	}
}

// TestAWSCLICloudTrail drives the sandbox's CloudTrail with the AWS CLI:
// bucket and policy, trail, logging, status and paged event lookups.
func TestAWSCLICloudTrail(t *testing.T) {
	sandboxtest.RequireAWSCLI(t)
	// The rate limit is tested elsewhere; here it would only slow the
	// reference query down.
	endpoint := sandboxtest.StartCommand(t, "-lookup-rps", "100000")
	const region = "us-east-1"
	arn := sandboxtest.TrailARN(region, sandbox.DefaultAccount, "cli-trail")

	cliJSON(t, endpoint, region, nil, "s3api", "create-bucket", "--bucket", "cli-trail-logs")
	cliJSON(t, endpoint, region, nil, "s3api", "put-bucket-policy", "--bucket", "cli-trail-logs",
		"--policy", sandboxtest.TrailPolicy("cli-trail-logs", "", sandbox.DefaultAccount, arn))

	var created struct {
		Name               string
		TrailARN           string
		IsMultiRegionTrail bool
	}
	cliJSON(t, endpoint, region, &created, "cloudtrail", "create-trail", "--name", "cli-trail",
		"--s3-bucket-name", "cli-trail-logs", "--is-multi-region-trail", "--enable-log-file-validation")
	if created.Name != "cli-trail" || created.TrailARN != arn || !created.IsMultiRegionTrail {
		t.Fatalf("create-trail = %+v", created)
	}
	cliJSON(t, endpoint, region, nil, "cloudtrail", "start-logging", "--name", "cli-trail")

	var described struct {
		TrailList []struct {
			Name, HomeRegion, TrailARN string
			IsMultiRegionTrail         bool
			LogFileValidationEnabled   bool
		} `json:"trailList"`
	}
	cliJSON(t, endpoint, "eu-west-1", &described, "cloudtrail", "describe-trails", "--trail-name-list", "cli-trail")
	if len(described.TrailList) != 1 || described.TrailList[0].HomeRegion != region || !described.TrailList[0].LogFileValidationEnabled {
		t.Fatalf("describe-trails = %+v", described)
	}

	var status struct {
		IsLogging          bool
		StartLoggingTime   json.Number
		LatestDeliveryTime json.Number
	}
	cliJSON(t, endpoint, region, &status, "cloudtrail", "get-trail-status", "--name", arn, "--cli-read-timeout", "10")
	if !status.IsLogging || status.StartLoggingTime == "" {
		t.Fatalf("get-trail-status = %+v", status)
	}

	// Page through DescribeServers in us-west-2 two ways, server pages by
	// --max-results/--next-token and CLI pages by --max-items/
	// --starting-token; each must give every event once, in order.
	// The command runs on the real clock, so the reference is the same
	// query through the Go SDK.
	c := sandboxtest.CloudTrailClient(endpoint, "us-west-2", sandboxtest.Creds(sandbox.DefaultAccessKey, sandbox.DefaultSecretKey, ""))
	var want []string
	for _, ev := range lookupAll(t, c, cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{
		{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("DescribeServers")}}}) {
		want = append(want, aws.ToString(ev.EventId))
	}
	if len(want) < 100 {
		t.Fatalf("only %d DescribeServers events in us-west-2", len(want))
	}
	type page struct {
		Events []struct {
			EventId, EventName, CloudTrailEvent string
			EventTime                           float64
		}
		NextToken string
	}
	check := func(how string, pages []page) {
		t.Helper()
		n := 0
		for i, p := range pages {
			for _, ev := range p.Events {
				if n >= len(want) || ev.EventId != want[n] || ev.EventName != "DescribeServers" || !json.Valid([]byte(ev.CloudTrailEvent)) {
					t.Fatalf("%s: page %d: event %d is %+v, want %d events in the SDK's order", how, i, n, ev, len(want))
				}
				n++
			}
		}
		if n != len(want) {
			t.Fatalf("%s: %d events in %d pages, want %d", how, n, len(pages), len(want))
		}
	}
	lookup := []string{"cloudtrail", "lookup-events", "--lookup-attributes", "AttributeKey=EventName,AttributeValue=DescribeServers"}

	var serverPages []page
	for token := ""; ; {
		args := append(append([]string{}, lookup...), "--max-results", "40", "--no-paginate")
		if token != "" {
			args = append(args, "--next-token", token)
		}
		var p page
		cliJSON(t, endpoint, "us-west-2", &p, args...)
		if len(p.Events) > 40 || p.NextToken != "" && len(p.Events) != 40 {
			t.Fatalf("--max-results 40 page %d has %d events", len(serverPages), len(p.Events))
		}
		serverPages = append(serverPages, p)
		if token = p.NextToken; token == "" {
			break
		}
	}
	check("--max-results/--next-token", serverPages)

	var cliPages []page
	for token := ""; ; {
		args := append(append([]string{}, lookup...), "--max-items", strconv.Itoa(65))
		if token != "" {
			args = append(args, "--starting-token", token)
		}
		var p page
		cliJSON(t, endpoint, "us-west-2", &p, args...)
		if len(p.Events) > 65 {
			t.Fatalf("--max-items 65 page %d has %d events", len(cliPages), len(p.Events))
		}
		cliPages = append(cliPages, p)
		if token = p.NextToken; token == "" {
			break
		}
	}
	check("--max-items/--starting-token", cliPages)
	if len(cliPages) < 2 || len(serverPages) < 2 {
		t.Fatalf("pagination not exercised: %d and %d pages", len(serverPages), len(cliPages))
	}
}

// validateLogs runs the AWS CLI's validate-logs against the sandbox at
// endpoint and returns its standard output, its standard error and
// whether it reported everything valid (exit status 0).
func validateLogs(t *testing.T, endpoint, region, trailARN string, start time.Time) (stdout string, valid bool, stderr string) {
	t.Helper()
	// validate-logs takes the digests' source region from --region only.
	out, err := sandboxtest.AWSCLI(t, endpoint, region, "cloudtrail", "validate-logs", "--trail-arn", trailARN,
		"--start-time", start.UTC().Format(time.RFC3339), "--region", region, "--verbose")
	if err != nil {
		return out, false, err.Error()
	}
	return out, true, ""
}

// validCounts reads validate-logs' summary: "N/N digest files valid" and
// "M/M log files valid", -1 for a line it does not find.
func validCounts(t *testing.T, out string) (digests, logs int) {
	t.Helper()
	digests, logs = -1, -1
	for _, line := range strings.Split(out, "\n") {
		var valid, total int
		var what string
		if n, _ := fmt.Sscanf(line, "%d/%d %s files valid", &valid, &total, &what); n == 3 && valid == total {
			switch what {
			case "digest":
				digests = valid
			case "log":
				logs = valid
			}
		}
	}
	return digests, logs
}

// TestAWSCLIValidateLogs has the AWS CLI's validate-logs check a trail
// that logs for a few seconds on a one-second digest interval, in two of
// its regions: every digest and log file valid; then one log file changed
// through S3, which it reports.
func TestAWSCLIValidateLogs(t *testing.T) {
	sandboxtest.RequireAWSCLI(t)
	endpoint := sandboxtest.StartCommand(t, "-no-archive", "-digest-interval", "1s")
	arn := sandboxtest.TrailARN("us-east-1", sandbox.DefaultAccount, "validated")
	cliJSON(t, endpoint, "us-east-1", nil, "s3api", "create-bucket", "--bucket", "validated-logs")
	cliJSON(t, endpoint, "us-east-1", nil, "s3api", "put-bucket-policy", "--bucket", "validated-logs",
		"--policy", sandboxtest.TrailPolicy("validated-logs", "audit", sandbox.DefaultAccount, arn))
	cliJSON(t, endpoint, "us-east-1", nil, "cloudtrail", "create-trail", "--name", "validated", "--s3-bucket-name", "validated-logs",
		"--s3-key-prefix", "audit", "--is-multi-region-trail", "--enable-log-file-validation")
	start := time.Now().Add(-time.Minute)
	cliJSON(t, endpoint, "us-east-1", nil, "cloudtrail", "start-logging", "--name", "validated")
	// Calls in eu-west-1 and us-east-1, each recorded and delivered.
	for range 3 {
		cliJSON(t, endpoint, "eu-west-1", nil, "cloudtrail", "describe-trails")
		cliJSON(t, endpoint, "us-east-1", nil, "cloudtrail", "list-trails")
	}
	cliJSON(t, endpoint, "us-east-1", nil, "cloudtrail", "stop-logging", "--name", "validated")

	for _, region := range []string{"us-east-1", "eu-west-1"} {
		out, valid, stderr := validateLogs(t, endpoint, region, arn, start)
		digests, logs := validCounts(t, out)
		if !valid || strings.Contains(out+stderr, "INVALID") || digests < 2 || logs < 1 {
			t.Fatalf("validate-logs in %s: %d digests and %d log files valid\n%s\n%s", region, digests, logs, out, stderr)
		}
	}

	// Someone edits a log file of eu-west-1.
	c := sandboxtest.S3Client(endpoint, "us-east-1", sandboxtest.Creds(sandbox.DefaultAccessKey, sandbox.DefaultSecretKey, ""))
	logs := sandboxtest.ListKeys(t, c, "validated-logs", sandboxtest.LogPrefix("audit", sandbox.DefaultAccount, "eu-west-1"))
	if len(logs) == 0 {
		t.Fatal("no log files in eu-west-1")
	}
	sandboxtest.Tamper(t, c, "validated-logs", logs[0])
	out, valid, stderr := validateLogs(t, endpoint, "eu-west-1", arn, start)
	if valid || !strings.Contains(stderr, logs[0]+"\tINVALID: hash value doesn't match") {
		t.Fatalf("validate-logs after a log file changed: valid %v\n%s\n%s", valid, out, stderr)
	}
}

// TestAWSCLIValidateLogsArchive has the AWS CLI's validate-logs check the
// pre-existing trail's last week in each of the nine regions.
func TestAWSCLIValidateLogsArchive(t *testing.T) {
	sandboxtest.RequireAWSCLI(t)
	endpoint := sandboxtest.StartCommand(t)
	arn := sandboxtest.TrailARN(sandbox.ArchiveHomeRegion, sandbox.DefaultAccount, sandbox.ArchiveTrailName)
	start := time.Now().Add(-8 * 24 * time.Hour)
	type result struct {
		region, out, stderr string
		valid               bool
	}
	results := make(chan result, len(nineRegions))
	for _, region := range nineRegions {
		go func() {
			out, valid, stderr := validateLogs(t, endpoint, region, arn, start)
			results <- result{region, out, stderr, valid}
		}()
	}
	for range nineRegions {
		r := <-results
		digests, logs := validCounts(t, r.out)
		// 168 hours signed before the start, and one more for each hour
		// boundary passed since.
		if !r.valid || strings.Contains(r.out+r.stderr, "INVALID") || digests < 168 || digests > 170 || logs < 1 {
			t.Errorf("validate-logs in %s: %d digests and %d log files valid\n%s\n%s", r.region, digests, logs, r.out, r.stderr)
		}
	}
}
