package cloudtrail

import (
	"encoding/json"
	"fmt"
	"log"
	"runtime"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

// archiveSeed makes the pre-existing trail's bucket the first time it is
// read: each region's log files, and each region's digest chain over the
// last archiveSignedHours, signed with the region's keys.
type archiveSeed struct {
	account, bucket, logPrefix string
	// end is when the last digests end; the archive holds the log files
	// delivered by then.
	end  time.Time
	keys *keyStore
	// logs and chains make a region's log files and digest chain once.
	logs   map[string]func() ([]archiveFile, error)
	chains map[string]func() (seedChain, error)
}

// archiveFile is one log file of the archive, written out.
type archiveFile struct {
	delivered time.Time
	object    awsapi.Object
	entry     digestLogFile
}

// seedChain is one region's digests and the last of them.
type seedChain struct {
	objects []awsapi.Object
	tail    *chainTail
}

func newArchiveSeed(t *trail, now time.Time, keys *keyStore, regions []string) *archiveSeed {
	a := &archiveSeed{
		account: t.Account, bucket: t.S3BucketName, logPrefix: t.logPrefix(), end: archiveEnd(now), keys: keys,
		logs: map[string]func() ([]archiveFile, error){}, chains: map[string]func() (seedChain, error){},
	}
	for _, region := range regions {
		a.logs[region] = sync.OnceValues(func() ([]archiveFile, error) { return archiveFiles(a.account, region, a.bucket, a.logPrefix, a.end) })
		a.chains[region] = sync.OnceValues(func() (seedChain, error) { return a.chain(region) })
	}
	return a
}

// archiveFiles writes one region's log files out, in delivery order.
func archiveFiles(account, region, bucket, logPrefix string, end time.Time) ([]archiveFile, error) {
	var out []archiveFile
	var err error
	archiveRegion(account, region, end, func(l archiveLog) {
		if err != nil {
			return
		}
		var f archiveFile
		f.object, f.entry, err = logFile(bucket, logPrefix, account, region, l.delivered, l.unique, l.entries)
		f.delivered = l.delivered
		out = append(out, f)
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].delivered.Before(out[j].delivered) })
	return out, nil
}

// digestsFrom is where the archive's chains start: each region's first
// digest is a starting digest that begins then.
func (a *archiveSeed) digestsFrom() time.Time {
	return a.end.Add(-archiveSignedHours * time.Hour)
}

// chain signs one region's hourly digests, each listing the log files
// delivered in its hour: empty ones too.
func (a *archiveSeed) chain(region string) (seedChain, error) {
	files, err := a.logs[region]()
	if err != nil {
		return seedChain{}, err
	}
	from := a.digestsFrom()
	i := sort.Search(len(files), func(i int) bool { return !files[i].delivered.Before(from) })
	var out seedChain
	for end := from.Add(time.Hour); !end.After(a.end); end = end.Add(time.Hour) {
		spec := digestSpec{
			account: a.account, bucket: a.bucket, logPrefix: a.logPrefix, trail: ArchiveTrailName, home: ArchiveHomeRegion,
			region: region, start: end.Add(-time.Hour), end: end,
		}
		for ; i < len(files) && !files[i].delivered.After(end); i++ {
			spec.logs = append(spec.logs, files[i].entry)
		}
		key, err := a.keys.signer(a.account, region, end)
		if err != nil {
			return seedChain{}, err
		}
		obj, tail, err := signDigest(spec, out.tail, key)
		if err != nil {
			return seedChain{}, err
		}
		out.objects = append(out.objects, obj)
		out.tail = &tail
	}
	return out, nil
}

// tail is a region's last past digest: nil for a region the archive does
// not cover. The first call makes every region's chain: the live
// digests that link to them are due together.
func (a *archiveSeed) tail(region string) (*chainTail, error) {
	chain, ok := a.chains[region]
	if !ok {
		return nil, nil
	}
	a.prepare()
	c, err := chain()
	return c.tail, err
}

