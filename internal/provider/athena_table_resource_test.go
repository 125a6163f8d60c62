package provider

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	athenatypes "github.com/aws/aws-sdk-go-v2/service/athena/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
)

const (
	athenaTableAddr = "opsaudit_athena_table.test"
	athenaResults   = "opsaudit-athena-results"
	athenaOutput    = "s3://" + athenaResults + "/queries/"
)

// makeResultsBucket creates the bucket Athena writes results to.
func (e *accEnv) makeResultsBucket(t *testing.T) {
	t.Helper()
	if _, err := e.S3().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(athenaResults)}); err != nil {
		t.Fatalf("creating bucket %s: %v", athenaResults, err)
	}
}

// athenaRun runs a statement with the SDK, independently of the provider,
// and returns its id once it succeeded.
func (e *accEnv) athenaRun(sql string, params ...string) (string, error) {
	ctx := context.Background()
	out, err := e.Athena().StartQueryExecution(ctx, &athena.StartQueryExecutionInput{
		QueryString: aws.String(sql), ExecutionParameters: params,
		ResultConfiguration: &athenatypes.ResultConfiguration{OutputLocation: aws.String(athenaOutput)},
	})
	if err != nil {
		return "", err
	}
	id := aws.ToString(out.QueryExecutionId)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		got, err := e.Athena().GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: aws.String(id)})
		if err != nil {
			return "", err
		}
		switch st := got.QueryExecution.Status; st.State {
		case athenatypes.QueryExecutionStateSucceeded:
			return id, nil
		case athenatypes.QueryExecutionStateFailed, athenatypes.QueryExecutionStateCancelled:
			return "", fmt.Errorf("%s: %s %s", sql, st.State, aws.ToString(st.StateChangeReason))
		}
	}
	return "", fmt.Errorf("%s: still running after a minute", sql)
}

// tableMetadata reads a table back with GetTableMetadata.
func (e *accEnv) tableMetadata(database, name string) (*athenatypes.TableMetadata, error) {
	out, err := e.Athena().GetTableMetadata(context.Background(), &athena.GetTableMetadataInput{
		CatalogName: aws.String("AwsDataCatalog"), DatabaseName: aws.String(database), TableName: aws.String(name)})
	if err != nil {
		return nil, err
	}
	return out.TableMetadata, nil
}

// expectTable reads the table back and checks its definition.
func (e *accEnv) expectTable(database, name string, check func(*athenatypes.TableMetadata) error) resource.TestCheckFunc {
	return func(*terraform.State) error {
		md, err := e.tableMetadata(database, name)
		if err != nil {
			return fmt.Errorf("reading back table %s.%s: %w", database, name, err)
		}
		return check(md)
	}
}

// wantProperties checks table properties read back.
func wantProperties(want map[string]string) func(*athenatypes.TableMetadata) error {
	return func(md *athenatypes.TableMetadata) error {
		var errs []error
		for k, v := range want {
			if got := md.Parameters[k]; got != v {
				errs = append(errs, fmt.Errorf("%s = %q, want %q", k, got, v))
			}
		}
		return errors.Join(errs...)
	}
}

// isEntityNotFound reports whether err is the catalog's answer for a
// missing database or table.
func isEntityNotFound(err error) bool {
	var me *athenatypes.MetadataException
	return errors.As(err, &me) && strings.Contains(me.ErrorMessage(), "EntityNotFoundException")
}

