package plumelogexporter

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/metadatatest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/testenv"
)

func TestExporterWritesContractMessages(t *testing.T) {
	srv := redistest.Start(t)
	s := startExporter(t, otelcoltest.Settings{"endpoint": srv.Addr})

	const n = 250
	require.NoError(t, s.exp.ConsumeLogs(context.Background(), plumelogtest.Logs(0, n, plumelogtest.Severity(plog.SeverityNumberWarn))))
	rdb := srv.Client()
	redistest.WaitLen(t, rdb, "plume_log_list", n)
	require.NoError(t, s.exp.Shutdown(context.Background()))

	msgs := plumelogtest.Messages(t, redistest.List(t, rdb, "plume_log_list"))
	require.Len(t, msgs, n)
	// Batches sent at once land in any order; seq, by which Plumelog orders logs of one
	// millisecond, keeps the order of the call.
	seq := func(m map[string]any) int64 {
		v, err := m["seq"].(json.Number).Int64()
		require.NoError(t, err)
		return v
	}
	slices.SortFunc(msgs, func(a, b map[string]any) int { return cmp.Compare(seq(a), seq(b)) })
	for i, msg := range msgs {
		assert.Equal(t, "order "+strconv.Itoa(i), msg["content"], "seq follows the order of the call")
		assert.Equal(t, "order-svc", msg["appName"])
		assert.Equal(t, "prod", msg["env"])
		assert.Equal(t, "WARN", msg["logLevel"])
		assert.Equal(t, "com.example.OrderService", msg["className"])
	}

	metadatatest.AssertEqualPlumelogExporterRecordsSent(t, s.telemetry,
		[]metricdata.DataPoint[int64]{{Value: n, Attributes: attribute.NewSet(logsSignal)}}, metricdatatest.IgnoreTimestamp())
	assert.Zero(t, s.count(t, "records_dropped"))
	assert.Positive(t, s.count(t, "flushes"))
}

func TestExporterStartsWithoutRedisAndDeliversOnceItAppears(t *testing.T) {
	srv := redistest.Start(t)
	srv.Stop()
	s := startExporter(t, otelcoltest.Settings{
		"endpoint":                  srv.Addr,
		"dial_timeout":              "200ms",
		"max_retries":               100,
		"backoff::initial_interval": "20ms",
		"backoff::max_interval":     "200ms",
	})
	require.NoError(t, s.exp.ConsumeLogs(context.Background(), plumelogtest.Logs(0, 10)))
	require.Eventually(t, func() bool { return s.count(t, "records_retried") > 0 }, 10*time.Second, 10*time.Millisecond)

	srv.Restart()
	redistest.WaitLen(t, srv.Client(), "plume_log_list", 10)
	require.NoError(t, s.exp.Shutdown(context.Background()))
	assert.EqualValues(t, 10, s.count(t, "records_sent"))
	assert.Zero(t, s.count(t, "records_dropped"))
}

func TestExporterShutdownDropsAndCountsWhatRedisNeverTook(t *testing.T) {
	s := startExporter(t, otelcoltest.Settings{
		"endpoint":     testenv.Addr(t),
		"dial_timeout": "100ms",
		"max_retries":  1000,
	})
	require.NoError(t, s.exp.ConsumeLogs(context.Background(), plumelogtest.Logs(0, 7)))
	require.Error(t, s.shutdownWithin(300*time.Millisecond), "records were dropped, shutdown says so")
	assert.EqualValues(t, 7, s.count(t, "records_dropped", attribute.String("reason", "shutdown")))
	assert.Zero(t, s.count(t, "records_sent"))
}

func TestExporterWrongTypeIsDroppedWithoutRetry(t *testing.T) {
	srv := redistest.Start(t)
	require.NoError(t, srv.Client().Set(context.Background(), "plume_log_list", "not a list", 0).Err())
	s := startExporter(t, otelcoltest.Settings{"endpoint": srv.Addr})
	require.NoError(t, s.exp.ConsumeLogs(context.Background(), plumelogtest.Logs(0, 5)))
	require.Eventually(t, func() bool {
		return s.count(t, "records_dropped", attribute.String("reason", "permanent_error")) == 5
	}, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, s.exp.Shutdown(context.Background()))
	assert.Zero(t, s.count(t, "records_retried"))
}

func TestExporterFullBufferPushesBack(t *testing.T) {
	s := startExporter(t, otelcoltest.Settings{
		"endpoint":            testenv.Addr(t),
		"dial_timeout":        "100ms",
		"max_retries":         1000,
		"batch_size":          100,
		"buffer::max_records": 100,
	})
	require.NoError(t, s.exp.ConsumeLogs(context.Background(), plumelogtest.Logs(0, 100)))
	err := s.exp.ConsumeLogs(context.Background(), plumelogtest.Logs(0, 1))
	require.Error(t, err, "a full buffer refuses records instead of dropping them")
	assert.False(t, consumererror.IsPermanent(err), "the refusal is retryable: %v", err)

	require.Error(t, s.shutdownWithin(200*time.Millisecond))
	assert.EqualValues(t, 100, s.count(t, "records_dropped", attribute.String("reason", "shutdown")))
}
