package batcher // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/batcher"

import "time"

// item is one record with what the batcher needs to know about it.
type item struct {
	data     []byte
	added    time.Duration // admission time, on the batcher's monotonic clock
	attempts int           // failed sends so far
	waiter   *waiter       // the AddAndWait call that admitted the record, if any
}

// queue is a FIFO ring of items that also takes items back at its front, so that retried
// records leave before newer ones. Its length is zero or a power of two.
type queue struct {
	buf  []item
	head int
	n    int
	// keep is the largest ring kept once empty: an oversize Add may grow the ring beyond
	// what the queue limits allow, and that memory should not stay allocated.
	keep int
}

func newQueue(maxRecords int) queue {
	keep := 16
	for keep < maxRecords {
		keep *= 2
	}
	return queue{keep: keep}
}

func (q *queue) len() int { return q.n }

// front returns the oldest item; the queue must not be empty.
func (q *queue) front() *item { return &q.buf[q.head] }

// reserve makes room for extra more items without further allocation.
func (q *queue) reserve(extra int) {
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
func (q *queue) pushBack(it item) {
	q.buf[(q.head+q.n)&(len(q.buf)-1)] = it
	q.n++
}

// pushFront puts items, in their order, before everything queued.
func (q *queue) pushFront(items []item) {
	q.reserve(len(items))
	mask := len(q.buf) - 1
	for i := len(items) - 1; i >= 0; i-- {
		q.head = (q.head - 1) & mask
		q.buf[q.head] = items[i]
	}
	q.n += len(items)
}

// popFront removes and returns the oldest item; the queue must not be empty.
func (q *queue) popFront() item {
	it := q.buf[q.head]
	q.buf[q.head] = item{} // the ring must not keep a sent record's bytes alive
	q.head = (q.head + 1) & (len(q.buf) - 1)
	q.n--
	if q.n == 0 && len(q.buf) > q.keep {
		q.buf, q.head = nil, 0
	}
	return it
}
