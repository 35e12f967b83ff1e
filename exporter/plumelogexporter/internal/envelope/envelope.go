// Package envelope packs Plumelog run-log messages into the compressed envelopes that a
// Plumelog server reads from its *_compress lists (plumelog.redis.compressor=true).
//
// An envelope is one JSON object, {"length":<n>,"body":"<base64>"}. Its text is a JSON array
// of strings, each string one message's JSON; body is the standard base64, with padding, of
// the text compressed as a raw LZ4 block (no frame, no header); length is the text's size in
// bytes, which the server's decompressor needs exactly. The package knows nothing of pdata or
// Redis: messages come in as opaque JSON texts, envelopes leave as opaque values.
package envelope // import "github.com/plumelog-otel/otelcol-plumelog/exporter/plumelogexporter/internal/envelope"

import (
	"encoding/base64"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// Packer packs batches of messages into envelopes whose text stays within a size limit. It is
// safe for concurrent use.
type Packer struct {
	maxText int
	states  sync.Pool
}

// state is the scratch space of one Pack call.
type state struct {
	text  []byte
	block []byte
	lz    blockCompressor
}

// NewPacker returns a Packer whose envelopes hold at most maxText bytes of text, unless one
// message alone is longer.
func NewPacker(maxText int) *Packer {
	return &Packer{maxText: maxText, states: sync.Pool{New: func() any { return new(state) }}}
}

// Pack returns the envelopes that hold msgs, in order. Messages join an envelope until the
// next one would make its text longer than the limit; a message longer than the limit on its
// own travels alone.
func (p *Packer) Pack(msgs [][]byte) [][]byte {
	if len(msgs) == 0 {
		return nil
	}
	st := p.states.Get().(*state)
	defer p.states.Put(st)

	var out [][]byte
	text := st.text[:0]
	text = append(text, '[')
	n := 0
	for _, m := range msgs {
		mark := len(text)
		if n > 0 {
			text = append(text, ',')
		}
		text = appendQuoted(text, m)
		if n > 0 && len(text)+len("]") > p.maxText {
			out = append(out, st.seal(text[:mark]))
			text = appendQuoted(append(text[:0], '['), m)
			n = 0
		}
		n++
	}
	out = append(out, st.seal(text))
	st.text = text[:0]
	return out
}

// seal closes the array in text and returns its envelope.
func (st *state) seal(text []byte) []byte {
	text = append(text, ']')
	st.block = st.lz.appendBlock(st.block[:0], text)

	const head, mid, tail = `{"length":`, `,"body":"`, `"}`
	out := make([]byte, 0, len(head)+20+len(mid)+base64.StdEncoding.EncodedLen(len(st.block))+len(tail))
	out = append(out, head...)
	out = strconv.AppendInt(out, int64(len(text)), 10)
	out = append(out, mid...)
	out = base64.StdEncoding.AppendEncode(out, st.block)
	return append(out, tail...)
}

const hexDigits = "0123456789abcdef"

// plain marks the bytes a JSON string carries as they are: ASCII from space on, but '"' and
// '\\'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendQuoted appends msg as a JSON string whose text is pure ASCII: everything else is
// escaped as \uXXXX (invalid UTF-8 as U+FFFD). The server turns the decompressed bytes into a
// string with the JVM's default charset (new String(bytes)), which is not UTF-8 on every JVM
// (a container without a locale runs Java 8 to 17 in ASCII); ASCII reads the same in all.
func appendQuoted(dst, msg []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(msg); {
		c := msg[i]
		if plain[c] {
			i++
			continue
		}
		dst = append(dst, msg[start:i]...)
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
			i++
		case c < utf8.RuneSelf:
			dst = appendEscapedRune(dst, rune(c))
			i++
		default:
			r, size := utf8.DecodeRune(msg[i:])
			if r >= 0x10000 {
				hi, lo := utf16.EncodeRune(r)
				dst = appendEscapedRune(appendEscapedRune(dst, hi), lo)
			} else {
				dst = appendEscapedRune(dst, r)
			}
			i += size
		}
		start = i
	}
	dst = append(dst, msg[start:]...)
	return append(dst, '"')
}

func appendEscapedRune(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}
