// Package sandbox is a local AWS endpoint for CloudTrail, S3, STS and
// Organizations and Athena: one router (router.go) over one package per
// service, which it wires to each other through the interfaces they
// declare.
//
// It is an independent implementation of AWS behaviour: it shares no code
// with the provider, so that a misunderstanding of the API cannot hide by
// being on both sides of a test. It may use the AWS SDK's signer and types.
package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/athena"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/cloudtrail"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/organizations"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/s3"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sigv4"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sts"
)

// Options configures a Server. The zero value of every field has a sensible
// default (see New).
type Options struct {
	// Account is the 12-digit account id of the configured key pair
	// (default 123456789012).
	Account string
	// AccessKey and SecretKey are the one long-term key pair the sandbox
	// accepts (default "test"/"test"). AssumeRole issues further temporary
	// key pairs.
	AccessKey string
	SecretKey string
	// LookupRPS is the LookupEvents rate allowed per account and region
	// (default 2, as AWS).
	LookupRPS float64
	// NoHistory starts with an empty account: without the built-in
	// OpsWorks CM history LookupEvents answers from, and without the
	// pre-existing trail and its archive.
	NoHistory bool
	// NoArchive starts without the pre-existing trail and its archive
	// (see ArchiveHistory).
	NoArchive bool
	// DigestInterval is how often trails with log file validation on
	// deliver digests (default 1h, as AWS): whole seconds.
	DigestInterval time.Duration
	// KeyRotation is how long one signing key signs digests before the
	// next takes over (default 30 days).
	KeyRotation time.Duration
	// EventFiles are CloudTrail record files ({"Records":[...]}, plain or
	// gzipped) or directories of them, loaded at start.
	EventFiles []string
	// DataDir, when set, keeps state across restarts.
	DataDir string
	// PolicyPropagationDelay makes CreateTrail keep answering
	// InsufficientS3BucketPolicyException for this long after a bucket
	// policy was last written, as AWS does while a new policy propagates.
	PolicyPropagationDelay time.Duration
	// Faults are injected into matching requests.
	Faults []Fault
	// AthenaQueryDelay keeps every Athena query RUNNING at least this
	// long, so that clients' polling and StopQueryExecution can be
	// tested.
	AthenaQueryDelay time.Duration
	// Now returns the current time (default time.Now); tests pin it.
	Now func() time.Time
}

// Defaults for the zero Options.
const (
	DefaultAccount   = "123456789012"
	DefaultAccessKey = "test"
	DefaultSecretKey = "test"
	DefaultLookupRPS = cloudtrail.DefaultLookupRPS
	// DefaultDigestInterval is AWS's: a digest an hour.
	DefaultDigestInterval = cloudtrail.DefaultDigestInterval
	DefaultKeyRotation    = cloudtrail.DefaultKeyRotation
)

// The CloudTrail records and the built-in history, as the provider's
// tests read them.
type (
	// Record is one CloudTrail record as the sandbox indexes it.
	Record = cloudtrail.Record
	// Resource is a resource a record refers to, as LookupEvents reports
	// it.
	Resource = cloudtrail.Resource
)

const (
	// OpsWorksCMSource is the event source of every generated history
	// record.
	OpsWorksCMSource = cloudtrail.OpsWorksCMSource
	// DocCreateServerEventID is the eventID of the history's copy of the
	// AWS documentation's OpsWorks for Puppet Enterprise CreateServer
	// record.
	DocCreateServerEventID = cloudtrail.DocCreateServerEventID
	// UnredactedSecretValue is the one engine attribute value in the
	// history that was logged in clear.
	UnredactedSecretValue = cloudtrail.UnredactedSecretValue
)

// History generates the built-in OpsWorks CM history of account, ending
// at now.
func History(account string, now time.Time) []Record { return cloudtrail.History(account, now) }

