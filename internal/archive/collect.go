package archive

import (
	"container/heap"
	"encoding/hex"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
)

// collector gathers the matches of every worker: it counts each event id
// once and keeps the newest MaxEvents, so memory grows with the matches'
// ids, not with the archive.
type collector struct {
	q  *Query
	mu sync.Mutex

	// seen holds the ids of the events counted, as 16 bytes when the id
	// is a UUID (CloudTrail's always are), else as the string.
	seen      map[[16]byte]struct{}
	seenOther map[string]struct{}

	count                       int
	matches                     atomic.Int64 // count, for the progress log
	byName, byRegion, byAccount map[string]int
	earliest, latest            time.Time

	kept newest
}

func newCollector(q *Query) *collector {
	return &collector{
		q:         q,
		seen:      map[[16]byte]struct{}{},
		seenOther: map[string]struct{}{},
		byName:    map[string]int{},
		byRegion:  map[string]int{},
		byAccount: map[string]int{},
		kept:      newest{pos: map[string]int{}},
	}
}

// add counts ev, a match DecodeRecord read from raw, unless its id was
// counted already, and keeps it if it is among the newest.
func (c *collector) add(ev *events.Event, raw []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.firstSight(ev.EventID) {
		c.kept.duplicate(ev.EventID, ev.LogFile, c.q.LogFileVerdict)
		return nil
	}
	c.count++
	c.matches.Add(1)
	c.byName[ev.EventName]++
	c.byRegion[ev.Region]++
	c.byAccount[ev.AccountID]++
	if c.earliest.IsZero() || ev.EventTime.Before(c.earliest) {
		c.earliest = ev.EventTime
	}
	if ev.EventTime.After(c.latest) {
		c.latest = ev.EventTime
	}
	if len(c.kept.evs) == c.q.MaxEvents && (c.q.MaxEvents == 0 || events.CompareNewestFirst(ev, c.kept.evs[0]) > 0) {
		return nil
	}
	// Only the events kept are redacted, and they are few: in a random
	// order of reading, about MaxEvents x ln(matches / MaxEvents) enter.
	if err := ev.AddDocuments(raw); err != nil {
		return err
	}
	if c.q.LogFileVerdict != nil {
		ev.LogFileValid = c.q.LogFileVerdict(ev.LogFile)
	}
	kept := *ev
	if len(c.kept.evs) < c.q.MaxEvents {
		heap.Push(&c.kept, &kept)
		return nil
	}
	c.kept.replaceOldest(&kept)
	return nil
}

func (c *collector) firstSight(id string) bool {
	if u, ok := parseUUID(id); ok {
		if _, dup := c.seen[u]; dup {
			return false
		}
		c.seen[u] = struct{}{}
		return true
	}
	if id == "" {
		return true
	}
	if _, dup := c.seenOther[id]; dup {
		return false
	}
	c.seenOther[id] = struct{}{}
	return true
}

func (c *collector) result() *Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	evs := make([]events.Event, len(c.kept.evs))
	for i, ev := range c.kept.evs {
		evs[i] = *ev
	}
	slices.SortFunc(evs, func(a, b events.Event) int { return events.CompareNewestFirst(&a, &b) })
	return &Result{
		Events:            evs,
		TotalCount:        c.count,
		Truncated:         c.count > len(evs),
		CountsByEventName: c.byName,
		CountsByRegion:    c.byRegion,
		CountsByAccount:   c.byAccount,
		EarliestEventTime: c.earliest,
		LatestEventTime:   c.latest,
	}
}

// parseUUID reads an id written as CloudTrail writes event ids,
// 8-4-4-4-12 hexadecimal digits.
func parseUUID(s string) (u [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	for _, part := range [...]struct{ from, to, at int }{{0, 8, 0}, {9, 13, 4}, {14, 18, 6}, {19, 23, 8}, {24, 36, 10}} {
		if _, err := hex.Decode(u[part.at:], []byte(s[part.from:part.to])); err != nil {
			return u, false
		}
	}
	return u, true
}

// newest is a heap of the newest events kept, the oldest at its root,
// with each event's position by id.
type newest struct {
	evs []*events.Event
	pos map[string]int
}

func (h newest) Len() int { return len(h.evs) }

// Less puts the event that comes later in newest-first order first.
func (h newest) Less(i, j int) bool { return events.CompareNewestFirst(h.evs[i], h.evs[j]) > 0 }

func (h newest) Swap(i, j int) {
	h.evs[i], h.evs[j] = h.evs[j], h.evs[i]
	h.place(i)
	h.place(j)
}

// place records where the event at i is; events without an id cannot be
// delivered twice in a way anyone could tell.
func (h newest) place(i int) {
	if id := h.evs[i].EventID; id != "" {
		h.pos[id] = i
	}
}

func (h *newest) Push(x any) {
	h.evs = append(h.evs, x.(*events.Event))
	h.place(len(h.evs) - 1)
}

func (h *newest) Pop() any {
	ev := h.evs[len(h.evs)-1]
	h.evs = h.evs[:len(h.evs)-1]
	delete(h.pos, ev.EventID)
	return ev
}

func (h *newest) replaceOldest(ev *events.Event) {
	delete(h.pos, h.evs[0].EventID)
	h.evs[0] = ev
	h.place(0)
	heap.Fix(h, 0)
}

// duplicate records that an event kept was also delivered in logFile:
// the first key in key order is the one reported, so the answer does not
// depend on which file was read first.
func (h *newest) duplicate(id, logFile string, verdict func(string) *bool) {
	i, ok := h.pos[id]
	if !ok || logFile >= h.evs[i].LogFile {
		return
	}
	h.evs[i].LogFile = logFile
	if verdict != nil {
		h.evs[i].LogFileValid = verdict(logFile)
	}
}