// prepare makes every region's chain, as many at once as there are
// processors. A chain that fails keeps its error for whoever asks for it.
func (a *archiveSeed) prepare() {
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for _, chain := range a.chains {
		g.Go(func() error {
			_, err := chain()
			return err
		})
	}
	// The error stays with the chain, for tail to return.
	_ = g.Wait()
}

// parts are the seeded bucket's parts: each region's log files, and each
// region's digests.
func (a *archiveSeed) parts() []awsapi.SeedPart {
	regions := make([]string, 0, len(a.logs))
	for r := range a.logs {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	var parts []awsapi.SeedPart
	for _, region := range regions {
		parts = append(parts,
			awsapi.SeedPart{Prefix: a.logPrefix + "CloudTrail/" + region + "/", Fill: func() ([]awsapi.Object, error) {
				files, err := a.logs[region]()
				objects := make([]awsapi.Object, len(files))
				for i, f := range files {
					objects[i] = f.object
				}
				return objects, err
			}},
			awsapi.SeedPart{Prefix: a.logPrefix + "CloudTrail-Digest/" + region + "/", Fill: func() ([]awsapi.Object, error) {
				c, err := a.chains[region]()
				return c.objects, err
			}})
	}
	return parts
}

// signingTimes are times the archive signs at in region whose keys'
// validity overlaps [start, end], one per key, so that ListPublicKeys
// lists keys the archive uses before it is first read.
func (a *archiveSeed) signingTimes(region string, start, end time.Time) []time.Time {
	if _, ok := a.chains[region]; !ok {
		return nil
	}
	var out []time.Time
	var last time.Time
	for t := a.digestsFrom().Add(time.Hour); !t.After(a.end); t = t.Add(time.Hour) {
		from := a.keys.period(t)
		if from.Equal(last) {
			continue
		}
		last = from
		if !from.After(end) && !a.keys.validTo(from).Before(start) {
			out = append(out, t)
		}
	}
	return out
}

// SeedArchive adds the pre-existing trail (see ArchiveTrailName) and its
// bucket, as they are when the sandbox starts. A data directory may hold
// a trail or bucket of their names already: then nothing is added.
func (s *Service) SeedArchive() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC()
	t := &trail{
		Name: ArchiveTrailName, Account: s.cfg.Account, HomeRegion: ArchiveHomeRegion, S3BucketName: ArchiveBucket(s.cfg.Account),
		IncludeGlobalServiceEvents: true, IsMultiRegionTrail: true, LogFileValidationEnabled: true,
	}
	if _, _, ok := s.cfg.Buckets.BucketPolicy(t.S3BucketName); ok || s.nameTakenLocked(t.Account, t.Name, t.HomeRegion, true, nil) {
		log.Printf("sandbox: trail %s or bucket %s exists already: the pre-existing trail is left out", t.Name, t.S3BucketName)
		return nil
	}
	t.seed = newArchiveSeed(t, now, s.keys, s.cfg.Regions)
	err := s.cfg.Buckets.SeedBucket(awsapi.BucketSeed{
		Name: t.S3BucketName, Account: t.Account, Region: t.HomeRegion, Policy: trailBucketPolicy(t), Created: ArchiveStart, Parts: t.seed.parts(),
	})
	if err != nil {
		return fmt.Errorf("adding the pre-existing trail's bucket: %w", err)
	}
	end := t.seed.end
	t.IsLogging, t.StartLoggingTime = true, ArchiveStart
	t.LatestDeliveryAttemptTime, t.LatestDeliveryTime, t.LatestDigestDeliveryTime = end, end, end
	next := end.Add(s.cfg.DigestInterval)
	for !next.After(now) {
		next = next.Add(s.cfg.DigestInterval)
	}
	t.Digests = &digestChains{LastEnd: end, Next: next, Tails: map[string]*chainTail{}}
	s.state.Trails[t.arn()] = t
	s.cursorLocked(t)
	return nil
}

