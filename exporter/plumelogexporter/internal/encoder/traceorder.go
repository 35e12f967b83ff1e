package encoder

import (
	"cmp"
	"slices"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The view orders the events of a millisecond by positionNum, so their order within the
// millisecond has to be right. Properly nested timestamps give it (see positionNum in
// traces.go); recorded timestamps are not always properly nested: the OTel JavaScript SDK
// takes a span's start from Date.now(), in whole milliseconds, and its end from that start
// plus a precise duration, so a call that starts 0.4 ms after its sibling ended can be
// recorded as starting before that end, and a call that ends 0.2 ms after its last child can
// be recorded as ending before it, even in the millisecond before. The spans that arrive
// together, though, also say how they nest, by parent span id. So the encoder walks the call
// tree of a request's spans depth first, children by start, and where an event would sort
// before or with the event the tree puts before it, it moves the event to the next slot after
// that one, when that is less than maxMove away. Properly nested timestamps need no
// move, so their events are ordered the same whether their spans arrive together or apart.

// slotNs is the unit of time within a millisecond that positionNum orders by: 2000 slots, so
// that positionNum holds the slot above a 20-bit place within it.
const slotNs = 500

// timedSpan is a span with the times its events are encoded at.
type timedSpan struct {
	id, parent pcommon.SpanID
	trace      pcommon.TraceID
	// start and end are the recorded times in ns, repaired as appendSpan describes; vstart and
	// vend the virtual times the events are ordered by, 0 until planned.
	start, end   uint64
	vstart, vend uint64
	// startPlace and endPlace are the events' places within their slot.
	startPlace, endPlace uint32
	// children is where the span's children start in spanOrder.children, and nchildren how
	// many it has.
	children, nchildren int32
}

// spanOrder plans the virtual times of the spans of one request. Its slices are reused
// across calls.
type spanOrder struct {
	spans    []timedSpan
	index    map[spanKey]int32
	children []int32 // indexes into spans, grouped by parent
	stack    []walkStep
}

type spanKey struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
}

type walkStep struct {
	span  int32
	child int32 // the next child to visit; -1 before the span's start is placed
}

// add records a valid span, in the order the spans are encoded.
func (o *spanOrder) add(span ptrace.Span) {
	start, end := span.StartTimestamp(), span.EndTimestamp()
	if !validTimestamp(start) {
		start = end
	}
	if !validTimestamp(end) || end < start {
		end = start
	}
	ts := timedSpan{
		id: span.SpanID(), parent: span.ParentSpanID(), trace: span.TraceID(),
		start: uint64(start), end: uint64(end), startPlace: zeroStart, endPlace: zeroEnd,
	}
	if ts.start/slotNs != ts.end/slotNs {
		level := durationLevel(ts.end - ts.start)
		ts.startPlace, ts.endPlace = levels+(levels-3-level), level
	}
	o.spans = append(o.spans, ts)
}

// plan sets the virtual times of every span added.
func (o *spanOrder) plan() {
	if o.index == nil {
		o.index = make(map[spanKey]int32, len(o.spans))
	}
	for i, s := range o.spans {
		if !s.id.IsEmpty() {
			o.index[spanKey{s.trace, s.id}] = int32(i)
		}
	}
	// The roots first, then the children of each span in the order they start; equal starts
	// keep the order they ended in, which is the order the SDK exported them in.
	for i := range o.spans {
		if o.parentOf(int32(i)) < 0 {
			o.children = append(o.children, int32(i))
		}
	}
	nroots := len(o.children)
	for i := range o.spans {
		if o.parentOf(int32(i)) >= 0 {
			o.children = append(o.children, int32(i))
		}
	}
	kids := o.children[nroots:]
	slices.SortStableFunc(kids, func(a, b int32) int {
		if c := cmp.Compare(o.parentOf(a), o.parentOf(b)); c != 0 {
			return c
		}
		return cmp.Compare(o.spans[a].start, o.spans[b].start)
	})
	for i, k := range kids {
		p := &o.spans[o.parentOf(k)]
		if p.nchildren == 0 {
			p.children = int32(nroots + i)
		}
		p.nchildren++
	}
	for _, r := range o.children[:nroots] {
		o.walk(r)
	}
	// Spans whose parent chain loops have no root; each loop is walked from where it is met.
	for i := range o.spans {
		if o.spans[i].vstart == 0 {
			o.walk(int32(i))
		}
	}
}

func (o *spanOrder) parentOf(i int32) int32 {
	s := &o.spans[i]
	if s.parent.IsEmpty() {
		return -1
	}
	p, ok := o.index[spanKey{s.trace, s.parent}]
	if !ok || p == i {
		return -1
	}
	return p
}

// walk visits the tree under root depth first and places each event after the one before
// it, moving it to the next slot when it would not sort after it within the same millisecond.
// A span that is already placed (an id that appears twice, a parent chain that loops) is not
// visited again.
func (o *spanOrder) walk(root int32) {
	var last eventKey
	place := func(t uint64, place uint32) uint64 {
		k := keyOf(t, place)
		if next := last.ms*1e6 + (last.slot()+1)*slotNs; !last.before(k) && next-t < maxMove {
			t, k = next, keyOf(next, place)
		}
		if last.before(k) {
			last = k
		}
		return t
	}
	o.stack = append(o.stack[:0], walkStep{span: root, child: -1})
	for len(o.stack) > 0 {
		top := &o.stack[len(o.stack)-1]
		s := &o.spans[top.span]
		if top.child < 0 {
			s.vstart = place(s.start, s.startPlace)
			top.child = 0
		}
		if top.child < s.nchildren {
			c := o.children[s.children+top.child]
			top.child++
			if o.spans[c].vstart == 0 {
				o.stack = append(o.stack, walkStep{span: c, child: -1})
			}
			continue
		}
		s.vend = place(max(s.end, s.vstart), s.endPlace)
		o.stack = o.stack[:len(o.stack)-1]
	}
}

// eventKey is how the view orders an event: by ms, then positionNum.
type eventKey struct {
	ms  uint64
	pos uint32
}

// maxMove bounds how far an event moves. The JavaScript SDK's two clocks disagree by a
// millisecond, and by several more on a loaded machine (6 ms seen in the tests); calls that
// overlap by more than maxMove are taken to be concurrent, which the view cannot show, and
// keep their times, while concurrent calls that overlap by less show one after the other.
const maxMove = 50e6

func keyOf(ns uint64, place uint32) eventKey {
	return eventKey{ms: ns / 1e6, pos: positionNum(ns, place)}
}

func (k eventKey) before(o eventKey) bool {
	return k.ms < o.ms || (k.ms == o.ms && k.pos < o.pos)
}

func (k eventKey) slot() uint64 { return uint64(k.pos >> placeBits) }

// positionNum is the positionNum of an event at ns with its place within the slot.
func positionNum(ns uint64, place uint32) uint32 {
	return uint32(ns%1e6/slotNs)<<placeBits | place
}

func (o *spanOrder) reset() {
	clear(o.index)
	o.spans = o.spans[:0]
	o.children = o.children[:0]
	o.stack = o.stack[:0]
}
