package encoder

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClassFor(t *testing.T) {
	for _, tt := range []struct {
		n    int
		size int // 0: not pooled
	}{
		{0, 0}, {4095, 0}, {4096, 4096}, {4097, 6144}, {6144, 6144}, {6145, 8192},
		{100_000, 131072}, {98304, 98304}, {4 << 20, 4 << 20}, {6 << 20, 6 << 20}, {6<<20 + 1, 0},
	} {
		c, ok := classFor(tt.n)
		if tt.size == 0 {
			assert.False(t, ok, "%d bytes", tt.n)
			continue
		}
		require.True(t, ok, "%d bytes", tt.n)
		assert.Equal(t, tt.size, classSize(c), "%d bytes", tt.n)
	}
}

// TestPoolKeepsClassSizes checks that a buffer comes back from the pool at least as large as
// its class, also when it grew between two classes while in use.
func TestPoolKeepsClassSizes(t *testing.T) {
	var p bufferPool
	for _, capacity := range []int{4096, 5000, 7000, 100_000, 6 << 20} {
		p.put(make([]byte, 0, capacity))
	}
	for _, n := range []int{4096, 5000, 7000, 100_000, 6 << 20} {
		b := p.get(n)
		assert.GreaterOrEqual(t, cap(b), n)
		assert.Empty(t, b)
	}
}

// TestReleaseReusesTheBuffer checks that the messages of a call after a Release are written
// into the released buffer, and that a released buffer is poisoned when tests ask for it.
func TestReleaseReusesTheBuffer(t *testing.T) {
	b := newLogs(javaResource(), "app")
	for range 50 {
		b.record(strings.Repeat("y", 300), attrs(javaAttrs()), traced)
	}
	e := newTestEncoder(Config{})
	first := e.Logs(b.ld)
	require.Len(t, first.Messages, 50)
	msg := first.Messages[0]
	want := string(msg)

	PoisonReleased = true
	t.Cleanup(func() { PoisonReleased = false })
	first.Release()
	assert.Nil(t, first.Messages)
	first.Release() // a second release does nothing
	if raceEnabled {
		return // the race detector makes sync.Pool drop items
	}
	assert.Equal(t, strings.Repeat("X", len(msg)), string(msg), "a released buffer is poisoned")

	second := e.Logs(b.ld)
	defer second.Release()
	assert.Equal(t, &msg[0], &second.Messages[0][0], "the next call writes into the released buffer")
	assert.NotEqual(t, want, string(second.Messages[0]), "a new seq")
	checkMessage(t, second.Messages[0])
}
