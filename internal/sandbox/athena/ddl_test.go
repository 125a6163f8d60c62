package athena_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/athena/types"
	"github.com/google/go-cmp/cmp"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
)

// wantEntityNotFound fails unless err is the MetadataException Athena
// answers for a database or table the Glue Data Catalog does not have.
func wantEntityNotFound(t *testing.T, err error) {
	t.Helper()
	var me *types.MetadataException
	if !errors.As(err, &me) || !strings.Contains(me.ErrorMessage(), "Error Code: EntityNotFoundException") {
		t.Fatalf("error = %v, want MetadataException for EntityNotFoundException", err)
	}
}

func TestCreateTableAsDocumented(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	ctx := context.Background()
	f.createOrgTable(t)

	md, err := f.c.GetTableMetadata(ctx, &athena.GetTableMetadataInput{CatalogName: aws.String("AwsDataCatalog"), DatabaseName: aws.String("audit"), TableName: aws.String("cloudtrail_logs")})
	if err != nil {
		t.Fatalf("GetTableMetadata: %v", err)
	}
	tm := md.TableMetadata
	if aws.ToString(tm.Name) != "cloudtrail_logs" || aws.ToString(tm.TableType) != "EXTERNAL_TABLE" || tm.CreateTime == nil {
		t.Errorf("table = %s %s created %v", aws.ToString(tm.Name), aws.ToString(tm.TableType), tm.CreateTime)
	}
	columns := map[string]string{}
	for _, c := range tm.Columns {
		columns[aws.ToString(c.Name)] = aws.ToString(c.Type)
		if aws.ToString(c.Comment) != "from deserializer" {
			t.Errorf("column %s comment = %q, want the JSON SerDe's %q", aws.ToString(c.Name), aws.ToString(c.Comment), "from deserializer")
		}
	}
	if len(tm.Columns) != 29 {
		t.Errorf("%d columns, want the 29 of the documented table", len(tm.Columns))
	}
	for name, want := range map[string]string{
		"eventversion": "string",
		"useridentity": "struct<type:string,principalid:string,arn:string,accountid:string,invokedby:string,accesskeyid:string,username:string," +
			"onbehalfof:struct<userid:string,identitystorearn:string>,sessioncontext:struct<attributes:struct<mfaauthenticated:string,creationdate:string>," +
			"sessionissuer:struct<type:string,principalid:string,arn:string,accountid:string,username:string>,ec2roledelivery:string," +
			"webidfederationdata:struct<federatedprovider:string,attributes:map<string,string>>>>",
		"resources":  "array<struct<arn:string,accountid:string,type:string>>",
		"readonly":   "string",
		"tlsdetails": "struct<tlsversion:string,ciphersuite:string,clientprovidedhostheader:string>",
	} {
		if columns[name] != want {
			t.Errorf("column %s type = %q, want %q", name, columns[name], want)
		}
	}
	var keys []string
	for _, k := range tm.PartitionKeys {
		keys = append(keys, aws.ToString(k.Name)+" "+aws.ToString(k.Type))
	}
	if diff := cmp.Diff([]string{"account string", "region string", "timestamp string"}, keys); diff != "" {
		t.Errorf("partition keys (-want +got):\n%s", diff)
	}
	for k, want := range map[string]string{
		"EXTERNAL":                         "TRUE",
		"location":                         "s3://org-trail/AWSLogs/o-exampleorg/",
		"inputformat":                      "com.amazon.emr.cloudtrail.CloudTrailInputFormat",
		"outputformat":                     "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
		"serde.serialization.lib":          "org.apache.hive.hcatalog.data.JsonSerDe",
		"serde.param.serialization.format": "1",
		"projection.enabled":               "true",
		"projection.account.type":          "enum",
		"projection.account.values":        accountA + "," + accountB,
		"projection.timestamp.range":       "2025/01/01,NOW",
		"storage.location.template":        "s3://org-trail/AWSLogs/o-exampleorg/${account}/CloudTrail/${region}/${timestamp}",
	} {
		if got := tm.Parameters[k]; got != want {
			t.Errorf("Parameters[%q] = %q, want %q", k, got, want)
		}
	}
	if tm.Parameters["transient_lastDdlTime"] == "" {
		t.Errorf("Parameters has no transient_lastDdlTime: %v", tm.Parameters)
	}

	list, err := f.c.ListTableMetadata(ctx, &athena.ListTableMetadataInput{CatalogName: aws.String("AwsDataCatalog"), DatabaseName: aws.String("audit")})
	if err != nil {
		t.Fatalf("ListTableMetadata: %v", err)
	}
	if len(list.TableMetadataList) != 1 || !cmp.Equal(list.TableMetadataList[0].Parameters, tm.Parameters) {
		t.Errorf("ListTableMetadata = %+v, want the one table as GetTableMetadata has it", list.TableMetadataList)
	}
	db, err := f.c.GetDatabase(ctx, &athena.GetDatabaseInput{CatalogName: aws.String("AwsDataCatalog"), DatabaseName: aws.String("audit")})
	if err != nil || aws.ToString(db.Database.Name) != "audit" {
		t.Fatalf("GetDatabase = %+v, %v", db, err)
	}
	dbs, err := f.c.ListDatabases(ctx, &athena.ListDatabasesInput{CatalogName: aws.String("AwsDataCatalog")})
	if err != nil {
		t.Fatalf("ListDatabases: %v", err)
	}
	var names []string
	for _, d := range dbs.DatabaseList {
		names = append(names, aws.ToString(d.Name))
	}
	if diff := cmp.Diff([]string{"audit", "default"}, names); diff != "" {
		t.Errorf("databases (-want +got):\n%s", diff)
	}
}

