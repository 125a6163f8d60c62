package archive

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"golang.org/x/sync/errgroup"
)

// corpus is a generated archive: realistic CloudTrail log files of many
// services with a few OpsWorks CM calls, laid out as a trail writes them,
// the same for the same spec.
type corpus struct {
	Location Location
	Accounts []string
	Regions  []string
	// First is the first delivery day; files are delivered on Days days.
	First          time.Time
	Days           int
	FilesPerDay    int // per account and region
	RecordsPerFile int
	Seed           uint64
}

// corpusFacts is what the generator wrote: enough to check an engine's
// answer without reading the files back.
type corpusFacts struct {
	Files        int
	Records      int
	Compressed   int64
	Uncompressed int64
	Keys         []string
	// OpsWorksCM are the distinct OpsWorks CM records written, in the
	// order written.
	OpsWorksCM []factRecord
}

type factRecord struct {
	ID, Name, Region, Account string
	Time                      time.Time
}

// between returns the OpsWorks CM records whose time lies in [start, end].
func (f *corpusFacts) between(start, end time.Time) []factRecord {
	var out []factRecord
	for _, r := range f.OpsWorksCM {
		if !r.Time.Before(start) && !r.Time.After(end) {
			out = append(out, r)
		}
	}
	return out
}

// write generates the corpus under dir, one account and region folder
// per core at a time. Each file is delivered at its slot of the day and
// holds records from the fifteen minutes before, so the first file of a day
// holds records of the previous one; now and then CloudTrail's duplicate
// delivery is imitated by repeating a file's first records in the next
// file.
func (c corpus) write(dir string) (*corpusFacts, error) {
	folders := make([]*corpusFacts, len(c.Accounts)*len(c.Regions))
	g := new(errgroup.Group)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for ai := range c.Accounts {
		for ri := range c.Regions {
			i := ai*len(c.Regions) + ri
			g.Go(func() error {
				f, err := c.writeFolder(dir, ai, ri)
				folders[i] = f
				return err
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	facts := &corpusFacts{}
	for _, f := range folders {
		facts.Files += f.Files
		facts.Records += f.Records
		facts.Compressed += f.Compressed
		facts.Uncompressed += f.Uncompressed
		facts.Keys = append(facts.Keys, f.Keys...)
		facts.OpsWorksCM = append(facts.OpsWorksCM, f.OpsWorksCM...)
	}
	return facts, nil
}

// writeFolder writes the files of one account and region.
func (c corpus) writeFolder(dir string, ai, ri int) (*corpusFacts, error) {
	account, region := c.Accounts[ai], c.Regions[ri]
	g := &recordGen{
		rng:     rand.New(rand.NewPCG(c.Seed, uint64(ai)<<32|uint64(ri))),
		account: account,
		region:  region,
	}
	facts := &corpusFacts{}
	seenOps := map[string]bool{}
	var carry [][]byte
	slot := 24 * time.Hour / time.Duration(c.FilesPerDay)
	for d := range c.Days {
		day := c.First.AddDate(0, 0, d)
		for i := range c.FilesPerDay {
			delivered := day.Add(time.Duration(i)*slot + time.Duration(g.rng.IntN(int(slot/time.Second)))*time.Second)
			recs := carry
			carry = nil
			for n := range c.RecordsPerFile {
				t := delivered.Add(-time.Minute - time.Duration(g.rng.IntN(14*60))*time.Second)
				raw, fr := g.record(t)
				recs = append(recs, raw)
				if fr != nil && !seenOps[fr.ID] {
					seenOps[fr.ID] = true
					facts.OpsWorksCM = append(facts.OpsWorksCM, *fr)
				}
				if n < 3 && g.rng.IntN(50) == 0 {
					carry = append(carry, raw)
				}
			}
			key := c.Location.DayPrefix(account, CloudTrailFolder, region, delivered) +
				fmt.Sprintf("%s_CloudTrail_%s_%s_%s.json.gz", account, region, delivered.Format("20060102T1504Z"), g.suffix())
			n, err := writeLogFile(filepath.Join(dir, filepath.FromSlash(key)), recs)
			if err != nil {
				return nil, err
			}
			facts.Files++
			facts.Records += len(recs)
			facts.Uncompressed += n.uncompressed
			facts.Compressed += n.compressed
			facts.Keys = append(facts.Keys, key)
		}
	}
	return facts, nil
}

type fileSizes struct{ compressed, uncompressed int64 }

// writeLogFile writes records as CloudTrail does: one gzipped
// {"Records":[...]} document.
func writeLogFile(path string, records [][]byte) (fileSizes, error) {
	var body strings.Builder
	body.WriteString(`{"Records":[`)
	for i, r := range records {
		if i > 0 {
			body.WriteByte(',')
		}
		body.Write(r)
	}
	body.WriteString("]}")
	n, err := writeGzip(path, []byte(body.String()))
	return fileSizes{compressed: n, uncompressed: int64(body.Len())}, err
}

// writeGzip writes data gzipped to path, creating its folders, and returns
// the compressed size.
func writeGzip(path string, data []byte) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, err
	}
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriter(f)
	zw := gzip.NewWriter(bw)
	_, err = zw.Write(data)
	for _, step := range []func() error{zw.Close, bw.Flush} {
		if err == nil {
			err = step()
		}
	}
	var size int64
	if err == nil {
		var st os.FileInfo
		if st, err = f.Stat(); err == nil {
			size = st.Size()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("writing %s: %w", path, err)
	}
	return size, nil
}

// recordGen writes the records of one account and region.
type recordGen struct {
	rng             *rand.Rand
	account, region string
}

func (g *recordGen) uuid() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], g.rng.Uint64())
	binary.BigEndian.PutUint64(b[8:], g.rng.Uint64())
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func (g *recordGen) suffix() string {
	b := make([]byte, 16)
	for i := range b {
		b[i] = alnum[g.rng.IntN(len(alnum))]
	}
	return string(b)
}

func (g *recordGen) token(n int) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[g.rng.IntN(len(chars))]
	}
	return string(b)
}

