package provider

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

// The AWS CLI's `validate-logs` referees the data source: run with
// --verbose, it prints its verdict on every digest and log file, and the
// gaps it finds. Both must agree line for line.

var (
	cliFileLine = regexp.MustCompile(`^(\(backfill\) )?(Digest|Log) file\ts3://([^/]+)/(\S+)\t(valid|INVALID: (.*))$`)
	cliGapLine  = regexp.MustCompile(`^(\(backfill\) )?No log files were delivered by CloudTrail between (\S+) and (\S+)$`)
)

// cliReason is the data source's reason for a validate-logs INVALID
// message.
func cliReason(msg string) string {
	switch {
	case msg == "not found":
		return "not_found"
	case msg == "signature verification failed":
		return "signature_invalid"
	case msg == "hash value doesn't match":
		return "hash_mismatch"
	case msg == "has been moved from its original location":
		return "moved"
	case msg == "invalid format":
		return "invalid_format"
	case strings.HasPrefix(msg, "public key not found"), strings.HasPrefix(msg, "Unable to load PKCS #1 key"):
		return "public_key_not_found"
	}
	return "unrecognised: " + msg
}

// verdictLine is how both sides' verdicts on a file are compared.
func verdictLine(backfill bool, kind, bucket, key, verdict string) string {
	prefix := ""
	if backfill {
		prefix = "(backfill) "
	}
	return prefix + strings.ToLower(kind) + " s3://" + bucket + "/" + key + " " + verdict
}

// regionVerdicts are one source region's file verdicts and gaps, sorted.
type regionVerdicts struct {
	files, gaps []string
}

// validateLogsCLI runs validate-logs for one source region over the
// window and reads its verdicts.
func validateLogsCLI(t testing.TB, endpoint, trailARN, region string, start, end time.Time) (regionVerdicts, error) {
	stdout, stderr, err := sandboxtest.AWSCLIOutput(t, endpoint, region, "cloudtrail", "validate-logs", "--trail-arn", trailARN,
		"--start-time", start.Format(time.RFC3339), "--end-time", end.Format(time.RFC3339), "--region", region, "--verbose")
	// It exits 1 when a file is invalid; anything else is a failure.
	var exit *exec.ExitError
	if err != nil && (!errors.As(err, &exit) || exit.ExitCode() != 1) {
		return regionVerdicts{}, fmt.Errorf("validate-logs in %s: %w\n%s", region, err, stderr)
	}
	var v regionVerdicts
	for line := range strings.Lines(stdout + stderr) {
		line = strings.TrimRight(line, "\n")
		if m := cliFileLine.FindStringSubmatch(line); m != nil {
			verdict := "valid"
			if m[6] != "" || m[5] != "valid" {
				verdict = cliReason(m[6])
			}
			v.files = append(v.files, verdictLine(m[1] != "", m[2], m[3], m[4], verdict))
			continue
		}
		if m := cliGapLine.FindStringSubmatch(line); m != nil {
			v.gaps = append(v.gaps, m[1]+m[2]+" "+m[3])
			continue
		}
		if strings.Contains(line, "INVALID") && !strings.Contains(line, " files INVALID") {
			return regionVerdicts{}, fmt.Errorf("validate-logs in %s: a verdict line not understood: %q", region, line)
		}
	}
	slices.Sort(v.files)
	slices.Sort(v.gaps)
	return v, nil
}

// reportVerdicts are the data source's verdicts by region, from the
// report_json of a verbose read.
func reportVerdicts(rep *validationReport) map[string]regionVerdicts {
	out := map[string]regionVerdicts{}
	for _, f := range rep.Files {
		verdict := "valid"
		if !f.Valid {
			verdict = f.Reason
		}
		v := out[f.Region]
		v.files = append(v.files, verdictLine(f.Backfill, f.Kind, f.Bucket, f.Key, verdict))
		out[f.Region] = v
	}
	for _, g := range rep.Gaps {
		v := out[g.Region]
		prefix := ""
		if g.Backfill {
			prefix = "(backfill) "
		}
		v.gaps = append(v.gaps, prefix+g.Start.UTC().Format(time.RFC3339)+" "+g.End.UTC().Format(time.RFC3339))
		out[g.Region] = v
	}
	for r, v := range out {
		slices.Sort(v.files)
		slices.Sort(v.gaps)
		out[r] = v
	}
	return out
}

