package encoder

import (
	"encoding/hex"
	"encoding/json"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
)

const benchRecords = 100

// benchLogs is a realistic batch from an instrumented Java service: one resource with six
// attributes, 100 records with a ~100-byte message, five attributes, trace context.
func benchLogs() plog.Logs {
	base := time.Date(2024, 6, 20, 8, 50, 45, 0, time.UTC)
	return plumelogtest.Logs(0, benchRecords,
		plumelogtest.Resource(func(ra pcommon.Map) {
			ra.PutStr("host.name", "order-svc-7d9f8c6b5-x2k4p")
			ra.PutStr("service.version", "1.4.2")
			ra.PutStr("telemetry.sdk.language", "java")
			ra.PutInt("process.pid", 4242)
		}),
		plumelogtest.Scope("com.example.order.OrderService"),
		plumelogtest.Body(func(id int) string {
			return "Order " + strconv.Itoa(100000+id) + " created for customer c-5521: 3 items, total 129.90 EUR, payment pending (card)"
		}),
		plumelogtest.Attributes(func(id int, la pcommon.Map) {
			la.PutStr("code.namespace", "com.example.order.OrderService")
			la.PutStr("code.function", "createOrder")
			la.PutStr("thread.name", "http-nio-8080-exec-"+strconv.Itoa(id%10))
			la.PutStr("http.route", "/api/v1/orders")
			la.PutStr("user.id", "c-5521")
		}),
		plumelogtest.Record(func(id int, lr plog.LogRecord) {
			lr.SetTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Duration(id) * 317 * time.Microsecond)))
			lr.SetObservedTimestamp(lr.Timestamp() + 1000)
			lr.SetSeverityText("INFO")
			lr.SetTraceID(pcommon.TraceID{0x6a, 0x1f, 0x0b, 0x8c, 0x3d, 0x2e, 0x4f, 0x50, 0x91, 0xa2, 0xb3, 0xc4, 0xd5, 0xe6, 0xf7, byte(id)})
			lr.SetSpanID(pcommon.SpanID{0x9c, 0x1d, 0x2e, 0x3f, 0x4a, 0x5b, 0x6c, byte(id)})
		}),
	)
}

// benchEncode measures encode, which encodes benchRecords records or spans into messages
// messages, and reports time, bytes and allocations per record or span besides the -benchmem
// figures, which are per call. Each call's messages are released once encoded, as the
// exporter releases them once delivered, so that the next call reuses their buffer.
func benchEncode(b *testing.B, messages int, encode func() Encoded) {
	enc := encode()
	require.Len(b, enc.Messages, messages)
	enc.Release()
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		enc := encode()
		enc.Release()
	}
	runtime.ReadMemStats(&after)
	records := float64(b.N) * benchRecords
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/records, "ns/record")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/records, "B/record")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/records, "allocs/record")
}

func BenchmarkEncodeLogs(b *testing.B) {
	ld, e := benchLogs(), New(Config{Location: shanghai})
	benchEncode(b, benchRecords, func() Encoded { return e.Logs(ld) })
}

// benchTraces is the same service's spans: 100 spans with realistic names and five
// attributes each, under the resource of benchLogs.
func benchTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	benchLogs().ResourceLogs().At(0).Resource().CopyTo(rs.Resource())
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("io.opentelemetry.spring-webmvc-6.0")
	base := time.Date(2024, 6, 20, 8, 50, 45, 0, time.UTC)
	for i := range benchRecords {
		span := ss.Spans().AppendEmpty()
		span.SetName("OrderService.createOrder")
		span.SetKind(ptrace.SpanKindInternal)
		span.SetTraceID(pcommon.TraceID{0x6a, 0x1f, 0x0b, 0x8c, 0x3d, 0x2e, 0x4f, 0x50, 0x91, 0xa2, 0xb3, 0xc4, 0xd5, 0xe6, 0xf7, byte(i)})
		span.SetSpanID(pcommon.SpanID{0x9c, 0x1d, 0x2e, 0x3f, 0x4a, 0x5b, 0x6c, byte(i)})
		span.SetParentSpanID(pcommon.SpanID{0x1c, 0x1d, 0x2e, 0x3f, 0x4a, 0x5b, 0x6c, byte(i)})
		start := base.Add(time.Duration(i) * 317 * time.Microsecond)
		span.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		span.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(1+i%7) * 1731 * time.Microsecond)))
		a := span.Attributes()
		a.PutStr("code.namespace", "com.example.order.OrderService")
		a.PutStr("code.function", "createOrder")
		a.PutStr("thread.name", "http-nio-8080-exec-"+strconv.Itoa(i%10))
		a.PutStr("http.route", "/api/v1/orders")
		a.PutStr("user.id", "c-5521")
	}
	return td
}

// BenchmarkEncodeTraces encodes 100 spans, two events each; its per-record figures are per
// span, to compare with BenchmarkEncodeLogs.
func BenchmarkEncodeTraces(b *testing.B) {
	td, e := benchTraces(), New(Config{Location: shanghai})
	benchEncode(b, 2*benchRecords, func() Encoded {
		events, _ := e.Traces(td)
		return events
	})
}

