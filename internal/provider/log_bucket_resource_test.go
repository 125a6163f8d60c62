package provider

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/acctest"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awserr"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/bucketpolicy"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/testserver"
)

const (
	logBucketAddr = "opsaudit_log_bucket.test"
	testKMSKey    = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

// wantBucket is what a log bucket must look like when read back with the
// SDK. Trail ARNs are spelled out by the test, not derived by the provider.
type wantBucket struct {
	trailARNs         []string
	keyPrefix, orgID  string
	kmsKey            string
	retention         int32
	noncurrent        int32
	versioning        s3types.BucketVersioningStatus
	logBucket, logPfx string
	tags              map[string]string
	lockMode          s3types.ObjectLockRetentionMode
	lockDays          int32
}

func defaultWant(env *accEnv, trails ...string) wantBucket {
	w := wantBucket{retention: 365, noncurrent: 90, versioning: s3types.BucketVersioningStatusEnabled}
	for _, n := range trails {
		w.trailARNs = append(w.trailARNs, fmt.Sprintf("arn:aws:cloudtrail:%s:%s:trail/%s", env.Region, env.Account, n))
	}
	return w
}

// checkBucket reads every sub-resource back with the SDK.
func checkBucket(env *accEnv, name string, w wantBucket) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx, c, b := context.Background(), env.S3(), aws.String(name)
		var errs []error
		fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

		pab, err := c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b})
		if err != nil {
			return fmt.Errorf("GetPublicAccessBlock: %w", err)
		}
		if p := pab.PublicAccessBlockConfiguration; !aws.ToBool(p.BlockPublicAcls) || !aws.ToBool(p.BlockPublicPolicy) ||
			!aws.ToBool(p.IgnorePublicAcls) || !aws.ToBool(p.RestrictPublicBuckets) {
			fail("public access block not all on: %+v", *p)
		}
		own, err := c.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: b})
		if err != nil {
			return fmt.Errorf("GetBucketOwnershipControls: %w", err)
		}
		if got := own.OwnershipControls.Rules[0].ObjectOwnership; got != s3types.ObjectOwnershipBucketOwnerEnforced {
			fail("object ownership = %s", got)
		}

		pol, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b})
		if err != nil {
			return fmt.Errorf("GetBucketPolicy: %w", err)
		}
		want, err := bucketpolicy.Build(bucketpolicy.Options{Bucket: name, AccountID: env.Account, TrailARNs: w.trailARNs,
			KeyPrefix: w.keyPrefix, OrganizationID: w.orgID})
		if err != nil {
			return err
		}
		if same, err := bucketpolicy.Equivalent(aws.ToString(pol.Policy), want); err != nil || !same {
			fail("bucket policy %s\nwant %s (%v)", aws.ToString(pol.Policy), want, err)
		}
		for _, a := range w.trailARNs {
			if !strings.Contains(aws.ToString(pol.Policy), a) {
				fail("bucket policy does not name trail %s", a)
			}
		}

		enc, err := c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: b})
		if err != nil {
			return fmt.Errorf("GetBucketEncryption: %w", err)
		}
		rule := enc.ServerSideEncryptionConfiguration.Rules[0]
		switch d := rule.ApplyServerSideEncryptionByDefault; {
		case w.kmsKey == "" && d.SSEAlgorithm != s3types.ServerSideEncryptionAes256:
			fail("encryption = %s, want AES256", d.SSEAlgorithm)
		case w.kmsKey != "" && (d.SSEAlgorithm != s3types.ServerSideEncryptionAwsKms || aws.ToString(d.KMSMasterKeyID) != w.kmsKey ||
			!aws.ToBool(rule.BucketKeyEnabled)):
			fail("encryption = %s key %s bucket key %v, want aws:kms %s with bucket key", d.SSEAlgorithm,
				aws.ToString(d.KMSMasterKeyID), aws.ToBool(rule.BucketKeyEnabled), w.kmsKey)
		}

		ver, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: b})
		if err != nil {
			return fmt.Errorf("GetBucketVersioning: %w", err)
		}
		if ver.Status != w.versioning {
			fail("versioning = %q, want %q", ver.Status, w.versioning)
		}

		lc, err := c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: b})
		if err != nil {
			return fmt.Errorf("GetBucketLifecycleConfiguration: %w", err)
		}
		if len(lc.Rules) != 1 || lc.Rules[0].Status != s3types.ExpirationStatusEnabled ||
			aws.ToInt32(lc.Rules[0].Expiration.Days) != w.retention ||
			aws.ToInt32(lc.Rules[0].NoncurrentVersionExpiration.NoncurrentDays) != w.noncurrent {
			fail("lifecycle = %+v, want expiry after %d days and noncurrent versions after %d", lc.Rules, w.retention, w.noncurrent)
		}

		lg, err := c.GetBucketLogging(ctx, &s3.GetBucketLoggingInput{Bucket: b})
		if err != nil {
			return fmt.Errorf("GetBucketLogging: %w", err)
		}
		switch le := lg.LoggingEnabled; {
		case w.logBucket == "" && le != nil:
			fail("access logging on, want off")
		case w.logBucket != "" && (le == nil || aws.ToString(le.TargetBucket) != w.logBucket || aws.ToString(le.TargetPrefix) != w.logPfx):
			fail("access logging = %+v, want %s/%s", le, w.logBucket, w.logPfx)
		}

		tags := map[string]string{}
		tg, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: b})
		if err == nil {
			for _, t := range tg.TagSet {
				tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
		} else if !awserr.NotConfigured(err) {
			return fmt.Errorf("GetBucketTagging: %w", err)
		}
		if !maps.Equal(tags, w.tags) && (len(tags) > 0 || len(w.tags) > 0) {
			fail("tags = %v, want %v", tags, w.tags)
		}

		lock, err := c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: b})
		switch {
		case w.lockMode == "" && err == nil && lock.ObjectLockConfiguration.ObjectLockEnabled == s3types.ObjectLockEnabledEnabled:
			fail("object lock is on, want off")
		case w.lockMode == "" && err != nil && !awserr.NotConfigured(err):
			return fmt.Errorf("GetObjectLockConfiguration: %w", err)
		case w.lockMode != "" && err != nil:
			return fmt.Errorf("GetObjectLockConfiguration: %w", err)
		case w.lockMode != "":
			r := lock.ObjectLockConfiguration.Rule
			if r == nil || r.DefaultRetention.Mode != w.lockMode || aws.ToInt32(r.DefaultRetention.Days) != w.lockDays {
				fail("object lock rule = %+v, want %s for %d days", r, w.lockMode, w.lockDays)
			}
		}
		return errors.Join(errs...)
	}
}

