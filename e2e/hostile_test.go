package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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

	"github.com/plumelog-otel/otelcol-plumelog/internal/redistest"
)

// coreKeys are Plumelog's own keys; as attribute keys they must never replace or repeat them.
var coreKeys = []string{
	"appName", "env", "appNameWithEnv", "serverName", "dtTime", "seq", "dateTime", "logLevel",
	"content", "className", "method", "threadName", "traceId", "spanId", "logType",
}

const maxContent = 1000

var truncationMarker = regexp.MustCompile(`…\[truncated [1-9][0-9]* bytes\]$`)

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

	lr := records.AppendEmpty()
	lr.Attributes().PutStr("case", "huge body, no timestamps")
	lr.Body().SetStr(strings.Repeat("0123456789", 10_000))

	lr = records.AppendEmpty()
	lr.Attributes().PutStr("case", "deeply nested map")
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

	lr = records.AppendEmpty()
	lr.Attributes().PutStr("case", "core key collisions")
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	for i, k := range coreKeys {
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

	lr = records.AppendEmpty()
	lr.Attributes().PutStr("case", "invalid utf-8")
	lr.Attributes().PutStr("key\xff", "value\xfe\xed\xa0\x80")
	lr.Attributes().PutStr("thread.name", "thread\xff")
	lr.Body().SetStr("body \xc3\x28 \x00 \u2028 \n end")
	lr.SetSeverityText("WARN\xff")

	lr = records.AppendEmpty()
	lr.Attributes().PutStr("case", "severity above range")
	lr.SetSeverityNumber(plog.SeverityNumber(99))
	lr.SetSeverityText("WARNING")
	lr.Body().SetEmptyBytes().FromRaw([]byte{0, 1, 2, 0xff})

	lr = records.AppendEmpty()
	lr.Attributes().PutStr("case", "severity below range")
	lr.SetSeverityNumber(plog.SeverityNumber(-3))
	lr.SetSeverityText("WARNING")
	lr.Body().SetDouble(-0.0)
	return ld
}

