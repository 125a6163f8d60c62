package provider

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/awserr"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/bucketpolicy"
)

// Management event modes a trail can be in. All, ReadOnly and WriteOnly are
// what a configuration can ask for; None and Custom only describe trails
// set up elsewhere (no management events, or selectors beyond what
// management_events and exclude_management_event_sources express, such as
// data events).
const (
	managementAll       = "All"
	managementReadOnly  = "ReadOnly"
	managementWriteOnly = "WriteOnly"
	managementNone      = "None"
	managementCustom    = "Custom"
)

// excludableManagementSources are the only event sources AWS lets a trail
// leave out of its management events (ExcludeManagementEventSources, or
// eventSource NotEquals in an advanced selector). A trail cannot do the
// reverse and record only named sources: that takes a CloudTrail Lake event
// data store.
var excludableManagementSources = []string{"kms.amazonaws.com", "rdsdata.amazonaws.com"}

// trailInfo is everything the provider knows about one trail: its settings,
// logging status, what it records and its tags, with Terraform types left
// out so that resources, data sources and the compliance checks share it.
type trailInfo struct {
	ARN                        string
	Name                       string
	HomeRegion                 string
	S3BucketName               string
	S3KeyPrefix                string
	SNSTopicName               string
	SNSTopicARN                string
	IncludeGlobalServiceEvents bool
	IsMultiRegionTrail         bool
	LogFileValidationEnabled   bool
	IsOrganizationTrail        bool
	CloudWatchLogsGroupARN     string
	CloudWatchLogsRoleARN      string
	KMSKeyID                   string
	HasInsightSelectors        bool

	Status trailStatus
	// EventSelectors and AdvancedEventSelectors are as GetEventSelectors
	// returns them (a trail has one kind or the other): the compliance
	// rules judge them as AWS reports them, Recording summarises them for
	// the trail's attributes.
	EventSelectors         []cttypes.EventSelector
	AdvancedEventSelectors []cttypes.AdvancedEventSelector
	Recording              trailRecording
	// InsightTypes are the enabled Insights types, sorted.
	InsightTypes []string
	Tags         map[string]string
}

// trailStatus is GetTrailStatus's answer, without the fields AWS documents
// as no longer in use. Zero times mean "never", empty errors "none".
type trailStatus struct {
	IsLogging                         bool
	StartLoggingTime                  time.Time
	StopLoggingTime                   time.Time
	LatestDeliveryTime                time.Time
	LatestDeliveryError               string
	LatestDigestDeliveryTime          time.Time
	LatestDigestDeliveryError         string
	LatestNotificationTime            time.Time
	LatestNotificationError           string
	LatestCloudWatchLogsDeliveryTime  time.Time
	LatestCloudWatchLogsDeliveryError string
}

// trailRecording is what the trail's event selectors record.
type trailRecording struct {
	// ManagementEvents is one of the management* constants.
	ManagementEvents string
	// ExcludeManagementEventSources are the sources left out of management
	// events, sorted.
	ExcludeManagementEventSources []string
	// DataEvents is true when some selector records data or network
	// activity events.
	DataEvents bool
}

// trailHomeRegion is the region in a trail ARN, or "" when s is not one.
func trailHomeRegion(s string) string {
	a, err := bucketpolicy.ParseTrailARN(s)
	if err != nil {
		return ""
	}
	return a.Region
}

// snsTopicName is how sns_topic_name reads back, taken from the topic ARN
// because the Trail's SnsTopicName is deprecated: the bare name when the
// topic is in the trail's own region and account, where the name alone
// finds it, and the whole ARN otherwise, as CreateTrail needs it then.
func snsTopicName(topicARN, trailARN string) string {
	topic, err := arn.Parse(topicARN)
	if err != nil {
		return topicARN
	}
	trail, err := arn.Parse(trailARN)
	if err != nil || topic.Region != trail.Region || topic.AccountID != trail.AccountID {
		return topicARN
	}
	return topic.Resource
}

// resolveTrailARN turns a trail name or ARN into the trail's ARN. A name is
// looked up in the provider's home region, where a multi-region trail of
// another home region is visible too.
func resolveTrailARN(ctx context.Context, clients *awsclient.Clients, nameOrARN string) (string, error) {
	if trailHomeRegion(nameOrARN) != "" {
		return nameOrARN, nil
	}
	out, err := clients.CloudTrail(clients.Region).GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(nameOrARN)})
	if err != nil {
		return "", fmt.Errorf("looking up trail %q: %w", nameOrARN, err)
	}
	if out.Trail == nil || aws.ToString(out.Trail.TrailARN) == "" {
		return "", fmt.Errorf("looking up trail %q: GetTrail returned no trail ARN", nameOrARN)
	}
	return aws.ToString(out.Trail.TrailARN), nil
}

