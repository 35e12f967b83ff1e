package encoder

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current output")

var (
	traceID = pcommon.TraceID{0x6a, 0x1f, 0x0b, 0x8c, 0x3d, 0x2e, 0x4f, 0x50, 0x91, 0xa2, 0xb3, 0xc4, 0xd5, 0xe6, 0xf7, 0x08}
	spanID  = pcommon.SpanID{0x9c, 0x1d, 0x2e, 0x3f, 0x4a, 0x5b, 0x6c, 0x7d}
	// eventTime is 2024-06-20 16:50:45.123 in Shanghai.
	eventTime = pcommon.NewTimestampFromTime(time.Date(2024, 6, 20, 8, 50, 45, 123_456_789, time.UTC))
)

// logsBuilder builds plog.Logs with one resource and one scope, which most cases need.
type logsBuilder struct {
	ld  plog.Logs
	res pcommon.Resource
	sl  plog.ScopeLogs
}

func newLogs(resAttrs map[string]any, scope string) *logsBuilder {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	putSorted(rl.Resource().Attributes(), resAttrs)
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(scope)
	return &logsBuilder{ld: ld, res: rl.Resource(), sl: sl}
}

// javaResource is what the OpenTelemetry Java agent sends for a typical service.
func javaResource() map[string]any {
	return map[string]any{
		"service.name":                "order-svc",
		"deployment.environment.name": "prod",
		"host.name":                   "node-1",
		"service.version":             "1.4.2",
		"telemetry.sdk.language":      "java",
		"process.pid":                 4242,
	}
}

// record appends a record with a timestamp, severity INFO and body body, then applies opts.
func (b *logsBuilder) record(body string, opts ...func(plog.LogRecord)) *logsBuilder {
	lr := b.sl.LogRecords().AppendEmpty()
	lr.SetTimestamp(eventTime)
	lr.SetObservedTimestamp(eventTime + 5_000_000)
	lr.SetSeverityNumber(plog.SeverityNumberInfo)
	lr.SetSeverityText("INFO")
	lr.Body().SetStr(body)
	for _, o := range opts {
		o(lr)
	}
	return b
}

func attrs(raw map[string]any) func(plog.LogRecord) {
	return func(lr plog.LogRecord) { putSorted(lr.Attributes(), raw) }
}

// putSorted inserts raw in key order, which keeps golden files stable: Map.FromRaw would
// insert in Go's random map order.
func putSorted(dst pcommon.Map, raw map[string]any) {
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		if err := dst.PutEmpty(k).FromRaw(raw[k]); err != nil {
			panic(err)
		}
	}
}

func severity(n plog.SeverityNumber, text string) func(plog.LogRecord) {
	return func(lr plog.LogRecord) {
		lr.SetSeverityNumber(n)
		lr.SetSeverityText(text)
	}
}

func traced(lr plog.LogRecord) {
	lr.SetTraceID(traceID)
	lr.SetSpanID(spanID)
}

func body(set func(pcommon.Value)) func(plog.LogRecord) {
	return func(lr plog.LogRecord) { set(lr.Body()) }
}

func javaAttrs() map[string]any {
	return map[string]any{
		"code.namespace": "com.example.OrderService",
		"code.function":  "create",
		"thread.name":    "http-nio-8080-exec-1",
		"thread.id":      42,
	}
}

const stacktrace = "java.lang.IllegalStateException: card declined\n" +
	"\tat com.example.PaymentService.charge(PaymentService.java:88)\n" +
	"\tat com.example.OrderService.create(OrderService.java:42)"

// nested returns a map nested depth levels deep.
func nested(depth int) map[string]any {
	m := map[string]any{"leaf": true}
	for range depth - 1 {
		m = map[string]any{"n": m}
	}
	return m
}

