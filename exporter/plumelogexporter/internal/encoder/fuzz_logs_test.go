package encoder

import (
	"encoding/binary"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
)

// hostileKeys are attribute keys the payload builder prefers: Plumelog's core keys, the keys
// the default mapping reads, and keys that are not plain text.
var hostileKeys = slices.Concat(plumelogtest.CoreKeys, []string{
	"service.name", "deployment.environment.name", "deployment.environment", "host.ip", "host.name",
	"code.namespace", "code.function", "code.function.name", "thread.name", "exception.stacktrace",
	"", "\xff\xfe", "a\x00b", "line\nbreak", "\"quoted\"", "\u2028", "é",
})

// payload reads a byte program. Reads past the end yield zeros, so every input builds
// something.
type payload struct{ data []byte }

func (p *payload) next() byte {
	if len(p.data) == 0 {
		return 0
	}
	b := p.data[0]
	p.data = p.data[1:]
	return b
}

func (p *payload) bytes(n int) []byte {
	n = min(n, len(p.data))
	b := p.data[:n]
	p.data = p.data[n:]
	return b
}

func (p *payload) uint64() uint64 {
	return binary.LittleEndian.Uint64(append(p.bytes(8), make([]byte, 8)...))
}

// key is a hostile key, or raw bytes from the program.
func (p *payload) key() string {
	b := p.next()
	if int(b) < 2*len(hostileKeys) {
		return hostileKeys[int(b)%len(hostileKeys)]
	}
	return string(p.bytes(int(b % 16)))
}

func (p *payload) value(v pcommon.Value) {
	p.data = buildValue(v, p.data, 0)
}

func (p *payload) attributes(m pcommon.Map) {
	for range p.next() % 5 {
		p.value(m.PutEmpty(p.key()))
	}
}

// buildLogs builds resources, scopes and records of every shape from a byte program: empty
// resources and scopes, records without timestamps or with any severity, nested and
// colliding attributes, invalid UTF-8 anywhere.
func buildLogs(data []byte) plog.Logs {
	p := &payload{data: data}
	ld := plog.NewLogs()
	for range p.next() % 4 {
		rl := ld.ResourceLogs().AppendEmpty()
		p.attributes(rl.Resource().Attributes())
		for range p.next() % 4 {
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName(p.key())
			for range p.next() % 5 {
				lr := sl.LogRecords().AppendEmpty()
				flags := p.next()
				if flags&1 != 0 {
					lr.SetTimestamp(pcommon.Timestamp(p.uint64()))
				}
				if flags&2 != 0 {
					lr.SetObservedTimestamp(pcommon.Timestamp(p.uint64()))
				}
				if flags&4 != 0 {
					var id pcommon.TraceID
					copy(id[:], p.bytes(16))
					lr.SetTraceID(id)
				}
				if flags&8 != 0 {
					var id pcommon.SpanID
					copy(id[:], p.bytes(8))
					lr.SetSpanID(id)
				}
				lr.SetSeverityNumber(plog.SeverityNumber(int32(p.uint64())))
				if flags&16 != 0 {
					lr.SetSeverityText(p.key())
				}
				p.value(lr.Body())
				p.attributes(lr.Attributes())
			}
		}
	}
	return ld
}

// deepMap nests a map depth levels deep, far past what the encoder renders.
func deepMap(depth int) map[string]any {
	m := map[string]any{"leaf": "x"}
	for range depth {
		m = map[string]any{"k": m}
	}
	return m
}

// hostileSeed is one payload with every shape the issue names, so that the fuzzer starts
// from all of them.
func hostileSeed() plog.Logs {
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty() // a resource with no scopes
	rl := ld.ResourceLogs().AppendEmpty()
	rl.ScopeLogs().AppendEmpty() // a scope with no records
	rl.Resource().Attributes().PutStr("appName", "resource-collides")
	rl.Resource().Attributes().PutStr("service.name", "svc\xff")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("scope\x00name")

	lr := sl.LogRecords().AppendEmpty() // no timestamps, no severity
	lr.Body().SetStr(strings.Repeat("big body €", 400))

	lr = sl.LogRecords().AppendEmpty()
	_ = lr.Body().SetEmptyMap().FromRaw(deepMap(3 * maxDepth))
	for _, k := range []string{"content", "dtTime", "seq", "logLevel", "traceId", "appNameWithEnv", "\xfe"} {
		lr.Attributes().PutInt(k, 7)
	}
	lr.SetSeverityNumber(plog.SeverityNumberFatal4)
	lr.SetTraceID(pcommon.TraceID{0xff, 1})

	lr = sl.LogRecords().AppendEmpty()
	lr.SetObservedTimestamp(1718873445123456789)
	lr.Body().SetStr("invalid \xc3\x28 utf-8 \xed\xa0\x80 and \u2028 separators")
	lr.Attributes().PutEmptySlice("host.ip").AppendEmpty().SetStr("\xff")
	return ld
}

// FuzzEncodeLogs encodes whole payloads. The fuzz bytes are read twice: as an OTLP protobuf
// payload, which is what a receiver hands the exporter from a hostile client, and as a program
// for buildLogs, which reaches shapes that random protobuf rarely forms. Every record must
// become exactly one message that the wire contract accepts, with consecutive seqs.
func FuzzEncodeLogs(f *testing.F) {
	var m plog.ProtoMarshaler
	for _, ld := range []plog.Logs{hostileSeed(), buildLogs([]byte{3, 2, 1, 9, 3, 7, 0, 4, 'a', 'b', 'c', 'd', 1, 200})} {
		raw, err := m.MarshalLogs(ld)
		require.NoError(f, err)
		f.Add(raw, uint16(0))
		f.Add(raw, uint16(100))
	}
	f.Add([]byte{1, 1, 3, 0x1f, 2, 40, 1, 12, 255, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, uint16(3))
	f.Add([]byte{3, 3, 3, 4, 4, 4, 4, 4, 4}, uint16(1))

	f.Fuzz(func(t *testing.T, data []byte, maxContent uint16) {
		enc := newTestEncoder(Config{AppName: "fuzz", MaxContentBytes: int(maxContent)})
		var u plog.ProtoUnmarshaler
		if ld, err := u.UnmarshalLogs(data); err == nil {
			checkPayload(t, enc, ld)
		}
		checkPayload(t, enc, buildLogs(data))
	})
}

func checkPayload(t *testing.T, enc *Encoder, ld plog.Logs) {
	msgs := enc.EncodeLogs(ld)
	require.Len(t, msgs, ld.LogRecordCount(), "one message per record")
	var prev int64
	for i, msg := range msgs {
		m := checkMessage(t, msg)
		seq, err := m["seq"].(json.Number).Int64()
		require.NoError(t, err)
		if i > 0 {
			require.Equal(t, prev+1, seq, "seqs of one payload are consecutive")
		}
		prev = seq
	}
}