// ArchiveFile is one log file of the pre-existing trail's bucket.
type ArchiveFile struct {
	Key    string
	Region string
	// Delivered is when CloudTrail delivered the file: the time in its
	// name, and the day of its folder.
	Delivered time.Time
	// Records are the file's records, in the file's order.
	Records []Record
}

// Archive is what the pre-existing trail's bucket holds when a sandbox
// starts at a given time.
type Archive struct {
	TrailName  string
	TrailARN   string
	HomeRegion string
	Bucket     string
	// DigestsFrom and DigestsTo are the time the digest chains cover in
	// every region, hour by hour.
	DigestsFrom time.Time
	DigestsTo   time.Time
	// Files are the log files, by region in Regions' order, each region's
	// in delivery order.
	Files []ArchiveFile
}

// ArchiveHistory is what the pre-existing trail's bucket holds when a
// sandbox for account starts at now: the same (account, now) always gives
// the same files.
func ArchiveHistory(account string, now time.Time) Archive {
	t := &trail{Name: ArchiveTrailName, Account: account, HomeRegion: ArchiveHomeRegion, S3BucketName: ArchiveBucket(account)}
	end := archiveEnd(now)
	a := Archive{
		TrailName: t.Name, TrailARN: t.arn(), HomeRegion: t.HomeRegion, Bucket: t.S3BucketName,
		DigestsFrom: end.Add(-archiveSignedHours * time.Hour), DigestsTo: end,
	}
	byRegion := make([][]ArchiveFile, len(Regions))
	var wg sync.WaitGroup
	for i, region := range Regions {
		wg.Go(func() {
			archiveRegion(account, region, end, func(l archiveLog) {
				f := ArchiveFile{Key: logKey(t.logPrefix(), account, region, l.delivered, l.unique), Region: region, Delivered: l.delivered}
				for _, e := range l.entries {
					rec, err := ParseRecord(e.raw)
					if err != nil {
						// The generator writes every record itself; a record
						// that does not parse is a bug in it.
						panic(fmt.Sprintf("generated archive record does not parse: %v", err))
					}
					f.Records = append(f.Records, rec)
				}
				byRegion[i] = append(byRegion[i], f)
			})
			sort.SliceStable(byRegion[i], func(a, b int) bool { return byRegion[i][a].Delivered.Before(byRegion[i][b].Delivered) })
		})
	}
	wg.Wait()
	for _, files := range byRegion {
		a.Files = append(a.Files, files...)
	}
	return a
}

// Records are the archive's records once each (a record CloudTrail
// delivered twice counts once), newest first, ties by event id.
func (a Archive) Records() []Record {
	seen := map[string]bool{}
	var out []Record
	for _, f := range a.Files {
		for _, r := range f.Records {
			if !seen[r.EventID] {
				seen[r.EventID] = true
				out = append(out, r)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].before(&out[j]) })
	return out
}

// trailBucketPolicy is the bucket policy CloudTrail needs to deliver a
// trail's files, scoped to the trail.
func trailBucketPolicy(t *trail) string {
	condition := map[string]any{"StringEquals": map[string]string{"aws:SourceArn": t.arn()}}
	write := map[string]any{"StringEquals": map[string]string{"aws:SourceArn": t.arn(), "s3:x-amz-acl": "bucket-owner-full-control"}}
	principal := map[string]string{"Service": "cloudtrail.amazonaws.com"}
	doc := map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{
		{"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow", "Principal": principal, "Action": "s3:GetBucketAcl",
			"Resource": "arn:aws:s3:::" + t.S3BucketName, "Condition": condition},
		{"Sid": "AWSCloudTrailWrite", "Effect": "Allow", "Principal": principal, "Action": "s3:PutObject",
			"Resource": "arn:aws:s3:::" + t.S3BucketName + "/" + t.logPrefix() + "*", "Condition": write},
	}}
	raw, err := json.Marshal(doc)
	if err != nil {
		panic(fmt.Sprintf("encoding a bucket policy: %v", err))
	}
	return string(raw)
}
