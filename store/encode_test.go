package store

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// appendEvent's JSON part must hold what encoding/json writes for the
// event without its body, and the record must decode to the same event.
func TestAppendEventMatchesEncodingJSON(t *testing.T) {
	tricky := "q\"uote \\ back <html> & \n\r\t \x00\x1f \x7f é 日本 \u2028\u2029 \xff\xfe bad"
	events := []*Event{
		{},
		{ID: 1, Source: "github", DeliveryID: "d-1", Event: "push", ReceivedAt: time.Date(2026, 11, 28, 1, 2, 3, 456789, time.UTC),
			Method: "POST", Path: "/hooks/github", RemoteAddr: "203.0.113.5", Headers: map[string]string{"content-type": "application/json", "x-a": tricky},
			Body: []byte(`{"a":1}`), Status: "accepted", Rules: []string{"deploy", tricky}, Jobs: []uint64{2, 3}, Errors: []string{tricky},
			Redeliveries: []Redelivery{{At: time.Date(2026, 11, 29, 1, 2, 3, 4, time.UTC), Jobs: []uint64{4}}},
			Answer:       &Answer{Status: 202, Headers: map[string]string{"Content-Type": "text/plain"}, Body: tricky}},
		{ID: 5, Source: "github", DeliveryID: "d-5", Status: "ignored", Kept: &Kept{What: "headers", BodyBytes: 7565, BodySHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}},
		{ID: 6, Source: "github", DeliveryID: "d-6", Status: "ignored", Kept: &Kept{What: tricky}},
		{ID: 1 << 60, Source: tricky, Query: map[string]string{"k": tricky, tricky: "v"}, Body: []byte{0, 1, 2, 0xff}, Headers: map[string]string{}, Status: "ignored",
			ReceivedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 3600))},
	}
	for i, ev := range events {
		want, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		rec := appendEvent(nil, ev)
		var a, b Event
		if err := decodeEvent(rec, &a); err != nil {
			t.Fatalf("event %d: appendEvent wrote a record decodeEvent cannot read: %v\n%q", i, err, rec)
		}
		if err := json.Unmarshal(want, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("event %d differs:\nappendEvent:   %q\nencoding/json: %s", i, rec, want)
		}
		// The JSON part: the same names, values and omissions.
		var got, exp map[string]any
		if err := json.Unmarshal(jsonPart(rec), &got); err != nil {
			t.Fatalf("event %d: JSON part: %v", i, err)
		}
		_ = json.Unmarshal(want, &exp)
		delete(exp, "body")
		if !reflect.DeepEqual(got, exp) {
			t.Fatalf("event %d: JSON part differs:\nappendEvent:   %v\nencoding/json: %v", i, got, exp)
		}
	}
}

// jsonPart skips a record's format byte and body.
func jsonPart(rec []byte) []byte {
	js, _, err := splitRecord(rec)
	if err != nil {
		panic(err)
	}
	return js
}

// Any body reads back byte for byte, and a missing one stays missing.
func TestBodyRoundTrip(t *testing.T) {
	for _, body := range [][]byte{
		[]byte(`{"a":1}`),
		[]byte("{\"a\":1}\n"),
		[]byte(`{"a":1}{"b":2}`),
		[]byte("payload=%7B%22a%22%3A1%7D"),
		{0xff, 0x00, '{'},
		{'{'},
		make([]byte, 1<<16), // a length prefix of three bytes
		{},
		nil,
	} {
		ev := &Event{ID: 7, Source: "s", Body: body, Status: "ignored"}
		var back Event
		if err := decodeEvent(appendEvent(nil, ev), &back); err != nil {
			t.Fatalf("%q: %v", body, err)
		}
		if string(back.Body) != string(body) || (back.Body == nil) != (body == nil) || back.Status != "ignored" {
			t.Errorf("body %q came back as %q (status %q)", body, back.Body, back.Status)
		}
	}
}

