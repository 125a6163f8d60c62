package logvalidation

import (
	"context"
	"sync"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/archive"
)

// prefetch reads a chain's listed digests ahead of its walk, in the order
// the walk takes them (newest first), through the pool. Which digest comes
// next depends on whether the current one is valid, so the walk itself is
// sequential; but a sound chain visits the listing in order, so reading it
// ahead keeps the reads of every region in flight at once. At most `ahead`
// digests wait to be taken.
type prefetch struct {
	src   archive.Source
	keys  []string
	index map[string]int

	mu sync.Mutex
	// next is the index of the next key to read; keys above it are read,
	// being read, or passed by the walk.
	next    int
	pending map[int]*readAhead
	slots   chan struct{}

	cancel context.CancelFunc
	done   chan struct{}
}

type readAhead struct {
	done chan struct{}
	f    *digestFile
	err  error
}

func startPrefetch(ctx context.Context, p *pool, src archive.Source, keys []string, ahead int) *prefetch {
	ctx, cancel := context.WithCancel(ctx)
	pf := &prefetch{
		src: src, keys: keys, index: make(map[string]int, len(keys)),
		next: len(keys) - 1, pending: map[int]*readAhead{}, slots: make(chan struct{}, ahead),
		cancel: cancel, done: make(chan struct{}),
	}
	for i, k := range keys {
		pf.index[k] = i
	}
	go pf.loop(ctx, p)
	return pf
}

func (pf *prefetch) loop(ctx context.Context, p *pool) {
	defer close(pf.done)
	for {
		select {
		case pf.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		pf.mu.Lock()
		i := pf.next
		if i < 0 {
			pf.mu.Unlock()
			return
		}
		pf.next--
		ra := &readAhead{done: make(chan struct{})}
		pf.pending[i] = ra
		pf.mu.Unlock()

		key := pf.keys[i]
		if !p.Go(ctx, func() {
			ra.f, ra.err = readDigest(ctx, pf.src, key)
			close(ra.done)
		}) {
			ra.err = context.Cause(ctx)
			close(ra.done)
			return
		}
	}
}

// take returns the digest at key when it is listed (ok), read ahead or,
// if the reading had not started, not (then f and err are nil and the
// caller reads it). The walk only goes back in time: whatever was read
// ahead of a newer key is dropped.
func (pf *prefetch) take(ctx context.Context, key string) (f *digestFile, ok bool, err error) {
	pf.mu.Lock()
	i, listed := pf.index[key]
	if !listed {
		pf.mu.Unlock()
		return nil, false, nil
	}
	var ra *readAhead
	for j, r := range pf.pending {
		if j >= i {
			delete(pf.pending, j)
			<-pf.slots
			if j == i {
				ra = r
			}
		}
	}
	pf.next = min(pf.next, i-1)
	pf.mu.Unlock()
	if ra == nil {
		return nil, false, nil
	}
	select {
	case <-ra.done:
		return ra.f, true, ra.err
	case <-ctx.Done():
		return nil, true, context.Cause(ctx)
	}
}

// close stops reading ahead, abandons what is pending, and returns once
// no more reads will start.
func (pf *prefetch) close() {
	pf.cancel()
	<-pf.done
}
