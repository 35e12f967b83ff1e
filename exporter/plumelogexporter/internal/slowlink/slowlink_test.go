package slowlink

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/goleak"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/metadatatest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/faulttest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

// TestMain fails the package if a goroutine outlives its tests: the exporter's, the proxy's
// or a process watcher's.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	hold        = time.Minute
	perCall     = 30
	callEvery   = 10 * time.Millisecond // 3,000 records a second
	maxRecords  = 20_000
	maxBytes    = 4 << 20
	sampleEvery = time.Second
)

// numberedLogs builds n records with ids from on, in attribute "id", each with a body of about
// 200 bytes like a real application log line.
func numberedLogs(from, n int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "slow-link")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	now := pcommon.NewTimestampFromTime(time.Now())
	for i := from; i < from+n; i++ {
		lr := lrs.AppendEmpty()
		lr.SetTimestamp(now)
		lr.Body().SetStr("record " + strconv.Itoa(i) + " " + strings.Repeat("order created amount=42.00 EUR ", 6))
		lr.Attributes().PutInt("id", int64(i))
	}
	return ld
}

// vmRSS returns the process's resident set size in bytes.
func vmRSS(t *testing.T) int64 {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

func heldRecords(t *testing.T, tel *componenttest.Telemetry) int64 {
	t.Helper()
	m, err := tel.GetMetric("otelcol_plumelog_exporter_buffer_records")
	require.NoError(t, err)
	return m.Data.(metricdata.Gauge[int64]).DataPoints[0].Value
}

func counter(t *testing.T, tel *componenttest.Telemetry, name string) int64 {
	t.Helper()
	m, err := tel.GetMetric("otelcol_plumelog_exporter_" + name)
	if err != nil {
		return 0
	}
	var total int64
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		total += dp.Value
	}
	return total
}

