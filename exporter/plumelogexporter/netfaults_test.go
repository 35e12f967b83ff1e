package plumelogexporter

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/plumelog-otel/otelcol-plumelog/internal/faulttest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

// The network fault tests put a Toxiproxy proxy between the exporter and a real redis-server
// and break the link while a steady stream of records flows: sent (accepted by ConsumeLogs) =
// distinct records delivered + records counted as dropped, with duplicates counted by the id
// each record carries and reported.

// settings are exporter settings keyed by their YAML keys, as in a collector config.
type settings = otelcoltest.Settings

// netFaultSettings keep the fault tests short: fast backoff and flushes, timeouts well above
// what a loaded machine needs, and a buffer small enough to show back-pressure.
func netFaultSettings() settings {
	return settings{
		// One batch in flight: a fault can then duplicate only the batch it caught, which
		// dupBatches bounds tightly (with more, at most max_in_flight batches).
		"max_in_flight":  1,
		"flush_interval": "50ms",
		"dial_timeout":   "1s",
		"read_timeout":   "1s",
		"write_timeout":  "1s",
		"max_retries":    30,
		"backoff":        map[string]any{"initial_interval": "50ms", "max_interval": "400ms"},
		"buffer":         map[string]any{"max_records": 5000},
	}
}

// startExporterWith starts an exporter created through the factory with the default config
// overlaid by each layer of settings in turn.
func startExporterWith(t *testing.T, layers ...settings) *testExporter {
	t.Helper()
	conf := confmap.New()
	for _, l := range layers {
		require.NoError(t, conf.Merge(confmap.NewFromStringMap(l.Nested())))
	}
	cfg := NewFactory().CreateDefaultConfig()
	require.NoError(t, conf.Unmarshal(cfg))
	return startExporterConfig(t, cfg.(*Config))
}

// heldRecords is the exporter's buffer_records gauge: records pending, in flight or awaiting a
// retry. It is read from the watch's goroutine, so it reports a failed read as 0 rather than
// failing the test there.
func (e *testExporter) heldRecords() int64 {
	m, err := e.telemetry.GetMetric("otelcol_plumelog_exporter_buffer_records")
	if err != nil {
		return 0
	}
	return m.Data.(metricdata.Gauge[int64]).DataPoints[0].Value
}

// watch samples the records the exporter holds while a fault lasts.
type watch struct {
	stopc chan struct{}
	done  sync.WaitGroup
	// maxHeld is read after stop.
	maxHeld int64
}

