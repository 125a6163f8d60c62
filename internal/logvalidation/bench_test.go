package logvalidation

import (
	"context"
	"testing"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
)

// BenchmarkValidate validates 9 regions x 7 days of hourly digests (1,512
// digests, 2 log files each) with the engine's defaults and, side by side
// in the same run, region after region one file at a time, as `aws
// cloudtrail validate-logs` goes. It reports both wall times and their
// ratio, with the bucket in memory and with a 2 ms round trip per object
// read.
func BenchmarkValidate(b *testing.B) {
	const days, logs = 7, 2
	regions := awsclient.OpsWorksCMRegions
	f := newFixture(b)
	for _, r := range regions {
		f.deliver(chainSpec{region: r, from: t0, hours: days * 24, logs: logs})
	}
	digests := len(regions) * days * 24
	cfg := f.config(t0, t0.Add(days*24*time.Hour), regions...)

	for _, latency := range []time.Duration{0, 2 * time.Millisecond} {
		b.Run("latency="+latency.String(), func(b *testing.B) {
			f.src.latency = latency
			b.ReportAllocs()
			var parallel time.Duration
			for range b.N {
				start := time.Now()
				res, err := Run(context.Background(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				parallel = time.Since(start)
				if res.Status != StatusPass || res.DigestsValid != digests || res.LogsValid != digests*logs {
					b.Fatalf("%s %+v", res.Status, res.Counts)
				}
			}
			b.StopTimer()

			start := time.Now()
			for _, r := range regions {
				one := cfg
				one.Regions, one.Concurrency = []string{r}, 1
				res, err := Run(context.Background(), one)
				if err != nil {
					b.Fatal(err)
				}
				if res.Status != StatusPass || res.DigestsValid != digests/len(regions) {
					b.Fatalf("%s: %s %+v", r, res.Status, res.Counts)
				}
			}
			serial := time.Since(start)
			b.ReportMetric(float64(digests*(1+logs))/parallel.Seconds(), "files/s")
			b.ReportMetric(parallel.Seconds(), "engine-s")
			b.ReportMetric(serial.Seconds(), "serial-s")
			b.ReportMetric(serial.Seconds()/parallel.Seconds(), "x-faster")
		})
	}
}
