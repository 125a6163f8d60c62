package cloudtrail

import (
	"sort"
	"time"
)

// DefaultDigestInterval is how often CloudTrail delivers digests.
const DefaultDigestInterval = time.Hour

// globalSources are services whose events CloudTrail counts as global:
// a trail without IncludeGlobalServiceEvents leaves them out.
var globalSources = map[string]bool{
	"iam.amazonaws.com": true, "sts.amazonaws.com": true, "cloudfront.amazonaws.com": true, "organizations.amazonaws.com": true,
}

// cursor is how far a trail has considered the records that arrived for
// delivery.
type cursor struct {
	// next indexes the first record of Service.arrivals not considered.
	next int
	// waiting are records considered whose events are later than the last
	// delivery, which a later delivery takes.
	waiting []*Record
}

// digestChains are a trail's digest chains, one per source region, while
// it logs with log file validation on.
type digestChains struct {
	// LastEnd is when the last interval ended: where a region's first
	// digest starts.
	LastEnd time.Time
	// Next is when the current interval ends and its digests are due.
	Next time.Time
	// Tails are each region's last digest.
	Tails map[string]*chainTail `json:",omitempty"`
	// Pending are the log files delivered in each region since its last
	// digest.
	Pending map[string][]digestLogFile `json:",omitempty"`
}

// DeliverDue delivers what CloudTrail would have by now in the
// background: for every logging trail, the log files of the records not
// yet delivered, and the digests of every interval that ended, each at
// the time it was due. The router calls it before answering any request,
// so that clients see the sandbox's clock drive delivery.
func (s *Service) DeliverDue() error {
	s.prepareSeedsDue()
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC()
	for _, t := range s.sortedTrails() {
		s.deliverDueLocked(t, now)
	}
	return s.flushLocked()
}

// prepareSeedsDue makes the pre-existing trail's past digests when its
// next digest, which links to them, is due: before taking the lock, so
// the requests that do not need them need not wait.
func (s *Service) prepareSeedsDue() {
	s.mu.Lock()
	now := s.now()
	var due []*archiveSeed
	for _, t := range s.state.Trails {
		if t.seed != nil && t.IsLogging && t.Digests != nil && !t.Digests.Next.After(now) {
			due = append(due, t.seed)
		}
	}
	s.mu.Unlock()
	for _, a := range due {
		a.prepare()
	}
}

func (s *Service) deliverDueLocked(t *trail, now time.Time) {
	if !t.IsLogging {
		return
	}
	for t.Digests != nil && !t.Digests.Next.After(now) {
		end := t.Digests.Next
		s.deliverLogsLocked(t, end)
		s.digestLocked(t, end)
		t.Digests.Next = end.Add(s.cfg.DigestInterval)
	}
	s.deliverLogsLocked(t, now)
}

// startChainsLocked starts a trail's digest chains, when it logs with log
// file validation on: each region's first digest is a starting digest.
func (s *Service) startChainsLocked(t *trail) {
	if !t.IsLogging || !t.LogFileValidationEnabled || t.Digests != nil {
		return
	}
	now := s.now().UTC().Truncate(time.Second)
	t.Digests = &digestChains{LastEnd: now, Next: now.Add(s.cfg.DigestInterval)}
	s.trailChangedLocked(t)
}

// endChainsLocked delivers what the trail logged so far and each region's
// final digest, as CloudTrail does when logging stops, validation is
// turned off or the trail is deleted. The next chain starts anew.
func (s *Service) endChainsLocked(t *trail) {
	now := s.now().UTC()
	s.deliverDueLocked(t, now)
	if t.Digests == nil {
		return
	}
	end := now.Truncate(time.Second)
	if !end.After(t.Digests.LastEnd) && len(t.Digests.Pending) > 0 {
		// Digests are named to the second: one for log files delivered in
		// the second the last one ended must end a second later.
		end = t.Digests.LastEnd.Add(time.Second)
	}
	if end.After(t.Digests.LastEnd) {
		s.digestLocked(t, end)
	}
	t.Digests = nil
	s.trailChangedLocked(t)
}

// delivers reports whether the trail delivers a record.
func (t *trail) delivers(r *Record) bool {
	return r.Account == t.Account && (t.IsMultiRegionTrail || r.Region == t.HomeRegion) && r.Management &&
		!r.EventTime.Before(t.StartLoggingTime) && (!globalSources[r.EventSource] || t.IncludeGlobalServiceEvents) &&
		t.logsManagementEvent(r.EventSource, r.ReadOnly)
}

// cursorLocked is the trail's cursor; a trail without one has nothing
// pending.
func (s *Service) cursorLocked(t *trail) *cursor {
	c := s.cursors[t.arn()]
	if c == nil {
		c = &cursor{next: len(s.arrivals)}
		s.cursors[t.arn()] = c
	}
	return c
}

// pendingLocked lists, by region, the records the trail has yet to
// deliver whose events happened by at, and those that must wait.
func (s *Service) pendingLocked(t *trail, at time.Time) (byRegion map[string][]*Record, waiting []*Record) {
	c := s.cursorLocked(t)
	byRegion = map[string][]*Record{}
	for _, list := range [][]*Record{c.waiting, s.arrivals[c.next:]} {
		for _, r := range list {
			switch {
			case !t.delivers(r):
			case r.EventTime.After(at):
				waiting = append(waiting, r)
			default:
				byRegion[r.Region] = append(byRegion[r.Region], r)
			}
		}
	}
	return byRegion, waiting
}