func checkBucketGone(env *accEnv, names ...string) func(*terraform.State) error {
	return func(*terraform.State) error {
		for _, n := range names {
			_, err := env.S3().HeadBucket(context.Background(), &s3.HeadBucketInput{Bucket: aws.String(n)})
			if err == nil {
				return fmt.Errorf("bucket %s still exists", n)
			}
			if !awserr.BucketNotFound(err) {
				return fmt.Errorf("HeadBucket %s: %w", n, err)
			}
		}
		return nil
	}
}

func logBucketConfig(env *accEnv, body string) string {
	return env.ProviderConfig("") + "resource \"opsaudit_log_bucket\" \"test\" {\n" + body + "\n}\n"
}

// createSteps create a bucket with the defaults, read it back and import
// it: the part that also runs against moto_server.
func createSteps(env *accEnv, name string) []resource.TestStep {
	cfg := logBucketConfig(env, fmt.Sprintf(`  bucket      = %q
  trail_names = ["main"]`, name))
	return []resource.TestStep{
		{
			Config: cfg,
			Check:  checkBucket(env, name, defaultWant(env, "main")),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(logBucketAddr, tfjsonpath.New("arn"), knownvalue.StringExact("arn:aws:s3:::"+name)),
				statecheck.ExpectKnownValue(logBucketAddr, tfjsonpath.New("region"), knownvalue.StringExact(env.Region)),
				statecheck.ExpectKnownValue(logBucketAddr, tfjsonpath.New("sse_algorithm"), knownvalue.StringExact("AES256")),
				statecheck.ExpectKnownValue(logBucketAddr, tfjsonpath.New("policy"), knownvalue.StringRegexp(
					regexp.MustCompile(regexp.QuoteMeta(fmt.Sprintf("arn:aws:cloudtrail:%s:%s:trail/main", env.Region, env.Account))))),
			},
		},
		{
			Config: cfg,
			// The bucket is found exactly as the configuration describes
			// it: refresh and plan are empty.
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		},
		{
			ResourceName:      logBucketAddr,
			ImportState:       true,
			ImportStateId:     name,
			ImportStateVerify: true,
		},
	}
}