// sameVerdictsAsCLI runs validate-logs in every region at once and
// compares its verdicts with the data source's, file for file, then
// checks the scenario's own expectation on the data source's verdicts.
func sameVerdictsAsCLI(t *testing.T, endpoint string, trail refereeTrail, expect func(map[string]regionVerdicts) error) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		rep, err := reportOf(s)
		if err != nil {
			return err
		}
		ours := reportVerdicts(rep)
		cli := make([]regionVerdicts, len(trail.regions))
		errs := make([]error, len(trail.regions))
		var wg sync.WaitGroup
		for i, region := range trail.regions {
			wg.Go(func() { cli[i], errs[i] = validateLogsCLI(t, endpoint, trail.arn, region, trail.start, trail.end) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		files := 0
		for i, region := range trail.regions {
			if !slices.Equal(cli[i].files, ours[region].files) || !slices.Equal(cli[i].gaps, ours[region].gaps) {
				return fmt.Errorf("%s: validate-logs and the data source disagree\nvalidate-logs files:\n  %s\ngaps: %v\n"+
					"data source files:\n  %s\ngaps: %v", region, strings.Join(cli[i].files, "\n  "), cli[i].gaps,
					strings.Join(ours[region].files, "\n  "), ours[region].gaps)
			}
			files += len(cli[i].files)
		}
		if len(rep.Files) != files {
			return fmt.Errorf("the data source judged %d files, validate-logs %d in %v", len(rep.Files), files, trail.regions)
		}
		t.Logf("%s: validate-logs and the data source agree on %d files in %d regions", trail.name, files, len(trail.regions))
		return expect(ours)
	}
}

// refereeTrail is a trail of the command sandbox and the window it
// logged in.
type refereeTrail struct {
	name, arn, home, bucket, prefix string
	regions                         []string
	start, end                      time.Time
}

func (rt refereeTrail) config(env *accEnv) string {
	return env.ProviderConfig("") + fmt.Sprintf(`
data "opsaudit_log_validation" "test" {
  trail      = %q
  start_time = %q
  end_time   = %q
  verbose    = true
}
`, rt.arn, rt.start.Format(time.RFC3339), rt.end.Format(time.RFC3339))
}

// refereeSandbox is the command sandbox the AWS CLI referees against.
type refereeSandbox struct {
	endpoint string
	account  string
	s3       *s3.Client
}

func (rs refereeSandbox) cloudTrail(region string) *cloudtrail.Client {
	return sandboxtest.CloudTrailClient(rs.endpoint, region, sandboxtest.Creds(sandbox.DefaultAccessKey, sandbox.DefaultSecretKey, ""))
}

// makeTrail creates a bucket in bucketRegion and a trail writing to it
// with log file validation on, from the trail's home region, and starts
// logging.
func (rs refereeSandbox) makeTrail(t *testing.T, name, home, bucketRegion string, multiRegion bool) refereeTrail {
	t.Helper()
	ctx := context.Background()
	rt := refereeTrail{name: name, arn: sandboxtest.TrailARN(home, rs.account, name), home: home, bucket: name + "-logs", prefix: "audit",
		regions: []string{home}}
	if multiRegion {
		rt.regions = validationRegions
	}
	env := &sandboxtest.Env{URL: rs.endpoint}
	env.MakeBucket(t, bucketRegion, rt.bucket, sandboxtest.TrailPolicy(rt.bucket, rt.prefix, rs.account, rt.arn))
	ct := rs.cloudTrail(home)
	if _, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(name), S3BucketName: aws.String(rt.bucket),
		S3KeyPrefix: aws.String(rt.prefix), IsMultiRegionTrail: aws.Bool(multiRegion), EnableLogFileValidation: aws.Bool(true)}); err != nil {
		t.Fatalf("CreateTrail %s: %v", name, err)
	}
	if _, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(rt.arn)}); err != nil {
		t.Fatalf("StartLogging %s: %v", name, err)
	}
	return rt
}

func (rs refereeSandbox) setValidation(t *testing.T, rt refereeTrail, on bool) {
	t.Helper()
	if _, err := rs.cloudTrail(rt.home).UpdateTrail(context.Background(), &cloudtrail.UpdateTrailInput{
		Name: aws.String(rt.arn), EnableLogFileValidation: aws.Bool(on)}); err != nil {
		t.Fatalf("UpdateTrail %s: %v", rt.name, err)
	}
}

func (rs refereeSandbox) stopLogging(t *testing.T, rt refereeTrail) {
	t.Helper()
	if _, err := rs.cloudTrail(rt.home).StopLogging(context.Background(), &cloudtrail.StopLoggingInput{Name: aws.String(rt.arn)}); err != nil {
		t.Fatalf("StopLogging %s: %v", rt.name, err)
	}
}

