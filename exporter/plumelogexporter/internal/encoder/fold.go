package encoder

import "go.opentelemetry.io/collector/pdata/pcommon"

// The fold field holds attributes that get no field of their own as one logfmt line,
// `key=value key2="a b"`, under their original names: readable in Plumelog's UI, searchable as
// text, and one field of the index however many keys it holds. The text is unescaped here;
// it is JSON-escaped when the field is written.

// appendPair appends `key=value` to the fold text dst, after a space unless dst is empty.
func appendPair(dst []byte, k string, v pcommon.Value, scratch *[]byte) []byte {
	if len(dst) > 0 {
		dst = append(dst, ' ')
	}
	dst = appendLogfmt(dst, k)
	dst = append(dst, '=')
	if v.Type() == pcommon.ValueTypeStr {
		return appendLogfmt(dst, v.Str())
	}
	*scratch = appendText((*scratch)[:0], v)
	return appendLogfmt(dst, *scratch)
}

// appendFolded appends the fold text src to dst, after a space unless either is empty.
func appendFolded(dst, src []byte) []byte {
	if len(dst) > 0 && len(src) > 0 {
		dst = append(dst, ' ')
	}
	return append(dst, src...)
}

// appendLogfmt appends s as a logfmt key or value: as it is, or quoted when it is empty or
// holds a space, '=', a quote, a backslash or a control character, so that pairs stay apart.
func appendLogfmt[T string | []byte](dst []byte, s T) []byte {
	if !needsQuotes(s) {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for i := range len(s) {
		switch c := s[i]; c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

func needsQuotes[T string | []byte](s T) bool {
	if len(s) == 0 {
		return true
	}
	for i := range len(s) {
		if c := s[i]; c <= ' ' || c == '=' || c == '"' || c == '\\' || c == 0x7f {
			return true
		}
	}
	return false
}
