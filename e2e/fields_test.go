package e2e

import (
	"context"
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

	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

// TestOTelSDKFieldsNeverConflict sends logs with the OTel Go SDK, under the resource its own
// detectors make (SDK identity, process, OS, host), where some records carry "error" and
// others "error.type", some "user" and others "user.id", through the built collector with the
// default field policy. Every log must arrive, and the keys of all of them together must be
// ones Elasticsearch maps without conflict into Plumelog's shared daily index.
// fieldVariants are the attributes of the records, in turn: keys that Elasticsearch would map
// as an object in one document and a value in another, and a duplicate once rewritten.
var fieldVariants = [][]attribute.KeyValue{
	{attribute.String("error", "timeout")},
	{attribute.String("error.type", "Timeout")},
	{attribute.String("user", "alice")},
	{attribute.String("user.id", "u-1"), attribute.String("user.name", "alice")},
	{attribute.String("error", "timeout"), attribute.String("error.type", "Timeout"), attribute.String("error_type", "dup")},
	{attribute.String("host", "h"), attribute.String("service", "s"), attribute.Int("http.response.status_code", 504)},
}

func TestOTelSDKFieldsNeverConflict(t *testing.T) {
	const total = 600
	srv := redistest.Start(t)
	col := startCollector(t, otelcoltest.Settings{"endpoint": srv.Addr, "flush_interval": "200ms"})

	ctx := context.Background()
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithProcess(), resource.WithOS(), resource.WithHost(),
		resource.WithAttributes(attribute.String("service.name", "checkout"), attribute.String("service.version", "2.1.0"),
			attribute.String("k8s.pod.name", "checkout-5f7c9")))
	require.NoError(t, err)
	require.True(t, res.Set().HasValue("telemetry.sdk.language"), "the SDK names itself: %v", res)

	exp, err := otlploggrpc.New(ctx, otlploggrpc.WithEndpoint(col.GRPC), otlploggrpc.WithInsecure())
	require.NoError(t, err)
	provider := sdklog.NewLoggerProvider(sdklog.WithResource(res),
		sdklog.WithProcessor(sdklog.NewBatchProcessor(exp, sdklog.WithMaxQueueSize(total), sdklog.WithExportMaxBatchSize(50))))
	logger := provider.Logger("com.example.Checkout")

	for i := range total {
		var r otellog.Record
		r.SetTimestamp(time.Now())
		r.SetSeverity(otellog.SeverityWarn)
		r.SetBody(attribute.StringValue("record " + strconv.Itoa(i)))
		r.AddAttributes(attribute.Int("i", i))
		r.AddAttributes(fieldVariants[i%len(fieldVariants)]...)
		logger.Emit(ctx, r)
	}
	require.NoError(t, provider.Shutdown(ctx))

	msgs := plumelogtest.Messages(t, waitForLen(t, srv.Client(), "plume_log_list", total))
	require.Len(t, msgs, total, "every log arrives")
	var index plumelogtest.IndexKeys
	seen := make([]bool, total)
	for _, m := range msgs {
		require.NoError(t, index.Add(m), "%v", m)
		i, err := strconv.Atoi(m["i"].(string))
		require.NoError(t, err)
		require.False(t, seen[i], "record %d arrived twice", i)
		seen[i] = true
		assert.LessOrEqual(t, len(plumelogtest.ExtensionKeys(m)), 32+1, "max_fields and the fold field")
		assert.Equal(t, "2.1.0", m["service_version"])
		assert.Equal(t, "checkout-5f7c9", m["k8s_pod_name"])
		if i%len(fieldVariants) == 4 {
			assert.Equal(t, "Timeout", m["error_type"])
			assert.Equal(t, "error_type=dup", m["attributes"], "a second attribute for a field key is folded")
		}
	}
	keys := index.Keys()
	for _, k := range []string{"error", "error_type", "user", "user_id", "user_name", "host", "service", "http_response_status_code"} {
		assert.Contains(t, keys, k)
	}
	for _, k := range keys {
		for _, noise := range []string{"telemetry", "process", "os_", "host_"} {
			assert.False(t, strings.HasPrefix(k, noise), "%q reached Plumelog", k)
		}
	}
}