// readTrailSettings reads what readTrail reads but the selectors and
// tags: the trail's settings and its status, with cloudtrail:GetTrail and
// cloudtrail:GetTrailStatus only.
func readTrailSettings(ctx context.Context, clients *awsclient.Clients, nameOrARN string) (*trailInfo, error) {
	trailARN, err := resolveTrailARN(ctx, clients, nameOrARN)
	if err != nil {
		return nil, err
	}
	// Name-based calls fail for organization trails created by a delegated
	// administrator (hashicorp/aws #28440): every call uses the ARN.
	ct := clients.CloudTrail(trailHomeRegion(trailARN))
	in := aws.String(trailARN)

	got, err := ct.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: in})
	if err != nil {
		return nil, fmt.Errorf("reading trail %q: %w", trailARN, err)
	}
	t := got.Trail
	info := &trailInfo{
		ARN:                        aws.ToString(t.TrailARN),
		Name:                       aws.ToString(t.Name),
		HomeRegion:                 aws.ToString(t.HomeRegion),
		S3BucketName:               aws.ToString(t.S3BucketName),
		S3KeyPrefix:                aws.ToString(t.S3KeyPrefix),
		SNSTopicName:               snsTopicName(aws.ToString(t.SnsTopicARN), aws.ToString(t.TrailARN)),
		SNSTopicARN:                aws.ToString(t.SnsTopicARN),
		IncludeGlobalServiceEvents: aws.ToBool(t.IncludeGlobalServiceEvents),
		IsMultiRegionTrail:         aws.ToBool(t.IsMultiRegionTrail),
		LogFileValidationEnabled:   aws.ToBool(t.LogFileValidationEnabled),
		IsOrganizationTrail:        aws.ToBool(t.IsOrganizationTrail),
		CloudWatchLogsGroupARN:     aws.ToString(t.CloudWatchLogsLogGroupArn),
		CloudWatchLogsRoleARN:      aws.ToString(t.CloudWatchLogsRoleArn),
		KMSKeyID:                   aws.ToString(t.KmsKeyId),
		HasInsightSelectors:        aws.ToBool(t.HasInsightSelectors),
		Tags:                       map[string]string{},
	}
	if info.HomeRegion == "" {
		info.HomeRegion = trailHomeRegion(info.ARN)
	}

	status, err := ct.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: in})
	if err != nil {
		return nil, fmt.Errorf("reading the status of trail %q: %w", trailARN, err)
	}
	info.Status = trailStatus{
		IsLogging:                         aws.ToBool(status.IsLogging),
		StartLoggingTime:                  aws.ToTime(status.StartLoggingTime),
		StopLoggingTime:                   aws.ToTime(status.StopLoggingTime),
		LatestDeliveryTime:                aws.ToTime(status.LatestDeliveryTime),
		LatestDeliveryError:               aws.ToString(status.LatestDeliveryError),
		LatestDigestDeliveryTime:          aws.ToTime(status.LatestDigestDeliveryTime),
		LatestDigestDeliveryError:         aws.ToString(status.LatestDigestDeliveryError),
		LatestNotificationTime:            aws.ToTime(status.LatestNotificationTime),
		LatestNotificationError:           aws.ToString(status.LatestNotificationError),
		LatestCloudWatchLogsDeliveryTime:  aws.ToTime(status.LatestCloudWatchLogsDeliveryTime),
		LatestCloudWatchLogsDeliveryError: aws.ToString(status.LatestCloudWatchLogsDeliveryError),
	}
	return info, nil
}

