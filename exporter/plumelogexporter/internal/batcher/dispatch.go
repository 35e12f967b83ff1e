package batcher // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/batcher"

import (
	"sync"
	"time"
)

// dispatch cuts batches when a worker is free and a trigger holds, and sleeps until the next
// trigger is due or something wakes it. It owns the workers and ends them when Shutdown has
// nothing more to flush.
func (b *Batcher) dispatch() {
	var workers sync.WaitGroup
	for range b.cfg.MaxInFlight {
		workers.Go(b.sendBatches)
	}
	defer func() {
		close(b.work)
		workers.Wait()
		b.cancelSend()
		close(b.done)
	}()

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	cut := make([]*batch, 0, b.cfg.MaxInFlight)
	for {
		b.mu.Lock()
		if (b.aborting.Load() || b.givingUp) && b.pending.len() > 0 {
			b.giveUpPendingLocked()
		}
		now := b.now()
		cut = b.cutLocked(now, cut[:0])
		wait, finished := b.nextWakeLocked(now)
		b.mu.Unlock()

		for _, bt := range cut {
			b.obs.Flushed(bt.trigger, len(bt.items))
			b.work <- bt
		}
		if finished {
			return
		}
		if wait > 0 {
			timer.Reset(wait)
		}
		select {
		case <-b.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// giveUpPendingLocked settles every pending record once Shutdown's deadline has passed, or
// once a batch used up its retries during Shutdown (see givingUp): it hands back those of
// AddAndWait callers and drops the others. It releases mu while it tells the observer, which
// hears of the drop before the room is freed, as for every other outcome.
func (b *Batcher) giveUpPendingLocked() {
	reason, cause := DropShutdown, b.abortErr
	if !b.aborting.Load() {
		reason, cause = DropRetriesExhausted, b.giveUpErr
	}
	items := make([]item, 0, b.pending.len())
	dropped := 0
	for b.pending.len() > 0 {
		it := b.pending.popFront()
		if !it.call.handsBack() {
			dropped++
		}
		items = append(items, it)
	}
	if dropped > 0 {
		b.mu.Unlock()
		b.obs.Dropped(dropped, reason, cause)
		b.mu.Lock()
	}
	for i := range items {
		f := fateDropped
		if items[i].call.handsBack() {
			f = fateHandedBack
		}
		b.releaseLocked(&items[i], f, cause)
	}
	if reason == DropShutdown {
		b.shutdownDropped += dropped
	}
}

func (b *Batcher) cutLocked(now time.Duration, cut []*batch) []*batch {
	for {
		bt := b.cutOneLocked(now)
		if bt == nil {
			return cut
		}
		cut = append(cut, bt)
	}
}

// cutOneLocked cuts a batch for a free worker if a trigger holds, and returns nil otherwise.
func (b *Batcher) cutOneLocked(now time.Duration) *batch {
	if len(b.free) == 0 || b.pending.len() == 0 || now < b.gate || b.aborting.Load() || b.givingUp {
		return nil
	}
	trigger, ok := b.triggerLocked(now)
	if !ok {
		return nil
	}
	bt := b.free[len(b.free)-1]
	b.free = b.free[:len(b.free)-1]
	bt.trigger = trigger
	b.lastCut, b.admittedAtCut = now, b.admitted
	for range min(b.pending.len(), b.cfg.BatchSize) {
		bt.items = append(bt.items, b.pending.popFront())
	}
	return bt
}

// triggerLocked returns why a batch may leave now, if it may. A batch that starts with
// records sent before is a retry, whichever trigger lets it go: retried records keep their
// admission time, so their age would otherwise count them as a flush by age.
func (b *Batcher) triggerLocked(now time.Duration) (Trigger, bool) {
	front := b.pending.front()
	age := now - front.added
	var t Trigger
	switch {
	case b.pending.len() >= b.cfg.BatchSize:
		t = TriggerSize
	case age >= b.cfg.FlushInterval:
		t = TriggerAge
	case b.closing:
		t = TriggerShutdown
	case b.cfg.Mode == ModeEager && len(b.free) == b.cfg.MaxInFlight && now >= b.idleAtLocked():
		// Only while nothing is in flight: the other senders take full or old batches, so that
		// below the rate one sender carries, batches stay as few and as full as with one.
		t = TriggerIdle
	default:
		return 0, false
	}
	if front.attempts > 0 {
		t = TriggerRetry
	}
	return t, true
}

// nextWakeLocked returns how long the dispatcher may sleep before a trigger is due (0: until
// woken), and whether it is done. It runs right after cutLocked, so nothing is due now.
func (b *Batcher) nextWakeLocked(now time.Duration) (wait time.Duration, finished bool) {
	switch {
	case b.pending.len() == 0:
		return 0, b.closing && len(b.free) == b.cfg.MaxInFlight
	case len(b.free) == 0 || b.aborting.Load() || b.givingUp:
		return 0, false // a worker that finishes wakes the dispatcher
	case now < b.gate:
		return b.gate - now, false
	}
	due := b.pending.front().added + b.cfg.FlushInterval
	if b.cfg.Mode == ModeEager && len(b.free) == b.cfg.MaxInFlight {
		due = min(due, b.idleAtLocked())
	}
	return due - now, false
}

// idleAtLocked returns when an idle sender may take the pending records in eager mode, if no
// more arrive: once the oldest has waited MinLinger, and not while the batch is filling, that
// is while the oldest has waited less than MaxLinger and the records that arrived since the
// last cut came fast enough to fill a batch within MaxLinger. Without arrivals that rate falls
// as time passes, so the wait it adds is at most MaxLinger × (arrivals ÷ BatchSize) after the
// last cut: nothing for the few records of low traffic, which leave at once, and up to
// MaxLinger under load, where a full batch then leaves at once by the size trigger.
//
// Nor does a batch wait when no more records can come until it leaves: while Adds wait for
// room, or when its records' caller waits for their delivery (AddAndWait, as a sending
// queue's consumers do).
func (b *Batcher) idleAtLocked() time.Duration {
	front := b.pending.front()
	added := front.added
	if len(b.waiting) > 0 || front.call.handsBack() {
		return added + b.cfg.MinLinger
	}
	arrived := float64(b.admitted - b.admittedAtCut)
	fillingUntil := b.lastCut + time.Duration(arrived*float64(b.cfg.MaxLinger)/float64(b.cfg.BatchSize))
	return max(added+b.cfg.MinLinger, min(added+b.cfg.MaxLinger, fillingUntil))
}
