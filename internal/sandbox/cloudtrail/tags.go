package cloudtrail

import (
	"strings"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

const maxTrailTags = 50

func validTags(tags []tag, existing int) *ctError {
	for _, t := range tags {
		if t.Key == "" || len(t.Key) > 128 || strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return ctErr("InvalidTagParameterException", "Tag key %q is not valid.", t.Key)
		}
		if len(t.Value) > 256 {
			return ctErr("InvalidTagParameterException", "The value of tag %q is longer than 256 characters.", t.Key)
		}
	}
	if existing+len(tags) > maxTrailTags {
		return ctErr("TagsLimitExceededException", "A trail can have at most %d tags.", maxTrailTags)
	}
	return nil
}

// mergeTags sets each added tag, replacing an existing value for its key.
func mergeTags(cur, add []tag) []tag {
	out := append([]tag(nil), cur...)
next:
	for _, a := range add {
		for i := range out {
			if out[i].Key == a.Key {
				out[i].Value = a.Value
				continue next
			}
		}
		out = append(out, a)
	}
	return out
}

type tagsInput struct {
	ResourceId string
	TagsList   []tag
}

// tagTargetLocked resolves a tagging ResourceId, which must be a trail ARN.
func (s *Service) tagTargetLocked(caller awsapi.Caller, id string) (*trail, *ctError) {
	if !trailARNRE.MatchString(id) {
		return nil, ctErr("CloudTrailARNInvalidException", "%s is not a valid trail ARN.", id)
	}
	t := s.state.Trails[id]
	if t == nil || t.Account != caller.Account {
		return nil, ctErr("ResourceNotFoundException", "Resource %s does not exist.", id)
	}
	return t, nil
}

// tagsCallLocked decodes an AddTags or RemoveTags body and resolves the
// trail it tags.
func (s *Service) tagsCallLocked(caller awsapi.Caller, body []byte) (*trail, tagsInput, *ctError) {
	var in tagsInput
	if err := decodeCT(body, &in); err != nil {
		return nil, in, err
	}
	t, err := s.tagTargetLocked(caller, in.ResourceId)
	return t, in, err
}

func (s *Service) ctAddTags(caller awsapi.Caller, body []byte) (any, callDetail, *ctError) {
	t, in, err := s.tagsCallLocked(caller, body)
	if err != nil {
		return nil, callDetail{}, err
	}
	merged := mergeTags(t.Tags, in.TagsList)
	if err := validTags(in.TagsList, len(merged)-len(in.TagsList)); err != nil {
		return nil, callDetail{}, err
	}
	t.Tags = merged
	s.trailChangedLocked(t)
	return struct{}{}, callDetail{resources: t.resource()}, nil
}

func (s *Service) ctRemoveTags(caller awsapi.Caller, body []byte) (any, callDetail, *ctError) {
	t, in, err := s.tagsCallLocked(caller, body)
	if err != nil {
		return nil, callDetail{}, err
	}
	remove := map[string]bool{}
	for _, r := range in.TagsList {
		remove[r.Key] = true
	}
	kept := []tag{}
	for _, cur := range t.Tags {
		if !remove[cur.Key] {
			kept = append(kept, cur)
		}
	}
	t.Tags = kept
	s.trailChangedLocked(t)
	return struct{}{}, callDetail{resources: t.resource()}, nil
}

func (s *Service) ctListTags(caller awsapi.Caller, body []byte) (any, callDetail, *ctError) {
	var in struct{ ResourceIdList []string }
	if err := decodeCT(body, &in); err != nil {
		return nil, callDetail{}, err
	}
	type resourceTag struct {
		ResourceId string
		TagsList   []tag
	}
	list := []resourceTag{}
	for _, id := range in.ResourceIdList {
		t, err := s.tagTargetLocked(caller, id)
		if err != nil {
			return nil, callDetail{}, err
		}
		tags := t.Tags
		if tags == nil {
			tags = []tag{}
		}
		list = append(list, resourceTag{ResourceId: id, TagsList: tags})
	}
	return map[string]any{"ResourceTagList": list}, callDetail{}, nil
}