// sample is the process at one moment of the slow minute.
type sample struct {
	at         time.Duration
	rss        int64
	heap       uint64 // bytes in heap spans in use, garbage included
	held       int64
	goroutines int
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// load is what a steady producer offered during the slow minute.
type load struct {
	// accepted holds the first id of each accepted request of perCall records.
	accepted []int
	offered  int
	refused  int
	samples  []sample
}

// produce offers perCall records every callEvery for hold, and samples the process every
// sampleEvery.
func produce(t *testing.T, exp exporter.Logs, tel *componenttest.Telemetry) load {
	t.Helper()
	var l load
	start := time.Now()
	tick := time.NewTicker(callEvery)
	defer tick.Stop()
	for time.Since(start) < hold {
		<-tick.C
		if exp.ConsumeLogs(context.Background(), numberedLogs(l.offered, perCall)) == nil {
			l.accepted = append(l.accepted, l.offered)
		} else {
			l.refused += perCall
		}
		l.offered += perCall
		if at := time.Since(start); len(l.samples) == 0 || at-l.samples[len(l.samples)-1].at >= sampleEvery {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			l.samples = append(l.samples, sample{at: at, rss: vmRSS(t), heap: ms.HeapInuse, held: heldRecords(t, tel), goroutines: runtime.NumGoroutine()})
		}
	}
	return l
}

// startExporter starts the exporter through its factory with the default config overlaid by
// settings, keyed by their YAML keys.
func startExporter(t *testing.T, settings map[string]any) (exporter.Logs, *componenttest.Telemetry) {
	t.Helper()
	cfg := plumelogexporter.NewFactory().CreateDefaultConfig()
	require.NoError(t, confmap.NewFromStringMap(settings).Unmarshal(cfg))
	require.NoError(t, confmap.Validate(cfg))
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := metadatatest.NewSettings(tel)
	// The test telemetry records every span, one per ConsumeLogs call, and would grow by
	// megabytes over the minute; a collector exports or samples them instead.
	set.TracerProvider = tracenoop.NewTracerProvider()
	exp, err := plumelogexporter.NewFactory().CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	return exp, tel
}

// TestSlowLinkMemory holds 200 ms ± 50 ms of latency on every reply and a 64 KB/s limit on
// commands for a minute while records arrive at 3,000 a second, about ten times what the link
// carries. The exporter holds at most its buffer limits and refuses the rest (back-pressure);
// the resident memory and the goroutines level off instead of growing with the backlog; after
// the link heals every accepted record is delivered exactly once.
func TestSlowLinkMemory(t *testing.T) {
	srv := redistest.Start(t)
	proxy := faulttest.Start(t, srv.Addr)
	exp, tel := startExporter(t, map[string]any{
		"endpoint": proxy.Addr,
		"buffer":   map[string]any{"max_records": maxRecords, "max_bytes": maxBytes},
		// A batch must cross the link within the timeouts, or it times out, lands later
		// anyway and is sent again (docs/reliability.md): a default batch of 500 of these
		// messages (about 460 bytes) takes 3.6 s at 64 KB/s, past the default 3 s.
		"read_timeout":  "10s",
		"write_timeout": "10s",
	})
	proxy.Add("latency", faulttest.Downstream, faulttest.Latency(200, 50))
	proxy.Add("bandwidth", faulttest.Upstream, faulttest.Bandwidth(64))
	runtime.GC()
	baseRSS, baseGoroutines := vmRSS(t), runtime.NumGoroutine()
	l := produce(t, exp, tel)
	sentDuring := counter(t, tel, "records_sent")
	proxy.Remove("latency")
	proxy.Remove("bandwidth")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, exp.Shutdown(ctx))

	report(t, l.samples, baseRSS, baseGoroutines)
	accepted := len(l.accepted) * perCall
	t.Logf("offered %d records in %s, accepted %d, refused %d; %d delivered during the slow minute, the rest after it",
		l.offered, hold, accepted, l.refused, sentDuring)
	assert.Positive(t, l.refused, "the full buffer pushed back")
	for _, s := range l.samples {
		require.LessOrEqual(t, s.held, int64(maxRecords), "held records at %s", s.at)
		// The held messages, their queue entries, and the garbage of refused requests that
		// the next collection frees: the heap may double between collections. The minute's
		// refused requests, kept, would be about 70 MiB of messages alone.
		require.Less(t, s.heap, uint64(10*maxBytes), "heap in use at %s", s.at)
		// Generous for the race detector, which doubles what the heap costs.
		require.Less(t, s.rss, baseRSS+96<<20, "resident memory at %s", s.at)
	}
	// The buffer is full within seconds; from then on the process must not grow with the
	// minute's stream of refused requests.
	half, last := l.samples[len(l.samples)/2], l.samples[len(l.samples)-1]
	assert.Less(t, last.rss, half.rss+8<<20, "resident memory grew in the second half: %s → %s", mib(half.rss), mib(last.rss))
	// Each of the max_in_flight connections brings a sender and the proxy's goroutines for its
	// two directions and their toxics, about 8 in all; from then on the count levels off.
	inFlight := plumelogexporter.NewFactory().CreateDefaultConfig().(*plumelogexporter.Config).Batching.MaxInFlight
	assert.Less(t, last.goroutines, baseGoroutines+10*inFlight, "goroutines: %d at the start, %d at the end", baseGoroutines, last.goroutines)
	assert.LessOrEqual(t, last.goroutines, half.goroutines+4, "goroutines grew in the second half: %d → %d", half.goroutines, last.goroutines)
	assert.Zero(t, counter(t, tel, "records_dropped"))

	counts := deliveredIDs(t, srv)
	assert.Len(t, counts, accepted, "as many distinct records delivered as accepted")
	for _, from := range l.accepted {
		for id := from; id < from+perCall; id++ {
			require.Equal(t, 1, counts[id], "record %d", id)
		}
	}
}

// deliveredIDs reads the list, checks every element against the wire contract, and returns how
// often each id arrived.
func deliveredIDs(t *testing.T, srv *redistest.Server) map[int]int {
	t.Helper()
	elements, err := srv.Client().LRange(context.Background(), "plume_log_list", 0, -1).Result()
	require.NoError(t, err)
	counts := map[int]int{}
	for _, e := range elements {
		msg, err := plumelogtest.CheckRunLog([]byte(e))
		require.NoError(t, err, e)
		id, err := strconv.Atoi(msg["id"].(string))
		require.NoError(t, err)
		counts[id]++
	}
	return counts
}

// report logs the samples every ten seconds.
func report(t *testing.T, samples []sample, baseRSS int64, baseGoroutines int) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%8s %12s %12s %8s %10s\n%8s %12s %12s %8s %10d\n",
		"time", "rss", "heap in use", "held", "goroutines", "start", mib(baseRSS), "", "", baseGoroutines)
	for i, s := range samples {
		if i%10 == 0 || i == len(samples)-1 {
			fmt.Fprintf(&b, "%8s %12s %12s %8d %10d\n", s.at.Round(time.Second), mib(s.rss), mib(int64(s.heap)), s.held, s.goroutines)
		}
	}
	t.Logf("under the slow link:\n%s", b.String())
}
