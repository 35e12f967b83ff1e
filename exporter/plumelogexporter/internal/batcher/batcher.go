package batcher // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/batcher"

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// SendFunc delivers one batch, all or nothing. An error wrapped by consumererror.NewPermanent
// means retrying cannot help; any other error is retried. SendFunc must return when ctx is
// cancelled, which happens when Shutdown's deadline passes, and must not keep batch after it
// returns: the slice is reused for the next batch.
type SendFunc func(ctx context.Context, batch [][]byte) error

// Batcher collects records into batches and hands them to a SendFunc. Its methods are safe
// for concurrent use. Admission is in admit.go, cutting batches in dispatch.go, and
// accounting for their outcome in settle.go.
type Batcher struct {
	cfg   Config
	send  SendFunc
	obs   Observer
	start time.Time // origin of the monotonic clock that item and gate times use

	// wake has room for one signal, so a signal sent while the dispatcher is busy is not
	// lost and a burst of them costs one loop.
	wake chan struct{}
	// work has room for MaxInFlight batches, which is all there can be, so handing a batch
	// over never blocks the dispatcher.
	work chan *batch
	done chan struct{} // closed once the dispatcher and the workers have exited

	sendCtx    context.Context // cancelled when Shutdown's deadline passes
	cancelSend context.CancelFunc
	// aborting is also read without mu by workers deciding how to settle a failed batch; a
	// stale false only sends the batch back to the buffer, where the dispatcher drops it.
	aborting atomic.Bool

	mu       sync.Mutex
	pending  ring
	free     []*batch // one per idle worker
	records  int      // held: pending, in flight and awaiting a retry
	bytes    int
	failures int           // transient failures in a row
	gate     time.Duration // nothing leaves before this time, after a transient failure
	closing  bool
	abortErr error
	// givingUp is set when a batch uses up its retries during Shutdown: the destination stayed
	// out of reach for a whole retry budget, and the records behind it are given up at once
	// rather than each waiting a budget of its own. giveUpErr is the error that ended the
	// budget.
	givingUp  bool
	giveUpErr error
	// admitted counts the records ever admitted, and admittedAtCut and lastCut are that count
	// and the time when the last batch was cut: the rate records arrive at since then.
	admitted      int64
	admittedAtCut int64
	lastCut       time.Duration
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

// New starts a Batcher that delivers through send and reports to obs, which may be nil.
// It panics if cfg.Check fails: a configuration must be checked when it is loaded.
// Shutdown stops the Batcher's goroutines.
func New(cfg Config, send SendFunc, obs Observer) *Batcher {
	if err := cfg.Check(); err != nil {
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
		work:       make(chan *batch, cfg.MaxInFlight),
		done:       make(chan struct{}),
		sendCtx:    sendCtx,
		cancelSend: cancelSend,
		pending:    newRing(cfg.Buffer.MaxRecords),
		free:       make([]*batch, cfg.MaxInFlight),
	}
	for i := range b.free {
		b.free[i] = &batch{}
	}
	go b.dispatch()
	return b
}

// Held returns the records and bytes held: pending, in flight and awaiting a retry.
func (b *Batcher) Held() (records, bytes int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.records, b.bytes
}

// Shutdown stops admitting records and flushes the ones held, retries following the usual
// backoff. When ctx ends first, sends in flight are cancelled and every record still held is
// given up: handed back to its AddAndWait caller, or dropped with DropShutdown, which
// Shutdown's error counts. All goroutines have exited when Shutdown returns. Calling it
// again waits the same way and returns the same result.
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