// goldenCases are the payloads whose messages testdata/<name>.golden.json holds.
var goldenCases = []struct {
	name  string
	cfg   Config
	build func(testing.TB) plog.Logs
}{
	{
		name: "java_info",
		build: func(testing.TB) plog.Logs {
			return newLogs(javaResource(), "com.example.OrderService").
				record("order created id=42", attrs(javaAttrs()), traced).ld
		},
	},
	{
		name: "error_stacktrace",
		build: func(testing.TB) plog.Logs {
			a := javaAttrs()
			a["exception.type"] = "java.lang.IllegalStateException"
			a["exception.message"] = "card declined"
			a["exception.stacktrace"] = stacktrace
			return newLogs(javaResource(), "com.example.OrderService").
				record("payment failed for order 42", attrs(a), traced, severity(plog.SeverityNumberError, "ERROR")).ld
		},
	},
	{
		name: "fatal",
		build: func(testing.TB) plog.Logs {
			return newLogs(javaResource(), "com.example.Main").
				record("out of memory", severity(plog.SeverityNumberFatal, "FATAL")).
				record("fatal4", severity(plog.SeverityNumberFatal4, "")).
				record("above range", severity(plog.SeverityNumber(30), "")).ld
		},
	},
	{
		name: "severity_text_only",
		build: func(testing.TB) plog.Logs {
			b := newLogs(javaResource(), "app")
			for _, text := range []string{
				"trace", "DEBUG", "Info", "information", "notice", "warn", "WARNING", "error", "Err",
				"fatal", "CRITICAL", "crit", "panic", "alert", "emerg", " warn ", "bogus", "",
			} {
				b.record("text "+text, severity(plog.SeverityNumberUnspecified, text))
			}
			return b.ld
		},
	},
	{
		name: "severity_numbers",
		build: func(testing.TB) plog.Logs {
			b := newLogs(javaResource(), "app")
			for n := plog.SeverityNumberTrace; n <= plog.SeverityNumberFatal4; n += 2 {
				b.record("number "+n.String(), severity(n, "ignored"))
			}
			return b.ld
		},
	},
	{
		name: "no_severity",
		build: func(testing.TB) plog.Logs {
			return newLogs(javaResource(), "app").
				record("no severity at all", severity(plog.SeverityNumberUnspecified, "")).ld
		},
	},
	{
		name: "map_body",
		build: func(t testing.TB) plog.Logs {
			return newLogs(javaResource(), "app").record("", body(func(v pcommon.Value) {
				m := v.SetEmptyMap()
				m.PutStr("event", "login")
				m.PutStr("user", "al\"ice\n")
				m.PutInt("attempt", 3)
				m.PutDouble("ratio", 0.25)
				m.PutBool("ok", true)
				require.NoError(t, m.PutEmptySlice("tags").FromRaw([]any{"a", 1, false}))
				m.PutEmptyMap("geo").PutDouble("lat", 31.2304)
				m.PutEmptyBytes("raw").FromRaw([]byte("hi"))
				m.PutEmpty("nothing")
			})).ld
		},
	},
	{
		name: "slice_body",
		build: func(t testing.TB) plog.Logs {
			return newLogs(javaResource(), "app").record("", body(func(v pcommon.Value) {
				require.NoError(t, v.SetEmptySlice().FromRaw([]any{"x", int64(1), 2.5, true, nil, map[string]any{"k": "v"}, []any{}}))
			})).ld
		},
	},
	{
		name: "bytes_body",
		build: func(testing.TB) plog.Logs {
			return newLogs(javaResource(), "app").
				record("", body(func(v pcommon.Value) { v.SetEmptyBytes().FromRaw([]byte("\x00\x01binary\xff")) })).ld
		},
	},
	{
		name: "scalar_bodies",
		build: func(testing.TB) plog.Logs {
			b := newLogs(javaResource(), "app")
			for _, set := range []func(pcommon.Value){
				func(v pcommon.Value) { v.SetInt(-42) },
				func(v pcommon.Value) { v.SetDouble(3.14) },
				func(v pcommon.Value) { v.SetDouble(1e21) },
				func(v pcommon.Value) { v.SetDouble(1e-7) },
				func(v pcommon.Value) { v.SetBool(true) },
				func(v pcommon.Value) { v.SetStr("") },
				func(v pcommon.Value) { v.SetEmptyMap() },
			} {
				b.record("", body(set))
			}
			// An empty body is the zero Value.
			lr := b.sl.LogRecords().AppendEmpty()
			lr.SetTimestamp(eventTime)
			return b.ld
		},
	},
	{
		name: "deep_body",
		build: func(t testing.TB) plog.Logs {
			return newLogs(javaResource(), "app").record("", body(func(v pcommon.Value) {
				require.NoError(t, v.SetEmptyMap().FromRaw(nested(maxDepth+3)))
			})).ld
		},
	},
	{
		name: "timestamps",
		build: func(testing.TB) plog.Logs {
			return newLogs(javaResource(), "app").
				record("observed only", func(lr plog.LogRecord) { lr.SetTimestamp(0) }).
				record("no timestamp", func(lr plog.LogRecord) {
					lr.SetTimestamp(0)
					lr.SetObservedTimestamp(0)
				}).
				record("epoch", func(lr plog.LogRecord) { lr.SetTimestamp(1) }).ld
		},
	},
	{
		name: "core_key_collisions",
		build: func(testing.TB) plog.Logs {
			res := javaResource()
			res["appName"] = "resource-app"
			res["logType"] = "x"
			res["dtTime"] = 1
			return newLogs(res, "app").record("collisions", traced, attrs(map[string]any{
				"appName": "evil", "env": "evil", "appNameWithEnv": "evil", "serverName": "evil",
				"dtTime": "evil", "seq": 1, "dateTime": "evil", "logLevel": "evil", "content": "evil",
				"className": "evil", "method": "evil", "threadName": "evil", "traceId": "evil",
				"spanId": "evil", "logType": "evil", "kept": "yes",
			})).ld
		},
	},
	{
		name: "shadowing",
		cfg:  Config{Fields: keepAll()},
		build: func(testing.TB) plog.Logs {
			res := javaResource()
			res["region"] = "eu-west-1"
			res["tier"] = "gold"
			return newLogs(res, "app").
				record("record wins", attrs(map[string]any{"region": "us-east-1", "service.version": 2})).
				record("resource only").ld
		},
	},
	{
		name: "record_overrides_resource_fields",
		build: func(testing.TB) plog.Logs {
			return newLogs(javaResource(), "app").
				record("record service", attrs(map[string]any{"service.name": "batch-job", "host.ip": "10.9.9.9"})).
				record("resource service").ld
		},
	},
	{
		name: "config_fallbacks",
		cfg:  Config{AppName: "configured-app", Env: "staging", ServerName: "192.168.1.10"},
		build: func(testing.TB) plog.Logs {
			return newLogs(map[string]any{"telemetry.sdk.language": "go", "service.name": ""}, "main").
				record("fallbacks").ld
		},
	},
	{
		name: "defaults_without_config",
		build: func(testing.TB) plog.Logs {
			return newLogs(map[string]any{}, "").record("nothing configured").ld
		},
	},
	{
		name: "legacy_environment_and_host_ip_slice",
		build: func(testing.TB) plog.Logs {
			return newLogs(map[string]any{
				"service.name":           "legacy",
				"deployment.environment": "qa",
				"host.name":              "node-2",
				"host.ip":                []any{"10.0.0.12", "fe80::1"},
			}, "app").record("legacy names").ld
		},
	},
	{
		name: "custom_mapping",
		cfg: Config{Mapping: Mapping{
			AppName:    []string{"app"},
			Env:        []string{"stage", "deployment.environment.name"},
			ServerName: []string{"pod.ip"},
			ClassName:  []string{"logger"},
			Method:     []string{"func"},
			ThreadName: []string{"tid"},
			Stacktrace: []string{"stack"},
		}},
		build: func(testing.TB) plog.Logs {
			return newLogs(map[string]any{
				"app": "custom-app", "deployment.environment.name": "prod", "pod.ip": "10.1.2.3",
				"service.name": "not-used",
			}, "scope").record("custom", attrs(map[string]any{
				"stage": "canary", "logger": "pkg.Handler", "func": "Serve", "tid": 7,
				"stack": "goroutine 7 [running]", "thread.name": "kept as extension",
			}), severity(plog.SeverityNumberWarn, "WARN")).ld
		},
	},
	{
		name: "code_function_name",
		build: func(testing.TB) plog.Logs {
			return newLogs(javaResource(), "com.example.Logger").
				record("qualified", attrs(map[string]any{"code.function.name": "com.example.OrderService.create", "thread.name": "main"})).
				record("qualified with namespace", attrs(map[string]any{"code.namespace": "com.example.OrderService", "code.function.name": "com.example.OrderService.create"})).
				record("go function", attrs(map[string]any{"code.function.name": "github.com/acme/svc/api.(*Server).Handle"})).
				record("unqualified", attrs(map[string]any{"code.function.name": "handle"})).
				record("thread only", attrs(map[string]any{"thread.name": "worker-3"})).
				record("nothing").ld
		},
	},
	{
		name: "invalid_utf8_and_control_chars",
		build: func(testing.TB) plog.Logs {
			return newLogs(map[string]any{"service.name": "bad\xffname", "deployment.environment.name": "e\nv"}, "sc\x00ope").
				record("line1\nline2\r\ttab \"quoted\" back\\slash \x00\x01\x1f\x7f bad\xff\xfe \u2028\u2029 ok é 世界 \U0001F600 trunc\xe4\xb8",
					attrs(map[string]any{
						"k\xffey":     "v\xffal",
						"ctrl\nkey":   "ctrl\tvalue",
						"thread.name": "t\u2028",
					})).ld
		},
	},
	{
		name: "truncation",
		cfg:  Config{MaxContentBytes: 10},
		build: func(testing.TB) plog.Logs {
			return newLogs(javaResource(), "app").
				record("12345678€€€"). // the cut at 10 lands inside the first €
				record("short").
				record("exactly10!").
				record("abc", attrs(map[string]any{"exception.stacktrace": "0123456789"})).   // cut in the stack trace
				record("abcdefghi", attrs(map[string]any{"exception.stacktrace": "trace"})).  // the newline is the last byte kept
				record("abcdefghij", attrs(map[string]any{"exception.stacktrace": "trace"})). // the cut drops the newline
				record("", body(func(v pcommon.Value) { v.SetEmptyMap().PutStr("key", "a long value") })).ld
		},
	},
	{
		name: "duplicate_attribute_keys",
		cfg:  Config{Fields: keepAll()},
		build: func(t testing.TB) plog.Logs {
			ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs([]byte(`{"resourceLogs":[{
				"resource":{"attributes":[
					{"key":"service.name","value":{"stringValue":"first"}},
					{"key":"service.name","value":{"stringValue":"second"}},
					{"key":"zone","value":{"stringValue":"a"}},
					{"key":"zone","value":{"stringValue":"b"}}]},
				"scopeLogs":[{"scope":{"name":"dup"},"logRecords":[{
					"timeUnixNano":"1718873445123000000",
					"body":{"stringValue":"duplicates"},
					"attributes":[
						{"key":"user","value":{"stringValue":"u1"}},
						{"key":"user","value":{"stringValue":"u2"}},
						{"key":"thread.name","value":{"stringValue":"t1"}},
						{"key":"thread.name","value":{"stringValue":"t2"}}]}]}]}]}`))
			require.NoError(t, err)
			return ld
		},
	},
	{
		name: "extension_value_types",
		build: func(testing.TB) plog.Logs {
			return newLogs(javaResource(), "app").record("types", attrs(map[string]any{
				"a.int": 7, "a.double": 2.5, "a.bool": false, "a.bytes": []byte("xyz"),
				"a.map": map[string]any{"k": "v"}, "a.slice": []any{1, "two"}, "a.empty": nil,
			})).ld
		},
	},
}

