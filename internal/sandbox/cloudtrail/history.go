package cloudtrail

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

// OpsWorksCMSource is the event source of every generated history record.
const OpsWorksCMSource = "opsworks-cm.amazonaws.com"

// OpsWorksCMActions are the 19 OpsWorks CM API actions, with whether each
// is read-only.
var OpsWorksCMActions = map[string]bool{
	"AssociateNode": false, "CreateBackup": false, "CreateServer": false, "DeleteBackup": false,
	"DeleteServer": false, "DescribeAccountAttributes": true, "DescribeBackups": true,
	"DescribeEvents": true, "DescribeNodeAssociationStatus": true, "DescribeServers": true,
	"DisassociateNode": false, "ExportServerEngineAttribute": true, "ListTagsForResource": true,
	"RestoreServer": false, "StartMaintenance": false, "TagResource": false, "UntagResource": false,
	"UpdateServer": false, "UpdateServerEngineAttributes": false,
}

// HistoryRegions are the regions the generated history has events in.
var HistoryRegions = []string{"us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2", "ap-northeast-1"}

// DocCreateServerEventID is the eventID of the history's copy of the AWS
// documentation's OpsWorks for Puppet Enterprise CreateServer record.
const DocCreateServerEventID = "a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d"

// UnredactedSecretValue is the one engine attribute value in the history
// that was logged in clear (by a third-party relay), so redaction of
// credential-bearing fields can be tested.
const UnredactedSecretValue = "Pupp3t-Adm1n-Pa55w0rd!"

// docCreateServerRecord is the AWS documentation's sample OpsWorks for
// Puppet Enterprise CreateServer record, corrected: as printed it has a
// trailing comma inside engineAttributes and is not valid JSON. The
// account, time and ids are set by History.
const docCreateServerRecord = `{
  "eventVersion": "1.05",
  "userIdentity": {
    "type": "IAMUser",
    "principalId": "AIDAIVVIELR3MOBYPFCSQ",
    "arn": "arn:aws:iam::ACCOUNT:user/Alice",
    "accountId": "ACCOUNT",
    "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
    "userName": "Alice",
    "sessionContext": {
      "attributes": {"mfaAuthenticated": "false", "creationDate": "CREATED"}
    },
    "invokedBy": "signin.amazonaws.com"
  },
  "eventTime": "TIME",
  "eventSource": "opsworks-cm.amazonaws.com",
  "eventName": "CreateServer",
  "awsRegion": "us-west-2",
  "sourceIPAddress": "198.51.100.31",
  "userAgent": "signin.amazonaws.com",
  "requestParameters": {
    "serverName": "puppet-test",
    "engine": "Puppet",
    "engineModel": "Monolithic",
    "engineVersion": "2017",
    "engineAttributes": [
      {"name": "PUPPET_ADMIN_PASSWORD", "value": "*** Redacted ***"},
      {"name": "PUPPET_R10K_REMOTE", "value": "*** Redacted ***"}
    ],
    "instanceProfileArn": "arn:aws:iam::ACCOUNT:instance-profile/aws-opsworks-cm-ec2-role",
    "instanceType": "m4.large",
    "keyPair": "puppet-test-key",
    "preferredMaintenanceWindow": "Sun:02:00",
    "preferredBackupWindow": "Sat:23:00",
    "backupRetentionCount": 10,
    "securityGroupIds": ["sg-0b1a2c3d"],
    "serviceRoleArn": "arn:aws:iam::ACCOUNT:role/service-role/aws-opsworks-cm-service-role",
    "subnetIds": ["subnet-0a1b2c3d"]
  },
  "responseElements": {
    "server": {
      "associatePublicIpAddress": true,
      "backupRetentionCount": 10,
      "createdAt": "TIME",
      "disableAutomatedBackup": false,
      "engine": "Puppet",
      "engineAttributes": [
        {"name": "PUPPET_ADMIN_PASSWORD", "value": "*** Redacted ***"},
        {"name": "PUPPET_R10K_REMOTE", "value": "*** Redacted ***"}
      ],
      "engineModel": "Monolithic",
      "engineVersion": "2017",
      "instanceProfileArn": "arn:aws:iam::ACCOUNT:instance-profile/aws-opsworks-cm-ec2-role",
      "instanceType": "m4.large",
      "keyPair": "puppet-test-key",
      "preferredBackupWindow": "Sat:23:00",
      "preferredMaintenanceWindow": "Sun:02:00",
      "securityGroupIds": ["sg-0b1a2c3d"],
      "serverArn": "arn:aws:opsworks-cm:us-west-2:ACCOUNT:server/puppet-test/6e2f1c9a-7d3b-4e8f-9a0b-1c2d3e4f5a6b",
      "serverName": "puppet-test",
      "serviceRoleArn": "arn:aws:iam::ACCOUNT:role/service-role/aws-opsworks-cm-service-role",
      "status": "CREATING",
      "subnetIds": ["subnet-0a1b2c3d"]
    }
  },
  "requestID": "b4f8e2a1-3c5d-4e6f-8a9b-0c1d2e3f4a5b",
  "eventID": "a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
  "eventType": "AwsApiCall",
  "recipientAccountId": "ACCOUNT"
}`

