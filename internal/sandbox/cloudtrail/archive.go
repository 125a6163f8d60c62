package cloudtrail

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"
)

// The pre-existing trail: a multi-region trail that has logged every
// management event of the account since ArchiveStart into its bucket, with
// log file validation on for the last seven days. Its bucket holds two
// years of OpsWorks CM use in six of the nine regions, through the end of
// life of both engines and a few calls after, among the other services'
// events, and then those services' events up to the sandbox's start.
const (
	ArchiveTrailName  = "management-events"
	ArchiveHomeRegion = "us-east-1"

	// ArchiveRootEventID is the archive's one call by the root user.
	ArchiveRootEventID = "5f1c2a7e-93b4-4d1e-8a6f-2c0b9d3e7a41"
	// ArchiveMidnightEventID is a call two minutes before midnight on New
	// Year's Eve, delivered in the next day's (and year's) folder.
	ArchiveMidnightEventID = "0d9e8c7b-6a5f-4e3d-9c2b-1a0f9e8d7c6b"
	// ArchiveDuplicateEventID is a call CloudTrail delivered twice, in two
	// log files.
	ArchiveDuplicateEventID = "7c3e1b9a-2f4d-4a8b-b6e1-9d0c3f5a2e7b"
	// ArchiveEdgeEventID is a call at the very second Chef Automate reached
	// its end of life.
	ArchiveEdgeEventID = "a4b3c2d1-e5f6-4a7b-8c9d-0e1f2a3b4c5e"
	// ArchiveSecretEventID is the CreateServer call whose admin password
	// a relay logged in clear: ArchiveUnredactedSecretValue.
	ArchiveSecretEventID         = "3e2d1c0b-9a8f-4e7d-a6c5-b4a3f2e1d0c9"
	ArchiveUnredactedSecretValue = "Fra-Pupp3t-Adm1n-2022!"

	// archiveSignedHours is how far back the archive's digest chains go:
	// validation was turned on a week before the sandbox started.
	archiveSignedHours = 7 * 24
)

var (
	// ArchiveStart is when the pre-existing trail started logging: two
	// years before Chef Automate's end of life.
	ArchiveStart = time.Date(2022, 5, 1, 0, 0, 0, 0, time.UTC)
	// chefEndOfLife is when OpsWorks for Chef Automate, the engine that
	// lasted longer, reached its end of life: OpsWorks CM's last day.
	chefEndOfLife = time.Date(2024, 5, 5, 0, 0, 0, 0, time.UTC)
)

// ArchiveBucket is the pre-existing trail's bucket, named as the console
// names a new trail's bucket.
func ArchiveBucket(account string) string {
	sum := sha256.Sum256([]byte("archive/" + account))
	return "aws-cloudtrail-logs-" + account + "-" + hex.EncodeToString(sum[:4])
}

// archiveEnd is when the archive's last digests end, and the last log
// file it holds was delivered by: the hour the sandbox started in.
func archiveEnd(now time.Time) time.Time { return now.UTC().Truncate(time.Hour) }

