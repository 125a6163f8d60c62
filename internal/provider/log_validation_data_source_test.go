package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	sandboxcloudtrail "github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/cloudtrail"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

const validationAddr = "data.opsaudit_log_validation.test"

// validationReport is report_json as a reader of it sees it.
type validationReport struct {
	Status         string `json:"status"`
	TrailARN       string `json:"trail_arn"`
	DigestsValid   int    `json:"digests_valid"`
	DigestsInvalid int    `json:"digests_invalid"`
	LogsValid      int    `json:"logs_valid"`
	LogsInvalid    int    `json:"logs_invalid"`
	Gaps           []struct {
		Region   string    `json:"region"`
		Start    time.Time `json:"start"`
		End      time.Time `json:"end"`
		Backfill bool      `json:"backfill"`
	} `json:"gaps"`
	Problems []struct {
		Kind   string `json:"kind"`
		Region string `json:"region"`
		Key    string `json:"s3_key"`
		Reason string `json:"reason"`
	} `json:"problems"`
	ProblemsTotal int      `json:"problems_total"`
	Reasons       []string `json:"reasons"`
	Files         []struct {
		Kind     string `json:"kind"`
		Region   string `json:"region"`
		Bucket   string `json:"s3_bucket"`
		Key      string `json:"s3_key"`
		Backfill bool   `json:"backfill"`
		Valid    bool   `json:"valid"`
		Reason   string `json:"reason"`
	} `json:"files"`
}

// reportOf decodes the data source's report_json from state.
func reportOf(s *terraform.State) (*validationReport, error) {
	rs, ok := s.RootModule().Resources[validationAddr]
	if !ok {
		return nil, fmt.Errorf("%s not in state", validationAddr)
	}
	var rep validationReport
	if err := json.Unmarshal([]byte(rs.Primary.Attributes["report_json"]), &rep); err != nil {
		return nil, fmt.Errorf("report_json: %w", err)
	}
	return &rep, nil
}

// savedObject is an object as it was, to be put back after a test changed
// it.
type savedObject struct {
	bucket, key string
	body        []byte
	meta        map[string]string
}

func saveObject(t testing.TB, c *s3.Client, bucket, key string) savedObject {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("GetObject %s: %v", key, err)
	}
	defer func() { _ = out.Body.Close() }()
	body, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", key, err)
	}
	return savedObject{bucket: bucket, key: key, body: body, meta: out.Metadata}
}

// putAt writes the object's body and metadata under key.
func (o savedObject) putAt(t testing.TB, c *s3.Client, key string) {
	t.Helper()
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(o.bucket), Key: aws.String(key),
		Body: bytes.NewReader(o.body), Metadata: o.meta}); err != nil {
		t.Fatalf("PutObject %s: %v", key, err)
	}
}

func (o savedObject) restore(t testing.TB, c *s3.Client) { o.putAt(t, c, o.key) }

func deleteObject(t testing.TB, c *s3.Client, bucket, key string) {
	t.Helper()
	if _, err := c.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		t.Fatalf("DeleteObject %s: %v", key, err)
	}
}

// signedWeek is the pre-existing trail's signed week as read back from
// its bucket with the SDK: the window that covers it, and its digests by
// region.
type signedWeek struct {
	start, end time.Time
	digests    map[string][]sandboxtest.Digest
}

// archiveWeek starts a sandbox whose clock stands at sandboxtest.Now and
// reads back the pre-existing trail's digests. The window ends an hour
// before the archive does, as validate-logs reads digests up to an hour
// past the end: the last one is the archive's last.
func archiveWeek(t *testing.T, opts sandbox.Options) (*accEnv, signedWeek) {
	t.Helper()
	now := sandboxtest.Now
	opts.Now = func() time.Time { return now }
	env := newSandboxOnlyEnv(t, opts, "the pre-existing trail's signed week, on a clock that stands still")
	end := now.Truncate(time.Hour).Add(-time.Hour)
	w := signedWeek{start: end.AddDate(0, 0, -7), end: end, digests: map[string][]sandboxtest.Digest{}}
	bucket := sandbox.ArchiveBucket(env.Account)
	for _, region := range validationRegions {
		w.digests[region] = sandboxtest.ReadDigests(t, env.S3(), bucket, sandboxtest.DigestPrefix("", env.Account, region))
		if n := len(w.digests[region]); n != 7*24 {
			t.Fatalf("%s: %d digests, want a week's", region, n)
		}
	}
	return env, w
}