var userAgents = []string{
	"aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79 exe/x86_64.amzn.2023 prompt/off command/ec2.describe-instances",
	"aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.150.0",
	"APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.40.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.1",
	"Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.1.79 md/arch#x86_64 lang/python#3.11.8 cfg/retry-mode#legacy Botocore/1.34.69",
	"console.amazonaws.com",
}

var roles = []string{"TerraformDeploy", "InventoryReader", "OpsWorksAdmin", "DataPipeline", "AWSReservedSSO_AdministratorAccess_0123456789abcdef"}

var opsWorksCMCalls = []struct {
	name     string
	readOnly bool
}{
	{"DescribeServers", true}, {"DescribeBackups", true}, {"DescribeEvents", true},
	{"CreateBackup", false}, {"UpdateServer", false}, {"AssociateNode", false}, {"DeleteServer", false},
}

// identity returns a userIdentity document, the caller's address and,
// for a service, the service.
func (g *recordGen) identity(t time.Time) (doc, ip, agent string) {
	acct := g.account
	ip = fmt.Sprintf("%d.%d.%d.%d", 198+g.rng.IntN(6), g.rng.IntN(256), g.rng.IntN(256), 1+g.rng.IntN(254))
	agent = userAgents[g.rng.IntN(len(userAgents))]
	created := t.Add(-time.Duration(g.rng.IntN(3600)) * time.Second).Format(time.RFC3339)
	switch k := g.rng.IntN(20); {
	case k < 13:
		role := roles[g.rng.IntN(len(roles))]
		session := fmt.Sprintf("session-%d", g.rng.IntN(40))
		roleID := fmt.Sprintf("AROA%016X", g.rng.Uint64()>>8)
		doc = fmt.Sprintf(`{"type":"AssumedRole","principalId":"%s:%s","arn":"arn:aws:sts::%s:assumed-role/%s/%s","accountId":"%s","accessKeyId":"ASIA%016X",`+
			`"sessionContext":{"sessionIssuer":{"type":"Role","principalId":"%s","arn":"arn:aws:iam::%s:role/%s","accountId":"%s","userName":"%s"},`+
			`"webIdFederationData":{},"attributes":{"creationDate":"%s","mfaAuthenticated":"%t"}}}`,
			roleID, session, acct, role, session, acct, g.rng.Uint64()>>8, roleID, acct, role, acct, role, created, g.rng.IntN(3) == 0)
	case k < 17:
		user := fmt.Sprintf("user-%d", g.rng.IntN(12))
		doc = fmt.Sprintf(`{"type":"IAMUser","principalId":"AIDA%016X","arn":"arn:aws:iam::%s:user/%s","accountId":"%s","accessKeyId":"AKIA%016X","userName":"%s"}`,
			g.rng.Uint64()>>8, acct, user, acct, g.rng.Uint64()>>8, user)
	case k < 19:
		svc := []string{"cloudformation.amazonaws.com", "autoscaling.amazonaws.com", "lambda.amazonaws.com", "config.amazonaws.com"}[g.rng.IntN(4)]
		doc = fmt.Sprintf(`{"type":"AWSService","invokedBy":"%s"}`, svc)
		ip, agent = svc, svc
	default:
		doc = fmt.Sprintf(`{"type":"Root","principalId":"%s","arn":"arn:aws:iam::%s:root","accountId":"%s","accessKeyId":"ASIA%016X",`+
			`"sessionContext":{"attributes":{"creationDate":"%s","mfaAuthenticated":"true"}}}`, acct, acct, acct, g.rng.Uint64()>>8, created)
		agent = "console.amazonaws.com"
	}
	return doc, ip, agent
}

