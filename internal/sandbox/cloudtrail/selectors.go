package cloudtrail

import (
	"slices"
	"strings"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

type eventSelector struct {
	ReadWriteType                 string         `json:"ReadWriteType"`
	IncludeManagementEvents       bool           `json:"IncludeManagementEvents"`
	DataResources                 []dataResource `json:"DataResources"`
	ExcludeManagementEventSources []string       `json:"ExcludeManagementEventSources"`
}

type dataResource struct {
	Type   string   `json:"Type"`
	Values []string `json:"Values"`
}

type advancedEventSelector struct {
	Name           string          `json:"Name,omitempty"`
	FieldSelectors []fieldSelector `json:"FieldSelectors"`
}

type fieldSelector struct {
	Field         string   `json:"Field"`
	Equals        []string `json:"Equals,omitempty"`
	StartsWith    []string `json:"StartsWith,omitempty"`
	EndsWith      []string `json:"EndsWith,omitempty"`
	NotEquals     []string `json:"NotEquals,omitempty"`
	NotStartsWith []string `json:"NotStartsWith,omitempty"`
	NotEndsWith   []string `json:"NotEndsWith,omitempty"`
}

type insightSelector struct {
	InsightType string `json:"InsightType"`
}

// defaultEventSelectors is what a trail logs until PutEventSelectors: all
// management events, read and write.
func defaultEventSelectors() []eventSelector {
	return []eventSelector{{ReadWriteType: "All", IncludeManagementEvents: true, DataResources: []dataResource{}, ExcludeManagementEventSources: []string{}}}
}

func (t *trail) basicSelectors() []eventSelector {
	if t.EventSelectors == nil && t.AdvancedEventSelectors == nil {
		return defaultEventSelectors()
	}
	return t.EventSelectors
}

// hasCustomEventSelectors is true when the trail logs anything other than
// the default selector.
func (t *trail) hasCustomEventSelectors() bool {
	if len(t.AdvancedEventSelectors) > 0 {
		return true
	}
	sel := t.basicSelectors()
	d := defaultEventSelectors()[0]
	return len(sel) != 1 || sel[0].ReadWriteType != d.ReadWriteType || !sel[0].IncludeManagementEvents ||
		len(sel[0].DataResources) > 0 || len(sel[0].ExcludeManagementEventSources) > 0
}

const (
	maxBasicSelectors    = 5
	maxDataResources     = 250
	maxAdvancedSelectors = 500
)

var (
	dataResourcePrefixes = map[string]string{
		"AWS::S3::Object":       "arn:aws:s3",
		"AWS::Lambda::Function": "arn:aws:lambda",
		"AWS::DynamoDB::Table":  "arn:aws:dynamodb",
	}
	excludableSources = []string{"kms.amazonaws.com", "rdsdata.amazonaws.com"}
	advancedFields    = []string{
		"eventCategory", "eventSource", "eventName", "eventType", "readOnly", "resources.type",
		"resources.ARN", "sessionCredentialFromConsole", "userIdentity.arn", "errorCode", "vpcEndpointId",
	}
	eventCategories = []string{"Management", "Data", "NetworkActivity"}
)

func validateBasicSelectors(sels []eventSelector) *ctError {
	bad := func(format string, args ...any) *ctError {
		return ctErr("InvalidEventSelectorsException", format, args...)
	}
	if len(sels) > maxBasicSelectors {
		return bad("A trail can have at most %d event selectors; %d were given.", maxBasicSelectors, len(sels))
	}
	values := 0
	for i := range sels {
		sel := &sels[i]
		switch sel.ReadWriteType {
		case "":
			sel.ReadWriteType = "All"
		case "All", "ReadOnly", "WriteOnly":
		default:
			return bad("ReadWriteType %q is not valid: use ReadOnly, WriteOnly or All.", sel.ReadWriteType)
		}
		for _, dr := range sel.DataResources {
			prefix, ok := dataResourcePrefixes[dr.Type]
			if !ok {
				return bad("Data resource type %q is not valid.", dr.Type)
			}
			for _, v := range dr.Values {
				if !strings.HasPrefix(v, prefix) {
					return bad("Value %q is not valid for data resource type %s.", v, dr.Type)
				}
			}
			values += len(dr.Values)
		}
		for _, src := range sel.ExcludeManagementEventSources {
			if !slices.Contains(excludableSources, src) {
				return bad("Management event source %q cannot be excluded; only %s can.", src, strings.Join(excludableSources, " and "))
			}
		}
		if sel.DataResources == nil {
			sel.DataResources = []dataResource{}
		}
		if sel.ExcludeManagementEventSources == nil {
			sel.ExcludeManagementEventSources = []string{}
		}
	}
	if values > maxDataResources {
		return bad("A trail can have at most %d data resource values; %d were given.", maxDataResources, values)
	}
	return nil
}

func validateAdvancedSelectors(sels []advancedEventSelector) *ctError {
	bad := func(format string, args ...any) *ctError {
		return ctErr("InvalidEventSelectorsException", format, args...)
	}
	conditions := 0
	for _, sel := range sels {
		if len(sel.Name) > 1000 {
			return bad("Advanced event selector name is longer than 1000 characters.")
		}
		if len(sel.FieldSelectors) == 0 {
			return bad("An advanced event selector needs at least one field selector.")
		}
		category, hasType := "", false
		for _, fs := range sel.FieldSelectors {
			if !slices.Contains(advancedFields, fs.Field) {
				return bad("Field %q is not valid in an advanced event selector.", fs.Field)
			}
			ops := [][]string{fs.Equals, fs.StartsWith, fs.EndsWith, fs.NotEquals, fs.NotStartsWith, fs.NotEndsWith}
			n := 0
			for _, vs := range ops {
				n += len(vs)
				for _, v := range vs {
					if v == "" || len(v) > 2048 {
						return bad("Field %s has an empty or too long value.", fs.Field)
					}
				}
			}
			if n == 0 {
				return bad("Field %s needs at least one operator with a value.", fs.Field)
			}
			conditions += n
			switch fs.Field {
			case "eventCategory":
				if len(fs.Equals) != 1 || n != 1 || !slices.Contains(eventCategories, fs.Equals[0]) {
					return bad("eventCategory must use Equals with one of %s.", strings.Join(eventCategories, ", "))
				}
				category = fs.Equals[0]
			case "readOnly":
				if len(fs.Equals) != 1 || n != 1 || fs.Equals[0] != "true" && fs.Equals[0] != "false" {
					return bad("readOnly must use Equals with \"true\" or \"false\".")
				}
			case "resources.type":
				hasType = true
			}
		}
		switch category {
		case "":
			return bad("Each advanced event selector must have an eventCategory field.")
		case "Management":
			for _, fs := range sel.FieldSelectors {
				switch fs.Field {
				case "eventCategory", "readOnly":
				case "eventSource":
					if len(fs.NotEquals) == 0 || len(fs.Equals)+len(fs.StartsWith)+len(fs.EndsWith)+len(fs.NotStartsWith)+len(fs.NotEndsWith) > 0 {
						return bad("For management events, eventSource supports only NotEquals.")
					}
					for _, src := range fs.NotEquals {
						if !slices.Contains(excludableSources, src) {
							return bad("For management events, eventSource can only exclude %s.", strings.Join(excludableSources, " and "))
						}
					}
				default:
					return bad("Field %s is not supported for management events.", fs.Field)
				}
			}
		case "Data", "NetworkActivity":
			if category == "Data" && !hasType {
				return bad("Data event selectors must have a resources.type field.")
			}
		}
	}
	if conditions > maxAdvancedSelectors {
		return bad("A trail can have at most %d conditions across its advanced event selectors.", maxAdvancedSelectors)
	}
	return nil
}

func (s *Service) ctPutEventSelectors(caller awsapi.Caller, body []byte) (any, callDetail, *ctError) {
	var in struct {
		TrailName              string
		EventSelectors         []eventSelector
		AdvancedEventSelectors []advancedEventSelector
	}
	if err := decodeCT(body, &in); err != nil {
		return nil, callDetail{}, err
	}
	t, err := s.findHomeTrailLocked(caller, in.TrailName)
	if err != nil {
		return nil, callDetail{}, err
	}
	switch {
	case in.EventSelectors != nil && in.AdvancedEventSelectors != nil:
		return nil, callDetail{}, ctErr("InvalidParameterCombinationException", "Specify either EventSelectors or AdvancedEventSelectors, not both.")
	case in.EventSelectors == nil && in.AdvancedEventSelectors == nil:
		return nil, callDetail{}, ctErr("InvalidEventSelectorsException", "Specify EventSelectors or AdvancedEventSelectors.")
	case in.EventSelectors != nil:
		if err := validateBasicSelectors(in.EventSelectors); err != nil {
			return nil, callDetail{}, err
		}
		t.EventSelectors, t.AdvancedEventSelectors = in.EventSelectors, nil
	default:
		if len(in.AdvancedEventSelectors) == 0 {
			return nil, callDetail{}, ctErr("InvalidEventSelectorsException", "AdvancedEventSelectors must not be empty.")
		}
		if err := validateAdvancedSelectors(in.AdvancedEventSelectors); err != nil {
			return nil, callDetail{}, err
		}
		t.EventSelectors, t.AdvancedEventSelectors = nil, in.AdvancedEventSelectors
	}
	s.trailChangedLocked(t)
	out := s.selectorsOut(t)
	return out, callDetail{response: out, resources: t.resource()}, nil
}

func (s *Service) selectorsOut(t *trail) map[string]any {
	out := map[string]any{"TrailARN": t.arn()}
	if t.AdvancedEventSelectors != nil {
		out["AdvancedEventSelectors"] = t.AdvancedEventSelectors
	} else {
		out["EventSelectors"] = t.basicSelectors()
	}
	return out
}

func (s *Service) ctGetEventSelectors(caller awsapi.Caller, body []byte) (any, callDetail, *ctError) {
	var in struct{ TrailName string }
	if err := decodeCT(body, &in); err != nil {
		return nil, callDetail{}, err
	}
	t, err := s.findTrailLocked(caller, in.TrailName)
	if err != nil {
		return nil, callDetail{}, err
	}
	return s.selectorsOut(t), callDetail{resources: t.resource()}, nil
}

func (s *Service) ctPutInsightSelectors(caller awsapi.Caller, body []byte) (any, callDetail, *ctError) {
	var in struct {
		TrailName        string
		InsightSelectors []insightSelector
	}
	if err := decodeCT(body, &in); err != nil {
		return nil, callDetail{}, err
	}
	t, err := s.findHomeTrailLocked(caller, in.TrailName)
	if err != nil {
		return nil, callDetail{}, err
	}
	if in.InsightSelectors == nil {
		return nil, callDetail{}, ctErr("InvalidInsightSelectorsException", "InsightSelectors is required.")
	}
	seen := map[string]bool{}
	for _, sel := range in.InsightSelectors {
		if sel.InsightType != "ApiCallRateInsight" && sel.InsightType != "ApiErrorRateInsight" {
			return nil, callDetail{}, ctErr("InvalidInsightSelectorsException", "Insight type %q is not valid: use ApiCallRateInsight or ApiErrorRateInsight.", sel.InsightType)
		}
		if seen[sel.InsightType] {
			return nil, callDetail{}, ctErr("InvalidInsightSelectorsException", "Insight type %s is given twice.", sel.InsightType)
		}
		seen[sel.InsightType] = true
	}
	t.InsightSelectors = in.InsightSelectors
	if len(t.InsightSelectors) == 0 {
		t.InsightSelectors = nil
	}
	s.trailChangedLocked(t)
	out := map[string]any{"TrailARN": t.arn(), "InsightSelectors": in.InsightSelectors}
	return out, callDetail{response: out, resources: t.resource()}, nil
}

func (s *Service) ctGetInsightSelectors(caller awsapi.Caller, body []byte) (any, callDetail, *ctError) {
	var in struct{ TrailName string }
	if err := decodeCT(body, &in); err != nil {
		return nil, callDetail{}, err
	}
	t, err := s.findTrailLocked(caller, in.TrailName)
	if err != nil {
		return nil, callDetail{}, err
	}
	if len(t.InsightSelectors) == 0 {
		return nil, callDetail{}, ctErr("InsightNotEnabledException", "Trail %s does not have Insights enabled.", t.arn())
	}
	return map[string]any{"TrailARN": t.arn(), "InsightSelectors": t.InsightSelectors}, callDetail{resources: t.resource()}, nil
}

// logsManagementEvent reports whether the trail's selectors log a
// management event with this source and read-only flag.
func (t *trail) logsManagementEvent(source string, readOnly bool) bool {
	if len(t.AdvancedEventSelectors) > 0 {
		for _, sel := range t.AdvancedEventSelectors {
			if advancedMatches(sel, map[string]string{
				"eventCategory": "Management", "eventSource": source, "readOnly": boolString(readOnly),
			}) {
				return true
			}
		}
		return false
	}
	for _, sel := range t.basicSelectors() {
		if !sel.IncludeManagementEvents || slices.Contains(sel.ExcludeManagementEventSources, source) {
			continue
		}
		switch {
		case sel.ReadWriteType == "ReadOnly" && !readOnly, sel.ReadWriteType == "WriteOnly" && readOnly:
			continue
		}
		return true
	}
	return false
}

// advancedMatches evaluates a selector: every field selector must hold;
// within one, any positive operator may match and no negative may.
func advancedMatches(sel advancedEventSelector, fields map[string]string) bool {
	for _, fs := range sel.FieldSelectors {
		v, ok := fields[fs.Field]
		if !ok {
			return false
		}
		pos := len(fs.Equals)+len(fs.StartsWith)+len(fs.EndsWith) == 0 ||
			slices.Contains(fs.Equals, v) ||
			slices.ContainsFunc(fs.StartsWith, func(p string) bool { return strings.HasPrefix(v, p) }) ||
			slices.ContainsFunc(fs.EndsWith, func(p string) bool { return strings.HasSuffix(v, p) })
		neg := slices.Contains(fs.NotEquals, v) ||
			slices.ContainsFunc(fs.NotStartsWith, func(p string) bool { return strings.HasPrefix(v, p) }) ||
			slices.ContainsFunc(fs.NotEndsWith, func(p string) bool { return strings.HasSuffix(v, p) })
		if !pos || neg {
			return false
		}
	}
	return true
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
