// Package lookup is the multi-region CloudTrail event query: one
// LookupEvents stream per region, all regions at once, each at the pace the
// client set allows, merged newest first.
package lookup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"golang.org/x/sync/errgroup"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/awserr"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
)

// PageSize is LookupEvents' largest page: fewer pages, fewer waits.
const PageSize = 50

// Window is how far back LookupEvents reaches.
const Window = 90 * 24 * time.Hour

// Query is what to look up.
type Query struct {
	// Regions are queried at once; each is one stream.
	Regions []string
	// Start and End bound the events' time, both inclusive.
	Start, End time.Time
	// Filter selects events; an empty EventSource means
	// events.DefaultEventSource, events.AllEventSources every service
	// (more events to page through, at the same pace).
	Filter events.Filter
	// MaxEvents caps the result (the newest ones are kept); 0 means no cap.
	MaxEvents int
	// WarnOnRegionError keeps the other regions' events when a region
	// fails, reporting the failure in Result.Failed, instead of failing the
	// whole query.
	WarnOnRegionError bool
}

// Result is what a query found.
type Result struct {
	// Events are newest first, without repeated event ids.
	Events []events.Event
	// Truncated is true when more events matched than MaxEvents.
	Truncated bool
	// RegionsQueried are the regions that answered for the whole window,
	// in the query's order.
	RegionsQueried []string
	// Failed are the regions that did not, with WarnOnRegionError.
	Failed []*RegionError
	// Stats has one entry per region, in the query's order.
	Stats []RegionStats
}

// RegionStats is the work one region's stream did.
type RegionStats struct {
	Region string
	// Requests is the LookupEvents calls that succeeded (pages).
	Requests int
	// Retries is the attempts the SDK repeated, Throttled those answered
	// with a throttling error.
	Retries, Throttled int
	// Scanned is the events LookupEvents returned, Matched those the
	// filter kept.
	Scanned, Matched int
	Duration         time.Duration
}

// RegionError is a region that still failed after the SDK's retries.
type RegionError struct {
	Region string
	// Code is the AWS error code, empty for a failure without one (a
	// network error).
	Code string
	// Err is the failure as the SDK reported it: its chain names the
	// operation, which awserr.Advice turns into the IAM action to grant.
	Err error
}

func (e *RegionError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("CloudTrail LookupEvents in %s failed: %v", e.Region, e.Err)
	}
	// The SDK's own message repeats the service, operation, status and
	// request id: the AWS message alone reads better after the code.
	msg := awserr.Message(e.Err)
	if msg == "" {
		msg = e.Err.Error()
	}
	var maxAttempts *retry.MaxAttemptsError
	if errors.As(e.Err, &maxAttempts) {
		msg += fmt.Sprintf(" (gave up after %d attempts)", maxAttempts.Attempt)
	}
	return fmt.Sprintf("CloudTrail LookupEvents in %s failed with %s: %s", e.Region, e.Code, msg)
}

func (e *RegionError) Unwrap() error { return e.Err }

// Attributes are the lookup attributes LookupEvents is given: at most one,
// as the API allows, the most selective filter it can apply server side. A
// single event name beats the event source; every source
// (events.AllEventSources) is no attribute at all, which LookupEvents
// answers with every management event. Every other condition is applied
// client side.
func Attributes(f *events.Filter) []cttypes.LookupAttribute {
	switch {
	case len(f.EventNames) == 1:
		return []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String(f.EventNames[0])}}
	case f.EventSource == events.AllEventSources:
		return nil
	}
	return []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventSource, AttributeValue: aws.String(f.EventSource)}}
}

