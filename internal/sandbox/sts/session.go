package sts

import (
	"encoding/json"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

// Session is one set of temporary credentials AssumeRole issued.
type Session struct {
	AccessKey string
	Account   string
	// ARN is the assumed-role session:
	// arn:aws:sts::<account>:assumed-role/<role>/<session>.
	ARN    string
	Secret string
	// Token is the session token requests must carry with the key.
	Token   string
	Expires time.Time
}

// change is one change to STS's state as its journal keeps it.
type change struct {
	Session *Session `json:",omitempty"`
	// Expired is the access key of a session removed once it expired.
	Expired string `json:",omitempty"`
}

// addSession keeps a new session, dropping those expired by now, and
// writes the change before it is acknowledged.
func (s *Service) addSession(sess *Session, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var changes []any
	for k, old := range s.sessions {
		if now.After(old.Expires) {
			delete(s.sessions, k)
			changes = append(changes, change{Expired: k})
		}
	}
	s.sessions[sess.AccessKey] = sess
	changes = append(changes, change{Session: sess})
	return s.cfg.Journal.Write(s.snapshotLocked, changes...)
}

// snapshotLocked is STS's whole state: the sessions by access key. s.mu
// is held.
func (s *Service) snapshotLocked() any { return s.sessions }

// Restore rebuilds the sessions from a snapshot and the changes since, as
// the journal kept them.
func (s *Service) Restore(snapshot json.RawMessage, changes []json.RawMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return awsapi.Replay(snapshot, &s.sessions, changes, func(c change) error {
		if c.Session != nil {
			s.sessions[c.Session.AccessKey] = c.Session
		} else {
			delete(s.sessions, c.Expired)
		}
		return nil
	})
}
