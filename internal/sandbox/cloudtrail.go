package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

// cloudTrailState is the CloudTrail state that persists across restarts.
type cloudTrailState struct {
	// Trails by trail ARN.
	Trails map[string]*trail `json:"Trails"`
	// Recorded are the sandbox's own recorded calls, so LookupEvents still
	// finds them after a restart.
	Recorded []json.RawMessage `json:"Recorded,omitempty"`
}

// cloudTrailRuntime is rebuilt at every start.
type cloudTrailRuntime struct {
	// index holds every event by account and region (see indexKey).
	index map[string]*eventIndex
	// seq numbers records by arrival (Record.seq).
	seq uint64
	// delivered is, per trail ARN, the seq up to which records were
	// considered for log delivery.
	delivered map[string]uint64
	limiters  map[string]*rate.Limiter
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

	IsLogging                 bool
	StartLoggingTime          time.Time `json:",omitzero"`
	StopLoggingTime           time.Time `json:",omitzero"`
	LatestDeliveryTime        time.Time `json:",omitzero"`
	LatestDeliveryAttemptTime time.Time `json:",omitzero"`
	LatestDeliveryError       string    `json:",omitempty"`
	LatestDigestDeliveryTime  time.Time `json:",omitzero"`
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

// initCloudTrail sets up CloudTrail after New applied defaults and restored
// s.ct from DataDir (or left it nil).
func (s *Server) initCloudTrail() error {
	if s.ct == nil {
		s.ct = &cloudTrailState{}
	}
	if s.ct.Trails == nil {
		s.ct.Trails = map[string]*trail{}
	}
	s.ctrt = &cloudTrailRuntime{
		index:     map[string]*eventIndex{},
		delivered: map[string]uint64{},
		limiters:  map[string]*rate.Limiter{},
	}
	account := s.opts.Account
	if !s.opts.NoHistory {
		s.indexRecordsLocked(History(account, s.now()))
	}
	if len(s.opts.EventFiles) > 0 {
		recs, err := loadRecordFiles(s.opts.EventFiles)
		if err != nil {
			return err
		}
		s.indexRecordsLocked(recs)
	}
	recorded := make([]Record, 0, len(s.ct.Recorded))
	for i, raw := range s.ct.Recorded {
		rec, err := ParseRecord(raw)
		if err != nil {
			return fmt.Errorf("restoring recorded event %d: %w", i, err)
		}
		recorded = append(recorded, rec)
	}
	s.indexRecordsLocked(recorded)
	// Everything present at start counts as delivered already: only what
	// happens from now on is written to trail buckets.
	for arn := range s.ct.Trails {
		s.ctrt.delivered[arn] = s.ctrt.seq
	}
	return nil
}

// ctChange is one change to CloudTrail's state as its journal keeps it.
type ctChange struct {
	// Trail is a trail after it was created or changed.
	Trail *trail `json:",omitempty"`
	// Deleted is the ARN of a deleted trail.
	Deleted  string          `json:",omitempty"`
	Recorded json.RawMessage `json:",omitempty"`
}

// trailChangedLocked notes a trail's new settings or status for the
// journal. s.mu is held.
func (s *Server) trailChangedLocked(t *trail) {
	s.ctPending = append(s.ctPending, ctChange{Trail: t})
}

// flushCloudTrailLocked writes the changes noted since the last flush.
// s.mu is held.
func (s *Server) flushCloudTrailLocked() error {
	changes := s.ctPending
	s.ctPending = nil
	return s.ctJournal.Write(s.ctSnapshotLocked, changes...)
}

// ctSnapshotLocked is CloudTrail's whole persistent state. s.mu is held.
func (s *Server) ctSnapshotLocked() any { return s.ct }

// restoreCloudTrail rebuilds the trails and recorded calls from a
// snapshot and the changes since.
func (s *Server) restoreCloudTrail(snapshot json.RawMessage, changes []json.RawMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ct = &cloudTrailState{}
	if len(snapshot) > 0 {
		if err := json.Unmarshal(snapshot, s.ct); err != nil {
			return fmt.Errorf("parsing the snapshot: %w", err)
		}
	}
	if s.ct.Trails == nil {
		s.ct.Trails = map[string]*trail{}
	}
	for i, raw := range changes {
		var c ctChange
		if err := json.Unmarshal(raw, &c); err != nil {
			return fmt.Errorf("change %d: %w", i, err)
		}
		switch {
		case c.Trail != nil:
			s.ct.Trails[c.Trail.arn()] = c.Trail
		case c.Deleted != "":
			delete(s.ct.Trails, c.Deleted)
		default:
			s.keepRecordedLocked(c.Recorded)
		}
	}
	return nil
}

// ctError is a CloudTrail error answer.
type ctError struct {
	code, msg string
	status    int
}

func ctErr(code, format string, args ...any) *ctError {
	return &ctError{code: code, msg: fmt.Sprintf(format, args...), status: http.StatusBadRequest}
}

// ctOp is one CloudTrail operation: it decodes body into its input, works
// on state under s.mu, and returns the output and the call to record.
type ctOp struct {
	readOnly bool
	// noRecord is for operations AWS does not record (LookupEvents).
	noRecord bool
	run      func(s *Server, ri awsapi.Caller, body []byte) (out any, rec callDetail, err *ctError)
}

// callDetail is what an operation adds to its recorded call.
type callDetail struct {
	request   any
	response  any
	resources []awsapi.Resource
}

var ctOps = map[string]ctOp{
	"CreateTrail":         {run: (*Server).ctCreateTrail},
	"UpdateTrail":         {run: (*Server).ctUpdateTrail},
	"DeleteTrail":         {run: (*Server).ctDeleteTrail},
	"GetTrail":            {readOnly: true, run: (*Server).ctGetTrail},
	"DescribeTrails":      {readOnly: true, run: (*Server).ctDescribeTrails},
	"ListTrails":          {readOnly: true, run: (*Server).ctListTrails},
	"GetTrailStatus":      {readOnly: true, run: (*Server).ctGetTrailStatus},
	"StartLogging":        {run: (*Server).ctStartLogging},
	"StopLogging":         {run: (*Server).ctStopLogging},
	"PutEventSelectors":   {run: (*Server).ctPutEventSelectors},
	"GetEventSelectors":   {readOnly: true, run: (*Server).ctGetEventSelectors},
	"PutInsightSelectors": {run: (*Server).ctPutInsightSelectors},
	"GetInsightSelectors": {readOnly: true, run: (*Server).ctGetInsightSelectors},
	"AddTags":             {run: (*Server).ctAddTags},
	"RemoveTags":          {run: (*Server).ctRemoveTags},
	"ListTags":            {readOnly: true, run: (*Server).ctListTags},
	"LookupEvents":        {readOnly: true, noRecord: true, run: (*Server).ctLookupEvents},
}

// cloudTrailTargetPrefixes are the X-Amz-Target prefixes of CloudTrail: the
// Go SDK sends the short one, botocore the fully qualified one.
var cloudTrailTargetPrefixes = []string{
	"CloudTrail_20131101.",
	"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.",
}

// ctAPI is CloudTrail as the router sees it.
type ctAPI struct{ s *Server }

func (a ctAPI) Operation(r *http.Request, _ []byte) (string, bool) {
	name := ctOperation(r.Header.Get("X-Amz-Target"))
	_, ok := ctOps[name]
	return name, ok
}

func (a ctAPI) ServeAPI(w http.ResponseWriter, r *http.Request, c awsapi.Caller, body []byte) {
	a.s.serveCloudTrail(w, r, c, body)
}

func (a ctAPI) WriteError(w http.ResponseWriter, _ *http.Request, status int, code, message string) {
	awsapi.WriteJSONError(w, status, code, message)
}

// ctState restores CloudTrail's state.
type ctState struct{ s *Server }

func (c ctState) Restore(snapshot json.RawMessage, changes []json.RawMessage) error {
	return c.s.restoreCloudTrail(snapshot, changes)
}

// ctOperation extracts the operation from X-Amz-Target, which the Go SDK
// sends as "CloudTrail_20131101.<Op>" and botocore as
// "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.<Op>".
func ctOperation(target string) string {
	if i := strings.LastIndex(target, "."); i >= 0 {
		return target[i+1:]
	}
	return target
}

// serveCloudTrail answers one authenticated CloudTrail request.
func (s *Server) serveCloudTrail(w http.ResponseWriter, r *http.Request, ri awsapi.Caller, body []byte) {
	name := ctOperation(r.Header.Get("X-Amz-Target"))
	op, ok := ctOps[name]
	if !ok {
		awsapi.WriteJSONError(w, http.StatusBadRequest, "UnknownOperationException", "Unknown operation "+name)
		return
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	s.mu.Lock()
	out, detail, cerr := op.run(s, ri, body)
	if !op.noRecord {
		c := awsapi.Call{
			Source: "cloudtrail.amazonaws.com", Name: name, ReadOnly: op.readOnly,
			RequestParameters: detail.request, ResponseElements: detail.response, Resources: detail.resources,
		}
		if c.RequestParameters == nil {
			c.RequestParameters = trailParams(body)
		}
		if cerr != nil {
			c.ErrorCode, c.ErrorMessage, c.ResponseElements = cerr.code, cerr.msg, nil
		}
		s.recordCallLocked(ri, c)
	}
	perr := s.flushCloudTrailLocked()
	s.mu.Unlock()
	if cerr != nil {
		awsapi.WriteJSONError(w, cerr.status, cerr.code, cerr.msg)
		return
	}
	if perr != nil {
		awsapi.WriteJSONError(w, http.StatusInternalServerError, "InternalFailure", "persisting state: "+perr.Error())
		return
	}
	awsapi.WriteJSON(w, out)
}

// decodeCT decodes a request body; a malformed body is a
// SerializationException, as AWS answers.
func decodeCT(body []byte, v any) *ctError {
	if err := json.Unmarshal(body, v); err != nil {
		return ctErr("SerializationException", "could not parse request body: %v", err)
	}
	return nil
}

// trailParams lists request parameters for the recorded call: AWS records
// the request with lower-camel-case keys.
func trailParams(body []byte) map[string]any {
	var in map[string]any
	if json.Unmarshal(body, &in) != nil {
		return nil
	}
	out := make(map[string]any, len(in))
	for k, v := range in {
		if k == "" {
			continue
		}
		out[strings.ToLower(k[:1])+k[1:]] = v
	}
	return out
}

// sortedTrails lists trails in a stable order (by ARN).
func (s *Server) sortedTrails() []*trail {
	out := make([]*trail, 0, len(s.ct.Trails))
	for _, t := range s.ct.Trails {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].arn() < out[j].arn() })
	return out
}
