package e2e

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

// app is one instrumented service of the test: a tracer and a logger of the OTel Go SDK
// exporting over OTLP/gRPC, and a recorder of the spans it ended.
type app struct {
	tracer   trace.Tracer
	logger   otellog.Logger
	recorder *tracetest.SpanRecorder
	shutdown func()
}

func newApp(t *testing.T, endpoint, name string) *app {
	t.Helper()
	ctx := context.Background()
	res := resource.NewSchemaless(attribute.String("service.name", name), attribute.String("host.name", name+"-host"))
	spanExp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(endpoint), otlptracegrpc.WithInsecure())
	require.NoError(t, err)
	logExp, err := otlploggrpc.New(ctx, otlploggrpc.WithEndpoint(endpoint), otlploggrpc.WithInsecure())
	require.NoError(t, err)
	recorder := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithBatcher(spanExp), sdktrace.WithSpanProcessor(recorder))
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewBatchProcessor(logExp)))
	return &app{
		tracer: tp.Tracer("com.example." + name), logger: lp.Logger("com.example." + name), recorder: recorder,
		shutdown: func() {
			require.NoError(t, tp.Shutdown(ctx))
			require.NoError(t, lp.Shutdown(ctx))
		},
	}
}

// call makes a span named name as a child of ctx's span, logs inside it, and runs inner.
func (a *app) call(ctx context.Context, name string, inner func(context.Context)) {
	ctx, span := a.tracer.Start(ctx, name)
	defer span.End()
	var r otellog.Record
	r.SetTimestamp(time.Now())
	r.SetSeverity(otellog.SeverityInfo)
	r.SetBody(attribute.StringValue("in " + name))
	a.logger.Emit(ctx, r)
	if inner != nil {
		inner(ctx)
	}
}

// checkout runs one request through web and order-svc, five calls deep, quickly enough that
// calls start and end in the same millisecond as their neighbours.
func checkout(web, orders *app, i int) {
	web.call(context.Background(), "POST /checkout/"+strconv.Itoa(i), func(ctx context.Context) {
		web.call(ctx, "cart.load", nil)
		web.call(ctx, "POST order-svc", func(ctx context.Context) {
			orders.call(ctx, "POST /orders", func(ctx context.Context) {
				orders.call(ctx, "OrderService.create", func(ctx context.Context) {
					orders.call(ctx, "INSERT orders", nil)
					orders.call(ctx, "INSERT order_items", nil)
				})
				orders.call(ctx, "publish OrderCreated", nil)
			})
		})
		web.call(ctx, "render", nil)
	})
}

// expectedViews builds, from the spans the SDK ended, the tree the trace view must show for
// each trace id.
func expectedViews(spans []sdktrace.ReadOnlySpan) map[string]*plumelogtest.Call {
	calls := map[trace.SpanID]*plumelogtest.Call{}
	for _, s := range spans {
		app, _ := s.Resource().Set().Value("service.name")
		calls[s.SpanContext().SpanID()] = &plumelogtest.Call{
			Method: s.Name(), AppName: app.AsString(), Start: s.StartTime().UnixMilli(), End: s.EndTime().UnixMilli(),
		}
	}
	views := map[string]*plumelogtest.Call{}
	slices.SortFunc(spans, func(a, b sdktrace.ReadOnlySpan) int { return a.StartTime().Compare(b.StartTime()) })
	for _, s := range spans {
		parent, ok := calls[s.Parent().SpanID()]
		if !ok {
			id := s.SpanContext().TraceID().String()
			if views[id] == nil {
				views[id] = &plumelogtest.Call{End: -1}
			}
			parent = views[id]
		}
		parent.Children = append(parent.Children, calls[s.SpanContext().SpanID()])
	}
	return views
}

// TestOTelSDKTracesAndLogs sends the spans and logs of 50 requests across two services with
// the OTel Go SDK through the built collector: every span arrives as two contract-valid
// events, the view's rule rebuilds every trace as the SDK recorded it, and every log carries
// the traceId of its trace's events.
func TestOTelSDKTracesAndLogs(t *testing.T) {
	for _, compression := range []string{"none", "lz4"} {
		t.Run(compression, func(t *testing.T) {
			srv := redistest.Start(t)
			col := startCollectorWith(t, otelcoltest.Config{Exporter: otelcoltest.Settings{"endpoint": srv.Addr, "compression": compression}, Traces: true})
			web, orders := newApp(t, col.GRPC, "web"), newApp(t, col.GRPC, "order-svc")
			const requests = 50
			for i := range requests {
				checkout(web, orders, i)
			}
			web.shutdown()
			orders.shutdown()
			spans := append(web.recorder.Ended(), orders.recorder.Ended()...)
			require.Len(t, spans, 9*requests)

			events := traceEventsIn(t, srv, compression, 2*len(spans))
			byTrace := map[string][]plumelogtest.TraceEvent{}
			for _, ev := range events {
				byTrace[ev.TraceID] = append(byTrace[ev.TraceID], ev)
			}
			want := expectedViews(spans)
			require.Len(t, byTrace, requests)
			for id, evs := range byTrace {
				require.Equal(t, want[id].String(), plumelogtest.TraceView(evs).String(), "trace %s", id)
			}
			logs := runLogsIn(t, srv, compression, len(spans))
			for _, msg := range logs {
				assert.Contains(t, byTrace, msg["traceId"], "a log links to its trace's events")
			}
		})
	}
}

// traceEventsIn waits for n trace events in the list the compression writes to, and checks
// each against the contract.
func traceEventsIn(t *testing.T, srv *redistest.Server, compression string, n int) []plumelogtest.TraceEvent {
	t.Helper()
	var raw []string
	if compression == "lz4" {
		raw = decodedEnvelopes(t, srv, "plume_trace_list_compress", n)
	} else {
		raw = waitForLen(t, srv.Client(), "plume_trace_list", n)
	}
	require.Len(t, raw, n)
	events := make([]plumelogtest.TraceEvent, n)
	for i, r := range raw {
		ev, err := plumelogtest.CheckTraceEvent([]byte(r))
		require.NoError(t, err, r)
		events[i] = ev
	}
	return events
}

// runLogsIn waits for n run logs in the list the compression writes to, and checks each
// against the contract.
func runLogsIn(t *testing.T, srv *redistest.Server, compression string, n int) []map[string]any {
	t.Helper()
	if compression == "lz4" {
		return plumelogtest.Messages(t, decodedEnvelopes(t, srv, "plume_log_list_compress", n))
	}
	return plumelogtest.Messages(t, waitForLen(t, srv.Client(), "plume_log_list", n))
}

// decodedEnvelopes waits until the envelopes in key hold n messages, decoded with liblz4.
func decodedEnvelopes(t *testing.T, srv *redistest.Server, key string, n int) []string {
	t.Helper()
	var msgs []string
	require.Eventually(t, func() bool {
		raw := srv.Client().LRange(context.Background(), key, 0, -1).Val()
		envelopes := make([][]byte, len(raw))
		for i, r := range raw {
			envelopes[i] = []byte(r)
		}
		msgs = msgs[:0]
		for _, m := range plumelogtest.DecodeEnvelopes(t, envelopes) {
			msgs = append(msgs, m...)
		}
		return len(msgs) >= n
	}, 90*time.Second, 200*time.Millisecond, "%s holds %d of %d messages", key, len(msgs), n)
	return msgs
}
