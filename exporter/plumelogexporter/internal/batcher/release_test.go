package batcher

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
)

// releaseCount counts the calls of one Add's release function.
type releaseCount struct{ n atomic.Int32 }

func (r *releaseCount) release() { r.n.Add(1) }

// TestReleaseAfterTheLastRecord checks that the release function of a call runs exactly once,
// after the last of its records is settled, and never while one of them is still being sent
// or waits for another attempt: the caller reuses the memory behind the records then.
func TestReleaseAfterTheLastRecord(t *testing.T) {
	transient := func(context.Context, int) error { return errTransient }
	tests := []struct {
		name    string
		wait    bool // AddAndWait instead of Add
		respond func(ctx context.Context, n int) error
	}{
		{name: "delivered in three batches"},
		{name: "delivered after a failed attempt", respond: func(_ context.Context, n int) error {
			if n == 1 {
				return errTransient
			}
			return nil
		}},
		{name: "dropped after its retries", respond: transient},
		{name: "dropped for a permanent error", respond: func(context.Context, int) error {
			return consumererror.NewPermanent(errBad)
		}},
		{name: "handed back after its retries", wait: true, respond: transient},
		{name: "one batch handed back", wait: true, respond: func(_ context.Context, n int) error {
			if n == 1 || n == 2 {
				return errTransient
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rc releaseCount
			var early atomic.Bool
			s := &sink{respond: func(ctx context.Context, n int) error {
				if rc.n.Load() != 0 {
					early.Store(true)
				}
				if tt.respond == nil {
					return nil
				}
				return tt.respond(ctx, n)
			}}
			b, _ := start(t, testConfig(func(c *Config) {
				c.BatchSize = 4
				c.FlushInterval = 10 * time.Millisecond
				c.MaxRetries = 1
			}), s)
			if tt.wait {
				_ = b.AddAndWait(context.Background(), records("r", 10), rc.release)
				assert.EqualValues(t, 1, rc.n.Load(), "released by the time AddAndWait returns")
			} else {
				require.NoError(t, b.Add(context.Background(), records("r", 10), rc.release))
			}
			require.NoError(t, shutdown(t, b))
			assert.EqualValues(t, 1, rc.n.Load(), "released once")
			assert.False(t, early.Load(), "released while a record was still being sent")
		})
	}
}

// TestReleaseOfRecordsNotTaken checks that a call whose records the Batcher does not take is
// released before it returns.
func TestReleaseOfRecordsNotTaken(t *testing.T) {
	t.Run("nothing to add", func(t *testing.T) {
		b, _ := start(t, testConfig(nil), &sink{})
		var add, wait releaseCount
		require.NoError(t, b.Add(context.Background(), nil, add.release))
		require.NoError(t, b.AddAndWait(context.Background(), nil, wait.release))
		assert.EqualValues(t, 1, add.n.Load())
		assert.EqualValues(t, 1, wait.n.Load())
	})
	t.Run("after Shutdown", func(t *testing.T) {
		b, _ := start(t, testConfig(nil), &sink{})
		require.NoError(t, shutdown(t, b))
		var add, wait releaseCount
		require.ErrorIs(t, b.Add(context.Background(), records("late", 1), add.release), ErrClosed)
		require.ErrorIs(t, b.AddAndWait(context.Background(), records("late", 1), wait.release), ErrClosed)
		assert.EqualValues(t, 1, add.n.Load())
		assert.EqualValues(t, 1, wait.n.Load())
	})
	t.Run("buffer full", func(t *testing.T) {
		b, _, s, unblock := blocked(t, testConfig(func(c *Config) {
			c.FlushInterval = 10 * time.Millisecond
			c.Buffer.MaxRecords = 10
		}))
		require.NoError(t, b.Add(context.Background(), records("a", 10), nil))
		waitStarted(t, s, 1)
		var rc releaseCount
		require.ErrorIs(t, b.Add(context.Background(), records("b", 1), rc.release), ErrBufferFull)
		assert.EqualValues(t, 1, rc.n.Load())
		unblock()
	})
	t.Run("AddAndWait whose ctx ended", func(t *testing.T) {
		b, _, s, unblock := blocked(t, testConfig(func(c *Config) { c.FlushInterval = 10 * time.Millisecond }))
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		var rc releaseCount
		require.ErrorIs(t, b.AddAndWait(ctx, records("r", 3), rc.release), context.DeadlineExceeded)
		waitStarted(t, s, 1)
		assert.Zero(t, rc.n.Load(), "the Batcher still holds the records")
		unblock()
		require.NoError(t, shutdown(t, b))
		assert.EqualValues(t, 1, rc.n.Load())
	})
}
