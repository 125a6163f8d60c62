package athena_test

import (
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

// TestQueryThePreexistingTrailsArchive reads the sandbox's pre-existing
// trail's bucket, whose log files are made the first time they are read,
// through AWS's documented single-account table, and finds every record
// of a day's folder in it, as a direct scan of the files does.
func TestQueryThePreexistingTrailsArchive(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{})
	f := &fixture{e: e, c: e.Athena(region), s3: e.S3(region)}
	e.MakeBucket(t, region, resultsBucket, "")
	archive := sandbox.ArchiveHistory(sandbox.DefaultAccount, sandboxtest.Now)
	last := archive.Files[len(archive.Files)-1]
	day := last.Delivered.UTC().Format("2006/01/02")
	var want []string
	records := 0
	for _, file := range archive.Files {
		if file.Region == last.Region && file.Delivered.UTC().Format("2006/01/02") == day {
			want = append(want, "s3://"+archive.Bucket+"/"+file.Key)
			records += len(file.Records)
		}
	}
	sort.Strings(want)

	location := "s3://" + archive.Bucket + "/AWSLogs/" + sandbox.DefaultAccount + "/CloudTrail/" + last.Region
	f.succeed(t, "", "CREATE DATABASE audit")
	raw, err := os.ReadFile("testdata/org_table.sql")
	if err != nil {
		t.Fatal(err)
	}
	columns, _, ok := strings.Cut(string(raw), "PARTITIONED BY")
	if !ok {
		t.Fatal("testdata/org_table.sql has no PARTITIONED BY")
	}
	ddl := columns + `PARTITIONED BY (` + "`timestamp`" + ` string)
ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'
STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION '` + location + `'
TBLPROPERTIES ('projection.enabled'='true', 'projection.timestamp.format'='yyyy/MM/dd', 'projection.timestamp.interval'='1',
  'projection.timestamp.interval.unit'='DAYS', 'projection.timestamp.range'='2020/01/01,NOW', 'projection.timestamp.type'='date',
  'storage.location.template'='` + location + `/${timestamp}')`
	f.succeed(t, "", strings.Replace(ddl, "audit.cloudtrail_logs", "audit.cloudtrail_logs_pp", 1))

	id := f.succeed(t, "audit", "SELECT count(*) FROM cloudtrail_logs_pp WHERE timestamp = ?", "'"+day+"'")
	rows, _ := f.rows(t, id, 10)
	if diff := cmp.Diff([][]string{{"_col0"}, {strconv.Itoa(records)}}, rows); diff != "" {
		t.Errorf("records of %s in %s (-want +got):\n%s", day, last.Region, diff)
	}
	files, _ := e.Server.AthenaQueryFiles(id)
	sort.Strings(files)
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("files read (-want +got):\n%s", diff)
	}
}
