package plumelogexporter

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/metadatatest"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/sender"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

// testLogs builds n records under one resource, numbered in their body and attribute "i".
func testLogs(n int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "order-svc")
	rl.Resource().Attributes().PutStr("deployment.environment.name", "prod")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("com.example.OrderService")
	now := time.Now()
	for i := range n {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(now))
		lr.SetSeverityNumber(plog.SeverityNumberWarn)
		lr.Body().SetStr("order " + strconv.Itoa(i))
		lr.Attributes().PutInt("i", int64(i))
	}
	return ld
}

type started struct {
	exp       exporter.Logs
	telemetry *componenttest.Telemetry
}

func startExporter(t *testing.T, mutate func(*Config)) started {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.Batching.FlushInterval = 100 * time.Millisecond
	mutate(cfg)
	require.NoError(t, cfg.Validate())
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	exp, err := NewFactory().CreateLogs(context.Background(), metadatatest.NewSettings(tel), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	return started{exp: exp, telemetry: tel}
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

func sumValue(t *testing.T, tel *componenttest.Telemetry, name string, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	m, err := tel.GetMetric("otelcol_plumelog_exporter_" + name)
	if err != nil {
		return 0
	}
	var total int64
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		if hasAttributes(dp.Attributes, attrs...) {
			total += dp.Value
		}
	}
	return total
}

func TestExporterWritesContractMessages(t *testing.T) {
	srv := redistest.Start(t)
	s := startExporter(t, func(c *Config) { c.Redis.Endpoint = sender.Endpoint(srv.Addr) })

	const n = 250
	require.NoError(t, s.exp.ConsumeLogs(context.Background(), testLogs(n)))
	rdb := srv.Client()
	require.Eventually(t, func() bool {
		return rdb.LLen(context.Background(), "plume_log_list").Val() == n
	}, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, s.exp.Shutdown(context.Background()))

	elements, err := rdb.LRange(context.Background(), "plume_log_list", 0, -1).Result()
	require.NoError(t, err)
	require.Len(t, elements, n)
	for i, e := range elements {
		msg, err := plumelogtest.CheckRunLog([]byte(e))
		require.NoError(t, err, e)
		assert.Equal(t, "order "+strconv.Itoa(i), msg["content"], "order is kept")
		assert.Equal(t, "order-svc", msg["appName"])
		assert.Equal(t, "prod", msg["env"])
		assert.Equal(t, "WARN", msg["logLevel"])
		assert.Equal(t, "com.example.OrderService", msg["className"])
	}

	metadatatest.AssertEqualPlumelogExporterRecordsSent(t, s.telemetry,
		[]metricdata.DataPoint[int64]{{Value: n, Attributes: attribute.NewSet(logsSignal)}}, metricdatatest.IgnoreTimestamp())
	assert.Zero(t, sumValue(t, s.telemetry, "records_dropped"))
	assert.Positive(t, sumValue(t, s.telemetry, "flushes"))
}

func TestExporterStartsWithoutRedisAndDeliversOnceItAppears(t *testing.T) {
	srv := redistest.Start(t)
	srv.Stop()
	s := startExporter(t, func(c *Config) {
		c.Redis.Endpoint = sender.Endpoint(srv.Addr)
		c.Redis.DialTimeout = 200 * time.Millisecond
		c.Batching.MaxRetries = 100
		c.Batching.Backoff.InitialInterval = 20 * time.Millisecond
		c.Batching.Backoff.MaxInterval = 200 * time.Millisecond
	})
	require.NoError(t, s.exp.ConsumeLogs(context.Background(), testLogs(10)))
	require.Eventually(t, func() bool { return sumValue(t, s.telemetry, "records_retried") > 0 }, 10*time.Second, 10*time.Millisecond)

	srv.Restart()
	rdb := srv.Client()
	require.Eventually(t, func() bool {
		return rdb.LLen(context.Background(), "plume_log_list").Val() == 10
	}, 20*time.Second, 20*time.Millisecond)
	require.NoError(t, s.exp.Shutdown(context.Background()))
	assert.EqualValues(t, 10, sumValue(t, s.telemetry, "records_sent"))
	assert.Zero(t, sumValue(t, s.telemetry, "records_dropped"))
}

func TestExporterShutdownDropsAndCountsWhatRedisNeverTook(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", redistest.FreePort(t))
	s := startExporter(t, func(c *Config) {
		c.Redis.Endpoint = sender.Endpoint(addr)
		c.Redis.DialTimeout = 100 * time.Millisecond
		c.Batching.MaxRetries = 1000
	})
	require.NoError(t, s.exp.ConsumeLogs(context.Background(), testLogs(7)))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	require.Error(t, s.exp.Shutdown(ctx), "records were dropped, shutdown says so")
	assert.EqualValues(t, 7, sumValue(t, s.telemetry, "records_dropped", attribute.String("reason", "shutdown")))
	assert.Zero(t, sumValue(t, s.telemetry, "records_sent"))
}

func TestExporterWrongTypeIsDroppedWithoutRetry(t *testing.T) {
	srv := redistest.Start(t)
	require.NoError(t, srv.Client().Set(context.Background(), "plume_log_list", "not a list", 0).Err())
	s := startExporter(t, func(c *Config) { c.Redis.Endpoint = sender.Endpoint(srv.Addr) })
	require.NoError(t, s.exp.ConsumeLogs(context.Background(), testLogs(5)))
	require.Eventually(t, func() bool {
		return sumValue(t, s.telemetry, "records_dropped", attribute.String("reason", "permanent_error")) == 5
	}, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, s.exp.Shutdown(context.Background()))
	assert.Zero(t, sumValue(t, s.telemetry, "records_retried"))
}

func TestExporterFullBufferPushesBack(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", redistest.FreePort(t))
	s := startExporter(t, func(c *Config) {
		c.Redis.Endpoint = sender.Endpoint(addr)
		c.Redis.DialTimeout = 100 * time.Millisecond
		c.Batching.MaxRetries = 1000
		c.Batching.Buffer.MaxRecords = 100
	})
	require.NoError(t, s.exp.ConsumeLogs(context.Background(), testLogs(100)))
	err := s.exp.ConsumeLogs(context.Background(), testLogs(1))
	require.Error(t, err, "a full buffer refuses records instead of dropping them")
	assert.False(t, consumererror.IsPermanent(err), "the refusal is retryable: %v", err)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	require.Error(t, s.exp.Shutdown(ctx))
	assert.EqualValues(t, 100, sumValue(t, s.telemetry, "records_dropped", attribute.String("reason", "shutdown")))
}
