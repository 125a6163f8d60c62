package athenaquery

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena/types"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/archive"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/bucketpolicy"
)

// Table is the CloudTrail table over a trail's bucket: AWS's documented
// table ("Create the table for CloudTrail logs in Athena using partition
// projection") with the organization form's projections, so that one
// table covers every account and region the trail writes and a query
// prunes to the accounts, regions and days it names.
type Table struct {
	Database string
	Name     string
	// Bucket and Location are where the trail writes.
	Bucket   string
	Location archive.Location
	// AccountIDs and Regions are the projected values of the account and
	// region partitions.
	AccountIDs []string
	Regions    []string
	// StartDate is the date projection's first day (UTC).
	StartDate time.Time
}

// Partition columns of the table, in the order of PARTITIONED BY.
const (
	accountColumn = "account"
	regionColumn  = "region"
	dayColumn     = "timestamp"
)

// dayFormat is the date projection's format, CloudTrail's folder layout.
const (
	dayFormat     = "2006/01/02"
	projectionDay = "yyyy/MM/dd"
)

// columns are the documented table's columns, as AWS prints them.
const columns = `    eventversion STRING,
    useridentity STRUCT<
        type: STRING,
        principalid: STRING,
        arn: STRING,
        accountid: STRING,
        invokedby: STRING,
        accesskeyid: STRING,
        username: STRING,
        onbehalfof: STRUCT<
             userid: STRING,
             identitystorearn: STRING>,
        sessioncontext: STRUCT<
            attributes: STRUCT<
                mfaauthenticated: STRING,
                creationdate: STRING>,
            sessionissuer: STRUCT<
                type: STRING,
                principalid: STRING,
                arn: STRING,
                accountid: STRING,
                username: STRING>,
            ec2roledelivery:string,
            webidfederationdata: STRUCT<
                federatedprovider: STRING,
                attributes: map<string,string>>
        >
    >,
    eventtime STRING,
    eventsource STRING,
    eventname STRING,
    awsregion STRING,
    sourceipaddress STRING,
    useragent STRING,
    errorcode STRING,
    errormessage STRING,
    requestparameters STRING,
    responseelements STRING,
    additionaleventdata STRING,
    requestid STRING,
    eventid STRING,
    readonly STRING,
    resources ARRAY<STRUCT<
        arn: STRING,
        accountid: STRING,
        type: STRING>>,
    eventtype STRING,
    apiversion STRING,
    recipientaccountid STRING,
    serviceeventdetails STRING,
    sharedeventid STRING,
    vpcendpointid STRING,
    vpcendpointaccountid STRING,
    eventcategory STRING,
    addendum STRUCT<
      reason:STRING,
      updatedfields:STRING,
      originalrequestid:STRING,
      originaleventid:STRING>,
    sessioncredentialfromconsole STRING,
    edgedevicedetails STRING,
    tlsdetails STRUCT<
      tlsversion:STRING,
      ciphersuite:STRING,
      clientprovidedhostheader:STRING>
`

// The table's storage, as documented: CloudTrailInputFormat reads the
// Records array of each file, the JSON SerDe each record.
const (
	serde        = "org.apache.hive.hcatalog.data.JsonSerDe"
	inputFormat  = "com.amazon.emr.cloudtrail.CloudTrailInputFormat"
	outputFormat = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
)

var (
	// identifierPattern is what Athena accepts as a database or table
	// name without surprises: lower case letters, digits and underscores
	// (the Glue Data Catalog keeps names in lower case).
	identifierPattern = regexp.MustCompile(`^[a-z0-9_]{1,255}$`)
	regionPattern     = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	bucketPattern     = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
)

// CheckIdentifier says what is wrong with a database or table name, nil
// when Athena takes it as it is.
func CheckIdentifier(what, name string) error {
	if !identifierPattern.MatchString(name) {
		return fmt.Errorf("%s name %q must be 1 to 255 lower-case letters, digits and underscores, as the Glue Data "+
			"Catalog keeps them", what, name)
	}
	return nil
}

