package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

// BenchmarkLogValidation validates the sandbox command's pre-existing
// trail over its signed week, 9 regions x 168 hourly digests (1,512) and
// the log files they list, two ways side by side: `terraform plan` of a
// configuration holding only opsaudit_log_validation, and `aws cloudtrail
// validate-logs` over the same window region after region, as its users
// run it. It reports both wall times and their ratio.
func BenchmarkLogValidation(b *testing.B) {
	sandboxtest.RequireAWSCLI(b)
	endpoint := sandboxtest.StartCommand(b)
	tf := terraformCLIFor(b, endpoint)

	// The signed week ends with the last digest delivered. The window
	// ends an hour before it, as validate-logs reads digests up to an
	// hour past the end: a digest delivered while the benchmark runs
	// stays out. It starts an hour after the week does, which its first
	// digest covers: 168 digests a region, however long the chain.
	home := sandboxtest.CloudTrailClient(endpoint, sandbox.ArchiveHomeRegion, sandboxtest.Creds(sandbox.DefaultAccessKey, sandbox.DefaultSecretKey, ""))
	status, err := home.GetTrailStatus(context.Background(), &cloudtrail.GetTrailStatusInput{Name: aws.String(sandbox.ArchiveTrailName)})
	if err != nil {
		b.Fatal(err)
	}
	last := aws.ToTime(status.LatestDigestDeliveryTime).UTC()
	start, end := last.Add(-7*24*time.Hour+time.Hour), last.Add(-time.Hour)
	trailARN := sandboxtest.TrailARN(sandbox.ArchiveHomeRegion, sandbox.DefaultAccount, sandbox.ArchiveTrailName)

	dir := b.TempDir()
	config := fmt.Sprintf(`terraform {
  required_providers {
    opsaudit = { source = "opsaudit/opsaudit" }
  }
}

provider "opsaudit" {
  region            = %q
  s3_use_path_style = true
}

data "opsaudit_log_validation" "archive" {
  trail      = %q
  start_time = %q
  end_time   = %q
}

output "result" {
  value = {
    status          = data.opsaudit_log_validation.archive.status
    digests_valid   = data.opsaudit_log_validation.archive.digests_valid
    logs_valid      = data.opsaudit_log_validation.archive.logs_valid
    regions         = length(data.opsaudit_log_validation.archive.regions)
  }
}
`, sandbox.ArchiveHomeRegion, trailARN, start.Format(time.RFC3339), end.Format(time.RFC3339))
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o600); err != nil {
		b.Fatal(err)
	}
	plan := func() time.Duration {
		began := time.Now()
		if out, err := tf.run(b, dir, "plan", "-no-color", "-input=false", "-out=plan.bin"); err != nil {
			b.Fatalf("terraform plan: %v\n%s", err, out)
		}
		return time.Since(began)
	}
	// The sandbox makes its archive's files the first time they are read:
	// a first plan makes them for both runs.
	plan()

	var plans []time.Duration
	b.ResetTimer()
	for range b.N {
		for range planBenchRounds {
			plans = append(plans, plan())
		}
	}
	b.StopTimer()
	slices.Sort(plans)
	planWall := plans[len(plans)/2]
	out, err := tf.run(b, dir, "show", "-json", "plan.bin")
	if err != nil {
		b.Fatalf("terraform show: %v\n%s", err, out)
	}
	var shown struct {
		PlannedValues struct {
			Outputs struct {
				Result struct {
					Value struct {
						Status       string `json:"status"`
						DigestsValid int    `json:"digests_valid"`
						LogsValid    int    `json:"logs_valid"`
						Regions      int    `json:"regions"`
					} `json:"value"`
				} `json:"result"`
			} `json:"outputs"`
		} `json:"planned_values"`
	}
	if err := json.Unmarshal([]byte(out), &shown); err != nil {
		b.Fatalf("terraform show -json: %v", err)
	}
	got := shown.PlannedValues.Outputs.Result.Value
	if got.Status != "pass" || got.DigestsValid != 1512 || got.Regions != 9 {
		b.Fatalf("the data source found %+v, want a pass over 1,512 digests in 9 regions", got)
	}

	// validate-logs, one region after another, over the same window; its
	// summary must count the same files.
	ratio := regexp.MustCompile(`(\d+)/(\d+) (digest|log) files valid`)
	digests, logs := 0, 0
	began := time.Now()
	for _, region := range validationRegions {
		stdout, err := sandboxtest.AWSCLI(b, endpoint, region, "cloudtrail", "validate-logs", "--trail-arn", trailARN,
			"--start-time", start.Format(time.RFC3339), "--end-time", end.Format(time.RFC3339), "--region", region)
		if err != nil {
			b.Fatalf("validate-logs in %s: %v", region, err)
		}
		for _, m := range ratio.FindAllStringSubmatch(stdout, -1) {
			valid, _ := strconv.Atoi(m[1])
			if m[1] != m[2] {
				b.Fatalf("validate-logs in %s: %s", region, m[0])
			}
			if m[3] == "digest" {
				digests += valid
			} else {
				logs += valid
			}
		}
	}
	cliWall := time.Since(began)
	if digests != got.DigestsValid || logs != got.LogsValid {
		b.Fatalf("validate-logs found %d digests and %d log files valid, the data source %d and %d", digests, logs, got.DigestsValid, got.LogsValid)
	}
	fmt.Printf("log validation: %d digests and %d log files in %d regions: terraform plan %.2fs (median of %d), "+
		"validate-logs region after region %.2fs: %.1fx faster (goal: at least 10x)\n", digests, logs, got.Regions,
		planWall.Seconds(), len(plans), cliWall.Seconds(), cliWall.Seconds()/planWall.Seconds())
	b.ReportMetric(planWall.Seconds(), "plan-s")
	b.ReportMetric(cliWall.Seconds(), "validate-logs-s")
	b.ReportMetric(cliWall.Seconds()/planWall.Seconds(), "x-faster")
}
