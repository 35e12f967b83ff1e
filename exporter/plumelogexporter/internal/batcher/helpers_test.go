package batcher

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Generous bounds keep the tests steady on a loaded machine: timers never fire early, so
// "not before" bounds are exact, and "within" bounds only need to be long enough.
const (
	within = 5 * time.Second
	tick   = 2 * time.Millisecond
)

var (
	errTransient = errors.New("redis unavailable")
	errBad       = errors.New("malformed record")
)

// testConfig is a strict batcher that never flushes by age unless a test says so.
func testConfig(change func(*Config)) Config {
	cfg := Config{
		BatchSize:     10,
		FlushInterval: time.Hour,
		Mode:          ModeStrict,
		MaxInFlight:   1,
		Buffer:        Buffer{MaxRecords: 1000, MaxBytes: 1 << 20},
		MaxRetries:    3,
		Backoff:       Backoff{InitialInterval: time.Millisecond, MaxInterval: 10 * time.Millisecond, Multiplier: 2},
	}
	if change != nil {
		change(&cfg)
	}
	return cfg
}

// sendCall is one invocation of the fake send function.
type sendCall struct {
	records    []string
	start, end time.Time
	err        error
}

// sink is a fake SendFunc that records every batch. respond decides the outcome of the n-th
// call (from 0); nil means success.
type sink struct {
	respond func(ctx context.Context, n int) error

	started atomic.Int32
	mu      sync.Mutex
	calls   []sendCall
}

func (s *sink) send(ctx context.Context, batch [][]byte) error {
	c := sendCall{start: time.Now(), records: make([]string, len(batch))}
	for i, r := range batch {
		c.records[i] = string(r)
	}
	n := int(s.started.Add(1)) - 1
	if s.respond != nil {
		c.err = s.respond(ctx, n)
	}
	c.end = time.Now()
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
	return c.err
}

func (s *sink) snapshot() []sendCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sendCall(nil), s.calls...)
}

// delivered lists the records of the successful calls, in the order the calls ended.
func (s *sink) delivered() []string {
	var out []string
	for _, c := range s.snapshot() {
		if c.err == nil {
			out = append(out, c.records...)
		}
	}
	return out
}

func (s *sink) sizes() []int {
	var out []int
	for _, c := range s.snapshot() {
		out = append(out, len(c.records))
	}
	return out
}

// blockUntil makes a respond function that holds every call until release is closed or the
// send is cancelled.
func blockUntil(release <-chan struct{}) func(context.Context, int) error {
	return func(ctx context.Context, _ int) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

type flush struct {
	trigger Trigger
	records int
}

type drop struct {
	records int
	reason  DropReason
	err     error
}

// observer records the batcher's events.
type observer struct {
	mu             sync.Mutex
	flushes        []flush
	delivered      int
	deliveredCalls int
	retried        []int
	drops          []drop
}

func (o *observer) Flushed(trigger Trigger, records int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.flushes = append(o.flushes, flush{trigger, records})
}

func (o *observer) Delivered(records int, oldest, total time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if oldest < 0 || total < oldest || total > time.Duration(records)*oldest {
		panic(fmt.Sprintf("delivered %d records, oldest waited %s, %s in all", records, oldest, total))
	}
	o.delivered += records
	o.deliveredCalls++
}

func (o *observer) Retried(records int, _ error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.retried = append(o.retried, records)
}

func (o *observer) Dropped(records int, reason DropReason, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.drops = append(o.drops, drop{records, reason, err})
}

func (o *observer) flushList() []flush {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]flush(nil), o.flushes...)
}

func (o *observer) deliveredCount() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.delivered
}

func (o *observer) retriedList() []int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]int(nil), o.retried...)
}

func (o *observer) dropList() []drop {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]drop(nil), o.drops...)
}

func (o *observer) droppedCount() int {
	n := 0
	for _, d := range o.dropList() {
		n += d.records
	}
	return n
}

// start runs a batcher for the test; the test's cleanup shuts it down.
func start(t *testing.T, cfg Config, s *sink) (*Batcher, *observer) {
	t.Helper()
	obs := &observer{}
	b := New(cfg, s.send, obs)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), within)
		defer cancel()
		_ = b.Shutdown(ctx)
	})
	return b, obs
}

func shutdown(t *testing.T, b *Batcher) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	return b.Shutdown(ctx)
}

// records makes n distinct records named prefix-0, prefix-1, ...
func records(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(prefix + "-" + strconv.Itoa(i))
	}
	return out
}

func names(recs [][]byte) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = string(r)
	}
	return out
}