func (rs refereeSandbox) digests(t *testing.T, rt refereeTrail, region string) []sandboxtest.Digest {
	t.Helper()
	return sandboxtest.ReadDigests(t, rs.s3, rt.bucket, sandboxtest.DigestPrefix(rt.prefix, rs.account, region))
}

// digestKeyAt is the key the digest at key would have had, had it ended
// at at.
func digestKeyAt(key string, at time.Time) string {
	const folder, stamp = "/CloudTrail-Digest/", "20060102T150405Z"
	i := strings.Index(key, folder)
	parts := strings.SplitN(key[i+len(folder):], "/", 5) // region, year, month, day, name
	name := strings.TrimSuffix(parts[4], ".json.gz")
	name = name[:len(name)-len(stamp)] + at.UTC().Format(stamp) + ".json.gz"
	return key[:i] + folder + parts[0] + "/" + at.UTC().Format("2006/01/02") + "/" + name
}

// rewriteDigest puts the digest back with its JSON changed by edit and
// its metadata kept, as someone without CloudTrail's key would.
func rewriteDigest(t *testing.T, c *s3.Client, d sandboxtest.Digest, bucket string, edit func([]byte) []byte) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(edit(bytes.Clone(d.Raw))); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(d.Key),
		Body: bytes.NewReader(buf.Bytes()), Metadata: map[string]string{"signature": d.Signature, "signature-algorithm": d.SignatureAlgorithm}}); err != nil {
		t.Fatalf("PutObject %s: %v", d.Key, err)
	}
}

// hasVerdict expects a verdict line among a region's.
func hasVerdict(region, line string) func(map[string]regionVerdicts) error {
	return func(v map[string]regionVerdicts) error {
		if !slices.Contains(v[region].files, line) {
			return fmt.Errorf("no verdict %q in %s", line, region)
		}
		return nil
	}
}

