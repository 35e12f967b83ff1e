package envelope

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/encoder"
	"github.com/plumelog-otel/otelcol-plumelog/internal/plumelogtest"
)

// messages encodes one record per body with the exporter's encoder, so that envelopes are
// tested with the messages they will carry.
func messages(bodies ...string) [][]byte {
	at := pcommon.NewTimestampFromTime(time.Date(2024, 6, 20, 8, 50, 45, 0, time.UTC))
	ld := plumelogtest.Logs(0, len(bodies),
		plumelogtest.Scope("com.example.order.OrderService"),
		plumelogtest.Body(func(id int) string { return bodies[id] }),
		plumelogtest.Attributes(func(id int, la pcommon.Map) {
			la.PutStr("thread.name", "http-nio-8080-exec-"+strconv.Itoa(id%10))
			la.PutInt("i", int64(id))
		}),
		plumelogtest.Record(func(_ int, lr plog.LogRecord) { lr.SetTimestamp(at) }),
	)
	return encoder.New(encoder.Config{AppName: "order-svc", ServerName: "10.0.0.12", Location: time.UTC}).EncodeLogs(ld)
}

func repeat(n int, body func(i int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = body(i)
	}
	return out
}

// randomASCII is letters and digits without repeats for LZ4 to find.
func randomASCII(rng *rand.Rand, n int) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.UintN(uint(len(alphabet)))]
	}
	return string(b)
}

// randomText is text without repeats for LZ4 to find: random code points from several scripts.
func randomText(rng *rand.Rand, runes int) string {
	var b strings.Builder
	for range runes {
		switch rng.UintN(4) {
		case 0:
			b.WriteRune(rune(0x21 + rng.UintN(0x5e)))
		case 1:
			b.WriteRune(rune(0x4e00 + rng.UintN(0x5000)))
		case 2:
			b.WriteRune(rune(0x0400 + rng.UintN(0x100)))
		default:
			b.WriteRune(rune(0x1f300 + rng.UintN(0x300)))
		}
	}
	return b.String()
}

// TestPackDecodesWithLiblz4 packs batches of run-log messages and decodes the envelopes with
// liblz4: every envelope decodes to a JSON array of strings, and the strings are exactly the
// messages, in order, each one valid under the wire contract.
func TestPackDecodesWithLiblz4(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	large := repeat(3000, func(i int) string {
		return strings.Repeat("line "+strconv.Itoa(i)+" of a large log payload; ", 36)
	})
	for _, tt := range []struct {
		name    string
		bodies  []string
		maxText int
		// envelopes is the number expected, when it is known.
		envelopes int
		// incompressible: the block must come out larger than the text, stored as literals.
		incompressible bool
		// minBytes is the least size of the messages together.
		minBytes int
	}{
		{name: "one record", bodies: []string{"order 42 created"}, maxText: 1 << 20, envelopes: 1},
		{name: "a batch", bodies: repeat(100, func(i int) string { return "order " + strconv.Itoa(i) + " created" }), maxText: 1 << 20, envelopes: 1},
		{name: "an incompressible body", bodies: []string{randomASCII(rng, 100_000)}, maxText: 1 << 20, envelopes: 1, incompressible: true},
		{name: "random text in many scripts", bodies: repeat(20, func(int) string { return randomText(rng, 2000) }), maxText: 1 << 20, envelopes: 1},
		{name: "multi-byte UTF-8", bodies: []string{
			"订单 42 已创建", "Заказ создан", "emoji 😀🎉 and a flag 🇨🇳", "combining é and U+2028 \u2028 here",
			"quotes \" backslash \\ tab \t newline \n", "日志内容：用户登录成功，耗时 12ms",
		}, maxText: 1 << 20, envelopes: 1},
		{name: "several megabytes in one envelope", bodies: large, maxText: 64 << 20, envelopes: 1, minBytes: 3 << 20},
		{name: "several megabytes split", bodies: large, maxText: 512 << 10, minBytes: 3 << 20},
		{name: "a record larger than the limit travels alone", bodies: []string{"small", strings.Repeat("x", 4096), "small"}, maxText: 1024, envelopes: 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			msgs := messages(tt.bodies...)
			envs := NewPacker(tt.maxText).Pack(msgs)
			if tt.envelopes > 0 {
				require.Len(t, envs, tt.envelopes)
			} else {
				require.Greater(t, len(envs), 1, "the batch is split")
			}
			if tt.incompressible {
				assert.Greater(t, blockSize(t, envs[0]), envelopeLength(t, envs[0]))
			}
			total := 0
			for _, m := range msgs {
				total += len(m)
			}
			require.GreaterOrEqual(t, total, tt.minBytes)
			checkUnpacked(t, msgs, envs, tt.maxText)
		})
	}
}

