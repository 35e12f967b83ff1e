package batcher

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRingMatchesSlice drives the ring through growth and wrap-around and compares it with
// a plain slice doing the same.
func TestRingMatchesSlice(t *testing.T) {
	q := newRing(8)
	var model []int32
	next := int32(0)
	rng := rand.New(rand.NewPCG(1, 2))
	for step := range 20_000 {
		switch op := rng.IntN(3); {
		case op == 0 || len(model) == 0:
			n := rng.IntN(40)
			q.reserve(n)
			for range n {
				q.pushBack(item{attempts: next})
				model = append(model, next)
				next++
			}
		case op == 1:
			n := rng.IntN(len(model) + 1)
			for range n {
				require.Equal(t, model[0], q.front().attempts, "step %d", step)
				require.Equal(t, model[0], q.popFront().attempts, "step %d", step)
				model = model[1:]
			}
		default:
			back := make([]item, rng.IntN(10))
			front := make([]int32, len(back))
			for i := range back {
				back[i] = item{attempts: -next}
				front[i] = -next
				next++
			}
			q.pushFront(back)
			model = append(front, model...)
		}
		require.Equal(t, len(model), q.len(), "step %d", step)
	}
	for _, want := range model {
		require.Equal(t, want, q.popFront().attempts)
	}
	assert.Zero(t, q.len())
}

func TestRingReleasesOversizeRing(t *testing.T) {
	q := newRing(16)
	q.reserve(1000)
	for range 1000 {
		q.pushBack(item{data: []byte("x")})
	}
	for range 999 {
		q.popFront()
	}
	assert.NotNil(t, q.buf, "a non-empty ring is kept")
	q.popFront()
	assert.Nil(t, q.buf, "an empty ring beyond the buffer limit is released")

	q.reserve(10)
	q.pushBack(item{})
	q.popFront()
	assert.NotNil(t, q.buf, "a ring within the limit is kept for reuse")
}