// validationRegions are the regions the sandbox's accounts have enabled,
// which a multi-region trail writes digests for, in the order the data
// source lists them.
var validationRegions = slices.Sorted(slices.Values(sandboxcloudtrail.Regions))

func (w signedWeek) logs() int {
	n := 0
	for _, ds := range w.digests {
		for _, d := range ds {
			n += len(d.LogFiles)
		}
	}
	return n
}

// withLogs is the region's first digest that lists a log file.
func (w signedWeek) withLogs(t *testing.T, region string) sandboxtest.Digest {
	t.Helper()
	for _, d := range w.digests[region] {
		if len(d.LogFiles) > 0 {
			return d
		}
	}
	t.Fatalf("no digest of %s lists a log file", region)
	return sandboxtest.Digest{}
}

func (w signedWeek) config(env *accEnv, extra string) string {
	return env.ProviderConfig("") + fmt.Sprintf(`
data "opsaudit_log_validation" "test" {
  trail      = %q
  start_time = %q
  end_time   = %q
%s
}
`, sandbox.ArchiveTrailName, w.start.Format(time.RFC3339), w.end.Format(time.RFC3339), extra)
}

func validationValue(attr string, want knownvalue.Check) statecheck.StateCheck {
	return statecheck.ExpectKnownValue(validationAddr, tfjsonpath.New(attr), want)
}

func validationCounts(digestsValid, digestsInvalid, logsValid, logsInvalid int) []statecheck.StateCheck {
	return []statecheck.StateCheck{
		validationValue("digests_valid", knownvalue.Int64Exact(int64(digestsValid))),
		validationValue("digests_invalid", knownvalue.Int64Exact(int64(digestsInvalid))),
		validationValue("logs_valid", knownvalue.Int64Exact(int64(logsValid))),
		validationValue("logs_invalid", knownvalue.Int64Exact(int64(logsInvalid))),
	}
}

func problemCheck(kind, region, key, reason string) knownvalue.Check {
	return knownvalue.ObjectPartial(map[string]knownvalue.Check{
		"kind": knownvalue.StringExact(kind), "region": knownvalue.StringExact(region),
		"s3_key": knownvalue.StringExact(key), "reason": knownvalue.StringExact(reason),
	})
}