// CheckKeyPrefix refuses a trail's key prefix the table cannot be
// written with: what the statement's string literals cannot carry as it
// is, or a projection could read as its ${...}.
func CheckKeyPrefix(p string) error {
	switch {
	case strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/"):
		return fmt.Errorf("key prefix %q must not start or end with \"/\"", p)
	case strings.ContainsAny(p, `'\`) || strings.Contains(p, "${"):
		return fmt.Errorf("key prefix %q holds a quote, a backslash or \"${\", which the table's LOCATION cannot carry", p)
	case strings.IndexFunc(p, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0:
		return fmt.Errorf("key prefix %q holds a control character", p)
	}
	return nil
}

// Validate checks every value the statement carries, so that the
// statement says what the values mean and nothing else.
func (t Table) Validate() error {
	var errs []error
	for what, name := range map[string]string{"database": t.Database, "table": t.Name} {
		if err := CheckIdentifier(what, name); err != nil {
			errs = append(errs, err)
		}
	}
	if !bucketPattern.MatchString(t.Bucket) {
		errs = append(errs, fmt.Errorf("bucket name %q is not a valid S3 bucket name", t.Bucket))
	}
	if err := CheckKeyPrefix(t.Location.Prefix); err != nil {
		errs = append(errs, err)
	}
	if o := t.Location.OrganizationID; o != "" && !bucketpolicy.OrganizationIDPattern.MatchString(o) {
		errs = append(errs, fmt.Errorf("organization id %q is not an id such as o-a1b2c3d4e5", o))
	}
	errs = append(errs, checkValues("account id", t.AccountIDs, archive.AccountIDPattern), checkValues("region", t.Regions, regionPattern))
	if t.StartDate.IsZero() {
		errs = append(errs, errors.New("no start date for the date projection"))
	}
	return errors.Join(errs...)
}

func checkValues(what string, values []string, pattern *regexp.Regexp) error {
	if len(values) == 0 {
		return fmt.Errorf("no %s to project", what)
	}
	return archive.CheckNames(what, values, pattern.MatchString)
}

// LocationURL is the table's LOCATION: the folder of the accounts.
func (t Table) LocationURL() string {
	return "s3://" + t.Bucket + "/" + t.Location.AccountsPrefix()
}

// LocationTemplate is where the files of one account, region and day
// are: the storage.location.template partition projection reads.
func (t Table) LocationTemplate() string {
	return locationTemplate(t.Bucket, t.Location)
}

func locationTemplate(bucket string, l archive.Location) string {
	return "s3://" + bucket + "/" + l.RegionsPrefix("${"+accountColumn+"}", archive.CloudTrailFolder) +
		"${" + regionColumn + "}/${" + dayColumn + "}"
}

// properties are the table's TBLPROPERTIES, in the statement's order.
func (t Table) properties() [][2]string {
	return [][2]string{
		{"projection.enabled", "true"},
		{"projection." + accountColumn + ".type", "enum"},
		{"projection." + accountColumn + ".values", strings.Join(sortedUnique(t.AccountIDs), ",")},
		{"projection." + regionColumn + ".type", "enum"},
		{"projection." + regionColumn + ".values", strings.Join(sortedUnique(t.Regions), ",")},
		{"projection." + dayColumn + ".format", projectionDay},
		{"projection." + dayColumn + ".interval", "1"},
		{"projection." + dayColumn + ".interval.unit", "DAYS"},
		{"projection." + dayColumn + ".range", t.StartDate.UTC().Format(dayFormat) + ",NOW"},
		{"projection." + dayColumn + ".type", "date"},
		{"storage.location.template", t.LocationTemplate()},
	}
}

// CreateStatement is the CREATE EXTERNAL TABLE statement. It has no IF
// NOT EXISTS: a table already there is someone else's until imported.
func (t Table) CreateStatement() (string, error) {
	if err := t.Validate(); err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE EXTERNAL TABLE `%s`.`%s`(\n%s  )\n", t.Database, t.Name, columns)
	fmt.Fprintf(&b, "PARTITIONED BY (\n   %s string,\n   %s string,\n   `%s` string)\n", accountColumn, regionColumn, dayColumn)
	fmt.Fprintf(&b, "ROW FORMAT SERDE '%s'\nSTORED AS INPUTFORMAT '%s'\nOUTPUTFORMAT '%s'\n", serde, inputFormat, outputFormat)
	fmt.Fprintf(&b, "LOCATION\n  '%s'\nTBLPROPERTIES (\n", t.LocationURL())
	props := t.properties()
	for i, p := range props {
		sep := ",\n"
		if i == len(props)-1 {
			sep = ")"
		}
		fmt.Fprintf(&b, "  '%s'='%s'%s", p[0], p[1], sep)
	}
	return b.String(), nil
}

// CreateDatabaseStatement creates database unless it exists.
func CreateDatabaseStatement(database string) (string, error) {
	if err := CheckIdentifier("database", database); err != nil {
		return "", err
	}
	return "CREATE DATABASE IF NOT EXISTS `" + database + "`", nil
}

// DropStatement drops the table if it is still there.
func (t Table) DropStatement() (string, error) {
	for what, name := range map[string]string{"database": t.Database, "table": t.Name} {
		if err := CheckIdentifier(what, name); err != nil {
			return "", err
		}
	}
	return "DROP TABLE IF EXISTS `" + t.Database + "`.`" + t.Name + "`", nil
}

// TableFromMetadata reads back what GetTableMetadata reports of a table
// CreateStatement made. A table of another shape yields an error saying
// how it differs; the fields it could read are still set.
func TableFromMetadata(database string, md *types.TableMetadata) (Table, error) {
	t := Table{Database: database, Name: aws.ToString(md.Name)}
	p := md.Parameters
	var errs []error
	bucket, l, err := parseLocation(p["location"])
	if err != nil {
		errs = append(errs, err)
	}
	t.Bucket, t.Location = bucket, l
	var keys []string
	for _, k := range md.PartitionKeys {
		keys = append(keys, aws.ToString(k.Name))
	}
	if want := []string{accountColumn, regionColumn, dayColumn}; !slices.Equal(keys, want) {
		errs = append(errs, fmt.Errorf("partitioned by (%s), not (%s)", strings.Join(keys, ", "), strings.Join(want, ", ")))
	}
	if p["projection.enabled"] != "true" {
		errs = append(errs, errors.New("partition projection is not enabled"))
	}
	for _, col := range []struct {
		name   string
		values *[]string
	}{{accountColumn, &t.AccountIDs}, {regionColumn, &t.Regions}} {
		typ := p["projection."+col.name+".type"]
		if typ != "enum" {
			errs = append(errs, fmt.Errorf("the %s projection is of type %q, not enum", col.name, typ))
			continue
		}
		*col.values = splitValues(p["projection."+col.name+".values"])
	}
	if start, rest, _ := strings.Cut(p["projection."+dayColumn+".range"], ","); rest == "" {
		errs = append(errs, fmt.Errorf("the %s projection has no range", dayColumn))
	} else if t.StartDate, err = time.Parse(dayFormat, strings.TrimSpace(start)); err != nil {
		errs = append(errs, fmt.Errorf("the %s projection's range starts with %q, not a yyyy/MM/dd day", dayColumn, start))
	}
	if got, want := p["storage.location.template"], locationTemplate(bucket, l); got != want {
		errs = append(errs, fmt.Errorf("its storage.location.template is %q, not %q", got, want))
	}
	if err := errors.Join(errs...); err != nil {
		return t, fmt.Errorf("table %s.%s is not a CloudTrail table of this provider's shape: %w", database, t.Name, err)
	}
	return t, nil
}

// parseLocation reads s3://bucket/[prefix/]AWSLogs/[org/].
func parseLocation(raw string) (string, archive.Location, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return "", archive.Location{}, fmt.Errorf("its location %q is not an s3:// URL", raw)
	}
	path := strings.Trim(u.Path, "/")
	var l archive.Location
	// The last AWSLogs/ is the trail's: a key prefix may hold the word.
	full := "/" + path + "/"
	at := strings.LastIndex(full, "/AWSLogs/")
	if at < 0 {
		return u.Host, l, fmt.Errorf("its location %q is not a trail's AWSLogs/ folder", raw)
	}
	l.Prefix = strings.Trim(full[:at], "/")
	switch rest := strings.Trim(full[at+len("/AWSLogs/"):], "/"); {
	case rest == "":
	case bucketpolicy.OrganizationIDPattern.MatchString(rest):
		l.OrganizationID = rest
	default:
		return u.Host, l, fmt.Errorf("its location %q is not a trail's AWSLogs/ folder or an organization's in it", raw)
	}
	return u.Host, l, nil
}

func splitValues(s string) []string {
	var out []string
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func sortedUnique(values []string) []string {
	out := slices.Clone(values)
	slices.Sort(out)
	return slices.Compact(out)
}
