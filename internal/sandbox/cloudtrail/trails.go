package cloudtrail

import (
	"crypto/sha256"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

// trailOut is the Trail shape of GetTrail and DescribeTrails.
type trailOut struct {
	Name                       string `json:"Name"`
	S3BucketName               string `json:"S3BucketName,omitempty"`
	S3KeyPrefix                string `json:"S3KeyPrefix,omitempty"`
	SnsTopicName               string `json:"SnsTopicName,omitempty"`
	SnsTopicARN                string `json:"SnsTopicARN,omitempty"`
	IncludeGlobalServiceEvents bool   `json:"IncludeGlobalServiceEvents"`
	IsMultiRegionTrail         bool   `json:"IsMultiRegionTrail"`
	HomeRegion                 string `json:"HomeRegion,omitempty"`
	TrailARN                   string `json:"TrailARN"`
	LogFileValidationEnabled   bool   `json:"LogFileValidationEnabled"`
	CloudWatchLogsLogGroupArn  string `json:"CloudWatchLogsLogGroupArn,omitempty"`
	CloudWatchLogsRoleArn      string `json:"CloudWatchLogsRoleArn,omitempty"`
	KmsKeyId                   string `json:"KmsKeyId,omitempty"`
	HasCustomEventSelectors    *bool  `json:"HasCustomEventSelectors,omitempty"`
	HasInsightSelectors        *bool  `json:"HasInsightSelectors,omitempty"`
	IsOrganizationTrail        bool   `json:"IsOrganizationTrail"`
}

func boolPtr(b bool) *bool { return &b }

func (t *trail) out() trailOut {
	return trailOut{
		Name: t.Name, S3BucketName: t.S3BucketName, S3KeyPrefix: t.S3KeyPrefix,
		SnsTopicName: t.SnsTopicName, SnsTopicARN: t.snsTopicARN(),
		IncludeGlobalServiceEvents: t.IncludeGlobalServiceEvents, IsMultiRegionTrail: t.IsMultiRegionTrail,
		HomeRegion: t.HomeRegion, TrailARN: t.arn(), LogFileValidationEnabled: t.LogFileValidationEnabled,
		CloudWatchLogsLogGroupArn: t.CloudWatchLogsLogGroupArn, CloudWatchLogsRoleArn: t.CloudWatchLogsRoleArn,
		KmsKeyId: t.KmsKeyId, HasCustomEventSelectors: boolPtr(t.hasCustomEventSelectors()),
		HasInsightSelectors: boolPtr(len(t.InsightSelectors) > 0), IsOrganizationTrail: t.IsOrganizationTrail,
	}
}

// createOut is the output of CreateTrail and UpdateTrail: the Trail shape
// without HomeRegion and the Has* flags.
func (t *trail) createOut() trailOut {
	o := t.out()
	o.HomeRegion, o.HasCustomEventSelectors, o.HasInsightSelectors = "", nil, nil
	return o
}

func (t *trail) resource() []awsapi.Resource {
	return []awsapi.Resource{{ARN: t.arn(), AccountID: t.Account, Type: "AWS::CloudTrail::Trail"}}
}

// trailInput is CreateTrail's and UpdateTrail's request.
type trailInput struct {
	Name                       string
	S3BucketName               *string
	S3KeyPrefix                *string
	SnsTopicName               *string
	IncludeGlobalServiceEvents *bool
	IsMultiRegionTrail         *bool
	EnableLogFileValidation    *bool
	CloudWatchLogsLogGroupArn  *string
	CloudWatchLogsRoleArn      *string
	KmsKeyId                   *string
	IsOrganizationTrail        *bool
	TagsList                   []tag
}

var (
	trailNameChars = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	adjacentPunct  = regexp.MustCompile(`[._-]{2}`)
	bucketNameRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	logGroupARNRE  = regexp.MustCompile(`^arn:aws[a-z-]*:logs:[a-z0-9-]+:\d{12}:log-group:[\w./#-]+:\*$`)
	roleARNRE      = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$`)
	kmsKeyARNRE    = regexp.MustCompile(`^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):key/([0-9a-f-]{36}|mrk-[0-9a-f]{32})$`)
	kmsAliasARNRE  = regexp.MustCompile(`^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):(alias/[\w/-]+)$`)
	kmsAliasRE     = regexp.MustCompile(`^alias/[\w/-]+$`)
	kmsKeyIDRE     = regexp.MustCompile(`^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$`)
	trailARNRE     = regexp.MustCompile(`^arn:aws[a-z-]*:cloudtrail:([a-z0-9-]+):(\d{12}):trail/(.+)$`)
)

// validTrailName applies AWS's trail-name rules.
func validTrailName(name string) *ctError {
	bad := func(why string) *ctError {
		return ctErr("InvalidTrailNameException", "Trail name %q is not valid: %s.", name, why)
	}
	switch {
	case len(name) < 3 || len(name) > 128:
		return bad("it must be between 3 and 128 characters")
	case !trailNameChars.MatchString(name):
		return bad("it may contain only letters, digits, periods, underscores and dashes")
	case !isAlnum(name[0]) || !isAlnum(name[len(name)-1]):
		return bad("it must start and end with a letter or digit")
	case adjacentPunct.MatchString(name):
		return bad("it must not have adjacent periods, underscores or dashes")
	case net.ParseIP(name) != nil:
		return bad("it must not be formatted as an IP address")
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// findTrailLocked resolves a trail name or ARN as seen from the caller's
// region: its own trails and the shadows of multi-region trails.
func (s *Service) findTrailLocked(caller awsapi.Caller, nameOrARN string) (*trail, *ctError) {
	if nameOrARN == "" {
		return nil, ctErr("InvalidTrailNameException", "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).")
	}
	if strings.HasPrefix(nameOrARN, "arn:") {
		if !trailARNRE.MatchString(nameOrARN) {
			return nil, ctErr("CloudTrailARNInvalidException", "%s is not a valid trail ARN.", nameOrARN)
		}
		t := s.state.Trails[nameOrARN]
		if t == nil || t.Account != caller.Account || !t.visibleFrom(caller.Region) {
			return nil, ctErr("TrailNotFoundException", "Unknown trail: %s for the user: %s", nameOrARN, caller.Account)
		}
		return t, nil
	}
	if err := validTrailName(nameOrARN); err != nil {
		return nil, err
	}
	var shadow *trail
	for _, t := range s.state.Trails {
		if t.Account != caller.Account || t.Name != nameOrARN {
			continue
		}
		if t.HomeRegion == caller.Region {
			return t, nil
		}
		if t.IsMultiRegionTrail {
			shadow = t
		}
	}
	if shadow == nil {
		return nil, ctErr("TrailNotFoundException", "Unknown trail: arn:aws:cloudtrail:%s:%s:trail/%s for the user: %s", caller.Region, caller.Account, nameOrARN, caller.Account)
	}
	return shadow, nil
}

// findHomeTrailLocked resolves a trail that the caller wants to change:
// changes are allowed only in the trail's home region.
func (s *Service) findHomeTrailLocked(caller awsapi.Caller, nameOrARN string) (*trail, *ctError) {
	t, err := s.findTrailLocked(caller, nameOrARN)
	if err != nil {
		return nil, err
	}
	if t.HomeRegion != caller.Region {
		return nil, ctErr("InvalidHomeRegionException", "This operation must be called from the trail's home region, %s.", t.HomeRegion)
	}
	return t, nil
}

// nameTakenLocked reports whether a trail named name would collide, in
// any region it would occupy, with an existing trail.
func (s *Service) nameTakenLocked(account, name, home string, multi bool, except *trail) bool {
	for _, t := range s.state.Trails {
		if t == except || t.Account != account || t.Name != name {
			continue
		}
		if t.HomeRegion == home || t.IsMultiRegionTrail || multi {
			return true
		}
	}
	return false
}

// applyTrailInput validates in and applies it to t (a copy), as CreateTrail
// and UpdateTrail do. It returns whether the bucket destination changed.
func (s *Service) applyTrailInput(caller awsapi.Caller, t *trail, in *trailInput) (bucketChanged bool, err *ctError) {
	if in.S3BucketName != nil && *in.S3BucketName != t.S3BucketName {
		if !bucketNameRE.MatchString(*in.S3BucketName) {
			return false, ctErr("InvalidS3BucketNameException", "Bucket name %q is not valid.", *in.S3BucketName)
		}
		t.S3BucketName, bucketChanged = *in.S3BucketName, true
	}
	if in.S3KeyPrefix != nil && *in.S3KeyPrefix != t.S3KeyPrefix {
		p := *in.S3KeyPrefix
		if len(p) > 200 || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
			return false, ctErr("InvalidS3PrefixException", "S3 prefix %q is not valid.", p)
		}
		t.S3KeyPrefix, bucketChanged = p, true
	}
	if in.SnsTopicName != nil {
		t.SnsTopicName = *in.SnsTopicName
	}
	if in.IncludeGlobalServiceEvents != nil {
		t.IncludeGlobalServiceEvents = *in.IncludeGlobalServiceEvents
	}
	if in.IsMultiRegionTrail != nil {
		t.IsMultiRegionTrail = *in.IsMultiRegionTrail
	}
	if in.EnableLogFileValidation != nil {
		t.LogFileValidationEnabled = *in.EnableLogFileValidation
	}
	if in.IsOrganizationTrail != nil && *in.IsOrganizationTrail {
		return false, ctErr("OrganizationsNotInUseException", "This account is not a member of an organization.")
	}
	if t.IsMultiRegionTrail && !t.IncludeGlobalServiceEvents {
		return false, ctErr("InvalidParameterCombinationException", "Multi-Region trail must include global service events.")
	}
	if in.CloudWatchLogsLogGroupArn != nil {
		t.CloudWatchLogsLogGroupArn = *in.CloudWatchLogsLogGroupArn
	}
	if in.CloudWatchLogsRoleArn != nil {
		t.CloudWatchLogsRoleArn = *in.CloudWatchLogsRoleArn
	}
	switch g, r := t.CloudWatchLogsLogGroupArn, t.CloudWatchLogsRoleArn; {
	case g != "" && !logGroupARNRE.MatchString(g):
		return false, ctErr("InvalidCloudWatchLogsLogGroupArnException", "CloudWatch Logs log group ARN %q is not valid.", g)
	case r != "" && !roleARNRE.MatchString(r):
		return false, ctErr("InvalidCloudWatchLogsRoleArnException", "CloudWatch Logs role ARN %q is not valid.", r)
	case g != "" && r == "":
		return false, ctErr("InvalidCloudWatchLogsRoleArnException", "You must specify a role ARN with a log group ARN.")
	case g == "" && r != "":
		return false, ctErr("InvalidCloudWatchLogsLogGroupArnException", "You must specify a log group ARN with a role ARN.")
	}
	if in.KmsKeyId != nil {
		if *in.KmsKeyId == "" {
			t.KmsKeyId = ""
		} else {
			key, err := resolveKMSKey(*in.KmsKeyId, t.HomeRegion, caller.Account)
			if err != nil {
				return false, err
			}
			t.KmsKeyId = key
		}
	}
	return bucketChanged, nil
}

// resolveKMSKey turns a KMS key id, key ARN, alias name or alias ARN into
// the key ARN, as CloudTrail reports KmsKeyId. The sandbox has no KMS: an
// alias resolves to a key id derived from it, so the same alias always
// names the same key.
func resolveKMSKey(id, region, account string) (string, *ctError) {
	keyARN := func(r, a, key string) string { return "arn:aws:kms:" + r + ":" + a + ":key/" + key }
	aliasKey := func(r, a, alias string) string {
		sum := sha256.Sum256([]byte(r + "/" + a + "/" + alias))
		return keyARN(r, a, awsapi.UUID(sum[:16]))
	}
	switch {
	case kmsKeyARNRE.MatchString(id):
		m := kmsKeyARNRE.FindStringSubmatch(id)
		if m[1] != region {
			return "", ctErr("KmsKeyNotFoundException", "KMS key %s is not in the trail's home region %s.", id, region)
		}
		return id, nil
	case kmsAliasARNRE.MatchString(id):
		m := kmsAliasARNRE.FindStringSubmatch(id)
		if m[1] != region {
			return "", ctErr("KmsKeyNotFoundException", "KMS key %s is not in the trail's home region %s.", id, region)
		}
		return aliasKey(m[1], m[2], m[3]), nil
	case kmsAliasRE.MatchString(id):
		return aliasKey(region, account, id), nil
	case kmsKeyIDRE.MatchString(id):
		return keyARN(region, account, id), nil
	}
	return "", ctErr("InvalidKmsKeyIdException", "KMS key ID %q is not valid.", id)
}

func (s *Service) ctCreateTrail(caller awsapi.Caller, body []byte) (any, callDetail, *ctError) {
	var in trailInput
	if err := decodeCT(body, &in); err != nil {
		return nil, callDetail{}, err
	}
	if err := validTrailName(in.Name); err != nil {
		return nil, callDetail{}, err
	}
	if in.S3BucketName == nil || *in.S3BucketName == "" {
		return nil, callDetail{}, ctErr("InvalidS3BucketNameException", "S3 bucket name is required.")
	}
	t := &trail{Name: in.Name, Account: caller.Account, HomeRegion: caller.Region, IncludeGlobalServiceEvents: true}
	if _, err := s.applyTrailInput(caller, t, &in); err != nil {
		return nil, callDetail{}, err
	}
	if s.nameTakenLocked(caller.Account, t.Name, t.HomeRegion, t.IsMultiRegionTrail, nil) {
		return nil, callDetail{}, ctErr("TrailAlreadyExistsException", "Trail %s already exists for customer: %s", t.arn(), caller.Account)
	}
	if err := s.checkBucketLocked(t, true); err != nil {
		return nil, callDetail{}, err
	}
	if err := validTags(in.TagsList, 0); err != nil {
		return nil, callDetail{}, err
	}
	t.Tags = mergeTags(nil, in.TagsList)
	s.state.Trails[t.arn()] = t
	s.cursorLocked(t)
	s.trailChangedLocked(t)
	return t.createOut(), callDetail{response: t.createOut(), resources: t.resource()}, nil
}

func (s *Service) ctUpdateTrail(caller awsapi.Caller, body []byte) (any, callDetail, *ctError) {
	var in trailInput
	if err := decodeCT(body, &in); err != nil {
		return nil, callDetail{}, err
	}
	cur, err := s.findHomeTrailLocked(caller, in.Name)
	if err != nil {
		return nil, callDetail{}, err
	}
	next := *cur
	bucketChanged, err := s.applyTrailInput(caller, &next, &in)
	if err != nil {
		return nil, callDetail{}, err
	}
	if next.IsMultiRegionTrail && !cur.IsMultiRegionTrail && s.nameTakenLocked(caller.Account, next.Name, next.HomeRegion, true, cur) {
		return nil, callDetail{}, ctErr("TrailAlreadyExistsException", "A trail named %s already exists in another region.", next.Name)
	}
	if bucketChanged {
		if err := s.checkBucketLocked(&next, true); err != nil {
			return nil, callDetail{}, err
		}
	}
	if cur.LogFileValidationEnabled && !next.LogFileValidationEnabled {
		s.endChainsLocked(cur)
		next.trailStatus = cur.trailStatus
	}
	*cur = next
	s.startChainsLocked(cur)
	s.trailChangedLocked(cur)
	return cur.createOut(), callDetail{response: cur.createOut(), resources: cur.resource()}, nil
}

// nameInput is the body of the calls that name one trail.
type nameInput struct {
	Name string
}

// namedTrailLocked decodes the body of a call that names one trail and
// resolves the trail with find: findTrailLocked for calls that read it,
// findHomeTrailLocked for calls that change it.
func (s *Service) namedTrailLocked(caller awsapi.Caller, body []byte, find func(awsapi.Caller, string) (*trail, *ctError)) (*trail, *ctError) {
	var in nameInput
	if err := decodeCT(body, &in); err != nil {
		return nil, err
	}
	return find(caller, in.Name)
}

func (s *Service) ctDeleteTrail(caller awsapi.Caller, body []byte) (any, callDetail, *ctError) {
	t, err := s.namedTrailLocked(caller, body, s.findHomeTrailLocked)
	if err != nil {
		return nil, callDetail{}, err
	}
	if t.IsLogging {
		s.endChainsLocked(t)
	}
	delete(s.state.Trails, t.arn())
	delete(s.cursors, t.arn())
	s.pending = append(s.pending, change{Deleted: t.arn()})
	return struct{}{}, callDetail{resources: t.resource()}, nil
}

func (s *Service) ctGetTrail(caller awsapi.Caller, body []byte) (any, callDetail, *ctError) {
	t, err := s.namedTrailLocked(caller, body, s.findTrailLocked)
	if err != nil {
		return nil, callDetail{}, err
	}
	return map[string]any{"Trail": t.out()}, callDetail{resources: t.resource()}, nil
}

func (s *Service) ctDescribeTrails(caller awsapi.Caller, body []byte) (any, callDetail, *ctError) {
	var in struct {
		TrailNameList       []string `json:"trailNameList"`
		IncludeShadowTrails *bool    `json:"includeShadowTrails"`
	}
	if err := decodeCT(body, &in); err != nil {
		return nil, callDetail{}, err
	}
	shadows := in.IncludeShadowTrails == nil || *in.IncludeShadowTrails
	list := []trailOut{}
	add := func(t *trail) {
		if t.HomeRegion == caller.Region || shadows && t.IsMultiRegionTrail {
			list = append(list, t.out())
		}
	}
	if len(in.TrailNameList) == 0 {
		for _, t := range s.sortedTrails() {
			if t.Account == caller.Account {
				add(t)
			}
		}
	} else {
		seen := map[*trail]bool{}
		for _, n := range in.TrailNameList {
			// Unknown names are left out of the answer, as AWS does.
			t, err := s.findTrailLocked(caller, n)
			if err != nil {
				if err.code == "TrailNotFoundException" {
					continue
				}
				return nil, callDetail{}, err
			}
			if !seen[t] {
				seen[t] = true
				add(t)
			}
		}
	}
	return map[string]any{"trailList": list}, callDetail{}, nil
}

func (s *Service) ctListTrails(caller awsapi.Caller, body []byte) (any, callDetail, *ctError) {
	type info struct {
		TrailARN   string
		Name       string
		HomeRegion string
	}
	list := []info{}
	for _, t := range s.sortedTrails() {
		if t.Account == caller.Account {
			list = append(list, info{TrailARN: t.arn(), Name: t.Name, HomeRegion: t.HomeRegion})
		}
	}
	return map[string]any{"Trails": list}, callDetail{}, nil
}

func (s *Service) ctGetTrailStatus(caller awsapi.Caller, body []byte) (any, callDetail, *ctError) {
	t, err := s.namedTrailLocked(caller, body, s.findTrailLocked)
	if err != nil {
		return nil, callDetail{}, err
	}
	out := struct {
		IsLogging                 bool
		LatestDeliveryError       string            `json:",omitempty"`
		LatestDeliveryTime        *awsapi.EpochTime `json:",omitempty"`
		StartLoggingTime          *awsapi.EpochTime `json:",omitempty"`
		StopLoggingTime           *awsapi.EpochTime `json:",omitempty"`
		LatestDigestDeliveryTime  *awsapi.EpochTime `json:",omitempty"`
		LatestDigestDeliveryError string            `json:",omitempty"`
		LatestDeliveryAttemptTime string            `json:",omitempty"`
		TimeLoggingStarted        string            `json:",omitempty"`
		TimeLoggingStopped        string            `json:",omitempty"`
		// AWS reports attempt success as a string, empty before any attempt.
		LatestDeliveryAttemptSucceeded string `json:",omitempty"`
	}{
		IsLogging:           t.IsLogging,
		LatestDeliveryError: t.LatestDeliveryError,
		LatestDeliveryTime:  awsapi.Epoch(t.LatestDeliveryTime),
		StartLoggingTime:    awsapi.Epoch(t.StartLoggingTime),
		StopLoggingTime:     awsapi.Epoch(t.StopLoggingTime),
	}
	if t.LogFileValidationEnabled {
		out.LatestDigestDeliveryTime = awsapi.Epoch(t.LatestDigestDeliveryTime)
		out.LatestDigestDeliveryError = t.LatestDigestDeliveryError
	}
	if !t.LatestDeliveryAttemptTime.IsZero() {
		out.LatestDeliveryAttemptTime = t.LatestDeliveryAttemptTime.Format(time.RFC3339)
		out.LatestDeliveryAttemptSucceeded = t.LatestDeliveryTime.Format(time.RFC3339)
		if t.LatestDeliveryError != "" {
			out.LatestDeliveryAttemptSucceeded = ""
		}
	}
	if !t.StartLoggingTime.IsZero() {
		out.TimeLoggingStarted = t.StartLoggingTime.Format(time.RFC3339)
	}
	if !t.StopLoggingTime.IsZero() {
		out.TimeLoggingStopped = t.StopLoggingTime.Format(time.RFC3339)
	}
	return out, callDetail{resources: t.resource()}, nil
}

func (s *Service) ctStartLogging(caller awsapi.Caller, body []byte) (any, callDetail, *ctError) {
	t, err := s.namedTrailLocked(caller, body, s.findHomeTrailLocked)
	if err != nil {
		return nil, callDetail{}, err
	}
	if !t.IsLogging {
		t.IsLogging = true
		t.StartLoggingTime = s.now().UTC()
		s.startChainsLocked(t)
		s.trailChangedLocked(t)
	}
	return struct{}{}, callDetail{resources: t.resource()}, nil
}

func (s *Service) ctStopLogging(caller awsapi.Caller, body []byte) (any, callDetail, *ctError) {
	t, err := s.namedTrailLocked(caller, body, s.findHomeTrailLocked)
	if err != nil {
		return nil, callDetail{}, err
	}
	if t.IsLogging {
		// Deliver what was logged so far, and the final digests, before
		// logging stops.
		s.endChainsLocked(t)
		t.IsLogging = false
		t.StopLoggingTime = s.now().UTC()
		s.trailChangedLocked(t)
	}
	return struct{}{}, callDetail{resources: t.resource()}, nil
}
