package e2e

import (
	"bytes"
	"context"
	"io"
	"maps"
	"math"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"

	"github.com/plumelog-otel/otelcol-plumelog/internal/otelcoltest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

const maxContent = 1000

var truncationMarker = regexp.MustCompile(`…\[truncated [1-9]\d* bytes\]$`)

// hostileLogs is a payload of everything a hostile or careless client may send: empty
// resources and scopes, records without timestamps, a body far over max_content_size, maps
// nested depth levels deep, attributes named like Plumelog's core keys with values of the
// wrong type, invalid UTF-8 in keys, values, bodies and names, and severities outside the
// OTLP range. Each record says in its "case" attribute what it tests.
func hostileLogs(depth int) plog.Logs {
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.ScopeLogs().AppendEmpty()
	ra := rl.Resource().Attributes()
	ra.PutStr("service.name", "hostile")
	ra.PutStr("res\xffkey", "res\xfevalue")
	ra.PutInt("appName", 42)
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("scope\xc3\x28name")
	records := sl.LogRecords()
	newCase := func(name string) plog.LogRecord {
		lr := records.AppendEmpty()
		lr.Attributes().PutStr("case", name)
		return lr
	}

	newCase("huge body, no timestamps").Body().SetStr(strings.Repeat("0123456789", 10_000))
	nest(newCase("deeply nested map"), depth)
	collide(newCase("core key collisions"))

	lr := newCase("invalid utf-8")
	lr.Attributes().PutStr("key\xff", "value\xfe\xed\xa0\x80")
	lr.Attributes().PutStr("thread.name", "thread\xff")
	lr.Body().SetStr("body \xc3\x28 \x00 \u2028 \n end")
	lr.SetSeverityText("WARN\xff")

	lr = newCase("severity above range")
	lr.SetSeverityNumber(plog.SeverityNumber(99))
	lr.SetSeverityText("WARNING")
	lr.Body().SetEmptyBytes().FromRaw([]byte{0, 1, 2, 0xff})

	lr = newCase("severity below range")
	lr.SetSeverityNumber(plog.SeverityNumber(-3))
	lr.SetSeverityText("WARNING")
	lr.Body().SetDouble(math.Copysign(0, -1))
	return ld
}

// nest gives lr a body map and an attribute nested depth levels deep.
func nest(lr plog.LogRecord, depth int) {
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	m := lr.Body().SetEmptyMap()
	for range depth {
		m = m.PutEmptyMap("k")
	}
	m.PutStr("leaf", "x")
	nested := lr.Attributes().PutEmptyMap("nested.attr")
	for range depth {
		nested = nested.PutEmptySlice("s").AppendEmpty().SetEmptyMap()
	}
}

// collide gives lr an attribute named like each of Plumelog's core keys, of every type.
func collide(lr plog.LogRecord) {
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	for i, k := range plumelogtest.CoreKeys {
		switch i % 3 {
		case 0:
			lr.Attributes().PutInt(k, int64(i))
		case 1:
			lr.Attributes().PutEmptyMap(k).PutStr("x", "y")
		default:
			lr.Attributes().PutStr(k, "collides")
		}
	}
	lr.Body().SetStr("collisions")
}

// TestHostileInputThroughCollector sends hostile payloads through the built collector as
// OTLP/HTTP protobuf and JSON built with pdata (which can carry invalid UTF-8 and empty
// resources), and with the OTel Go SDK over gRPC. The collector keeps running, and every
// record becomes one element the wire contract accepts.
func TestHostileInputThroughCollector(t *testing.T) {
	srv := redistest.Start(t)
	col := startCollector(t, otelcoltest.Settings{"endpoint": srv.Addr, "max_content_size": maxContent})
	post := func(contentType string, body []byte) (int, string) {
		resp, err := http.Post("http://"+col.HTTP+"/v1/logs", contentType, bytes.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		msg, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(msg)
	}

	// The OTLP receiver's protobuf decoder refuses nesting past 100 message levels on its own
	// (each map or list level takes several); JSON has no such limit, so the exporter's own
	// bound (64 levels rendered, the rest elided) is reached through JSON.
	tooDeep, err := plogotlp.NewExportRequestFromLogs(hostileLogs(500)).MarshalProto()
	require.NoError(t, err)
	code, msg := post("application/x-protobuf", tooDeep)
	require.Equal(t, http.StatusBadRequest, code, msg)
	assert.Contains(t, msg, "recursion depth")

	sent := 0
	for _, p := range []struct {
		contentType string
		depth       int
		marshal     func(plogotlp.ExportRequest) ([]byte, error)
	}{
		{"application/x-protobuf", 12, plogotlp.ExportRequest.MarshalProto},
		{"application/json", 500, plogotlp.ExportRequest.MarshalJSON},
	} {
		ld := hostileLogs(p.depth)
		body, err := p.marshal(plogotlp.NewExportRequestFromLogs(ld))
		require.NoError(t, err)
		code, msg := post(p.contentType, body)
		require.Equal(t, http.StatusOK, code, "%s: %s", p.contentType, msg)
		sent += ld.LogRecordCount()
	}
	want := sent + sendHostileWithSDK(t, col.GRPC)

	msgs := plumelogtest.Messages(t, waitForLen(t, srv.Client(), "plume_log_list", want))
	require.Len(t, msgs, want)
	cases := map[string]int{}
	elided := 0
	for _, m := range msgs {
		c, _ := m["case"].(string)
		cases[c]++
		assert.Equal(t, "hostile", m["appName"], "a core key in the attributes never replaces the mapped value")
		if checkHostile(t, c, m) {
			elided++
		}
	}
	assert.Equal(t, 1, elided, "the 500 levels sent as JSON are cut at 64")
	assert.Equal(t, map[string]int{
		"huge body, no timestamps": 3, "deeply nested map": 3, "core key collisions": 3,
		"invalid utf-8": 2, "severity above range": 2, "severity below range": 2,
	}, cases)

	require.Equal(t, http.StatusOK, mustGet(t, col.Health), "the collector is still healthy")
	assert.Equal(t, want, int(col.scrape(t, "otelcol_plumelog_exporter_records_sent")))
	assert.Zero(t, col.scrape(t, "otelcol_plumelog_exporter_records_dropped"))
}

// checkHostile checks the message of one hostile case and reports whether its nesting was
// elided.
func checkHostile(t *testing.T, kase string, m map[string]any) (elided bool) {
	t.Helper()
	content := m["content"].(string)
	switch kase {
	case "huge body, no timestamps":
		require.Regexp(t, truncationMarker, content)
		kept := content[:truncationMarker.FindStringIndex(content)[0]]
		assert.LessOrEqual(t, len(kept), maxContent)
		assert.Greater(t, len(kept), maxContent-4, "cut at the last character boundary")
	case "deeply nested map":
		// At most 64 levels are rendered; a deeper value is elided.
		if !strings.Contains(content, "leaf") {
			assert.Contains(t, content, `"…"`)
			return true
		}
		assert.LessOrEqual(t, strings.Count(content, "{"), 64)
	case "core key collisions":
		assert.Equal(t, "collisions", content)
		assert.Equal(t, "INFO", m["logLevel"])
	case "invalid utf-8":
		assert.Contains(t, content, "\uFFFD")
		assert.Equal(t, "thread\uFFFD", m["threadName"])
		// Each invalid byte of a value becomes one U+FFFD, as Go decodes it; of an extension
		// key, one '_'.
		assert.Equal(t, string([]rune("value\xfe\xed\xa0\x80")), m["key_"])
	case "severity above range":
		assert.Equal(t, "ERROR", m["logLevel"], "numbers above FATAL count as the most severe")
	case "severity below range":
		assert.Equal(t, "WARN", m["logLevel"], "the severity text is the fallback")
	}
	return false
}

// sendHostileWithSDK sends what the OTel Go SDK can express of the hostile payload (it cannot
// marshal invalid UTF-8 or empty resources) and returns the number of records.
func sendHostileWithSDK(t *testing.T, endpoint string) int {
	t.Helper()
	c := newSDKClient(t, endpoint, false)
	var records []otellog.Record
	emit := func(kase string, body attribute.Value, ts bool, attrs ...attribute.KeyValue) {
		var r otellog.Record
		if ts {
			r.SetTimestamp(time.Now())
		}
		r.SetBody(body)
		r.AddAttributes(append(attrs, attribute.String("case", kase), attribute.String("service.name", "hostile"))...)
		records = append(records, r)
	}
	emit("huge body, no timestamps", attribute.StringValue(strings.Repeat("€", 5_000)), false)
	deep := attribute.MapValue(attribute.String("leaf", "x"))
	for range 20 {
		deep = attribute.MapValue(attribute.KeyValue{Key: "k", Value: deep})
	}
	emit("deeply nested map", deep, true)
	var collisions []attribute.KeyValue
	for i, k := range plumelogtest.CoreKeys {
		collisions = append(collisions, attribute.Int(k, i))
	}
	emit("core key collisions", attribute.StringValue("collisions"), true, collisions...)
	emitted := c.Emit(records...)
	require.NoError(t, c.Export(context.Background(), emitted))
	return len(emitted)
}

func mustGet(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// invalidConfigs are bad exporter settings, each with what the collector's message must
// name. Each runs with endpoint 127.0.0.1:1 unless it sets an endpoint.
var invalidConfigs = []struct {
	name     string
	exporter otelcoltest.Settings
	names    string
}{
	{"endpoint without port", otelcoltest.Settings{"endpoint": "redis.internal"}, `"endpoint"`},
	{"several addresses in endpoint", otelcoltest.Settings{"endpoint": "a:6379,b:6379"}, `"endpoint"`},
	{"endpoint and cluster", otelcoltest.Settings{"endpoint": "127.0.0.1:1", "cluster::addresses": []string{"127.0.0.1:7000"}}, `"endpoint" must be empty with "cluster"`},
	{"sentinel without master name", otelcoltest.Settings{"endpoint": "", "sentinel::addresses": []string{"127.0.0.1:26379"}}, `"sentinel::master_name"`},
	{"negative db", otelcoltest.Settings{"db": -1}, `"db"`},
	{"negative read timeout", otelcoltest.Settings{"read_timeout": "-1s"}, `"read_timeout"`},
	{"empty key", otelcoltest.Settings{"key": ""}, `"key"`},
	{"empty app name", otelcoltest.Settings{"app_name": ""}, `"app_name"`},
	{"unknown time zone", otelcoltest.Settings{"timezone": "Mars/Olympus_Mons"}, `"timezone"`},
	{"negative max content size", otelcoltest.Settings{"max_content_size": -5}, `"max_content_size"`},
	{"zero batch size", otelcoltest.Settings{"batch_size": 0}, `"batch_size"`},
	{"batch size not a number", otelcoltest.Settings{"batch_size": "lots"}, `batch_size`},
	{"flush interval not a duration", otelcoltest.Settings{"flush_interval": "soon"}, `flush_interval`},
	{"unknown mode", otelcoltest.Settings{"mode": "turbo"}, `"mode"`},
	{"min linger above flush interval", otelcoltest.Settings{"flush_interval": "1s", "min_linger": "2s"}, `"min_linger"`},
	{"zero in flight", otelcoltest.Settings{"max_in_flight": 0}, `"max_in_flight"`},
	{"negative retries", otelcoltest.Settings{"max_retries": -1}, `"max_retries"`},
	{"zero initial backoff", otelcoltest.Settings{"backoff::initial_interval": "0s"}, `"backoff::initial_interval"`},
	{"jitter above one", otelcoltest.Settings{"backoff::jitter": 1.5}, `"backoff::jitter"`},
	{"buffer below batch size", otelcoltest.Settings{"batch_size": 100, "buffer::max_records": 10}, `"buffer::max_records"`},
	{"empty mapping key", otelcoltest.Settings{"mapping::app_name": []string{""}}, `"mapping::app_name"`},
	{"misspelled key", otelcoltest.Settings{"batch_sise": 10}, `batch_sise`},
	{"queue without consumers", otelcoltest.Settings{"sending_queue::num_consumers": 0}, "`num_consumers`"},
	// The collector's own message when the storage extension is not running.
	{"queue on a missing storage", otelcoltest.Settings{"sending_queue::storage": "file_storage/missing"}, `"plumelog" exporter: no storage client extension found`},
}

// TestInvalidConfigsRejectedAtStart starts the built binary with bad exporter settings. Each
// config is rejected before the collector runs, with a message naming the offending key.
func TestInvalidConfigsRejectedAtStart(t *testing.T) {
	bin := binary(t, "PLUMELOG_COLLECTOR")
	for _, tt := range invalidConfigs {
		t.Run(tt.name, func(t *testing.T) {
			exporter := otelcoltest.Settings{"endpoint": "127.0.0.1:1"}
			maps.Copy(exporter, tt.exporter)
			c, err := otelcoltest.Start(bin, t.TempDir(), otelcoltest.Config{Exporter: exporter})
			if err == nil {
				_ = c.Stop()
				t.Fatalf("the collector ran with %v:\n%s", tt.exporter, c.Output())
			}
			assert.Contains(t, err.Error(), tt.names)
		})
	}
}
