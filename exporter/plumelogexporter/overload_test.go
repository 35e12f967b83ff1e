package plumelogexporter

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/batcher"
	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

// paddedLogs builds n records whose bodies are size bytes long.
func paddedLogs(n, size int) plog.Logs {
	body := strings.Repeat("x", size)
	return plumelogtest.Logs(0, n, plumelogtest.Body(func(int) string { return body }))
}

func heapAlloc(gc bool) uint64 {
	if gc {
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

const (
	overloadProducers = 8
	overloadPerCall   = 50
	// overloadOverhead is the heap beyond the records held: the ring of queued items, the
	// requests being encoded by the producers, the Redis client's buffers, the telemetry.
	// Generous on purpose.
	overloadOverhead = 16 << 20
)

// overloadCase is one set of buffer limits under overload.
type overloadCase struct {
	name         string
	bodySize     int
	maxRecords   int
	maxBytes     int
	blockTimeout time.Duration
	// offered is how many times the exporter's limit the producers offer in all.
	offered int
}

var overloadCases = []overloadCase{
	{name: "record limit, refuse at once", bodySize: 100, maxRecords: 2_000, maxBytes: 64 << 20, offered: 50},
	{name: "byte limit, refuse at once", bodySize: 1000, maxRecords: 100_000, maxBytes: 512 << 10, offered: 50},
	{name: "byte limit, block then refuse", bodySize: 1000, maxRecords: 100_000, maxBytes: 512 << 10, blockTimeout: 20 * time.Millisecond, offered: 10},
}

// TestOverloadPushesBack offers far more than Redis takes: writes are paused with CLIENT
// PAUSE while producers push as fast as ConsumeLogs returns. The exporter refuses what does
// not fit with a retryable error and holds no more than its limits. Its live heap, measured
// before and after the overload while it still holds what it admitted, grows by no more
// than what it holds plus a fixed overhead, and the heap never exceeds twice that (the
// garbage collector lets garbage reach the live heap's size). Once Redis resumes, every
// record it accepted is delivered.
func TestOverloadPushesBack(t *testing.T) {
	for _, tt := range overloadCases {
		t.Run(tt.name, func(t *testing.T) {
			srv := redistest.Start(t)
			rdb := srv.Client()
			ctx := context.Background()
			s := startExporter(t, otelcoltest.Settings{
				"endpoint": srv.Addr,
				// The paused RPUSH waits for the pause to end instead of timing out, so
				// that nothing is retried or duplicated.
				"read_timeout":        "2m",
				"buffer::max_records": tt.maxRecords, "buffer::max_bytes": tt.maxBytes, "buffer::block_timeout": tt.blockTimeout,
			})
			// A first record tells the size of one message as it is held.
			require.NoError(t, s.exp.ConsumeLogs(ctx, paddedLogs(1, tt.bodySize)))
			s.waitSent(t, 1)
			msgSize := len(rdb.LIndex(ctx, "plume_log_list", 0).Val())
			heldBound := min(tt.maxRecords, tt.maxBytes/msgSize)
			require.NoError(t, rdb.Do(ctx, "CLIENT", "PAUSE", 10*60*1000, "WRITE").Err())
			t.Cleanup(func() { rdb.Do(context.Background(), "CLIENT", "UNPAUSE") })

			o := overload(t, s, tt, tt.offered*heldBound)
			require.Nil(t, o.wrongErr.Load(), "every refusal is a retryable buffer-full error")
			assert.LessOrEqual(t, o.maxHeld, int64(heldBound), "held records within buffer::max_records and buffer::max_bytes")
			assert.Positive(t, o.refused.Load(), "overload is refused, not absorbed")
			liveBound := uint64(heldBound*msgSize + overloadOverhead)
			assert.LessOrEqual(t, o.heapAfter, o.heapBefore+liveBound, "live heap grows by what is held plus the overhead")
			assert.LessOrEqual(t, o.maxHeap, 2*(o.heapBefore+liveBound), "the heap never grows with the offered load")
			t.Logf("offered %d records of %d bytes (%d MiB), accepted %d, refused %d; held at most %d (bound %d); live heap %+.1f MiB, peak heap %.1f MiB over the live heap before",
				tt.offered*heldBound, msgSize, tt.offered*heldBound*msgSize>>20, o.accepted.Load(), o.refused.Load(), o.maxHeld, heldBound,
				(float64(o.heapAfter)-float64(o.heapBefore))/(1<<20), (float64(o.maxHeap)-float64(o.heapBefore))/(1<<20))

			// The collector's own counters see the refusals as failed sends.
			assert.Equal(t, o.refused.Load(), s.sum(t, "otelcol_exporter_send_failed_log_records"))

			require.NoError(t, rdb.Do(ctx, "CLIENT", "UNPAUSE").Err())
			s.waitSent(t, 1+o.accepted.Load())
			require.NoError(t, s.exp.Shutdown(ctx))
			assert.Equal(t, 1+o.accepted.Load(), rdb.LLen(ctx, "plume_log_list").Val(), "every accepted record is delivered once")
			assert.Zero(t, s.count(t, "records_dropped"))
		})
	}
}

// overloaded is what an overload did: the records accepted and refused, the most records
// held and the largest heap sampled meanwhile, and the live heap before and after.
type overloaded struct {
	accepted, refused     atomic.Int64
	wrongErr              atomic.Value // a refusal that is not a retryable buffer-full error
	maxHeld               int64
	heapBefore, heapAfter uint64
	maxHeap               uint64
}

// overload has producers offer records of the case's size until offeredRecords were offered,
// sampling what the exporter holds, and the heap, until they are done.
func overload(t *testing.T, s *testExporter, tt overloadCase, offeredRecords int) *overloaded {
	t.Helper()
	o := &overloaded{heapBefore: heapAlloc(true)}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range overloadProducers {
		wg.Go(func() {
			for next.Add(overloadPerCall) <= int64(offeredRecords) {
				began := time.Now()
				err := s.exp.ConsumeLogs(context.Background(), paddedLogs(overloadPerCall, tt.bodySize))
				switch {
				case err == nil:
					o.accepted.Add(overloadPerCall)
				case !errors.Is(err, batcher.ErrBufferFull) || consumererror.IsPermanent(err):
					o.wrongErr.Store(err)
				case time.Since(began) < tt.blockTimeout:
					o.wrongErr.Store(errors.New("refused before block_timeout"))
				default:
					o.refused.Add(overloadPerCall)
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for sampling := true; sampling; {
		select {
		case <-done:
			sampling = false
		case <-time.After(10 * time.Millisecond):
		}
		o.maxHeld = max(o.maxHeld, s.gauge(t, "buffer_records"))
		o.maxHeap = max(o.maxHeap, heapAlloc(false))
	}
	o.heapAfter = heapAlloc(true)
	return o
}
