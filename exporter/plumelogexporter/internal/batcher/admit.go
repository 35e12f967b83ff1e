package batcher // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/batcher"

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
)

// roomWaiter is an Add waiting for room. Room is reserved when it is granted, so that the
// same freed room is never promised twice.
type roomWaiter struct {
	records, bytes int
	granted        bool
	// wake is closed when the room is granted or when Shutdown begins.
	wake chan struct{}
}

// call follows the records of one Add or AddAndWait call while the Batcher holds them. An
// Add that passes no release function has none.
type call struct {
	total, left int
	// release is called once the Batcher holds none of the call's records.
	release func()
	// done is closed when the last record of an AddAndWait is settled: delivered, dropped for
	// a permanent error, or handed back. It is nil for an Add, whose records are dropped
	// instead of handed back.
	done chan struct{}
	// handedBack holds the positions, in the call's items, of the records handed back.
	handedBack []int
	dropped    int
	cause      error
}

// newCall returns the call of items, or nil when nothing needs to follow them.
func newCall(items [][]byte, release func(), wait bool) *call {
	if release == nil && !wait {
		return nil
	}
	c := &call{total: len(items), left: len(items), release: release}
	if wait {
		c.done = make(chan struct{})
	}
	return c
}

// handsBack reports whether the records of c go back to an AddAndWait caller when they
// cannot be delivered.
func (c *call) handsBack() bool { return c != nil && c.done != nil }

// releaseUnheld calls the release function of a call whose records the Batcher did not take.
func (c *call) releaseUnheld() {
	if c != nil && c.release != nil {
		c.release()
	}
}

// HandedBackError is AddAndWait's error when some records were not delivered and the caller
// keeps them: their retries ran out, or Shutdown gave up on them. It is retryable.
type HandedBackError struct {
	// Positions are the indexes, in the items given to AddAndWait, of the records handed
	// back, in ascending order.
	Positions []int
	// Total is the number of items given to AddAndWait.
	Total int
	// Dropped is the number of the call's records dropped for a permanent error.
	Dropped int
	// Cause is the last send error.
	Cause error
}

func (e *HandedBackError) Error() string {
	return fmt.Sprintf("batcher: %d of %d records not delivered, handed back (%d dropped): %v",
		len(e.Positions), e.Total, e.Dropped, e.Cause)
}

func (e *HandedBackError) Unwrap() error { return e.Cause }

// Refuses reports whether an Add of records would fail at once with ErrBufferFull: the
// buffer has no room for them and Add would not wait for it. A caller can skip encoding a
// request that Add would refuse; Add still decides, so a stale answer costs nothing but the
// encoding.
func (b *Batcher) Refuses(records int) bool {
	if b.cfg.Buffer.BlockTimeout > 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.closing && (len(b.waiting) > 0 || !b.fitsLocked(records, 0))
}

// Add admits items, all or none. The Batcher keeps the slices, not copies, until they are
// delivered or dropped; the caller must not modify them. release, when not nil, is called
// exactly once, when the Batcher holds none of the items any longer: after the last one is
// delivered or dropped, or before Add returns when it admitted none; the memory behind the
// items may then be reused. It is called with the Batcher's lock held and must not call it.
//
// When the buffer limits leave no room, Add fails with ErrBufferFull at once if
// Buffer.BlockTimeout is 0, and otherwise waits up to BlockTimeout, or until ctx ends, for
// room. Items larger than a whole buffer are admitted once the buffer is empty, so that one
// oversize request still makes progress; the limits are exceeded by that request alone. After
// Shutdown, Add fails with ErrClosed.
func (b *Batcher) Add(ctx context.Context, items [][]byte, release func()) error {
	c := newCall(items, release, false)
	err := b.admit(ctx, items, c)
	if err != nil || len(items) == 0 {
		c.releaseUnheld()
	}
	return err
}