// archiveServer is an OpsWorks CM server of the archive's story.
type archiveServer struct {
	region, name, engine string
	created, deleted     time.Time
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

var archiveServers = []archiveServer{
	{"us-east-1", "puppet-prod", "Puppet", day(2022, 5, 10), day(2024, 3, 20)},
	{"us-east-1", "chef-automate-1", "ChefAutomate", day(2022, 6, 1), day(2024, 4, 22)},
	{"eu-west-1", "chef-eu", "ChefAutomate", day(2022, 5, 20), day(2024, 4, 29)},
	{"eu-central-1", "puppet-fra", "Puppet", day(2022, 7, 12), day(2024, 3, 25)},
	{"ap-northeast-1", "puppet-tokyo", "Puppet", day(2022, 8, 15), day(2024, 3, 28)},
	{"ap-southeast-2", "chef-syd", "ChefAutomate", day(2022, 9, 5), day(2024, 5, 3)},
	{"us-west-2", "puppet-test", "Puppet", day(2023, 2, 1), day(2023, 6, 30)},
}

// archiveLog is one log file of the archive, before it is written out.
type archiveLog struct {
	region    string
	delivered time.Time
	unique    string
	entries   []logEntry
}

// archiveGen makes one region's log files: records in bursts, each burst
// delivered in one file a few minutes after its last call.
type archiveGen struct {
	historyGen
	region string
	files  []archiveLog
}

func newArchiveGen(account, region, seed string) *archiveGen {
	return &archiveGen{historyGen: historyGen{account: account, rng: seededRand(account + "/" + region + "/" + seed)}, region: region}
}

// deliverAt puts the records made since the last delivery into one log
// file delivered at at.
func (g *archiveGen) deliverAt(at time.Time) {
	f := archiveLog{region: g.region, delivered: at.UTC(), unique: uniqueName(fmt.Sprintf("%s/%d/%d", g.region, at.UnixNano(), g.rng.Uint64()))}
	for _, rec := range g.recs {
		f.entries = append(f.entries, logEntry{raw: encodeRecord(rec), at: eventTime(rec)})
	}
	// Records in a log file are in no particular order.
	g.rng.Shuffle(len(f.entries), func(i, j int) { f.entries[i], f.entries[j] = f.entries[j], f.entries[i] })
	g.files = append(g.files, f)
	g.recs = nil
}

// deliver delivers the records made so far two to twelve minutes after
// the last of them happened.
func (g *archiveGen) deliver() {
	var last time.Time
	for _, rec := range g.recs {
		if t := eventTime(rec); t.After(last) {
			last = t
		}
	}
	g.deliverAt(last.Add(time.Duration(120+g.rng.IntN(600)) * time.Second))
}

func eventTime(rec map[string]any) time.Time {
	t, err := time.Parse(time.RFC3339, rec["eventTime"].(string))
	if err != nil {
		panic(fmt.Sprintf("generated record has eventTime %v: %v", rec["eventTime"], err))
	}
	return t
}

func (g *archiveGen) at(d time.Time, fromHour, toHour int) time.Time {
	return d.Add(time.Duration(fromHour)*time.Hour + time.Duration(g.rng.IntN((toHour-fromHour)*3600))*time.Second)
}

// archiveRegion makes the archive's log files for one region and hands
// each delivered by end to each, a day at a time from ArchiveStart, then
// the story's: each day from its own seed, so that a region's files do
// not depend on the others' or on when the sandbox starts, and only a
// day's records are held at a time.
func archiveRegion(account, region string, end time.Time, each func(archiveLog)) {
	emit := func(files []archiveLog) {
		for _, f := range files {
			if !f.delivered.After(end) {
				each(f)
			}
		}
	}
	for d := ArchiveStart; !d.After(end); d = d.AddDate(0, 0, 1) {
		g := newArchiveGen(account, region, d.Format(time.DateOnly))
		g.day(d)
		emit(g.files)
	}
	story := newArchiveGen(account, region, "story")
	story.story()
	emit(story.files)
}

// opsWorksRegion reports whether OpsWorks CM was used in region.
func opsWorksRegion(region string) bool { return slices.Contains(HistoryRegions, region) }

// day is one day's routine: while OpsWorks CM runs, the inventory
// function's daily poll and the weekly manual backups of each server; and
// people's and pipelines' work with other services, OpsWorks CM now and
// then among it.
func (g *archiveGen) day(d time.Time) {
	inUse := d.Before(chefEndOfLife) && opsWorksRegion(g.region)
	if inUse {
		t := g.at(d, 6, 7)
		g.call(t, g.region, monitor, "DescribeServers", map[string]any{}, nil, "")
		if slices.Contains(HistoryRegions[:3], g.region) {
			g.call(t.Add(2*time.Second), g.region, monitor, "DescribeBackups", map[string]any{}, nil, "")
		}
		g.record(t.Add(3*time.Second), g.region, monitor, "ec2.amazonaws.com", "DescribeInstances", true, map[string]any{"maxResults": 1000}, nil, "")
		g.deliver()
		for _, srv := range archiveServers {
			if srv.region == g.region && d.Weekday() == time.Saturday && !d.Before(srv.created) && d.Before(srv.deleted) {
				t := g.at(d, 23, 24)
				g.call(t, g.region, deploy, "CreateBackup", map[string]any{"serverName": srv.name, "description": "weekly"},
					map[string]any{"backup": map[string]any{"backupId": srv.name + t.Format("20060102150405000"), "status": "IN_PROGRESS"}}, "")
				g.deliver()
			}
		}
	}
	bursts := 0
	switch {
	case inUse:
		bursts = 1 + g.rng.IntN(2)
	case d.Before(chefEndOfLife):
		bursts = g.rng.IntN(10) / 6
	default:
		bursts = g.rng.IntN(3)
	}
	for range bursts {
		g.activity(d, inUse)
	}
}

// backgroundCall is a management call of another service.
type backgroundCall struct {
	source, name string
	readOnly     bool
	params       func(g *archiveGen) map[string]any
}

func noParams(*archiveGen) map[string]any { return map[string]any{} }

// hexID is prefix and n (at most 32) random hex digits, as EC2 ids are.
func (g *archiveGen) hexID(prefix string, n int) string {
	return prefix + fmt.Sprintf("%016x%016x", g.rng.Uint64(), g.rng.Uint64())[:n]
}

var backgroundCalls = []backgroundCall{
	{"ec2.amazonaws.com", "DescribeInstances", true, func(*archiveGen) map[string]any { return map[string]any{"maxResults": 1000} }},
	{"ec2.amazonaws.com", "RunInstances", false, func(g *archiveGen) map[string]any {
		return map[string]any{"instanceType": "t3.medium", "imageId": g.hexID("ami-", 17), "minCount": 1, "maxCount": 1}
	}},
	{"ec2.amazonaws.com", "TerminateInstances", false, func(g *archiveGen) map[string]any {
		return map[string]any{"instancesSet": map[string]any{"items": []map[string]any{{"instanceId": g.hexID("i-", 17)}}}}
	}},
	{"ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", false, func(g *archiveGen) map[string]any {
		return map[string]any{"groupId": g.hexID("sg-", 17), "ipPermissions": map[string]any{"items": []map[string]any{{"ipProtocol": "tcp", "fromPort": 443, "toPort": 443}}}}
	}},
	{"s3.amazonaws.com", "ListBuckets", true, noParams},
	{"s3.amazonaws.com", "GetBucketPolicy", true, func(g *archiveGen) map[string]any {
		return map[string]any{"bucketName": "app-assets-" + g.hexID("", 6), "policy": ""}
	}},
	{"s3.amazonaws.com", "PutBucketTagging", false, func(g *archiveGen) map[string]any {
		return map[string]any{"bucketName": "app-assets-" + g.hexID("", 6), "tagging": ""}
	}},
	{"kms.amazonaws.com", "Decrypt", true, func(*archiveGen) map[string]any {
		return map[string]any{"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}
	}},
	{"kms.amazonaws.com", "GenerateDataKey", true, func(*archiveGen) map[string]any { return map[string]any{"keySpec": "AES_256"} }},
	{"lambda.amazonaws.com", "ListFunctions20150331", true, noParams},
	{"lambda.amazonaws.com", "UpdateFunctionCode20150331v2", false, func(*archiveGen) map[string]any {
		return map[string]any{"functionName": "inventory", "publish": true}
	}},
	{"ssm.amazonaws.com", "GetParameter", true, func(*archiveGen) map[string]any {
		return map[string]any{"name": "/app/config", "withDecryption": true}
	}},
	{"cloudformation.amazonaws.com", "DescribeStacks", true, noParams},
	{"cloudformation.amazonaws.com", "UpdateStack", false, func(*archiveGen) map[string]any {
		return map[string]any{"stackName": "network", "capabilities": []string{"CAPABILITY_IAM"}}
	}},
	{"rds.amazonaws.com", "DescribeDBInstances", true, noParams},
	{"logs.amazonaws.com", "CreateLogGroup", false, func(*archiveGen) map[string]any {
		return map[string]any{"logGroupName": "/aws/lambda/inventory"}
	}},
	{"sts.amazonaws.com", "GetCallerIdentity", true, noParams},
	{"cloudtrail.amazonaws.com", "DescribeTrails", true, noParams},
}

// globalCalls are recorded in us-east-1 only, as CloudTrail records the
// calls of global services.
var globalCalls = []backgroundCall{
	{"iam.amazonaws.com", "GetRole", true, func(*archiveGen) map[string]any { return map[string]any{"roleName": "TerraformDeploy"} }},
	{"iam.amazonaws.com", "ListRoles", true, noParams},
	{"iam.amazonaws.com", "AttachRolePolicy", false, func(*archiveGen) map[string]any {
		return map[string]any{"roleName": "InventoryReader", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}
	}},
}

// routineOpsWorksCalls are the read-only OpsWorks CM calls people make
// now and then.
var routineOpsWorksCalls = []string{"DescribeEvents", "DescribeAccountAttributes", "DescribeServers", "DescribeBackups"}

// activity is one person's or pipeline's session of calls.
func (g *archiveGen) activity(d time.Time, opsWorks bool) {
	actors := []actor{alice, bob, carol, admin, deploy}
	a := actors[g.rng.IntN(len(actors))]
	calls := backgroundCalls
	if g.region == "us-east-1" {
		calls = append(slices.Clip(calls), globalCalls...)
	}
	t := g.at(d, 8, 20)
	for range 2 + g.rng.IntN(6) {
		c := calls[g.rng.IntN(len(calls))]
		g.record(t, g.region, a, c.source, c.name, c.readOnly, c.params(g), nil, "")
		t = t.Add(time.Duration(1+g.rng.IntN(40)) * time.Second)
	}
	if opsWorks && g.rng.IntN(8) == 0 {
		name := routineOpsWorksCalls[g.rng.IntN(len(routineOpsWorksCalls))]
		g.call(t, g.region, a, name, map[string]any{}, nil, "")
	}
	g.deliver()
}

// story is the notable OpsWorks CM activity in the region: each server's
// life from creation to deletion, and the calls a review should find.
func (g *archiveGen) story() {
	acct := g.account
	profile := "arn:aws:iam::" + acct + ":instance-profile/aws-opsworks-cm-ec2-role"
	svcRole := "arn:aws:iam::" + acct + ":role/service-role/aws-opsworks-cm-service-role"
	for _, srv := range archiveServers {
		if srv.region != g.region {
			continue
		}
		names, model := []string{"CHEF_AUTOMATE_PIVOTAL_KEY", "CHEF_AUTOMATE_ADMIN_PASSWORD"}, "Single"
		if srv.engine == "Puppet" {
			names, model = []string{"PUPPET_ADMIN_PASSWORD", "PUPPET_R10K_REMOTE"}, "Monolithic"
		}
		who, attrs := deploy, redacted(names...)
		if srv.name == "puppet-fra" {
			// A relay that logged the admin password in clear.
			who = relay
			attrs = []map[string]any{{"name": "PUPPET_ADMIN_PASSWORD", "value": ArchiveUnredactedSecretValue}}
		}
		t := g.at(srv.created, 9, 17)
		rec := g.opsCall(t, who, "CreateServer", map[string]any{
			"serverName": srv.name, "engine": srv.engine, "engineModel": model,
			"engineAttributes": attrs, "instanceProfileArn": profile, "serviceRoleArn": svcRole, "instanceType": "m5.large",
			"subnetIds": []string{g.hexID("subnet-", 8)}, "securityGroupIds": []string{g.hexID("sg-", 8)}, "backupRetentionCount": 10,
		}, g.serverResp(srv.region, srv.name, srv.engine, map[string]any{"engineAttributes": redacted(names...)}))
		if srv.name == "puppet-fra" {
			rec["eventID"] = ArchiveSecretEventID
		}
		g.deliver()
		// life adds a call of the server's life, delivered on its own, if
		// the server is still there.
		life := func(t time.Time, a actor, name string, req, resp map[string]any) {
			if t.Before(srv.deleted) {
				g.opsCall(t, a, name, req, resp)
				g.deliver()
			}
		}
		arn := g.serverARN(srv.region, srv.name)
		life(g.at(srv.created.AddDate(0, 0, 1), 10, 11), deploy, "TagResource", map[string]any{
			"resourceArn": arn, "tags": []map[string]any{{"key": "owner", "value": "platform"}}}, nil)
		for i := range 2 {
			t := g.at(srv.created.AddDate(0, 0, 2+i), 10, 16)
			token := g.uuid()
			g.opsCall(t, deploy, "AssociateNode", map[string]any{"serverName": srv.name, "nodeName": fmt.Sprintf("web-%02d", i+1),
				"engineAttributes": redacted("CHEF_ORGANIZATION", "CHEF_NODE_PUBLIC_KEY")}, map[string]any{"nodeAssociationStatusToken": token})
			g.opsCall(t.Add(40*time.Second), deploy, "DescribeNodeAssociationStatus", map[string]any{"serverName": srv.name, "nodeAssociationStatusToken": token}, nil)
			g.deliver()
		}
		life(g.at(srv.created.AddDate(0, 0, 5), 9, 17), carol, "ListTagsForResource", map[string]any{"resourceArn": arn}, nil)
		if srv.engine == "ChefAutomate" {
			life(g.at(srv.created.AddDate(0, 0, 10), 9, 17), carol, "ExportServerEngineAttribute", map[string]any{
				"serverName": srv.name, "exportAttributeName": "Userdata"}, nil)
		}
		life(g.at(srv.created.AddDate(0, 1, 0), 9, 17), alice, "UpdateServer", map[string]any{"serverName": srv.name, "backupRetentionCount": 14},
			g.serverResp(srv.region, srv.name, srv.engine, map[string]any{"status": "HEALTHY"}))
		for m := 3; srv.created.AddDate(0, m, 0).Before(srv.deleted); m += 3 {
			life(g.at(srv.created.AddDate(0, m, 0), 9, 17), admin, "DeleteBackup", map[string]any{
				"backupId": srv.name + srv.created.AddDate(0, m-3, 6).Format("20060102") + "230000000"}, nil)
		}
		life(g.at(srv.created.AddDate(0, 3, 0), 2, 3), deploy, "StartMaintenance", map[string]any{"serverName": srv.name},
			g.serverResp(srv.region, srv.name, srv.engine, map[string]any{"status": "UNDER_MAINTENANCE"}))
		life(g.at(srv.created.AddDate(0, 4, 0), 9, 17), deploy, "DisassociateNode", map[string]any{"serverName": srv.name, "nodeName": "web-01",
			"engineAttributes": redacted("CHEF_ORGANIZATION")}, map[string]any{"nodeAssociationStatusToken": g.uuid()})
		t = g.at(srv.deleted.AddDate(0, 0, -1), 9, 17)
		g.opsCall(t, deploy, "UntagResource", map[string]any{"resourceArn": arn, "tagKeys": []string{"owner"}}, nil)
		g.opsCall(t.Add(time.Minute), deploy, "CreateBackup", map[string]any{"serverName": srv.name, "description": "final"}, nil)
		g.deliver()
		t = g.at(srv.deleted, 9, 17)
		g.opsCall(t, deploy, "DeleteServer", map[string]any{"serverName": srv.name}, nil)
		g.deliver()
	}
	g.notable()
}

// opsCall adds an OpsWorks CM call in the generator's region that
// succeeded, and returns it.
func (g *archiveGen) opsCall(t time.Time, a actor, name string, req, resp map[string]any) map[string]any {
	return g.record(t, g.region, a, OpsWorksCMSource, name, OpsWorksCMActions[name], req, resp, "")
}

// notable are the one-off calls of the story, in the regions they
// happened in.
func (g *archiveGen) notable() {
	at := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	withID := func(rec map[string]any, id string) { rec["eventID"] = id }
	switch g.region {
	case "us-east-1":
		g.call(at("2023-05-02T15:20:41Z"), g.region, bob, "DeleteServer", map[string]any{"serverName": "chef-automate-1"}, nil, "AccessDenied")
		g.deliver()
		withID(g.opsCall(at("2023-10-09T07:41:22Z"), root, "DeleteBackup", map[string]any{"backupId": "puppet-prod-20231007230412000"}, nil), ArchiveRootEventID)
		g.deliver()
		withID(g.opsCall(at("2023-12-31T23:58:12Z"), deploy, "CreateBackup", map[string]any{"serverName": "puppet-prod", "description": "year-end"}, nil), ArchiveMidnightEventID)
		g.deliverAt(at("2024-01-01T00:04:37Z"))
		// Calls after the end of life: the inventory function once more,
		// and someone checking the account's limits.
		g.opsCall(at("2024-05-20T06:12:44Z"), monitor, "DescribeServers", map[string]any{}, map[string]any{"servers": []any{}})
		g.deliver()
		g.opsCall(at("2025-02-11T16:45:02Z"), bob, "DescribeAccountAttributes", map[string]any{}, nil)
		g.deliver()
	case "us-west-2":
		g.opsCall(at("2023-04-11T13:05:51Z"), alice, "RestoreServer", map[string]any{"serverName": "puppet-test",
			"backupId": "puppet-test20230401230000000", "keyPair": "recovery-key", "instanceType": "m5.large"}, nil)
		g.deliver()
	case "eu-west-1":
		rec := g.opsCall(at("2023-03-14T10:02:33Z"), alice, "UpdateServer", map[string]any{"serverName": "chef-eu", "preferredMaintenanceWindow": "Tue:03:00"},
			g.serverResp("eu-west-1", "chef-eu", "ChefAutomate", map[string]any{"status": "HEALTHY", "preferredMaintenanceWindow": "Tue:03:00"}))
		withID(rec, ArchiveDuplicateEventID)
		g.deliverAt(at("2023-03-14T10:09:10Z"))
		// Delivered again with the next file.
		g.recs = append(g.recs, rec)
		g.call(at("2023-03-14T10:18:05Z"), g.region, alice, "DescribeServers", map[string]any{"serverName": "chef-eu"}, nil, "")
		g.deliverAt(at("2023-03-14T10:24:51Z"))
		withID(g.opsCall(chefEndOfLife, monitor, "DescribeServers", map[string]any{}, nil), ArchiveEdgeEventID)
		g.deliverAt(at("2024-05-05T00:06:12Z"))
	case "eu-central-1":
		g.opsCall(at("2022-11-08T11:30:00Z"), admin, "UpdateServerEngineAttributes", map[string]any{"serverName": "puppet-fra",
			"attributeName": "PUPPET_R10K_REMOTE", "attributeValue": "*** Redacted ***"}, nil)
		g.deliver()
		g.call(at("2024-04-10T09:31:07Z"), g.region, relay, "StartMaintenance", map[string]any{"serverName": "puppet-fra"}, nil, "ResourceNotFoundException")
		g.deliver()
	case "ap-southeast-2":
		g.call(at("2024-08-02T14:03:19Z"), g.region, deploy, "DeleteServer", map[string]any{"serverName": "chef-syd"}, nil, "ResourceNotFoundException")
		g.deliver()
	}
}
