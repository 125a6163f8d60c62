package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
)

// BenchmarkStartup starts the command as a user would, side by side: with
// an empty account, with LookupEvents' history only, and with the
// pre-existing trail too; then reads the whole archive (every log file
// listed, every region's digests listed, which makes them), as a reader
// of the archive and validate-logs would. It reports the time until the
// endpoint is announced, the time to read, and the resident memory.
func BenchmarkStartup(b *testing.B) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		b.Skip("resident memory is read from /proc, which this system does not have")
	}
	dir := b.TempDir()
	bin := filepath.Join(dir, "opsaudit-sandbox")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("building: %v\n%s", err, out)
	}
	for _, v := range []struct {
		name string
		args []string
		read bool
	}{
		{"empty", []string{"-no-history"}, false},
		{"history", []string{"-no-archive"}, false},
		{"archive", nil, false},
		{"archive-read", nil, true},
	} {
		b.Run(v.name, func(b *testing.B) {
			var ready, read time.Duration
			var rss int
			for b.Loop() {
				r, d, m := startOnce(b, bin, dir, v.args, v.read)
				ready, read, rss = ready+r, read+d, rss+m
			}
			n := float64(b.N)
			b.ReportMetric(float64(ready.Milliseconds())/n, "ms-to-ready")
			if v.read {
				b.ReportMetric(float64(read.Milliseconds())/n, "ms-to-read")
			}
			b.ReportMetric(float64(rss)/n/1024, "MB-rss")
		})
	}
}

// startOnce starts the command, waits for its ready file, reads the
// archive if asked, and returns the times and the resident memory (kB).
func startOnce(b *testing.B, bin, dir string, args []string, read bool) (ready, readTime time.Duration, rssKB int) {
	b.Helper()
	readyFile := filepath.Join(dir, "ready")
	start := time.Now()
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-ready-file", readyFile, "-lookup-rps", "1000"}, args...)...)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			b.Errorf("stopping: %v", err)
		}
		if err := cmd.Wait(); err != nil {
			b.Errorf("sandbox exited with %v", err)
		}
	}()
	var endpoint string
	for endpoint == "" {
		if data, err := os.ReadFile(readyFile); err == nil {
			endpoint = strings.TrimSpace(string(data))
		} else if time.Since(start) > 30*time.Second {
			b.Fatal("not ready after 30s")
		} else {
			time.Sleep(time.Millisecond)
		}
	}
	ready = time.Since(start)
	if read {
		t0 := time.Now()
		readArchive(b, endpoint)
		readTime = time.Since(t0)
	}
	return ready, readTime, residentKB(b, cmd.Process.Pid)
}

// readArchive lists every object of the pre-existing trail's bucket.
func readArchive(b *testing.B, endpoint string) {
	b.Helper()
	c := s3.New(s3.Options{Region: sandbox.ArchiveHomeRegion, BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(sandbox.DefaultAccessKey, sandbox.DefaultSecretKey, "")})
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(sandbox.ArchiveBucket(sandbox.DefaultAccount))})
	n := 0
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		n += len(page.Contents)
	}
	if n < 10000 {
		b.Fatalf("the archive holds %d objects", n)
	}
}

// residentKB reads a process's resident set size.
func residentKB(b *testing.B, pid int) int {
	b.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				b.Fatalf("VmRSS %q: %v", v, err)
			}
			return kb
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