func TestGolden(t *testing.T) {
	for _, tt := range goldenCases {
		t.Run(tt.name, func(t *testing.T) { checkGolden(t, tt.name, tt.cfg, tt.build(t)) })
	}
}

// checkGolden encodes ld and compares the messages, one per line, with
// testdata/<name>.golden.json. It returns the decoded messages.
func checkGolden(t *testing.T, name string, cfg Config, ld plog.Logs) []map[string]any {
	t.Helper()
	msgs := newTestEncoder(cfg).EncodeLogs(ld)
	require.Len(t, msgs, ld.LogRecordCount())
	var got bytes.Buffer
	decoded := make([]map[string]any, len(msgs))
	for i, msg := range msgs {
		decoded[i] = checkMessage(t, msg)
		got.Write(msg)
		got.WriteByte('\n')
	}
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		require.NoError(t, os.WriteFile(path, got.Bytes(), 0o600))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create the golden file")
	assert.Equal(t, string(want), got.String())
	return decoded
}

func TestAppendRecordMatchesEncodeLogs(t *testing.T) {
	b := newLogs(javaResource(), "com.example.OrderService")
	for i := range 5 {
		b.record(strings.Repeat("x", i*40), attrs(javaAttrs()), traced)
	}
	rl := b.ld.ResourceLogs().At(0)
	rl.Resource().Attributes().PutStr("region", "eu")
	b.sl.LogRecords().At(2).Attributes().PutStr("region", "us")

	want := newTestEncoder(Config{}).EncodeLogs(b.ld)
	e := newTestEncoder(Config{})
	for i, msg := range want {
		got := e.AppendRecord([]byte("prefix"), rl.Resource(), b.sl.Scope(), b.sl.LogRecords().At(i))
		assert.Equal(t, "prefix"+string(msg), string(got))
	}
}