// actor is a principal making calls in the history.
type actor struct {
	kind      string // IAMUser, AssumedRole or Root
	name      string // user name, or role name for AssumedRole
	session   string // role session name
	mfa       bool
	accessKey string
	ip        string
	agent     string
}

const (
	uaConsole   = "console.amazonaws.com"
	uaCLI       = "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79 exe/x86_64.amzn.2023 prompt/off command/opsworks-cm"
	uaGoSDK     = "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/opsworkscm#1.21.2"
	uaTerraform = "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.40.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.1 api/opsworkscm#1.21.2"
	uaBoto3     = "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.1.79 md/arch#x86_64 lang/python#3.11.8 cfg/retry-mode#legacy Botocore/1.34.69"
)

var (
	alice   = actor{kind: "IAMUser", name: "alice", mfa: true, accessKey: "ASIAQALICECONSOLE01", ip: "198.51.100.24", agent: uaConsole}
	bob     = actor{kind: "IAMUser", name: "bob", accessKey: "AKIAQBOBCLIKEY00001", ip: "203.0.113.77", agent: uaCLI}
	carol   = actor{kind: "IAMUser", name: "carol", accessKey: "AKIAQCAROLBOTO30001", ip: "203.0.113.140", agent: uaBoto3}
	relay   = actor{kind: "IAMUser", name: "ops-automation", accessKey: "AKIAQOPSAUTOMATION1", ip: "192.0.2.15", agent: uaGoSDK}
	admin   = actor{kind: "AssumedRole", name: "OpsWorksAdmin", session: "dave@example.com", mfa: true, accessKey: "ASIAQDAVEADMINROLE1", ip: "198.51.100.61", agent: uaConsole}
	deploy  = actor{kind: "AssumedRole", name: "TerraformDeploy", session: "ci-pipeline-4711", accessKey: "ASIAQTERRAFORMCI001", ip: "192.0.2.200", agent: uaTerraform}
	monitor = actor{kind: "AssumedRole", name: "InventoryReader", session: "inventory-lambda", accessKey: "ASIAQINVENTORYLMB01", ip: "192.0.2.90", agent: uaGoSDK}
	root    = actor{kind: "Root", name: "root", accessKey: "ASIAQROOTCONSOLE001", ip: "198.51.100.200", agent: uaConsole}
)

type historyGen struct {
	account string
	now     time.Time
	rng     *rand.Rand
	// recs are the records made with record, raws those written out.
	recs []map[string]any
	raws [][]byte
}

// seededRand is a random source derived from seed, so a generator gives
// the same records for the same seed.
func seededRand(seed string) *rand.Rand {
	sum := sha256.Sum256([]byte(seed))
	return rand.New(rand.NewPCG(binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:16])))
}

// encode is every record made, as JSON.
func (g *historyGen) encode() [][]byte {
	out := g.raws
	for _, rec := range g.recs {
		out = append(out, encodeRecord(rec))
	}
	return out
}

