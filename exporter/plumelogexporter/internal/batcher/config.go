package batcher // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/batcher"

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Mode chooses when a batch that is neither full nor old enough may leave.
type Mode string

const (
	// ModeStrict lets a batch leave only when it holds BatchSize records or its oldest record
	// has waited FlushInterval. It gives the fullest batches and adds up to FlushInterval of
	// latency at low traffic.
	ModeStrict Mode = "strict"
	// ModeEager additionally lets whatever is pending leave as soon as a sender is idle and the
	// oldest record has waited MinLinger. A lone record goes at once at low traffic; under
	// load records pile up while every sender is busy, so batches fill by themselves.
	ModeEager Mode = "eager"
)

// Backoff spaces the attempts that follow transient failures.
type Backoff struct {
	// Initial is the wait after the first failure in a row.
	Initial time.Duration
	// Max caps the wait however many failures came in a row.
	Max time.Duration
	// Multiplier grows the wait after each further failure in a row.
	Multiplier float64
	// Jitter, between 0 and 1, randomizes each wait within ±Jitter of its value, so that
	// several collectors that saw the same outage do not retry in step.
	Jitter float64
}

// Config tunes a Batcher. See the package documentation for each knob's effect on latency and
// throughput.
type Config struct {
	// BatchSize is the most records one send carries; a batch this full leaves at once.
	BatchSize int
	// FlushInterval is the longest the oldest pending record waits before its batch leaves.
	FlushInterval time.Duration
	// Mode decides whether an idle sender takes a batch before it is full or old.
	Mode Mode
	// MinLinger is, in eager mode, the least age of the oldest record before an idle flush.
	MinLinger time.Duration
	// Concurrency is the number of sends in flight at once; 1 keeps records in order.
	Concurrency int
	// MaxQueueRecords bounds the records held: pending, in flight and awaiting a retry.
	MaxQueueRecords int
	// MaxQueueBytes bounds the bytes held, counted as the sum of the records' lengths.
	MaxQueueBytes int
	// BlockTimeout is how long Add waits for room; 0 makes Add fail at once with ErrQueueFull.
	BlockTimeout time.Duration
	// MaxRetries is the number of retries each record gets after its first attempt.
	MaxRetries int
	// Backoff spaces the attempts after transient failures.
	Backoff Backoff
}

// Validate reports every field that would keep a Batcher from working.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.BatchSize < 1 {
		add("BatchSize must be positive, got %d", c.BatchSize)
	}
	if c.FlushInterval <= 0 {
		add("FlushInterval must be positive, got %s", c.FlushInterval)
	}
	if c.Mode != ModeStrict && c.Mode != ModeEager {
		add("Mode must be %q or %q, got %q", ModeStrict, ModeEager, c.Mode)
	}
	if c.MinLinger < 0 {
		add("MinLinger must not be negative, got %s", c.MinLinger)
	}
	if c.Concurrency < 1 {
		add("Concurrency must be positive, got %d", c.Concurrency)
	}
	if c.MaxQueueRecords < 1 {
		add("MaxQueueRecords must be positive, got %d", c.MaxQueueRecords)
	}
	if c.MaxQueueBytes < 1 {
		add("MaxQueueBytes must be positive, got %d", c.MaxQueueBytes)
	}
	if c.BlockTimeout < 0 {
		add("BlockTimeout must not be negative, got %s", c.BlockTimeout)
	}
	if c.MaxRetries < 0 {
		add("MaxRetries must not be negative, got %d", c.MaxRetries)
	}
	// A zero wait would let a failing Redis be hammered in a loop.
	if c.Backoff.Initial <= 0 {
		add("Backoff.Initial must be positive, got %s", c.Backoff.Initial)
	}
	if c.Backoff.Max < c.Backoff.Initial {
		add("Backoff.Max must be at least Backoff.Initial, got %s", c.Backoff.Max)
	}
	if c.Backoff.Multiplier < 1 {
		add("Backoff.Multiplier must be at least 1, got %g", c.Backoff.Multiplier)
	}
	if c.Backoff.Jitter < 0 || c.Backoff.Jitter > 1 {
		add("Backoff.Jitter must be between 0 and 1, got %g", c.Backoff.Jitter)
	}
	return errors.Join(errs...)
}

// wait returns the pause after the n-th transient failure in a row (n ≥ 1).
func (bo Backoff) wait(n int) time.Duration {
	// Computed in float64 so that a long outage saturates at Max instead of overflowing.
	d := min(float64(bo.Initial)*math.Pow(bo.Multiplier, float64(n-1)), float64(bo.Max))
	d *= 1 + bo.Jitter*(2*rand.Float64()-1)
	return time.Duration(d)
}
