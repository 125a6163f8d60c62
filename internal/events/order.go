package events

import (
	"slices"
	"strings"
)

// CompareNewestFirst orders events newest first, ties by event id so the
// order is the same whichever region or file was read first.
func CompareNewestFirst(a, b *Event) int {
	if c := b.EventTime.Compare(a.EventTime); c != 0 {
		return c
	}
	return strings.Compare(a.EventID, b.EventID)
}

func newerFirst(a, b Event) int { return CompareNewestFirst(&a, &b) }

// SortNewestFirst sorts evs newest first and drops repeated event ids
// (an event can come back from two lookups, e.g. a global service's event
// seen from several regions), keeping the first. It reuses evs' storage.
func SortNewestFirst(evs []Event) []Event {
	slices.SortStableFunc(evs, newerFirst)
	seen := make(map[string]bool, len(evs))
	return slices.DeleteFunc(evs, func(ev Event) bool {
		if ev.EventID == "" {
			return false
		}
		if seen[ev.EventID] {
			return true
		}
		seen[ev.EventID] = true
		return false
	})
}