func (e *testExporter) watch() *watch {
	w := &watch{stopc: make(chan struct{})}
	w.done.Go(func() {
		for {
			w.maxHeld = max(w.maxHeld, e.heldRecords())
			select {
			case <-w.stopc:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	return w
}

func (w *watch) stop() {
	close(w.stopc)
	w.done.Wait()
}

// accounting is one run's outcome, as the reliability table reports it.
type accounting struct {
	sent, refused, distinct, duplicates, dropped int
	retried, flushes                             int64
}

func (a accounting) String() string {
	return fmt.Sprintf("sent %d, delivered %d distinct, %d duplicates, dropped %d, refused %d (back-pressure), retried %d, batches %d",
		a.sent, a.distinct, a.duplicates, a.dropped, a.refused, a.retried, a.flushes)
}

// account reads the list back and checks what holds whatever the fault: no refused record was
// delivered, and every accepted record was delivered or counted as dropped. inDoubt bounds the
// records that were both dropped and delivered: a write whose reply was lost may have run.
func (e *testExporter) account(t *testing.T, rdb redis.Cmdable, s *streaming, inDoubt int) accounting {
	t.Helper()
	counts := plumelogtest.Delivered(t, rdb, "plume_log_list")
	a := accounting{
		sent: len(s.accepted), refused: len(s.refused), distinct: len(counts), duplicates: plumelogtest.Duplicates(counts),
		dropped: e.dropped(t, ""), retried: e.count(t, "records_retried"), flushes: e.count(t, "flushes"),
	}
	for _, id := range s.refused {
		require.Zero(t, counts[id], "record %d was refused but delivered", id)
	}
	lost := 0
	for _, id := range s.accepted {
		if counts[id] == 0 {
			lost++
		}
	}
	assert.LessOrEqual(t, lost, a.dropped, "every accepted record is delivered or counted as dropped")
	assert.Len(t, counts, a.sent-lost, "nothing but accepted records is delivered")
	assert.LessOrEqual(t, a.distinct+a.dropped-a.sent, inDoubt, "records both dropped and delivered")
	return a
}

// TestNetFaults runs each network fault for a while in the middle of a steady stream of 1,000
// records a second, heals it, and accounts for every record. No fault lasts as long as the
// retry budget (31 attempts, each bounded by the 1 s timeouts, with backoff up to 400 ms), so
// nothing may be dropped.
func TestNetFaults(t *testing.T) {
	for _, tt := range netFaults {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			runNetFault(t, tt)
		})
	}
}

// netFault is one case of TestNetFaults.
type netFault struct {
	name string
	// fault breaks the link for hold; heal undoes it.
	fault func(p *faulttest.Proxy)
	heal  func(p *faulttest.Proxy)
	hold  time.Duration
	// failing: batches fail while the fault lasts, so the exporter reports a recoverable
	// error, then OK; otherwise it reports nothing and retries nothing.
	failing bool
	// dupBatches bounds the batches that may arrive twice: those whose command ran while
	// the reply was lost.
	dupBatches int
	extra      settings
}

// netFaultBatch is the batch size of TestNetFaults, which bounds the duplicates per batch.
const netFaultBatch = 100

var netFaults = []netFault{
	{
		name:  "latency 200ms ± 50ms on every reply for 10s",
		fault: func(p *faulttest.Proxy) { p.Add("latency", faulttest.Downstream, faulttest.Latency(200, 50)) },
		heal:  func(p *faulttest.Proxy) { p.Remove("latency") },
		hold:  10 * time.Second,
		// Far above 250 ms, so that no command times out even on a loaded machine.
		extra: settings{"read_timeout": "3s"},
	},
	{
		name:  "bandwidth 8 KB/s for 5s",
		fault: func(p *faulttest.Proxy) { p.AddBoth("bandwidth", faulttest.Bandwidth(8)) },
		heal:  func(p *faulttest.Proxy) { p.RemoveBoth("bandwidth") },
		hold:  5 * time.Second,
		// A batch of 20 messages of about 280 bytes on the wire crosses the link in under
		// a second, well within read_timeout; the buffer of 500 records fills and pushes
		// back.
		extra: settings{"batch_size": 20, "read_timeout": "3s", "buffer": map[string]any{"max_records": 500}},
	},
	{
		name:       "black hole both ways for 3s, longer than the timeouts",
		fault:      func(p *faulttest.Proxy) { p.AddBoth("blackhole", faulttest.BlackHole()) },
		heal:       func(p *faulttest.Proxy) { p.RemoveBoth("blackhole") },
		hold:       3 * time.Second,
		failing:    true,
		dupBatches: 1,
	},
	{
		name:    "commands reset (RST) for 2s",
		fault:   func(p *faulttest.Proxy) { p.Add("reset", faulttest.Upstream, faulttest.ResetPeer(0)) },
		heal:    func(p *faulttest.Proxy) { p.Remove("reset") },
		hold:    2 * time.Second,
		failing: true,
	},
	{
		name:    "replies reset (RST) after the command ran, for 2s",
		fault:   func(p *faulttest.Proxy) { p.Add("reset", faulttest.Downstream, faulttest.ResetPeer(0)) },
		heal:    func(p *faulttest.Proxy) { p.Remove("reset") },
		hold:    2 * time.Second,
		failing: true,
		// A new connection fails at its handshake, before any RPUSH: only the batch on
		// the connection open when the resets began can have run.
		dupBatches: 1,
	},
	{
		name: "connections cut mid-command for 2s",
		fault: func(p *faulttest.Proxy) {
			p.Add("cut", faulttest.Upstream, faulttest.Toxic{Type: "limit_data", Attributes: map[string]any{"bytes": 2000}})
		},
		heal:    func(p *faulttest.Proxy) { p.Remove("cut") },
		hold:    2 * time.Second,
		failing: true,
		// Redis discards a command cut short; the cut can also fall after a command's last
		// byte, and then only its reply is lost.
		dupBatches: 1,
	},
	{
		name:  "writes and replies sliced into 64-byte pieces for 3s",
		fault: func(p *faulttest.Proxy) { p.AddBoth("slicer", faulttest.Slicer(64, 32, 10)) },
		heal:  func(p *faulttest.Proxy) { p.RemoveBoth("slicer") },
		hold:  3 * time.Second,
	},
}

// runNetFault streams records through the exporter, breaks the link for tt.hold, heals it,
// and accounts for every record.
func runNetFault(t *testing.T, tt netFault) {
	srv := redistest.Start(t)
	proxy := faulttest.Start(t, srv.Addr)
	f := startExporterWith(t, netFaultSettings(), settings{"endpoint": proxy.Addr}, settings{"batch_size": netFaultBatch}, tt.extra)
	maxRecords := 5000
	if b, ok := tt.extra["buffer"].(map[string]any); ok {
		maxRecords = b["max_records"].(int)
	}

	s := f.stream(10, 10*time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	w := f.watch()
	sentBefore, flushesBefore := f.count(t, "records_sent"), f.count(t, "flushes")
	tt.fault(proxy)
	time.Sleep(tt.hold)
	flushesDuring := f.count(t, "flushes") - flushesBefore
	sentDuring := f.count(t, "records_sent") - sentBefore
	tt.heal(proxy)
	time.Sleep(time.Second)
	s.stop()
	w.stop()
	f.shutdown(t)

	a := f.account(t, srv.Client(), s, 0)
	t.Logf("%s: %s; held at most %d records; %d batches and %d records delivered during the fault",
		tt.name, a, w.maxHeld, flushesDuring, sentDuring)
	assert.Zero(t, a.dropped, "the fault was shorter than the retry budget")
	assert.Equal(t, a.sent, a.distinct, "every accepted record was delivered")
	assert.LessOrEqual(t, a.duplicates, tt.dupBatches*netFaultBatch)
	assert.LessOrEqual(t, w.maxHeld, int64(maxRecords), "the buffer limit holds")
	if !tt.failing {
		assert.Zero(t, a.retried, "the fault slowed batches without failing them")
		assert.Empty(t, f.host.statuses())
		assert.Positive(t, sentDuring, "records were delivered while the fault lasted")
		return
	}
	assert.Positive(t, a.retried, "the fault failed batches")
	assertStatusChanges(t, f.host.statuses())
	// Each attempt waits at least the backoff after a failure, 50 ms at first: the
	// exporter waits the fault out rather than spinning.
	assert.LessOrEqual(t, flushesDuring, int64(tt.hold/(50*time.Millisecond)), "attempts while the fault lasted")
}

// TestNetFaultBlackHoleOutlastsRetryBudget swallows all traffic, without closing a connection,
// for far longer than a record's retry budget: each batch that meets the black hole is tried
// max_retries+1 times, each attempt ending at read_timeout, then dropped and counted, while the
// records behind it wait their turn in the buffer and, once it is full, are refused. After the
// black hole the exporter delivers again and reports OK.
func TestNetFaultBlackHoleOutlastsRetryBudget(t *testing.T) {
	t.Parallel()
	const batchSize = 100
	srv := redistest.Start(t)
	proxy := faulttest.Start(t, srv.Addr)
	// A record's budget: 3 attempts of at most 300 ms each and backoffs of 50 and 100 ms.
	f := startExporterWith(t, netFaultSettings(), settings{"endpoint": proxy.Addr}, settings{
		"batch_size": batchSize, "max_retries": 2,
		"dial_timeout": "300ms", "read_timeout": "300ms", "write_timeout": "300ms",
		"buffer": map[string]any{"max_records": 1000},
	})

	s := f.stream(10, 10*time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	w := f.watch()
	proxy.AddBoth("blackhole", faulttest.BlackHole())
	start := time.Now()
	require.Eventually(t, func() bool { return f.dropped(t, "retries_exhausted") > 0 }, 30*time.Second, 10*time.Millisecond)
	firstDrop := time.Since(start)
	time.Sleep(4 * time.Second)
	proxy.RemoveBoth("blackhole")
	time.Sleep(time.Second)
	s.stop()
	w.stop()
	f.shutdown(t)

	a := f.account(t, srv.Client(), s, batchSize)
	t.Logf("black hole for %s: %s; first drop after %s; held at most %d records",
		(firstDrop + 4*time.Second).Round(100*time.Millisecond), a, firstDrop.Round(10*time.Millisecond), w.maxHeld)
	assert.Equal(t, a.dropped, f.dropped(t, "retries_exhausted"))
	// Three attempts, the first of which may have begun just before the black hole, each
	// waiting read_timeout, and backoffs of 50 and 100 ms less 20 % jitter.
	assert.GreaterOrEqual(t, firstDrop, 700*time.Millisecond, "records were dropped before their retries ran out")
	assert.Positive(t, a.refused, "the full buffer pushed back")
	assert.LessOrEqual(t, w.maxHeld, int64(1000))
	assertStatusChanges(t, f.host.statuses())
}

// TestNetFaultBlackHoleAtShutdown shuts the exporter down with a deadline while a black hole
// swallows its writes: Shutdown returns by the deadline, not after read_timeout or the retry
// budget, and drops what it still holds, counted with reason "shutdown".
func TestNetFaultBlackHoleAtShutdown(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	proxy := faulttest.Start(t, srv.Addr)
	// The defaults' 3 s read_timeout and a long retry budget: only the deadline can end it.
	f := startExporterWith(t, netFaultSettings(), settings{"endpoint": proxy.Addr}, settings{"read_timeout": "3s", "write_timeout": "3s"})

	s := f.stream(10, 10*time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	proxy.AddBoth("blackhole", faulttest.BlackHole())
	time.Sleep(time.Second)
	s.stop()

	const deadline = 500 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	err := f.exp.Shutdown(ctx)
	took := time.Since(start)
	require.Error(t, err, "records were dropped at the deadline")

	a := f.account(t, srv.Client(), s, 100)
	t.Logf("Shutdown with a %s deadline during a black hole returned after %s: %s",
		deadline, took.Round(time.Millisecond), a)
	assert.Less(t, took, deadline+time.Second, "Shutdown keeps its deadline")
	assert.Positive(t, f.dropped(t, "shutdown"))
	assert.Equal(t, a.dropped, f.dropped(t, "shutdown"), "nothing ran out of retries")
}

// TestNetFaultProxyDownAtStart starts the exporter while nothing listens at its endpoint, the
// proxy being down, streams records, and brings the proxy up: the exporter starts anyway,
// reports a recoverable error naming the refused connection, then delivers everything and
// reports OK.
func TestNetFaultProxyDownAtStart(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	proxy := faulttest.Start(t, srv.Addr)
	proxy.Down()
	f := startExporterWith(t, netFaultSettings(), settings{"endpoint": proxy.Addr})

	s := f.stream(10, 10*time.Millisecond)
	require.Eventually(t, func() bool { return len(f.host.statuses()) == 1 }, 30*time.Second, 10*time.Millisecond)
	require.ErrorContains(t, f.host.event(0).Err(), "connection refused")
	time.Sleep(2 * time.Second)
	proxy.Up()
	time.Sleep(time.Second)
	s.stop()
	f.shutdown(t)

	a := f.account(t, srv.Client(), s, 0)
	t.Logf("proxy down at start for 2s: %s", a)
	assert.Zero(t, a.dropped)
	assert.Equal(t, a.sent, a.distinct)
	assert.Zero(t, a.duplicates, "a refused connection runs nothing")
	assert.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK}, f.host.statuses())
}

// TestNetFaultBatchSlowerThanReadTimeout sends batches that take longer to cross a slow link
// than read_timeout allows. Each attempt times out while its command is still on the way; the
// command arrives and runs all the same, and so does every retry: the records arrive several
// times and are counted as dropped once their retries run out. Delivery stays at least once,
// and the dropped count is an upper bound on what was lost; the cure is a read_timeout that
// covers a batch's bytes at the link's speed, or smaller batches.
func TestNetFaultBatchSlowerThanReadTimeout(t *testing.T) {
	t.Parallel()
	const records, maxRetries = 80, 2
	srv := redistest.Start(t)
	proxy := faulttest.Start(t, srv.Addr)
	// A batch of 40 messages of about 280 bytes on the wire takes about 3 s at 4 KB/s.
	proxy.Add("bandwidth", faulttest.Upstream, faulttest.Bandwidth(4))
	f := startExporterWith(t, netFaultSettings(), settings{
		"endpoint": proxy.Addr, "batch_size": 40, "max_retries": maxRetries, "read_timeout": "1s", "mode": "strict",
	})
	require.NoError(t, f.exp.ConsumeLogs(context.Background(), plumelogtest.Logs(0, records)))
	f.next = records
	require.Eventually(t, func() bool { return f.dropped(t, "retries_exhausted") == records }, time.Minute, 10*time.Millisecond,
		"every attempt of every batch timed out")
	f.shutdown(t)

	// The proxy still carries the timed-out commands; wait until the list stops growing.
	rdb := srv.Client()
	var n int64
	require.Eventually(t, func() bool {
		before := n
		n = rdb.LLen(context.Background(), "plume_log_list").Val()
		return n > 0 && n == before
	}, time.Minute, 3*time.Second)
	counts := plumelogtest.Delivered(t, rdb, "plume_log_list")
	t.Logf("%d records in batches slower than read_timeout: delivered %d distinct, %d duplicates, %d counted as dropped",
		records, len(counts), plumelogtest.Duplicates(counts), f.dropped(t, ""))
	assert.Len(t, counts, records, "every record arrived, though counted as dropped")
	assert.Positive(t, plumelogtest.Duplicates(counts), "retries of commands that ran")
	for id, c := range counts {
		assert.LessOrEqual(t, c, maxRetries+1, "record %d arrived more often than it was sent", id)
	}
}

// TestNetFaultBlackHoleAtShutdownWithoutDeadline shuts the exporter down without a deadline,
// as the collector does on SIGTERM, while it holds ten batches and a black hole swallows its
// writes: Shutdown lasts about one retry budget, not one per batch held, and every record it
// could not write is dropped and counted.
func TestNetFaultBlackHoleAtShutdownWithoutDeadline(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	proxy := faulttest.Start(t, srv.Addr)
	// A record's budget: 3 attempts of at most 300 ms each, and backoffs of 50 and 100 ms.
	f := startExporterWith(t, netFaultSettings(), settings{
		"endpoint": proxy.Addr, "max_retries": 2, "dial_timeout": "300ms", "read_timeout": "300ms", "write_timeout": "300ms",
	})
	rdb := srv.Client()
	before := f.send(t, 200)
	require.Eventually(t, func() bool { return rdb.LLen(context.Background(), "plume_log_list").Val() == int64(before) },
		30*time.Second, 10*time.Millisecond)
	proxy.AddBoth("blackhole", faulttest.BlackHole())
	held := f.send(t, 1000)
	require.Equal(t, 1000, held)

	start := time.Now()
	f.shutdown(t)
	took := time.Since(start)
	counts := plumelogtest.Delivered(t, rdb, "plume_log_list")
	t.Logf("Shutdown without a deadline during a black hole, %d records held, returned after %s; delivered %d, dropped %d",
		held, took.Round(time.Millisecond), len(counts), f.dropped(t, ""))
	assert.Less(t, took, 5*time.Second, "Shutdown lasts about one retry budget")
	assert.Len(t, counts, before)
	assert.Zero(t, plumelogtest.Duplicates(counts))
	assert.Equal(t, held, f.dropped(t, "retries_exhausted"), "sent = delivered + dropped")
}
