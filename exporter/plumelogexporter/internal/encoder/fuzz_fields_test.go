package encoder

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
)

// clashingKeys are attribute keys that would make object/leaf conflicts or keys Elasticsearch
// refuses if written as they are: OTel names next to the plain names they extend, and names
// that are empty, blank, dotted at either end or reserved.
var clashingKeys = []string{
	"error", "error.type", "error_type", "user", "user.id", "user.name", "host", "host.name", "host.arch",
	"service", "service.name", "service.version", "k8s", "k8s.pod", "k8s.pod.name", "a", "a.b", "a.b.c",
	"", " ", ".", "..", ".a", "a.", "a..b", "_id", "_source", "_", "@timestamp", "attributes", "extra",
	"telemetry.sdk.name", "process.pid", "content", "appName", "日志.级别", "\xff.\xfe",
}

// fuzzPatterns are the patterns fuzzed policies choose from.
var fuzzPatterns = []string{"*", "error*", "*.id", "k8s.*", "user", "a.*", "*.*", "telemetry.*", "_*", "service.*.x"}

// fuzzRules builds rules from the program: two bytes per list, one bit per pattern.
func fuzzRules(p *payload) AttributeRules {
	pick := func() []string {
		bits := uint16(p.next()) | uint16(p.next())<<8
		var out []string
		for i, pat := range fuzzPatterns {
			if bits&(1<<i) != 0 {
				out = append(out, pat)
			}
		}
		return out
	}
	return AttributeRules{Allow: pick(), Deny: pick(), Fold: pick()}
}

// clashingAttributes fills the record or resource attributes from the program: mostly
// clashing keys, some raw bytes.
func (p *payload) clashingAttributes(n int) []string {
	keys := make([]string, 0, n)
	for range n {
		b := p.next()
		if int(b) < 3*len(clashingKeys) {
			keys = append(keys, clashingKeys[int(b)%len(clashingKeys)])
		} else {
			keys = append(keys, string(p.bytes(int(b%8))))
		}
	}
	return keys
}

// buildClashingLogs builds several resources of many records whose attribute keys clash.
func buildClashingLogs(p *payload) plog.Logs {
	ld := plog.NewLogs()
	for range p.next()%3 + 1 {
		rl := ld.ResourceLogs().AppendEmpty()
		for _, k := range p.clashingAttributes(int(p.next() % 12)) {
			p.value(rl.Resource().Attributes().PutEmpty(k))
		}
		sl := rl.ScopeLogs().AppendEmpty()
		for range p.next()%16 + 1 {
			lr := sl.LogRecords().AppendEmpty()
			lr.Body().SetStr("x")
			for _, k := range p.clashingAttributes(int(p.next() % 24)) {
				p.value(lr.Attributes().PutEmpty(k))
			}
		}
	}
	return ld
}

// FuzzFieldPolicy encodes several payloads of records with clashing attribute keys under
// fuzzed field policies and checks what the shared daily index would see: the union of the
// keys of every message has no key that is a value in one message and an object in another,
// no key Elasticsearch refuses, and no message more extension keys than max_fields and the
// fold field.
func FuzzFieldPolicy(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 2, 5, 0, 1, 2, 3, 4, 7, 6, 9, 0, 1, 2, 3, 4, 5, 6, 7}, uint8(32), false)
	f.Add([]byte{1, 0, 0, 1, 0, 0, 3, 11, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 15, 20, 22, 23, 24, 25, 26, 27}, uint8(2), true)
	f.Add([]byte{0xff, 0x02, 0x04, 0x81, 0x10, 0x20, 2, 3, 28, 29, 30, 4, 23, 31, 32, 33, 34, 35, 36, 37}, uint8(0), true)
	// Keep everything, two fields per message: most attributes are folded.
	f.Add([]byte{1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 6, 0, 1, 3, 5, 7, 9, 6, 6, 6, 6, 6, 6, 0, 8, 0, 1, 2, 3, 4, 5, 6, 7, 6, 6, 6, 6, 6, 6, 6, 6}, uint8(2), true)
	f.Fuzz(func(t *testing.T, data []byte, maxFields uint8, custom bool) {
		p := &payload{data: data}
		fields := DefaultFields()
		if custom {
			fields = Fields{Record: fuzzRules(p), Resource: fuzzRules(p), MaxFields: int(maxFields), FoldKey: "extra"}
		}
		enc := newTestEncoder(Config{AppName: "fuzz", Fields: &fields})
		var index plumelogtest.IndexKeys
		for range 3 {
			ld := buildClashingLogs(p)
			msgs := enc.EncodeLogs(ld)
			require.Len(t, msgs, ld.LogRecordCount())
			for _, msg := range msgs {
				m := checkMessage(t, msg)
				require.NoError(t, index.Add(m), "%s", msg)
				require.LessOrEqual(t, len(plumelogtest.ExtensionKeys(m)), fields.MaxFields+1, "%s", msg)
				if v, folded := m[fields.FoldKey]; folded {
					require.NotEmpty(t, v, "a fold field is written only with something in it")
				}
			}
		}
	})
}