// TestPlanFollowsChangingKeys checks that a record whose keys differ from the record before, in
// order, number or kind (mapped, extension field, folded, dropped), is encoded as if alone, also
// after so many distinct keys that the plan starts again within one call.
func TestPlanFollowsChangingKeys(t *testing.T) {
	shapes := [][]string{
		{"http.route", "user.id", "thread.name"},
		{"user.id", "http.route", "thread.name"},
		{"http.route", "code.function", "user.id", "extra"},
		{"http.route"},
		{"thread.name", "http.route", "user.id", "content", "_private", "telemetry.sdk.name"},
		{},
		{"http.route", "user.id", "thread.name"},
	}
	b := newLogs(javaResource(), "com.example.OrderService")
	for i := range 400 {
		keys := shapes[i%len(shapes)]
		if i >= 200 {
			keys = []string{"id." + strconv.Itoa(i) + strings.Repeat("k", 80), "http.route"}
		}
		b.record("message "+strconv.Itoa(i), func(lr plog.LogRecord) {
			for j, k := range keys {
				lr.Attributes().PutStr(k, "v"+strconv.Itoa(j))
			}
		}, traced)
	}
	fields := DefaultFields()
	fields.MaxFields = 4
	cfg := Config{Fields: &fields}
	rl := b.ld.ResourceLogs().At(0)
	want := make([]string, b.sl.LogRecords().Len())
	for i := range want {
		// A new encoder per record: its first record has no plan to reuse.
		want[i] = string(newTestEncoder(cfg).AppendRecord(nil, rl.Resource(), b.sl.Scope(), b.sl.LogRecords().At(i)))
	}
	got := newTestEncoder(cfg).EncodeLogs(b.ld)
	require.Len(t, got, len(want))
	for i := range want {
		// The seq differs: each encoder above numbered its one record 1.
		assert.Equal(t, want[i], strings.Replace(string(got[i]), `"seq":`+strconv.Itoa(i+1)+",", `"seq":1,`, 1), "record %d", i)
	}
}

