package cloudtrail

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

const (
	lookupWindow         = 90 * 24 * time.Hour
	lookupDefaultResults = 50
)

// lookupKeys are the attribute keys LookupEvents accepts.
var lookupKeys = map[string]func(r *Record, v string) bool{
	"EventId":     func(r *Record, v string) bool { return r.EventID == v },
	"EventName":   func(r *Record, v string) bool { return r.EventName == v },
	"ReadOnly":    func(r *Record, v string) bool { return boolString(r.ReadOnly) == v },
	"Username":    func(r *Record, v string) bool { return r.Username == v },
	"EventSource": func(r *Record, v string) bool { return r.EventSource == v },
	"AccessKeyId": func(r *Record, v string) bool { return r.AccessKeyID == v },
	"ResourceType": func(r *Record, v string) bool {
		for _, res := range r.Resources {
			if res.Type == v {
				return true
			}
		}
		return false
	},
	"ResourceName": func(r *Record, v string) bool {
		for _, res := range r.Resources {
			if res.Name == v {
				return true
			}
		}
		return false
	},
}

type lookupInput struct {
	LookupAttributes []struct {
		AttributeKey   string
		AttributeValue string
	}
	StartTime     *float64
	EndTime       *float64
	EventCategory string
	MaxResults    *int
	NextToken     *string
}

// lookupToken is the NextToken: where the next page starts and a hash of
// the parameters it is valid for.
type lookupToken struct {
	Time   int64  `json:"t"`
	ID     string `json:"i"`
	Params string `json:"p"`
}

// paramsHash binds a NextToken to the region and the parameters that
// select events; MaxResults may change between pages.
func (in *lookupInput) paramsHash(caller awsapi.Caller) string {
	h := sha256.New()
	write := func(s string) { h.Write([]byte(s)); h.Write([]byte{0}) }
	write(caller.Account)
	write(caller.Region)
	for _, a := range in.LookupAttributes {
		write(a.AttributeKey)
		write(a.AttributeValue)
	}
	for _, t := range []*float64{in.StartTime, in.EndTime} {
		if t == nil {
			write("-")
		} else {
			write(strconv.FormatFloat(*t, 'f', -1, 64))
		}
	}
	write(in.EventCategory)
	return hex.EncodeToString(h.Sum(nil)[:12])
}

func (s *Service) lookupLimiterLocked(caller awsapi.Caller) *rate.Limiter {
	key := indexKey(caller.Account, caller.Region)
	l := s.limiters[key]
	if l == nil {
		rps := s.cfg.LookupRPS
		if rps <= 0 {
			rps = DefaultLookupRPS
		}
		// A burst of up to 2 lets a client pacing itself at exactly the
		// limit through despite jitter, while sustained calls beyond the
		// rate are throttled.
		burst := int(math.Min(2, math.Max(1, rps)))
		l = rate.NewLimiter(rate.Limit(rps), burst)
		s.limiters[key] = l
	}
	return l
}

type lookupEvent struct {
	EventId         string
	EventName       string
	ReadOnly        string
	AccessKeyId     string            `json:",omitempty"`
	EventTime       *awsapi.EpochTime `json:",omitempty"`
	EventSource     string
	Username        string     `json:",omitempty"`
	Resources       []Resource `json:",omitempty"`
	CloudTrailEvent string
}

