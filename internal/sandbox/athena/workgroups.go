package athena

import (
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

// Every account has the one workgroup primary in each region, without
// an output location of its own, as a new account's.

// engineVersion is the engine the workgroup and every query run on:
// Athena's current one, chosen automatically.
var engineVersion = map[string]string{"SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": "Athena engine version 3"}

type workGroupInput struct {
	WorkGroup  *string
	MaxResults *int
	NextToken  *string
}

func (s *Service) getWorkGroup(c awsapi.Caller, body []byte) (any, *apiError) {
	var in workGroupInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	switch {
	case in.WorkGroup == nil:
		return nil, missingParameter("workGroup")
	case *in.WorkGroup != primaryWorkGroup:
		return nil, invalidRequest("INVALID_INPUT", "WorkGroup is not found.")
	}
	return map[string]any{"WorkGroup": map[string]any{
		"Name":  primaryWorkGroup,
		"State": "ENABLED",
		"Configuration": map[string]any{
			"ResultConfiguration":                  map[string]any{},
			"EnforceWorkGroupConfiguration":        false,
			"PublishCloudWatchMetricsEnabled":      false,
			"RequesterPaysEnabled":                 false,
			"EngineVersion":                        engineVersion,
			"EnableMinimumEncryptionConfiguration": false,
		},
		"CreationTime": s.workGroupCreated(c),
	}}, nil
}

func (s *Service) listWorkGroups(c awsapi.Caller, body []byte) (any, *apiError) {
	var in workGroupInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if in.MaxResults != nil && (*in.MaxResults < 1 || *in.MaxResults > 50) {
		return nil, validationError("Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 50", *in.MaxResults)
	}
	return map[string]any{"WorkGroups": []map[string]any{{
		"Name":          primaryWorkGroup,
		"State":         "ENABLED",
		"Description":   "",
		"CreationTime":  s.workGroupCreated(c),
		"EngineVersion": engineVersion,
	}}}, nil
}

// workGroupCreated is when the scope's primary workgroup was made: with
// its catalog.
func (s *Service) workGroupCreated(c awsapi.Caller) *awsapi.EpochTime {
	s.mu.Lock()
	defer s.mu.Unlock()
	return awsapi.Epoch(s.catalogLocked(scope(c)).Databases[defaultDatabase].Created)
}