// The pre-existing trail's signed week validates in every region; the
// verdicts agree file for file with the digests read back through the
// SDK; a changed log file and a deleted digest fail it, each reported once
// on its own; max_problems and regions narrow what is listed and read.
func TestAccLogValidation_archive(t *testing.T) {
	env, w := archiveWeek(t, sandbox.Options{})
	c := env.S3()
	bucket := sandbox.ArchiveBucket(env.Account)
	digests, logs := 7*24*len(validationRegions), w.logs()
	if logs == 0 {
		t.Fatal("the signed week lists no log file")
	}
	tamperedDigest := w.withLogs(t, "eu-west-1")
	tampered := tamperedDigest.LogFiles[0].S3Object
	deletedDigest := w.digests["us-east-1"][100]
	deleted := saveObject(t, c, bucket, deletedDigest.Key)
	regionChecks := make([]knownvalue.Check, len(validationRegions))
	for i, r := range validationRegions {
		regionChecks[i] = knownvalue.StringExact(r)
	}

	env.accTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: w.config(env, ""),
				ConfigStateChecks: append(validationCounts(digests, 0, logs, 0),
					validationValue("status", knownvalue.StringExact("pass")),
					validationValue("valid", knownvalue.Bool(true)),
					validationValue("regions", knownvalue.ListExact(regionChecks)),
					validationValue("account_id", knownvalue.StringExact(env.Account)),
					validationValue("gaps", knownvalue.ListExact(nil)),
					validationValue("problems", knownvalue.ListExact(nil)),
					validationValue("reasons", knownvalue.ListExact(nil)),
					validationValue("concurrency", knownvalue.Int64Exact(32)),
					validationValue("max_problems", knownvalue.Int64Exact(100)),
					// The chains start a week before the archive ends, an hour
					// after the window.
					validationValue("results_start", knownvalue.StringExact(w.digests["us-east-1"][0].StartTime)),
					validationValue("results_end", knownvalue.StringExact(w.end.Format(time.RFC3339))),
				),
				Check: func(s *terraform.State) error {
					rep, err := reportOf(s)
					if err != nil {
						return err
					}
					if rep.Status != "pass" || rep.DigestsValid != digests || rep.Files != nil || !strings.HasSuffix(rep.TrailARN, ":trail/"+sandbox.ArchiveTrailName) {
						return fmt.Errorf("report: status %s, %d digests, %d files, trail %s", rep.Status, rep.DigestsValid, len(rep.Files), rep.TrailARN)
					}
					return nil
				},
			},
			{
				// Every file's verdict, against the digests and the log
				// files they list as the SDK reads them.
				Config: w.config(env, "  verbose = true"),
				Check: func(s *terraform.State) error {
					rep, err := reportOf(s)
					if err != nil {
						return err
					}
					var want, got []string
					for region, ds := range w.digests {
						for _, d := range ds {
							want = append(want, "digest "+region+" "+d.Key)
							for _, l := range d.LogFiles {
								want = append(want, "log "+region+" "+l.S3Object)
							}
						}
					}
					for _, f := range rep.Files {
						if !f.Valid || f.Reason != "" || f.Bucket != bucket {
							return fmt.Errorf("file %+v", f)
						}
						got = append(got, f.Kind+" "+f.Region+" "+f.Key)
					}
					slices.Sort(want)
					slices.Sort(got)
					if !slices.Equal(got, want) {
						return fmt.Errorf("files: %d verdicts, %d files read back", len(got), len(want))
					}
					return nil
				},
			},
			{
				PreConfig: func() {
					sandboxtest.Tamper(t, c, bucket, tampered)
					deleteObject(t, c, bucket, deletedDigest.Key)
				},
				Config: w.config(env, ""),
				ConfigStateChecks: append(validationCounts(digests-1, 1, logs-1-len(deletedDigest.LogFiles), 1),
					validationValue("status", knownvalue.StringExact("fail")),
					validationValue("valid", knownvalue.Bool(false)),
					validationValue("problems", knownvalue.ListExact([]knownvalue.Check{
						problemCheck("log", "eu-west-1", tampered, "hash_mismatch"),
						problemCheck("digest", "us-east-1", deletedDigest.Key, "not_found"),
					})),
				),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(validationAddr, "problems.0.message",
						"Log file s3://"+bucket+"/"+tampered+" INVALID: hash value doesn't match"),
					resource.TestCheckResourceAttr(validationAddr, "problems.1.message",
						"Digest file s3://"+bucket+"/"+deletedDigest.Key+" INVALID: not found"),
				),
			},
			{
				Config: w.config(env, "  max_problems = 1"),
				ConfigStateChecks: append(validationCounts(digests-1, 1, logs-1-len(deletedDigest.LogFiles), 1),
					validationValue("problems", knownvalue.ListExact([]knownvalue.Check{
						problemCheck("log", "eu-west-1", tampered, "hash_mismatch"),
					})),
				),
				Check: func(s *terraform.State) error {
					rep, err := reportOf(s)
					if err != nil {
						return err
					}
					if rep.ProblemsTotal != 2 || len(rep.Problems) != 1 {
						return fmt.Errorf("report: %d problems of %d", len(rep.Problems), rep.ProblemsTotal)
					}
					return nil
				},
			},
			{
				Config: w.config(env, `  regions = ["us-east-1"]`),
				ConfigStateChecks: []statecheck.StateCheck{
					validationValue("status", knownvalue.StringExact("fail")),
					validationValue("digests_valid", knownvalue.Int64Exact(7*24-1)),
					validationValue("logs_invalid", knownvalue.Int64Exact(0)),
					validationValue("problems", knownvalue.ListExact([]knownvalue.Check{
						problemCheck("digest", "us-east-1", deletedDigest.Key, "not_found"),
					})),
				},
			},
			{
				PreConfig: func() { deleted.restore(t, c) },
				Config:    w.config(env, `  regions = ["us-east-1"]`),
				ConfigStateChecks: []statecheck.StateCheck{
					validationValue("status", knownvalue.StringExact("pass")),
					validationValue("digests_valid", knownvalue.Int64Exact(7*24)),
				},
			},
			{
				Config:      strings.Replace(w.config(env, ""), sandbox.ArchiveTrailName, "no-such-trail", 1),
				ExpectError: regexp.MustCompile(`(?s)Trail not found.*TrailNotFoundException`),
			},
		},
	})
}

