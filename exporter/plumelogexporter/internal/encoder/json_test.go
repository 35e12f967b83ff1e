package encoder

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

func TestAppendString(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", `""`},
		{"plain ascii", `"plain ascii"`},
		{`q"b\`, `"q\"b\\"`},
		{"\n\r\t\b\f", `"\n\r\t\b\f"`},
		{"\x00\x01\x1f\x7f", `"\u0000\u0001\u001f` + "\x7f" + `"`},
		{"é世😀", `"é世😀"`},
		{"\u2028\u2029", `"\u2028\u2029"`},
		{"a\xffb", `"a\ufffdb"`},
		{"\xe4\xb8", `"\ufffd\ufffd"`},                     // truncated sequence
		{"\xc0\xaf", `"\ufffd\ufffd"`},                     // overlong encoding
		{"\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`},           // surrogate half
		{"\uFFFD", "\"\uFFFD\""},                           // a real U+FFFD stays as it is
		{"<a&b>", `"<a&b>"`},                               // no HTML escaping
		{"\xf4\x90\x80\x80", `"\ufffd\ufffd\ufffd\ufffd"`}, // above U+10FFFF
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, string(appendString(nil, tt.in)))
			assert.Equal(t, tt.want, string(appendString(nil, []byte(tt.in))))
		})
	}
}

