package store

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// appendEvent must write what encoding/json writes, byte for byte but for
// the order of map keys: decoding both gives the same event.
func TestAppendEventMatchesEncodingJSON(t *testing.T) {
	tricky := "q\"uote \\ back <html> & \n\r\t \x00\x1f \x7f é 日本 \u2028\u2029 \xff\xfe bad"
	events := []*Event{
		{},
		{ID: 1, Source: "github", DeliveryID: "d-1", Event: "push", ReceivedAt: time.Date(2026, 11, 28, 1, 2, 3, 456789, time.UTC),
			Method: "POST", Path: "/hooks/github", RemoteAddr: "203.0.113.5", Headers: map[string]string{"content-type": "application/json", "x-a": tricky},
			Body: []byte(`{"a":1}`), Status: "accepted", Rules: []string{"deploy", tricky}, Jobs: []uint64{2, 3}, Errors: []string{tricky}},
		{ID: 1 << 60, Source: tricky, Query: map[string]string{"k": tricky, tricky: "v"}, Body: []byte{0, 1, 2, 0xff}, Headers: map[string]string{}, Status: "ignored",
			ReceivedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 3600))},
	}
	for i, ev := range events {
		want, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		got := appendEvent(nil, ev)
		var a, b Event
		if err := decodeEvent(got, &a); err != nil {
			t.Fatalf("event %d: appendEvent wrote invalid JSON: %v\n%s", i, err, got)
		}
		if err := json.Unmarshal(want, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("event %d differs:\nappendEvent:   %s\nencoding/json: %s", i, got, want)
		}
		if len(ev.Headers) <= 1 && len(ev.Query) <= 1 && !rawJSON(ev.Body) && string(got) != string(want) {
			t.Fatalf("event %d: bytes differ:\nappendEvent:   %s\nencoding/json: %s", i, got, want)
		}
	}
}

// A body is stored as raw JSON only when decoding gives back the very same
// bytes; anything else stays base64. Both read back exactly.
func TestBodyRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		body []byte
		raw  bool
	}{
		{[]byte(`{"a":1}`), true},
		{[]byte(`{ "a" : [1, 2,  3],` + "\n\t" + `"b":"x\u2028y" }`), true},
		{[]byte("{\"s\":\"\u2028 \u00e9 <&>\"}"), true},
		{[]byte(`"just a string"`), true},
		{[]byte(`12345678901234567890`), true},
		{[]byte(`null`), true},
		{[]byte(`[]`), true},
		{[]byte("{\"a\":1}\n"), false}, // trailing newline: decoding would drop it
		{[]byte(" {\"a\":1}"), false},
		{[]byte(`{"a":1}{"b":2}`), false},
		{[]byte(`{"a":`), false},
		{[]byte("payload=%7B%22a%22%3A1%7D"), false},
		{[]byte{0xff, 0x00, '{'}, false},
		{[]byte{}, false},
		{nil, false},
	} {
		if got := rawJSON(tc.body); got != tc.raw {
			t.Errorf("rawJSON(%q) = %v, want %v", tc.body, got, tc.raw)
		}
		ev := &Event{ID: 7, Source: "s", Body: tc.body, Status: "ignored"}
		var back Event
		if err := decodeEvent(appendEvent(nil, ev), &back); err != nil {
			t.Fatalf("%q: %v", tc.body, err)
		}
		if string(back.Body) != string(tc.body) || (back.Body == nil) != (tc.body == nil) {
			t.Errorf("body %q came back as %q", tc.body, back.Body)
		}
	}
}

func BenchmarkEncodeEvent(b *testing.B) {
	ev := &Event{ID: 123456, Source: "github", DeliveryID: "72d3162e-cc78-11e3-81ab-4c9367dc0958", Event: "push", ReceivedAt: time.Now(),
		Method: "POST", Path: "/hooks/github", RemoteAddr: "140.82.115.12",
		Headers: map[string]string{"content-type": "application/json", "user-agent": "GitHub-Hookshot/044aadd", "x-github-event": "push",
			"x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958", "x-hub-signature-256": "sha256=d57c68ca6f92289e6987922ff26938930f6e66a2d161ef06abdf1859230aa23c"},
		Body: make([]byte, 2048), Status: "ignored"}
	b.Run("appendEvent", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_ = appendEvent(make([]byte, 0, 4096), ev)
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_, _ = json.Marshal(ev)
		}
	})
}

// Any body reads back byte for byte, however it was stored.
func FuzzBodyRoundTrip(f *testing.F) {
	for _, s := range []string{`{"a":1}`, "{\"a\":1}\n", `[1, 2]`, `"x"`, `1e999`, "\xef\xbb\xbf{}", `{"a":"\ud800"}`, ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev := &Event{ID: 1, Body: body}
		var back Event
		if err := decodeEvent(appendEvent(nil, ev), &back); err != nil {
			t.Fatalf("%q: %v", body, err)
		}
		if string(back.Body) != string(body) {
			t.Fatalf("body %q came back as %q", body, back.Body)
		}
	})
}