// TestAccLogValidation_awsCLI has the AWS CLI's validate-logs referee the
// data source on trails of the sandbox command, whose digests come every
// second and whose signing keys rotate every few seconds: a clean chain
// in nine regions, spanning key rotations; then, one at a time, a log
// file changed, a log file deleted, a digest changed, a digest deleted, a
// digest copied to another key and a digest's signature metadata removed;
// and a trail whose validation was turned off and on, which leaves a gap.
// In every case both give the same verdict on every file and the same
// gaps.
func TestAccLogValidation_awsCLI(t *testing.T) {
	needTerraform(t)
	sandboxtest.RequireAWSCLI(t)
	endpoint := sandboxtest.StartCommand(t, "-no-archive", "-digest-interval", "1s", "-key-rotation", "4s")
	rs := refereeSandbox{endpoint: endpoint, account: sandbox.DefaultAccount,
		s3: sandboxtest.S3Client(endpoint, "us-east-1", sandboxtest.Creds(sandbox.DefaultAccessKey, sandbox.DefaultSecretKey, ""),
			func(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true })}
	t.Setenv("AWS_ACCESS_KEY_ID", sandbox.DefaultAccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", sandbox.DefaultSecretKey)
	env := newSandboxEnv(t, nil, endpoint)

	start := time.Now().UTC().Truncate(time.Second).Add(-time.Minute)
	referee := rs.makeTrail(t, "referee", "us-east-1", "us-east-1", true)
	gapped := rs.makeTrail(t, "gapped", "eu-west-1", "eu-west-1", false)
	// Calls CloudTrail records, in three regions, for ten seconds; the
	// second trail's validation is off for two of them.
	for i := range 10 {
		for _, r := range []string{"us-east-1", "eu-west-1", "ap-southeast-2"} {
			if _, err := rs.cloudTrail(r).DescribeTrails(context.Background(), &cloudtrail.DescribeTrailsInput{}); err != nil {
				t.Fatal(err)
			}
		}
		switch i {
		case 4:
			rs.setValidation(t, gapped, false)
		case 6:
			rs.setValidation(t, gapped, true)
		}
		time.Sleep(time.Second)
	}
	rs.stopLogging(t, referee)
	rs.stopLogging(t, gapped)
	end := time.Now().UTC().Truncate(time.Second).Add(2 * time.Second)
	referee.start, referee.end, gapped.start, gapped.end = start, end, start, end

	// The files tampered with, read back with the SDK.
	digests := rs.digests(t, referee, "us-east-1")
	fingerprints := map[string]bool{}
	var logged []sandboxtest.Digest
	for _, d := range digests {
		fingerprints[d.Fingerprint] = true
		if len(d.LogFiles) > 0 && !d.Starting() && d.Key != digests[len(digests)-1].Key {
			logged = append(logged, d)
		}
	}
	if len(fingerprints) < 2 || len(logged) < 4 {
		t.Fatalf("us-east-1 has %d digests signed with %d keys, %d of them listing log files in the middle of the chain",
			len(digests), len(fingerprints), len(logged))
	}
	logKey := logged[0].LogFiles[0].S3Object
	changedDigest, deletedDigest, unsignedDigest := logged[1], logged[2], logged[3]
	last := digests[len(digests)-1]
	endedAt, err := time.Parse(time.RFC3339, last.EndTime)
	if err != nil {
		t.Fatal(err)
	}
	copiedKey := digestKeyAt(last.Key, endedAt.Add(30*time.Second))
	saved := map[string]savedObject{}
	for _, key := range []string{logKey, changedDigest.Key, deletedDigest.Key, unsignedDigest.Key} {
		saved[key] = saveObject(t, rs.s3, referee.bucket, key)
	}
	restore := func(key string) func() { return func() { saved[key].restore(t, rs.s3) } }
	line := func(kind, key, verdict string) string { return verdictLine(false, kind, referee.bucket, key, verdict) }

	scenarios := []struct {
		name         string
		trail        refereeTrail
		tamper, undo func()
		expect       func(map[string]regionVerdicts) error
	}{
		{name: "clean chain with key rotations", trail: referee, expect: func(v map[string]regionVerdicts) error {
			for _, region := range referee.regions {
				for _, f := range v[region].files {
					if !strings.HasSuffix(f, " valid") {
						return fmt.Errorf("%s: %s", region, f)
					}
				}
			}
			return hasVerdict("us-east-1", line("digest", last.Key, "valid"))(v)
		}},
		{name: "log file changed", trail: referee,
			tamper: func() { sandboxtest.Tamper(t, rs.s3, referee.bucket, logKey) }, undo: restore(logKey),
			expect: hasVerdict("us-east-1", line("log", logKey, "hash_mismatch"))},
		{name: "log file deleted", trail: referee,
			tamper: func() { deleteObject(t, rs.s3, referee.bucket, logKey) }, undo: restore(logKey),
			expect: hasVerdict("us-east-1", line("log", logKey, "not_found"))},
		{name: "digest changed", trail: referee,
			tamper: func() {
				rewriteDigest(t, rs.s3, changedDigest, referee.bucket, func(raw []byte) []byte {
					hash := changedDigest.LogFiles[0].HashValue
					return bytes.Replace(raw, []byte(hash), []byte(strings.Repeat("0", len(hash))), 1)
				})
			}, undo: restore(changedDigest.Key),
			expect: hasVerdict("us-east-1", line("digest", changedDigest.Key, "signature_invalid"))},
		{name: "digest deleted", trail: referee,
			tamper: func() { deleteObject(t, rs.s3, referee.bucket, deletedDigest.Key) }, undo: restore(deletedDigest.Key),
			expect: hasVerdict("us-east-1", line("digest", deletedDigest.Key, "not_found"))},
		{name: "digest copied to another key", trail: referee,
			// The sandbox's S3 has no CopyObject: a GetObject and a
			// PutObject with the same metadata copy as well.
			tamper: func() { saveObject(t, rs.s3, referee.bucket, last.Key).putAt(t, rs.s3, copiedKey) },
			undo:   func() { deleteObject(t, rs.s3, referee.bucket, copiedKey) },
			expect: hasVerdict("us-east-1", line("digest", copiedKey, "moved"))},
		{name: "signature metadata removed", trail: referee,
			tamper: func() {
				o := saved[unsignedDigest.Key]
				o.meta = map[string]string{"signature-algorithm": o.meta["signature-algorithm"]}
				o.restore(t, rs.s3)
			}, undo: restore(unsignedDigest.Key),
			expect: hasVerdict("us-east-1", line("digest", unsignedDigest.Key, "signature_invalid"))},
		{name: "validation turned off and on", trail: gapped, expect: func(v map[string]regionVerdicts) error {
			if len(v["eu-west-1"].gaps) != 1 {
				return fmt.Errorf("gaps %v, want one", v["eu-west-1"].gaps)
			}
			return nil
		}},
	}
	var steps []resource.TestStep
	for i, sc := range scenarios {
		steps = append(steps, resource.TestStep{
			PreConfig: func() {
				t.Logf("scenario: %s", sc.name)
				if i > 0 && scenarios[i-1].undo != nil {
					scenarios[i-1].undo()
				}
				if sc.tamper != nil {
					sc.tamper()
				}
			},
			Config: sc.trail.config(env),
			Check:  sameVerdictsAsCLI(t, endpoint, sc.trail, sc.expect),
		})
	}
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: testAccProtoV6ProviderFactories, Steps: steps})
}
