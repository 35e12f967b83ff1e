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
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/batcher"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/sender"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

// paddedLogs builds n records whose bodies are size bytes long.
func paddedLogs(n, size int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "overload")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	now := pcommon.NewTimestampFromTime(time.Now())
	body := strings.Repeat("x", size)
	for range n {
		lr := lrs.AppendEmpty()
		lr.SetTimestamp(now)
		lr.Body().SetStr(body)
	}
	return ld
}

func queueSize(t *testing.T, s started) int64 {
	t.Helper()
	m, err := s.telemetry.GetMetric("otelcol_plumelog_exporter_buffer_records")
	require.NoError(t, err)
	return m.Data.(metricdata.Gauge[int64]).DataPoints[0].Value
}

func heapAlloc(gc bool) uint64 {
	if gc {
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestOverloadPushesBack offers far more than Redis takes: writes are paused with CLIENT
// PAUSE while producers push as fast as ConsumeLogs returns. The exporter refuses what does
// not fit with a retryable error and holds no more than its limits. Its live heap, measured
// before and after the overload while it still holds what it admitted, grows by no more
// than what it holds plus a fixed overhead, and the heap never exceeds twice that (the
// garbage collector lets garbage reach the live heap's size). Once Redis resumes, every
// record it accepted is delivered.
func TestOverloadPushesBack(t *testing.T) {
	const (
		producers = 8
		perCall   = 50
		// Heap beyond the records held: the ring of queued items, the requests being encoded
		// by the producers, the Redis client's buffers, the telemetry. Generous on purpose.
		overhead = 16 << 20
	)
	tests := []struct {
		name         string
		bodySize     int
		maxRecords   int
		maxBytes     int
		blockTimeout time.Duration
		// offered is how many times the exporter's limit the producers offer in all.
		offered int
	}{
		{name: "record limit, refuse at once", bodySize: 100, maxRecords: 2_000, maxBytes: 64 << 20, offered: 50},
		{name: "byte limit, refuse at once", bodySize: 1000, maxRecords: 100_000, maxBytes: 512 << 10, offered: 50},
		{name: "byte limit, block then refuse", bodySize: 1000, maxRecords: 100_000, maxBytes: 512 << 10, blockTimeout: 20 * time.Millisecond, offered: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := redistest.Start(t)
			rdb := srv.Client()
			ctx := context.Background()
			s := startExporter(t, func(c *Config) {
				c.Redis.Endpoint = sender.Endpoint(srv.Addr)
				// The paused RPUSH waits for the pause to end instead of timing out, so
				// that nothing is retried or duplicated.
				c.Redis.ReadTimeout = 2 * time.Minute
				c.Batching.Buffer.MaxRecords = tt.maxRecords
				c.Batching.Buffer.MaxBytes = tt.maxBytes
				c.Batching.Buffer.BlockTimeout = tt.blockTimeout
			})
			// A first record tells the size of one message as it is held.
			require.NoError(t, s.exp.ConsumeLogs(ctx, paddedLogs(1, tt.bodySize)))
			waitSent(t, s, 1)
			msgSize := len(rdb.LIndex(ctx, "plume_log_list", 0).Val())
			heldBound := min(tt.maxRecords, tt.maxBytes/msgSize)
			require.NoError(t, rdb.Do(ctx, "CLIENT", "PAUSE", 10*60*1000, "WRITE").Err())
			t.Cleanup(func() { rdb.Do(context.Background(), "CLIENT", "UNPAUSE") })
			heapBefore := heapAlloc(true)

			offeredRecords := tt.offered * heldBound
			var next, accepted, refused atomic.Int64
			var wrongErr atomic.Value
			var wg sync.WaitGroup
			for range producers {
				wg.Go(func() {
					for next.Add(perCall) <= int64(offeredRecords) {
						began := time.Now()
						err := s.exp.ConsumeLogs(ctx, paddedLogs(perCall, tt.bodySize))
						switch {
						case err == nil:
							accepted.Add(perCall)
						case !errors.Is(err, batcher.ErrBufferFull) || consumererror.IsPermanent(err):
							wrongErr.Store(err)
						case time.Since(began) < tt.blockTimeout:
							wrongErr.Store(errors.New("refused before block_timeout"))
						default:
							refused.Add(perCall)
						}
					}
				})
			}

			// Sample what is held, and the live heap, until the producers are done.
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			var maxHeld int64
			var maxHeap uint64
			for sampling := true; sampling; {
				select {
				case <-done:
					sampling = false
				case <-time.After(10 * time.Millisecond):
				}
				maxHeld = max(maxHeld, queueSize(t, s))
				maxHeap = max(maxHeap, heapAlloc(false))
			}
			heapAfter := heapAlloc(true)
			require.Nil(t, wrongErr.Load(), "every refusal is a retryable queue-full error")

			assert.LessOrEqual(t, maxHeld, int64(heldBound), "held records within buffer::max_records and buffer::max_bytes")
			assert.Positive(t, refused.Load(), "overload is refused, not absorbed")
			liveBound := uint64(heldBound*msgSize + overhead)
			assert.LessOrEqual(t, heapAfter, heapBefore+liveBound, "live heap grows by what is held plus the overhead")
			assert.LessOrEqual(t, maxHeap, 2*(heapBefore+liveBound), "the heap never grows with the offered load")
			t.Logf("offered %d records of %d bytes (%d MiB), accepted %d, refused %d; held at most %d (bound %d); live heap %+.1f MiB, peak heap %.1f MiB over the live heap before",
				offeredRecords, msgSize, offeredRecords*msgSize>>20, accepted.Load(), refused.Load(), maxHeld, heldBound,
				(float64(heapAfter)-float64(heapBefore))/(1<<20), (float64(maxHeap)-float64(heapBefore))/(1<<20))

			// The collector's own counters see the refusals as failed sends.
			assert.EqualValues(t, refused.Load(), exporterhelperCount(t, s, "otelcol_exporter_send_failed_log_records"))

			require.NoError(t, rdb.Do(ctx, "CLIENT", "UNPAUSE").Err())
			waitSent(t, s, 1+accepted.Load())
			require.NoError(t, s.exp.Shutdown(ctx))
			assert.EqualValues(t, 1+accepted.Load(), rdb.LLen(ctx, "plume_log_list").Val(), "every accepted record is delivered once")
			assert.Zero(t, sumValue(t, s.telemetry, "records_dropped"))
		})
	}
}

// exporterhelperCount reads one of the counters that the collector's exporter helper keeps
// for every exporter.
func exporterhelperCount(t *testing.T, s started, name string) int64 {
	t.Helper()
	m, err := s.telemetry.GetMetric(name)
	require.NoError(t, err)
	var total int64
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		total += dp.Value
	}
	return total
}
