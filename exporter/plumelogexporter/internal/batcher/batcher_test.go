package batcher

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
)

// quiet is how long a test watches for something that must not happen.
const quiet = 200 * time.Millisecond

func waitCalls(t *testing.T, s *sink, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return len(s.snapshot()) >= n }, within, tick,
		"expected %d send calls, got %d", n, len(s.snapshot()))
}

func waitStarted(t *testing.T, s *sink, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return int(s.started.Load()) >= n }, within, tick)
}

// blocked starts a batcher whose sends wait until the returned function is called (or the
// test ends).
func blocked(t *testing.T, cfg Config) (*Batcher, *observer, *sink, func()) {
	t.Helper()
	release := make(chan struct{})
	s := &sink{respond: blockUntil(release)}
	b, obs := start(t, cfg, s)
	unblock := sync.OnceFunc(func() { close(release) })
	t.Cleanup(unblock) // runs before the Shutdown registered by start
	return b, obs, s, unblock
}

func TestSizeTrigger(t *testing.T) {
	tests := []struct {
		name      string
		adds      []int // records per Add
		wantSizes []int // batches that leave at once
		wantLeft  int   // records that wait for Shutdown
	}{
		{name: "one full add", adds: []int{10}, wantSizes: []int{10}},
		{name: "ten single adds", adds: []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, wantSizes: []int{10}},
		{name: "incomplete batch waits", adds: []int{7}, wantLeft: 7},
		{name: "large add is cut", adds: []int{25}, wantSizes: []int{10, 10}, wantLeft: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &sink{}
			b, obs := start(t, testConfig(nil), s)
			var want []string
			for i, n := range tt.adds {
				recs := records(fmt.Sprint(i), n)
				want = append(want, names(recs)...)
				require.NoError(t, b.Add(context.Background(), recs, nil))
			}
			waitCalls(t, s, len(tt.wantSizes))
			time.Sleep(quiet)
			assert.Equal(t, tt.wantSizes, s.sizes(), "only full batches leave before FlushInterval")

			require.NoError(t, shutdown(t, b))
			var wantFlushes []flush
			for _, n := range tt.wantSizes {
				wantFlushes = append(wantFlushes, flush{TriggerSize, n})
			}
			if tt.wantLeft > 0 {
				wantFlushes = append(wantFlushes, flush{TriggerShutdown, tt.wantLeft})
			}
			assert.Equal(t, wantFlushes, obs.flushList())
			assert.Equal(t, want, s.delivered())
		})
	}
}

func TestAgeTrigger(t *testing.T) {
	const interval = 600 * time.Millisecond
	tests := []struct {
		name string
		mode Mode
	}{
		{name: "strict", mode: ModeStrict},
		// With MinLinger equal to FlushInterval, eager mode must not flush any earlier.
		{name: "eager with full linger", mode: ModeEager},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &sink{}
			b, obs := start(t, testConfig(func(c *Config) {
				c.BatchSize = 100
				c.FlushInterval = interval
				c.Mode = tt.mode
				c.MinLinger = interval
			}), s)

			first := time.Now()
			require.NoError(t, b.Add(context.Background(), records("a", 1), nil))
			time.Sleep(interval / 20)
			require.NoError(t, b.Add(context.Background(), records("b", 2), nil))
			waitCalls(t, s, 1)

			calls := s.snapshot()
			require.Len(t, calls, 1)
			assert.GreaterOrEqual(t, calls[0].start.Sub(first), interval, "sent before the oldest record waited FlushInterval")
			assert.Equal(t, []string{"a-0", "b-0", "b-1"}, calls[0].records, "the age of the oldest record takes the later ones along")
			// Age is checked before idleness, so both modes name the age trigger.
			assert.Equal(t, []flush{{TriggerAge, 3}}, obs.flushList())
		})
	}
}

func TestEagerMode(t *testing.T) {
	eager := func(batchSize int) Config {
		return testConfig(func(c *Config) {
			c.Mode = ModeEager
			c.BatchSize = batchSize
		})
	}

	t.Run("lone record leaves at once", func(t *testing.T) {
		s := &sink{}
		b, obs := start(t, eager(100), s)
		require.NoError(t, b.Add(context.Background(), records("a", 1), nil))
		waitCalls(t, s, 1) // FlushInterval is an hour
		assert.Equal(t, []flush{{TriggerIdle, 1}}, obs.flushList())
	})

	tests := []struct {
		name          string
		batchSize     int
		addsWhileBusy int // single-record Adds while the first send is in flight
		wantSizes     []int
		wantTrigger   []Trigger
	}{
		{
			name: "records pile up while a send is in flight", batchSize: 100, addsWhileBusy: 5,
			wantSizes: []int{1, 5}, wantTrigger: []Trigger{TriggerIdle, TriggerIdle},
		},
		{
			name: "BatchSize still caps batches", batchSize: 10, addsWhileBusy: 25,
			wantSizes: []int{1, 10, 10, 5}, wantTrigger: []Trigger{TriggerIdle, TriggerSize, TriggerSize, TriggerIdle},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, obs, s, unblock := blocked(t, eager(tt.batchSize))
			require.NoError(t, b.Add(context.Background(), [][]byte{[]byte("first")}, nil))
			waitStarted(t, s, 1)
			want := []string{"first"}
			for i := range tt.addsWhileBusy {
				rec := fmt.Sprint("r-", i)
				want = append(want, rec)
				require.NoError(t, b.Add(context.Background(), [][]byte{[]byte(rec)}, nil))
			}
			time.Sleep(quiet)
			assert.EqualValues(t, 1, s.started.Load(), "nothing leaves while the only sender is busy")

			unblock()
			waitCalls(t, s, len(tt.wantSizes))
			time.Sleep(quiet)
			assert.Equal(t, tt.wantSizes, s.sizes())
			assert.Equal(t, want, s.delivered())
			var triggers []Trigger
			for _, f := range obs.flushList() {
				triggers = append(triggers, f.trigger)
			}
			assert.Equal(t, tt.wantTrigger, triggers)
		})
	}
}

