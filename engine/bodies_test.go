package engine

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hookd/rules"
	"hookd/store"
)

// Deliveries built as their senders build them, through the real server.

const bodyRules = `
sources:
  github:
    verify: {provider: github, secret: "${TEST_SECRET}"}
  stream:   # GetStream-style: X-Signature, hex HMAC-SHA256 of the uncompressed body
    verify: {provider: hmac, secret: "${TEST_SECRET}", header: X-Signature}
  plex:     # Plex signs nothing: a token in the URL the user pastes
    verify: {provider: token, secret: "${TEST_SECRET}", query: token}
  ci:
    verify: {provider: token, secret: "${TEST_SECRET}", header: X-Token}
rules:
  - name: deploy
    source: github
    when: event == "push" && body.ref == "refs/heads/main"
    actions: [{shell: {command: [/bin/sh, -c, 'echo "deploy $1" >> "$OUT"', sh, "{{ body.after }}"], env: {OUT: "$DIR/ran"}}}]
  - name: any-push
    source: github
    when: event == "push"
    retry: {attempts: 1}
    actions: [{shell: {command: ["true", "{{ body.after }}"]}}]
  - name: message
    source: stream
    when: body.type == "message.new"
    actions: [{shell: {command: [/bin/sh, -c, 'echo "stream $1" >> "$OUT"', sh, "{{ body.message.text }}"], env: {OUT: "$DIR/ran"}}}]
  - name: plex-play
    source: plex
    when: body.payload.event == "media.play" && body.thumb.content_type == "image/jpeg"
    actions: [{shell: {command: [/bin/sh, -c, 'echo "plex $1 $2 $3" >> "$OUT"', sh, "{{ body.payload.Metadata.title }}", "{{ body.thumb.filename }}", "{{ body.thumb.size }}"], env: {OUT: "$DIR/ran"}}}]
  - name: ci-failed
    source: ci
    when: body.build["@status"] == "FAILURE" && len(body.build.change) == 2
    actions: [{shell: {command: [/bin/sh, -c, 'echo "ci $1 $2" >> "$OUT"', sh, "{{ body.build.project }}", "{{ body.build.change[1]['@id'] }}"], env: {OUT: "$DIR/ran"}}}]
`

func streamHeaders(signed []byte) http.Header {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(signed)
	return http.Header{"X-Signature": {hex.EncodeToString(m.Sum(nil))}, "Content-Type": {"application/json"}}
}