// TestAccAthenaTableResource creates the table over the sandbox's
// pre-existing trail, reads it back with the SDK and queries it, updates
// in place what changes no table, replaces it for what does, imports it,
// and repairs it after it is dropped and after it is changed outside
// Terraform.
func TestAccAthenaTableResource(t *testing.T) {
	env := newSandboxOnlyEnv(t, sandbox.Options{}, "the pre-existing trail and its archive")
	env.makeResultsBucket(t)
	bucket := sandbox.ArchiveBucket(env.Account)
	config := func(location, regions, output string) string {
		return env.ProviderConfig("") + fmt.Sprintf(`
resource "opsaudit_athena_table" "test" {
  database        = "audit"
  name            = "org_trail"
  %s
  account_ids     = [%q]
  regions         = [%s]
  start_date      = "2022-05-01"
  output_location = %q
}
`, location, env.Account, regions, output)
	}
	byTrail := fmt.Sprintf("trail = %q", sandbox.ArchiveTrailName)
	byBucket := fmt.Sprintf("bucket = %q", bucket)
	twoRegions := `"us-east-1", "eu-west-1"`
	template := "s3://" + bucket + "/AWSLogs/${account}/CloudTrail/${region}/${timestamp}"
	var created time.Time
	var ddl string
	keepCreated := func(md *athenatypes.TableMetadata) error { created = aws.ToTime(md.CreateTime); return nil }

	// The table answers for the archive: the last day before today with
	// files in us-east-1 holds as many records as the files delivered that
	// day. Not today: the trail is live, and the test's own calls are
	// delivered into today's folder while it runs.
	today := time.Now().UTC().Format(time.DateOnly)
	perDay := map[string]int{}
	var last time.Time
	for _, f := range sandbox.ArchiveHistory(env.Account, time.Now()).Files {
		if day := f.Delivered.UTC(); f.Region == "us-east-1" && day.Format(time.DateOnly) != today && len(f.Records) > 0 {
			perDay[day.Format(time.DateOnly)] += len(f.Records)
			if day.After(last) {
				last = day
			}
		}
	}
	records := perDay[last.Format(time.DateOnly)]

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if _, err := env.tableMetadata("audit", "org_trail"); !isEntityNotFound(err) {
				return fmt.Errorf("after destroy, GetTableMetadata answered %w, want EntityNotFoundException", err)
			}
			// The database is not the resource's: it stays.
			_, err := env.Athena().GetDatabase(context.Background(), &athena.GetDatabaseInput{CatalogName: aws.String("AwsDataCatalog"), DatabaseName: aws.String("audit")})
			return err
		},
		Steps: []resource.TestStep{
			{
				Config: config(byTrail, twoRegions, athenaOutput),
				Check: resource.ComposeAggregateTestCheckFunc(
					env.expectTable("audit", "org_trail", wantProperties(map[string]string{
						"location":                   "s3://" + bucket + "/AWSLogs/",
						"projection.enabled":         "true",
						"projection.account.type":    "enum",
						"projection.account.values":  env.Account,
						"projection.region.values":   "eu-west-1,us-east-1",
						"projection.timestamp.type":  "date",
						"projection.timestamp.range": "2022/05/01,NOW",
						"storage.location.template":  template,
						"inputformat":                "com.amazon.emr.cloudtrail.CloudTrailInputFormat",
					})),
					env.expectTable("audit", "org_trail", keepCreated),
					func(*terraform.State) error {
						id, err := env.athenaRun(`SELECT count(*) FROM audit.org_trail WHERE account = ? AND region = 'us-east-1' AND "timestamp" = ?`,
							"'"+env.Account+"'", "'"+last.Format("2006/01/02")+"'")
						if err != nil {
							return err
						}
						out, err := env.Athena().GetQueryResults(context.Background(), &athena.GetQueryResultsInput{QueryExecutionId: aws.String(id)})
						if err != nil {
							return err
						}
						if got := aws.ToString(out.ResultSet.Rows[1].Data[0].VarCharValue); got != fmt.Sprint(records) {
							return fmt.Errorf("the table counts %s records on %s in us-east-1, the archive holds %d", got, last.Format(time.DateOnly), records)
						}
						return nil
					},
				),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(athenaTableAddr, tfjsonpath.New("id"), knownvalue.StringExact("audit.org_trail")),
					statecheck.ExpectKnownValue(athenaTableAddr, tfjsonpath.New("bucket"), knownvalue.StringExact(bucket)),
					statecheck.ExpectKnownValue(athenaTableAddr, tfjsonpath.New("s3_key_prefix"), knownvalue.StringExact("")),
					statecheck.ExpectKnownValue(athenaTableAddr, tfjsonpath.New("location_template"), knownvalue.StringExact(template)),
					statecheck.ExpectKnownValue(athenaTableAddr, tfjsonpath.New("workgroup"), knownvalue.StringExact("primary")),
					statecheck.ExpectKnownValue(athenaTableAddr, tfjsonpath.New("ddl"),
						knownvalue.StringRegexp(regexp.MustCompile("(?s)^CREATE EXTERNAL TABLE `audit`.`org_trail`.*'storage.location.template'='"+regexp.QuoteMeta(template)+"'\\)$"))),
				},
			},
			{
				// The statement is known at plan time and stable.
				Config:           config(byTrail, twoRegions, athenaOutput),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				// Where results go changes no table.
				Config: config(byTrail, twoRegions, athenaOutput+"elsewhere/"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(athenaTableAddr, plancheck.ResourceActionUpdate),
				}},
				Check: env.expectTable("audit", "org_trail", func(md *athenatypes.TableMetadata) error {
					if !aws.ToTime(md.CreateTime).Equal(created) {
						return fmt.Errorf("the table was created again at %s", aws.ToTime(md.CreateTime))
					}
					return nil
				}),
			},
			{
				// A region more is another statement: the table is replaced.
				Config: config(byTrail, twoRegions+`, "us-west-2"`, athenaOutput),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(athenaTableAddr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: env.expectTable("audit", "org_trail", wantProperties(map[string]string{
					"projection.region.values": "eu-west-1,us-east-1,us-west-2",
				})),
			},
			{
				// Naming the trail's bucket instead of the trail is the
				// same statement: updated in place.
				Config: config(byBucket, twoRegions+`, "us-west-2"`, athenaOutput),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(athenaTableAddr, plancheck.ResourceActionUpdate),
				}},
				Check: func(s *terraform.State) error {
					ddl = s.RootModule().Resources[athenaTableAddr].Primary.Attributes["ddl"]
					return nil
				},
			},
			{
				ResourceName:      athenaTableAddr,
				ImportState:       true,
				ImportStateId:     "audit.org_trail",
				ImportStateVerify: true,
				// Where the statements ran is not in the catalog.
				ImportStateVerifyIgnore: []string{"output_location", "timeouts"},
			},
			{
				// Dropped outside Terraform: the plan shows it, apply
				// creates it again.
				PreConfig: func() {
					if _, err := env.athenaRun("DROP TABLE audit.org_trail"); err != nil {
						t.Fatal(err)
					}
				},
				Config: config(byBucket, twoRegions+`, "us-west-2"`, athenaOutput),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(athenaTableAddr, plancheck.ResourceActionCreate),
				}},
				Check: env.expectTable("audit", "org_trail", wantProperties(map[string]string{"storage.location.template": template})),
			},
			{
				// Changed outside Terraform: replaced by the configured one.
				PreConfig: func() {
					if _, err := env.athenaRun("DROP TABLE audit.org_trail"); err != nil {
						t.Fatal(err)
					}
					if _, err := env.athenaRun(strings.Replace(ddl, "2022/05/01,NOW", "2024/01/01,NOW", 1)); err != nil {
						t.Fatal(err)
					}
				},
				Config: config(byBucket, twoRegions+`, "us-west-2"`, athenaOutput),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(athenaTableAddr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: env.expectTable("audit", "org_trail", wantProperties(map[string]string{"projection.timestamp.range": "2022/05/01,NOW"})),
			},
		},
	})
}