// TestEagerExtraSendersTakeFullBatches checks that with several senders an idle flush waits
// until no batch is in flight, while a full batch leaves on a free sender at once.
func TestEagerExtraSendersTakeFullBatches(t *testing.T) {
	b, obs, s, unblock := blocked(t, testConfig(func(c *Config) {
		c.Mode = ModeEager
		c.MaxInFlight = 3
	}))
	ctx := context.Background()
	require.NoError(t, b.Add(ctx, records("first", 1), nil))
	waitStarted(t, s, 1)
	require.NoError(t, b.Add(ctx, records("a", 5), nil))
	time.Sleep(quiet)
	assert.EqualValues(t, 1, s.started.Load(), "a partial batch waits while a batch is in flight")

	require.NoError(t, b.Add(ctx, records("b", 12), nil))
	waitStarted(t, s, 2)
	time.Sleep(quiet)
	assert.EqualValues(t, 2, s.started.Load(), "one full batch leaves; the 7 records left wait")

	unblock()
	waitCalls(t, s, 3)
	time.Sleep(quiet)
	assert.ElementsMatch(t, []int{1, 10, 7}, s.sizes())
	var triggers []Trigger
	for _, f := range obs.flushList() {
		triggers = append(triggers, f.trigger)
	}
	assert.Equal(t, []Trigger{TriggerIdle, TriggerSize, TriggerIdle}, triggers)
}

func TestMinLinger(t *testing.T) {
	const linger = 300 * time.Millisecond
	tests := []struct {
		name        string
		records     int
		wantTrigger Trigger
		notBefore   time.Duration
	}{
		{name: "idle flush waits for MinLinger", records: 1, wantTrigger: TriggerIdle, notBefore: linger},
		{name: "full batch does not wait", records: 10, wantTrigger: TriggerSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &sink{}
			b, obs := start(t, testConfig(func(c *Config) {
				c.Mode = ModeEager
				c.MinLinger = linger
			}), s)
			added := time.Now()
			require.NoError(t, b.Add(context.Background(), records("a", tt.records), nil))
			waitCalls(t, s, 1)
			assert.GreaterOrEqual(t, s.snapshot()[0].start.Sub(added), tt.notBefore)
			assert.Equal(t, []flush{{tt.wantTrigger, tt.records}}, obs.flushList())
		})
	}
}

// eagerLinger is an eager batcher of batches of 10 that lingers under load up to maxLinger.
func eagerLinger(maxLinger time.Duration) Config {
	return testConfig(func(c *Config) {
		c.Mode = ModeEager
		c.MaxLinger = maxLinger
	})
}

// TestMaxLinger checks that an idle sender waits for a fuller batch while records arrive fast
// enough to fill one within MaxLinger, and then no longer than that rate holds.
func TestMaxLinger(t *testing.T) {
	ctx := context.Background()

	t.Run("a burst waits as long as its rate promises a full batch", func(t *testing.T) {
		// 5 records right after the start: at that rate 10 arrive within 1s, so the batch waits
		// until the rate no longer promises it, 5 × 1s ÷ 10 after the start.
		const maxLinger = time.Second
		s := &sink{}
		begin := time.Now()
		b, obs := start(t, eagerLinger(maxLinger), s)
		require.NoError(t, b.Add(ctx, records("a", 5), nil))
		waitCalls(t, s, 1)
		assert.GreaterOrEqual(t, s.snapshot()[0].start.Sub(begin), maxLinger/2)
		assert.Equal(t, []flush{{TriggerIdle, 5}}, obs.flushList())
	})

	t.Run("records that fill the batch while it waits leave with it", func(t *testing.T) {
		s := &sink{}
		b, obs := start(t, eagerLinger(time.Hour), s)
		require.NoError(t, b.Add(ctx, records("a", 5), nil))
		time.Sleep(quiet)
		assert.Zero(t, s.started.Load(), "the first 5 wait for more")
		require.NoError(t, b.Add(ctx, records("b", 5), nil))
		waitCalls(t, s, 1)
		assert.Equal(t, []flush{{TriggerSize, 10}}, obs.flushList())
	})

	t.Run("a lone record after a quiet spell leaves at once", func(t *testing.T) {
		// After a cut, one record promises a full batch only within 10s ÷ 10 of it.
		const maxLinger = 10 * time.Second
		s := &sink{}
		b, obs := start(t, eagerLinger(maxLinger), s)
		require.NoError(t, b.Add(ctx, records("a", 10), nil))
		waitCalls(t, s, 1)
		time.Sleep(maxLinger/10 + quiet)
		added := time.Now()
		require.NoError(t, b.Add(ctx, records("b", 1), nil))
		waitCalls(t, s, 2)
		assert.Less(t, s.snapshot()[1].start.Sub(added), maxLinger/2)
		assert.Equal(t, []flush{{TriggerSize, 10}, {TriggerIdle, 1}}, obs.flushList())
	})
}