// TestCleanShapesAcrossResources encodes records whose keys repeat from record to record, so
// that most skip the checks of their extension fields, under resources that change in between:
// one whose service_version a record attribute replaces, one without it, and records that fill
// max_fields, repeat a field or fold. Each message must equal its record encoded alone.
func TestCleanShapesAcrossResources(t *testing.T) {
	shapes := [][]string{
		{"http.route", "user.id"},
		{"http.route", "user.id"},
		{"http.route", "service.version"}, // replaces the resource's field, where it has one
		{"http.route", "service.version"}, // the same keys: clean only under the resource without it
		{"user.id", "user_id"},            // one field twice: the second is folded
		{"user.id", "user_id"},            //
		{"a", "b", "c", "d", "e"},         // past max_fields
		{"a", "b", "c", "d", "e"},         //
		{"http.route", "user.id"},         //
	}
	resources := []map[string]any{javaResource(), {"service.name": "billing", "k8s.pod.name": "billing-1"}, javaResource()}
	ld := plog.NewLogs()
	for r, res := range resources {
		rl := ld.ResourceLogs().AppendEmpty()
		putSorted(rl.Resource().Attributes(), res)
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName("com.example.OrderService")
		// Each resource starts and ends with the keys that replace service_version, so that a
		// shape found clean under one resource meets the next resource at once.
		keys := [][]string{shapes[2], shapes[2]}
		for i := range 3 * len(shapes) {
			keys = append(keys, shapes[(i+r)%len(shapes)])
		}
		keys = append(keys, shapes[2], shapes[2])
		for i, ks := range keys {
			lr := sl.LogRecords().AppendEmpty()
			lr.SetTimestamp(eventTime)
			lr.Body().SetStr(fmt.Sprintf("resource %d record %d", r, i))
			for j, k := range ks {
				lr.Attributes().PutStr(k, "v"+strconv.Itoa(j))
			}
		}
	}
	fields := DefaultFields()
	fields.MaxFields = 4
	cfg := Config{Fields: &fields}
	var want []string
	for _, rl := range ld.ResourceLogs().All() {
		sl := rl.ScopeLogs().At(0)
		for _, lr := range sl.LogRecords().All() {
			want = append(want, string(newTestEncoder(cfg).AppendRecord(nil, rl.Resource(), sl.Scope(), lr)))
		}
	}
	got := newTestEncoder(cfg).EncodeLogs(ld)
	require.Len(t, got, len(want))
	for i := range want {
		assert.Equal(t, want[i], strings.Replace(string(got[i]), `"seq":`+strconv.Itoa(i+1)+",", `"seq":1,`, 1), "message %d", i)
	}
}

