package athenaquery

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/google/go-cmp/cmp"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/archive"
)

// statement is a CREATE EXTERNAL TABLE statement cut into its clauses.
type statement struct {
	name, columns, partitions, storage, location string
	properties                                   map[string]string
}

var (
	statementPattern = regexp.MustCompile(`(?s)^CREATE EXTERNAL TABLE (\S+)\((.*)\)\nPARTITIONED BY \((.*?)\)\n(ROW FORMAT.*?)\nLOCATION\n\s*'([^']*)'\nTBLPROPERTIES \((.*)\)\s*$`)
	propertyPattern  = regexp.MustCompile(`'([^']*)'='([^']*)'`)
)

func parseStatement(t *testing.T, sql string) statement {
	t.Helper()
	m := statementPattern.FindStringSubmatch(sql)
	if m == nil {
		t.Fatalf("not a CREATE EXTERNAL TABLE statement of the documented shape:\n%s", sql)
	}
	st := statement{name: m[1], columns: m[2], partitions: strings.Join(strings.Fields(m[3]), " "), storage: m[4], location: m[5],
		properties: map[string]string{}}
	for _, p := range propertyPattern.FindAllStringSubmatch(m[6], -1) {
		st.properties[p[1]] = p[2]
	}
	return st
}

func orgTable() Table {
	return Table{
		Database: "audit", Name: "cloudtrail_org",
		Bucket:     "org-trail-logs",
		Location:   archive.Location{Prefix: "central/logs", OrganizationID: "o-a1b2c3d4e5"},
		AccountIDs: []string{"444455556666", "111122223333", "111122223333"},
		Regions:    []string{"us-east-1", "eu-west-1"},
		StartDate:  time.Date(2023, 4, 1, 0, 0, 0, 0, time.UTC),
	}
}

// TestCreateStatementIsTheDocumentedTable holds the statement to AWS's
// documented one (testdata/documented_table.sql, as the Athena user guide
// prints it for one account and region): the same columns, text for
// text, storage and date projection; the organization form adds the
// account and region partitions, their enum projections and a template
// with both.
func TestCreateStatementIsTheDocumentedTable(t *testing.T) {
	raw, err := os.ReadFile("testdata/documented_table.sql")
	if err != nil {
		t.Fatal(err)
	}
	doc := parseStatement(t, string(raw))
	tbl := orgTable()
	sql, err := tbl.CreateStatement()
	if err != nil {
		t.Fatal(err)
	}
	got := parseStatement(t, sql)

	if got.name != "`audit`.`cloudtrail_org`" {
		t.Errorf("table name = %s", got.name)
	}
	if diff := cmp.Diff(doc.columns, got.columns); diff != "" {
		t.Errorf("columns differ from the documented table (-documented +generated):\n%s", diff)
	}
	if doc.storage != got.storage {
		t.Errorf("storage = %q, documented %q", got.storage, doc.storage)
	}
	if doc.partitions != "`timestamp` string" || got.partitions != "account string, region string, `timestamp` string" {
		t.Errorf("partitions = %q (documented %q)", got.partitions, doc.partitions)
	}
	if want := "s3://org-trail-logs/central/logs/AWSLogs/o-a1b2c3d4e5/"; got.location != want {
		t.Errorf("location = %q, want %q", got.location, want)
	}

	want := map[string]string{}
	for k, v := range doc.properties {
		want[k] = v
	}
	want["projection.timestamp.range"] = "2023/04/01,NOW"
	// The documented template with the account and region projected and
	// the organization's folder.
	want["storage.location.template"] = strings.NewReplacer(
		"s3://amzn-s3-demo-bucket/AWSLogs/", "s3://org-trail-logs/central/logs/AWSLogs/o-a1b2c3d4e5/",
		"account-id", "${account}", "aws-region", "${region}",
	).Replace(doc.properties["storage.location.template"])
	want["projection.account.type"] = "enum"
	want["projection.account.values"] = "111122223333,444455556666"
	want["projection.region.type"] = "enum"
	want["projection.region.values"] = "eu-west-1,us-east-1"
	if diff := cmp.Diff(want, got.properties); diff != "" {
		t.Errorf("TBLPROPERTIES (-want +got):\n%s", diff)
	}
	if got.properties["storage.location.template"] != tbl.LocationTemplate() {
		t.Errorf("LocationTemplate() = %q, statement's %q", tbl.LocationTemplate(), got.properties["storage.location.template"])
	}
}