// TestMaxLingerWithoutMoreRecords checks that a batch does not wait to fill when no more
// records can come until it leaves, at a rate that would make it wait half an hour.
func TestMaxLingerWithoutMoreRecords(t *testing.T) {
	t.Run("records whose caller waits for them", func(t *testing.T) {
		// AddAndWait's caller sends nothing more until it returns.
		s := &sink{}
		b, obs := start(t, eagerLinger(time.Hour), s)
		ctx, cancel := context.WithTimeout(context.Background(), within)
		defer cancel()
		require.NoError(t, b.AddAndWait(ctx, records("a", 5), nil))
		assert.Equal(t, []flush{{TriggerIdle, 5}}, obs.flushList())
	})

	t.Run("while Adds wait for room", func(t *testing.T) {
		// The buffer is full by its bytes with half a batch; the next Add waits for room.
		s := &sink{}
		cfg := eagerLinger(time.Hour)
		cfg.Buffer.MaxBytes = 15
		cfg.Buffer.BlockTimeout = time.Minute
		b, _ := start(t, cfg, s)
		ctx := context.Background()
		require.NoError(t, b.Add(ctx, records("a", 5), nil)) // 5 records of 3 bytes
		time.Sleep(quiet)
		assert.Zero(t, s.started.Load(), "half a batch arriving at once waits for more")
		awaitRoom(t, addAsync(ctx, b, records("b", 5)))
		assert.Equal(t, [][]string{{"a-0", "a-1", "a-2", "a-3", "a-4"}}, sentRecords(s))
	})
}

func TestRetryAttempts(t *testing.T) {
	tests := []struct {
		name        string
		failures    int // calls that fail before the first success
		maxRetries  int
		wantSends   int
		wantRetried []int
		wantDropped bool
	}{
		{name: "success at once", failures: 0, maxRetries: 0, wantSends: 1},
		{name: "no retry allowed", failures: 1, maxRetries: 0, wantSends: 1, wantRetried: []int{5}, wantDropped: true},
		{name: "success on the last retry", failures: 2, maxRetries: 2, wantSends: 3, wantRetried: []int{5, 5}},
		{name: "retries exhausted", failures: 3, maxRetries: 2, wantSends: 3, wantRetried: []int{5, 5, 5}, wantDropped: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &sink{respond: func(_ context.Context, n int) error {
				if n < tt.failures {
					return errTransient
				}
				return nil
			}}
			b, obs := start(t, testConfig(func(c *Config) {
				c.FlushInterval = 20 * time.Millisecond
				c.MaxRetries = tt.maxRetries
			}), s)
			recs := records("r", 5)
			err := b.AddAndWait(context.Background(), recs, nil)
			held, heldBytes := b.Held()
			assert.Zero(t, held)
			assert.Zero(t, heldBytes)
			time.Sleep(quiet)

			calls := s.snapshot()
			require.Len(t, calls, tt.wantSends)
			for _, c := range calls {
				assert.Equal(t, names(recs), c.records, "every attempt carries the same records in order")
			}
			assert.Equal(t, tt.wantRetried, obs.retriedList())
			if tt.wantDropped {
				require.ErrorIs(t, err, errTransient)
				assert.False(t, consumererror.IsPermanent(err))
				var handedBack *HandedBackError
				require.ErrorAs(t, err, &handedBack)
				assert.Equal(t, []int{0, 1, 2, 3, 4}, handedBack.Positions)
				assert.Contains(t, err.Error(), "5 of 5 records not delivered, handed back")
				assert.Empty(t, obs.dropList(), "records handed back to an AddAndWait caller are not dropped")
				assert.Zero(t, obs.deliveredCount())
			} else {
				require.NoError(t, err)
				assert.Empty(t, obs.dropList())
				assert.Equal(t, 5, obs.deliveredCount())
			}
		})
	}
}

