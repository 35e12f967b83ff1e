package plumelogexporter

import (
	"context"
	"fmt"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/encoder"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/metadatatest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

// cpuBenchRecords is the records of one request, as the pipeline benchmark sends them.
const cpuBenchRecords = 100

// javaRequest is a request of an instrumented Java service: the pipeline benchmark's records.
func javaRequest() plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	ra := rl.Resource().Attributes()
	ra.PutStr("service.name", "order-svc")
	ra.PutStr("deployment.environment.name", "prod")
	ra.PutStr("host.name", "order-svc-7d9f8c6b5-x2k4p")
	ra.PutStr("service.version", "1.4.2")
	ra.PutStr("telemetry.sdk.language", "java")
	ra.PutInt("process.pid", 4242)
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("com.example.order.OrderService")
	now := time.Now()
	for i := range cpuBenchRecords {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Duration(i) * 317 * time.Microsecond)))
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetSeverityText("INFO")
		lr.Body().SetStr("Order " + strconv.Itoa(100000+i) + " created for customer c-5521: 3 items, total 129.90 EUR, payment pending (card)")
		lr.SetTraceID(pcommon.TraceID{0x6a, 0x1f, 0x0b, 0x8c, 0x3d, 0x2e, 0x4f, 0x50, 0x91, 0xa2, 0xb3, 0xc4, 0xd5, 0xe6, 0xf7, byte(i)})
		lr.SetSpanID(pcommon.SpanID{0x9c, 0x1d, 0x2e, 0x3f, 0x4a, 0x5b, 0x6c, byte(i)})
		la := lr.Attributes()
		la.PutStr("code.namespace", "com.example.order.OrderService")
		la.PutStr("code.function", "createOrder")
		la.PutStr("thread.name", "http-nio-8080-exec-"+strconv.Itoa(i%10))
		la.PutStr("http.route", "/api/v1/orders")
		la.PutStr("user.id", "c-5521")
	}
	return ld
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkExporterCPU is the CPU the exporter spends per record, from ConsumeLogs until the
// record is in a local redis-server's list: encoding, batching, telemetry and sending, the
// kernel's share of the socket included. One producer calls ConsumeLogs with requests of 100
// records as fast as the exporter takes them, so batches fill up to batch_size; at the
// previous default of 100 each request is a batch, as in a collector where requests arrive
// slower than a sender sends them.
func BenchmarkExporterCPU(b *testing.B) {
	for _, c := range []struct {
		name string
		set  otelcoltest.Settings
	}{
		{"defaults", nil},
		{"batch_size_100", otelcoltest.Settings{"batch_size": 100}},
	} {
		b.Run(c.name, func(b *testing.B) { benchExporterCPU(b, c.set) })
	}
}

func benchExporterCPU(b *testing.B, set otelcoltest.Settings) {
	// The package's tests poison released buffers; a collector does not.
	encoder.PoisonReleased = false
	b.Cleanup(func() { encoder.PoisonReleased = true })
	srv := redistest.Start(b)
	cfg := createDefaultConfig().(*Config)
	require.NoError(b, otelcoltest.Settings{"endpoint": srv.Addr}.Decode(cfg))
	require.NoError(b, set.Decode(cfg))
	tel := componenttest.NewTelemetry()
	exp, err := NewFactory().CreateLogs(context.Background(), metadatatest.NewSettings(tel), cfg)
	require.NoError(b, err)
	require.NoError(b, exp.Start(context.Background(), componenttest.NewNopHost()))
	ld := javaRequest()
	ctx := context.Background()
	start := processCPU(b)
	for b.Loop() {
		for exp.ConsumeLogs(ctx, ld) != nil {
			time.Sleep(time.Millisecond)
		}
	}
	require.NoError(b, exp.Shutdown(ctx))
	cpu := processCPU(b) - start
	records := b.N * cpuBenchRecords
	require.EqualValues(b, records, srv.Client().LLen(ctx, "plume_log_list").Val())
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(records), "cpu-ns/record")
	stats := srv.Client().InfoMap(ctx, "commandstats").Val()["Commandstats"]["cmdstat_rpush"]
	var calls int
	_, err = fmt.Sscanf(stats, "calls=%d,", &calls)
	require.NoError(b, err, stats)
	b.ReportMetric(float64(records)/float64(calls), "records/RPUSH")
	require.NoError(b, tel.Shutdown(ctx))
}
