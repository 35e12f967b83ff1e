package batcher

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waitWaiting waits until n Adds wait for room.
func waitWaiting(t *testing.T, b *Batcher, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.waiting) == n
	}, within, tick)
}

// awaitRoom waits for an Add from addAsync to succeed once room was freed.
func awaitRoom(t *testing.T, res <-chan error) {
	t.Helper()
	select {
	case err := <-res:
		require.NoError(t, err)
	case <-time.After(within):
		t.Fatal("Add did not return after room was freed")
	}
}

// addAsync adds recs from a goroutine of its own and hands over what Add returned.
func addAsync(ctx context.Context, b *Batcher, recs [][]byte) <-chan error {
	res := make(chan error, 1)
	go func() { res <- b.Add(ctx, recs, nil) }()
	return res
}

func roomConfig() Config {
	return testConfig(func(c *Config) {
		c.BatchSize = 5
		c.Buffer.MaxRecords = 10
		c.Buffer.BlockTimeout = time.Minute
	})
}

// TestWaitingAddsAreServedInArrivalOrder: an Add that would fit still queues behind an
// earlier one that does not, so a stream of small requests cannot starve a large one.
func TestWaitingAddsAreServedInArrivalOrder(t *testing.T) {
	b, obs, s, unblock := blocked(t, roomConfig())
	require.NoError(t, b.Add(context.Background(), records("a", 5), nil))
	waitStarted(t, s, 1)

	large := addAsync(context.Background(), b, records("large", 8)) // 5 + 8 > 10
	waitWaiting(t, b, 1)
	small := addAsync(context.Background(), b, records("small", 1)) // 5 + 1 ≤ 10, but later
	waitWaiting(t, b, 2)
	select {
	case err := <-small:
		t.Fatalf("the later Add went first: %v", err)
	case <-time.After(quiet):
	}

	unblock()
	awaitRoom(t, large)
	awaitRoom(t, small)
	require.NoError(t, shutdown(t, b))
	assert.Equal(t, 14, obs.deliveredCount())
}

// TestWaitingAddThatGivesUpLetsTheNextIn: when the first waiting Add ends without room, the
// ones behind it get the room that fits them.
func TestWaitingAddThatGivesUpLetsTheNextIn(t *testing.T) {
	b, _, s, _ := blocked(t, roomConfig())
	require.NoError(t, b.Add(context.Background(), records("a", 5), nil))
	waitStarted(t, s, 1)

	ctx, cancel := context.WithCancel(context.Background())
	large := addAsync(ctx, b, records("large", 8))
	waitWaiting(t, b, 1)
	small := addAsync(context.Background(), b, records("small", 1))
	waitWaiting(t, b, 2)

	cancel()
	require.ErrorIs(t, <-large, context.Canceled)
	select {
	case err := <-small:
		require.NoError(t, err)
	case <-time.After(within):
		t.Fatal("the Add behind the one that gave up did not get the room")
	}
	n, _ := b.Held()
	assert.Equal(t, 6, n)
}