func TestBodiesAsSendersSendThem(t *testing.T) {
	te := startEngine(t, "", bodyRules, func(c *rules.Config) { c.MaxBody = 64 << 10 })
	msg := []byte(`{"type":"message.new","message":{"text":"hello"}}`)
	msg2 := []byte(`{"type":"message.new","message":{"text":"again"}}`)

	// SharePoint-style: a BOM before the JSON, signed over the bytes sent.
	bomPush := append([]byte("\xef\xbb\xbf"), push("refs/heads/main", "b0m")...)
	// GetStream compresses and signs the uncompressed JSON.
	gz := streamHeaders(msg)
	gz.Set("Content-Encoding", "gzip")
	df := streamHeaders(msg2)
	df.Set("Content-Encoding", "deflate")
	signedCompressed := streamHeaders(compress(t, "gzip", msg))
	signedCompressed.Set("Content-Encoding", "gzip")
	// Plex: multipart/form-data, JSON in "payload", a JPEG in "thumb".
	plexBody, plexType := plexMultipart(t, `{"event":"media.play","user":true,"owner":true,"Metadata":{"title":"Explorers","type":"episode"}}`)
	// An older CI tool's XML.
	xmlBody := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<build number="42" status="FAILURE"><project>web</project><change id="1"/><change id="2"/></build>`)

	for _, tc := range []struct {
		name   string
		path   string
		header http.Header
		body   []byte
		status string
		stored []byte // the event's raw body
	}{
		{"json with a BOM", "/hooks/github", githubHeaders(bomPush, "push", "d-bom"), bomPush, "accepted", bomPush},
		{"gzip, signed uncompressed", "/hooks/stream", gz, compress(t, "gzip", msg), "accepted", msg},
		{"deflate (zlib)", "/hooks/stream", df, compress(t, "zlib", msg2), "accepted", msg2},
		{"gzip, signed over the compressed bytes", "/hooks/stream", signedCompressed, compress(t, "gzip", msg), "", nil},
		{"plex multipart", "/hooks/plex?token=" + secret, http.Header{"Content-Type": {plexType}, "User-Agent": {"PlexMediaServer/1.40.0.7998"}}, plexBody, "accepted", plexBody},
		{"xml", "/hooks/ci", http.Header{"Content-Type": {"text/xml; charset=UTF-8"}, "X-Token": {secret}}, xmlBody, "accepted", xmlBody},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := te.send("POST", tc.path, tc.header, tc.body)
			if tc.status == "" {
				if a.code != 401 {
					t.Fatalf("want 401: %d %s", a.code, a.raw)
				}
				return
			}
			if a.code != 200 || a.body["status"] != tc.status {
				t.Fatalf("%d %s", a.code, a.raw)
			}
			ev := te.event(a)
			if !bytes.Equal(ev.Body, tc.stored) || len(ev.Errors) > 0 {
				t.Fatalf("stored body %q errors %q, want body %q", ev.Body, ev.Errors, tc.stored)
			}
		})
	}
	// The delivery id without a provider id is the hash of the decoded body.
	if a := te.send("POST", "/hooks/stream", streamHeaders(msg), msg); a.code != 200 || a.body["status"] != "duplicate" {
		t.Fatalf("the gzip delivery sent plain: %d %s", a.code, a.raw)
	}
	te.waitJobs(6)
	got := strings.Join(readLines(t, filepath.Join(te.dir, "ran")), "|")
	for _, want := range []string{"deploy b0m", "stream hello", "stream again", "plex Explorers thumb.jpg 1024", "ci web 2"} {
		if !strings.Contains(got, want) {
			t.Fatalf("ran %q, lacks %q", got, want)
		}
	}
}

// plexMultipart builds a body as Plex Media Server does: a curl-style
// boundary, the JSON in a part named payload, a JPEG thumb as a file.
func plexMultipart(t *testing.T, payload string) ([]byte, string) {
	const boundary = "------------------------d74496d66958873e"
	jpeg := append([]byte{0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0}, bytes.Repeat([]byte{0x42}, 1024-11)...)
	var b bytes.Buffer
	b.WriteString("--" + boundary + "\r\nContent-Disposition: form-data; name=\"payload\"\r\nContent-Type: application/json\r\n\r\n")
	b.WriteString(payload)
	b.WriteString("\r\n--" + boundary + "\r\nContent-Disposition: form-data; name=\"thumb\"; filename=\"thumb.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n")
	b.Write(jpeg)
	b.WriteString("\r\n--" + boundary + "--\r\n")
	return b.Bytes(), "multipart/form-data; boundary=" + boundary
}

// event reads back the event an answer names, once it is on disk.
func (te *testEngine) event(a answer) *store.Event {
	te.t.Helper()
	if err := te.store.Sync(); err != nil {
		te.t.Fatal(err)
	}
	id := fmt.Sprint(a.body["id"])
	var n uint64
	for _, c := range id {
		n = n*10 + uint64(c-'0')
	}
	ev, err := te.store.Event(n)
	if err != nil {
		te.t.Fatalf("event %s: %v", id, err)
	}
	return ev
}

func TestBodyRefusals(t *testing.T) {
	te := startEngine(t, "", bodyRules, func(c *rules.Config) { c.MaxBody = 64 << 10 })
	// 64 MiB of JSON-ish zeros compress to about 64 KiB: under max_body
	// sent, a thousand times over it decoded.
	var big bytes.Buffer
	big.WriteString(`{"type":"message.new","pad":"`)
	big.Write(bytes.Repeat([]byte("0"), 64<<20))
	big.WriteString(`"}`)
	bomb := compress(t, "gzip", big.Bytes())
	if len(bomb) > 64<<10 {
		t.Fatalf("the bomb is %d bytes sent", len(bomb))
	}
	bombHeaders := streamHeaders(big.Bytes())
	bombHeaders.Set("Content-Encoding", "gzip")
	br := streamHeaders([]byte("{}"))
	br.Set("Content-Encoding", "br")
	corrupt := streamHeaders([]byte("{}"))
	corrupt.Set("Content-Encoding", "gzip")
	for _, tc := range []struct {
		name   string
		header http.Header
		body   []byte
		code   int
		answer string
	}{
		{"gzip bomb", bombHeaders, bomb, 413, `{"error":"body too large"}`},
		{"unknown encoding", br, []byte("{}"), 415, `{"error":"unsupported Content-Encoding \"br\": hookd decodes gzip and deflate"}`},
		{"not gzip at all", corrupt, []byte("{}"), 400, `{"error":"could not read body"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			a := te.send("POST", "/hooks/stream", tc.header, tc.body)
			if a.code != tc.code || strings.TrimSpace(a.raw) != tc.answer {
				t.Fatalf("%d %s, want %d %s", a.code, a.raw, tc.code, tc.answer)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Fatalf("took %v", took)
			}
		})
	}
	if err := te.store.Sync(); err != nil {
		t.Fatal(err)
	}
	if n := te.bolt().LastID(); n != 0 {
		t.Fatalf("a refused body was recorded (last id %d)", n)
	}
}

// A body that cannot be read is not a silent nil: a rule that reads body
// fails naming the reason, recorded with the event and logged; a rule that
// does not read it still runs.
func TestUnreadableBodySaysWhy(t *testing.T) {
	te := startEngine(t, "", bodyRules, nil)
	body := []byte(`{"ref":"refs/heads/main",after:"x"}`)
	a := te.send("POST", "/hooks/github", githubHeaders(body, "push", "d-bad-json"), body)
	if a.code != 200 || a.body["status"] != "accepted" {
		t.Fatalf("%d %s", a.code, a.raw)
	}
	const reason = "body: invalid JSON at byte 25: invalid character 'a' looking for beginning of object key string"
	ev := te.event(a)
	if want := []string{"rule deploy: when: " + reason}; strings.Join(ev.Errors, "|") != strings.Join(want, "|") || strings.Join(ev.Rules, ",") != "any-push" {
		t.Fatalf("event errors %q rules %q, want errors %q", ev.Errors, ev.Rules, want)
	}
	// A template that reads the body says why it is nil.
	if jobs := te.waitJobs(1); jobs[0].State != store.Failed || !strings.Contains(jobs[0].Error, "template {{ body.after }}: body.after cannot be read: body is nil ("+reason+")") {
		t.Fatalf("job %s: %s", jobs[0].State, jobs[0].Error)
	}
	logs := te.logs.String()
	for _, want := range []string{`msg="body not readable" source=github`, `reason="` + reason + `"`, `msg="rule not matched: its condition failed"`} {
		if !strings.Contains(logs, want) {
			t.Fatalf("log lacks %s:\n%s", want, logs)
		}
	}
}

func TestTrailingSlash(t *testing.T) {
	te := startEngine(t, "", deployRules, nil)
	body := push("refs/heads/main", "slash")
	for _, tc := range []struct {
		method, path string
		code         int
	}{
		{"POST", "/hooks/github/", 200},
		{"POST", "/hooks/github//", 404},
		{"POST", "/hooks/github/x", 404},
		{"POST", "/hooks/x/../github", 404},
		{"GET", "/hooks/github/", 405},
		{"POST", "/hooks/", 404},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			a := te.send(tc.method, tc.path, githubHeaders(body, "push", "d-"+tc.path), body)
			if a.code != tc.code {
				t.Fatalf("%d %s, want %d", a.code, a.raw, tc.code)
			}
		})
	}
	te.waitJobs(1)
	if got := readLines(t, filepath.Join(te.dir, "ran")); len(got) != 1 {
		t.Fatalf("ran %q", got)
	}
}
