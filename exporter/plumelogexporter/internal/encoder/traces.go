package encoder

import (
	"math"
	"strconv"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Trace events are what Plumelog's trace view reads: a span becomes a "<" event at its start
// and a ">" event at its end. The view sorts the events of a trace by time (epoch ms), then
// positionNum, and nests them with a depth counter, with no parent ids; so the order of events
// that share a millisecond decides the tree, and positionNum must give it without the rest of
// the trace.
//
// positionNum orders the events of one millisecond, as they are in the virtual time that
// traceorder.go gives them, by what each span knows:
//
//   - first the slot of 500 ns within the millisecond, so that the sort follows the order of
//     events down to the slot;
//   - within a slot, the ends of calls that started in an earlier slot come first, shortest
//     first: a call that ends as the next one starts is its sibling, not its parent, and of
//     properly nested calls that end together the inner one is the shorter;
//   - then the starts of calls that end in a later slot, longest first: of calls that start
//     together, the outer one is the longer;
//   - last, calls that start and end within the slot, each start before its end: they become
//     calls inside the innermost call open at that moment.
//
// Events of spans that arrived together never share a slot (traceorder.go spaces them), so
// this decides between events of spans that arrived apart. The duration is a level on a log
// scale of 2^13 levels per doubling, so durations that differ by more than 0.01 % order
// correctly. positionNum fits in 32 bits: the slot (below 2000) times 2^20, plus the place
// within the slot.
const (
	placeBits       = 20
	levels          = 1 << (placeBits - 1)
	levelsPerOctave = 1 << 13
	// zeroStart and zeroEnd place the events of a call within one slot after the starts,
	// whose places are levels to 2*levels-3.
	zeroStart = 2*levels - 2
	zeroEnd   = 2*levels - 1
	// unnamedSpan labels a span without a name, which the view would show as an empty line.
	unnamedSpan = "(unnamed span)"
)

// EncodeTraces encodes every span of td, in order, as two trace events: its start, then its
// end. A span that cannot be placed in a trace, without a trace id or any timestamp, yields
// none and is counted in skipped (ValidSpan tells which). The events share one backing
// array, as with EncodeLogs.
func (e *Encoder) EncodeTraces(td ptrace.Traces) (events [][]byte, skipped int) {
	enc, skipped := e.Traces(td)
	return enc.Messages, skipped
}

// Traces is EncodeTraces for callers that can tell when the events are no longer read: their
// Release lets a later call reuse the backing array.
func (e *Encoder) Traces(td ptrace.Traces) (events Encoded, skipped int) {
	n := td.SpanCount()
	if n == 0 {
		return Encoded{}, 0
	}
	st := e.getState()
	defer e.putState(st)

	order := &st.spans
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, span := range ss.Spans().All() {
				if ValidSpan(span) {
					order.add(span)
				}
			}
		}
	}
	order.plan()
	skipped = n - len(order.spans)

	buf := e.newBuffer(n, &e.spanSize)
	next := 0
	for _, rs := range td.ResourceSpans().All() {
		e.prepare(st, rs.Resource(), false)
		for _, ss := range rs.ScopeSpans().All() {
			for _, span := range ss.Spans().All() {
				if ValidSpan(span) {
					buf = e.appendSpan(buf, st, span, &order.spans[next])
					next++
				}
			}
		}
	}
	if valid := n - skipped; valid > 0 {
		e.spanSize.Store(int64(len(buf)/valid + 1))
	}
	return e.encoded(st, buf), skipped
}

// ValidSpan reports whether a span can be placed in a trace: it has a trace id and a start or
// end time.
func ValidSpan(span ptrace.Span) bool {
	return !span.TraceID().IsEmpty() && (validTimestamp(span.StartTimestamp()) || validTimestamp(span.EndTimestamp()))
}

// appendSpan appends the span's two events, at the times ts planned for it, and records where
// each ends in st.ends. An unknown start is taken to be the end, and an end before the start
// to be the start (timedSpan.add).
func (e *Encoder) appendSpan(dst []byte, st *state, span ptrace.Span, ts *timedSpan) []byte {
	begin := len(dst)
	dst = e.appendSpanHead(dst, st, span)
	head := len(dst) - begin
	dst = appendEventTail(dst, ts.vstart, '<', ts.startPlace)
	st.ends = append(st.ends, len(dst))
	// The second event repeats the first up to its time.
	dst = append(dst, dst[begin:begin+head]...)
	dst = appendEventTail(dst, ts.vend, '>', ts.endPlace)
	st.ends = append(st.ends, len(dst))
	return dst
}

// appendSpanHead appends an event up to its method: the fields mapped from the span's and
// the resource's attributes, the trace id and the label of the call.
func (e *Encoder) appendSpanHead(dst []byte, st *state, span ptrace.Span) []byte {
	var rec picks
	for k, v := range span.Attributes().All() {
		if ki := e.keys.lookup(k); ki.isMapped() {
			rec.offer(ki, v)
		}
	}
	if rec[fieldAppName].ok || rec[fieldEnv].ok || rec[fieldServerName].ok {
		dst = e.appendHead(dst, &rec, &st.res.picks)
	} else {
		dst = append(dst, st.res.head...)
	}
	id := span.TraceID()
	dst = append(dst, `,"traceId":"`...)
	dst = appendHex(dst, id)
	dst = append(dst, `","method":`...)
	name := span.Name()
	if name == "" {
		name = unnamedSpan
	}
	return appendString(dst, name)
}

// appendEventTail appends the time, position and positionNum of an event at ns, and closes it.
func appendEventTail(dst []byte, ns uint64, position byte, place uint32) []byte {
	dst = append(dst, `,"time":`...)
	dst = strconv.AppendUint(dst, ns/1e6, 10)
	dst = append(dst, `,"position":"`...)
	dst = append(dst, position)
	dst = append(dst, `","positionNum":`...)
	dst = strconv.AppendUint(dst, uint64(positionNum(ns, place)), 10)
	return append(dst, '}')
}

// durationLevel maps a duration in nanoseconds to a level that never decreases as the
// duration grows, below levels-3.
func durationLevel(ns uint64) uint32 {
	return min(uint32(math.Log2(float64(ns)+1)*levelsPerOctave), levels-3)
}