func TestRetryKeepsOrderAndWaitsForBackoff(t *testing.T) {
	s := &sink{respond: func(_ context.Context, n int) error {
		if n < 2 {
			return errTransient
		}
		return nil
	}}
	b, obs := start(t, testConfig(func(c *Config) {
		c.BatchSize = 5
		c.MaxRetries = 5
		c.Backoff = Backoff{InitialInterval: 100 * time.Millisecond, MaxInterval: time.Second, Multiplier: 2}
	}), s)

	require.NoError(t, b.Add(context.Background(), records("old", 5), nil))
	waitCalls(t, s, 1)
	// Newer records arrive during the backoff; the retried ones must still go first.
	require.NoError(t, b.Add(context.Background(), records("new", 5), nil))
	waitCalls(t, s, 4)
	require.NoError(t, shutdown(t, b))

	calls := s.snapshot()
	require.Len(t, calls, 4)
	for i, c := range calls[:3] {
		assert.Equal(t, names(records("old", 5)), c.records, "attempt %d", i)
	}
	assert.Equal(t, append(names(records("old", 5)), names(records("new", 5))...), s.delivered())
	assert.GreaterOrEqual(t, calls[1].start.Sub(calls[0].end), 100*time.Millisecond, "first backoff")
	assert.GreaterOrEqual(t, calls[2].start.Sub(calls[1].end), 200*time.Millisecond, "second backoff")
	assert.Equal(t, []int{5, 5}, obs.retriedList())
	assert.Equal(t, []flush{{TriggerSize, 5}, {TriggerRetry, 5}, {TriggerRetry, 5}, {TriggerSize, 5}}, obs.flushList(),
		"a retried batch is a retry, not a flush by age")
	assert.Equal(t, 10, obs.deliveredCount())
	assert.Empty(t, obs.dropList())
}

func TestNoSpinWhileSendFails(t *testing.T) {
	s := &sink{respond: func(context.Context, int) error { return errTransient }}
	b, obs := start(t, testConfig(func(c *Config) {
		c.MaxRetries = 1000
		c.Backoff = Backoff{InitialInterval: 50 * time.Millisecond, MaxInterval: 200 * time.Millisecond, Multiplier: 2, Jitter: 0.5}
	}), s)
	const window = time.Second
	begin := time.Now()
	require.NoError(t, b.Add(context.Background(), records("r", 10), nil))
	time.Sleep(window + quiet)

	calls := s.snapshot()
	inWindow := 0
	for i, c := range calls {
		if c.start.Sub(begin) < window {
			inWindow++
		}
		if i > 0 {
			assert.GreaterOrEqual(t, c.start.Sub(calls[i-1].end), 25*time.Millisecond,
				"call %d came sooner than the least jittered backoff", i)
		}
	}
	// The least waits are 25, 50, then 100 ms each: at most 12 starts fit in one second.
	assert.LessOrEqual(t, inWindow, 12)
	assert.GreaterOrEqual(t, inWindow, 3, "the batch is retried")
	records, _ := b.Held()
	assert.Equal(t, 10, records, "a failing batch neither grows nor leaves the buffer")

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.Error(t, b.Shutdown(ctx))
	assert.Equal(t, 10, obs.droppedCount())
}

func TestRetriesExhaustedDropsOncePerBatch(t *testing.T) {
	s := &sink{respond: func(context.Context, int) error { return errTransient }}
	b, obs := start(t, testConfig(func(c *Config) {
		c.FlushInterval = 10 * time.Millisecond
		c.MaxRetries = 2
	}), s)
	require.NoError(t, b.Add(context.Background(), records("r", 25), nil))
	require.Eventually(t, func() bool { n, _ := b.Held(); return n == 0 }, within, tick)
	require.NoError(t, shutdown(t, b), "nothing was left for Shutdown to drop")

	assert.Len(t, s.snapshot(), 9, "three batches, three attempts each")
	assert.Equal(t, []int{10, 10, 10, 10, 5, 5}, obs.retriedList())
	assert.Equal(t, []drop{
		{10, DropRetriesExhausted, errTransient},
		{10, DropRetriesExhausted, errTransient},
		{5, DropRetriesExhausted, errTransient},
	}, obs.dropList())
	assert.Zero(t, obs.deliveredCount())
}

func TestPermanentErrorDropsAtOnce(t *testing.T) {
	s := &sink{respond: func(context.Context, int) error { return consumererror.NewPermanent(errBad) }}
	b, obs := start(t, testConfig(nil), s)
	err := b.AddAndWait(context.Background(), records("r", 10), nil)
	require.ErrorIs(t, err, errBad)
	assert.True(t, consumererror.IsPermanent(err))
	time.Sleep(quiet)

	assert.Len(t, s.snapshot(), 1, "a permanent error is not retried")
	assert.Empty(t, obs.retriedList())
	drops := obs.dropList()
	require.Len(t, drops, 1)
	assert.Equal(t, 10, drops[0].records)
	assert.Equal(t, DropPermanentError, drops[0].reason)
	assert.True(t, consumererror.IsPermanent(drops[0].err))
	n, bytes := b.Held()
	assert.Zero(t, n)
	assert.Zero(t, bytes)
}

// sized returns n records of size bytes each.
func sized(n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = make([]byte, size)
	}
	return out
}