// checkUnpacked decodes envs with liblz4 and checks that they hold exactly msgs, in order,
// each a valid run-log message, and that every envelope of more than one message stays within
// maxText.
func checkUnpacked(t *testing.T, msgs, envs [][]byte, maxText int) {
	t.Helper()
	var got []string
	for i, d := range plumelogtest.DecodeEnvelopes(t, envs) {
		require.NotEmpty(t, d, "envelope %d holds messages", i)
		if length := envelopeLength(t, envs[i]); len(d) > 1 {
			assert.LessOrEqual(t, length, maxText, "envelope %d stays within the limit", i)
		}
		got = append(got, d...)
	}
	require.Len(t, got, len(msgs), "every record is in exactly one envelope")
	for i, m := range got {
		require.Equal(t, string(msgs[i]), m, "message %d", i)
	}
	plumelogtest.Messages(t, got)
}

// TestPackEdgesDecodeWithLiblz4 sends the block compressor's edge cases through liblz4.
func TestPackEdgesDecodeWithLiblz4(t *testing.T) {
	// Letters and digits keep the inputs' repeats and randomness, and need no escaping.
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var msgs [][]byte
	for _, src := range blockInputs() {
		m := make([]byte, len(src))
		for i, b := range src {
			m[i] = alphabet[int(b)%len(alphabet)]
		}
		msgs = append(msgs, m)
	}
	p := NewPacker(1) // one message per envelope
	envs := p.Pack(msgs)
	require.Len(t, envs, len(msgs))
	for i, d := range plumelogtest.DecodeEnvelopes(t, envs) {
		require.Equal(t, []string{string(msgs[i])}, d)
	}
}

func TestPackSplitsAtTheLimit(t *testing.T) {
	msgs := messages(repeat(300, func(i int) string { return strings.Repeat("z", i) })...)
	for _, limit := range []int{1, 200, 1000, 4096, 65536, 1 << 30} {
		envs := NewPacker(limit).Pack(msgs)
		var got [][]byte
		for i, env := range envs {
			text := decodeEnvelope(t, env)
			var strs []string
			require.NoError(t, json.Unmarshal(text, &strs))
			if len(strs) > 1 {
				assert.LessOrEqual(t, len(text), limit, "limit %d, envelope %d", limit, i)
			}
			if i > 0 && len(strs) == 1 {
				// An envelope of one message exists only when adding it to the previous one
				// would have crossed the limit.
				prev := decodeEnvelope(t, envs[i-1])
				assert.Greater(t, len(prev)+len(text)-1, limit, "limit %d, envelope %d", limit, i)
			}
			for _, s := range strs {
				got = append(got, []byte(s))
			}
		}
		require.Equal(t, msgs, got, "limit %d", limit)
	}
	assert.Nil(t, NewPacker(100).Pack(nil))
}

func TestAppendQuoted(t *testing.T) {
	for _, in := range []string{
		``, `plain`, `{"a":"b\"c"}`, "tab\tnew\nline\r\x00\x1f\x7f", `back\slash`,
		"é中😀", "\u2028\u2029", "\ufffd", "bad \xff\xfe bytes \xc3", "cut rune \xe4\xb8",
	} {
		q := appendQuoted(nil, []byte(in))
		for _, c := range q {
			require.True(t, c >= 0x20 && c < 0x80, "%q has the byte %#x, which is not ASCII or must be escaped in JSON", q, c)
		}
		var got string
		require.NoError(t, json.Unmarshal(q, &got), "%s", q)
		assert.Equal(t, string([]rune(in)), got, "each invalid byte becomes U+FFFD: %s", q)
	}
}

func TestPackIsSafeForConcurrentUse(t *testing.T) {
	p := NewPacker(4096)
	batches := [][][]byte{messages("a", "b"), messages(repeat(50, strconv.Itoa)...), messages("订单")}
	want := make([][][]byte, len(batches))
	for i, b := range batches {
		want[i] = p.Pack(b)
	}
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 50 {
				b := i % len(batches)
				if got := p.Pack(batches[b]); !assert.Equal(t, want[b], got) {
					return
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
}

// envelopeLength returns the length field of env.
func envelopeLength(t *testing.T, env []byte) int {
	t.Helper()
	var e struct {
		Length int `json:"length"`
	}
	require.NoError(t, json.Unmarshal(env, &e))
	return e.Length
}

// blockSize returns the size of the LZ4 block in env.
func blockSize(t *testing.T, env []byte) int {
	t.Helper()
	var e struct {
		Body string `json:"body"`
	}
	require.NoError(t, json.Unmarshal(env, &e))
	block, err := base64.StdEncoding.DecodeString(e.Body)
	require.NoError(t, err)
	return len(block)
}

// decodeEnvelope returns the text of env, decoded in Go with the test's block decoder.
func decodeEnvelope(t *testing.T, env []byte) []byte {
	t.Helper()
	var e struct {
		Length int    `json:"length"`
		Body   string `json:"body"`
	}
	require.NoError(t, json.Unmarshal(env, &e))
	block, err := base64.StdEncoding.DecodeString(e.Body)
	require.NoError(t, err)
	text, err := decodeBlock(block, e.Length)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(text, []byte("[")) && bytes.HasSuffix(text, []byte("]")))
	return text
}
