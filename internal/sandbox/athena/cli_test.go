package athena_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

// TestCLIAthena drives the command with the AWS CLI v1: botocore must
// accept every answer of the query lifecycle.
func TestCLIAthena(t *testing.T) {
	sandboxtest.RequireAWSCLI(t)
	endpoint := sandboxtest.StartCommand(t, "-no-history")
	aws := func(v any, args ...string) {
		t.Helper()
		sandboxtest.AWSCLIJSON(t, endpoint, region, v, args...)
	}
	aws(nil, "s3api", "create-bucket", "--bucket", resultsBucket)
	aws(nil, "s3api", "create-bucket", "--bucket", trailBucket)
	now := time.Now().UTC()
	events := []event{
		{account: accountA, region: "us-east-1", time: now.Add(-2 * time.Minute), name: "CreateServer", id: "00000001-0000-4000-8000-000000000001", user: "deployer"},
		{account: accountA, region: "us-east-1", time: now.Add(-time.Minute), name: "DescribeServers", readOnly: true, id: "00000002-0000-4000-8000-000000000002", user: "auditor"},
		{account: accountA, region: "us-east-1", time: now, name: "DescribeServers", readOnly: true, id: "00000003-0000-4000-8000-000000000003", user: "auditor"},
	}
	file := filepath.Join(t.TempDir(), "log.json.gz")
	if err := os.WriteFile(file, logFileBody(t, events), 0o600); err != nil {
		t.Fatal(err)
	}
	aws(nil, "s3api", "put-object", "--bucket", trailBucket, "--key", orgKey(accountA, "us-east-1", now, 1), "--body", file)
	ddl, err := os.ReadFile("testdata/org_table.sql")
	if err != nil {
		t.Fatal(err)
	}

	start := func(query string, args ...string) string {
		t.Helper()
		var started struct{ QueryExecutionId string }
		aws(&started, append([]string{"athena", "start-query-execution", "--query-string", query, "--result-configuration", "OutputLocation=" + output}, args...)...)
		deadline := time.Now().Add(60 * time.Second)
		for {
			var got struct {
				QueryExecution struct {
					Status struct{ State, StateChangeReason string }
				}
			}
			aws(&got, "athena", "get-query-execution", "--query-execution-id", started.QueryExecutionId)
			switch got.QueryExecution.Status.State {
			case "SUCCEEDED":
				return started.QueryExecutionId
			case "FAILED", "CANCELLED":
				t.Fatalf("%q: %s %s", query, got.QueryExecution.Status.State, got.QueryExecution.Status.StateChangeReason)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%q still %s", query, got.QueryExecution.Status.State)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	start("CREATE DATABASE IF NOT EXISTS audit")
	start(string(ddl))
	id := start("SELECT eventname, count(*) AS n FROM cloudtrail_logs WHERE account = ? AND region = 'us-east-1' AND timestamp = ? GROUP BY eventname ORDER BY eventname",
		"--query-execution-context", "Database=audit,Catalog=AwsDataCatalog", "--execution-parameters", "'"+accountA+"'", "'"+now.Format("2006/01/02")+"'")

	var results struct {
		ResultSet struct {
			Rows []struct {
				Data []struct{ VarCharValue string }
			}
			ResultSetMetadata struct {
				ColumnInfo []struct{ Name, Type string }
			}
		}
	}
	aws(&results, "athena", "get-query-results", "--query-execution-id", id)
	var rows [][]string
	for _, r := range results.ResultSet.Rows {
		var row []string
		for _, d := range r.Data {
			row = append(row, d.VarCharValue)
		}
		rows = append(rows, row)
	}
	if diff := cmp.Diff([][]string{{"eventname", "n"}, {"CreateServer", "1"}, {"DescribeServers", "2"}}, rows); diff != "" {
		t.Errorf("get-query-results rows (-want +got):\n%s", diff)
	}
	if c := results.ResultSet.ResultSetMetadata.ColumnInfo; len(c) != 2 || c[1].Type != "bigint" {
		t.Errorf("ColumnInfo = %+v", c)
	}
	var table struct {
		TableMetadata struct {
			Parameters map[string]string
		}
	}
	aws(&table, "athena", "get-table-metadata", "--catalog-name", "AwsDataCatalog", "--database-name", "audit", "--table-name", "cloudtrail_logs")
	if got := table.TableMetadata.Parameters["projection.enabled"]; got != "true" {
		t.Errorf("get-table-metadata Parameters = %v", table.TableMetadata.Parameters)
	}
}