// bufferLimitCases are adds to a buffer of 10 records and 100 bytes, with what each add
// returns and what the buffer holds after them.
var bufferLimitCases = []struct {
	name      string
	adds      [][][]byte
	wantErrs  []error
	wantHeld  int
	wantBytes int
}{
	{
		name: "record limit", adds: [][][]byte{sized(10, 5), sized(1, 5)},
		wantErrs: []error{nil, ErrBufferFull}, wantHeld: 10, wantBytes: 50,
	},
	{
		name: "byte limit", adds: [][][]byte{sized(1, 100), sized(1, 1)},
		wantErrs: []error{nil, ErrBufferFull}, wantHeld: 1, wantBytes: 100,
	},
	{
		name: "all or nothing", adds: [][][]byte{sized(6, 5), sized(5, 5), sized(4, 5)},
		wantErrs: []error{nil, ErrBufferFull, nil}, wantHeld: 10, wantBytes: 50,
	},
	{
		name: "oversize add admitted when empty", adds: [][][]byte{sized(20, 5), sized(1, 5)},
		wantErrs: []error{nil, ErrBufferFull}, wantHeld: 20, wantBytes: 100,
	},
	{
		name: "oversize record admitted when empty", adds: [][][]byte{sized(1, 500)},
		wantErrs: []error{nil}, wantHeld: 1, wantBytes: 500,
	},
	{
		name: "oversize add refused when not empty", adds: [][][]byte{sized(1, 5), sized(20, 5)},
		wantErrs: []error{nil, ErrBufferFull}, wantHeld: 1, wantBytes: 5,
	},
}

func TestBufferLimits(t *testing.T) {
	for _, tt := range bufferLimitCases {
		t.Run(tt.name, func(t *testing.T) {
			s := &sink{}
			// Nothing leaves before Shutdown: batches never fill and never age.
			b, obs := start(t, testConfig(func(c *Config) {
				c.BatchSize = 1000
				c.Buffer.MaxRecords = 10
				c.Buffer.MaxBytes = 100
			}), s)
			for i, recs := range tt.adds {
				err := b.Add(context.Background(), recs, nil)
				if tt.wantErrs[i] == nil {
					require.NoError(t, err, "add %d", i)
				} else {
					require.ErrorIs(t, err, tt.wantErrs[i], "add %d", i)
				}
			}
			n, bytes := b.Held()
			assert.Equal(t, tt.wantHeld, n)
			assert.Equal(t, tt.wantBytes, bytes)

			require.NoError(t, shutdown(t, b))
			assert.Len(t, s.delivered(), tt.wantHeld, "exactly the admitted records are delivered")
			assert.Equal(t, tt.wantHeld, obs.deliveredCount())
			n, bytes = b.Held()
			assert.Zero(t, n)
			assert.Zero(t, bytes)
		})
	}
}

// blockConfig is a buffer of 10 records whose Add waits up to timeout for room.
func blockConfig(timeout time.Duration) Config {
	return testConfig(func(c *Config) {
		c.Buffer.MaxRecords = 10
		c.Buffer.BlockTimeout = timeout
	})
}

func TestBlockTimeout(t *testing.T) {
	t.Run("waits for room", func(t *testing.T) {
		b, obs, s, unblock := blocked(t, blockConfig(time.Minute))
		require.NoError(t, b.Add(context.Background(), records("a", 10), nil))
		waitStarted(t, s, 1)
		res := addAsync(context.Background(), b, records("b", 5))
		select {
		case err := <-res:
			t.Fatalf("Add returned %v while the buffer was full", err)
		case <-time.After(quiet):
		}
		unblock()
		awaitRoom(t, res)
		require.NoError(t, shutdown(t, b))
		assert.Equal(t, 15, obs.deliveredCount())
	})

	t.Run("fails after the timeout", func(t *testing.T) {
		const timeout = 200 * time.Millisecond
		b, _, _, _ := blocked(t, blockConfig(timeout))
		require.NoError(t, b.Add(context.Background(), records("a", 10), nil))
		begin := time.Now()
		err := b.Add(context.Background(), records("b", 1), nil)
		require.ErrorIs(t, err, ErrBufferFull)
		assert.GreaterOrEqual(t, time.Since(begin), timeout)
		n, _ := b.Held()
		assert.Equal(t, 10, n, "nothing admitted")
	})
}

// TestBlockedAddEnds ends an Add that waits for room by its context and by Shutdown.
func TestBlockedAddEnds(t *testing.T) {
	t.Run("honours ctx", func(t *testing.T) {
		b, _, _, _ := blocked(t, blockConfig(time.Hour))
		require.NoError(t, b.Add(context.Background(), records("a", 10), nil))
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		require.ErrorIs(t, b.Add(ctx, records("b", 1), nil), context.Canceled)
		n, _ := b.Held()
		assert.Equal(t, 10, n, "nothing admitted")
	})

	t.Run("Shutdown ends the wait", func(t *testing.T) {
		b, _, s, _ := blocked(t, blockConfig(time.Hour))
		require.NoError(t, b.Add(context.Background(), records("a", 10), nil))
		waitStarted(t, s, 1)
		res := addAsync(context.Background(), b, records("b", 1))
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		require.Error(t, b.Shutdown(ctx), "the blocked send is cancelled and its records dropped")
		require.ErrorIs(t, <-res, ErrClosed)
	})
}