func TestAccAthenaTableResource_planTimeErrors(t *testing.T) {
	env := newSandboxOnlyEnv(t, sandbox.Options{}, "the pre-existing trail")
	config := func(body string) string {
		return env.ProviderConfig("") + "resource \"opsaudit_athena_table\" \"test\" {\n" + body + "\n}\n"
	}
	base := func(over map[string]string) string {
		args := map[string]string{"database": `"audit"`, "name": `"org_trail"`, "bucket": `"trail-logs"`,
			"account_ids": `["123456789012"]`, "regions": `["us-east-1"]`, "start_date": `"2024-01-01"`}
		for k, v := range over {
			if v == "" {
				delete(args, k)
			} else {
				args[k] = v
			}
		}
		var b strings.Builder
		for k, v := range args {
			fmt.Fprintf(&b, "  %s = %s\n", k, v)
		}
		return config(b.String())
	}
	// Terraform wraps diagnostics: a space in want matches any white space.
	step := func(over map[string]string, want string) resource.TestStep {
		return resource.TestStep{Config: base(over), PlanOnly: true, ExpectError: regexp.MustCompile(strings.ReplaceAll(want, " ", `\s+`))}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			step(map[string]string{"name": `"CloudTrail-Logs"`}, `(?s)name = "CloudTrail-Logs".*lower-case letters, digits and underscores`),
			step(map[string]string{"database": `"audit db"`}, `(?s)database = "audit db".*lower-case letters`),
			step(map[string]string{"trail": `"archive-trail"`}, `Exactly one of these attributes must be configured: \[trail,bucket\]`),
			step(map[string]string{"bucket": ""}, `Exactly one of these attributes must be configured: \[trail,bucket\]`),
			step(map[string]string{"s3_key_prefix": `"it's"`}, `(?s)s3_key_prefix = "it's".*quote`),
			step(map[string]string{"account_ids": `["12345"]`}, `(?s)account_ids = \["12345"\].*12-digit AWS account id`),
			step(map[string]string{"account_ids": `[]`}, `(?s)account_ids = \[\].*at least 1`),
			step(map[string]string{"regions": `["us-nowhere-1"]`}, `(?s)regions = \["us-nowhere-1"\].*not an AWS region`),
			step(map[string]string{"start_date": `"2024/01/01"`}, `(?s)start_date = "2024/01/01".*not a date such as`),
			step(map[string]string{"output_location": `"results-bucket/athena"`}, `(?s)output_location = "results-bucket/athena".*not an S3 location`),
			step(map[string]string{"organization_id": `"org-1"`}, `(?s)organization_id = "org-1".*not an organization id`),
			step(map[string]string{"bucket": "", "trail": fmt.Sprintf("%q", sandbox.ArchiveTrailName), "organization_id": `"o-a1b2c3d4e5"`},
				`These attributes cannot be configured together: \[trail,organization_id\]`),
			step(map[string]string{"bucket": "", "trail": `"no-such-trail"`}, `(?s)trail = "no-such-trail".*TrailNotFoundException`),
		},
	})
}