// expectDrift checks the planned update changes each named attribute, so
// that each out-of-band change is seen on its own.
type expectDrift struct {
	addr  string
	attrs []string
}

func (e expectDrift) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Address != e.addr {
			continue
		}
		before, _ := rc.Change.Before.(map[string]any)
		after, _ := rc.Change.After.(map[string]any)
		var unchanged []string
		for _, a := range e.attrs {
			if reflect.DeepEqual(before[a], after[a]) {
				unchanged = append(unchanged, fmt.Sprintf("%s (%v)", a, before[a]))
			}
		}
		if len(unchanged) > 0 {
			resp.Error = fmt.Errorf("the plan does not show the drift of %s", strings.Join(unchanged, ", "))
		}
		return
	}
	resp.Error = fmt.Errorf("no planned change for %s", e.addr)
}

// writeLog records the S3 sub-resources written (PUT and DELETE with a
// sub-resource query), to check an update writes only what changed.
type writeLog struct {
	next http.Handler
	mu   sync.Mutex
	seen []string
}

func (l *writeLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut || r.Method == http.MethodDelete {
		for k := range r.URL.Query() {
			if !strings.HasPrefix(k, "x-") && k != "versionId" {
				l.mu.Lock()
				l.seen = append(l.seen, r.Method+" "+k)
				l.mu.Unlock()
			}
		}
	}
	l.next.ServeHTTP(w, r)
}

func (l *writeLog) reset() { l.mu.Lock(); l.seen = nil; l.mu.Unlock() }

func (l *writeLog) expect(want ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		got := slices.Sorted(slices.Values(slices.Compact(slices.Sorted(slices.Values(l.seen)))))
		slices.Sort(want)
		if !slices.Equal(got, want) {
			return fmt.Errorf("S3 writes %v, want exactly %v", got, want)
		}
		return nil
	}
}

// newLoggedEnv is an in-process sandbox served behind a writeLog, or the
// external target without one (nil): a proxy would break the signatures
// of requests to AWS.
func newLoggedEnv(t *testing.T) (*accEnv, *writeLog) {
	t.Helper()
	base := newAccEnv(t, sandbox.Options{NoHistory: true})
	if base.Sandbox == nil {
		return base, nil
	}
	log := &writeLog{next: base.Sandbox}
	hs := httptest.NewServer(log)
	t.Cleanup(hs.Close)
	return newSandboxEnv(t, base.Sandbox, hs.URL), log
}

func putVersions(t *testing.T, env *accEnv, bucket string, n int) {
	t.Helper()
	ctx, c := context.Background(), env.S3()
	for i := range n {
		key := fmt.Sprintf("AWSLogs/%s/CloudTrail/us-east-1/%04d.json.gz", env.Account, i%(n/2+1))
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader([]byte("{}"))}); err != nil {
			t.Fatalf("PutObject: %v", err)
		}
	}
	// A delete marker too: force_destroy must remove those as well.
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(fmt.Sprintf("AWSLogs/%s/CloudTrail/us-east-1/0000.json.gz", env.Account))}); err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
}