func encodeRecord(rec map[string]any) []byte {
	raw, err := json.Marshal(rec)
	if err != nil {
		// Records hold strings, numbers, booleans, maps and slices.
		panic(fmt.Sprintf("encoding generated record: %v", err))
	}
	return raw
}

// History generates the sandbox's OpsWorks CM history for an account: about
// six weeks of calls before now in several regions, with every action,
// several kinds of principal, failures and risky changes, plus a few calls
// older than LookupEvents' 90-day window. The same (account, now) always
// gives the same records, in LookupEvents' order: newest first, ties by
// event id.
func History(account string, now time.Time) []Record {
	g := &historyGen{
		account: account,
		now:     now.UTC().Truncate(time.Second),
		rng:     seededRand(fmt.Sprintf("%s/%d", account, now.Unix())),
	}
	g.story()
	g.background()
	raws := g.encode()
	recs := make([]Record, 0, len(raws))
	for _, raw := range raws {
		rec, err := ParseRecord(raw)
		if err != nil {
			// The generator writes every record itself; a record that
			// does not parse is a bug in this file.
			panic(fmt.Sprintf("generated history record does not parse: %v", err))
		}
		recs = append(recs, rec)
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].before(&recs[j]) })
	return recs
}

// at is a time days and hours before now, plus up to an hour of jitter.
func (g *historyGen) at(days, hours float64) time.Time {
	d := time.Duration((days*24 + hours) * float64(time.Hour))
	return g.now.Add(-d + time.Duration(g.rng.IntN(3600))*time.Second)
}

func (g *historyGen) uuid() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], g.rng.Uint64())
	binary.BigEndian.PutUint64(b[8:], g.rng.Uint64())
	return awsapi.UUID(b[:])
}

func (g *historyGen) serverARN(region, name string) string {
	sum := sha256.Sum256([]byte(region + name))
	return fmt.Sprintf("arn:aws:opsworks-cm:%s:%s:server/%s/%s", region, g.account, name, awsapi.UUID(sum[:16]))
}

func (g *historyGen) identity(a actor, t time.Time) map[string]any {
	id := map[string]any{"type": a.kind, "accountId": g.account, "accessKeyId": a.accessKey}
	mfa := boolString(a.mfa)
	switch a.kind {
	case "Root":
		id["principalId"] = g.account
		id["arn"] = "arn:aws:iam::" + g.account + ":root"
		id["sessionContext"] = map[string]any{"attributes": map[string]any{
			"creationDate": t.Add(-20 * time.Minute).Format(time.RFC3339), "mfaAuthenticated": mfa}}
	case "AssumedRole":
		roleARN := "arn:aws:iam::" + g.account + ":role/" + a.name
		roleID := awsapi.UniqueID("AROA", roleARN)
		id["principalId"] = roleID + ":" + a.session
		id["arn"] = "arn:aws:sts::" + g.account + ":assumed-role/" + a.name + "/" + a.session
		id["sessionContext"] = map[string]any{
			"sessionIssuer": map[string]any{"type": "Role", "principalId": roleID, "arn": roleARN, "accountId": g.account, "userName": a.name},
			"attributes": map[string]any{
				"creationDate": t.Add(-35 * time.Minute).Format(time.RFC3339), "mfaAuthenticated": mfa},
		}
	default:
		arn := "arn:aws:iam::" + g.account + ":user/" + a.name
		id["principalId"] = awsapi.UniqueID("AIDA", arn)
		id["arn"] = arn
		id["userName"] = a.name
		if a.agent == uaConsole {
			id["sessionContext"] = map[string]any{"attributes": map[string]any{
				"creationDate": t.Add(-15 * time.Minute).Format(time.RFC3339), "mfaAuthenticated": mfa}}
		}
	}
	return id
}

// call adds one OpsWorks CM record; errCode "AccessDenied" builds AWS's
// message.
func (g *historyGen) call(t time.Time, region string, a actor, name string, req, resp map[string]any, errCode string) {
	g.record(t, region, a, OpsWorksCMSource, name, OpsWorksCMActions[name], req, resp, errCode)
}

