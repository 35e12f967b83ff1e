package encoder

import (
	"encoding/base64"
	"math"
	"strconv"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// maxDepth bounds the nesting rendered for map and slice values: pdata accepts arbitrarily deep
// values from the wire, and the rendering recurses.
const maxDepth = 64

// elided stands in for a value nested deeper than maxDepth.
const elided = `"…"`

const hexDigits = "0123456789abcdef"

// hexPairs holds the two lower-case hex digits of every byte value, at twice the value.
var hexPairs = func() (t [512]byte) {
	for i := range 256 {
		t[2*i], t[2*i+1] = hexDigits[i>>4], hexDigits[i&0xf]
	}
	return t
}()

// appendHex appends the lower-case hex digits of id (a trace or span id), as encoding/hex
// does, with a table lookup per byte rather than per digit: the ids are on every message.
func appendHex[ID ~[16]byte | ~[8]byte](dst []byte, id ID) []byte {
	var out [32]byte
	for i := range len(id) {
		p := uint(id[i]) * 2
		out[2*i], out[2*i+1] = hexPairs[p], hexPairs[p+1]
	}
	return append(dst, out[:2*len(id)]...)
}

// safeASCII marks the bytes a JSON string carries verbatim. Non-ASCII bytes are false so that
// the escaper sees them and can validate UTF-8 and escape U+2028/U+2029.
var safeASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString appends s as a quoted JSON string.
func appendString[T string | []byte](dst []byte, s T) []byte {
	dst = append(dst, '"')
	dst = appendEscaped(dst, s)
	return append(dst, '"')
}

// appendEscaped appends s escaped for use inside a JSON string. Invalid UTF-8 bytes become
// U+FFFD and U+2028/U+2029 are escaped, so the result is valid UTF-8 on one line whatever s holds.
func appendEscaped[T string | []byte](dst []byte, s T) []byte {
	start := 0
	for i := 0; i < len(s); {
		if i = skipPlain(s, i); i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			dst = appendEscapedASCII(dst, c)
			i++
			start = i
			continue
		}
		// Two- and three-byte sequences (accented Latin, Cyrillic, CJK) are validated inline:
		// for Chinese text a call per rune would dominate the cost.
		if c >= 0xc2 && c <= 0xdf && i+1 < len(s) && s[i+1]&0xc0 == 0x80 {
			i += 2
			continue
		}
		if c >= 0xe0 && c <= 0xef && i+2 < len(s) && s[i+2]&0xc0 == 0x80 && valid3(c, s[i+1]) &&
			(c != 0xe2 || s[i+1] != 0x80 || s[i+2]&^1 != 0xa8) { // not U+2028/U+2029
			i += 3
			continue
		}
		r, size := decodeRune(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(dst, s[start:]...)
}

// skipPlain returns the index of the first byte of s at or after i that a JSON string cannot
// carry verbatim (or that starts a multi-byte sequence), or len(s). Most text is plain ASCII,
// so it is skipped sixteen bytes at a time, then eight, and a tail of fewer than eight is
// checked with the word that ends s. flags marks bytes with the top bit set, so a word that
// passes holds no multi-byte sequence either.
func skipPlain[T string | []byte](s T, i int) int {
	for i+16 <= len(s) && flags(load64(s[i:i+8]))|flags(load64(s[i+8:i+16])) == 0 {
		i += 16
	}
	for i+8 <= len(s) && flags(load64(s[i:i+8])) == 0 {
		i += 8
	}
	if n := len(s); i < n && i > n-8 && n >= 8 && flags(load64(s[n-8:])) == 0 {
		return n
	}
	for i < len(s) && safeASCII[s[i]] {
		i++
	}
	return i
}

// flags returns the top bit of each byte of the word x that is below 0x20, equals '"' or
// '\\', or has its top bit set, and maybe of bytes above a flagged one: a flag spills into
// higher bytes only from a byte that was flagged itself, so a clean word gives 0.
func flags(x uint64) uint64 {
	q, b := x^('"'*lsb), x^('\\'*lsb)
	return (x | (x - 0x20*lsb) | (q-lsb)&^q | (b-lsb)&^b) & msb
}

// appendEscapedASCII appends the escape of c, an ASCII byte a JSON string cannot carry as it is.
func appendEscapedASCII(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	default:
		return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
	}
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// load64 reads the eight bytes of w as a little-endian word; the compiler merges the byte
// loads into one.
func load64[T string | []byte](w T) uint64 {
	_ = w[7]
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
}

// valid3 reports whether c1 may follow the lead byte c of a three-byte UTF-8 sequence, which
// excludes overlong encodings and UTF-16 surrogates.
func valid3(c, c1 byte) bool {
	lo, hi := byte(0x80), byte(0xbf)
	switch c {
	case 0xe0:
		lo = 0xa0
	case 0xed:
		hi = 0x9f
	}
	return c1 >= lo && c1 <= hi
}

// decodeRune decodes the first rune of s without converting s, which would copy it.
func decodeRune[T string | []byte](s T) (rune, int) {
	if str, ok := any(s).(string); ok {
		return utf8.DecodeRuneInString(str)
	}
	return utf8.DecodeRune(any(s).([]byte))
}

// runeCut returns the largest length <= n at which s can be cut without splitting a UTF-8
// sequence. Bytes that are not valid UTF-8 are cut anywhere: the escaper replaces them anyway.
func runeCut[T string | []byte](s T, n int) int {
	if n >= len(s) {
		return len(s)
	}
	for i := n; i >= 0 && i > n-utf8.UTFMax; i-- {
		if utf8.RuneStart(s[i]) {
			return i
		}
	}
	return n
}

// appendText appends the plain-text form of v, unescaped: strings as they are, numbers and
// booleans as strconv writes them, bytes as standard base64, maps and slices as compact JSON.
func appendText(dst []byte, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return append(dst, v.Str()...)
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(dst, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		return appendFloatText(dst, v.Double())
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(dst, v.Bool())
	case pcommon.ValueTypeBytes:
		return appendBase64(dst, v.Bytes())
	case pcommon.ValueTypeMap, pcommon.ValueTypeSlice:
		return appendJSON(dst, v, 0)
	default:
		return dst
	}
}

// appendStringValue appends v as a JSON string holding its plain-text form: extension fields
// are always strings so that Elasticsearch maps each key with one type across all producers.
func appendStringValue(dst []byte, v pcommon.Value, scratch *[]byte) []byte {
	if s := v.Str(); s != "" {
		return appendString(dst, s)
	}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return appendString(dst, v.Str())
	case pcommon.ValueTypeMap, pcommon.ValueTypeSlice:
		*scratch = appendJSON((*scratch)[:0], v, 0)
		return appendString(dst, *scratch)
	default:
		// Numbers, booleans and base64 never contain a byte that needs escaping.
		dst = append(dst, '"')
		dst = appendText(dst, v)
		return append(dst, '"')
	}
}

// appendJSON appends v as compact JSON, keeping the order of map entries as received.
// depth counts the containers v is nested in.
func appendJSON(dst []byte, v pcommon.Value, depth int) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return appendString(dst, v.Str())
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(dst, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		f := v.Double()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			// JSON has no literal for these; a string keeps the document valid.
			dst = append(dst, '"')
			dst = appendFloatText(dst, f)
			return append(dst, '"')
		}
		return appendFloat(dst, f)
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(dst, v.Bool())
	case pcommon.ValueTypeBytes:
		dst = append(dst, '"')
		dst = appendBase64(dst, v.Bytes())
		return append(dst, '"')
	case pcommon.ValueTypeMap:
		if depth >= maxDepth {
			return append(dst, elided...)
		}
		dst = append(dst, '{')
		first := true
		for k, x := range v.Map().All() {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendString(dst, k)
			dst = append(dst, ':')
			dst = appendJSON(dst, x, depth+1)
		}
		return append(dst, '}')
	case pcommon.ValueTypeSlice:
		if depth >= maxDepth {
			return append(dst, elided...)
		}
		dst = append(dst, '[')
		for i, x := range v.Slice().All() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSON(dst, x, depth+1)
		}
		return append(dst, ']')
	default:
		return append(dst, "null"...)
	}
}

// appendFloatText appends f as text, spelling the values JSON cannot hold the way pdata's
// Value.AsString does.
func appendFloatText(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	}
	return appendFloat(dst, f)
}

// appendFloat appends a finite f the way encoding/json does (ES6 number formatting), so that
// numbers read the same as in other JSON producers.
func appendFloat(dst []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// Shorten e-09 to e-9.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// appendBase64 appends bs in standard base64 with padding. ByteSlice only hands out a copy of
// its bytes, so it is read through a stack buffer instead; the chunk size is a multiple of 3,
// which makes the concatenated chunk encodings equal the encoding of the whole.
func appendBase64(dst []byte, bs pcommon.ByteSlice) []byte {
	var chunk [3 * 64]byte
	n := 0
	for _, b := range bs.All() {
		chunk[n] = b
		n++
		if n == len(chunk) {
			dst = base64.StdEncoding.AppendEncode(dst, chunk[:])
			n = 0
		}
	}
	return base64.StdEncoding.AppendEncode(dst, chunk[:n])
}