func BenchmarkBaselineMapJSON(b *testing.B) {
	ld, bl := benchLogs(), newBaseline(Config{Location: shanghai})
	benchEncode(b, benchRecords, func() Encoded { return Encoded{Messages: bl.encodeLogs(ld)} })
}

// BenchmarkAppendString measures the string escaper on English and on Chinese text, which
// takes the multi-byte path for nearly every byte.
func BenchmarkAppendString(b *testing.B) {
	for _, tt := range []struct{ name, text string }{
		{"ascii", strings.Repeat("order created for customer ", 10)},
		{"cjk", strings.Repeat("订单已创建，客户编号", 9)},
	} {
		b.Run(tt.name, func(b *testing.B) {
			buf := make([]byte, 0, 2*len(tt.text))
			b.SetBytes(int64(len(tt.text)))
			for b.Loop() {
				buf = appendString(buf[:0], tt.text)
			}
		})
	}
}

// TestBaselineMatchesEncoder keeps the comparison honest: the baseline must produce the same
// fields and values, only through map[string]any and encoding/json.
func TestBaselineMatchesEncoder(t *testing.T) {
	ld := benchLogs()
	want := newTestEncoder(Config{}).EncodeLogs(ld)
	got := newBaseline(Config{Location: shanghai}).encodeLogs(ld)
	require.Len(t, got, len(want))
	for i := range want {
		require.JSONEq(t, string(want[i]), string(got[i]))
	}
}

// baseline is the straightforward encoder the package is measured against: it builds each
// message as a map[string]any and hands it to json.Marshal. It applies the same field policy,
// key by key.
type baseline struct {
	cfg     Config
	mapping Mapping
	mapped  map[string]bool
	core    map[string]bool
	policy  policy
	seq     uint64
}

func newBaseline(cfg Config) *baseline {
	bl := &baseline{cfg: cfg, mapping: DefaultMapping(), mapped: map[string]bool{}, core: map[string]bool{}, policy: compilePolicy(DefaultFields())}
	for _, k := range coreKeys {
		bl.core[k] = true
	}
	for _, keys := range bl.mapping.lists() {
		for _, k := range keys {
			bl.mapped[k] = true
		}
	}
	return bl
}

func (bl *baseline) encodeLogs(ld plog.Logs) [][]byte {
	out := make([][]byte, 0, ld.LogRecordCount())
	for _, rl := range ld.ResourceLogs().All() {
		res := rl.Resource().Attributes()
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				bl.seq++
				msg := bl.message(res, sl.Scope().Name(), lr)
				bl.extensions(msg, res, lr.Attributes())
				b, err := json.Marshal(msg)
				if err != nil {
					panic(err)
				}
				out = append(out, b)
			}
		}
	}
	return out
}

// message builds the record's message as a map, core field by core field.
func (bl *baseline) message(res pcommon.Map, scope string, lr plog.LogRecord) map[string]any {
	m := bl.mapping
	get := func(keys []string) string {
		for _, k := range keys {
			for _, attrs := range []pcommon.Map{lr.Attributes(), res} {
				if v, ok := attrs.Get(k); ok && v.AsString() != "" {
					return v.AsString()
				}
			}
		}
		return ""
	}
	or := func(s, def string) string {
		if s == "" {
			return def
		}
		return s
	}
	app, env := or(get(m.AppName), or(bl.cfg.AppName, "unknown")), or(get(m.Env), or(bl.cfg.Env, "default"))
	t := lr.Timestamp().AsTime()
	content := lr.Body().AsString()
	if st := get(m.Stacktrace); st != "" {
		content += "\n" + st
	}
	thread := get(m.ThreadName)
	traceID, spanID := lr.TraceID(), lr.SpanID()
	class, method := codeLocation(get(m.ClassName), get(m.Method), scope, thread)
	return map[string]any{
		"appName":        app,
		"env":            env,
		"appNameWithEnv": app + "-_-" + env,
		"serverName":     or(get(m.ServerName), bl.cfg.ServerName),
		"dtTime":         t.UnixMilli(),
		"seq":            bl.seq,
		"dateTime":       t.In(bl.cfg.Location).Format("2006-01-02 15:04:05.000"),
		"logLevel":       level(lr.SeverityNumber(), lr.SeverityText()),
		"content":        content,
		"className":      class,
		"method":         method,
		"threadName":     thread,
		"traceId":        hex.EncodeToString(traceID[:]),
		"spanId":         hex.EncodeToString(spanID[:]),
	}
}

// extensions adds the attributes the field policy keeps to msg, the record's replacing the
// resource's, and the folded ones as one text field.
func (bl *baseline) extensions(msg map[string]any, res, rec pcommon.Map) {
	var folded []string
	for _, from := range []struct {
		side  side
		attrs pcommon.Map
	}{{resourceSide, res}, {recordSide, rec}} {
		for k, v := range from.attrs.All() {
			if bl.mapped[k] {
				continue
			}
			switch d := bl.policy.decide(from.side, k, bl.core[k]); d.act {
			case actField:
				msg[d.key] = v.AsString()
			case actFold:
				folded = append(folded, k+"="+v.AsString())
			}
		}
	}
	if len(folded) > 0 {
		msg[bl.policy.foldKey] = strings.Join(folded, " ")
	}
}