func TestAccLogBucket_lifecycle(t *testing.T) {
	env, log := newLoggedEnv(t)
	name := accName("logs")
	accessLogs := name + "-access"
	if _, err := env.S3().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(accessLogs)}); err != nil {
		t.Fatalf("creating the access log bucket: %v", err)
	}
	t.Cleanup(func() { env.removeBucket(t, accessLogs) })

	updated := fmt.Sprintf(`  bucket            = %q
  trail_names       = ["main", "second"]
  source_trail_arns = ["arn:aws:cloudtrail:eu-west-1:210987654321:trail/org"]
  s3_key_prefix     = "audit"
  organization_id   = "o-abcdefghij"
  kms_key_arn       = %q
  retention_days    = 400
  noncurrent_version_retention_days = 30
  access_log_bucket = %q
  access_log_prefix = "s3/"
  tags              = { team = "security" }
%%s`, name, testKMSKey, accessLogs)
	wantUpdated := defaultWant(env, "main", "second")
	wantUpdated.trailARNs = append(wantUpdated.trailARNs, "arn:aws:cloudtrail:eu-west-1:210987654321:trail/org")
	wantUpdated.keyPrefix, wantUpdated.orgID, wantUpdated.kmsKey = "audit", "o-abcdefghij", testKMSKey
	wantUpdated.retention, wantUpdated.noncurrent = 400, 30
	wantUpdated.logBucket, wantUpdated.logPfx = accessLogs, "s3/"
	wantUpdated.tags = map[string]string{"team": "security"}

	// Only the sandbox's write log tells which sub-resources an update
	// wrote: public access block, ownership and versioning did not change.
	resetLog := func() {}
	updateChecks := []resource.TestCheckFunc{checkBucket(env, name, wantUpdated)}
	if log != nil {
		resetLog = log.reset
		updateChecks = append(updateChecks, log.expect("PUT policy", "PUT encryption", "PUT lifecycle", "PUT logging", "PUT tagging"))
	}

	ctx, c, b := context.Background(), env.S3(), aws.String(name)
	steps := createSteps(env, name)
	steps = append(steps,
		resource.TestStep{
			PreConfig: resetLog,
			Config:    logBucketConfig(env, fmt.Sprintf(updated, "")),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(logBucketAddr, plancheck.ResourceActionUpdate)}},
			Check: resource.ComposeAggregateTestCheckFunc(updateChecks...),
		},
		resource.TestStep{
			ResourceName: logBucketAddr, ImportState: true, ImportStateId: name, ImportStateVerify: true,
		},
		resource.TestStep{
			PreConfig: func() {
				mustS3(t, "editing the policy", func() error {
					_, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(
						`{"Version":"2012-10-17","Statement":[{"Sid":"AWSCloudTrailWrite","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::` + name + `/*"}]}`)})
					return err
				})
				mustS3(t, "turning a public access block setting off", func() error {
					_, err := c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: b, PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
						BlockPublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(false), IgnorePublicAcls: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}})
					return err
				})
				mustS3(t, "removing encryption", func() error {
					_, err := c.DeleteBucketEncryption(ctx, &s3.DeleteBucketEncryptionInput{Bucket: b})
					return err
				})
				mustS3(t, "suspending versioning", func() error {
					_, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: b, VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusSuspended}})
					return err
				})
				mustS3(t, "deleting the lifecycle", func() error {
					_, err := c.DeleteBucketLifecycle(ctx, &s3.DeleteBucketLifecycleInput{Bucket: b})
					return err
				})
				mustS3(t, "deleting the ownership controls", func() error {
					_, err := c.DeleteBucketOwnershipControls(ctx, &s3.DeleteBucketOwnershipControlsInput{Bucket: b})
					return err
				})
				mustS3(t, "removing the tags", func() error {
					_, err := c.DeleteBucketTagging(ctx, &s3.DeleteBucketTaggingInput{Bucket: b})
					return err
				})
			},
			Config: logBucketConfig(env, fmt.Sprintf(updated, "")),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(logBucketAddr, plancheck.ResourceActionUpdate),
				expectDrift{logBucketAddr, []string{"policy", "block_public_policy", "kms_key_arn", "sse_algorithm",
					"bucket_key_enabled", "versioning", "retention_days", "noncurrent_version_retention_days",
					"object_ownership", "tags"}},
			}},
			Check: checkBucket(env, name, wantUpdated),
		},
		resource.TestStep{
			// Deleted outside Terraform: removed from state, planned anew.
			PreConfig: func() {
				mustS3(t, "deleting the bucket", func() error {
					_, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: b})
					return err
				})
			},
			Config: logBucketConfig(env, fmt.Sprintf(updated, "")),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(logBucketAddr, plancheck.ResourceActionCreate)}},
			Check: checkBucket(env, name, wantUpdated),
		},
		resource.TestStep{
			// Delete refuses a bucket that holds logs.
			PreConfig:   func() { putVersions(t, env, name, 4) },
			Config:      logBucketConfig(env, fmt.Sprintf(updated, "")),
			Destroy:     true,
			ExpectError: regexp.MustCompile(`BucketNotEmpty`),
		},
		resource.TestStep{
			// More versions than one ListObjectVersions page.
			PreConfig: func() { putVersions(t, env, name, 1100) },
			Config:    logBucketConfig(env, fmt.Sprintf(updated, "  force_destroy = true")),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(logBucketAddr, plancheck.ResourceActionUpdate)}},
		},
	)
	env.accTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkBucketGone(env, name),
		Steps:                    steps,
	})
}