func TestAddAndWait(t *testing.T) {
	tests := []struct {
		name          string
		respond       func(context.Context, int) error
		wantErr       error
		wantPermanent bool
		wantText      string
	}{
		{name: "delivered", respond: nil},
		{
			name: "handed back after retries", respond: func(context.Context, int) error { return errTransient },
			wantErr: errTransient, wantText: "3 of 3 records not delivered, handed back",
		},
		{
			name: "dropped for a permanent error", respond: func(context.Context, int) error { return consumererror.NewPermanent(errBad) },
			wantErr: errBad, wantPermanent: true, wantText: "3 of 3 records dropped (permanent_error)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := start(t, testConfig(func(c *Config) {
				c.FlushInterval = 10 * time.Millisecond
				c.MaxRetries = 1
			}), &sink{respond: tt.respond})
			err := b.AddAndWait(context.Background(), records("r", 3), nil)
			if tt.wantErr == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Equal(t, tt.wantPermanent, consumererror.IsPermanent(err))
				assert.Contains(t, err.Error(), tt.wantText)
			}
			n, bytes := b.Held()
			assert.Zero(t, n)
			assert.Zero(t, bytes)
		})
	}

	t.Run("ctx ends the wait, not the records", func(t *testing.T) {
		b, obs, s, unblock := blocked(t, testConfig(func(c *Config) { c.FlushInterval = 10 * time.Millisecond }))
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		require.ErrorIs(t, b.AddAndWait(ctx, records("r", 3), nil), context.DeadlineExceeded)
		waitStarted(t, s, 1)
		unblock()
		require.NoError(t, shutdown(t, b))
		assert.Equal(t, 3, obs.deliveredCount())
	})

	t.Run("nothing to wait for", func(t *testing.T) {
		b, _ := start(t, testConfig(nil), &sink{})
		require.NoError(t, b.AddAndWait(context.Background(), nil, nil))
	})
}

// TestAddAndWaitHandsBackOnlyUndelivered splits one request across batches of 4 and fails
// every attempt of the second batch: only its records come back, by position, so that a
// durable queue resends them and not the delivered ones.
func TestAddAndWaitHandsBackOnlyUndelivered(t *testing.T) {
	s := &sink{respond: func(_ context.Context, n int) error {
		if n >= 1 && n <= 2 { // the second batch and its one retry
			return errTransient
		}
		return nil
	}}
	b, obs := start(t, testConfig(func(c *Config) {
		c.BatchSize = 4
		c.FlushInterval = 10 * time.Millisecond
		c.MaxRetries = 1
	}), s)
	recs := records("r", 10)
	err := b.AddAndWait(context.Background(), recs, nil)

	var handedBack *HandedBackError
	require.ErrorAs(t, err, &handedBack)
	assert.Equal(t, []int{4, 5, 6, 7}, handedBack.Positions)
	assert.Equal(t, 10, handedBack.Total)
	require.ErrorIs(t, err, errTransient)
	assert.False(t, consumererror.IsPermanent(err))
	require.NoError(t, shutdown(t, b))
	assert.Equal(t, names(append(append([][]byte{}, recs[:4]...), recs[8:]...)), s.delivered())
	assert.Equal(t, []int{4, 4}, obs.retriedList(), "both failed attempts are reported")
	assert.Empty(t, obs.dropList())
}

func TestTriggerAndReasonNames(t *testing.T) {
	triggers, reasons := map[string]bool{}, map[string]bool{}
	for tr := range NumTriggers {
		assert.NotEmpty(t, tr.String())
		triggers[tr.String()] = true
	}
	for r := range NumDropReasons {
		assert.NotEmpty(t, r.String())
		reasons[r.String()] = true
	}
	assert.Len(t, triggers, int(NumTriggers), "trigger names are distinct")
	assert.Len(t, reasons, int(NumDropReasons), "reason names are distinct")
}

func TestShutdownFlushes(t *testing.T) {
	tests := []struct {
		name        string
		change      func(*Config)
		respond     func(context.Context, int) error
		add         int
		wantFlushes []flush
		wantRetried []int
	}{
		{
			name: "strict", change: func(c *Config) { c.BatchSize = 100 }, add: 250,
			wantFlushes: []flush{{TriggerSize, 100}, {TriggerSize, 100}, {TriggerShutdown, 50}},
		},
		{
			name: "eager ignores MinLinger", change: func(c *Config) { c.Mode = ModeEager; c.MinLinger = time.Hour }, add: 5,
			wantFlushes: []flush{{TriggerShutdown, 5}},
		},
		{
			name: "retries follow the backoff",
			change: func(c *Config) {
				c.Backoff = Backoff{InitialInterval: 50 * time.Millisecond, MaxInterval: time.Second, Multiplier: 2}
			},
			respond: func(_ context.Context, n int) error {
				if n < 2 {
					return errTransient
				}
				return nil
			},
			add:         5,
			wantFlushes: []flush{{TriggerShutdown, 5}, {TriggerRetry, 5}, {TriggerRetry, 5}},
			wantRetried: []int{5, 5},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &sink{respond: tt.respond}
			b, obs := start(t, testConfig(tt.change), s)
			recs := records("r", tt.add)
			require.NoError(t, b.Add(context.Background(), recs, nil))
			require.NoError(t, shutdown(t, b))

			assert.Equal(t, names(recs), s.delivered())
			assert.Equal(t, tt.wantFlushes, obs.flushList())
			assert.Equal(t, tt.wantRetried, obs.retriedList())
			assert.Equal(t, tt.add, obs.deliveredCount())
			calls := s.snapshot()
			for i := 1; i < len(calls); i++ {
				if calls[i-1].err != nil {
					assert.GreaterOrEqual(t, calls[i].start.Sub(calls[i-1].end), 50*time.Millisecond)
				}
			}
			n, _ := b.Held()
			assert.Zero(t, n)
		})
	}
}