// TestHostileInputThroughCollector sends hostile payloads through the built collector as
// OTLP/HTTP protobuf and JSON built with pdata (which can carry invalid UTF-8 and empty
// resources), and with the OTel Go SDK over gRPC. The collector keeps running, and every
// record becomes one element the wire contract accepts.
func TestHostileInputThroughCollector(t *testing.T) {
	srv := redistest.Start(t)
	col := startCollector(t, fmt.Sprintf(`
    endpoint: %s
    max_content_size: %d`, srv.Addr, maxContent))
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

	msgs := checkAll(t, waitForLen(t, srv.Client(), "plume_log_list", want))
	require.Len(t, msgs, want)
	cases := map[string]int{}
	elided := 0
	for _, m := range msgs {
		c, _ := m["case"].(string)
		cases[c]++
		assert.Equal(t, "hostile", m["appName"], "a core key in the attributes never replaces the mapped value")
		content := m["content"].(string)
		switch c {
		case "huge body, no timestamps":
			require.Regexp(t, truncationMarker, content)
			kept := content[:truncationMarker.FindStringIndex(content)[0]]
			assert.LessOrEqual(t, len(kept), maxContent)
			assert.Greater(t, len(kept), maxContent-4, "cut at the last character boundary")
		case "deeply nested map":
			// At most 64 levels are rendered; a deeper value is elided.
			if strings.Contains(content, "leaf") {
				assert.LessOrEqual(t, strings.Count(content, "{"), 64)
			} else {
				assert.Contains(t, content, `"…"`)
				elided++
			}
		case "core key collisions":
			assert.Equal(t, "collisions", content)
			assert.Equal(t, "INFO", m["logLevel"])
		case "invalid utf-8":
			assert.Contains(t, content, "\uFFFD")
			assert.Equal(t, "thread\uFFFD", m["threadName"])
			// Each invalid byte of a value becomes one U+FFFD, as Go decodes it; of an
			// extension key, one '_'.
			assert.Equal(t, string([]rune("value\xfe\xed\xa0\x80")), m["key_"])
		case "severity above range":
			assert.Equal(t, "ERROR", m["logLevel"], "numbers above FATAL count as the most severe")
		case "severity below range":
			assert.Equal(t, "WARN", m["logLevel"], "the severity text is the fallback")
		}
	}
	assert.Equal(t, 1, elided, "the 500 levels sent as JSON are cut at 64")
	assert.Equal(t, map[string]int{
		"huge body, no timestamps": 3, "deeply nested map": 3, "core key collisions": 3,
		"invalid utf-8": 2, "severity above range": 2, "severity below range": 2,
	}, cases)

	require.Equal(t, http.StatusOK, mustGet(t, col.Health), "the collector is still healthy")
	assert.EqualValues(t, want, col.scrape(t, "otelcol_plumelog_exporter_records_sent"))
	assert.Zero(t, col.scrape(t, "otelcol_plumelog_exporter_records_dropped"))
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
	for i, k := range coreKeys {
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

// TestInvalidConfigsRejectedAtStart starts the built binary with bad exporter settings. Each
// config is rejected before the collector runs, with a message naming the offending key.
func TestInvalidConfigsRejectedAtStart(t *testing.T) {
	bin := binary(t, "PLUMELOG_COLLECTOR")
	for _, tt := range []struct {
		name, exporter, names string
	}{
		{"endpoint without port", `endpoint: redis.internal`, `"endpoint"`},
		{"several addresses in endpoint", `endpoint: "a:6379,b:6379"`, `"endpoint"`},
		{"endpoint and cluster", "endpoint: 127.0.0.1:1\ncluster:\n  addresses: [127.0.0.1:7000]", `"endpoint" must be empty with "cluster"`},
		{"sentinel without master name", "endpoint: \"\"\nsentinel:\n  addresses: [127.0.0.1:26379]", `"sentinel::master_name"`},
		{"negative db", `db: -1`, `"db"`},
		{"negative read timeout", `read_timeout: -1s`, `"read_timeout"`},
		{"empty key", `key: ""`, `"key"`},
		{"empty app name", `app_name: ""`, `"app_name"`},
		{"unknown time zone", `timezone: Mars/Olympus_Mons`, `"timezone"`},
		{"negative max content size", `max_content_size: -5`, `"max_content_size"`},
		{"zero batch size", `batch_size: 0`, `"batch_size"`},
		{"batch size not a number", `batch_size: lots`, `batch_size`},
		{"flush interval not a duration", `flush_interval: soon`, `flush_interval`},
		{"unknown mode", `mode: turbo`, `"mode"`},
		{"min linger above flush interval", "flush_interval: 1s\nmin_linger: 2s", `"min_linger"`},
		{"zero in flight", `max_in_flight: 0`, `"max_in_flight"`},
		{"negative retries", `max_retries: -1`, `"max_retries"`},
		{"zero initial backoff", "backoff:\n  initial_interval: 0s", `"backoff::initial_interval"`},
		{"jitter above one", "backoff:\n  jitter: 1.5", `"backoff::jitter"`},
		{"buffer below batch size", "batch_size: 100\nbuffer:\n  max_records: 10", `"buffer::max_records"`},
		{"empty mapping key", "mapping:\n  app_name: [\"\"]", `"mapping::app_name"`},
		{"misspelled key", `batch_sise: 10`, `batch_sise`},
		{"queue without consumers", "sending_queue:\n  num_consumers: 0", "`num_consumers`"},
		// The collector's own message when the storage extension is not running.
		{"queue on a missing storage", "sending_queue:\n  storage: file_storage/missing", `"plumelog" exporter: no storage client extension found`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			exporter := indent(tt.exporter, "    ")
			if !strings.Contains(tt.exporter, "endpoint:") {
				exporter = "    endpoint: 127.0.0.1:1\n" + exporter
			}
			config := fmt.Sprintf(`
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: %s
exporters:
  plumelog:
%s
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [plumelog]
`, loopback(t), exporter)
			path := filepath.Join(t.TempDir(), "config.yaml")
			require.NoError(t, os.WriteFile(path, []byte(config), 0o600))

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			out, err := exec.CommandContext(ctx, bin, "--config", path).CombinedOutput()
			require.Error(t, err, "the collector ran with %s:\n%s", tt.exporter, out)
			require.NoError(t, ctx.Err(), "the collector did not exit: %s", out)
			assert.Contains(t, string(out), tt.names)
		})
	}
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