// record adds one record of any service, and returns it as a map so the
// caller can set fields record does not know about.
func (g *historyGen) record(t time.Time, region string, a actor, source, name string, readOnly bool, req, resp map[string]any, errCode string) map[string]any {
	rec := map[string]any{
		"eventVersion":       "1.09",
		"userIdentity":       g.identity(a, t),
		"eventTime":          t.UTC().Format(time.RFC3339),
		"eventSource":        source,
		"eventName":          name,
		"awsRegion":          region,
		"sourceIPAddress":    a.ip,
		"userAgent":          a.agent,
		"requestParameters":  req,
		"responseElements":   resp,
		"requestID":          g.uuid(),
		"eventID":            g.uuid(),
		"readOnly":           readOnly,
		"eventType":          "AwsApiCall",
		"managementEvent":    true,
		"recipientAccountId": g.account,
		"eventCategory":      "Management",
	}
	if a.agent == uaConsole {
		rec["sessionCredentialFromConsole"] = "true"
	}
	switch errCode {
	case "":
	case "AccessDenied":
		id := rec["userIdentity"].(map[string]any)
		service := strings.TrimSuffix(source, ".amazonaws.com")
		rec["errorCode"] = errCode
		rec["errorMessage"] = fmt.Sprintf("User: %s is not authorized to perform: %s:%s because no identity-based policy allows the %s:%s action", id["arn"], service, name, service, name)
		rec["responseElements"] = nil
	default:
		rec["errorCode"] = errCode
		rec["errorMessage"] = "The request was rejected: " + errCode
		rec["responseElements"] = nil
	}
	g.recs = append(g.recs, rec)
	return rec
}

func redacted(names ...string) []map[string]any {
	out := make([]map[string]any, len(names))
	for i, n := range names {
		out[i] = map[string]any{"name": n, "value": "*** Redacted ***"}
	}
	return out
}

func (g *historyGen) serverResp(region, name, engine string, extra map[string]any) map[string]any {
	srv := map[string]any{"serverName": name, "serverArn": g.serverARN(region, name), "engine": engine, "status": "CREATING"}
	for k, v := range extra {
		srv[k] = v
	}
	return map[string]any{"server": srv}
}

