package provider

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/benchrecords"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/lookup"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

// The large-result case: 9 regions x 1,500 OpsWorks CM events, LookupEvents
// paced at 5 requests per second per region on both sides.
const (
	planBenchPerRegion = 1500
	planBenchRate      = 5
	// planBenchRounds runs each variant this many times, alternately, and
	// keeps the median: one plan is too noisy on a shared machine.
	planBenchRounds = 3
)

// planTimes is one `terraform plan`, by phase.
type planTimes struct {
	plan time.Duration
	// cpu is the CPU time of Terraform and the provider, less sensitive
	// than wall time to what else the machine runs.
	cpu time.Duration
	// fetch is the LookupEvents fetch and build the provider turning the
	// events into Terraform values, both from the provider's debug log.
	fetch, build time.Duration
	// framework is the rest of the read, terraform-plugin-framework's
	// checks and encoding, from the protocol's trace of the read.
	framework time.Duration
	// terraform is everything else: Terraform decoding, checking and
	// storing the values, and the plan's fixed costs.
	terraform time.Duration
}

// BenchmarkEventsPlan runs `terraform plan` on opsaudit_events with a large
// result, through the built provider and the sandbox command, as a user
// would. The fetch cannot beat its bound (a region's LookupEvents pages at
// the pace, regions in parallel); the benchmark measures what the plan adds
// to it, with and without the whole record in each event, side by side.
func BenchmarkEventsPlan(b *testing.B) {
	regions := awsclient.OpsWorksCMRegions
	records := benchrecords.WriteRecords(b, regions, planBenchPerRegion, time.Now().UTC())
	endpoint := sandboxtest.StartCommand(b, "-no-history", "-events", records, "-lookup-rps", fmt.Sprint(planBenchRate))
	cli := terraformCLIFor(b, endpoint)
	total := len(regions) * planBenchPerRegion
	pages := (planBenchPerRegion + lookup.PageSize - 1) / lookup.PageSize
	bound := time.Duration(float64(pages) / planBenchRate * float64(time.Second))

	variants := []struct {
		name, args string
		dir        string
		runs       []planTimes
	}{
		{name: "record", args: "  include_record = true"},
		{name: "slim"},
	}
	for i := range variants {
		v := &variants[i]
		v.dir = b.TempDir()
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
		if err := os.WriteFile(filepath.Join(v.dir, "main.tf"), []byte(config), 0o600); err != nil {
			b.Fatal(err)
		}
	}

	b.ResetTimer()
	for range b.N {
		for range planBenchRounds {
			for i := range variants {
				variants[i].runs = append(variants[i].runs, timePlan(b, cli, variants[i].dir))
			}
		}
	}
	b.StopTimer()

	median := map[string]planTimes{}
	for _, v := range variants {
		slices.SortFunc(v.runs, func(x, y planTimes) int { return int(x.plan - y.plan) })
		m := v.runs[len(v.runs)/2]
		median[v.name] = m
		b.ReportMetric(m.plan.Seconds()/bound.Seconds(), v.name+"-plan/bound")
		b.ReportMetric(m.cpu.Seconds(), v.name+"-cpu-s")
		fmt.Printf("events plan (%s, median of %d): %d regions x %d events at %d req/s/region: bound %s (%d pages per "+
			"region); fetch %s = %.2f x bound; the provider builds the values in %s, terraform-plugin-framework "+
			"checks and sends them in %s; Terraform and the rest %s; plan %s = %.2f x bound (target <= 1.6), "+
			"CPU time of Terraform and the provider %s\n",
			v.name, len(v.runs), len(regions), planBenchPerRegion, planBenchRate, bound, pages, m.fetch.Round(time.Millisecond),
			m.fetch.Seconds()/bound.Seconds(), m.build.Round(time.Millisecond), m.framework.Round(time.Millisecond),
			m.terraform.Round(time.Millisecond), m.plan.Round(time.Millisecond), m.plan.Seconds()/bound.Seconds(),
			m.cpu.Round(time.Millisecond))
	}
	rec, slim := median["record"], median["slim"]
	b.ReportMetric(slim.plan.Seconds()/rec.plan.Seconds(), "slim/record")
	b.ReportMetric(slim.cpu.Seconds()/rec.cpu.Seconds(), "slim/record-cpu")
	fmt.Printf("events plan: leaving the record out changes the plan by %s (%.2f x), its CPU time by %s (%.2f x), "+
		"the framework's part by %s, Terraform's by %s\n",
		(slim.plan - rec.plan).Round(time.Millisecond), slim.plan.Seconds()/rec.plan.Seconds(),
		(slim.cpu - rec.cpu).Round(time.Millisecond), slim.cpu.Seconds()/rec.cpu.Seconds(),
		(slim.framework - rec.framework).Round(time.Millisecond), (slim.terraform - rec.terraform).Round(time.Millisecond))
}

// timePlan runs `terraform plan` in dir and splits its time by phase with
// the provider's debug log and the protocol's trace of the read.
func timePlan(b *testing.B, cli *terraformCLI, dir string) planTimes {
	b.Helper()
	logFile := filepath.Join(dir, "provider.log")
	_ = os.Remove(logFile)
	cmd := exec.Command(cli.bin, "plan", "-input=false", "-lock=false", "-no-color")
	cmd.Dir = dir
	cmd.Env = append(slices.Clone(cli.env), "TF_LOG_PROVIDER=TRACE", "TF_LOG_SDK_PROTO=TRACE", "TF_LOG_PATH="+logFile)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	plan := time.Since(start)
	if err != nil {
		b.Fatalf("terraform plan: %v\n%s", err, out)
	}
	log, err := os.ReadFile(logFile)
	if err != nil {
		b.Fatal(err)
	}
	t := planTimes{
		plan: plan,
		// The rusage of a process counts the children it waited for:
		// Terraform waits for the provider.
		cpu:   cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(),
		fetch: loggedDuration(b, log, "Looked up events", "duration_ms"),
		build: loggedDuration(b, log, "Built events state", "duration_ms"),
	}
	read := loggedDuration(b, log, "Received downstream response", "tf_req_duration_ms", "tf_rpc=ReadDataSource")
	t.framework = read - t.fetch - t.build
	t.terraform = plan - read
	return t
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
