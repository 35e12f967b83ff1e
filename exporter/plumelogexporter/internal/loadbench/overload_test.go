package loadbench

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter"
	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

const overloadDuration = 20 * time.Second

type overloadResult struct {
	Duration       time.Duration `json:"duration_ns"`
	Producers      int           `json:"producers"`
	RequestRecords int           `json:"request_records"`
	MaxRecords     int           `json:"max_records"`
	MaxBytes       int           `json:"max_bytes"`
	MessageBytes   float64       `json:"message_bytes"`
	Offered        int64         `json:"offered"`
	Refused        int64         `json:"refused"`
	MaxHeld        int64         `json:"max_held"`
	// HeapBefore and HeapAfter are the live heap (after a collection) before the overload
	// and at its end, while the exporter still holds what it admitted.
	HeapBefore uint64 `json:"heap_before"`
	HeapAfter  uint64 `json:"heap_after"`
	// HeapPeak is the largest heap, garbage included, sampled during the overload.
	HeapPeak uint64 `json:"heap_peak"`
	// PeakRSS is the process's peak resident set size (VmHWM).
	PeakRSS int64 `json:"peak_rss"`
}

// TestOverloadMemory runs the exporter with its default buffer limits while Redis accepts no
// writes (CLIENT PAUSE WRITE) and producers push requests as fast as ConsumeLogs returns,
// then reports what the process held. `make bench` runs it in a process of its own, under
// /usr/bin/time -v, so that the peak resident memory is this scenario's alone.
func TestOverloadMemory(t *testing.T) {
	dir := requireOut(t)
	ctx := context.Background()
	srv := redistest.Start(t)
	rdb := srv.Client()
	in := startExporter(t, false, otelcoltest.Settings{
		"endpoint": srv.Addr,
		// The paused RPUSH waits for the end of the pause rather than timing out.
		"read_timeout": overloadDuration + time.Minute,
	})
	require.NoError(t, in.exp.ConsumeLogs(ctx, appLogs(requestRecords, 0)))
	in.waitSent(t, requestRecords, time.Minute)
	values, err := rdb.LRange(ctx, key, 0, -1).Result()
	require.NoError(t, err)
	cfg := plumelogexporter.NewFactory().CreateDefaultConfig().(*plumelogexporter.Config)
	res := overloadResult{
		Duration:       overloadDuration,
		Producers:      2 * runtime.GOMAXPROCS(0),
		RequestRecords: requestRecords,
		MaxRecords:     cfg.Batching.Buffer.MaxRecords,
		MaxBytes:       cfg.Batching.Buffer.MaxBytes,
	}
	for _, v := range values {
		res.MessageBytes += float64(len(v)) / float64(len(values))
	}

	require.NoError(t, rdb.Do(ctx, "CLIENT", "PAUSE", (overloadDuration+time.Minute).Milliseconds(), "WRITE").Err())
	overload(t, in, &res)
	require.NoError(t, rdb.Do(ctx, "CLIENT", "UNPAUSE").Err())
	accepted := res.Offered - res.Refused
	in.waitSent(t, requestRecords+accepted, 5*time.Minute)
	in.shutdown(t)
	require.Equal(t, requestRecords+accepted, rdb.LLen(ctx, key).Val(), "every accepted record is delivered")
	require.LessOrEqual(t, res.MaxHeld, int64(res.MaxRecords))

	writeResults(t, dir, "overload", res, overloadMarkdown(res))
}

// overload has res.Producers producers push new requests as fast as ConsumeLogs returns for
// overloadDuration, and records in res what was offered, refused and held, and the heap.
func overload(t *testing.T, in *instance, res *overloadResult) {
	t.Helper()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.HeapBefore = ms.HeapAlloc

	var offered, refused atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for p := range res.Producers {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// A new request each time, as a receiver unmarshals one per export call.
				if in.exp.ConsumeLogs(context.Background(), appLogs(requestRecords, (p<<20)+i*requestRecords)) != nil {
					refused.Add(requestRecords)
				}
				offered.Add(requestRecords)
			}
		})
	}
	deadline := time.After(overloadDuration)
	for running := true; running; {
		select {
		case <-deadline:
			running = false
		case <-time.After(50 * time.Millisecond):
		}
		runtime.ReadMemStats(&ms)
		res.HeapPeak = max(res.HeapPeak, ms.HeapAlloc)
		res.MaxHeld = max(res.MaxHeld, bufferedRecords(t, in))
	}
	close(stop)
	wg.Wait()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	res.HeapAfter = ms.HeapAlloc
	res.Offered, res.Refused = offered.Load(), refused.Load()
	rss, err := peakRSS()
	require.NoError(t, err)
	res.PeakRSS = rss
}

func bufferedRecords(t *testing.T, in *instance) int64 {
	t.Helper()
	m, ok := in.metric(t, "otelcol_plumelog_exporter_buffer_records")
	require.True(t, ok)
	return m.Data.(metricdata.Gauge[int64]).DataPoints[0].Value
}

func overloadMarkdown(r overloadResult) string {
	mib := func(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }
	return fmt.Sprintf("Overload: %d producers, requests of %d records (messages of %.0f bytes), %s against a Redis that accepts no writes; default limits (`buffer::max_records: %d`, `buffer::max_bytes: %d`, `block_timeout: 0`):\n\n"+
		"| offered | refused (retryable) | held at most | held bytes at most | live heap before → after | peak heap | peak RSS (VmHWM) |\n"+
		"|---:|---:|---:|---:|---:|---:|---:|\n"+
		"| %s records (%s) | %s | %s records | %s | %s → %s | %s | %s |\n",
		r.Producers, r.RequestRecords, r.MessageBytes, r.Duration, r.MaxRecords, r.MaxBytes,
		count(float64(r.Offered)), mib(float64(r.Offered)*r.MessageBytes), count(float64(r.Refused)), count(float64(r.MaxHeld)),
		mib(float64(r.MaxHeld)*r.MessageBytes), mib(float64(r.HeapBefore)), mib(float64(r.HeapAfter)), mib(float64(r.HeapPeak)), mib(float64(r.PeakRSS)))
}
