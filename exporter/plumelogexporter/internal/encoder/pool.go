package encoder

import (
	"math/bits"
	"sync"
)

// Buffers in the pool come in two sizes per power of two, 2^k and 1.5 × 2^k bytes, from
// 4 KiB to 6 MiB: a buffer is at most 1.5 times the size asked for. Smaller and larger
// requests get a buffer of their own size, never pooled.
const (
	minPoolShift = 12
	maxPoolShift = 22
	numClasses   = 2 * (maxPoolShift - minPoolShift + 1)
)

// PoisonReleased makes Release overwrite a buffer before it is reused, so that a message
// read after its release shows as garbage instead of as another message. For tests.
var PoisonReleased = false

// bufferPool recycles the buffers behind encoded messages. Allocating a fresh buffer of tens
// of kilobytes for every call, zeroed and later collected, cost as much as the encoding.
type bufferPool struct {
	classes [numClasses]sync.Pool
}

// classSize returns the size of class c.
func classSize(c int) int {
	size := 1 << (minPoolShift + c/2)
	if c%2 == 1 {
		size += size / 2
	}
	return size
}

// classFor returns the smallest class whose buffers hold n bytes, or false when n is too
// large to pool.
func classFor(n int) (int, bool) {
	if n < 1<<minPoolShift {
		return 0, false
	}
	if n == 1<<minPoolShift {
		return 0, true
	}
	shift := bits.Len(uint(n-1)) - 1 // 2^shift < n <= 2^(shift+1)
	c := 2*(shift-minPoolShift) + 1  // 1.5 × 2^shift
	if n > classSize(c) {
		c++ // 2^(shift+1)
	}
	return c, c < numClasses
}

// get returns an empty buffer of at least n bytes.
func (p *bufferPool) get(n int) []byte {
	c, ok := classFor(n)
	if !ok {
		return make([]byte, 0, n)
	}
	if b, ok := p.classes[c].Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return make([]byte, 0, classSize(c))
}

// put makes b available to later calls. A buffer that grew past its class while in use goes
// to the largest class it fills.
func (p *bufferPool) put(b []byte) {
	c, ok := classFor(cap(b))
	if !ok {
		return
	}
	if classSize(c) > cap(b) {
		c-- // cap(b) lies between two classes and classFor(cap(b)) >= 1 here
	}
	if PoisonReleased {
		b = b[:cap(b)]
		for i := range b {
			b[i] = 'X'
		}
	}
	b = b[:0]
	p.classes[c].Put(&b)
}

// Encoded is the messages of one call, which share one buffer of the encoder's.
type Encoded struct {
	Messages [][]byte
	buf      []byte
	pool     *bufferPool
}

// Release gives the buffer back to the encoder, to be reused by a later call. Call it once
// no message is read any longer; not calling it only costs the reuse.
func (m *Encoded) Release() {
	if m.pool != nil {
		m.pool.put(m.buf)
		m.pool, m.buf, m.Messages = nil, nil, nil
	}
}