// readTrail reads a trail by name or ARN from its home region: settings,
// status, event and insight selectors, tags. A missing trail yields an
// error that wraps *types.TrailNotFoundException.
func readTrail(ctx context.Context, clients *awsclient.Clients, nameOrARN string) (*trailInfo, error) {
	info, err := readTrailSettings(ctx, clients, nameOrARN)
	if err != nil {
		return nil, err
	}
	trailARN := info.ARN
	ct := clients.CloudTrail(trailHomeRegion(trailARN))
	in := aws.String(trailARN)

	sel, err := ct.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: in})
	if err != nil {
		return nil, fmt.Errorf("reading the event selectors of trail %q: %w", trailARN, err)
	}
	info.EventSelectors, info.AdvancedEventSelectors = sel.EventSelectors, sel.AdvancedEventSelectors
	if len(sel.AdvancedEventSelectors) > 0 {
		info.Recording = recordingFromAdvanced(sel.AdvancedEventSelectors)
	} else {
		info.Recording = recordingFromBasic(sel.EventSelectors)
	}

	// HasInsightSelectors saves a call that would only answer
	// InsightNotEnabledException.
	if info.HasInsightSelectors {
		ins, err := ct.GetInsightSelectors(ctx, &cloudtrail.GetInsightSelectorsInput{TrailName: in})
		if err != nil && !awserr.IsA[*cttypes.InsightNotEnabledException](err) {
			return nil, fmt.Errorf("reading the insight selectors of trail %q: %w", trailARN, err)
		}
		if err == nil {
			for _, s := range ins.InsightSelectors {
				info.InsightTypes = append(info.InsightTypes, string(s.InsightType))
			}
			slices.Sort(info.InsightTypes)
		}
	}

	tags, err := ct.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{trailARN}})
	if err != nil {
		return nil, fmt.Errorf("reading the tags of trail %q: %w", trailARN, err)
	}
	for _, rt := range tags.ResourceTagList {
		for _, tag := range rt.TagsList {
			info.Tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
	}
	return info, nil
}

// recordingFromBasic describes basic event selectors. One selector that
// includes management events without data resources is what
// management_events and exclude_management_event_sources write; anything
// else is Custom (or None when no selector records management events).
func recordingFromBasic(sels []cttypes.EventSelector) trailRecording {
	var r trailRecording
	mgmt := 0
	for _, s := range sels {
		if len(s.DataResources) > 0 {
			r.DataEvents = true
		}
		if aws.ToBool(s.IncludeManagementEvents) {
			mgmt++
			r.ManagementEvents = string(s.ReadWriteType)
			if r.ManagementEvents == "" {
				r.ManagementEvents = managementAll
			}
			r.ExcludeManagementEventSources = sortedCopy(s.ExcludeManagementEventSources)
		}
	}
	switch {
	case mgmt == 0:
		r.ManagementEvents, r.ExcludeManagementEventSources = managementNone, nil
	case mgmt > 1:
		r.ManagementEvents, r.ExcludeManagementEventSources = managementCustom, nil
	}
	return r
}

// recordingFromAdvanced describes advanced event selectors written by
// others (the provider writes basic ones). One management selector with
// eventCategory, optionally readOnly, and optionally one eventSource
// NotEquals of excludable sources means the same as the basic selector
// management_events and exclude_management_event_sources write; anything
// else is Custom, so the plan shows drift and the apply writes the
// configured selectors back.
func recordingFromAdvanced(sels []cttypes.AdvancedEventSelector) trailRecording {
	var r trailRecording
	var mgmt []cttypes.AdvancedEventSelector
	for _, s := range sels {
		switch category(s) {
		case "Management":
			mgmt = append(mgmt, s)
		default:
			r.DataEvents = true
		}
	}
	switch len(mgmt) {
	case 0:
		r.ManagementEvents = managementNone
		return r
	case 1:
	default:
		r.ManagementEvents = managementCustom
		return r
	}
	r.ManagementEvents = managementAll
	for _, f := range mgmt[0].FieldSelectors {
		others := len(f.StartsWith) + len(f.EndsWith) + len(f.NotStartsWith) + len(f.NotEndsWith)
		switch field := aws.ToString(f.Field); {
		case field == "eventCategory":
		case field == "readOnly" && len(f.Equals) == 1 && len(f.NotEquals)+others == 0:
			r.ManagementEvents = map[string]string{"true": managementReadOnly, "false": managementWriteOnly}[f.Equals[0]]
		case field == "eventSource" && r.ExcludeManagementEventSources == nil && len(f.NotEquals) > 0 &&
			len(f.Equals)+others == 0 && allExcludable(f.NotEquals):
			r.ExcludeManagementEventSources = sortedCopy(f.NotEquals)
		default:
			return trailRecording{ManagementEvents: managementCustom, DataEvents: r.DataEvents}
		}
	}
	if r.ManagementEvents == "" {
		return trailRecording{ManagementEvents: managementCustom, DataEvents: r.DataEvents}
	}
	return r
}

func allExcludable(sources []string) bool {
	for _, s := range sources {
		if !slices.Contains(excludableManagementSources, s) {
			return false
		}
	}
	return true
}

func category(s cttypes.AdvancedEventSelector) string {
	for _, f := range s.FieldSelectors {
		if aws.ToString(f.Field) == "eventCategory" && len(f.Equals) == 1 {
			return f.Equals[0]
		}
	}
	return ""
}

func sortedCopy(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	out := slices.Clone(ss)
	slices.Sort(out)
	return out
}