func TestDDLRoundTrip(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	ctx := context.Background()
	get := func(db, table string) error {
		_, err := f.c.GetTableMetadata(ctx, &athena.GetTableMetadataInput{CatalogName: aws.String("AwsDataCatalog"), DatabaseName: aws.String(db), TableName: aws.String(table)})
		return err
	}
	show := func(query string) []string {
		t.Helper()
		rows, cols := f.rows(t, f.succeed(t, "audit", query), 1000)
		if len(cols) != 1 || aws.ToString(cols[0].Type) != "string" {
			t.Fatalf("%s columns = %+v, want one string column", query, cols)
		}
		var names []string
		for _, r := range rows {
			names = append(names, r[0])
		}
		return names
	}

	wantEntityNotFound(t, get("audit", "cloudtrail_logs"))
	if reason := f.fail(t, "", "CREATE EXTERNAL TABLE audit.t (a string) LOCATION 's3://org-trail/x/'"); !strings.Contains(reason, "Database does not exist: audit") {
		t.Errorf("creating a table in a missing database: %s", reason)
	}
	f.createOrgTable(t)
	f.succeed(t, "", "CREATE EXTERNAL TABLE audit.other (`eventName` string COMMENT 'the action') ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' LOCATION 's3://org-trail/other/'")
	if err := get("audit", "CloudTrail_Logs"); err != nil {
		t.Errorf("GetTableMetadata with the name in another case: %v", err)
	}
	if got := show("SHOW TABLES"); !cmp.Equal(got, []string{"cloudtrail_logs", "other"}) {
		t.Errorf("SHOW TABLES = %v", got)
	}
	if got := show("SHOW TABLES IN audit 'cloud*'"); !cmp.Equal(got, []string{"cloudtrail_logs"}) {
		t.Errorf("SHOW TABLES IN audit 'cloud*' = %v", got)
	}
	if got := show("SHOW DATABASES"); !cmp.Equal(got, []string{"audit", "default"}) {
		t.Errorf("SHOW DATABASES = %v", got)
	}

	if reason := f.fail(t, "", "CREATE DATABASE audit"); !strings.Contains(reason, "AlreadyExistsException(message:Database audit already exists)") {
		t.Errorf("creating an existing database: %s", reason)
	}
	ddl := "CREATE EXTERNAL TABLE audit.other (a string) LOCATION 's3://org-trail/x/'"
	if reason := f.fail(t, "", ddl); !strings.Contains(reason, "AlreadyExistsException(message:Table other already exists)") {
		t.Errorf("creating an existing table: %s", reason)
	}
	f.succeed(t, "", strings.Replace(ddl, "TABLE", "TABLE IF NOT EXISTS", 1))
	md, err := f.c.GetTableMetadata(ctx, &athena.GetTableMetadataInput{CatalogName: aws.String("AwsDataCatalog"), DatabaseName: aws.String("audit"), TableName: aws.String("other")})
	if err != nil {
		t.Fatal(err)
	}
	if c := md.TableMetadata.Columns; len(c) != 1 || aws.ToString(c[0].Name) != "eventname" || aws.ToString(c[0].Comment) != "the action" {
		t.Errorf("IF NOT EXISTS replaced the table: columns %+v", c)
	}
	if reason := f.fail(t, "", "DROP DATABASE audit"); !strings.Contains(reason, "Database audit is not empty") {
		t.Errorf("dropping a database with tables: %s", reason)
	}

	f.succeed(t, "audit", "DROP TABLE other")
	wantEntityNotFound(t, get("audit", "other"))
	if reason := f.fail(t, "audit", "DROP TABLE other"); !strings.Contains(reason, "Table not found audit.other") {
		t.Errorf("dropping a missing table: %s", reason)
	}
	f.succeed(t, "audit", "DROP TABLE IF EXISTS other")
	f.succeed(t, "", "DROP DATABASE audit CASCADE")
	wantEntityNotFound(t, get("audit", "cloudtrail_logs"))
	_, err = f.c.GetDatabase(ctx, &athena.GetDatabaseInput{CatalogName: aws.String("AwsDataCatalog"), DatabaseName: aws.String("audit")})
	wantEntityNotFound(t, err)
	if reason := f.fail(t, "", "DROP DATABASE default"); !strings.Contains(reason, "Can not drop default database") {
		t.Errorf("dropping default: %s", reason)
	}
	f.succeed(t, "", "DROP DATABASE IF EXISTS audit")
}

