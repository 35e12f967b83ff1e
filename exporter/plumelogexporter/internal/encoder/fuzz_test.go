package encoder

import (
	"encoding/binary"
	"math"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// buildValue sets v from a byte program and returns the unread bytes, so that the fuzzer can
// reach nested maps, slices and every scalar type.
func buildValue(v pcommon.Value, data []byte, depth int) []byte {
	if len(data) == 0 || depth > 2*maxDepth {
		v.SetStr("")
		return data
	}
	op, data := data[0], data[1:]
	take := func(n int) []byte {
		n = min(n, len(data))
		b := data[:n]
		data = data[n:]
		return b
	}
	switch op % 7 {
	case 0:
		m := v.SetEmptyMap()
		for range int(op/7)%4 + 1 {
			data = buildValue(m.PutEmpty(string(take(2))), data, depth+1)
		}
	case 1:
		s := v.SetEmptySlice()
		for range int(op/7)%4 + 1 {
			data = buildValue(s.AppendEmpty(), data, depth+1)
		}
	case 2:
		v.SetStr(string(take(int(op / 7))))
	case 3:
		v.SetInt(int64(binary.LittleEndian.Uint32(append(take(4), 0, 0, 0, 0))) - math.MaxInt32)
	case 4:
		v.SetDouble(math.Float64frombits(binary.LittleEndian.Uint64(append(take(8), make([]byte, 8)...))))
	case 5:
		v.SetEmptyBytes().FromRaw(take(int(op / 7)))
	case 6:
		v.SetBool(op&1 == 1)
	}
	return data
}

var truncated = regexp.MustCompile(`…\[truncated [1-9]\d* bytes\]$`)

// fuzzInput is what FuzzEncodeRecord varies: one record under one resource.
type fuzzInput struct {
	body             string
	kind             uint8
	sevNum           int32
	sevText          string
	key1, val1, key2 string
	ival             int64
	tree             []byte
	ts, observed     uint64
	maxContent       uint16
	traced           bool
}

func FuzzEncodeRecord(f *testing.F) {
	f.Add("order created id=42", uint8(0), int32(9), "INFO", "user.id", "alice", "thread.name", int64(7), []byte{0, 2, 'a', 'b'}, uint64(1718873445123456789), uint64(0), uint16(0), true)
	f.Add("line1\nline2\x00\xff\u2028", uint8(0x40), int32(0), "warning", "content", "\xfe", "appName", int64(-1), []byte{1, 3, 4, 0, 0, 0, 0, 0, 0, 248, 127}, uint64(0), uint64(5), uint16(7), false)
	f.Add("€€€€", uint8(0x30), int32(21), "", "code.function.name", "com.x.A.run", "host.ip", int64(1<<40), []byte{14, 0, 0, 0, 0, 0, 0}, uint64(math.MaxUint64), uint64(0), uint16(5), true)
	f.Add("", uint8(5), int32(-3), "FATAL", "", "", "", int64(0), []byte{}, uint64(0), uint64(0), uint16(1), false)
	f.Add("x", uint8(6), int32(100), "bogus", "k\xffey", "v\tal", "service.name", int64(3), []byte{7, 9, 2, 'q', 5, 'r', 6, 13}, uint64(1), uint64(2), uint16(0), true)
	f.Fuzz(func(t *testing.T, body string, kind uint8, sevNum int32, sevText, key1, val1, key2 string,
		ival int64, tree []byte, ts, observed uint64, maxContent uint16, traced bool) {
		in := fuzzInput{body, kind, sevNum, sevText, key1, val1, key2, ival, tree, ts, observed, maxContent, traced}
		ld := in.logs(t)
		require.Equal(t, referenceString(body), string(appendString(nil, body)))

		cfg := Config{AppName: key1, Env: val1, ServerName: key2, MaxContentBytes: int(maxContent)}
		msgs := newTestEncoder(cfg).EncodeLogs(ld)
		require.Len(t, msgs, 1)
		m := checkMessage(t, msgs[0])
		rl := ld.ResourceLogs().At(0)
		sl := rl.ScopeLogs().At(0)
		lr := sl.LogRecords().At(0)
		single := newTestEncoder(cfg).AppendRecord(nil, rl.Resource(), sl.Scope(), lr)
		require.Equal(t, string(msgs[0]), string(single))

		_, recStack := lr.Attributes().Get("exception.stacktrace")
		_, resStack := rl.Resource().Attributes().Get("exception.stacktrace")
		if kind%8 == 0 && !recStack && !resStack && utf8.ValidString(body) {
			checkStringContent(t, body, m["content"].(string), int(maxContent))
		}
	})
}

// logs builds the input's record, whose attributes collide with mapped and core keys as the
// input's kind bits say.
func (in fuzzInput) logs(t *testing.T) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	ra := rl.Resource().Attributes()
	if in.kind&0x10 != 0 {
		ra.PutStr("service.name", in.val1)
	}
	ra.PutInt(in.key2, in.ival)
	require.NoError(t, ra.PutEmptySlice("host.ip").FromRaw([]any{in.val1, in.key1}))
	ra.PutStr("res."+in.key1, in.val1)
	ra.PutStr(in.key1, in.body)

	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(in.key2)
	lr := sl.LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.Timestamp(in.ts))
	lr.SetObservedTimestamp(pcommon.Timestamp(in.observed))
	lr.SetSeverityNumber(plog.SeverityNumber(in.sevNum))
	lr.SetSeverityText(in.sevText)
	if in.traced {
		lr.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, byte(in.ival)})
		lr.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, byte(in.ival)})
	}
	la := lr.Attributes()
	la.PutStr(in.key1, in.val1)
	buildValue(la.PutEmpty(in.key2), in.tree, 0)
	if in.kind&0x20 != 0 {
		la.PutInt("thread.name", in.ival)
	}
	if in.kind&0x40 != 0 {
		la.PutStr("exception.stacktrace", in.val1)
	}
	la.PutStr("code.function.name", in.key1+"."+in.val1)
	la.PutStr("content", in.body)
	in.setBody(lr.Body())
	return ld
}

// setBody gives the record a body of the type the input's kind names.
func (in fuzzInput) setBody(body pcommon.Value) {
	switch in.kind % 8 {
	case 0:
		body.SetStr(in.body)
	case 1:
		body.SetInt(in.ival)
	case 2:
		body.SetDouble(math.Float64frombits(uint64(in.ival)))
	case 3:
		body.SetBool(in.ival&1 == 1)
	case 4:
		body.SetEmptyBytes().FromRaw([]byte(in.body))
	case 5:
		buildValue(body, in.tree, 0)
	case 6:
		buildValue(body.SetEmptySlice().AppendEmpty(), append([]byte(in.body), in.tree...), 0)
	}
}

// checkStringContent checks the content of a valid UTF-8 string body without a stack trace:
// the body, or its longest prefix within maxContent bytes and the truncation marker.
func checkStringContent(t *testing.T, body, content string, maxContent int) {
	t.Helper()
	if maxContent == 0 || len(body) <= maxContent {
		assert.Equal(t, body, content)
		return
	}
	loc := truncated.FindStringIndex(content)
	require.NotNil(t, loc, "content %q lacks the truncation marker", content)
	kept := content[:loc[0]]
	assert.True(t, strings.HasPrefix(body, kept))
	assert.LessOrEqual(t, len(kept), maxContent)
	assert.Greater(t, len(kept), maxContent-utf8.UTFMax)
}
