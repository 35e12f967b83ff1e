package plumelogexporter

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/batcher"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/metadatatest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/testenv"
)

// The bucket boundaries declared in metadata.yaml.
var (
	batchSizeBounds = []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000}
	latencyBounds   = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
)

// batchSizePoint is the batch size histogram after batches of the given sizes.
func batchSizePoint(sizes ...int64) metricdata.HistogramDataPoint[int64] {
	dp := metricdata.HistogramDataPoint[int64]{
		Bounds:       batchSizeBounds,
		BucketCounts: make([]uint64, len(batchSizeBounds)+1),
		Attributes:   attribute.NewSet(logsSignal),
		Min:          metricdata.NewExtrema(slices.Min(sizes)),
		Max:          metricdata.NewExtrema(slices.Max(sizes)),
	}
	for _, s := range sizes {
		dp.Count++
		dp.Sum += s
		i := 0
		for i < len(batchSizeBounds) && float64(s) > batchSizeBounds[i] {
			i++
		}
		dp.BucketCounts[i]++
	}
	return dp
}

func counterPoint(value int64, key, attr string) metricdata.DataPoint[int64] {
	dp := metricdata.DataPoint[int64]{Value: value, Attributes: attribute.NewSet(logsSignal)}
	if key != "" {
		dp.Attributes = attribute.NewSet(attribute.String(key, attr), logsSignal)
	}
	return dp
}

// waitSum is the delivery wait summed over records.
func waitSum(t *testing.T, s *testExporter) float64 {
	t.Helper()
	m, err := s.telemetry.GetMetric("otelcol_plumelog_exporter_delivery_wait")
	require.NoError(t, err)
	return m.Data.(metricdata.Sum[float64]).DataPoints[0].Value
}