func TestEncodeLogsSharesOneArray(t *testing.T) {
	b := newLogs(javaResource(), "app")
	for range 50 {
		b.record(strings.Repeat("y", 300), attrs(javaAttrs()), traced)
	}
	e := newTestEncoder(Config{})
	e.recordSize.Store(16) // force the buffer to grow while encoding
	msgs := e.EncodeLogs(b.ld)
	require.Len(t, msgs, 50)
	for i, msg := range msgs {
		checkMessage(t, msg)
		require.Equal(t, len(msg), cap(msg), "message %d must end its capacity", i)
		if i > 0 {
			prev := msgs[i-1]
			end := unsafe.Add(unsafe.Pointer(unsafe.SliceData(prev)), len(prev))
			require.Equal(t, end, unsafe.Pointer(unsafe.SliceData(msg)), "messages %d and %d must be adjacent", i-1, i)
		}
	}
	// A message appended to by the caller must not overwrite its neighbour.
	first := string(msgs[1])
	_ = append(msgs[0], "garbage"...)
	assert.Equal(t, first, string(msgs[1]))

	if raceEnabled {
		return
	}
	// The next call sizes its buffer from this one and no longer grows it.
	allocs := testing.AllocsPerRun(20, func() { e.EncodeLogs(b.ld) })
	assert.LessOrEqual(t, allocs, 2.0)
}

// TestEncodeLogsAfterHugeRecord checks that one call of huge records does not make the next
// call of many small ones allocate in proportion to the huge ones.
func TestEncodeLogsAfterHugeRecord(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector inflates allocations")
	}
	e := newTestEncoder(Config{})
	e.EncodeLogs(newLogs(javaResource(), "app").record(strings.Repeat("h", 1<<20)).ld)
	require.Greater(t, e.recordSize.Load(), int64(maxRecordEstimate))

	small := newLogs(javaResource(), "app")
	for range 200 {
		small.record("small")
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	msgs := e.EncodeLogs(small.ld)
	runtime.ReadMemStats(&after)
	require.Len(t, msgs, 200)
	allocated := after.TotalAlloc - before.TotalAlloc
	// The estimate (capped) with its eighth of room, rounded up by at most half to a pooled
	// size, then the buffer of the right size it is copied into.
	assert.Less(t, allocated, uint64(200*maxRecordEstimate*9/8*3/2+200*300*3/2+200*24+4096))
}

func TestAppendRecordAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	b := newLogs(javaResource(), "app").record("allocation free", attrs(javaAttrs()), traced)
	res := b.ld.ResourceLogs().At(0).Resource()
	lr := b.sl.LogRecords().At(0)
	e := newTestEncoder(Config{})
	buf := e.AppendRecord(nil, res, b.sl.Scope(), lr)
	assert.Zero(t, testing.AllocsPerRun(100, func() { buf = e.AppendRecord(buf[:0], res, b.sl.Scope(), lr) }))
}

func TestEncodeLogsEmpty(t *testing.T) {
	assert.Nil(t, newTestEncoder(Config{}).EncodeLogs(plog.NewLogs()))
}

