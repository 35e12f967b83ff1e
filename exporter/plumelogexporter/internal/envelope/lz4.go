package envelope

import "github.com/pierrec/lz4/v4"

// blockCompressor compresses into the raw LZ4 block format (no frame, no size header), which
// lz4-java's fast decompressor on the Plumelog server reads. It is not safe for concurrent use.
type blockCompressor struct {
	c lz4.Compressor
}

// compressBound is the most bytes the block of n bytes takes.
func compressBound(n int) int { return lz4.CompressBlockBound(n) }

// appendBlock appends the LZ4 block of src to dst. The destination always has room for the
// bound: with less, the compressor reports incompressible input by writing nothing at all,
// and an envelope needs a block whatever its text.
func (b *blockCompressor) appendBlock(dst, src []byte) []byte {
	start := len(dst)
	bound := compressBound(len(src))
	if cap(dst)-start < bound {
		grown := make([]byte, start, start+bound)
		copy(grown, dst)
		dst = grown
	}
	n, err := b.c.CompressBlock(src, dst[start:start+bound])
	if err != nil {
		// Unreachable with a destination of the bound's size, which CompressBlock documents
		// as always enough.
		panic("envelope: lz4 block compression failed: " + err.Error())
	}
	return dst[:start+n]
}
