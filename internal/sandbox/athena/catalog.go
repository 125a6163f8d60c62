package athena

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

// catalogName is the one data catalog: the account's Glue Data Catalog,
// in the region.
const catalogName = "AwsDataCatalog"

// defaultDatabase exists in every catalog and cannot be dropped, as
// Hive's default database.
const defaultDatabase = "default"

// catalog is one account's Glue Data Catalog in one region: its
// databases by name.
type catalog struct {
	Databases map[string]*database
}

type database struct {
	Name        string
	Description string            `json:",omitempty"`
	Parameters  map[string]string `json:",omitempty"`
	Created     time.Time
	Tables      map[string]*table `json:",omitempty"`
}

// table is a Hive table as CREATE EXTERNAL TABLE defines it.
type table struct {
	Name          string
	Created       time.Time
	Columns       []column
	PartitionKeys []column `json:",omitempty"`
	Location      string
	InputFormat   string
	OutputFormat  string
	SerDe         string
	SerDeParams   map[string]string `json:",omitempty"`
	// Properties are the TBLPROPERTIES, partition projection's among
	// them.
	Properties map[string]string `json:",omitempty"`
	Comment    string            `json:",omitempty"`
}

// column is a column or partition key; Type is in the Glue Data Catalog's
// spelling (see hiveType.String).
type column struct {
	Name    string
	Type    string
	Comment string `json:",omitempty"`
}

// newCatalog holds only the default database.
func newCatalog(now time.Time) *catalog {
	return &catalog{Databases: map[string]*database{defaultDatabase: {Name: defaultDatabase, Created: now}}}
}

// Serdes whose tables take their schema from the metastore; Hive reports
// every other serde's columns as described "from deserializer".
var metastoreSchemaSerDes = map[string]bool{
	"org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe":             true,
	"org.apache.hadoop.hive.serde2.columnar.ColumnarSerDe":           true,
	"org.apache.hadoop.hive.serde2.columnar.LazyBinaryColumnarSerDe": true,
	"org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe":    true,
	"org.apache.hadoop.hive.ql.io.orc.OrcSerde":                      true,
	"org.apache.hadoop.hive.serde2.avro.AvroSerDe":                   true,
	"org.apache.hadoop.hive.serde2.MetadataTypedColumnsetSerDe":      true,
	"org.apache.hadoop.hive.serde2.lazybinary.LazyBinarySerDe":       true,
}

// tableMetadata is the table as GetTableMetadata answers it.
type tableMetadata struct {
	Name           string
	CreateTime     *awsapi.EpochTime `json:",omitempty"`
	LastAccessTime *awsapi.EpochTime `json:",omitempty"`
	TableType      string
	Columns        []columnMetadata
	PartitionKeys  []columnMetadata
	Parameters     map[string]string
}

type columnMetadata struct {
	Name    string
	Type    string
	Comment *string `json:",omitempty"`
}

func (t *table) metadata() tableMetadata {
	fromDeserializer := !metastoreSchemaSerDes[t.SerDe]
	cols := func(cs []column, serde bool) []columnMetadata {
		out := make([]columnMetadata, len(cs))
		for i, c := range cs {
			out[i] = columnMetadata{Name: c.Name, Type: c.Type}
			switch {
			case c.Comment != "":
				out[i].Comment = aws.String(c.Comment)
			case serde && fromDeserializer:
				out[i].Comment = aws.String("from deserializer")
			}
		}
		return out
	}
	params := map[string]string{
		"EXTERNAL":                "TRUE",
		"inputformat":             t.InputFormat,
		"outputformat":            t.OutputFormat,
		"location":                t.Location,
		"serde.serialization.lib": t.SerDe,
		"transient_lastDdlTime":   fmt.Sprint(t.Created.Unix()),
	}
	for k, v := range t.SerDeParams {
		params["serde.param."+k] = v
	}
	if _, ok := t.SerDeParams["serialization.format"]; !ok {
		params["serde.param.serialization.format"] = "1"
	}
	if t.Comment != "" {
		params["comment"] = t.Comment
	}
	for k, v := range t.Properties {
		params[k] = v
	}
	return tableMetadata{
		Name:          t.Name,
		CreateTime:    awsapi.Epoch(t.Created),
		TableType:     "EXTERNAL_TABLE",
		Columns:       cols(t.Columns, true),
		PartitionKeys: cols(t.PartitionKeys, false),
		Parameters:    params,
	}
}

// normalizeName is how Glue keeps database and table names: lower case.
func normalizeName(s string) string { return strings.ToLower(s) }
