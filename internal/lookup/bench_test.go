package lookup

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/benchrecords"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

// benchRate is the LookupEvents rate of the pacing benchmark: 5 times
// AWS's, so the run stays short, with the same shape.
const benchRate = 10

// BenchmarkLookup measures the engine against the sandbox command (a
// separate process, as a user would run it): the wall time of a fetch of
// 9 regions x 2,000 events against the bound the per-region rate sets, the
// same fetch region after region as most tools do it, and the peak heap
// while fetching 100,000 events.
func BenchmarkLookup(b *testing.B) {
	regions := awsclient.OpsWorksCMRegions

	b.Run("pacing", func(b *testing.B) {
		const perRegion = 2000
		now := time.Now().UTC()
		file := benchrecords.WriteRecords(b, regions, perRegion, now)
		endpoint := sandboxtest.StartCommand(b, "-no-history", "-events", file, "-lookup-rps", fmt.Sprint(benchRate))
		clients := benchClients(b, endpoint, benchRate)
		q := Query{Regions: regions, Start: now.Add(-8 * 24 * time.Hour), End: now.Add(time.Minute)}

		pages := (perRegion + PageSize - 1) / PageSize
		bound := time.Duration(float64(pages) / benchRate * float64(time.Second))
		var wall time.Duration
		var res *Result
		b.ResetTimer()
		for range b.N {
			start := time.Now()
			var err error
			if res, err = Run(context.Background(), clients, q); err != nil {
				b.Fatalf("concurrent fetch: %v", err)
			}
			wall = time.Since(start)
		}
		b.StopTimer()
		if len(res.Events) != len(regions)*perRegion {
			b.Fatalf("concurrent fetch returned %d events, want %d", len(res.Events), len(regions)*perRegion)
		}
		throttleErrors, throttledRetries := throttling(res)

		// Region after region, each at the same pace: what the AWS CLI or
		// Steampipe does.
		start := time.Now()
		total := 0
		for _, r := range regions {
			rq := q
			rq.Regions = []string{r}
			rr, err := Run(context.Background(), clients, rq)
			if err != nil {
				b.Fatalf("sequential fetch: %v", err)
			}
			total += len(rr.Events)
			e, t := throttling(rr)
			throttleErrors += e
			throttledRetries += t
		}
		sequential := time.Since(start)
		if total != len(regions)*perRegion {
			b.Fatalf("sequential fetch returned %d events", total)
		}

		ratio := wall.Seconds() / bound.Seconds()
		seqRatio := sequential.Seconds() / bound.Seconds()
		b.ReportMetric(ratio, "wall/bound")
		b.ReportMetric(seqRatio, "sequential/bound")
		b.ReportMetric(float64(throttleErrors), "throttle-errors")
		b.ReportMetric(float64(throttledRetries), "throttled-retries")
		fmt.Printf("lookup pacing: %d regions x %d events at %d req/s/region: bound %s (%d pages per region), "+
			"concurrent %s = %.2f x bound (target <= 1.15), region after region %s = %.2f x bound; "+
			"throttling errors surfaced %d, throttled attempts retried %d\n",
			len(regions), perRegion, benchRate, bound.Round(time.Millisecond), pages, wall.Round(time.Millisecond), ratio,
			sequential.Round(time.Millisecond), seqRatio, throttleErrors, throttledRetries)
	})

	b.Run("memory", func(b *testing.B) {
		const totalEvents = 100000
		// The sandbox's and the provider's rate are raised together: this
		// part measures memory, not pacing.
		const rate = 400
		perRegion := (totalEvents + len(regions) - 1) / len(regions)
		now := time.Now().UTC()
		file := benchrecords.WriteRecords(b, regions, perRegion, now)
		endpoint := sandboxtest.StartCommand(b, "-no-history", "-events", file, "-lookup-rps", fmt.Sprint(rate))
		clients := benchClients(b, endpoint, rate)
		q := Query{Regions: regions, Start: now.Add(-8 * 24 * time.Hour), End: now.Add(time.Minute), MaxEvents: totalEvents}

		var peak uint64
		b.ResetTimer()
		for range b.N {
			runtime.GC()
			var base runtime.MemStats
			runtime.ReadMemStats(&base)
			stop := sampleHeap(&peak)
			start := time.Now()
			res, err := Run(context.Background(), clients, q)
			wall := time.Since(start)
			stop()
			if err != nil {
				b.Fatalf("fetch: %v", err)
			}
			if len(res.Events) != totalEvents || !res.Truncated {
				b.Fatalf("fetched %d events, truncated %v; want %d, truncated", len(res.Events), res.Truncated, totalEvents)
			}
			surfaced, retried := throttling(res)
			peakMB := float64(peak) / (1 << 20)
			b.ReportMetric(peakMB, "peak-heap-MB")
			b.ReportMetric(float64(peak-min(peak, base.HeapInuse))/float64(totalEvents), "heap-B/event")
			fmt.Printf("lookup memory: %d events (max_events %d) from %d regions in %s: peak heap in use %.0f MiB "+
				"(%.0f MiB before the fetch); throttling errors surfaced %d, throttled attempts retried %d\n",
				len(res.Events), totalEvents, len(regions), wall.Round(time.Millisecond),
				peakMB, float64(base.HeapInuse)/(1<<20), surfaced, retried)
		}
	})
}

// throttling counts the throttling errors a fetch surfaced (a region that
// failed with one) and the throttled attempts the SDK retried.
func throttling(res *Result) (surfaced, retried int) {
	for _, f := range res.Failed {
		if strings.Contains(f.Code, "Throttl") {
			surfaced++
		}
	}
	for _, s := range res.Stats {
		retried += s.Throttled
	}
	return surfaced, retried
}

// sampleHeap records the largest HeapInuse seen every 10ms until the
// returned stop is called.
func sampleHeap(peak *uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			*peak = max(*peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func benchClients(b *testing.B, endpoint string, rps float64) *awsclient.Clients {
	b.Helper()
	c, err := awsclient.New(context.Background(), awsclient.Config{
		Region: "us-east-1", AccessKey: "test", SecretKey: "test",
		Endpoints:               awsclient.Endpoints{CloudTrail: endpoint, STS: endpoint, S3: endpoint},
		LookupRequestsPerSecond: rps,
	})
	if err != nil {
		b.Fatalf("building clients: %v", err)
	}
	return c
}
