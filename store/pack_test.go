package store

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"runtime"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// pushLike is a JSON body of about n bytes with GitHub's repetitive URLs.
func pushLike(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"ref":"refs/heads/main","repository":{`)
	for i := 0; b.Len() < n-2; i++ {
		fmt.Fprintf(&b, `"u%d_url":"https://api.github.com/repos/acme/site/x%d{/sha}",`, i, i)
	}
	b.WriteString(`"n":1}}`)
	return []byte(b.String())
}

// Which bodies are compressed, and every one reads back byte for byte.
func TestPackedBodies(t *testing.T) {
	random := make([]byte, 4096)
	_, _ = rand.Read(random)
	for _, tc := range []struct {
		name   string
		body   []byte
		packed bool
	}{
		{"small", pushLike(300), false}, // below packMin
		{"2 KiB push-like", pushLike(2048), true},
		{"7.5 KB push-like", pushLike(7500), true},
		{"random: saves nothing", random, false},
		{"zeros: too good to trust a length by", make([]byte, 1<<20), false},
		{"a megabyte of JSON", pushLike(1 << 20), true},
	} {
		ev := &Event{ID: 9, Source: "github", Body: tc.body, Status: "ignored", Headers: map[string]string{"a": "b"}}
		rec := appendEvent(nil, ev)
		if got := rec[0] == recS2; got != tc.packed {
			t.Errorf("%s: packed %v, want %v (record of %d bytes for a body of %d)", tc.name, got, tc.packed, len(rec), len(tc.body))
		}
		if tc.packed && len(rec) > len(tc.body)*3/4 {
			t.Errorf("%s: record of %d bytes for a body of %d", tc.name, len(rec), len(tc.body))
		}
		var back Event
		if err := decodeEvent(rec, &back); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !bytes.Equal(back.Body, tc.body) || back.Headers["a"] != "b" || back.ID != 9 {
			t.Errorf("%s: body or fields differ after a round trip", tc.name)
		}
		var h eventHead
		if err := decodeHead(rec, &h); err != nil || h.ID != 9 || h.Source != "github" {
			t.Errorf("%s: decodeHead: %v %+v", tc.name, err, h)
		}
	}
}

// A compressed record that is damaged is an error, never a panic, a huge
// allocation or a wrong body.
func TestDecodeDamagedPacked(t *testing.T) {
	body := pushLike(4096)
	good := appendEvent(nil, &Event{ID: 1, Body: body, Status: "ignored"})
	if good[0] != recS2 {
		t.Fatal("not compressed")
	}
	_, packed, _ := splitRecord(good)
	sum, block := packed[:4], packed[4:]
	n, k := binary.Uvarint(block)
	// record rebuilds good with another checksum or block.
	record := func(sum, block []byte) []byte {
		r := binary.AppendUvarint([]byte{recS2}, uint64(len(block)))
		return append(append(append(r, sum...), block...), "{}"...)
	}
	claims := func(n uint64) []byte { return record(sum, append(binary.AppendUvarint(nil, n), block[k:]...)) }
	at := bytes.Index(good, block)
	flip := bytes.Clone(good)
	flip[at+len(block)/2] ^= 0x55
	for name, rec := range map[string][]byte{
		"truncated block":   good[:at+len(block)/2],
		"no block length":   good[:1],
		"no checksum":       good[:3],
		"flipped byte":      flip,
		"wrong checksum":    record([]byte{1, 2, 3, 4}, block),
		"length too short":  claims(n - 1),
		"length too long":   claims(n + 1),
		"length of 1 EiB":   claims(1 << 60),
		"block length lies": append([]byte{recS2, 0x10, 0xff, 0x01, 0, 0}, block...),
	} {
		var ev Event
		if err := decodeEvent(rec, &ev); err == nil {
			t.Errorf("%s: decodeEvent = nil error, body of %d bytes", name, len(ev.Body))
		}
	}
	// A length the block cannot hold is refused before any allocation.
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_ = decodeEvent(claims(1<<31), new(Event))
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("a record claiming a 2 GiB body made the reader allocate %d bytes", grew)
	}
	if got := claims(n); !bytes.Equal(mustBody(t, got), body) {
		t.Fatal("the rebuilt record does not read: the cases above prove nothing")
	}
}

func mustBody(t *testing.T, rec []byte) []byte {
	var ev Event
	if err := decodeEvent(rec, &ev); err != nil {
		t.Fatal(err)
	}
	return ev.Body
}

// A database written before bodies were compressed still reads, and mixes
// with compressed records: each record says how it is stored.
func TestStoreReadsUncompressedRecords(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	body := pushLike(3000)
	// A record as the previous version wrote it: the body as it arrived.
	old := binary.AppendUvarint([]byte{recBody}, uint64(len(body)))
	old = append(append(old, body...), `{"id":1000,"source":"github","delivery_id":"old","event":"push","received_at":"2026-11-30T10:00:00Z","headers":{},"status":"ignored"}`...)
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bEvents).Put(itob(1000), old) }); err != nil {
		t.Fatal(err)
	}
	id, _ := s.NextEventID()
	if _, err := s.Accept(&Event{ID: id, Source: "github", DeliveryID: "new", Body: body, Status: "ignored"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range []uint64{1000, id} {
		ev, err := s.Event(id)
		if err != nil || !bytes.Equal(ev.Body, body) {
			t.Fatalf("event %d: %v, body of %d bytes", id, err, len(ev.Body))
		}
	}
	list, _, err := s.ListEvents(ListOptions{Limit: 10})
	if err != nil || len(list) != 2 {
		t.Fatalf("listing: %v %+v", err, list)
	}
}