// referenceString is encoding/json's rendering of s, which appendString must match byte for byte.
func referenceString(s string) string {
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// TestAppendStringEveryPosition puts every byte value and some multi-byte sequences at every
// offset of a string long enough for the eight-byte fast path, before, inside and after it.
func TestAppendStringEveryPosition(t *testing.T) {
	var specials []string
	for b := range 256 {
		specials = append(specials, string([]byte{byte(b)}))
	}
	specials = append(specials,
		"é", "世", "😀", "世界", "é世😀", "\u2028", "\u2029", "\u2027", "\u202a", "世\u2028界",
		"\xc2\x80", "\xdf\xbf", "\xc1\xbf", "\xc3", "\xc3(", // two-byte edges, overlong, truncated
		"\xe0\xa0\x80", "\xe0\x9f\xbf", "\xed\x9f\xbf", "\xed\xa0\x80", "\xef\xbf\xbf", // three-byte edges
		"\xe4\xb8", "\xe4\xb8(", "\xe4(\x96", "\xf0\x9f\x98", "\xf4\x90\x80\x80", "\xff\xfe",
	)
	base := strings.Repeat("abcdefgh", 3)
	for _, sp := range specials {
		for pos := 0; pos <= len(base); pos++ {
			in := base[:pos] + sp + base[pos:]
			require.Equal(t, referenceString(in), string(appendString(nil, in)), "%q", in)
			require.Equal(t, referenceString(in), string(appendString(nil, []byte(in))), "%q", in)
		}
	}
}

// TestAppendStringDecodes checks every single byte and a sample of runes against what
// encoding/json decodes.
func TestAppendStringDecodes(t *testing.T) {
	var inputs []string
	for b := range 256 {
		inputs = append(inputs, "x"+string([]byte{byte(b)})+"y")
	}
	for r := rune(0); r < 0x3000; r += 7 {
		inputs = append(inputs, string(r))
	}
	for _, in := range inputs {
		out := appendString(nil, in)
		require.True(t, json.Valid(out), "%q", in)
		require.True(t, utf8.Valid(out), "%q", in)
		var got string
		require.NoError(t, json.Unmarshal(out, &got))
		assert.Equal(t, strings.ToValidUTF8(in, "\uFFFD"), strings.ToValidUTF8(got, "\uFFFD"), "%q", in)
	}
}

func TestAppendStringAllocs(t *testing.T) {
	in := "ascii é 世 😀 \u2028 \xff \xe4\xb8 \n \x00 " + strings.Repeat("x", 100)
	buf := make([]byte, 0, 4*len(in))
	assert.Zero(t, testing.AllocsPerRun(100, func() { buf = appendString(buf[:0], in) }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { buf = appendString(buf[:0], []byte(in)) }))
}

func TestRuneCut(t *testing.T) {
	s := "ab€c" // € is 3 bytes at [2,5)
	for n, want := range map[int]int{0: 0, 1: 1, 2: 2, 3: 2, 4: 2, 5: 5, 6: 6, 99: 6} {
		assert.Equal(t, want, runeCut(s, n), "n=%d", n)
	}
	assert.Equal(t, 0, runeCut("€", 1))
	assert.Equal(t, 2, runeCut("\x80\x80\x80\x80\x80", 2), "no rune start nearby: cut where asked")
}

func TestAppendBase64(t *testing.T) {
	for n := range 700 {
		raw := make([]byte, n)
		for i := range raw {
			raw[i] = byte(i * 7)
		}
		bs := pcommon.NewByteSlice()
		bs.FromRaw(raw)
		assert.Equal(t, base64.StdEncoding.EncodeToString(raw), string(appendBase64(nil, bs)), "n=%d", n)
	}
}

func TestAppendFloatMatchesPdata(t *testing.T) {
	for _, f := range []float64{
		0, math.Copysign(0, -1), 1, -1.5, 0.1, 1e-6, 1e-7, 123456789.125, 1e20, 1e21, 1.5e300,
		math.MaxFloat64, math.SmallestNonzeroFloat64, math.NaN(), math.Inf(1), math.Inf(-1),
	} {
		v := pcommon.NewValueDouble(f)
		assert.Equal(t, v.AsString(), string(appendText(nil, v)), "%v", f)
	}
}

func TestAppendJSON(t *testing.T) {
	v := pcommon.NewValueMap()
	require.NoError(t, v.Map().FromRaw(map[string]any{
		"s": "str\n\"", "i": -3, "d": 2.5, "b": true, "n": nil, "bytes": []byte{1, 2, 3},
		"list": []any{1, "a", []any{}, map[string]any{}}, "m": map[string]any{"k": map[string]any{"x": 1.0}},
	}))
	v.Map().PutDouble("nan", math.NaN())
	v.Map().PutDouble("inf", math.Inf(-1))
	out := appendJSON(nil, v, 0)
	require.True(t, json.Valid(out), "%s", out)
	var got map[string]any
	require.NoError(t, json.Unmarshal(out, &got))
	assert.Equal(t, map[string]any{
		"s": "str\n\"", "i": -3.0, "d": 2.5, "b": true, "n": nil, "bytes": "AQID",
		"list": []any{1.0, "a", []any{}, map[string]any{}}, "m": map[string]any{"k": map[string]any{"x": 1.0}},
		"nan": "NaN", "inf": "-Infinity",
	}, got)
}

func TestAppendJSONKeepsOrder(t *testing.T) {
	v := pcommon.NewValueMap()
	for _, k := range []string{"z", "a", "m"} {
		v.Map().PutStr(k, k)
	}
	//nolint:testifylint // the order of the keys is what is tested, which JSONEq ignores
	assert.Equal(t, `{"z":"z","a":"a","m":"m"}`, string(appendJSON(nil, v, 0)))
}

func TestAppendJSONDepth(t *testing.T) {
	v := pcommon.NewValueSlice()
	inner := v
	for range maxDepth + 10 {
		inner = inner.Slice().AppendEmpty()
		inner.SetEmptySlice()
	}
	out := appendJSON(nil, v, 0)
	require.True(t, json.Valid(out))
	assert.Equal(t, strings.Repeat("[", maxDepth)+elided+strings.Repeat("]", maxDepth), string(out))
}

func TestLevel(t *testing.T) {
	tests := []struct {
		n    plog.SeverityNumber
		text string
		want string
	}{
		{plog.SeverityNumberTrace, "ERROR", "TRACE"},
		{plog.SeverityNumberTrace4, "", "TRACE"},
		{plog.SeverityNumberDebug, "", "DEBUG"},
		{plog.SeverityNumberDebug4, "", "DEBUG"},
		{plog.SeverityNumberInfo, "", "INFO"},
		{plog.SeverityNumberInfo4, "", "INFO"},
		{plog.SeverityNumberWarn, "", "WARN"},
		{plog.SeverityNumberWarn4, "", "WARN"},
		{plog.SeverityNumberError, "", "ERROR"},
		{plog.SeverityNumberError4, "", "ERROR"},
		{plog.SeverityNumberFatal, "", "ERROR"},
		{plog.SeverityNumberFatal4, "", "ERROR"},
		{99, "", "ERROR"},
		{-1, "warn", "WARN"},
		{0, "Warning", "WARN"},
		{0, "WARN", "WARN"},
		{0, "information", "INFO"},
		{0, "NOTICE", "INFO"},
		{0, "err", "ERROR"},
		{0, "Fatal", "ERROR"},
		{0, "critical", "ERROR"},
		{0, "CRIT", "ERROR"},
		{0, "panic", "ERROR"},
		{0, "alert", "ERROR"},
		{0, "emerg", "ERROR"},
		{0, "debug", "DEBUG"},
		{0, "TRACE", "TRACE"},
		{0, "verbose", "INFO"},
		{0, "", "INFO"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, level(tt.n, tt.text), "%d %q", tt.n, tt.text)
	}
}

func TestCodeLocation(t *testing.T) {
	tests := []struct {
		name                         string
		class, method, scope, thread string
		wantClass, wantMethod        string
	}{
		{"namespace and function", "com.x.A", "run", "logger", "main", "com.x.A", "run"},
		{"qualified function", "", "com.x.A.run", "logger", "main", "com.x.A", "run"},
		{"qualified function repeating the namespace", "com.x.A", "com.x.A.run", "logger", "main", "com.x.A", "run"},
		{"qualified function under another namespace", "com.x.B", "com.x.A.run", "logger", "main", "com.x.B", "com.x.A.run"},
		{"namespace prefix without a dot", "com.x.A", "com.x.AB", "logger", "main", "com.x.A", "com.x.AB"},
		{"plain function", "", "run", "logger", "main", "logger", "run"},
		{"thread only", "", "", "logger", "main", "logger", "main"},
		{"nothing", "", "", "", "", "", ""},
		{"trailing dot", "", "com.x.A.", "logger", "main", "com.x.A", "main"},
		{"leading dot", "", ".run", "logger", "main", "logger", "run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			class, method := codeLocation(tt.class, tt.method, tt.scope, tt.thread)
			assert.Equal(t, tt.wantClass, class)
			assert.Equal(t, tt.wantMethod, method)
		})
	}
}

func TestKeySet(t *testing.T) {
	var s keySet
	for round := range 2 {
		s.reset()
		for i := range 3 * linearKeys {
			k := strings.Repeat("k", i+1)
			require.True(t, s.add(k), "round %d key %d", round, i)
			require.False(t, s.add(k))
			require.Equal(t, i, s.find(k))
		}
		for i := range 3 * linearKeys {
			require.Equal(t, i, s.find(strings.Repeat("k", i+1)))
		}
		require.Equal(t, -1, s.find("absent"))
	}
	s.reset()
	assert.Equal(t, -1, s.find("k"), "reset forgets indexed keys")
	assert.True(t, s.add("k"))
}