func mustS3(t *testing.T, what string, call func() error) {
	t.Helper()
	if err := call(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func TestAccLogBucket_replace(t *testing.T) {
	env := newAccEnv(t, sandbox.Options{NoHistory: true})
	first, second := accName("a"), accName("b")
	cfg := func(name, extra string) string {
		return logBucketConfig(env, fmt.Sprintf("  bucket = %q\n  trail_names = [\"main\"]\n%s", name, extra))
	}
	lock := func(mode string, days int) string {
		return fmt.Sprintf("  object_lock = {\n    mode = %q\n    days = %d\n  }", mode, days)
	}
	want := defaultWant(env, "main")
	locked := want
	locked.lockMode, locked.lockDays = s3types.ObjectLockRetentionModeGovernance, 1
	relocked := locked
	relocked.lockMode, relocked.lockDays = s3types.ObjectLockRetentionModeCompliance, 2
	replace := func() resource.ConfigPlanChecks {
		return resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
			plancheck.ExpectResourceAction(logBucketAddr, plancheck.ResourceActionDestroyBeforeCreate)}}
	}
	env.accTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkBucketGone(env, first, second),
		Steps: []resource.TestStep{
			{Config: cfg(first, ""), Check: checkBucket(env, first, want)},
			{
				Config: cfg(second, ""), ConfigPlanChecks: replace(),
				Check: resource.ComposeAggregateTestCheckFunc(checkBucketGone(env, first), checkBucket(env, second, want)),
			},
			{Config: cfg(second, lock("GOVERNANCE", 1)), ConfigPlanChecks: replace(), Check: checkBucket(env, second, locked)},
			{
				Config: cfg(second, lock("COMPLIANCE", 2)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(logBucketAddr, plancheck.ResourceActionUpdate)}},
				Check: checkBucket(env, second, relocked),
			},
			{ResourceName: logBucketAddr, ImportState: true, ImportStateId: second, ImportStateVerify: true},
			{Config: cfg(second, ""), ConfigPlanChecks: replace(), Check: checkBucket(env, second, want)},
		},
	})
}

