package cloudtrail

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

// state is the CloudTrail state that persists across restarts.
type state struct {
	// Trails by trail ARN.
	Trails map[string]*trail `json:"Trails,omitempty"`
	// Recorded are the sandbox's own recorded calls, so LookupEvents still
	// finds them after a restart.
	Recorded []json.RawMessage `json:"Recorded,omitempty"`
	// Keys are the digest signing keys, set only while a snapshot is
	// written or read: the key store holds them.
	Keys []*signingKey `json:"Keys,omitempty"`
}

// trail is one trail with its settings and logging status.
type trail struct {
	Name                       string
	Account                    string
	HomeRegion                 string
	S3BucketName               string
	S3KeyPrefix                string `json:",omitempty"`
	SnsTopicName               string `json:",omitempty"`
	IncludeGlobalServiceEvents bool
	IsMultiRegionTrail         bool
	LogFileValidationEnabled   bool
	IsOrganizationTrail        bool
	CloudWatchLogsLogGroupArn  string                  `json:",omitempty"`
	CloudWatchLogsRoleArn      string                  `json:",omitempty"`
	KmsKeyId                   string                  `json:",omitempty"`
	EventSelectors             []eventSelector         `json:",omitempty"`
	AdvancedEventSelectors     []advancedEventSelector `json:",omitempty"`
	InsightSelectors           []insightSelector       `json:",omitempty"`
	Tags                       []tag                   `json:",omitempty"`

	trailStatus

	// seed makes the pre-existing trail's past digests, nil for any
	// other trail. A seeded trail is made again at every start, never
	// saved.
	seed *archiveSeed
}

// trailStatus is what logging does to a trail, as opposed to its
// settings.
type trailStatus struct {
	IsLogging                 bool
	StartLoggingTime          time.Time `json:",omitzero"`
	StopLoggingTime           time.Time `json:",omitzero"`
	LatestDeliveryTime        time.Time `json:",omitzero"`
	LatestDeliveryAttemptTime time.Time `json:",omitzero"`
	LatestDeliveryError       string    `json:",omitempty"`
	LatestDigestDeliveryTime  time.Time `json:",omitzero"`
	LatestDigestDeliveryError string    `json:",omitempty"`
	// Digests are the digest chains while the trail logs with log file
	// validation on.
	Digests *digestChains `json:",omitempty"`
}

func (t *trail) arn() string {
	return fmt.Sprintf("arn:aws:cloudtrail:%s:%s:trail/%s", t.HomeRegion, t.Account, t.Name)
}

func (t *trail) snsTopicARN() string {
	if t.SnsTopicName == "" {
		return ""
	}
	if strings.HasPrefix(t.SnsTopicName, "arn:") {
		return t.SnsTopicName
	}
	return fmt.Sprintf("arn:aws:sns:%s:%s:%s", t.HomeRegion, t.Account, t.SnsTopicName)
}

// visibleFrom reports whether the trail shows in region: its home region,
// or every region for a multi-region trail (as a shadow trail).
func (t *trail) visibleFrom(region string) bool {
	return t.HomeRegion == region || t.IsMultiRegionTrail
}

type tag struct {
	Key   string
	Value string `json:",omitempty"`
}

// change is one change to CloudTrail's state as its journal keeps it.
type change struct {
	// Trail is a trail after it was created or changed.
	Trail *trail `json:",omitempty"`
	// Deleted is the ARN of a deleted trail.
	Deleted  string          `json:",omitempty"`
	Recorded json.RawMessage `json:",omitempty"`
	// Key is a signing key made.
	Key *signingKey `json:",omitempty"`
}

// trailChangedLocked notes a trail's new settings or status for the
// journal, once until the next flush: the change is encoded then. A
// seeded trail is not saved. s.mu is held.
func (s *Service) trailChangedLocked(t *trail) {
	if t.seed != nil {
		return
	}
	for _, c := range s.pending {
		if c, ok := c.(change); ok && c.Trail == t {
			return
		}
	}
	s.pending = append(s.pending, change{Trail: t})
}

// flushLocked writes the changes noted since the last flush, and the keys
// made since. s.mu is held.
func (s *Service) flushLocked() error {
	changes := s.pending
	for _, k := range s.keys.takeUnsaved() {
		changes = append(changes, change{Key: k})
	}
	s.pending = nil
	return s.cfg.Journal.Write(s.snapshotLocked, changes...)
}

// snapshotLocked is CloudTrail's whole persistent state: the trails but a
// seeded one, the recorded calls and the keys. s.mu is held.
func (s *Service) snapshotLocked() any {
	saved := *s.state
	saved.Trails = map[string]*trail{}
	for arn, t := range s.state.Trails {
		if t.seed == nil {
			saved.Trails[arn] = t
		}
	}
	saved.Keys = s.keys.all()
	return &saved
}

// Restore rebuilds the trails and recorded calls from a snapshot and the
// changes since, as the journal kept them, and indexes the recorded calls.
// What is present once it returns counts as delivered already: only what
// happens from then on is written to trail buckets.
func (s *Service) Restore(snapshot json.RawMessage, changes []json.RawMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := awsapi.Replay(snapshot, s.state, changes, func(c change) error {
		if s.state.Trails == nil {
			s.state.Trails = map[string]*trail{}
		}
		switch {
		case c.Trail != nil:
			s.state.Trails[c.Trail.arn()] = c.Trail
		case c.Deleted != "":
			delete(s.state.Trails, c.Deleted)
		case c.Key != nil:
			s.state.Keys = append(s.state.Keys, c.Key)
		default:
			s.keepRecordedLocked(c.Recorded)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if s.state.Trails == nil {
		s.state.Trails = map[string]*trail{}
	}
	for _, k := range s.state.Keys {
		if err := s.keys.restore(k); err != nil {
			return err
		}
	}
	s.state.Keys = nil
	recorded := make([]Record, 0, len(s.state.Recorded))
	for i, raw := range s.state.Recorded {
		rec, err := ParseRecord(raw)
		if err != nil {
			return fmt.Errorf("recorded event %d: %w", i, err)
		}
		recorded = append(recorded, rec)
	}
	s.indexRecordsLocked(recorded)
	for _, t := range s.state.Trails {
		s.cursorLocked(t)
	}
	return nil
}
