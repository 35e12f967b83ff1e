package plumelogexporter

import (
	"context"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/encoder"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/metadatatest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
)

// Every test of this package runs with released buffers poisoned: a message the batcher or
// the sender read after its release would reach Redis as garbage, which the contract checks
// of the delivered messages refuse.
func init() { encoder.PoisonReleased = true }

// testExporter is an exporter created through the factory, as a collector creates it, whose
// telemetry, logs and component status reports the test reads.
type testExporter struct {
	exp       exporter.Logs
	telemetry *componenttest.Telemetry
	logs      *observer.ObservedLogs
	host      *statusHost
	next      int // id of the next record send offers
}

// testDefaults are the settings every test starts from: batches leave within 100 ms.
var testDefaults = otelcoltest.Settings{"flush_interval": "100ms"}

// startExporter starts an exporter with the settings, keyed as the documentation writes them,
// over testDefaults and the exporter's defaults.
func startExporter(t *testing.T, settings otelcoltest.Settings) *testExporter {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	all := maps.Clone(testDefaults)
	maps.Copy(all, settings)
	require.NoError(t, all.Decode(cfg))
	return startExporterConfig(t, cfg)
}

// startExporterConfig starts an exporter with cfg, which the collector must accept.
func startExporterConfig(t *testing.T, cfg *Config) *testExporter {
	t.Helper()
	require.NoError(t, confmap.Validate(cfg))

	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	core, logs := observer.New(zapcore.DebugLevel)
	set := metadatatest.NewSettings(tel)
	set.Logger = zap.New(core)
	exp, err := NewFactory().CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	e := &testExporter{exp: exp, telemetry: tel, logs: logs, host: &statusHost{}}
	require.NoError(t, exp.Start(context.Background(), e.host))
	return e
}

// send offers n new records and returns how many the exporter accepted (n or 0).
func (e *testExporter) send(t *testing.T, n int) int {
	t.Helper()
	from := e.next
	e.next += n
	if err := e.exp.ConsumeLogs(context.Background(), plumelogtest.Logs(from, n)); err != nil {
		// A refused request is the pipeline's to retry; it never entered the exporter.
		return 0
	}
	return n
}

// streaming sends perCall records shaped by opts every interval from its own goroutine until
// stop.
type streaming struct {
	stopc chan struct{}
	done  chan struct{}
	// Read after stop: ids of the records the exporter accepted and refused.
	accepted, refused []int
}

func (e *testExporter) stream(perCall int, interval time.Duration, opts ...plumelogtest.LogsOption) *streaming {
	s := &streaming{stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			from := e.next
			e.next += perCall
			ids := make([]int, perCall)
			for i := range ids {
				ids[i] = from + i
			}
			if e.exp.ConsumeLogs(context.Background(), plumelogtest.Logs(from, perCall, opts...)) == nil {
				s.accepted = append(s.accepted, ids...)
			} else {
				s.refused = append(s.refused, ids...)
			}
			select {
			case <-s.stopc:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *streaming) stop() {
	close(s.stopc)
	<-s.done
}

// count returns the exporter's counter otelcol_plumelog_exporter_<name>, over the data points
// that carry attrs (every point carries the signal too), or over all of them without attrs.
func (e *testExporter) count(t *testing.T, name string, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	return e.sum(t, "otelcol_plumelog_exporter_"+name, attrs...)
}

// sum returns the counter named, as count does; the exporter helper's counters are named
// otelcol_exporter_*.
func (e *testExporter) sum(t *testing.T, metric string, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	return counter(t, e.telemetry, metric, attrs...)
}

// counter returns the counter named in tel over the data points that carry attrs, 0 while it
// has not been recorded.
func counter(t *testing.T, tel *componenttest.Telemetry, metric string, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	m, err := tel.GetMetric(metric)
	if err != nil {
		return 0 // not recorded yet
	}
	var total int64
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		if hasAttributes(dp.Attributes, attrs...) {
			total += dp.Value
		}
	}
	return total
}

// hasAttributes reports whether set holds every one of attrs.
func hasAttributes(set attribute.Set, attrs ...attribute.KeyValue) bool {
	for _, kv := range attrs {
		if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	return true
}

// logsSignal is the attribute of every metric of a logs exporter.
var logsSignal = attribute.String("signal", "logs")

// dropped is records_dropped for reason, or for every reason with "".
func (e *testExporter) dropped(t *testing.T, reason string) int {
	t.Helper()
	if reason == "" {
		return int(e.count(t, "records_dropped"))
	}
	return int(e.count(t, "records_dropped", attribute.String("reason", reason)))
}

// gauge returns the exporter's gauge otelcol_plumelog_exporter_<name>.
func (e *testExporter) gauge(t *testing.T, name string) int64 {
	t.Helper()
	m, err := e.telemetry.GetMetric("otelcol_plumelog_exporter_" + name)
	require.NoError(t, err)
	return m.Data.(metricdata.Gauge[int64]).DataPoints[0].Value
}

// waitSent waits until Redis has acknowledged at least n records.
func (e *testExporter) waitSent(t *testing.T, n int64) {
	t.Helper()
	require.Eventually(t, func() bool { return e.count(t, "records_sent") >= n }, 60*time.Second, 10*time.Millisecond,
		"records sent: %d of %d", e.count(t, "records_sent"), n)
}

func (e *testExporter) shutdown(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, e.exp.Shutdown(ctx))
}

// shutdownWithin shuts the exporter down with a deadline and returns what Shutdown returned.
func (e *testExporter) shutdownWithin(d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return e.exp.Shutdown(ctx)
}

// dropLines returns the exporter's "Dropped records" log entries.
func (e *testExporter) dropLines() []observer.LoggedEntry {
	return e.logs.FilterMessage("Dropped records").AllUntimed()
}

// statusHost is a collector host that records the component status the exporter reports.
type statusHost struct {
	mu     sync.Mutex
	events []*componentstatus.Event
}

var _ componentstatus.Reporter = (*statusHost)(nil)

func (*statusHost) GetExtensions() map[component.ID]component.Component { return nil }

func (h *statusHost) Report(ev *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, ev)
}

func (h *statusHost) event(i int) *componentstatus.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.events[i]
}

func (h *statusHost) statuses() []componentstatus.Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]componentstatus.Status, len(h.events))
	for i, ev := range h.events {
		out[i] = ev.Status()
	}
	return out
}

// assertStatusChanges checks that the exporter reported an outage and its end, and changes
// only: never the same status twice in a row.
func assertStatusChanges(t *testing.T, statuses []componentstatus.Status) {
	t.Helper()
	require.NotEmpty(t, statuses)
	assert.Equal(t, componentstatus.StatusRecoverableError, statuses[0])
	assert.Equal(t, componentstatus.StatusOK, statuses[len(statuses)-1])
	for i := 1; i < len(statuses); i++ {
		assert.NotEqual(t, statuses[i-1], statuses[i], "status %d repeats: %v", i, statuses)
	}
}