// AddAndWait admits items like Add, then waits until every one of them is settled, or ctx
// ends (ctx's error; the records stay held). It suits a durable queue in front of the
// Batcher, which must keep a request until its records are acknowledged. Its records are
// never dropped for a transient reason: those whose retries run out, and those Shutdown
// gives up on, are handed back, and the *HandedBackError names them so that the caller
// retries only those. Records dropped for a permanent error are reported to the Observer;
// when nothing is handed back, the error is permanent (consumererror.NewPermanent). release
// is called as for Add, also when ctx ended first: the Batcher still holds the records then.
func (b *Batcher) AddAndWait(ctx context.Context, items [][]byte, release func()) error {
	c := newCall(items, release, true)
	if err := b.admit(ctx, items, c); err != nil || len(items) == 0 {
		c.releaseUnheld()
		return err
	}
	select {
	case <-c.done:
		return c.result()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// result is the outcome of an AddAndWait whose records have all been settled.
func (c *call) result() error {
	switch {
	case len(c.handedBack) > 0:
		slices.Sort(c.handedBack)
		return &HandedBackError{Positions: c.handedBack, Total: c.total, Dropped: c.dropped, Cause: c.cause}
	case c.dropped > 0:
		return consumererror.NewPermanent(fmt.Errorf("batcher: %d of %d records dropped (%s): %w",
			c.dropped, c.total, DropPermanentError, c.cause))
	}
	return nil
}

func (b *Batcher) admit(ctx context.Context, items [][]byte, c *call) error {
	size := 0
	for _, data := range items {
		size += len(data)
	}
	b.mu.Lock()
	switch {
	case b.closing:
		b.mu.Unlock()
		return ErrClosed
	case len(items) == 0:
		b.mu.Unlock()
		return nil
	case len(b.waiting) == 0 && b.fitsLocked(len(items), size):
		b.records += len(items)
		b.bytes += size
	case b.cfg.Buffer.BlockTimeout == 0:
		b.mu.Unlock()
		return ErrBufferFull
	default:
		if err := b.waitForRoomLocked(ctx, len(items), size); err != nil {
			b.mu.Unlock()
			return err
		}
	}
	// Taken under the lock so that admission times never decrease behind the retried records
	// at the front (older still), and the front's age is what the age trigger needs.
	now := b.now()
	before := b.pending.len()
	b.admitted += int64(len(items))
	b.pending.reserve(len(items))
	for i, data := range items {
		b.pending.pushBack(item{data: data, added: now, call: c, pos: int32(i)})
	}
	b.mu.Unlock()
	// The dispatcher's plan changes only when a first record starts a linger or the buffer
	// reaches BatchSize; other Adds need not wake it.
	if before == 0 || (before < b.cfg.BatchSize && before+len(items) >= b.cfg.BatchSize) {
		b.signal()
	}
	return nil
}

// waitForRoomLocked queues an Add of records and bytes until its room is granted and
// reserved, BlockTimeout passes, ctx ends or Shutdown begins. It releases mu while it waits
// and holds it again when it returns, so that Shutdown cannot begin between the grant and
// the records joining the buffer.
func (b *Batcher) waitForRoomLocked(ctx context.Context, records, bytes int) error {
	rw := &roomWaiter{records: records, bytes: bytes, wake: make(chan struct{})}
	b.waiting = append(b.waiting, rw)
	b.mu.Unlock()
	// A batch waiting to fill stops waiting now that no more records can come (idleAtLocked).
	b.signal()

	timer := time.NewTimer(b.cfg.Buffer.BlockTimeout)
	defer timer.Stop()
	var err error
	select {
	case <-rw.wake:
	case <-timer.C:
		err = fmt.Errorf("%w: no room for %d records within %s", ErrBufferFull, records, b.cfg.Buffer.BlockTimeout)
	case <-ctx.Done():
		err = ctx.Err()
	}

	b.mu.Lock()
	switch {
	case rw.granted:
		// Granted as the wait ended otherwise: the room is reserved, so take it.
		b.granted = slices.DeleteFunc(b.granted, func(g *roomWaiter) bool { return g == rw })
		return nil
	case b.closing:
		return ErrClosed
	}
	b.waiting = slices.DeleteFunc(b.waiting, func(g *roomWaiter) bool { return g == rw })
	// The Adds behind this one may fit where it did not.
	b.grantLocked()
	return err
}

// grantLocked reserves room for the waiting Adds, first come first served, while they fit.
func (b *Batcher) grantLocked() {
	n := 0
	for _, rw := range b.waiting {
		if !b.fitsLocked(rw.records, rw.bytes) {
			break
		}
		b.records += rw.records
		b.bytes += rw.bytes
		rw.granted = true
		close(rw.wake)
		b.granted = append(b.granted, rw)
		n++
	}
	if n > 0 {
		b.waiting = slices.Delete(b.waiting, 0, n)
	}
}

func (b *Batcher) fitsLocked(records, bytes int) bool {
	return b.records == 0 ||
		(b.records+records <= b.cfg.Buffer.MaxRecords && b.bytes+bytes <= b.cfg.Buffer.MaxBytes)
}