// The pre-existing trail and its archive, as the provider's tests read
// them: a multi-region trail logging since ArchiveStart, whose bucket
// holds two years of OpsWorks CM use through both engines' end of life
// and a few calls after, among other services' events, with signed
// digests over its last week.
type (
	// Archive is what the trail's bucket holds when the sandbox starts.
	Archive = cloudtrail.Archive
	// ArchiveFile is one log file of it.
	ArchiveFile = cloudtrail.ArchiveFile
)

const (
	ArchiveTrailName  = cloudtrail.ArchiveTrailName
	ArchiveHomeRegion = cloudtrail.ArchiveHomeRegion
	// ArchiveRootEventID is the archive's one call by the root user.
	ArchiveRootEventID = cloudtrail.ArchiveRootEventID
	// ArchiveMidnightEventID is a call from two minutes before midnight,
	// delivered in the next day's folder.
	ArchiveMidnightEventID = cloudtrail.ArchiveMidnightEventID
	// ArchiveDuplicateEventID is a call delivered twice, in two log files.
	ArchiveDuplicateEventID = cloudtrail.ArchiveDuplicateEventID
	// ArchiveEdgeEventID is a call at the second Chef Automate's end of
	// life began.
	ArchiveEdgeEventID = cloudtrail.ArchiveEdgeEventID
	// ArchiveSecretEventID is the call that logged
	// ArchiveUnredactedSecretValue in clear.
	ArchiveSecretEventID         = cloudtrail.ArchiveSecretEventID
	ArchiveUnredactedSecretValue = cloudtrail.ArchiveUnredactedSecretValue
)

// ArchiveStart is when the pre-existing trail started logging.
var ArchiveStart = cloudtrail.ArchiveStart

// ArchiveBucket is the pre-existing trail's bucket in account.
func ArchiveBucket(account string) string { return cloudtrail.ArchiveBucket(account) }

// ArchiveHistory is what the pre-existing trail's bucket holds when a
// sandbox for account starts at now.
func ArchiveHistory(account string, now time.Time) Archive {
	return cloudtrail.ArchiveHistory(account, now)
}

var accountPattern = regexp.MustCompile(`^[0-9]{12}$`)

// Server is the sandbox: an http.Handler serving CloudTrail, S3, STS,
// Organizations and Athena.
type Server struct {
	opts     Options
	verifier *sigv4.Verifier
	faults   *faultSet
	routes   []route

	cloudtrail    *cloudtrail.Service
	s3            *s3.Service
	sts           *sts.Service
	organizations *organizations.Service
	athena        *athena.Service
}

// stateful is a service whose state the data directory keeps.
type stateful interface {
	Restore(snapshot json.RawMessage, changes []json.RawMessage) error
}

