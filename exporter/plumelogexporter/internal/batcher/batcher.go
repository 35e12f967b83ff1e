package batcher // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/batcher"

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
)

// SendFunc delivers one batch, all or nothing. An error wrapped by consumererror.NewPermanent
// means retrying cannot help; any other error is retried. SendFunc must return when ctx is
// cancelled, which happens when Shutdown's deadline passes, and must not keep batch after it
// returns: the slice is reused for the next batch.
type SendFunc func(ctx context.Context, batch [][]byte) error

// Trigger says why a batch left.
type Trigger string

const (
	// TriggerSize: BatchSize records were pending.
	TriggerSize Trigger = "size"
	// TriggerAge: the oldest pending record had waited FlushInterval.
	TriggerAge Trigger = "age"
	// TriggerIdle: in eager mode, a sender was idle and the oldest record had waited MinLinger.
	TriggerIdle Trigger = "idle"
	// TriggerShutdown: Shutdown flushes what is pending without lingering.
	TriggerShutdown Trigger = "shutdown"
)

// DropReason says why records were dropped.
type DropReason string

const (
	// DropRetriesExhausted: the records failed MaxRetries+1 times.
	DropRetriesExhausted DropReason = "retries_exhausted"
	// DropPermanentError: the send failed with a permanent error.
	DropPermanentError DropReason = "permanent_error"
	// DropShutdown: Shutdown's deadline passed before the records could be delivered.
	DropShutdown DropReason = "shutdown"
)

// Observer receives the batcher's events. It is called from the batcher's goroutines, before
// the outcome shows in Held or ends an AddAndWait; it must be fast and must not retain slices.
type Observer interface {
	// Flushed reports a batch that was cut and handed to a sender.
	Flushed(trigger Trigger, records int)
	// Delivered reports an acknowledged batch with one latency per record, from its
	// admission by Add to the acknowledgement.
	Delivered(latencies []time.Duration)
	// Retried reports the records of a failed batch that go back for another attempt.
	Retried(records int, err error)
	// Dropped reports records given up on; it is called once per failed batch and reason,
	// never per record.
	Dropped(records int, reason DropReason, err error)
}

var (
	// ErrQueueFull means the records did not fit within the queue limits in time. It is
	// retryable: a collector receiver turns it into back-pressure on its client.
	ErrQueueFull = errors.New("batcher: queue full")
	// ErrClosed means Shutdown was called.
	ErrClosed = errors.New("batcher: closed")
)

// Batcher collects records into batches and hands them to a SendFunc. Its methods are safe
// for concurrent use.
type Batcher struct {
	cfg   Config
	send  SendFunc
	obs   Observer
	start time.Time // origin of the monotonic clock that item and gate times use

	// wake has room for one signal, so a signal sent while the dispatcher is busy is not
	// lost and a burst of them costs one loop.
	wake chan struct{}
	// work has room for Concurrency batches, which is all there can be, so handing a batch
	// over never blocks the dispatcher.
	work chan *batch
	done chan struct{} // closed once the dispatcher and the workers have exited

	sendCtx    context.Context // cancelled when Shutdown's deadline passes
	cancelSend context.CancelFunc
	// aborting is also read without mu by workers deciding how to settle a failed batch; a
	// stale false only sends the batch back to the queue, where the dispatcher drops it.
	aborting atomic.Bool

	mu       sync.Mutex
	pending  queue
	free     []*batch // one per idle worker
	records  int      // held: pending, in flight and awaiting a retry
	bytes    int
	failures int           // transient failures in a row
	gate     time.Duration // nothing leaves before this time, after a transient failure
	closing  bool
	abortErr error
	// givingUp is set when a batch uses up its retries during Shutdown: Redis stayed out of
	// reach for a whole retry budget, and the records behind it are given up at once rather
	// than each waiting a budget of its own. giveUpErr is the error that ended the budget.
	givingUp  bool
	giveUpErr error
	// shutdownDropped counts the records dropped because Shutdown's deadline passed.
	shutdownDropped int
	// waiting holds the Adds that wait for room, in arrival order. Freed room goes to the
	// first of them while it fits and new Adds queue behind them, so that freeing one batch
	// wakes the one Add it makes room for, and small requests never starve a large one.
	waiting []*roomWaiter
	// granted holds the Adds whose room is reserved but that have not taken it yet.
	granted []*roomWaiter
}

// batch is a set of records in flight. There is one per worker, reused.
type batch struct {
	trigger Trigger
	items   []item
	data    [][]byte
}

// roomWaiter is an Add waiting for room. Room is reserved when it is granted, so that the
// same freed room is never promised twice.
type roomWaiter struct {
	records, bytes int
	granted        bool
	// wake is closed when the room is granted or when Shutdown begins.
	wake chan struct{}
}