func TestDDLResults(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	ctx := context.Background()
	id := f.succeed(t, "", "CREATE DATABASE audit")
	qe := f.wait(t, id)
	if qe.StatementType != types.StatementTypeDdl || aws.ToString(qe.SubstatementType) != "CREATE_DATABASE" {
		t.Errorf("statement = %s/%s, want DDL/CREATE_DATABASE", qe.StatementType, aws.ToString(qe.SubstatementType))
	}
	if want := output + id + ".txt"; aws.ToString(qe.ResultConfiguration.OutputLocation) != want {
		t.Errorf("OutputLocation = %s, want %s", aws.ToString(qe.ResultConfiguration.OutputLocation), want)
	}
	res, err := f.c.GetQueryResults(ctx, &athena.GetQueryResultsInput{QueryExecutionId: aws.String(id)})
	if err != nil {
		t.Fatalf("GetQueryResults: %v", err)
	}
	if len(res.ResultSet.Rows) != 0 || len(res.ResultSet.ResultSetMetadata.ColumnInfo) != 0 || res.UpdateCount != nil {
		t.Errorf("DDL results = %+v, update count %v; want no rows, no columns, no update count", res.ResultSet, res.UpdateCount)
	}
	body := readS3(t, f, resultsBucket, "queries/"+id+".txt")
	if body != "" {
		t.Errorf("DDL result file = %q, want empty", body)
	}

	id = f.succeed(t, "", "SHOW DATABASES")
	if body := readS3(t, f, resultsBucket, "queries/"+id+".txt"); body != "audit\ndefault" {
		t.Errorf("SHOW DATABASES result file = %q", body)
	}
	res, err = f.c.GetQueryResults(ctx, &athena.GetQueryResultsInput{QueryExecutionId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.ResultSet.Rows) != 2 || aws.ToString(res.ResultSet.Rows[0].Data[0].VarCharValue) != "audit" || aws.ToInt64(res.UpdateCount) != 0 || res.UpdateCount == nil {
		t.Errorf("SHOW DATABASES results = %+v (update count %v), want the two names without a header row", res.ResultSet.Rows, res.UpdateCount)
	}
}

func TestDDLErrors(t *testing.T) {
	f := newFixture(t, sandbox.Options{})
	for _, tc := range []struct{ ddl, message string }{
		{"CREATE EXTERNAL TABLE t (a string)", "No location was specified for table"},
		{"CREATE EXTERNAL TABLE t (a strin) LOCATION 's3://b/'", "line 1:28: mismatched input 'strin'"},
		{"CREATE EXTERNAL TABLE t (a struct<b:string) LOCATION 's3://b/'", "mismatched input ')'. Expecting: '>'"},
		{"CREATE DATABASE", "mismatched input '<EOF>'"},
		{"DROP TABLE a b", "mismatched input 'b'"},
		{"FROBNICATE", "line 1:1: mismatched input 'FROBNICATE'"},
	} {
		_, err := f.tryStart("", tc.ddl)
		wantInvalidRequest(t, err, "MALFORMED_QUERY", tc.message)
	}
	if reason := f.fail(t, "", "CREATE EXTERNAL TABLE t (a string, a int) LOCATION 's3://b/'"); !strings.Contains(reason, "Duplicate column name: a") {
		t.Errorf("duplicate column: %s", reason)
	}
	if reason := f.fail(t, "", "CREATE EXTERNAL TABLE t (a string) PARTITIONED BY (a string) LOCATION 's3://b/'"); !strings.Contains(reason, "Column repeated in partitioning columns") {
		t.Errorf("partition column among the columns: %s", reason)
	}
	if reason := f.fail(t, "", "CREATE VIEW v AS SELECT 1"); !strings.HasPrefix(reason, "NOT_SUPPORTED: ") {
		t.Errorf("a view: %s", reason)
	}
	ctx := context.Background()
	_, err := f.c.GetTableMetadata(ctx, &athena.GetTableMetadataInput{CatalogName: aws.String("AwsDataCatalog"), DatabaseName: aws.String("nope"), TableName: aws.String("t")})
	wantEntityNotFound(t, err)
	_, err = f.c.GetDatabase(ctx, &athena.GetDatabaseInput{CatalogName: aws.String("OtherCatalog"), DatabaseName: aws.String("default")})
	wantInvalidRequest(t, err, "DATACATALOG_NOT_FOUND", "Catalog 'OtherCatalog' does not exist")
	_, err = f.c.ListTableMetadata(ctx, &athena.ListTableMetadataInput{CatalogName: aws.String("AwsDataCatalog"), DatabaseName: aws.String("default"), MaxResults: aws.Int32(51)})
	wantInvalidRequest(t, err, "INVALID_INPUT", "maxResults")
}
