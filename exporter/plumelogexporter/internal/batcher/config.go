package batcher // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/batcher"

import (
	"errors"
	"math"
	"math/rand/v2"
	"time"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/confcheck"
)

// Mode chooses when a batch that is neither full nor old enough may leave.
type Mode string

const (
	// ModeStrict lets a batch leave only when it holds BatchSize records or its oldest record
	// has waited FlushInterval. It gives the fullest batches and adds up to FlushInterval of
	// latency at low traffic.
	ModeStrict Mode = "strict"
	// ModeEager additionally lets whatever is pending leave as soon as no batch is in flight
	// and the oldest record has waited MinLinger. A lone record goes at once at low traffic;
	// under load records pile up while a batch is in flight, so batches fill by themselves.
	ModeEager Mode = "eager"
)

// Config tunes a Batcher; its keys are the exporter's batching keys. See the package
// documentation for each knob's effect on latency and throughput.
type Config struct {
	// BatchSize is the most records one send carries; a batch this full leaves at once.
	BatchSize int `mapstructure:"batch_size"`
	// FlushInterval is the longest the oldest pending record waits before its batch leaves.
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// Mode decides whether an idle sender takes a batch before it is full or old.
	Mode Mode `mapstructure:"mode"`
	// MinLinger is, in eager mode, the least age of the oldest record before an idle flush.
	MinLinger time.Duration `mapstructure:"min_linger"`
	// MaxLinger is, in eager mode, the most an idle flush waits for a fuller batch while
	// records arrive fast enough to fill one within MaxLinger; 0 never waits.
	MaxLinger time.Duration `mapstructure:"max_linger"`
	// MaxInFlight is the number of sends at once; 1 keeps records in order. Senders beyond
	// the first take only full or old batches.
	MaxInFlight int `mapstructure:"max_in_flight"`
	// MaxRetries is the number of retries each record gets after its first attempt.
	MaxRetries int `mapstructure:"max_retries"`
	// Backoff spaces the attempts after transient failures.
	Backoff Backoff `mapstructure:"backoff"`
	// Buffer bounds what the Batcher holds.
	Buffer Buffer `mapstructure:"buffer"`
}

// Backoff spaces the attempts that follow transient failures.
type Backoff struct {
	// InitialInterval is the wait after the first failure in a row.
	InitialInterval time.Duration `mapstructure:"initial_interval"`
	// MaxInterval caps the wait however many failures came in a row.
	MaxInterval time.Duration `mapstructure:"max_interval"`
	// Multiplier grows the wait after each further failure in a row.
	Multiplier float64 `mapstructure:"multiplier"`
	// Jitter, between 0 and 1, randomizes each wait within ±Jitter of its value, so that
	// several collectors that saw the same outage do not retry in step.
	Jitter float64 `mapstructure:"jitter"`
}

// Buffer bounds the records a Batcher holds: pending, in flight and awaiting a retry.
type Buffer struct {
	// MaxRecords bounds the records held.
	MaxRecords int `mapstructure:"max_records"`
	// MaxBytes bounds the bytes held, counted as the sum of the records' lengths.
	MaxBytes int `mapstructure:"max_bytes"`
	// BlockTimeout is how long Add waits for room; 0 makes Add fail at once with ErrBufferFull.
	BlockTimeout time.Duration `mapstructure:"block_timeout"`
}

// minDuration is the least flush interval, timeout or backoff that makes sense: anything
// shorter is a number written without a unit.
const minDuration = time.Millisecond

// Check reports every value that would keep a Batcher from working, by its key.
func (c Config) Check() error {
	errs := []error{
		confcheck.Duration("flush_interval", c.FlushInterval, minDuration, false, "s"),
		confcheck.Duration("min_linger", c.MinLinger, minDuration, true, "ms"),
		confcheck.Duration("max_linger", c.MaxLinger, minDuration, true, "ms"),
		confcheck.Within("backoff", c.Backoff.check()),
		confcheck.Within("buffer", c.Buffer.check()),
	}
	add := func(key, format string, args ...any) { errs = append(errs, confcheck.Errorf(key, format, args...)) }
	if c.BatchSize < 1 {
		add("batch_size", "must be positive, got %d", c.BatchSize)
	}
	if c.Mode != ModeStrict && c.Mode != ModeEager {
		add("mode", "must be %q or %q, got %q", ModeEager, ModeStrict, c.Mode)
	}
	if c.FlushInterval > 0 && c.MinLinger > c.FlushInterval {
		add("min_linger", "must not exceed flush_interval (%s), got %s", c.FlushInterval, c.MinLinger)
	}
	if c.MaxInFlight < 1 {
		add("max_in_flight", "must be positive, got %d", c.MaxInFlight)
	}
	if c.MaxRetries < 0 {
		add("max_retries", "must not be negative, got %d", c.MaxRetries)
	}
	return errors.Join(errs...)
}

func (bo Backoff) check() error {
	// A zero wait would let a failing destination be hammered in a loop.
	errs := []error{
		confcheck.Duration("initial_interval", bo.InitialInterval, minDuration, false, "ms"),
		confcheck.Duration("max_interval", bo.MaxInterval, minDuration, false, "s"),
	}
	if bo.InitialInterval > 0 && bo.MaxInterval >= minDuration && bo.MaxInterval < bo.InitialInterval {
		errs = append(errs, confcheck.Errorf("max_interval", "must be at least initial_interval (%s), got %s", bo.InitialInterval, bo.MaxInterval))
	}
	if bo.Multiplier < 1 {
		errs = append(errs, confcheck.Errorf("multiplier", "must be at least 1, got %g", bo.Multiplier))
	}
	if bo.Jitter < 0 || bo.Jitter > 1 {
		errs = append(errs, confcheck.Errorf("jitter", "must be between 0 and 1, got %g", bo.Jitter))
	}
	return errors.Join(errs...)
}

func (b Buffer) check() error {
	errs := []error{confcheck.Duration("block_timeout", b.BlockTimeout, minDuration, true, "ms")}
	if b.MaxRecords < 1 {
		errs = append(errs, confcheck.Errorf("max_records", "must be positive, got %d", b.MaxRecords))
	}
	if b.MaxBytes < 1 {
		errs = append(errs, confcheck.Errorf("max_bytes", "must be positive, got %d", b.MaxBytes))
	}
	return errors.Join(errs...)
}

// wait returns the pause after the n-th transient failure in a row (n ≥ 1).
func (bo Backoff) wait(n int) time.Duration {
	// Computed in float64 so that a long outage saturates at MaxInterval instead of overflowing.
	d := min(float64(bo.InitialInterval)*math.Pow(bo.Multiplier, float64(n-1)), float64(bo.MaxInterval))
	d *= 1 + bo.Jitter*(2*rand.Float64()-1)
	return time.Duration(d)
}
