package plumelogexporter

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/encoder"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/metadatatest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/testenv"
)

// cpuBenchRecords is the records of one request, as the pipeline benchmark sends them.
const cpuBenchRecords = 100

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
	// The pipeline benchmark's records, stamped as its senders stamp them.
	ld := plumelogtest.JavaLogs(0, cpuBenchRecords)
	now := pcommon.NewTimestampFromTime(time.Now())
	for _, lr := range ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().All() {
		lr.SetTimestamp(now)
	}
	ctx := context.Background()
	start := testenv.ProcessCPU(b)
	for b.Loop() {
		for exp.ConsumeLogs(ctx, ld) != nil {
			time.Sleep(time.Millisecond)
		}
	}
	require.NoError(b, exp.Shutdown(ctx))
	cpu := testenv.ProcessCPU(b) - start
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