// deliverLogsLocked writes the trail's undelivered records to its bucket,
// one log file per region delivered at at, as CloudTrail does every few
// minutes. On failure the records stay pending and LatestDeliveryError
// says why.
func (s *Service) deliverLogsLocked(t *trail, at time.Time) {
	byRegion, waiting := s.pendingLocked(t, at)
	c := s.cursorLocked(t)
	if len(byRegion) == 0 {
		c.next, c.waiting = len(s.arrivals), waiting
		return
	}
	t.LatestDeliveryAttemptTime = at
	s.trailChangedLocked(t)
	if t.LatestDeliveryError = s.deliveryErrorLocked(t); t.LatestDeliveryError != "" {
		return
	}
	regions := make([]string, 0, len(byRegion))
	for r := range byRegion {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	for _, region := range regions {
		recs := byRegion[region]
		entries := make([]logEntry, len(recs))
		for i, r := range recs {
			entries[i] = logEntry{raw: r.Raw, at: r.EventTime}
		}
		obj, entry, err := logFile(t.S3BucketName, t.logPrefix(), t.Account, region, at,
			uniqueName(t.arn()+region+recs[0].EventID+at.String()), entries)
		if err == nil {
			err = s.cfg.Buckets.PutObject(t.S3BucketName, obj.Key, obj.Body, obj.ContentType, nil)
		}
		if err != nil {
			// The regions written already are written again with the
			// rest: CloudTrail too delivers a record twice now and then.
			t.LatestDeliveryError = "InternalError"
			return
		}
		if t.Digests != nil {
			if t.Digests.Pending == nil {
				t.Digests.Pending = map[string][]digestLogFile{}
			}
			t.Digests.Pending[region] = append(t.Digests.Pending[region], entry)
		}
	}
	c.next, c.waiting = len(s.arrivals), waiting
	t.LatestDeliveryTime = at
}

// deliveryErrorLocked is why CloudTrail cannot write to the trail's
// bucket, "" when it can.
func (s *Service) deliveryErrorLocked(t *trail) string {
	policy, _, ok := s.cfg.Buckets.BucketPolicy(t.S3BucketName)
	switch {
	case !ok:
		return "NoSuchBucket"
	case !cloudTrailMayWrite(policy, t):
		return "AccessDenied"
	}
	return ""
}

// digestRegionsLocked are the regions a trail's digests cover: every
// region the account has enabled for a multi-region trail, else its home
// region; and any other region it delivered log files for.
func (s *Service) digestRegionsLocked(t *trail) []string {
	set := map[string]bool{t.HomeRegion: true}
	if t.IsMultiRegionTrail {
		for _, r := range s.cfg.Regions {
			set[r] = true
		}
	}
	for r := range t.Digests.Pending {
		set[r] = true
	}
	for r := range t.Digests.Tails {
		set[r] = true
	}
	out := make([]string, 0, len(set))
	for r := range set {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// digestLocked delivers the digests of the interval that ends at end, one
// per region, each signed with the region's key and linked to the
// region's previous digest. A region whose digest cannot be written keeps
// its log files for the next one, and LatestDigestDeliveryError says why.
func (s *Service) digestLocked(t *trail, end time.Time) {
	ch := t.Digests
	if ch.Tails == nil {
		ch.Tails = map[string]*chainTail{}
	}
	t.LatestDigestDeliveryError = s.deliveryErrorLocked(t)
	for _, region := range s.digestRegionsLocked(t) {
		if t.LatestDigestDeliveryError != "" {
			break
		}
		prev, err := s.tailLocked(t, region)
		if err != nil {
			t.LatestDigestDeliveryError = "InternalError"
			break
		}
		spec := digestSpec{
			account: t.Account, bucket: t.S3BucketName, logPrefix: t.logPrefix(), trail: t.Name, home: t.HomeRegion,
			region: region, start: ch.LastEnd, end: end, logs: ch.Pending[region],
		}
		if prev != nil {
			spec.start = prev.End
		}
		key, err := s.keys.signer(t.Account, region, end)
		if err != nil {
			t.LatestDigestDeliveryError = "InternalError"
			break
		}
		obj, tail, err := signDigest(spec, prev, key)
		if err == nil {
			err = s.cfg.Buckets.PutObject(t.S3BucketName, obj.Key, obj.Body, obj.ContentType, obj.Metadata)
		}
		if err != nil {
			t.LatestDigestDeliveryError = "InternalError"
			break
		}
		ch.Tails[region] = &tail
		delete(ch.Pending, region)
	}
	ch.LastEnd = end
	if t.LatestDigestDeliveryError == "" {
		t.LatestDigestDeliveryTime = end
	}
	s.trailChangedLocked(t)
}

// tailLocked is a region's last digest: nil before its first. The
// pre-existing trail's past digests are made when first needed.
func (s *Service) tailLocked(t *trail, region string) (*chainTail, error) {
	if tail := t.Digests.Tails[region]; tail != nil || t.seed == nil {
		return tail, nil
	}
	tail, err := t.seed.tail(region)
	if err != nil || tail == nil {
		return nil, err
	}
	t.Digests.Tails[region] = tail
	return tail, nil
}