// Records written by earlier versions, one JSON object each, still read.
func TestDecodeOlderRecords(t *testing.T) {
	for _, tc := range []struct{ rec, body string }{
		{`{"id":3,"source":"s","body":"eyJhIjoxfQ==","status":"ignored"}`, `{"a":1}`},
		{`{"id":3,"source":"s","body_json":{"a": [1,2]},"status":"ignored"}`, `{"a": [1,2]}`},
		{`{"id":3,"source":"s","body":null,"status":"ignored"}`, ``},
	} {
		var ev Event
		if err := decodeEvent([]byte(tc.rec), &ev); err != nil {
			t.Fatalf("%s: %v", tc.rec, err)
		}
		if string(ev.Body) != tc.body || ev.ID != 3 || ev.Status != "ignored" {
			t.Errorf("%s: got id %d status %q body %q", tc.rec, ev.ID, ev.Status, ev.Body)
		}
	}
}

// A damaged record is an error, never a panic or a wrong body.
func TestDecodeDamagedRecords(t *testing.T) {
	good := appendEvent(nil, &Event{ID: 1, Body: []byte("hello"), Status: "ignored"})
	for _, rec := range [][]byte{nil, {}, {recBody}, {recBody, 0x80}, {recBody, 200, 'a'}, good[:4], good[:len(good)-1], {recNoBody}, {0x07, '{', '}'}} {
		var ev Event
		if err := decodeEvent(rec, &ev); err == nil {
			t.Errorf("decodeEvent(%q) = nil error, body %q", rec, ev.Body)
		}
	}
}

func BenchmarkEncodeEvent(b *testing.B) {
	ev := &Event{ID: 123456, Source: "github", DeliveryID: "72d3162e-cc78-11e3-81ab-4c9367dc0958", Event: "push", ReceivedAt: time.Now(),
		Method: "POST", Path: "/hooks/github", RemoteAddr: "140.82.115.12",
		Headers: map[string]string{"content-type": "application/json", "user-agent": "GitHub-Hookshot/044aadd", "x-github-event": "push",
			"x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958", "x-hub-signature-256": "sha256=d57c68ca6f92289e6987922ff26938930f6e66a2d161ef06abdf1859230aa23c"},
		Body: make([]byte, 7<<10), Status: "ignored"}
	b.Run("appendEvent", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_ = appendEvent(make([]byte, 0, 8<<10), ev)
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

// appendJob writes what encoding/json writes, byte for byte.
func TestAppendJobMatchesEncodingJSON(t *testing.T) {
	tricky := "q\"uote \\ <html> & \n\x00 é \u2028 \xff bad"
	at := time.Date(2026, 11, 28, 1, 2, 3, 456789, time.UTC)
	exit0, exit7 := 0, 7
	jobs := []*Job{
		{},
		{ID: 1, EventID: 2, Rule: "deploy", State: Queued, Created: at, Updated: at},
		{ID: 1 << 62, EventID: 9, Rule: tricky, Lane: "deploy\x00" + tricky, Latest: true, State: Failed, Error: tricky,
			NextAt: at.Add(time.Minute), Created: at, Updated: at.In(time.FixedZone("x", -7*3600)),
			Attempts: []Attempt{
				{N: 1, Start: at, Node: tricky},
				{N: 2, Start: at, End: at.Add(time.Second), Error: tricky, Steps: []Step{
					{Action: 1, Kind: "shell", Start: at, Duration: 1500 * time.Millisecond, Exit: &exit0, Output: tricky},
					{Action: 2, Kind: "http", Start: at, Duration: -1, Status: 503, Error: tricky},
					{Action: 3, Kind: "shell", Start: at, Exit: &exit7},
				}},
			},
			OnFailure: []Step{{Action: 1, Kind: "slack", Start: at, Status: 200}}},
		{ID: 3, EventID: 4, Rule: "deploy", State: Running, Error: "exit 1", Failing: true, Created: at, Updated: at,
			Attempts: []Attempt{{N: 1, Start: at, End: at, Error: "exit 1"}}},
	}
	for i, j := range jobs {
		want, err := json.Marshal(j)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJob(nil, j); string(got) != string(want) {
			t.Errorf("job %d:\nappendJob:     %s\nencoding/json: %s", i, got, want)
		}
	}
}
