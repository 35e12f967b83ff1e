package batcher // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/batcher"

import (
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
)

// fate is what becomes of a record after a send.
type fate uint8

const (
	fateDelivered  fate = iota
	fateRetried         // back to the buffer for another attempt
	fateHandedBack      // back to its AddAndWait caller
	fateDropped
	numFates
)

// sendBatches is a worker: it sends the batches the dispatcher cuts, and those it cuts for
// itself when it finishes one, until Shutdown.
func (b *Batcher) sendBatches() {
	for bt := range b.work {
		for bt != nil {
			for i := range bt.items {
				bt.data = append(bt.data, bt.items[i].data)
			}
			if err := b.send(b.sendCtx, bt.data); err != nil {
				b.settleFailed(bt.items, err)
			} else {
				b.settleDelivered(bt)
			}
			bt = b.recycle(bt)
		}
	}
}

// The settle functions tell the observer first, so that it has counted an outcome by the time
// Held or AddAndWait shows it. Until the batch is recycled, its items belong to this worker.

func (b *Batcher) settleDelivered(bt *batch) {
	// Not always the first record waited longest: with several batches in flight, retries
	// that fail out of order go back to the front out of order.
	now, total, oldest := b.now(), time.Duration(0), time.Duration(0)
	for i := range bt.items {
		wait := now - bt.items[i].added
		total += wait
		oldest = max(oldest, wait)
	}
	b.obs.Delivered(len(bt.items), oldest, total)

	b.mu.Lock()
	b.failures = 0
	for i := range bt.items {
		b.releaseLocked(&bt.items[i], fateDelivered, nil)
	}
	b.grantLocked()
	b.mu.Unlock()
}

// settleFailed decides the fate of each record of a failed send. A permanent error drops
// them all. Otherwise each record counts an attempt and goes back to the buffer while it has
// retries left; once out of retries, or when Shutdown gave up, it is handed back to its
// AddAndWait caller, which still holds it, or else dropped.
func (b *Batcher) settleFailed(items []item, err error) {
	reason := DropRetriesExhausted
	switch {
	case consumererror.IsPermanent(err):
		reason = DropPermanentError
	case b.aborting.Load():
		reason = DropShutdown
	}
	var count [numFates]int
	for i := range items {
		items[i].attempts++
		count[b.fate(&items[i], reason)]++
	}
	if n := count[fateRetried] + count[fateHandedBack]; n > 0 {
		b.obs.Retried(n, err)
	}
	if n := count[fateDropped]; n > 0 {
		b.obs.Dropped(n, reason, err)
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	if reason == DropRetriesExhausted {
		b.failures++
		b.gate = b.now() + b.cfg.Backoff.wait(b.failures)
	}
	if reason == DropShutdown {
		b.shutdownDropped += count[fateDropped]
	}
	retry := items[:0]
	for _, it := range items {
		if f := b.fate(&it, reason); f == fateRetried {
			retry = append(retry, it)
		} else {
			b.releaseLocked(&it, f, err)
		}
	}
	// At the front, in order: with one worker the records keep their order, and new records
	// never starve the retries.
	b.pending.pushFront(retry)
	if len(retry) < len(items) {
		b.grantLocked()
		if reason == DropRetriesExhausted && b.closing && !b.givingUp {
			// Otherwise a SIGTERM during an outage would last one retry budget per batch
			// held, hours with a full buffer: the collector gives Shutdown no deadline.
			b.givingUp, b.giveUpErr = true, err
		}
	}
}

// fate returns what becomes of it after a failed send for reason.
func (b *Batcher) fate(it *item, reason DropReason) fate {
	switch {
	case reason == DropPermanentError:
		return fateDropped
	case reason == DropRetriesExhausted && int(it.attempts) <= b.cfg.MaxRetries:
		return fateRetried
	case it.call.handsBack():
		return fateHandedBack
	}
	return fateDropped
}

// recycle frees a settled batch and cuts the worker's next batch if a trigger holds.
func (b *Batcher) recycle(bt *batch) *batch {
	b.mu.Lock()
	// The batch is reused; it must not keep the records' bytes alive.
	clear(bt.items)
	clear(bt.data)
	bt.items, bt.data = bt.items[:0], bt.data[:0]
	b.free = append(b.free, bt)
	// Under load the next batch is due now: cutting it here instead of in the dispatcher
	// saves two goroutine hand-offs per batch, which is what one sender in flight waits on.
	next := b.cutOneLocked(b.now())
	// The dispatcher is needed only for what this worker leaves: a timer to set, other
	// free workers, or the end of Shutdown.
	wake := next == nil || (len(b.free) > 0 && b.pending.len() > 0)
	b.mu.Unlock()
	if wake {
		b.signal()
	}
	if next != nil {
		b.obs.Flushed(next.trigger, len(next.items))
	}
	return next
}

// releaseLocked stops holding it, whose fate is settled; cause is the send error, if any.
func (b *Batcher) releaseLocked(it *item, f fate, cause error) {
	b.records--
	b.bytes -= len(it.data)
	c := it.call
	if c == nil {
		return
	}
	switch f {
	case fateHandedBack:
		c.handedBack = append(c.handedBack, int(it.pos))
		c.cause = cause
	case fateDropped:
		c.dropped++
		c.cause = cause
	}
	c.left--
	if c.left > 0 {
		return
	}
	// Released before an AddAndWait returns, so that its caller finds the memory released.
	if c.release != nil {
		c.release()
	}
	if c.done != nil {
		close(c.done)
	}
}
