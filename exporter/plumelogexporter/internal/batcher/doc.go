// Package batcher moves opaque encoded records to a send function in batches, with a dual
// size/age trigger, a bounded buffer, and counted retries. It knows nothing of Plumelog, pdata,
// Redis or OTel metrics.
//
// # Model
//
// The Batcher works like the Kafka producer, and its knobs map onto the producer's. Add
// appends records to one FIFO buffer (the producer's record accumulator). A dispatcher
// goroutine cuts batches from the head of that buffer and hands them to MaxInFlight sender
// goroutines, which call the SendFunc; a sender that finishes a batch cuts its next one
// itself, so that back-to-back sends under load do not wait on the dispatcher. A batch is cut
// only when a sender is free, and then only when one of these triggers holds:
//
//   - size: BatchSize records are pending. This is batch.size, counted in records. Larger
//     batches mean fewer round trips and more throughput, and more memory per send.
//   - age: the oldest pending record has waited FlushInterval. This is linger.ms, as a hard
//     bound on the wait of every record: at low traffic it is the latency a record pays so
//     that others can join its batch.
//   - idle (eager mode only): no batch is in flight, the oldest pending record has waited
//     MinLinger, and the batch is not filling (see below).
//   - shutdown: Shutdown flushes whatever is pending without lingering.
//
// A batch that starts with records sent before counts as a retry, whichever trigger let it go.
//
// In strict mode a batch leaves full or old, which gives the fullest batches and up to
// FlushInterval of latency. In eager mode, when no batch is in flight, a sender takes whatever
// is pending once it has lingered MinLinger, as a Kafka producer does with a small linger.ms:
// at low traffic a lone record leaves at once, and under load records pile up while a batch
// is in flight, so batches fill by themselves as traffic grows. BatchSize and FlushInterval
// bound every batch in both modes.
//
// Records piling up during a send fill batches only while sends take long next to the time
// between arrivals; on a fast link to Redis a sender is idle again before the next request
// comes, and every request would leave as a batch of its own, each paying a round of system
// calls and wake-ups on both ends. So in eager mode an idle sender also leaves a batch alone
// while it is filling: while the records that arrived since the last cut came fast enough to
// fill a batch within MaxLinger (BatchSize ÷ MaxLinger records per second or more) and the
// oldest has waited less than MaxLinger. Then it leaves full, by the size trigger. Without
// further arrivals that rate falls as time passes, so n records arriving after a cut hold a
// batch at most n × MaxLinger ÷ BatchSize after that cut, which is nothing to speak of at low
// traffic. Nor does a batch wait when no more records can come until it leaves: while Adds
// wait for room, or for records of AddAndWait, whose callers send nothing more until then. This is linger.ms applied only under load; MaxLinger 0 never waits.
//
// MaxInFlight is max.in.flight.requests.per.connection: more sends in flight hide the
// round-trip time, but only 1 keeps records in order, retries included. The senders beyond
// the first take only full or old batches, so below the rate one sender carries the batches
// are the same as with one, and more senders start working only when records pile up.
//
// # Bounded memory and back-pressure
//
// Buffer.MaxRecords and Buffer.MaxBytes are buffer.memory: they bound every record the
// Batcher holds, whether pending, in flight or awaiting a retry, so an outage of the
// destination never grows memory without limit. An Add that does not fit fails at once with
// ErrBufferFull, a retryable error that a collector receiver turns into back-pressure on its
// client; Buffer.BlockTimeout, like max.block.ms, lets Add wait that long for room instead.
// Waiting Adds are served in arrival order: room freed by a batch is reserved for the first
// of them if it fits, and a new Add waits behind them, so that one freed batch wakes the one
// Add it makes room for and small requests cannot starve a large one. Add is all or nothing,
// and a request larger than the whole buffer is admitted once the buffer is empty, so that it
// still makes progress.
//
// # Retries
//
// MaxRetries is retries, counted per record: each record carries the number of its failed
// attempts and is dropped once it has used MaxRetries retries. Backoff is retry.backoff.ms
// and retry.backoff.max.ms, grown by a multiplier and randomized by a jitter. After a
// transient failure nothing at all leaves until the backoff has passed, neither the retries
// nor newer records, so a failing destination sees growing, spread-out pauses instead of a
// retry storm; a success resets the backoff. Retried records go back to the head of the
// buffer, ahead of newer ones, so they keep their order and are never starved. An error
// wrapped by consumererror.NewPermanent drops its batch at once. There is no
// delivery.timeout.ms: the retries and their backoff bound how long a record stays, and
// Shutdown's deadline bounds the end.
//
// # Accounting
//
// Every admitted record is delivered, dropped or handed back, never lost silently: the
// Observer hears of each batch flushed, delivered, retried or dropped, with a DropReason, and
// Held reports what is held. AddAndWait lets a caller with a durable queue of its own learn
// the outcome of its records: those that were not delivered for a transient reason are
// handed back instead of dropped, by position, so that the caller retries exactly those.
// Both take a release function, called once the Batcher holds none of the call's records,
// so that the caller can reuse the memory behind them. Shutdown stops admission and flushes what is held within its context's deadline; whatever
// is still held when the deadline passes is handed back or dropped, counted, and reported in
// Shutdown's error.
package batcher // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/batcher"
