package plumelogexporter

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/metadatatest"
	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/sender"
	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

var (
	checkoutTraceID = pcommon.TraceID{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c}
	traceStart      = time.Now().Truncate(time.Second)
	// checkout is a request through two services, with calls that start and end in the same
	// millisecond as others.
	checkout = plumelogtest.Span{Name: "POST /checkout", App: "web", End: 80 * time.Millisecond, Calls: []plumelogtest.Span{
		{Name: "cart.load", App: "web", Start: time.Millisecond, End: 5 * time.Millisecond},
		{Name: "POST order-svc", App: "web", Start: 5 * time.Millisecond, End: 60 * time.Millisecond, Calls: []plumelogtest.Span{
			{Name: "POST /orders", App: "order-svc", Start: 5300 * time.Microsecond, End: 59600 * time.Microsecond, Calls: []plumelogtest.Span{
				{Name: "INSERT orders", App: "order-svc", Start: 6 * time.Millisecond, End: 20 * time.Millisecond},
			}},
		}},
	}}
)

// startTracesExporter starts the traces half of the exporter that startExporter's config
// describes; the collector creates one per signal from the same settings.
func startTracesExporter(t *testing.T, cfg *Config) (*componenttest.Telemetry, func(ptrace.Traces)) {
	t.Helper()
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	exp, err := NewFactory().CreateTraces(context.Background(), metadatatest.NewSettings(tel), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })
	return tel, func(td ptrace.Traces) { require.NoError(t, exp.ConsumeTraces(context.Background(), td)) }
}

// traceEvents reads the trace events in a list, plain or compressed, checking each against
// the contract.
func traceEvents(t *testing.T, rdb *redistest.Server, compressed bool) []plumelogtest.TraceEvent {
	t.Helper()
	var raw []string
	if compressed {
		_, raw = decodeCompressedList(t, rdb.Client(), "plume_trace_list_compress")
	} else {
		raw = rdb.Client().LRange(context.Background(), "plume_trace_list", 0, -1).Val()
	}
	events := make([]plumelogtest.TraceEvent, len(raw))
	for i, r := range raw {
		ev, err := plumelogtest.CheckTraceEvent([]byte(r))
		require.NoError(t, err, r)
		events[i] = ev
	}
	return events
}

// TestExporterTracesBesideLogs runs one exporter configuration for logs and traces, as one
// exporters block in two pipelines: spans arrive in end order across requests, and the view
// rebuilds the trace from plume_trace_list (or its compressed list), while a log of the same
// request lands in plume_log_list with the same traceId.
func TestExporterTracesBesideLogs(t *testing.T) {
	for _, compression := range []string{"none", "lz4"} {
		t.Run(compression, func(t *testing.T) {
			srv := redistest.Start(t)
			settings := otelcoltest.Settings{"endpoint": srv.Addr, "compression": compression}
			logs := startExporter(t, settings)
			cfg := createDefaultConfig().(*Config)
			require.NoError(t, settings.Decode(cfg))
			tel, sendTraces := startTracesExporter(t, cfg)
			for _, td := range checkout.Traces(traceStart, checkoutTraceID, 2) {
				sendTraces(td)
			}
			ld := plumelogtest.Logs(0, 1)
			ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).SetTraceID(checkoutTraceID)
			require.NoError(t, logs.exp.ConsumeLogs(context.Background(), ld))
			logs.waitSent(t, 1)
			require.Eventually(t, func() bool { return counter(t, tel, "otelcol_plumelog_exporter_records_sent") == 10 }, 30*time.Second, 10*time.Millisecond,
				"two events for each of the 5 spans")

			events := traceEvents(t, srv, compression == "lz4")
			require.Len(t, events, 10)
			assert.Equal(t, checkout.View(traceStart).String(), plumelogtest.TraceView(events).String())
			var logTraceID string
			if compression == "lz4" {
				_, elements := decodeCompressedList(t, srv.Client(), "plume_log_list_compress")
				require.Len(t, elements, 1)
				msg, err := plumelogtest.CheckRunLog([]byte(elements[0]))
				require.NoError(t, err)
				logTraceID = msg["traceId"].(string)
			} else {
				msg, err := plumelogtest.CheckRunLog([]byte(srv.Client().LIndex(context.Background(), "plume_log_list", 0).Val()))
				require.NoError(t, err)
				logTraceID = msg["traceId"].(string)
			}
			for _, ev := range events {
				assert.Equal(t, logTraceID, ev.TraceID, "the UI links the log to its trace")
			}
			require.NoError(t, logs.exp.Shutdown(context.Background()))
		})
	}
}

// TestExporterCountsSpansWithoutTraceID drops, counts (as the two events each would have
// been) and logs the spans the trace view could not place, and delivers the others.
func TestExporterCountsSpansWithoutTraceID(t *testing.T) {
	srv := redistest.Start(t)
	cfg := createDefaultConfig().(*Config)
	cfg.Redis.Endpoint = sender.Endpoint(srv.Addr)
	tel, sendTraces := startTracesExporter(t, cfg)
	td := checkout.Traces(traceStart, checkoutTraceID, 100)[0]
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	spans.At(0).SetTraceID(pcommon.TraceID{})
	sendTraces(td)
	require.Eventually(t, func() bool { return counter(t, tel, "otelcol_plumelog_exporter_records_sent") == 8 }, 30*time.Second, 10*time.Millisecond)
	assert.EqualValues(t, 2, counter(t, tel, "otelcol_plumelog_exporter_records_dropped", attribute.String("reason", "invalid"), attribute.String("signal", "traces")),
		"the span's two events")
	assert.Len(t, traceEvents(t, srv, false), 8)
}

// TestPartialRequests builds the smaller requests the sending queue retries: the records, or
// spans, of the messages handed back, with their resources and scopes.
func TestPartialRequests(t *testing.T) {
	ld := plog.NewLogs()
	for r := range 2 {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutInt("resource", int64(r))
		for range 3 {
			rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		}
	}
	kept := logsAt(ld, []int{1, 4, 5})
	assert.Equal(t, 3, kept.LogRecordCount())
	assert.Equal(t, 2, kept.ResourceLogs().Len())
	assert.Equal(t, 1, kept.ResourceLogs().At(0).ScopeLogs().Len())

	td := checkout.Traces(traceStart, checkoutTraceID, 100)[0]                              // 5 spans, children first
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1).SetTraceID(pcommon.TraceID{}) // yields no events
	// Events 0-1 are span 0, 2-3 span 2 (span 1 has none), 4-5 span 3, 6-7 span 4.
	spans := spansAt(td, []int{1, 4, 7})
	var names []string
	for _, rs := range spans.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				names = append(names, s.Name())
			}
		}
	}
	all := td.ResourceSpans()
	_ = all
	assert.Len(t, names, 3)
}