// A region that cannot be validated makes the result unknown, with the
// reason and what to do about it, and the other regions' verdicts: here
// ListPublicKeys is denied in one region, and a region the trail never
// wrote digests for, although it logs with validation on, has none. A
// trail whose status cannot be read leaves everything unvalidated.
func TestAccLogValidation_unknown(t *testing.T) {
	base, w := archiveWeek(t, sandbox.Options{})
	hs := httptest.NewServer(denyCloudTrail{next: base.Sandbox, op: "ListPublicKeys", region: "ap-southeast-2", account: base.Account})
	t.Cleanup(hs.Close)
	env := newSandboxEnv(t, base.Sandbox, hs.URL)
	statusDenied := httptest.NewServer(denyCloudTrail{next: base.Sandbox, op: "GetTrailStatus", region: "us-east-1", account: base.Account})
	t.Cleanup(statusDenied.Close)
	c := env.S3()
	bucket := sandbox.ArchiveBucket(env.Account)
	logsOf := func(region string) int {
		n := 0
		for _, d := range w.digests[region] {
			n += len(d.LogFiles)
		}
		return n
	}
	reason := func(re string) statecheck.StateCheck {
		return validationValue("reasons", knownvalue.ListExact([]knownvalue.Check{knownvalue.StringRegexp(regexp.MustCompile(re))}))
	}
	tampered := w.withLogs(t, "us-east-1").LogFiles[0].S3Object
	log := saveObject(t, c, bucket, tampered)

	base.accTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: w.config(env, `  regions = ["us-east-1", "ap-southeast-2"]`),
				ConfigStateChecks: append(validationCounts(7*24, 0, logsOf("us-east-1"), 0),
					validationValue("status", knownvalue.StringExact("unknown")),
					validationValue("valid", knownvalue.Bool(false)),
					reason(`^region ap-southeast-2: listing CloudTrail public keys in ap-southeast-2 .*AccessDeniedException.*`+
						`lacks the IAM permission cloudtrail:ListPublicKeys`),
				),
			},
			{
				// An invalid file fails the validation, whatever could not
				// be validated.
				PreConfig: func() { sandboxtest.Tamper(t, c, bucket, tampered) },
				Config:    w.config(env, `  regions = ["us-east-1", "ap-southeast-2"]`),
				ConfigStateChecks: []statecheck.StateCheck{
					validationValue("status", knownvalue.StringExact("fail")),
					validationValue("logs_invalid", knownvalue.Int64Exact(1)),
				},
			},
			{
				PreConfig: func() { log.restore(t, c) },
				Config:    w.config(env, `  regions = ["us-east-1", "eu-north-1"]`),
				ConfigStateChecks: []statecheck.StateCheck{
					validationValue("status", knownvalue.StringExact("unknown")),
					validationValue("digests_valid", knownvalue.Int64Exact(7*24)),
					reason(`^region eu-north-1: no digest file between ` + regexp.QuoteMeta(w.start.Format(time.RFC3339)) +
						` and .*although the trail logged with log file validation on`),
				},
			},
			{
				// Without the trail's status, nothing is validated.
				Config: w.config(newSandboxEnv(t, base.Sandbox, statusDenied.URL), ""),
				ConfigStateChecks: append(validationCounts(0, 0, 0, 0),
					validationValue("status", knownvalue.StringExact("unknown")),
					validationValue("regions", knownvalue.Null()),
					reason(`^reading the status of trail "arn:aws:cloudtrail:us-east-1:\d+:trail/`+sandbox.ArchiveTrailName+`": .*`+
						`AccessDeniedException.*lacks the IAM permission cloudtrail:GetTrailStatus`),
				),
			},
			{
				// The sandbox's clock stands a year and more behind: the
				// last week has no digest, although the trail claims to
				// log with validation on.
				Config: env.ProviderConfig("") + `
data "opsaudit_log_validation" "test" {
  trail   = "` + sandbox.ArchiveTrailName + `"
  regions = ["us-east-1"]
}`,
				ConfigStateChecks: []statecheck.StateCheck{
					validationValue("status", knownvalue.StringExact("unknown")),
					validationValue("digests_valid", knownvalue.Int64Exact(0)),
					validationValue("results_start", knownvalue.Null()),
					reason(`^region us-east-1: no digest file between`),
				},
				Check: func(s *terraform.State) error {
					a := s.RootModule().Resources[validationAddr].Primary.Attributes
					start, err1 := time.Parse(time.RFC3339, a["start_time"])
					end, err2 := time.Parse(time.RFC3339, a["end_time"])
					if err1 != nil || err2 != nil || end.Sub(start) != 7*24*time.Hour || time.Since(end) > time.Hour {
						return fmt.Errorf("default window %s to %s, want the last 7 days", a["start_time"], a["end_time"])
					}
					return nil
				},
			},
		},
	})
}

