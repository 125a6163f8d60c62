package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/lookup"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandboxrun"
)

// The large-result case: 9 regions x 1,500 OpsWorks CM events, LookupEvents
// paced at 5 requests per second per region on both sides.
const (
	planBenchPerRegion = 1500
	planBenchRate      = 5
)

// BenchmarkEventsPlan runs `terraform plan` on opsaudit_events with a large
// result, through the built provider and the sandbox command, as a user
// would. The fetch cannot beat its bound (a region's LookupEvents pages at
// the pace, regions in parallel); the benchmark measures what the plan adds:
// the provider turning the events into Terraform values, and Terraform
// handling them.
func BenchmarkEventsPlan(b *testing.B) {
	regions := awsclient.OpsWorksCMRegions
	records := sandboxrun.WriteRecords(b, regions, planBenchPerRegion, time.Now().UTC())
	endpoint := sandboxrun.Start(b, sandboxrun.Build(b), records, planBenchRate)
	cli := terraformCLIFor(b, endpoint)
	total := len(regions) * planBenchPerRegion
	pages := (planBenchPerRegion + lookup.PageSize - 1) / lookup.PageSize
	bound := time.Duration(float64(pages) / planBenchRate * float64(time.Second))

	for _, v := range []struct{ name, args string }{
		{"record", ""},
	} {
		b.Run(v.name, func(b *testing.B) {
			dir := b.TempDir()
			config := fmt.Sprintf(`terraform {
  required_providers {
    opsaudit = { source = "opsaudit/opsaudit" }
  }
}

provider "opsaudit" {
  region                     = "us-east-1"
  lookup_requests_per_second = %d
}

data "opsaudit_events" "all" {
  lookback   = "8d"
  max_events = %d
%s
  lifecycle {
    postcondition {
      condition     = self.total_count == %[2]d && !self.truncated
      error_message = "expected every event"
    }
  }
}

output "total_count" {
  value = data.opsaudit_events.all.total_count
}
`, planBenchRate, total, v.args)
			if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o600); err != nil {
				b.Fatal(err)
			}
			logFile := filepath.Join(dir, "provider.log")
			run := *cli
			// The provider's debug lines time the fetch and the building of
			// the values; the protocol's trace lines time the whole read.
			run.env = append(slices.Clone(cli.env), "TF_LOG_PROVIDER=TRACE", "TF_LOG_SDK_PROTO=TRACE", "TF_LOG_PATH="+logFile)

			var plan time.Duration
			b.ResetTimer()
			for range b.N {
				_ = os.Remove(logFile)
				start := time.Now()
				out, err := run.run(b, dir, "plan", "-input=false", "-lock=false", "-no-color")
				plan = time.Since(start)
				if err != nil {
					b.Fatalf("terraform plan: %v\n%s", err, out)
				}
			}
			b.StopTimer()
			log, err := os.ReadFile(logFile)
			if err != nil {
				b.Fatal(err)
			}
			fetch := loggedDuration(b, log, "Looked up events", "duration_ms")
			build := loggedDuration(b, log, "Built events state", "duration_ms")
			read := loggedDuration(b, log, "Received downstream response", "tf_req_duration_ms", "tf_rpc=ReadDataSource")
			framework := read - fetch - build
			terraform := plan - read
			b.ReportMetric(plan.Seconds()/bound.Seconds(), "plan/bound")
			b.ReportMetric(fetch.Seconds()/bound.Seconds(), "fetch/bound")
			b.ReportMetric(build.Seconds(), "build-s")
			b.ReportMetric(framework.Seconds(), "framework-s")
			b.ReportMetric(terraform.Seconds(), "terraform-s")
			fmt.Printf("events plan (%s): %d regions x %d events at %d req/s/region: bound %s (%d pages per region); "+
				"fetch %s = %.2f x bound; the provider builds the values in %s, the plugin framework sends them in %s; "+
				"Terraform and the rest %s; plan %s = %.2f x bound (target <= 1.6)\n",
				v.name, len(regions), planBenchPerRegion, planBenchRate, bound, pages, fetch.Round(time.Millisecond),
				fetch.Seconds()/bound.Seconds(), build.Round(time.Millisecond), framework.Round(time.Millisecond),
				terraform.Round(time.Millisecond), plan.Round(time.Millisecond), plan.Seconds()/bound.Seconds())
		})
	}
}

// loggedDuration reads the milliseconds field key from the log line with
// message msg that contains every one of also.
func loggedDuration(b *testing.B, log []byte, msg, key string, also ...string) time.Duration {
	b.Helper()
	re := regexp.MustCompile(`\b` + key + `=(\d+)`)
	for _, line := range strings.Split(string(log), "\n") {
		if !strings.Contains(line, ": "+msg+":") || slices.ContainsFunc(also, func(s string) bool { return !strings.Contains(line, s) }) {
			continue
		}
		if m := re.FindStringSubmatch(line); m != nil {
			ms, err := strconv.Atoi(m[1])
			if err != nil {
				b.Fatal(err)
			}
			return time.Duration(ms) * time.Millisecond
		}
	}
	b.Fatalf("no %q line with %s in the provider's log", msg, key)
	return 0
}