// TestAccLogBucket_importHandWrittenPolicy imports a bucket whose policy
// was written by hand the way S3 accepts it: the TLS condition as a JSON
// boolean, one-element lists as strings. The trails and key prefix are
// recovered from it, and the imported bucket matches its configuration.
func TestAccLogBucket_importHandWrittenPolicy(t *testing.T) {
	env := newAccEnv(t, sandbox.Options{NoHistory: true})
	name := accName("hand")
	cfg := logBucketConfig(env, fmt.Sprintf("  bucket        = %q\n  trail_names   = [\"main\"]\n  s3_key_prefix = \"audit\"", name))
	trail := fmt.Sprintf("arn:aws:cloudtrail:%s:%s:trail/main", env.Region, env.Account)
	handWritten := fmt.Sprintf(`{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
     "Action": "s3:GetBucketAcl", "Resource": "arn:aws:s3:::%[1]s",
     "Condition": {"StringEquals": {"aws:SourceArn": %[2]q}}},
    {"Sid": "AWSCloudTrailWrite", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
     "Action": "s3:PutObject", "Resource": "arn:aws:s3:::%[1]s/audit/AWSLogs/%[3]s/*",
     "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": %[2]q}}},
    {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
     "Resource": ["arn:aws:s3:::%[1]s", "arn:aws:s3:::%[1]s/*"],
     "Condition": {"Bool": {"aws:SecureTransport": false}}}
  ]
}`, name, trail, env.Account)
	want := defaultWant(env, "main")
	want.keyPrefix = "audit"
	env.accTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkBucketGone(env, name),
		Steps: []resource.TestStep{
			{Config: cfg, Check: checkBucket(env, name, want)},
			{
				PreConfig: func() {
					mustS3(t, "writing the policy by hand", func() error {
						_, err := env.S3().PutBucketPolicy(context.Background(), &s3.PutBucketPolicyInput{
							Bucket: aws.String(name), Policy: aws.String(handWritten)})
						return err
					})
				},
				ResourceName: logBucketAddr, ImportState: true, ImportStateId: name, ImportStateVerify: true,
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					a := states[0].Attributes
					if a["trail_names.#"] != "1" || a["trail_names.0"] != "main" || a["s3_key_prefix"] != "audit" ||
						a["source_trail_arns.#"] != "" && a["source_trail_arns.#"] != "0" {
						return fmt.Errorf("import did not recover the trails and key prefix: %v", a)
					}
					return nil
				},
			},
			{
				// The hand-written policy means what the configuration
				// asks for: no change to plan.
				Config:           cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check: func(*terraform.State) error {
					pol, err := env.S3().GetBucketPolicy(context.Background(), &s3.GetBucketPolicyInput{Bucket: aws.String(name)})
					if err != nil {
						return err
					}
					if !strings.Contains(aws.ToString(pol.Policy), `"aws:SecureTransport": false`) &&
						!strings.Contains(aws.ToString(pol.Policy), `"aws:SecureTransport":false`) {
						return fmt.Errorf("the bucket's hand-written policy was replaced: %s", aws.ToString(pol.Policy))
					}
					return nil
				},
			},
		},
	})
}

func TestAccLogBucket_prefixAndPartialFailure(t *testing.T) {
	env := newSandboxOnlyEnv(t, sandbox.Options{NoHistory: true}, "injects a fault part-way through create")
	cfg := env.ProviderConfig("  max_retries = 0") + `
resource "opsaudit_log_bucket" "test" {
  bucket_prefix = "opsaudit-gen-"
  trail_names   = ["main"]
}
`
	var created string
	env.accTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             func(s *terraform.State) error { return checkBucketGone(env, created)(s) },
		Steps: []resource.TestStep{
			{
				PreConfig: func() {
					env.Sandbox.SetFaults([]sandbox.Fault{{Kind: sandbox.FaultError, Rate: 1, Op: "PutBucketEncryption", Status: 500}})
				},
				Config:      cfg,
				ExpectError: regexp.MustCompile(`default encryption`),
			},
			{
				// The bucket was kept in state, tainted: it is replaced.
				PreConfig: func() { env.Sandbox.SetFaults(nil) },
				Config:    cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(logBucketAddr, plancheck.ResourceActionDestroyBeforeCreate)}},
				Check: func(s *terraform.State) error {
					created = s.RootModule().Resources[logBucketAddr].Primary.Attributes["bucket"]
					if !regexp.MustCompile(`^opsaudit-gen-[0-9]{18}[0-9a-f]{8}$`).MatchString(created) {
						return fmt.Errorf("generated name %q does not follow the prefix", created)
					}
					return checkBucket(env, created, defaultWant(env, "main"))(s)
				},
			},
		},
	})
}