// waiter follows the records of one AddAndWait call until each is delivered or dropped.
type waiter struct {
	total, left, dropped int
	reason               DropReason
	cause                error
	done                 chan struct{}
}

// New starts a Batcher that delivers through send and reports to obs, which may be nil.
// It panics if cfg.Validate fails: a configuration must be validated when it is loaded.
// Shutdown stops the Batcher's goroutines.
func New(cfg Config, send SendFunc, obs Observer) *Batcher {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	if obs == nil {
		obs = nopObserver{}
	}
	sendCtx, cancelSend := context.WithCancel(context.Background())
	b := &Batcher{
		cfg:        cfg,
		send:       send,
		obs:        obs,
		start:      time.Now(),
		wake:       make(chan struct{}, 1),
		work:       make(chan *batch, cfg.Concurrency),
		done:       make(chan struct{}),
		sendCtx:    sendCtx,
		cancelSend: cancelSend,
		pending:    newQueue(cfg.MaxQueueRecords),
		free:       make([]*batch, cfg.Concurrency),
	}
	for i := range b.free {
		b.free[i] = &batch{}
	}
	go b.dispatch()
	return b
}

// Add admits items, all or none. The Batcher keeps the slices, not copies, until they are
// delivered or dropped; the caller must not modify them.
//
// When the queue limits leave no room, Add fails with ErrQueueFull at once if BlockTimeout
// is 0, and otherwise waits up to BlockTimeout, or until ctx ends, for room. Items larger
// than a whole queue are admitted once the queue is empty, so that one oversize request
// still makes progress; the limits are exceeded by that request alone. After Shutdown, Add
// fails with ErrClosed.
func (b *Batcher) Add(ctx context.Context, items [][]byte) error {
	return b.admit(ctx, items, nil)
}