func (s *Service) ctLookupEvents(caller awsapi.Caller, body []byte) (any, callDetail, *ctError) {
	if !s.lookupLimiterLocked(caller).Allow() {
		return nil, callDetail{}, ctErr("ThrottlingException", "Rate exceeded")
	}
	var in lookupInput
	if err := decodeCT(body, &in); err != nil {
		return nil, callDetail{}, err
	}
	if len(in.LookupAttributes) > 1 {
		return nil, callDetail{}, ctErr("InvalidLookupAttributesException", "You can specify only one lookup attribute.")
	}
	var match func(*Record) bool
	if len(in.LookupAttributes) == 1 {
		a := in.LookupAttributes[0]
		f, ok := lookupKeys[a.AttributeKey]
		if !ok {
			return nil, callDetail{}, ctErr("InvalidLookupAttributesException", "Lookup attribute key %q is not valid.", a.AttributeKey)
		}
		if a.AttributeValue == "" || len(a.AttributeValue) > 2000 {
			return nil, callDetail{}, ctErr("InvalidLookupAttributesException", "Lookup attribute value must be 1 to 2000 characters.")
		}
		match = func(r *Record) bool { return f(r, a.AttributeValue) }
	}
	if in.EventCategory != "" && in.EventCategory != "insight" {
		return nil, callDetail{}, ctErr("InvalidEventCategoryException", "Event category %q is not valid.", in.EventCategory)
	}
	limit := lookupDefaultResults
	if in.MaxResults != nil {
		limit = *in.MaxResults
		if limit < 1 || limit > lookupDefaultResults {
			return nil, callDetail{}, ctErr("InvalidMaxResultsException", "MaxResults must be between 1 and 50.")
		}
	}
	now := s.now().UTC()
	start, end := now.Add(-lookupWindow), now
	if in.StartTime != nil {
		if t := awsapi.FromEpoch(*in.StartTime); t.After(start) {
			start = t
		}
	}
	if in.EndTime != nil {
		if t := awsapi.FromEpoch(*in.EndTime); t.Before(end) {
			end = t
		}
	}
	if in.StartTime != nil && in.EndTime != nil && *in.StartTime > *in.EndTime {
		return nil, callDetail{}, ctErr("InvalidTimeRangeException", "Start time must not be after end time.")
	}
	hash := in.paramsHash(caller)
	idx := s.index[indexKey(caller.Account, caller.Region)]
	var events []*Record
	if idx != nil {
		events = idx.events
	}
	// The first candidate is the newest event at or before end.
	pos := sort.Search(len(events), func(i int) bool { return !events[i].EventTime.After(end) })
	if in.NextToken != nil {
		tok, ok := decodeLookupToken(*in.NextToken)
		if !ok || tok.Params != hash {
			return nil, callDetail{}, ctErr("InvalidNextTokenException", "Invalid NextToken: it is valid only with the parameters of the call that returned it.")
		}
		cursor := &Record{EventTime: time.Unix(tok.Time/1e9, tok.Time%1e9), EventID: tok.ID}
		if p := sort.Search(len(events), func(i int) bool { return cursor.before(events[i]) }); p > pos {
			pos = p
		}
	}
	out := struct {
		Events    []lookupEvent
		NextToken string `json:",omitempty"`
	}{Events: []lookupEvent{}}
	// Insight events are not modelled: an insight query has nothing to find.
	if in.EventCategory == "insight" {
		return out, callDetail{}, nil
	}
	var last *Record
	for ; pos < len(events) && !events[pos].EventTime.Before(start); pos++ {
		r := events[pos]
		if !r.Management || match != nil && !match(r) {
			continue
		}
		if len(out.Events) == limit {
			out.NextToken = encodeLookupToken(lookupToken{Time: last.EventTime.UnixNano(), ID: last.EventID, Params: hash})
			break
		}
		out.Events = append(out.Events, r.lookupEvent())
		last = r
	}
	return out, callDetail{}, nil
}

func (r *Record) lookupEvent() lookupEvent {
	return lookupEvent{
		EventId: r.EventID, EventName: r.EventName, ReadOnly: boolString(r.ReadOnly), AccessKeyId: r.AccessKeyID,
		EventTime: awsapi.Epoch(r.EventTime), EventSource: r.EventSource, Username: r.Username,
		Resources: r.Resources, CloudTrailEvent: string(r.Raw),
	}
}

func encodeLookupToken(t lookupToken) string {
	raw, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(raw)
}

func decodeLookupToken(s string) (lookupToken, bool) {
	var t lookupToken
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || json.Unmarshal(raw, &t) != nil || t.ID == "" || t.Params == "" {
		return lookupToken{}, false
	}
	return t, true
}
