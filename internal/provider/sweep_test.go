package provider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	athenatypes "github.com/aws/aws-sdk-go-v2/service/athena/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/athenaquery"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/awserr"
)

// The sweepers remove what failed acceptance runs left in an account:
// trails and buckets whose names start with accPrefix, and Athena tables
// whose names start with accTablePrefix. `make sweep` runs them in the
// regions SWEEP names, against the account and endpoint of the usual AWS
// environment variables (AWS_ENDPOINT_URL for a sandbox started by hand).

// accTablePrefix starts the name of every Athena table a test creates:
// Athena names allow no hyphens.
var accTablePrefix = strings.ReplaceAll(accPrefix, "-", "_")

func init() {
	resource.AddTestSweepers("opsaudit_trail", &resource.Sweeper{Name: "opsaudit_trail", F: sweepTrails})
	// A bucket goes after the trails that write to it, or they would
	// deliver into it again.
	resource.AddTestSweepers("opsaudit_log_bucket", &resource.Sweeper{Name: "opsaudit_log_bucket", F: sweepBuckets,
		Dependencies: []string{"opsaudit_trail"}})
	resource.AddTestSweepers("opsaudit_athena_table", &resource.Sweeper{Name: "opsaudit_athena_table", F: sweepAthenaTables})
}

func sweepConfig(region string) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(region))
	if err != nil {
		return cfg, fmt.Errorf("loading AWS configuration for %s: %w", region, err)
	}
	return cfg, nil
}

func sweepS3(cfg aws.Config) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		// A local endpoint is addressed path-style.
		o.UsePathStyle = os.Getenv("AWS_ENDPOINT_URL") != ""
		o.DisableLogOutputChecksumValidationSkipped = true
	})
}

// sweepTrails deletes the test trails whose home is region.
func sweepTrails(region string) error {
	cfg, err := sweepConfig(region)
	if err != nil {
		return err
	}
	ctx, ct := context.Background(), cloudtrail.NewFromConfig(cfg)
	out, err := ct.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(false)})
	if err != nil {
		return fmt.Errorf("listing the trails of %s: %w", region, err)
	}
	var errs []error
	for _, tr := range out.TrailList {
		if !strings.HasPrefix(aws.ToString(tr.Name), accPrefix) {
			continue
		}
		_, err := ct.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: tr.TrailARN})
		if err != nil {
			errs = append(errs, fmt.Errorf("deleting trail %s: %w", aws.ToString(tr.TrailARN), err))
			continue
		}
		fmt.Printf("[INFO] deleted trail %s\n", aws.ToString(tr.TrailARN))
	}
	return errors.Join(errs...)
}

// sweepBuckets empties (every version and delete marker) and deletes the
// test buckets in region.
func sweepBuckets(region string) error {
	cfg, err := sweepConfig(region)
	if err != nil {
		return err
	}
	ctx, c := context.Background(), sweepS3(cfg)
	var errs []error
	pages := s3.NewListBucketsPaginator(c, &s3.ListBucketsInput{Prefix: aws.String(accPrefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("listing buckets: %w", err)
		}
		for _, b := range page.Buckets {
			name := aws.ToString(b.Name)
			// ListBuckets is global and may ignore the prefix; each
			// region's sweep takes its own buckets.
			if !strings.HasPrefix(name, accPrefix) {
				continue
			}
			loc, err := c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: b.Name})
			if err != nil {
				errs = append(errs, fmt.Errorf("locating bucket %s: %w", name, err))
				continue
			}
			if awsclient.LocationRegion(loc.LocationConstraint) != region {
				continue
			}
			if err := deleteBucket(ctx, c, name); err != nil {
				errs = append(errs, err)
				continue
			}
			fmt.Printf("[INFO] deleted bucket %s\n", name)
		}
	}
	return errors.Join(errs...)
}

// deleteBucket empties bucket and deletes it; a bucket already gone is no
// error.
func deleteBucket(ctx context.Context, c *s3.Client, bucket string) error {
	if err := emptyBucket(ctx, c, bucket); err != nil {
		return err
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil && !awserr.BucketNotFound(err) {
		return fmt.Errorf("deleting bucket %s: %w", bucket, err)
	}
	return nil
}

// removeBucket deletes a bucket the test created with the SDK, with
// whatever was written into it.
func (e *accEnv) removeBucket(t *testing.T, bucket string) {
	t.Helper()
	if err := deleteBucket(context.Background(), e.S3(), bucket); err != nil {
		t.Error(err)
	}
}

// sweepAthenaTables drops the test tables of every database of the
// account's data catalog in region. The query runs in the primary work
// group, whose result location must be set in an AWS account
// (OPSAUDIT_SWEEP_ATHENA_OUTPUT names one otherwise).
func sweepAthenaTables(region string) error {
	cfg, err := sweepConfig(region)
	if err != nil {
		return err
	}
	ctx, c := context.Background(), athena.NewFromConfig(cfg)
	var errs []error
	dbs := athena.NewListDatabasesPaginator(c, &athena.ListDatabasesInput{CatalogName: aws.String(athenaquery.Catalog)})
	for dbs.HasMorePages() {
		page, err := dbs.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("listing the Athena databases of %s: %w", region, err)
		}
		for _, db := range page.DatabaseList {
			tables := athena.NewListTableMetadataPaginator(c, &athena.ListTableMetadataInput{
				CatalogName: aws.String(athenaquery.Catalog), DatabaseName: db.Name, Expression: aws.String(accTablePrefix + ".*")})
			for tables.HasMorePages() {
				tp, err := tables.NextPage(ctx)
				if err != nil {
					errs = append(errs, fmt.Errorf("listing the tables of Athena database %s: %w", aws.ToString(db.Name), err))
					break
				}
				for _, tm := range tp.TableMetadataList {
					if !strings.HasPrefix(aws.ToString(tm.Name), accTablePrefix) {
						continue
					}
					name := aws.ToString(db.Name) + "." + aws.ToString(tm.Name)
					if err := dropAthenaTable(ctx, c, aws.ToString(db.Name), aws.ToString(tm.Name)); err != nil {
						errs = append(errs, fmt.Errorf("dropping Athena table %s: %w", name, err))
						continue
					}
					fmt.Printf("[INFO] dropped Athena table %s\n", name)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// dropAthenaTable drops one table with the engine's own statement and
// polling; without OPSAUDIT_SWEEP_ATHENA_OUTPUT the primary work group's
// result location is used.
func dropAthenaTable(ctx context.Context, c *athena.Client, database, table string) error {
	drop, err := athenaquery.Table{Database: database, Name: table}.DropStatement()
	if err != nil {
		return err
	}
	output := os.Getenv("OPSAUDIT_SWEEP_ATHENA_OUTPUT")
	_, err = athenaquery.Exec(ctx, c, athenaquery.Statement{SQL: drop, OutputLocation: output})
	if err != nil && output == "" && awserr.IsA[*athenatypes.InvalidRequestException](err) {
		return fmt.Errorf("%w (the primary work group has no result location: set OPSAUDIT_SWEEP_ATHENA_OUTPUT to an s3:// location for the results)", err)
	}
	return err
}
