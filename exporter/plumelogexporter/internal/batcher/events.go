package batcher // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/batcher"

import (
	"errors"
	"time"
)

// Trigger says why a batch left.
type Trigger uint8

const (
	// TriggerSize: BatchSize records were pending.
	TriggerSize Trigger = iota
	// TriggerAge: the oldest pending record had waited FlushInterval.
	TriggerAge
	// TriggerIdle: in eager mode, a sender was idle and the oldest record had waited MinLinger.
	TriggerIdle
	// TriggerRetry: the batch starts with records sent before, once their backoff passed.
	TriggerRetry
	// TriggerShutdown: Shutdown flushes what is pending without lingering.
	TriggerShutdown
	// NumTriggers counts the triggers; each is below it.
	NumTriggers
)

var triggerNames = [NumTriggers]string{
	TriggerSize: "size", TriggerAge: "age", TriggerIdle: "idle", TriggerRetry: "retry", TriggerShutdown: "shutdown",
}

func (t Trigger) String() string { return triggerNames[t] }

// DropReason says why records were dropped.
type DropReason uint8

const (
	// DropRetriesExhausted: the records failed MaxRetries+1 times.
	DropRetriesExhausted DropReason = iota
	// DropPermanentError: the send failed with a permanent error.
	DropPermanentError
	// DropShutdown: Shutdown's deadline passed before the records could be delivered.
	DropShutdown
	// NumDropReasons counts the reasons; each is below it.
	NumDropReasons
)

var dropReasonNames = [NumDropReasons]string{
	DropRetriesExhausted: "retries_exhausted", DropPermanentError: "permanent_error", DropShutdown: "shutdown",
}

func (r DropReason) String() string { return dropReasonNames[r] }

// Observer receives the batcher's events. It is called from the batcher's goroutines, before
// the outcome shows in Held or ends an AddAndWait; it must be fast and must not retain slices.
type Observer interface {
	// Flushed reports a batch that was cut and handed to a sender.
	Flushed(trigger Trigger, records int)
	// Delivered reports an acknowledged batch: its records, how long the oldest of them waited
	// from its admission by Add to the acknowledgement, and the waits of all of them summed.
	Delivered(records int, oldest, total time.Duration)
	// Retried reports the records of a failed send that will be sent again: by the Batcher
	// after its backoff, or by the AddAndWait caller they are handed back to. Every failed
	// send that is not a drop reports here.
	Retried(records int, err error)
	// Dropped reports records given up on; it is called once per failed batch and reason,
	// never per record.
	Dropped(records int, reason DropReason, err error)
}

type nopObserver struct{}

func (nopObserver) Flushed(Trigger, int)                        {}
func (nopObserver) Delivered(int, time.Duration, time.Duration) {}
func (nopObserver) Retried(int, error)                          {}
func (nopObserver) Dropped(int, DropReason, error)              {}

var (
	// ErrBufferFull means the records did not fit within the buffer limits in time. It is
	// retryable: a collector receiver turns it into back-pressure on its client.
	ErrBufferFull = errors.New("batcher: buffer full")
	// ErrClosed means Shutdown was called.
	ErrClosed = errors.New("batcher: closed")
)