// Every argument is checked at plan time, on its attribute.
func TestAccLogValidation_planTimeErrors(t *testing.T) {
	env := newAccEnv(t, sandbox.Options{NoHistory: true})
	cases := map[string]struct{ args, want string }{
		"trail name":           {`trail = "a"`, `(?s)trail.*"a" is 1 characters long`},
		"trail ARN":            {`trail = "arn:aws:s3:::bucket"`, `(?s)trail = "arn:aws:s3:::bucket".*"arn:aws:s3:::bucket" is not a CloudTrail trail ARN`},
		"start after end":      {`trail = "t-1"` + "\n" + `start_time = "2025-06-02T00:00:00Z"` + "\n" + `end_time = "2025-06-01T00:00:00Z"`, `(?s)Start after end.*start_time = "2025-06-02T00:00:00Z".*start_time 2025-06-02T00:00:00Z is after\s+end_time\s+2025-06-01T00:00:00Z`},
		"start not RFC 3339":   {`trail = "t-1"` + "\n" + `start_time = "yesterday"`, `(?s)start_time.*"yesterday" is not an RFC 3339 time`},
		"lookback and start":   {`trail = "t-1"` + "\n" + `lookback = "1d"` + "\n" + `start_time = "2025-06-01T00:00:00Z"`, `(?s)Invalid Attribute Combination.*lookback.*start_time`},
		"lookback not a span":  {`trail = "t-1"` + "\n" + `lookback = "a week"`, `(?s)lookback.*"a week" is not a duration`},
		"unknown region":       {`trail = "t-1"` + "\n" + `regions = ["eu-west-1", "mars-east-1"]`, `(?s)regions = \["eu-west-1", "mars-east-1"\].*"mars-east-1" is not an AWS region`},
		"region twice":         {`trail = "t-1"` + "\n" + `regions = ["eu-west-1", "eu-west-1"]`, `(?s)regions.*duplicate`},
		"account id":           {`trail = "t-1"` + "\n" + `account_id = "1234"`, `(?s)account_id.*"1234" is not a 12-digit AWS account id`},
		"concurrency":          {`trail = "t-1"` + "\n" + `concurrency = 0`, `(?s)concurrency.*between 1 and 1024`},
		"max_problems":         {`trail = "t-1"` + "\n" + `max_problems = 0`, `(?s)max_problems.*between 1 and 1000000`},
		"lookback of 0 length": {`trail = "t-1"` + "\n" + `lookback = "0h"`, `(?s)lookback.*longer than zero`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			env.accTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      env.ProviderConfig("") + "data \"opsaudit_log_validation\" \"test\" {\n" + tc.args + "\n}\n",
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(tc.want),
				}},
			})
		})
	}
}