// TestAccAthenaTableResource_trailInTheSameRun names a trail created in
// the same apply: its bucket and prefix are unknown at plan time, read
// from CloudTrail at create, and known at the next plan, which is empty.
func TestAccAthenaTableResource_trailInTheSameRun(t *testing.T) {
	env := newAccEnv(t, sandbox.Options{NoHistory: true})
	env.makeResultsBucket(t)
	bucket, trail := accName("athena-one-run"), accName("athena-one-run")
	config := env.ProviderConfig("") + fmt.Sprintf(`
resource "opsaudit_log_bucket" "logs" {
  bucket        = %[1]q
  trail_names   = [%[2]q]
  s3_key_prefix = "audit/trails"
  force_destroy = true
}

resource "opsaudit_trail" "test" {
  name           = %[2]q
  s3_bucket_name = opsaudit_log_bucket.logs.bucket
  s3_key_prefix  = "audit/trails"
}

resource "opsaudit_athena_table" "test" {
  database        = "audit"
  name            = "trail_logs"
  trail           = opsaudit_trail.test.arn
  account_ids     = [%[3]q]
  regions         = ["us-east-1"]
  start_date      = "2025-01-01"
  output_location = %[4]q
}
`, bucket, trail, env.Account, athenaOutput)
	template := "s3://" + bucket + "/audit/trails/AWSLogs/${account}/CloudTrail/${region}/${timestamp}"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue(athenaTableAddr, tfjsonpath.New("ddl")),
				}},
				Check: env.expectTable("audit", "trail_logs", wantProperties(map[string]string{"storage.location.template": template})),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(athenaTableAddr, tfjsonpath.New("s3_key_prefix"), knownvalue.StringExact("audit/trails")),
				},
			},
			{
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}
