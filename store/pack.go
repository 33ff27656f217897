package store

import (
	"encoding/binary"
	"runtime"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// A body of at least packMin bytes is stored compressed with zstd (RFC
// 8878, klauspost/compress) when that saves an eighth of it or more:
//
//	recZstd | uvarint(len(body)) | uvarint(len(frame)) | frame | JSON
//
// A 2 KiB GitHub push shrinks to about 40% of its size, a 7.5 KB one to
// about 25% (the repository's URL templates repeat); a small body does not
// pay for the frame's header and the CPU. Only the body is compressed: the
// JSON part stays readable in place, so that a listing decodes no frame.
const (
	recZstd = 0x03
	packMin = 512
	// packWindow bounds how far back a match may reach, and so the
	// memory of each encoder: bodies are at most a few hundred KiB.
	packWindow = 128 << 10
	// maxPackRatio bounds body length over frame length: a body that
	// compresses better is stored as it is, so that a damaged length
	// prefix can never make a reader allocate more than this many times
	// the bytes it read.
	maxPackRatio = 256
)

// packer is the one encoder every request shares. EncodeAll is safe for
// concurrent use; at most GOMAXPROCS frames are compressed at once (the
// work is CPU-bound: more would only wait). It is made on first use, so a
// daemon that receives only small bodies never allocates its tables.
var packer = sync.OnceValue(func() *zstd.Encoder {
	e, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedFastest), // the others cost 1.3-3x the CPU for 5-10% less
		zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)),
		zstd.WithWindowSize(packWindow),
		zstd.WithLowerEncoderMem(true))
	if err != nil {
		return nil // the options are constants: never; bodies are then stored as they are
	}
	return e
})

// unpacker is the one decoder every reader shares, as packer is.
var unpacker = sync.OnceValue(func() *zstd.Decoder {
	d, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(runtime.GOMAXPROCS(0)),
		zstd.WithDecodeAllCapLimit(true), // never more than the length recorded
		zstd.WithDecoderMaxWindow(packWindow))
	if err != nil {
		return nil
	}
	return d
})

// appendPacked appends body's compressed record prefix to b and reports
// true, or leaves b as it was and reports false when compressing does not
// pay.
func appendPacked(b, body []byte) ([]byte, bool) {
	if len(body) < packMin {
		return b, false
	}
	enc := packer()
	if enc == nil {
		return b, false
	}
	start := len(b)
	b = append(b, recZstd)
	b = binary.AppendUvarint(b, uint64(len(body)))
	// The frame's length goes before it but is known only after: compress
	// past room for the longest prefix, then move the frame down.
	at := len(b) + binary.MaxVarintLen64
	out := enc.EncodeAll(body, append(b, varintRoom[:]...))
	n := len(out) - at
	if n > len(body)-len(body)/8 || n*maxPackRatio < len(body) {
		return out[:start], false
	}
	b = binary.AppendUvarint(out[:len(b)], uint64(n))
	b = append(b, out[at:]...) // overlapping: copy moves it down
	return b, true
}

var varintRoom [binary.MaxVarintLen64]byte

// unpack decompresses a body of n bytes from frame.
func unpack(frame []byte, n uint64) ([]byte, error) {
	dec := unpacker()
	if dec == nil || n > uint64(len(frame))*maxPackRatio {
		return nil, errBadRecord
	}
	body, err := dec.DecodeAll(frame, make([]byte, 0, n))
	if err != nil || uint64(len(body)) != n {
		return nil, errBadRecord
	}
	return body, nil
}