// deliveryLatencies returns the delivery latency histogram after checking its declared shape.
func deliveryLatencies(t *testing.T, s *testExporter) metricdata.HistogramDataPoint[float64] {
	t.Helper()
	metadatatest.AssertEqualPlumelogExporterDeliveryLatency(t, s.telemetry,
		[]metricdata.HistogramDataPoint[float64]{{Attributes: attribute.NewSet(logsSignal)}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreValue())
	m, err := s.telemetry.GetMetric("otelcol_plumelog_exporter_delivery_latency")
	require.NoError(t, err)
	dp := m.Data.(metricdata.Histogram[float64]).DataPoints[0]
	assert.Equal(t, latencyBounds, dp.Bounds)
	return dp
}

// checkLatencies checks the delivery latencies of batches of records admitted at once, and
// returns the least.
func checkLatencies(t *testing.T, s *testExporter, batches, records int) (least float64) {
	t.Helper()
	lat := deliveryLatencies(t, s)
	assert.EqualValues(t, batches, lat.Count, "one latency per batch")
	least, _ = lat.Min.Value()
	most, _ := lat.Max.Value()
	assert.Positive(t, least)
	// Each record waited about as long as its batch's oldest: the summed wait lies between
	// the batch latencies times the records.
	wait := waitSum(t, s)
	assert.GreaterOrEqual(t, wait, least*float64(records)*0.99)
	assert.LessOrEqual(t, wait, most*float64(records)*1.01)
	return least
}

// TestTelemetryFlushTriggers makes each trigger cut batches of known sizes against a real
// Redis and checks the flushes, batch size, records sent and delivery latency metrics.
func TestTelemetryFlushTriggers(t *testing.T) {
	srv := redistest.Start(t)
	tests := []struct {
		name    string
		mode    batcher.Mode
		batch   int
		flush   time.Duration
		records int
		// shutdown ends the exporter before anything else can cut the batch.
		shutdown bool
		wantSize []int64
	}{
		{name: "size", mode: "strict", batch: 10, flush: time.Hour, records: 30, wantSize: []int64{10, 10, 10}},
		{name: "age", mode: "strict", batch: 100, flush: 200 * time.Millisecond, records: 3, wantSize: []int64{3}},
		{name: "idle", mode: "eager", batch: 100, flush: time.Hour, records: 3, wantSize: []int64{3}},
		{name: "shutdown", mode: "strict", batch: 100, flush: time.Hour, records: 3, shutdown: true, wantSize: []int64{3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "telemetry_" + tt.name
			s := startExporter(t, otelcoltest.Settings{
				"endpoint":       srv.Addr,
				"key":            key,
				"mode":           tt.mode,
				"batch_size":     tt.batch,
				"flush_interval": tt.flush,
			})
			// One call: all records are admitted at once, so the batches are predictable.
			require.NoError(t, s.exp.ConsumeLogs(context.Background(), plumelogtest.Logs(0, tt.records)))
			if !tt.shutdown {
				s.waitSent(t, int64(tt.records))
			}
			require.NoError(t, s.exp.Shutdown(context.Background()))
			require.EqualValues(t, tt.records, srv.Client().LLen(context.Background(), key).Val())

			metadatatest.AssertEqualPlumelogExporterFlushes(t, s.telemetry,
				[]metricdata.DataPoint[int64]{counterPoint(int64(len(tt.wantSize)), "trigger", tt.name)},
				metricdatatest.IgnoreTimestamp())
			metadatatest.AssertEqualPlumelogExporterBatchSize(t, s.telemetry,
				[]metricdata.HistogramDataPoint[int64]{batchSizePoint(tt.wantSize...)},
				metricdatatest.IgnoreTimestamp())
			metadatatest.AssertEqualPlumelogExporterRecordsSent(t, s.telemetry,
				[]metricdata.DataPoint[int64]{counterPoint(int64(tt.records), "", "")},
				metricdatatest.IgnoreTimestamp())

			minLatency := checkLatencies(t, s, len(tt.wantSize), tt.records)
			if tt.name == "age" {
				// A timer never fires early: a batch cut by age waited the whole interval.
				assert.GreaterOrEqual(t, minLatency, tt.flush.Seconds())
			}
			_, err := s.telemetry.GetMetric("otelcol_plumelog_exporter_records_dropped")
			assert.Error(t, err, "nothing dropped, so the counter was never recorded")
		})
	}
}

// dropsOf is how many records each case of TestTelemetryRetriesAndDrops sends.
const dropsOf = 5

// dropCases make the exporter drop records for each reason.
var dropCases = []struct {
	reason string
	// settings point the exporter at a Redis that makes it drop for the reason.
	settings    func(t *testing.T) otelcoltest.Settings
	wantRetried int64
	shutdownBy  time.Duration // 0: wait for the drop, then shut down without a deadline
}{
	{
		reason: "retries_exhausted",
		settings: func(t *testing.T) otelcoltest.Settings {
			return otelcoltest.Settings{
				"endpoint": testenv.Addr(t), "max_retries": 2,
				"backoff::initial_interval": "10ms", "backoff::max_interval": "20ms",
			}
		},
		// Every record is sent three times: retried twice, then dropped.
		wantRetried: 2 * dropsOf,
	},
	{
		reason: "permanent_error",
		settings: func(t *testing.T) otelcoltest.Settings {
			srv := redistest.Start(t)
			require.NoError(t, srv.Client().Set(context.Background(), "plume_log_list", "not a list", 0).Err())
			return otelcoltest.Settings{"endpoint": srv.Addr}
		},
	},
	{
		reason: "shutdown",
		settings: func(t *testing.T) otelcoltest.Settings {
			return otelcoltest.Settings{
				"endpoint": testenv.Addr(t), "max_retries": 1000,
				"backoff::initial_interval": "1h", "backoff::max_interval": "1h",
			}
		},
		// The first attempt fails, and the backoff outlasts the shutdown deadline.
		wantRetried: dropsOf,
		shutdownBy:  300 * time.Millisecond,
	},
}

// TestTelemetryRetriesAndDrops checks records_retried and records_dropped for each reason.
func TestTelemetryRetriesAndDrops(t *testing.T) {
	for _, tt := range dropCases {
		t.Run(tt.reason, func(t *testing.T) {
			settings := tt.settings(t)
			settings["dial_timeout"] = "1s"
			s := startExporter(t, settings)
			require.NoError(t, s.exp.ConsumeLogs(context.Background(), plumelogtest.Logs(0, dropsOf)))
			if tt.shutdownBy == 0 {
				require.Eventually(t, func() bool {
					return s.count(t, "records_dropped") == dropsOf
				}, 10*time.Second, 5*time.Millisecond)
				require.NoError(t, s.exp.Shutdown(context.Background()))
			} else {
				require.Eventually(t, func() bool {
					return s.count(t, "records_retried") == tt.wantRetried
				}, 10*time.Second, 5*time.Millisecond)
				require.Error(t, s.shutdownWithin(tt.shutdownBy), "Shutdown reports the records it dropped")
			}

			metadatatest.AssertEqualPlumelogExporterRecordsDropped(t, s.telemetry,
				[]metricdata.DataPoint[int64]{counterPoint(dropsOf, "reason", tt.reason)}, metricdatatest.IgnoreTimestamp())
			if tt.wantRetried == 0 {
				_, err := s.telemetry.GetMetric("otelcol_plumelog_exporter_records_retried")
				require.Error(t, err, "never retried, so the counter was never recorded")
			} else {
				metadatatest.AssertEqualPlumelogExporterRecordsRetried(t, s.telemetry,
					[]metricdata.DataPoint[int64]{counterPoint(tt.wantRetried, "", "")}, metricdatatest.IgnoreTimestamp())
			}
			assert.Zero(t, s.count(t, "records_sent"))
		})
	}
}

// TestTelemetryBuffer reads the buffer gauges while Redis is down and the records wait for a
// retry, and after Redis is back and has taken them.
func TestTelemetryBuffer(t *testing.T) {
	srv := redistest.Start(t)
	srv.Stop()
	s := startExporter(t, otelcoltest.Settings{
		"endpoint":                  srv.Addr,
		"dial_timeout":              "1s",
		"max_retries":               1000,
		"backoff::initial_interval": "10ms",
		"backoff::max_interval":     "50ms",
	})
	held := func(records int64, bytes func(int64) bool) {
		t.Helper()
		metadatatest.AssertEqualPlumelogExporterBufferRecords(t, s.telemetry,
			[]metricdata.DataPoint[int64]{{Value: records, Attributes: attribute.NewSet(logsSignal)}}, metricdatatest.IgnoreTimestamp())
		b := s.gauge(t, "buffer_bytes")
		assert.True(t, bytes(b), "buffer_bytes %d with %d records held", b, records)
	}
	none := func(b int64) bool { return b == 0 }
	held(0, none)
	first := plumelogtest.Logs(0, 7)
	require.NoError(t, s.exp.ConsumeLogs(context.Background(), first))
	var bytes7 int64
	held(7, func(b int64) bool { bytes7 = b; return b > 7*100 })
	require.Eventually(t, func() bool { return s.count(t, "records_retried") > 0 }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, s.exp.ConsumeLogs(context.Background(), plumelogtest.Logs(0, 5)))
	held(12, func(b int64) bool { return b > bytes7 })

	srv.Restart()
	s.waitSent(t, 12)
	held(0, none)
	require.NoError(t, s.exp.Shutdown(context.Background()))
}