// New returns a Server with defaults applied and state restored from
// opts.DataDir when it holds any.
func New(opts Options) (*Server, error) {
	if opts.Account == "" {
		opts.Account = DefaultAccount
	}
	if !accountPattern.MatchString(opts.Account) {
		return nil, fmt.Errorf("account %q: want 12 digits", opts.Account)
	}
	if opts.AccessKey == "" {
		opts.AccessKey = DefaultAccessKey
	}
	if opts.SecretKey == "" {
		opts.SecretKey = DefaultSecretKey
	}
	if opts.LookupRPS == 0 {
		opts.LookupRPS = DefaultLookupRPS
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DigestInterval == 0 {
		opts.DigestInterval = DefaultDigestInterval
	}
	if opts.DigestInterval < time.Second || opts.DigestInterval%time.Second != 0 {
		return nil, fmt.Errorf("digest interval %s: want whole seconds, at least 1s (digests are named to the second)", opts.DigestInterval)
	}
	if opts.KeyRotation == 0 {
		opts.KeyRotation = DefaultKeyRotation
	}
	if opts.KeyRotation < time.Second {
		return nil, fmt.Errorf("key rotation %s: want at least 1s", opts.KeyRotation)
	}
	var records []Record
	if !opts.NoHistory {
		records = History(opts.Account, opts.Now())
	}
	loaded, err := cloudtrail.LoadRecordFiles(opts.EventFiles)
	if err != nil {
		return nil, fmt.Errorf("starting CloudTrail: %w", err)
	}
	st, saved, err := load(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("opening sandbox state in %s: %w", opts.DataDir, err)
	}

	s := &Server{opts: opts, faults: &faultSet{}}
	s.faults.set(opts.Faults)
	s.verifier = &sigv4.Verifier{Keys: keys{s}, Now: s.now}
	s.s3 = s3.New(s3.Config{Now: s.now, Recorder: recorder{s}, Store: st.bodiesWith(saved[serviceS3].journal)})
	s.cloudtrail = cloudtrail.New(cloudtrail.Config{
		Account: opts.Account, LookupRPS: opts.LookupRPS, PolicyPropagationDelay: opts.PolicyPropagationDelay, Now: s.now,
		DigestInterval: opts.DigestInterval, KeyRotation: opts.KeyRotation,
		Records: append(records, loaded...), Buckets: s.s3, Journal: saved[serviceCloudTrail].journal,
	})
	s.sts = sts.New(sts.Config{Now: s.now, Recorder: s.cloudtrail, Journal: saved[serviceSTS].journal})
	s.organizations = organizations.New(organizations.Config{Recorder: s.cloudtrail})
	s.athena = athena.New(athena.Config{
		Now: s.now, Objects: objects{s.s3}, Recorder: s.cloudtrail, Journal: saved[serviceAthena].journal, QueryDelay: opts.AthenaQueryDelay,
	})
	s.routes = []route{
		{service: serviceAthena, claims: hasTarget(athena.TargetPrefix), api: s.athena, auth: sigv4.JSON, faults: athenaFaults},
		{service: serviceCloudTrail, claims: hasTarget(cloudtrail.TargetPrefixes...), api: s.cloudtrail, auth: sigv4.JSON, faults: jsonFaults},
		{service: serviceOrganizations, claims: hasTarget(organizations.TargetPrefix), api: s.organizations, auth: sigv4.JSON, faults: jsonFaults},
		{service: serviceSTS, claims: hasAction, api: s.sts, auth: sigv4.Query, faults: queryFaults},
		{service: serviceS3, claims: anyRequest, api: s.s3, auth: sigv4.S3, faults: s3Faults},
	}
	for name, svc := range map[string]stateful{serviceS3: s.s3, serviceSTS: s.sts, serviceCloudTrail: s.cloudtrail, serviceAthena: s.athena} {
		if err := svc.Restore(saved[name].snapshot, saved[name].changes); err != nil {
			return nil, fmt.Errorf("restoring %s from %s: %w", name, opts.DataDir, err)
		}
	}
	if err := st.removeUnreferenced(); err != nil {
		return nil, fmt.Errorf("cleaning up %s: %w", opts.DataDir, err)
	}
	// After the restore, so that a trail or bucket of the same names in
	// the data directory wins.
	if !opts.NoHistory && !opts.NoArchive {
		if err := s.cloudtrail.SeedArchive(); err != nil {
			return nil, fmt.Errorf("starting CloudTrail: %w", err)
		}
	}
	return s, nil
}

func (s *Server) now() time.Time { return s.opts.Now() }

// recorder is CloudTrail as the services that record their calls into it
// see it. It finds CloudTrail at each call: CloudTrail is made after S3,
// which it delivers log files to.
type recorder struct{ s *Server }

func (r recorder) RecordCall(c awsapi.Caller, call awsapi.Call) error {
	return r.s.cloudtrail.RecordCall(c, call)
}

// AddRecords loads a CloudTrail log file body ({"Records":[...]}, plain or
// gzipped) into the running server. Records route to the region in their
// awsRegion and the account in recipientAccountId (or the configured
// account).
func (s *Server) AddRecords(r io.Reader) error {
	recs, err := cloudtrail.ParseRecords(r)
	if err != nil {
		return err
	}
	s.cloudtrail.AddRecords(recs)
	return nil
}