// call returns the source, name, read-only flag, request parameters,
// response elements and resources of one call of a service picked at
// random, OpsWorks CM about one time in a hundred.
func (g *recordGen) call() (source, name string, readOnly bool, req, resp, resources string) {
	acct, region := g.account, g.region
	switch k := g.rng.IntN(200); {
	case k < 2:
		c := opsWorksCMCalls[g.rng.IntN(len(opsWorksCMCalls))]
		server := fmt.Sprintf("puppet-%d", g.rng.IntN(5))
		return "opsworks-cm.amazonaws.com", c.name, c.readOnly, fmt.Sprintf(`{"serverName":"%s"}`, server), "null",
			fmt.Sprintf(`,"resources":[{"accountId":"%s","type":"AWS::OpsWorksCM::Server","ARN":"arn:aws:opsworks-cm:%s:%s:server/%s/%s"}]`, acct, region, acct, server, g.uuid())
	case k < 50:
		return "ec2.amazonaws.com", "DescribeInstances", true,
			fmt.Sprintf(`{"instancesSet":{},"filterSet":{"items":[{"name":"tag:Name","valueSet":{"items":[{"value":"web-%d-*"}]}},{"name":"instance-state-name","valueSet":{"items":[{"value":"running"}]}}]}}`, g.rng.IntN(30)),
			"null", ""
	case k < 70:
		return "ec2.amazonaws.com", "DescribeVolumes", true, `{"volumeSet":{},"filterSet":{},"maxResults":500}`, "null", ""
	case k < 95:
		bucket := fmt.Sprintf("data-%s-%d", acct, g.rng.IntN(8))
		return "s3.amazonaws.com", []string{"GetBucketAcl", "GetBucketPolicy", "GetBucketLocation", "GetBucketVersioning"}[g.rng.IntN(4)], true,
			fmt.Sprintf(`{"bucketName":"%s","Host":"%s.s3.%s.amazonaws.com","acl":""}`, bucket, bucket, region), "null",
			fmt.Sprintf(`,"resources":[{"accountId":"%s","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::%s"}],"additionalEventData":{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":0,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"%s","bytesTransferredOut":%d}`,
				acct, bucket, g.token(76), 200+g.rng.IntN(3000))
	case k < 120:
		key := g.uuid()
		return "kms.amazonaws.com", []string{"Decrypt", "GenerateDataKey", "Encrypt"}[g.rng.IntN(3)], g.rng.IntN(2) == 0,
			fmt.Sprintf(`{"encryptionContext":{"aws:lambda:FunctionArn":"arn:aws:lambda:%s:%s:function:worker-%d"},"encryptionAlgorithm":"SYMMETRIC_DEFAULT"}`, region, acct, g.rng.IntN(20)),
			"null", fmt.Sprintf(`,"resources":[{"accountId":"%s","type":"AWS::KMS::Key","ARN":"arn:aws:kms:%s:%s:key/%s"}]`, acct, region, acct, key)
	case k < 135:
		role := roles[g.rng.IntN(len(roles))]
		return "sts.amazonaws.com", "AssumeRole", false,
			fmt.Sprintf(`{"roleArn":"arn:aws:iam::%s:role/%s","roleSessionName":"session-%d","durationSeconds":3600}`, acct, role, g.rng.IntN(40)),
			fmt.Sprintf(`{"credentials":{"accessKeyId":"ASIA%016X","sessionToken":"IQoJb3JpZ2luX2VjE%s","expiration":"Mar 1, 2024, 11:00:00 AM"},"assumedRoleUser":{"assumedRoleId":"AROA%016X:session","arn":"arn:aws:sts::%s:assumed-role/%s/session"}}`,
				g.rng.Uint64()>>8, g.token(300), g.rng.Uint64()>>8, acct, role), ""
	case k < 150:
		return "logs.amazonaws.com", "CreateLogStream", false,
			fmt.Sprintf(`{"logGroupName":"/aws/lambda/worker-%d","logStreamName":"2024/03/01/[$LATEST]%s"}`, g.rng.IntN(20), strings.ReplaceAll(g.uuid(), "-", "")), "null", ""
	case k < 165:
		return "monitoring.amazonaws.com", "GetMetricData", true,
			fmt.Sprintf(`{"metricDataQueries":[{"id":"m1","metricStat":{"metric":{"namespace":"AWS/EC2","metricName":"CPUUtilization","dimensions":[{"name":"InstanceId","value":"i-%016x"}]},"period":300,"stat":"Average"},"returnData":true}],"startTime":"Mar 1, 2024, 9:00:00 AM","endTime":"Mar 1, 2024, 10:00:00 AM"}`, g.rng.Uint64()),
			"null", ""
	case k < 180:
		return "ssm.amazonaws.com", "GetParameter", true,
			fmt.Sprintf(`{"name":"/app/config/feature-%d","withDecryption":true}`, g.rng.IntN(50)), "null", ""
	case k < 190:
		role := roles[g.rng.IntN(len(roles))]
		return "iam.amazonaws.com", []string{"GetRole", "ListAttachedRolePolicies", "ListRoleTags"}[g.rng.IntN(3)], true,
			fmt.Sprintf(`{"roleName":"%s"}`, role), "null", ""
	default:
		return "lambda.amazonaws.com", "ListFunctions20150331", true, `{"functionVersion":"ALL","maxItems":50}`, "null", ""
	}
}