func TestAccLogBucket_planTimeErrors(t *testing.T) {
	env := newAccEnv(t, sandbox.Options{NoHistory: true})
	step := func(body, want string) resource.TestStep {
		return resource.TestStep{Config: logBucketConfig(env, body), PlanOnly: true, ExpectError: regexp.MustCompile(want)}
	}
	env.accTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			step(`bucket = "Bad_Name"`+"\n"+`trail_names = ["main"]`, `may\s+contain\s+only\s+lower-case`),
			step(`bucket = "logs"`, `No trail may write to the bucket`),
			step(`bucket = "logs"`+"\n"+`trail_names = []`+"\n"+`source_trail_arns = []`, `No trail may write to the bucket`),
			step(`bucket = "logs"`+"\n"+`trail_names = ["main"]`+"\n"+`retention_days = 10`+"\n"+
				`object_lock = {`+"\n"+`mode = "GOVERNANCE"`+"\n"+`days = 30`+"\n}", `Retention shorter than object lock`),
			step(`bucket = "logs"`+"\n"+`trail_names = ["main"]`+"\n"+`versioning = false`+"\n"+
				`object_lock = {`+"\n"+`mode = "GOVERNANCE"`+"\n"+`days = 30`+"\n}", `Object lock needs versioning`),
			step(`bucket = "logs"`+"\n"+`trail_names = ["main"]`+"\n"+`object_lock = { mode = "GOVERNANCE" }`,
				`(?s)object_lock.*attribute\s+"days"\s+is\s+required`),
			step(`bucket = "logs"`+"\n"+`trail_names = ["main"]`+"\n"+`object_lock = { mode = "LEGAL_HOLD", days = 1 }`,
				`(?s)object_lock.mode.*value must be one of`),
			step(`bucket = "logs"`+"\n"+`trail_names = ["main"]`+"\n"+`kms_key_arn = "arn:aws:kms:us-east-1:123456789012:alias/logs"`,
				`is\s+a\s+KMS\s+alias\s+ARN,\s+not\s+a\s+key\s+ARN`),
			step(`bucket = "logs"`+"\n"+`trail_names = ["main"]`+"\n"+`kms_key_arn = "alias/logs"`, `is\s+a\s+KMS\s+alias,\s+not\s+a\s+key\s+ARN`),
			step(`bucket = "logs"`+"\n"+`trail_names = ["main"]`+"\n"+`kms_key_arn = "1234abcd-12ab-34cd-56ef-1234567890ab"`,
				`is\s+a\s+bare\s+KMS\s+key\s+id`),
			step(`bucket = "logs"`+"\n"+`bucket_prefix = "logs-"`+"\n"+`trail_names = ["main"]`, `Invalid Attribute Combination`),
			step(`bucket = "logs"`+"\n"+`trail_names = ["-bad"]`, `must\s+start\s+and\s+end\s+with\s+a\s+letter`),
		},
	})
}

// TestAccLogBucket_moto runs the create, read-back, import and destroy
// steps against moto_server, an S3 implementation independent of the
// sandbox.
func TestAccLogBucket_moto(t *testing.T) {
	needTerraform(t)
	url := testserver.Moto(t)
	t.Setenv("AWS_ACCESS_KEY_ID", testAccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testSecretKey)
	env := newSandboxEnv(t, nil, url)
	name := acctest.RandomWithPrefix("opsaudit-moto")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkBucketGone(env, name),
		Steps:                    createSteps(env, name),
	})
}
