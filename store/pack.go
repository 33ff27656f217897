package store

import (
	"encoding/binary"
	"hash/crc32"
	"slices"

	"github.com/klauspost/compress/s2"
)

// A body of at least packMin bytes is stored compressed with S2 (Snappy's
// successor, klauspost/compress/s2, its block format) when that saves an
// eighth of it or more:
//
//	recS2 | uvarint(len(block)) | CRC-32C(body) | block | JSON
//
// A 2 KiB GitHub push shrinks to half its size, a 7.5 KB one to a third
// (the repository's URL templates repeat). zstd's fastest level saves
// another 20% of the body but costs 5-7 times the CPU (on the development
// VM, 2 µs against 13 for 2 KiB): every ignored event pays it on intake,
// and bbolt, whose pages hold whole records, stores both pushes in the
// same pages (BenchmarkDiskPerEvent in engine). The block carries no checksum, so the
// record does: a damaged body is an error, never another body. Only the
// body is compressed: the JSON part stays readable in place, so that a
// listing decodes no block. A small body does not pay for the CPU.
const (
	recS2   = 0x03
	packMin = 512
	// maxPackRatio bounds body length over block length: a body that
	// compresses better is stored as it is, so that a damaged length can
	// never make a reader allocate more than this many times what it read.
	maxPackRatio = 256
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendPacked appends body's compressed record prefix to b and reports
// true, or leaves b as it was and reports false when compressing does not
// pay.
func appendPacked(b, body []byte) ([]byte, bool) {
	if len(body) < packMin {
		return b, false
	}
	start := len(b)
	b = append(b, recS2)
	// The block's length goes before it but is known only after: compress
	// past room for the longest prefix, then move the block down.
	at := len(b) + binary.MaxVarintLen64 + 4
	room := s2.MaxEncodedLen(len(body))
	if room < 0 {
		return b[:start], false
	}
	b = slices.Grow(b, at-len(b)+room)
	block := s2.Encode(b[at:at+room], body)
	n := len(block)
	if n > len(body)-len(body)/8 || n*maxPackRatio < len(body) {
		return b[:start], false
	}
	b = binary.AppendUvarint(b, uint64(n))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(body, castagnoli))
	return append(b, block...), true // overlapping: append moves it down
}

// packRoom is the most room a body of n bytes may take while its record is
// written (compressing needs more than the body, briefly).
func packRoom(n int) int {
	if m := s2.MaxEncodedLen(n); n >= packMin && m > 0 {
		return binary.MaxVarintLen64 + 4 + m
	}
	return n
}

// unpack decompresses a body from what its record holds after the block's
// length: the checksum and the block.
func unpack(packed []byte) ([]byte, error) {
	if len(packed) < 4 {
		return nil, errBadRecord
	}
	sum, block := binary.LittleEndian.Uint32(packed), packed[4:]
	n, err := s2.DecodedLen(block)
	if err != nil || n > len(block)*maxPackRatio {
		return nil, errBadRecord
	}
	body, err := s2.Decode(make([]byte, n), block)
	if err != nil || len(body) != n || crc32.Checksum(body, castagnoli) != sum {
		return nil, errBadRecord
	}
	return body, nil
}