// Run queries every region of q at once through clients, whose CloudTrail
// clients pace LookupEvents per region and retry throttling and 5xx
// answers. Cancelling ctx stops every stream.
func Run(ctx context.Context, clients *awsclient.Clients, q Query) (*Result, error) {
	if len(q.Regions) == 0 {
		return nil, errors.New("no region to query")
	}
	if q.End.Before(q.Start) {
		return nil, fmt.Errorf("start time %s is after end time %s", q.Start.Format(time.RFC3339), q.End.Format(time.RFC3339))
	}
	if q.Filter.EventSource == "" {
		q.Filter.EventSource = events.DefaultEventSource
	}

	g, gctx := errgroup.WithContext(ctx)
	streams := make([]*stream, len(q.Regions))
	for i, region := range q.Regions {
		s := &stream{q: &q, region: region, client: clients.CloudTrail(region)}
		streams[i] = s
		g.Go(func() error {
			s.run(gctx)
			if s.err != nil && !q.WarnOnRegionError {
				return s.err
			}
			return nil
		})
	}
	err := g.Wait()
	// A cancelled query reports the cancellation, not the regions it
	// interrupted.
	if ctx.Err() != nil {
		return nil, fmt.Errorf("looking up events: %w", context.Cause(ctx))
	}
	if err != nil {
		return nil, err
	}

	res := &Result{}
	var all []events.Event
	for _, s := range streams {
		res.Stats = append(res.Stats, s.stats)
		if s.err != nil {
			res.Failed = append(res.Failed, s.err)
			continue
		}
		res.RegionsQueried = append(res.RegionsQueried, s.region)
		all = append(all, s.events...)
		s.events = nil
	}
	all = events.SortNewestFirst(all)
	if q.MaxEvents > 0 && len(all) > q.MaxEvents {
		res.Truncated = true
		all = slices.Clip(all[:q.MaxEvents])
	}
	res.Events = all
	return res, nil
}

// stream is one region's paginated lookup.
type stream struct {
	q      *Query
	region string
	client *cloudtrail.Client

	events []events.Event
	stats  RegionStats
	err    *RegionError
}

func (s *stream) run(ctx context.Context) {
	start := time.Now()
	s.stats.Region = s.region
	defer func() {
		s.stats.Duration = time.Since(start)
		s.stats.Matched = len(s.events)
	}()

	in := &cloudtrail.LookupEventsInput{
		LookupAttributes: Attributes(&s.q.Filter),
		StartTime:        aws.Time(s.q.Start),
		EndTime:          aws.Time(s.q.End),
		MaxResults:       aws.Int32(PageSize),
	}
	// One more match than the cap tells a truncated result from one that
	// fills it exactly.
	want := s.q.MaxEvents + 1
	pages := cloudtrail.NewLookupEventsPaginator(s.client, in)
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			s.fail(err)
			return
		}
		s.count(out)
		for i := range out.Events {
			ev, err := fromLookup(&out.Events[i], s.region)
			if err != nil {
				s.err = &RegionError{Region: s.region, Err: err}
				return
			}
			if !s.q.Filter.Match(&ev) {
				continue
			}
			s.events = append(s.events, ev)
			if s.q.MaxEvents > 0 && len(s.events) >= want {
				tflog.Debug(ctx, "LookupEvents stream reached max_events", map[string]any{"region": s.region, "pages": s.stats.Requests})
				return
			}
		}
	}
	tflog.Debug(ctx, "LookupEvents stream done", map[string]any{
		"region": s.region, "pages": s.stats.Requests, "scanned": s.stats.Scanned, "matched": s.stats.Matched,
		"retries": s.stats.Retries, "throttled": s.stats.Throttled,
	})
}

func (s *stream) count(out *cloudtrail.LookupEventsOutput) {
	s.stats.Requests++
	s.stats.Scanned += len(out.Events)
	if attempts, ok := retry.GetAttemptResults(out.ResultMetadata); ok {
		for _, a := range attempts.Results {
			if a.Err != nil {
				s.stats.Retries++
				if throttled(a.Err) {
					s.stats.Throttled++
				}
			}
		}
	}
}

func (s *stream) fail(err error) {
	s.err = &RegionError{Region: s.region, Code: awserr.Code(err), Err: err}
}

func throttled(err error) bool {
	_, ok := retry.DefaultThrottleErrorCodes[awserr.Code(err)]
	return ok
}

// fromLookup builds an Event from a LookupEvents result: the record in
// CloudTrailEvent, with the user name and resources as LookupEvents
// reports them, which its lookup attributes match on.
func fromLookup(le *cttypes.Event, region string) (events.Event, error) {
	ev, err := events.ParseRecord([]byte(aws.ToString(le.CloudTrailEvent)))
	if err != nil {
		return events.Event{}, fmt.Errorf("event %s: %w", aws.ToString(le.EventId), err)
	}
	if ev.EventID == "" {
		ev.EventID = aws.ToString(le.EventId)
	}
	if ev.Region == "" {
		ev.Region = region
	}
	if u := aws.ToString(le.Username); u != "" {
		ev.Username = u
	}
	if len(le.Resources) > 0 {
		ev.Resources = make([]events.Resource, 0, len(le.Resources))
		for _, r := range le.Resources {
			ev.Resources = append(ev.Resources, events.Resource{Type: aws.ToString(r.ResourceType), Name: aws.ToString(r.ResourceName)})
		}
	}
	return ev, nil
}
