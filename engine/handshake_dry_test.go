package engine

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"hookd/verify"
)

// dryHandshake is what Handshake, hookd test's decision, says of a
// request that was not received: no signature checked.
func dryHandshake(t *testing.T, te *testEngine, method, target string, h http.Header, body string) (*HandshakeAnswer, bool) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	if h == nil {
		h = http.Header{}
	}
	src := te.live.Load().set.SourceByPath(u.Path)
	vr := &verify.Request{Method: method, Header: h, Query: u.Query(), Body: []byte(body), Now: time.Now(), Source: src.Name, DryRun: true}
	vr.JSON, _ = ParseBody(h.Get("Content-Type"), vr.Body)
	return Handshake(src, vr)
}

// sameAsServed fails unless the dry run of a request gives the answer
// serve gave it.
func sameAsServed(t *testing.T, te *testEngine, name, method, target string, h http.Header, body string, served answer) {
	t.Helper()
	hs, ok := dryHandshake(t, te, method, target, h, body)
	switch {
	case !ok:
		t.Errorf("%s: the dry run takes it for an event", name)
	case hs.Status != served.code || hs.Answer.ContentType != served.header.Get("Content-Type") ||
		string(hs.Answer.Body) != strings.TrimSuffix(served.raw, "\n"):
		t.Errorf("%s: dry run %d %s %q, serve %d %s %q", name, hs.Status, hs.Answer.ContentType, hs.Answer.Body,
			served.code, served.header.Get("Content-Type"), served.raw)
	}
}

// What is no handshake is none for the dry run either.
func TestDryHandshakeEvents(t *testing.T) {
	te := startEngine(t, "", handshakeRules, nil)
	for _, tc := range []struct{ method, target, body string }{
		{"POST", "/hooks/zoom", `{"event":"meeting.started","payload":{"plainToken":"x"}}`},
		{"POST", "/hooks/twitch", `{"challenge":"x"}`},
		{"POST", "/hooks/discord", `{"type":2,"id":"1","token":"t","data":{"name":"deploy"}}`},
		{"POST", "/hooks/graph?other=1", `{"value":[]}`},
		{"POST", "/hooks/meta?hub.mode=subscribe", `{"object":"page"}`}, // a POST is no subscription check
	} {
		if hs, ok := dryHandshake(t, te, tc.method, tc.target, http.Header{"Content-Type": {"application/json"}}, tc.body); ok {
			t.Errorf("%s %s: taken for a handshake: %+v", tc.target, tc.body, hs)
		}
	}
}
