package batcher // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/batcher"

import "time"

// item is one record with what the batcher needs to know about it.
type item struct {
	data     []byte
	added    time.Duration // admission time, on the batcher's monotonic clock
	call     *call         // the call that admitted the record, when one follows it
	pos      int32         // the record's index in that call's items
	attempts int32         // failed sends so far
}

// ring is the FIFO of pending items. It also takes items back at its front, so that retried
// records leave before newer ones. Its length is zero or a power of two.
type ring struct {
	buf  []item
	head int
	n    int
	// keep is the largest ring kept once empty: an oversize Add may grow the ring beyond
	// what the buffer limits allow, and that memory should not stay allocated.
	keep int
}

func newRing(maxRecords int) ring {
	keep := 16
	for keep < maxRecords {
		keep *= 2
	}
	return ring{keep: keep}
}

func (q *ring) len() int { return q.n }

// front returns the oldest item; the ring must not be empty.
func (q *ring) front() *item { return &q.buf[q.head] }

// reserve makes room for extra more items without further allocation.
func (q *ring) reserve(extra int) {
	if q.n+extra <= len(q.buf) {
		return
	}
	size := max(len(q.buf), 16)
	for size < q.n+extra {
		size *= 2
	}
	buf := make([]item, size)
	if q.n > 0 {
		if tail := q.head + q.n; tail <= len(q.buf) {
			copy(buf, q.buf[q.head:tail])
		} else {
			k := copy(buf, q.buf[q.head:])
			copy(buf[k:], q.buf[:tail-len(q.buf)])
		}
	}
	q.buf, q.head = buf, 0
}

// pushBack appends it; reserve must have made room.
func (q *ring) pushBack(it item) {
	q.buf[(q.head+q.n)&(len(q.buf)-1)] = it
	q.n++
}

// pushFront puts items, in their order, before everything pending.
func (q *ring) pushFront(items []item) {
	q.reserve(len(items))
	mask := len(q.buf) - 1
	for i := len(items) - 1; i >= 0; i-- {
		q.head = (q.head - 1) & mask
		q.buf[q.head] = items[i]
	}
	q.n += len(items)
}

// popFront removes and returns the oldest item; the ring must not be empty.
func (q *ring) popFront() item {
	it := q.buf[q.head]
	q.buf[q.head] = item{} // the ring must not keep a sent record's bytes alive
	q.head = (q.head + 1) & (len(q.buf) - 1)
	q.n--
	if q.n == 0 && len(q.buf) > q.keep {
		q.buf, q.head = nil, 0
	}
	return it
}