func TestTableValidateRefusesWhatTheStatementCannotCarry(t *testing.T) {
	for name, tc := range map[string]struct {
		change func(*Table)
		want   string
	}{
		"upper-case table":   {func(t *Table) { t.Name = "CloudTrail" }, `table name "CloudTrail"`},
		"quoted database":    {func(t *Table) { t.Database = "a`b" }, "database name"},
		"quote in prefix":    {func(t *Table) { t.Location.Prefix = "it's" }, "quote"},
		"template in prefix": {func(t *Table) { t.Location.Prefix = "a${b}" }, "${"},
		"bad org":            {func(t *Table) { t.Location.OrganizationID = "org-1" }, "organization id"},
		"no accounts":        {func(t *Table) { t.AccountIDs = nil }, "no account id"},
		"short account":      {func(t *Table) { t.AccountIDs = []string{"1234"} }, `"1234" is not a valid account id`},
		"bad region":         {func(t *Table) { t.Regions = []string{"us-east-1'"} }, "not a valid region"},
		"no start":           {func(t *Table) { t.StartDate = time.Time{} }, "no start date"},
		"bad bucket":         {func(t *Table) { t.Bucket = "Bucket" }, "bucket name"},
	} {
		t.Run(name, func(t *testing.T) {
			tbl := orgTable()
			tc.change(&tbl)
			_, err := tbl.CreateStatement()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// TestTableRoundTripsThroughTheCatalog creates the table in the sandbox's
// Athena and reads it back with GetTableMetadata.
func TestTableRoundTripsThroughTheCatalog(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, tbl := range []Table{orgTable(), {
		Database: "audit", Name: "single", Bucket: "trail-logs", AccountIDs: []string{"123456789012"},
		Regions: []string{"us-west-2"}, StartDate: time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC),
	}} {
		e.create(t, tbl)
		md, err := e.athena.GetTableMetadata(ctx, &athena.GetTableMetadataInput{CatalogName: aws.String(Catalog),
			DatabaseName: aws.String(tbl.Database), TableName: aws.String(tbl.Name)})
		if err != nil {
			t.Fatalf("GetTableMetadata: %v", err)
		}
		got, err := TableFromMetadata(tbl.Database, md.TableMetadata)
		if err != nil {
			t.Fatal(err)
		}
		want := tbl
		want.AccountIDs, want.Regions = sortedUnique(tbl.AccountIDs), sortedUnique(tbl.Regions)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("table read back (-created +read):\n%s", diff)
		}
	}
}

func TestTableFromMetadataSaysHowATableDiffers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.exec(t, "CREATE DATABASE IF NOT EXISTS audit")
	e.exec(t, "CREATE EXTERNAL TABLE audit.other (a string) PARTITIONED BY (day string) ROW FORMAT SERDE '"+serde+
		"' LOCATION 's3://trail-logs/elsewhere/'")
	md, err := e.athena.GetTableMetadata(ctx, &athena.GetTableMetadataInput{CatalogName: aws.String(Catalog),
		DatabaseName: aws.String("audit"), TableName: aws.String("other")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = TableFromMetadata("audit", md.TableMetadata)
	for _, want := range []string{"not a trail's AWSLogs/ folder", "partitioned by (day), not (account, region, timestamp)",
		"partition projection is not enabled"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v, want it to say %q", err, want)
		}
	}
}
