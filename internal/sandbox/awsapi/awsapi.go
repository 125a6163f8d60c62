// Package awsapi is what the sandbox's services share: who called
// (Caller), the management call a service hands CloudTrail to record
// (Call), the journal that keeps a service's state across restarts
// (Journal), objects one service writes into another's storage (Object,
// BucketSeed), IAM's unique ids, random ids, and the JSON 1.1 protocol of
// CloudTrail (and any other JSON service).
package awsapi

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
)

// Caller is who sent an authenticated request, and from where.
type Caller struct {
	// Region is the region the request was signed for.
	Region string
	// Account is the account the access key belongs to.
	Account   string
	AccessKey string
	// ARN is the caller's identity: an IAM user or an assumed-role
	// session (arn:aws:sts::<account>:assumed-role/<role>/<session>).
	ARN       string
	SourceIP  string
	UserAgent string
}

// Call is a management call CloudTrail records as an event, as AWS does
// for every service's management calls, failed ones included.
type Call struct {
	Source            string // e.g. "s3.amazonaws.com"
	Name              string // the operation
	ReadOnly          bool
	RequestParameters any
	ResponseElements  any
	ErrorCode         string
	ErrorMessage      string
	// Resources are written to the record's resources element.
	Resources []Resource
}

// Resource is an ARN with its CloudFormation-style type, as a CloudTrail
// record lists it.
type Resource struct {
	ARN       string `json:"ARN"`
	AccountID string `json:"accountId"`
	Type      string `json:"type"`
}

// Journal keeps a service's state across restarts.
type Journal interface {
	// Write makes changes durable, in order, before the service
	// acknowledges them. When the journal has grown enough it starts
	// over from snapshot(), the service's whole state; Write calls it
	// with the service's lock held, as the caller of Write holds it.
	Write(snapshot func() any, changes ...any) error
}

// Replay restores a service's state as its Journal kept it: the snapshot
// decoded into state (a pointer, left as it is without a snapshot), then
// each change decoded as a C and applied, in order.
func Replay[C any](snapshot json.RawMessage, state any, changes []json.RawMessage, apply func(C) error) error {
	if len(snapshot) > 0 && string(snapshot) != "null" {
		if err := json.Unmarshal(snapshot, state); err != nil {
			return fmt.Errorf("parsing the snapshot: %w", err)
		}
	}
	for i, raw := range changes {
		var c C
		if err := json.Unmarshal(raw, &c); err != nil {
			return fmt.Errorf("change %d: %w", i, err)
		}
		if err := apply(c); err != nil {
			return fmt.Errorf("change %d: %w", i, err)
		}
	}
	return nil
}

// UniqueID derives IAM's unique id of a principal (prefix, e.g. "AIDA"
// for a user or "AROA" for a role, and 17 characters) from its ARN, so the
// same principal always has the same id.
func UniqueID(prefix, arn string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	sum := sha256.Sum256([]byte(arn))
	b := []byte(prefix)
	for i := range 17 {
		b = append(b, alphabet[sum[i]%32])
	}
	return string(b)
}
