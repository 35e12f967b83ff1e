package e2e

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"

	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

// sdkSeverities are the severities the SDK test cycles through, with the level each maps to.
var sdkSeverities = []struct {
	number otellog.Severity
	level  string
}{
	{otellog.SeverityTrace, "TRACE"}, {otellog.SeverityDebug, "DEBUG"}, {otellog.SeverityInfo, "INFO"},
	{otellog.SeverityWarn, "WARN"}, {otellog.SeverityError, "ERROR"}, {otellog.SeverityFatal, "ERROR"},
}

// The span context of every other record the SDK test emits.
var (
	sdkTraceID = trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	sdkSpanID  = trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
)

// TestOTelSDKLogsArriveExactlyOnce sends 10,000 logs with the OTel Go SDK through the built
// collector and checks the Redis list element by element.
func TestOTelSDKLogsArriveExactlyOnce(t *testing.T) {
	const total = 10_000
	srv := redistest.Start(t)
	col := startCollector(t, otelcoltest.Settings{
		"endpoint": srv.Addr, "app_name": "fallback-app", "env": "fallback-env",
		"batch_size": 100, "flush_interval": "200ms",
	})
	emitWithSDK(t, col.GRPC, total)

	msgs := plumelogtest.Messages(t, waitForLen(t, srv.Client(), "plume_log_list", total))
	require.Len(t, msgs, total, "exactly one element per log")
	seen := make([]bool, total)
	for _, m := range msgs {
		i, err := strconv.Atoi(m["i"].(string))
		require.NoError(t, err)
		require.False(t, seen[i], "record %d arrived twice", i)
		seen[i] = true

		assert.Equal(t, "order "+strconv.Itoa(i), m["content"])
		assert.Equal(t, "checkout", m["appName"])
		assert.Equal(t, "staging", m["env"])
		assert.Equal(t, "checkout-_-staging", m["appNameWithEnv"])
		assert.Equal(t, "node-7", m["serverName"])
		assert.Equal(t, sdkSeverities[i%len(sdkSeverities)].level, m["logLevel"], "record %d", i)
		assert.Equal(t, "com.example.Checkout", m["className"])
		assert.Equal(t, "worker-"+strconv.Itoa(i%4), m["threadName"])
		assert.Equal(t, "worker-"+strconv.Itoa(i%4), m["method"], "method falls back to the thread name")
		assert.Equal(t, "u"+strconv.Itoa(i%10), m["user_id"], "user.id as an extension key without dots")
		if i%2 == 0 {
			assert.Equal(t, sdkTraceID.String(), m["traceId"])
			assert.Equal(t, sdkSpanID.String(), m["spanId"])
		} else {
			assert.NotContains(t, m, "traceId")
		}
	}
}

// emitWithSDK emits total records through the SDK's logger and batch processor, as an
// application does, to the collector at endpoint, and waits until the SDK has exported them.
func emitWithSDK(t *testing.T, endpoint string, total int) {
	t.Helper()
	ctx := context.Background()
	exp, err := otlploggrpc.New(ctx, otlploggrpc.WithEndpoint(endpoint), otlploggrpc.WithInsecure())
	require.NoError(t, err)
	res := resource.NewSchemaless(
		attribute.String("service.name", "checkout"),
		attribute.String("deployment.environment.name", "staging"),
		attribute.String("host.name", "node-7"),
	)
	// The SDK's batch processor drops records when its queue is full: size it for the run so
	// that every record the test emits is really sent.
	provider := sdklog.NewLoggerProvider(
		sdklog.WithResource(res),
		sdklog.WithProcessor(sdklog.NewBatchProcessor(exp, sdklog.WithMaxQueueSize(total), sdklog.WithExportMaxBatchSize(500))),
	)
	logger := provider.Logger("com.example.Checkout")
	traced := trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: sdkTraceID, SpanID: sdkSpanID, TraceFlags: trace.FlagsSampled,
	}))
	for i := range total {
		var r otellog.Record
		r.SetTimestamp(time.Now())
		r.SetBody(attribute.StringValue("order " + strconv.Itoa(i)))
		r.SetSeverity(sdkSeverities[i%len(sdkSeverities)].number)
		r.AddAttributes(
			attribute.Int("i", i),
			attribute.String("thread.name", "worker-"+strconv.Itoa(i%4)),
			attribute.String("user.id", "u"+strconv.Itoa(i%10)),
		)
		emitCtx := ctx
		if i%2 == 0 {
			emitCtx = traced
		}
		logger.Emit(emitCtx, r)
	}
	require.NoError(t, provider.Shutdown(ctx))
}

// TestTelemetrygenLogs sends logs with the collector-contrib project's telemetrygen over
// OTLP/gRPC and OTLP/HTTP.
func TestTelemetrygenLogs(t *testing.T) {
	tg := binary(t, "TELEMETRYGEN")
	const traceID, spanID = "ae87dadd90e9935a4bc9660628efd569", "5828fa4960140870"

	for _, tt := range []struct {
		name string
		flag func(c *collector) []string
	}{
		{"grpc", func(c *collector) []string { return []string{"--otlp-endpoint", c.GRPC} }},
		{"http", func(c *collector) []string { return []string{"--otlp-http", "--otlp-endpoint", c.HTTP} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			const workers, perWorker = 2, 500
			srv := redistest.Start(t)
			col := startCollector(t, otelcoltest.Settings{"endpoint": srv.Addr, "env": "load-test"})

			args := append([]string{"logs", "--otlp-insecure", "--rate", "0",
				"--workers", strconv.Itoa(workers), "--logs", strconv.Itoa(perWorker),
				"--service", "tg-" + tt.name, "--severity-text", "Warning", "--severity-number", "13",
				"--body", "generated by telemetrygen", "--trace-id", traceID, "--span-id", spanID,
			}, tt.flag(col)...)
			out, err := exec.Command(tg, args...).CombinedOutput()
			require.NoError(t, err, "telemetrygen: %s", out)

			msgs := plumelogtest.Messages(t, waitForLen(t, srv.Client(), "plume_log_list", workers*perWorker))
			require.Len(t, msgs, workers*perWorker)
			for _, m := range msgs {
				assert.Equal(t, "tg-"+tt.name, m["appName"])
				assert.Equal(t, "load-test", m["env"])
				assert.Equal(t, "WARN", m["logLevel"])
				assert.Equal(t, traceID, m["traceId"])
				assert.Equal(t, spanID, m["spanId"])
				assert.True(t, strings.HasPrefix(m["content"].(string), "generated by telemetrygen"), m["content"])
			}
		})
	}
}