// record returns one record at t and, for an OpsWorks CM call, its facts.
func (g *recordGen) record(t time.Time) ([]byte, *factRecord) {
	id, ip, agent := g.identity(t)
	source, name, readOnly, req, resp, resources := g.call()
	eventID := g.uuid()
	errPart := ""
	if g.rng.IntN(40) == 0 {
		errPart = `,"errorCode":"AccessDenied","errorMessage":"User is not authorized to perform this operation because no identity-based policy allows it"`
		resp = "null"
	}
	raw := fmt.Appendf(nil, `{"eventVersion":"1.09","userIdentity":%s,"eventTime":"%s","eventSource":"%s","eventName":"%s","awsRegion":"%s",`+
		`"sourceIPAddress":"%s","userAgent":"%s"%s,"requestParameters":%s,"responseElements":%s,"requestID":"%s","eventID":"%s","readOnly":%t%s,`+
		`"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"%s","eventCategory":"Management",`+
		`"tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"%s.%s.amazonaws.com"}}`,
		id, t.UTC().Format(time.RFC3339), source, name, g.region, ip, agent, errPart, req, resp, g.uuid(), eventID, readOnly, resources,
		g.account, strings.TrimSuffix(source, ".amazonaws.com"), g.region)
	if source != "opsworks-cm.amazonaws.com" {
		return raw, nil
	}
	return raw, &factRecord{ID: eventID, Name: name, Region: g.region, Account: g.account, Time: t.UTC()}
}