func TestEncodeLogsMultipleResources(t *testing.T) {
	ld := plog.NewLogs()
	for i, svc := range []string{"svc-a", "svc-b", "svc-c"} {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", svc)
		rl.Resource().Attributes().PutInt("only."+svc, int64(i))
		for _, scope := range []string{"s1", "s2"} {
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName(scope)
			sl.LogRecords().AppendEmpty().Body().SetStr(svc + "/" + scope)
		}
	}
	msgs := newTestEncoder(Config{Fields: keepAll()}).EncodeLogs(ld)
	require.Len(t, msgs, 6)
	for i, msg := range msgs {
		m := checkMessage(t, msg)
		svc := []string{"svc-a", "svc-b", "svc-c"}[i/2]
		scope := []string{"s1", "s2"}[i%2]
		assert.Equal(t, svc, m["appName"])
		assert.Equal(t, svc+"/"+scope, m["content"])
		assert.Equal(t, scope, m["className"])
		assert.Equal(t, 1, countPrefix(m, "only_"), "resource fields must not leak across resources")
		assert.Equal(t, json.Number(strconv.Itoa(i+1)), m["seq"])
	}
}

func countPrefix(m map[string]any, prefix string) int {
	n := 0
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

// TestManyAttributes crosses linearKeys, where key sets switch to a map.
func TestManyAttributes(t *testing.T) {
	res := javaResource()
	rec := map[string]any{}
	for i := range 3 * linearKeys {
		res["res."+string(rune('a'+i%26))+string(rune('a'+i/26))] = i
		rec["rec."+string(rune('a'+i%26))+string(rune('a'+i/26))] = i
	}
	rec["res.aa"] = "shadowed"
	rec["res_ab"] = "shadowed" // the same field key as res.ab
	b := newLogs(res, "app").record("many", attrs(rec)).record("resource only")
	msgs := newTestEncoder(Config{Fields: keepAll()}).EncodeLogs(b.ld)
	first := checkMessage(t, msgs[0])
	second := checkMessage(t, msgs[1])
	assert.Equal(t, "shadowed", first["res_aa"])
	assert.Equal(t, "shadowed", first["res_ab"])
	assert.Equal(t, "2", first["res_ca"])
	assert.Equal(t, "0", second["res_aa"])
	assert.Equal(t, 3*linearKeys, countPrefix(first, "res_"))
	assert.Equal(t, 3*linearKeys, countPrefix(first, "rec_"))
	assert.Equal(t, 3*linearKeys, countPrefix(second, "res_"))
	assert.NotContains(t, first, "attributes", "a record field replaces a resource field, nothing is folded")
}

func TestMappingLists(t *testing.T) {
	b := newLogs(map[string]any{"service.name": "from-attribute"}, "app").record("x")
	t.Run("nil list means default", func(t *testing.T) {
		m := checkMessage(t, newTestEncoder(Config{AppName: "cfg"}).EncodeLogs(b.ld)[0])
		assert.Equal(t, "from-attribute", m["appName"])
	})
	t.Run("empty list disables the lookup", func(t *testing.T) {
		m := checkMessage(t, newTestEncoder(Config{AppName: "cfg", Mapping: Mapping{AppName: []string{}}, Fields: keepAll()}).EncodeLogs(b.ld)[0])
		assert.Equal(t, "cfg", m["appName"])
		assert.Equal(t, "from-attribute", m["service_name"], "an unmapped key is an extension field")
	})
	t.Run("one key for two fields", func(t *testing.T) {
		// The thread takes the slice's first element, the stack trace the whole slice.
		b := newLogs(javaResource(), "app").record("boom", attrs(map[string]any{"where": []any{"main", "at A.run"}}))
		mapping := Mapping{ThreadName: []string{"where"}, Stacktrace: []string{"where"}}
		m := checkMessage(t, newTestEncoder(Config{Mapping: mapping}).EncodeLogs(b.ld)[0])
		assert.Equal(t, "main", m["threadName"])
		assert.Equal(t, `boom`+"\n"+`["main","at A.run"]`, m["content"])
	})
}

func TestLocation(t *testing.T) {
	b := newLogs(javaResource(), "app").record("x")
	for _, tt := range []struct {
		loc  *time.Location
		want string
	}{
		{time.UTC, "2024-06-20 08:50:45.123"},
		{shanghai, "2024-06-20 16:50:45.123"},
		{time.FixedZone("", -7*3600), "2024-06-20 01:50:45.123"},
	} {
		m := checkMessage(t, newTestEncoder(Config{Location: tt.loc}).EncodeLogs(b.ld)[0])
		assert.Equal(t, tt.want, m["dateTime"])
		assert.Equal(t, json.Number("1718873445123"), m["dtTime"])
	}
	// nil is the local zone.
	e := New(Config{})
	m := checkMessage(t, e.EncodeLogs(b.ld)[0])
	assert.Equal(t, eventTime.AsTime().In(time.Local).Format("2006-01-02 15:04:05.000"), m["dateTime"])
}

func TestDateCacheAcrossSeconds(t *testing.T) {
	b := newLogs(javaResource(), "app")
	base := time.Date(2024, 3, 10, 23, 59, 59, 998_000_000, time.UTC)
	times := []time.Time{
		base, base.Add(time.Millisecond), base.Add(2 * time.Millisecond), base.Add(3 * time.Millisecond),
		base.Add(1003 * time.Millisecond), base.Add(time.Microsecond),
		// Within the first second of the epoch dtTime has fewer than four digits.
		time.Unix(0, 7_000_000), time.Unix(0, 999_999_999), time.Unix(1, 5_000_000), time.Unix(0, 1),
	}
	for _, ts := range times {
		b.record("x", func(lr plog.LogRecord) { lr.SetTimestamp(pcommon.NewTimestampFromTime(ts)) })
	}
	for i, msg := range newTestEncoder(Config{Location: time.UTC}).EncodeLogs(b.ld) {
		m := checkMessage(t, msg)
		assert.Equal(t, times[i].UTC().Format("2006-01-02 15:04:05.000"), m["dateTime"], "record %d", i)
		assert.Equal(t, json.Number(strconv.FormatInt(times[i].UnixMilli(), 10)), m["dtTime"], "record %d", i)
	}
}

// TestSeqDigits checks the digits counted up from one seq to the next against strconv, across
// carries and across jumps, as between calls that share a pooled state.
func TestSeqDigits(t *testing.T) {
	var st state
	seqs := []uint64{1, 2, 8, 9, 10, 11, 99, 100, 101, 999, 1000, 7, 8, 19_999, 20_000, math.MaxUint64 - 1, math.MaxUint64, 0, 1}
	for _, seq := range seqs {
		for i := range 3 {
			// The three seqs after seq arrive in order, the next of the list may jump.
			n := seq + uint64(i)
			if n < seq {
				break
			}
			assert.Equal(t, strconv.FormatUint(n, 10), string(st.seqDigits(n)), "after %d", st.seqOf)
		}
	}
}

func TestConcurrentSeqsAreUnique(t *testing.T) {
	b := newLogs(javaResource(), "app")
	for range 20 {
		b.record("concurrent", attrs(javaAttrs()), traced)
	}
	e := newTestEncoder(Config{})
	const goroutines, calls = 8, 50
	seqs := make(chan int64, goroutines*calls*21)
	seqOf := func(msg []byte) int64 {
		n, err := checkMessage(t, msg)["seq"].(json.Number).Int64()
		require.NoError(t, err)
		return n
	}
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range calls {
				// One call's messages get consecutive seqs.
				first := int64(-1)
				for i, msg := range e.EncodeLogs(b.ld) {
					seq := seqOf(msg)
					if first < 0 {
						first = seq
					}
					assert.Equal(t, first+int64(i), seq)
					seqs <- seq
				}
				// The single-record path shares the counter.
				res := b.ld.ResourceLogs().At(0).Resource()
				seqs <- seqOf(e.AppendRecord(nil, res, b.sl.Scope(), b.sl.LogRecords().At(0)))
			}
		})
	}
	wg.Wait()
	close(seqs)
	seen := map[int64]bool{}
	for s := range seqs {
		require.False(t, seen[s], "duplicate seq %d", s)
		seen[s] = true
	}
	require.Len(t, seen, goroutines*calls*21)
	for s := range int64(goroutines * calls * 21) {
		require.True(t, seen[s+1], "missing seq %d", s+1)
	}
}