// story is the notable activity a review should find, oldest first.
func (g *historyGen) story() {
	acct := g.account
	profile := "arn:aws:iam::" + acct + ":instance-profile/aws-opsworks-cm-ec2-role"
	svcRole := "arn:aws:iam::" + acct + ":role/service-role/aws-opsworks-cm-service-role"

	// Older than LookupEvents' window: only a trail's archive has these.
	g.call(g.at(120, 0), "us-east-1", bob, "DescribeServers", map[string]any{}, nil, "")
	g.call(g.at(104, 0), "us-east-1", alice, "UpdateServer", map[string]any{"serverName": "puppet-prod", "backupRetentionCount": 14}, g.serverResp("us-east-1", "puppet-prod", "Puppet", nil), "")
	g.call(g.at(96, 0), "eu-west-1", deploy, "CreateBackup", map[string]any{"serverName": "chef-eu", "description": "pre-upgrade"}, nil, "")

	g.docCreateServer(g.at(41, 3))

	// A server created without security groups and with a public IP.
	g.call(g.at(40, 2), "us-east-1", deploy, "CreateServer", map[string]any{
		"serverName": "chef-automate-1", "engine": "ChefAutomate", "engineModel": "Single", "engineVersion": "2",
		"engineAttributes":   redacted("CHEF_AUTOMATE_PIVOTAL_KEY", "CHEF_AUTOMATE_ADMIN_PASSWORD"),
		"instanceProfileArn": profile, "serviceRoleArn": svcRole, "instanceType": "r5.large",
		"associatePublicIpAddress": true, "subnetIds": []string{"subnet-0e9d8c7b"}, "backupRetentionCount": 5,
	}, g.serverResp("us-east-1", "chef-automate-1", "ChefAutomate", map[string]any{
		"associatePublicIpAddress": true, "securityGroupIds": []string{"sg-0default00"},
		"engineAttributes": redacted("CHEF_AUTOMATE_PIVOTAL_KEY", "CHEF_AUTOMATE_ADMIN_PASSWORD"),
	}), "")
	for i := 1; i <= 3; i++ {
		node := fmt.Sprintf("web-%02d", i)
		token := g.uuid()
		g.call(g.at(39, float64(i)), "us-east-1", deploy, "AssociateNode", map[string]any{
			"serverName": "chef-automate-1", "nodeName": node,
			"engineAttributes": redacted("CHEF_ORGANIZATION", "CHEF_NODE_PUBLIC_KEY"),
		}, map[string]any{"nodeAssociationStatusToken": token}, "")
		g.call(g.at(39, float64(i)-0.5), "us-east-1", deploy, "DescribeNodeAssociationStatus", map[string]any{
			"serverName": "chef-automate-1", "nodeAssociationStatusToken": token,
		}, nil, "")
	}

	// Automated backups switched off.
	g.call(g.at(35, 5), "eu-west-1", alice, "UpdateServer", map[string]any{
		"serverName": "chef-eu", "disableAutomatedBackup": true,
	}, g.serverResp("eu-west-1", "chef-eu", "ChefAutomate", map[string]any{"disableAutomatedBackup": true, "status": "HEALTHY"}), "")
	g.call(g.at(33, 1), "eu-west-1", bob, "CreateBackup", map[string]any{"serverName": "chef-eu", "description": "manual"},
		map[string]any{"backup": map[string]any{"backupId": "chef-eu-20240301120000000", "status": "IN_PROGRESS"}}, "")

	// The node enrolment user data exported.
	g.call(g.at(30, 4), "us-east-1", carol, "ExportServerEngineAttribute", map[string]any{
		"serverName": "chef-automate-1", "exportAttributeName": "Userdata",
		"inputAttributes": []map[string]any{{"name": "RunList", "value": "role[webserver]"}},
	}, nil, "")

	// A server created by a relay that logged the admin password in clear.
	g.call(g.at(28, 2), "eu-central-1", relay, "CreateServer", map[string]any{
		"serverName": "puppet-fra", "engine": "Puppet", "engineModel": "Monolithic", "engineVersion": "2019",
		"engineAttributes":   []map[string]any{{"name": "PUPPET_ADMIN_PASSWORD", "value": UnredactedSecretValue}},
		"instanceProfileArn": profile, "serviceRoleArn": svcRole, "instanceType": "m5.xlarge",
		"securityGroupIds": []string{"sg-0fra1234"}, "subnetIds": []string{"subnet-0fra5678"}, "keyPair": "fra-ops",
	}, g.serverResp("eu-central-1", "puppet-fra", "Puppet", map[string]any{"engineAttributes": redacted("PUPPET_ADMIN_PASSWORD")}), "")
	g.call(g.at(27, 3), "eu-central-1", admin, "UpdateServerEngineAttributes", map[string]any{
		"serverName": "puppet-fra", "attributeName": "PUPPET_R10K_REMOTE", "attributeValue": "*** Redacted ***",
	}, g.serverResp("eu-central-1", "puppet-fra", "Puppet", map[string]any{"status": "HEALTHY"}), "")

	sydARN := g.serverARN("ap-southeast-2", "chef-syd")
	g.call(g.at(25, 6), "ap-southeast-2", deploy, "StartMaintenance", map[string]any{"serverName": "chef-syd"},
		g.serverResp("ap-southeast-2", "chef-syd", "ChefAutomate", map[string]any{"status": "UNDER_MAINTENANCE"}), "")
	g.call(g.at(25, 2), "ap-southeast-2", deploy, "TagResource", map[string]any{
		"resourceArn": sydARN, "tags": []map[string]any{{"key": "owner", "value": "platform"}, {"key": "eol", "value": "2024-05-05"}},
	}, nil, "")
	g.call(g.at(25, 1), "ap-southeast-2", carol, "ListTagsForResource", map[string]any{"resourceArn": sydARN}, nil, "")
	g.call(g.at(24, 9), "ap-southeast-2", deploy, "UntagResource", map[string]any{"resourceArn": sydARN, "tagKeys": []string{"eol"}}, nil, "")

	// Deletion refused, then done by someone allowed to.
	g.call(g.at(21, 4), "us-east-1", bob, "DeleteServer", map[string]any{"serverName": "chef-legacy"}, nil, "AccessDenied")
	g.call(g.at(21, 2), "us-east-1", alice, "DeleteServer", map[string]any{"serverName": "chef-legacy"}, nil, "")

	// Restored with a new key pair.
	g.call(g.at(18, 3), "us-west-2", alice, "RestoreServer", map[string]any{
		"serverName": "puppet-test", "backupId": "puppet-test-20240220093000123", "keyPair": "recovery-key-2", "instanceType": "m5.large",
	}, nil, "")

	g.call(g.at(15, 5), "eu-west-1", bob, "DeleteBackup", map[string]any{"backupId": "chef-eu-20240301120000000"}, nil, "AccessDenied")
	g.call(g.at(15, 3), "eu-west-1", admin, "DeleteBackup", map[string]any{"backupId": "chef-eu-20240301120000000"}, nil, "")
	g.call(g.at(12, 7), "us-east-1", root, "DeleteBackup", map[string]any{"backupId": "puppet-prod-20240310020000456"}, nil, "")
	g.call(g.at(10, 2), "ap-northeast-1", deploy, "DeleteServer", map[string]any{"serverName": "puppet-tokyo"}, nil, "")
	g.call(g.at(9, 4), "ap-northeast-1", carol, "DescribeEvents", map[string]any{"serverName": "puppet-tokyo"}, nil, "")
	g.call(g.at(7, 1), "eu-central-1", relay, "DisassociateNode", map[string]any{
		"serverName": "puppet-fra", "nodeName": "app-07", "engineAttributes": redacted("PUPPET_NODE_CSR"),
	}, map[string]any{"nodeAssociationStatusToken": g.uuid()}, "")
	g.call(g.at(5, 6), "us-east-1", carol, "DescribeAccountAttributes", map[string]any{}, nil, "")
	g.call(g.at(5, 5), "us-east-1", carol, "DescribeEvents", map[string]any{"serverName": "puppet-prod"}, nil, "")
	g.call(g.at(3, 2), "eu-west-1", deploy, "UpdateServer", map[string]any{"serverName": "chef-eu", "disableAutomatedBackup": false}, nil, "AccessDenied")
	g.call(g.at(1, 3), "us-east-1", deploy, "UpdateServer", map[string]any{
		"serverName": "puppet-prod", "preferredMaintenanceWindow": "Mon:03:00",
	}, g.serverResp("us-east-1", "puppet-prod", "Puppet", map[string]any{"status": "HEALTHY", "preferredMaintenanceWindow": "Mon:03:00"}), "")
	g.call(g.at(0, 2), "eu-central-1", relay, "DeleteServer", map[string]any{"serverName": "puppet-fra"}, nil, "")
}

// docCreateServer adds the documentation's record, placed in this history.
func (g *historyGen) docCreateServer(t time.Time) {
	r := strings.NewReplacer(
		"ACCOUNT", g.account,
		`"TIME"`, `"`+t.UTC().Format(time.RFC3339)+`"`,
		`"CREATED"`, `"`+t.Add(-10*time.Minute).UTC().Format(time.RFC3339)+`"`,
	)
	g.raws = append(g.raws, []byte(r.Replace(docCreateServerRecord)))
}

// background is routine read-only polling: an inventory function
// describing servers every six hours in each region, and backups twice a
// day in three.
func (g *historyGen) background() {
	for d := 42; d >= 0; d-- {
		for h := 0; h < 24; h += 6 {
			for _, region := range HistoryRegions {
				t := g.at(float64(d), float64(h))
				if t.After(g.now) {
					continue
				}
				g.call(t, region, monitor, "DescribeServers", map[string]any{}, nil, "")
			}
		}
		for _, region := range HistoryRegions[:3] {
			for _, h := range []float64{1, 13} {
				if t := g.at(float64(d), h); !t.After(g.now) {
					g.call(t, region, monitor, "DescribeBackups", map[string]any{}, nil, "")
				}
			}
		}
	}
}
