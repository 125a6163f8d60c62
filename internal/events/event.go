// Package events is the CloudTrail event model: one recorded API call as the
// provider exposes it, parsed from a CloudTrail record. It makes no AWS calls
// and knows nothing of Terraform, so the policy evaluator can depend on it.
package events

import "time"

// OpsWorksCMSource is OpsWorks CM's event source.
const OpsWorksCMSource = "opsworks-cm.amazonaws.com"

// DefaultEventSource is the service audited when the user names no other.
const DefaultEventSource = OpsWorksCMSource

// AllEventSources, as an event source, stands for every service.
const AllEventSources = "*"

// Event is one CloudTrail record, flattened to the fields rules and HCL
// conditions test. RequestParameters, ResponseElements and CloudTrailEvent
// hold JSON with credential-bearing values already redacted.
type Event struct {
	EventID          string
	EventName        string
	EventTime        time.Time
	Region           string
	EventSource      string
	Username         string
	UserIdentityType string
	PrincipalARN     string
	// SessionIssuerARN is the role behind an assumed-role session, empty
	// for other identities.
	SessionIssuerARN  string
	AccountID         string
	AccessKeyID       string
	InvokedBy         string
	MFAAuthenticated  bool
	SourceIPAddress   string
	UserAgent         string
	ReadOnly          bool
	ErrorCode         string
	ErrorMessage      string
	Resources         []Resource
	RequestParameters string
	ResponseElements  string
	CloudTrailEvent   string
	// LogFile is the key of the trail's log file the record was read
	// from; empty for events LookupEvents returned.
	LogFile string
	// LogFileValid is whether LogFile validated against the trail's
	// digest chain, nil when it was not checked.
	LogFileValid *bool
}

// Resource is a resource a call referenced, as LookupEvents reports it.
type Resource struct {
	Type string
	Name string
}