// AddAndWait admits items like Add, then waits until every one of them is delivered (nil)
// or settled otherwise, or ctx ends (ctx's error; the records stay queued). It suits a
// durable queue in front of the Batcher, which must keep a request until its records are
// acknowledged. Records that use up their retries are handed back rather than dropped: the
// error says how many, is retryable, and the caller keeps the request (Observer.Dropped does
// not hear of them). Records dropped for a permanent error, or at Shutdown's deadline, are
// dropped as with Add; the error names the count and the reason, and is permanent
// (consumererror.NewPermanent) for a permanent error.
func (b *Batcher) AddAndWait(ctx context.Context, items [][]byte) error {
	w := &waiter{total: len(items), left: len(items), done: make(chan struct{})}
	if err := b.admit(ctx, items, w); err != nil || len(items) == 0 {
		return err
	}
	select {
	case <-w.done:
		return w.result()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Held returns the records and bytes held: pending, in flight and awaiting a retry.
func (b *Batcher) Held() (records, bytes int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.records, b.bytes
}

// Shutdown stops admitting records and flushes the ones held, retries following the usual
// backoff. When ctx ends first, sends in flight are cancelled and every record still held is
// dropped with DropShutdown, and Shutdown returns an error counting them. All goroutines
// have exited when Shutdown returns. Calling it again waits the same way and returns the
// same result.
func (b *Batcher) Shutdown(ctx context.Context) error {
	b.mu.Lock()
	if !b.closing {
		b.closing = true
		// Adds that have not taken their room yet fail with ErrClosed: the dispatcher may
		// already have flushed everything and stopped.
		for _, rw := range b.granted {
			b.records -= rw.records
			b.bytes -= rw.bytes
			rw.granted = false
		}
		for _, rw := range b.waiting {
			close(rw.wake)
		}
		b.granted, b.waiting = nil, nil
	}
	b.mu.Unlock()
	b.signal()

	select {
	case <-b.done:
	case <-ctx.Done():
		b.abort(context.Cause(ctx))
		<-b.done
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.shutdownDropped > 0 {
		return fmt.Errorf("batcher: %d records dropped at shutdown: %w", b.shutdownDropped, b.abortErr)
	}
	return nil
}

func (b *Batcher) admit(ctx context.Context, items [][]byte, w *waiter) error {
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
	case b.cfg.BlockTimeout == 0:
		b.mu.Unlock()
		return ErrQueueFull
	default:
		if err := b.waitForRoomLocked(ctx, len(items), size); err != nil {
			b.mu.Unlock()
			return err
		}
	}
	// Taken under the lock so that admission times never decrease along the queue and the
	// front is the oldest record, as the age trigger assumes.
	now := b.now()
	before := b.pending.len()
	b.pending.reserve(len(items))
	for _, data := range items {
		b.pending.pushBack(item{data: data, added: now, waiter: w})
	}
	b.mu.Unlock()
	// The dispatcher's plan changes only when a first record starts a linger or the queue
	// reaches BatchSize; other Adds need not wake it.
	if before == 0 || (before < b.cfg.BatchSize && before+len(items) >= b.cfg.BatchSize) {
		b.signal()
	}
	return nil
}

// waitForRoomLocked queues an Add of records and bytes until its room is granted and
// reserved, BlockTimeout passes, ctx ends or Shutdown begins. It releases mu while it waits
// and holds it again when it returns, so that Shutdown cannot begin between the grant and
// the records joining the queue.
func (b *Batcher) waitForRoomLocked(ctx context.Context, records, bytes int) error {
	rw := &roomWaiter{records: records, bytes: bytes, wake: make(chan struct{})}
	b.waiting = append(b.waiting, rw)
	b.mu.Unlock()

	timer := time.NewTimer(b.cfg.BlockTimeout)
	defer timer.Stop()
	var err error
	select {
	case <-rw.wake:
	case <-timer.C:
		err = fmt.Errorf("%w: no room for %d records within %s", ErrQueueFull, records, b.cfg.BlockTimeout)
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
		(b.records+records <= b.cfg.MaxQueueRecords && b.bytes+bytes <= b.cfg.MaxQueueBytes)
}

// dispatch cuts batches when a worker is free and a trigger holds, and sleeps until the next
// trigger is due or something wakes it. It owns the workers and ends them when Shutdown has
// nothing more to flush.
func (b *Batcher) dispatch() {
	var workers sync.WaitGroup
	for range b.cfg.Concurrency {
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
	cut := make([]*batch, 0, b.cfg.Concurrency)
	for {
		b.mu.Lock()
		if (b.aborting.Load() || b.givingUp) && b.pending.len() > 0 {
			b.dropPendingLocked()
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

// dropPendingLocked gives up every pending record: with DropShutdown once Shutdown's deadline
// has passed, else as retries exhausted (see givingUp), which hands the records of AddAndWait
// callers back to them rather than dropping them. It releases mu while it tells the observer,
// which hears of the drop before the room is freed, as for every other outcome.
func (b *Batcher) dropPendingLocked() {
	reason, cause := DropShutdown, b.abortErr
	if !b.aborting.Load() {
		reason, cause = DropRetriesExhausted, b.giveUpErr
	}
	items := make([]item, 0, b.pending.len())
	for b.pending.len() > 0 {
		items = append(items, b.pending.popFront())
	}
	dropped := 0
	for i := range items {
		if reason == DropShutdown || items[i].waiter == nil {
			dropped++
		}
	}
	b.mu.Unlock()
	if dropped > 0 {
		b.obs.Dropped(dropped, reason, cause)
	}
	b.mu.Lock()
	for i := range items {
		b.releaseLocked(&items[i], reason, cause)
	}
	if reason == DropShutdown {
		b.shutdownDropped += len(items)
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
	trigger := b.triggerLocked(now)
	if trigger == "" {
		return nil
	}
	bt := b.free[len(b.free)-1]
	b.free = b.free[:len(b.free)-1]
	bt.trigger = trigger
	for range min(b.pending.len(), b.cfg.BatchSize) {
		bt.items = append(bt.items, b.pending.popFront())
	}
	return bt
}

func (b *Batcher) triggerLocked(now time.Duration) Trigger {
	age := now - b.pending.front().added
	switch {
	case b.pending.len() >= b.cfg.BatchSize:
		return TriggerSize
	case age >= b.cfg.FlushInterval:
		return TriggerAge
	case b.closing:
		return TriggerShutdown
	case b.cfg.Mode == ModeEager && age >= b.cfg.MinLinger:
		return TriggerIdle
	}
	return ""
}

// nextWakeLocked returns how long the dispatcher may sleep before a trigger is due (0: until
// woken), and whether it is done. It runs right after cutLocked, so nothing is due now.
func (b *Batcher) nextWakeLocked(now time.Duration) (wait time.Duration, finished bool) {
	switch {
	case b.pending.len() == 0:
		return 0, b.closing && len(b.free) == b.cfg.Concurrency
	case len(b.free) == 0 || b.aborting.Load() || b.givingUp:
		return 0, false // a worker that finishes wakes the dispatcher
	case now < b.gate:
		return b.gate - now, false
	}
	linger := b.cfg.FlushInterval
	if b.cfg.Mode == ModeEager {
		linger = min(linger, b.cfg.MinLinger)
	}
	return b.pending.front().added + linger - now, false
}

// sendBatches is a worker: it sends the batches the dispatcher cuts, and those it cuts for
// itself when it finishes one, until Shutdown.
func (b *Batcher) sendBatches() {
	var latencies []time.Duration
	for bt := range b.work {
		for bt != nil {
			for i := range bt.items {
				bt.data = append(bt.data, bt.items[i].data)
			}
			err := b.send(b.sendCtx, bt.data)
			latencies, bt = b.settle(bt, err, latencies)
		}
	}
}

// settle accounts for a sent batch and frees it, then cuts the worker's next batch if a
// trigger holds, which it returns. latencies is the worker's buffer for Observer.Delivered,
// returned for reuse.
func (b *Batcher) settle(bt *batch, err error, latencies []time.Duration) ([]time.Duration, *batch) {
	items := bt.items
	// The observer is told first, so that it has counted an outcome by the time Held or
	// AddAndWait shows it. Until the batch goes back, its items belong to this worker.
	var dropAll DropReason
	switch {
	case err == nil:
		now := b.now()
		latencies = latencies[:0]
		for i := range items {
			latencies = append(latencies, now-items[i].added)
		}
		b.obs.Delivered(latencies)
	case consumererror.IsPermanent(err):
		dropAll = DropPermanentError
	case b.aborting.Load():
		dropAll = DropShutdown
	default:
		// A record whose retries run out is dropped, unless an AddAndWait caller waits for
		// it: that caller gets it back and keeps it (a durable queue retries it later), so
		// it is neither lost nor reported as dropped.
		exhausted, handedBack := 0, 0
		for i := range items {
			items[i].attempts++
			if items[i].attempts > b.cfg.MaxRetries {
				if items[i].waiter != nil {
					handedBack++
				} else {
					exhausted++
				}
			}
		}
		if n := len(items) - exhausted - handedBack; n > 0 {
			b.obs.Retried(n, err)
		}
		if exhausted > 0 {
			b.obs.Dropped(exhausted, DropRetriesExhausted, err)
		}
	}
	if dropAll != "" {
		b.obs.Dropped(len(items), dropAll, err)
	}

	b.mu.Lock()
	released := len(items)
	switch {
	case err == nil:
		b.failures = 0
		for i := range items {
			b.releaseLocked(&items[i], "", nil)
		}
	case dropAll != "":
		for i := range items {
			b.releaseLocked(&items[i], dropAll, err)
		}
		if dropAll == DropShutdown {
			b.shutdownDropped += len(items)
		}
	default:
		b.failures++
		b.gate = b.now() + b.cfg.Backoff.wait(b.failures)
		retry := items[:0]
		for _, it := range items {
			if it.attempts > b.cfg.MaxRetries {
				b.releaseLocked(&it, DropRetriesExhausted, err)
			} else {
				retry = append(retry, it)
			}
		}
		// At the front, in order: with one worker the records keep their order, and new
		// records never starve the retries.
		b.pending.pushFront(retry)
		released -= len(retry)
		if b.closing && len(retry) < len(items) && !b.givingUp {
			// Otherwise a SIGTERM during an outage would last one retry budget per batch
			// held, hours with a full buffer: the collector gives Shutdown no deadline.
			b.givingUp, b.giveUpErr = true, err
		}
	}
	if released > 0 {
		b.grantLocked()
	}
	// The batch is reused; it must not keep the records' bytes alive.
	clear(items)
	clear(bt.data)
	bt.items, bt.data = items[:0], bt.data[:0]
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
	return latencies, next
}

// releaseLocked stops holding it, which was delivered (reason "") or dropped.
func (b *Batcher) releaseLocked(it *item, reason DropReason, cause error) {
	b.records--
	b.bytes -= len(it.data)
	w := it.waiter
	if w == nil {
		return
	}
	if reason != "" {
		w.dropped++
		// A retryable reason wins over a permanent one: retrying the request can still
		// deliver some of its records.
		if w.reason == "" || reason != DropPermanentError {
			w.reason, w.cause = reason, cause
		}
	}
	w.left--
	if w.left == 0 {
		close(w.done)
	}
}

// abort makes the Batcher give up on the records it holds.
func (b *Batcher) abort(cause error) {
	b.mu.Lock()
	if !b.aborting.Load() {
		b.abortErr = cause
		b.aborting.Store(true)
	}
	b.mu.Unlock()
	b.cancelSend()
	b.signal()
}

func (b *Batcher) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// now reads the Batcher's monotonic clock.
func (b *Batcher) now() time.Duration { return time.Since(b.start) }

// result is the outcome of an AddAndWait whose records have all been settled.
func (w *waiter) result() error {
	if w.dropped == 0 {
		return nil
	}
	if w.reason == DropRetriesExhausted {
		return fmt.Errorf("batcher: %d of %d records not delivered within their retries, handed back: %w", w.dropped, w.total, w.cause)
	}
	err := fmt.Errorf("batcher: %d of %d records dropped (%s): %w", w.dropped, w.total, w.reason, w.cause)
	if w.reason == DropPermanentError {
		return consumererror.NewPermanent(err)
	}
	return err
}

type nopObserver struct{}

func (nopObserver) Flushed(Trigger, int)           {}
func (nopObserver) Delivered([]time.Duration)      {}
func (nopObserver) Retried(int, error)             {}
func (nopObserver) Dropped(int, DropReason, error) {}