func TestShutdownDeadline(t *testing.T) {
	tests := []struct {
		name    string
		respond func(context.Context, int) error
	}{
		{name: "send keeps failing", respond: func(context.Context, int) error { return errTransient }},
		{name: "send hangs until cancelled", respond: func(ctx context.Context, _ int) error {
			<-ctx.Done()
			return ctx.Err()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const added = 55
			s := &sink{respond: tt.respond}
			b, obs := start(t, testConfig(func(c *Config) {
				c.MaxInFlight = 2
				c.FlushInterval = 10 * time.Millisecond
				c.MaxRetries = 1_000_000
				c.Backoff = Backoff{InitialInterval: 20 * time.Millisecond, MaxInterval: 50 * time.Millisecond, Multiplier: 2}
			}), s)
			require.NoError(t, b.Add(context.Background(), records("r", added), nil))
			waitStarted(t, s, 2)

			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			begin := time.Now()
			err := b.Shutdown(ctx)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Contains(t, err.Error(), fmt.Sprintf("%d records dropped at shutdown", added))
			assert.Less(t, time.Since(begin), within)

			assert.Zero(t, obs.deliveredCount())
			for _, d := range obs.dropList() {
				assert.Equal(t, DropShutdown, d.reason)
			}
			assert.Equal(t, added, obs.deliveredCount()+obs.droppedCount(), "every record delivered or dropped")
			n, bytes := b.Held()
			assert.Zero(t, n)
			assert.Zero(t, bytes)

			require.ErrorIs(t, b.Add(context.Background(), records("late", 1), nil), ErrClosed)
			require.ErrorIs(t, b.AddAndWait(context.Background(), records("late", 1), nil), ErrClosed)
			assert.Equal(t, err.Error(), b.Shutdown(context.Background()).Error(), "Shutdown is idempotent")
		})
	}
}

// TestShutdownGivesUpAfterOneRetryBudget fails every send while Shutdown flushes several
// batches: once the first batch has used up its retries, the others are given up at once, so
// that Shutdown lasts one retry budget, not one per batch. Records of AddAndWait callers are
// handed back to them instead.
func TestShutdownGivesUpAfterOneRetryBudget(t *testing.T) {
	cfg := testConfig(func(c *Config) { c.MaxRetries = 2 })
	t.Run("dropped", func(t *testing.T) {
		s := &sink{respond: func(context.Context, int) error { return errTransient }}
		b, obs := start(t, cfg, s)
		require.NoError(t, b.Add(context.Background(), records("r", 35), nil))
		require.NoError(t, shutdown(t, b))
		assert.Len(t, s.snapshot(), cfg.MaxRetries+1, "only the first batch was tried, MaxRetries+1 times")
		assert.Equal(t, []drop{{10, DropRetriesExhausted, errTransient}, {25, DropRetriesExhausted, errTransient}}, obs.dropList())
		n, bytes := b.Held()
		assert.Zero(t, n)
		assert.Zero(t, bytes)
	})
	t.Run("handed back", func(t *testing.T) {
		s := &sink{respond: func(context.Context, int) error { return errTransient }}
		b, obs := start(t, cfg, s)
		errs := make(chan error, 2)
		for _, n := range []int{10, 25} {
			go func() { errs <- b.AddAndWait(context.Background(), records("r", n), nil) }()
		}
		require.Eventually(t, func() bool { n, _ := b.Held(); return n == 35 }, within, time.Millisecond)
		require.NoError(t, shutdown(t, b))
		for range 2 {
			err := <-errs
			require.ErrorContains(t, err, "handed back")
			assert.False(t, consumererror.IsPermanent(err))
		}
		assert.Len(t, s.snapshot(), cfg.MaxRetries+1)
		assert.Empty(t, obs.dropList(), "records handed back are not dropped")
	})
}

func TestShutdownIdempotent(t *testing.T) {
	b, _ := start(t, testConfig(nil), &sink{})
	require.NoError(t, b.Add(context.Background(), records("r", 3), nil))
	require.NoError(t, shutdown(t, b))
	require.NoError(t, shutdown(t, b))
	require.ErrorIs(t, b.Add(context.Background(), records("late", 1), nil), ErrClosed)
	require.ErrorIs(t, b.Add(context.Background(), nil, nil), ErrClosed)
}

// concurrentCases run TestConcurrentAdds in each mode, with one sender and with several.
var concurrentCases = []struct {
	name        string
	mode        Mode
	concurrency int
	flaky       bool
}{
	{name: "strict, one sender", mode: ModeStrict, concurrency: 1},
	{name: "eager, one sender", mode: ModeEager, concurrency: 1},
	{name: "strict, four senders", mode: ModeStrict, concurrency: 4},
	{name: "eager, four senders, flaky send", mode: ModeEager, concurrency: 4, flaky: true},
}

