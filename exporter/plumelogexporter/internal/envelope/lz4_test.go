package envelope

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The LZ4 block format's constants (lz4_Block_format.md of the reference implementation). Its
// two end rules are enforced by lz4-java's fast decompressor, the Plumelog server's: the last
// lastLiterals bytes are literals, and no match starts within the last mfLimit bytes.
const (
	minMatch     = 4
	lastLiterals = 5
	mfLimit      = 12
	maxOffset    = 1<<16 - 1
)

// decodeBlock decompresses an LZ4 block that must yield exactly n bytes, and enforces the end
// rules lz4-java's fast decompressor relies on: no match starts within the last mfLimit bytes,
// and the last lastLiterals bytes are literals.
func decodeBlock(block []byte, n int) ([]byte, error) {
	out := make([]byte, 0, n)
	for i := 0; ; {
		if i >= len(block) {
			return nil, errors.New("block ends without a last sequence")
		}
		tok := block[i]
		i++
		lits := int(tok >> 4)
		if lits == 15 {
			extra, next, err := readLength(block, i)
			if err != nil {
				return nil, err
			}
			lits, i = lits+extra, next
		}
		if i+lits > len(block) {
			return nil, errors.New("truncated literals")
		}
		out = append(out, block[i:i+lits]...)
		i += lits
		if i == len(block) {
			break
		}
		if len(out) > n-mfLimit {
			return nil, fmt.Errorf("a match starts at %d, within the last %d bytes of %d", len(out), mfLimit, n)
		}
		if i+2 > len(block) {
			return nil, errors.New("truncated offset")
		}
		off := int(block[i]) | int(block[i+1])<<8
		i += 2
		if off == 0 || off > len(out) {
			return nil, fmt.Errorf("offset %d at output %d", off, len(out))
		}
		ml := int(tok & 15)
		if ml == 15 {
			extra, next, err := readLength(block, i)
			if err != nil {
				return nil, err
			}
			ml, i = ml+extra, next
		}
		ml += minMatch
		if len(out)+ml > n-lastLiterals {
			return nil, fmt.Errorf("a match ends at %d, within the last %d bytes of %d", len(out)+ml, lastLiterals, n)
		}
		for range ml {
			out = append(out, out[len(out)-off])
		}
	}
	if len(out) != n {
		return nil, fmt.Errorf("decoded %d bytes, want %d", len(out), n)
	}
	return out, nil
}

// readLength reads the bytes that extend a literal or match length from block[i:], up to the
// first that is not 255, and returns their sum and the index after them.
func readLength(block []byte, i int) (int, int, error) {
	total := 0
	for {
		if i >= len(block) {
			return 0, i, errors.New("truncated length")
		}
		b := block[i]
		i++
		total += int(b)
		if b != 255 {
			return total, i, nil
		}
	}
}

// blockInputs are inputs at the edges of the format: around the minimum length for a match,
// literal and match lengths around their 15 and 255 thresholds, offsets at the window's end,
// repeats beyond it, and incompressible bytes.
func blockInputs() map[string][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return b
	}
	in := map[string][]byte{
		"empty":          {},
		"random 100 KiB": random(100 << 10),
		"text":           []byte(strings.Repeat(`{"appName":"order-svc","content":"Order created","seq":12345}`, 500)),
	}
	for n := range 40 {
		in[fmt.Sprintf("run of %d", n)] = bytes.Repeat([]byte("a"), n)
		in[fmt.Sprintf("random %d", n)] = random(n)
	}
	for _, n := range []int{14, 15, 16, 18, 19, 20, 269, 270, 271, 524, 525, 100_000} {
		in[fmt.Sprintf("%d literals then a match", n)] = append(random(n), bytes.Repeat([]byte("xyzw"), 10)...)
		in[fmt.Sprintf("match of %d", n)] = append(append(random(8), bytes.Repeat([]byte("q"), n)...), random(8)...)
	}
	head := random(64)
	for _, gap := range []int{maxOffset - 64 - 1, maxOffset - 64, maxOffset - 64 + 1, maxOffset} {
		in[fmt.Sprintf("repeat %d bytes back", gap+64)] = append(append(append([]byte{}, head...), random(gap)...), head...)
	}
	return in
}

func TestBlockRoundTrip(t *testing.T) {
	var c blockCompressor
	for name, src := range blockInputs() {
		t.Run(name, func(t *testing.T) {
			block := c.appendBlock(nil, src)
			assert.LessOrEqual(t, len(block), compressBound(len(src)))
			got, err := decodeBlock(block, len(src))
			require.NoError(t, err)
			require.True(t, bytes.Equal(src, got), "round trip differs")
		})
	}
}

func TestBlockCompresses(t *testing.T) {
	var c blockCompressor
	text := blockInputs()["text"]
	assert.Less(t, len(c.appendBlock(nil, text)), len(text)/10, "repetitive text shrinks")
	random := blockInputs()["random 100 KiB"]
	assert.Greater(t, len(c.appendBlock(nil, random)), len(random), "random bytes are stored as literals")
}

func FuzzBlock(f *testing.F) {
	for _, src := range blockInputs() {
		if len(src) < 4096 {
			f.Add(src)
		}
	}
	var c blockCompressor
	f.Fuzz(func(t *testing.T, src []byte) {
		block := c.appendBlock(nil, src)
		if len(block) > compressBound(len(src)) {
			t.Fatalf("block of %d bytes exceeds the bound %d", len(block), compressBound(len(src)))
		}
		got, err := decodeBlock(block, len(src))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(src, got) {
			t.Fatal("round trip differs")
		}
	})
}