func TestConcurrentAdds(t *testing.T) {
	const producers, perProducer = 8, 10_000
	for _, tt := range concurrentCases {
		t.Run(tt.name, func(t *testing.T) {
			s := &sink{}
			if tt.flaky {
				s.respond = func(context.Context, int) error {
					if rand.IntN(10) == 0 {
						return errTransient
					}
					return nil
				}
			}
			b, obs := start(t, testConfig(func(c *Config) {
				c.Mode = tt.mode
				c.BatchSize = 100
				c.FlushInterval = 5 * time.Millisecond
				c.MaxInFlight = tt.concurrency
				c.Buffer.MaxRecords = 1000
				c.Buffer.BlockTimeout = time.Minute
				c.MaxRetries = 1000
				c.Backoff = Backoff{InitialInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond, Multiplier: 2, Jitter: 0.5}
			}), s)

			var wg sync.WaitGroup
			for p := range producers {
				wg.Go(func() {
					chunk := p + 1 // Adds of 1 to 8 records
					for i := 0; i < perProducer; i += chunk {
						recs := make([][]byte, 0, chunk)
						for j := i; j < min(i+chunk, perProducer); j++ {
							recs = append(recs, fmt.Appendf(nil, "%d-%d", p, j))
						}
						assert.NoError(t, b.Add(context.Background(), recs, nil))
					}
				})
			}
			wg.Wait()
			require.NoError(t, shutdown(t, b))

			checkProduced(t, s.delivered(), producers, perProducer, tt.concurrency == 1 && !tt.flaky)
			assert.Equal(t, producers*perProducer, obs.deliveredCount())
			assert.Empty(t, obs.dropList())
			n, bytes := b.Held()
			assert.Zero(t, n)
			assert.Zero(t, bytes)
			for _, f := range obs.flushList() {
				assert.LessOrEqual(t, f.records, 100)
			}
		})
	}
}

// checkProduced checks that every record "<producer>-<i>" was delivered once, and with
// ordered, each producer's in the order it added them.
func checkProduced(t *testing.T, delivered []string, producers, perProducer int, ordered bool) {
	t.Helper()
	require.Len(t, delivered, producers*perProducer)
	seen := make(map[string]int, len(delivered))
	next := make([]int, producers)
	for _, rec := range delivered {
		seen[rec]++
		if ordered {
			var p, i int
			_, err := fmt.Sscanf(rec, "%d-%d", &p, &i)
			require.NoError(t, err)
			require.Equal(t, next[p], i, "one sender keeps each producer's order")
			next[p]++
		}
	}
	for p := range producers {
		for i := range perProducer {
			require.Equal(t, 1, seen[fmt.Sprintf("%d-%d", p, i)], "record %d-%d", p, i)
		}
	}
}

func TestNewPanicsOnInvalidConfig(t *testing.T) {
	assert.PanicsWithError(t, `"batch_size" must be positive, got 0`, func() {
		New(testConfig(func(c *Config) { c.BatchSize = 0 }), (&sink{}).send, nil)
	})
}

func TestNilObserver(t *testing.T) {
	b := New(testConfig(func(c *Config) { c.MaxRetries = 0 }), func(context.Context, [][]byte) error { return errTransient }, nil)
	require.ErrorIs(t, b.AddAndWait(context.Background(), records("r", 10), nil), errTransient)
	require.NoError(t, shutdown(t, b))
}

// TestRefuses tells in advance the Adds that would be refused at once, so that a caller can
// skip encoding them.
func TestRefuses(t *testing.T) {
	b, _ := start(t, testConfig(func(c *Config) {
		c.BatchSize = 100
		c.Buffer.MaxRecords = 10
	}), &sink{})
	assert.False(t, b.Refuses(10), "an empty buffer takes a full one")
	assert.False(t, b.Refuses(50), "an empty buffer takes even more, alone")
	require.NoError(t, b.Add(context.Background(), records("r", 8), nil))
	assert.False(t, b.Refuses(2))
	assert.True(t, b.Refuses(3))
	require.ErrorIs(t, b.Add(context.Background(), records("s", 3), nil), ErrBufferFull, "Add agrees")
	require.NoError(t, shutdown(t, b))
	assert.False(t, b.Refuses(3), "after Shutdown, Add answers ErrClosed instead")

	waits, _ := start(t, testConfig(func(c *Config) {
		c.BatchSize = 100
		c.Buffer.MaxRecords = 10
		c.Buffer.BlockTimeout = time.Millisecond
	}), &sink{})
	require.NoError(t, waits.Add(context.Background(), records("r", 10), nil))
	assert.False(t, waits.Refuses(5), "an Add that may wait for room is not refused at once")
}

// sentRecords lists the records of each send so far.
func sentRecords(s *sink) [][]string {
	var out [][]string
	for _, c := range s.snapshot() {
		out = append(out, c.records)
	}
	return out
}
