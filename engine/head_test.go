package engine

import (
	"net/http"
	"strings"
	"testing"

	"hookd/verify"
)

// HEAD through the real server: Intercom's URL check is answered 200 with
// no body, as a handshake; a source that takes GET takes HEAD too and
// answers it with the status its GET would get, but records nothing; the
// other sources answer 405 with the methods they take.
func TestHEAD(t *testing.T) {
	te := startEngine(t, "", `
sources:
  intercom: {verify: {provider: intercom, secret: ic-secret}}
  gitea: {verify: {provider: gitea, secret: gitea-key}}
  meta: {verify: {provider: meta, secret: meta-secret, verify_token: vt-42}}
  github: {verify: {provider: github, secret: gh-key}}
rules:
  - {name: all, sources: [intercom, gitea, meta, github], actions: [{shell: {script: 'echo "$HOOKD_SOURCE" >> "$DIR/ran"'}}]}
`, nil)
	_, query, signedGET, _ := giteaDelivery("gitea", "get", "d-1", "gitea-key", `{"ref":"refs/heads/main"}`)
	for _, tc := range []struct {
		name, method, path string
		h                  http.Header
		code               int
		allow, ctype       string
	}{
		{"intercom URL check", "HEAD", "/hooks/intercom", http.Header{"User-Agent": {"intercom-parrot-service-worker"}}, 200, "", ""},
		{"intercom URL check, trailing slash", "HEAD", "/hooks/intercom/", nil, 200, "", ""},
		{"intercom GET", "GET", "/hooks/intercom", nil, 405, "HEAD, POST", "application/json"},
		{"gitea HEAD, unsigned: its GET's 401", "HEAD", "/hooks/gitea", nil, 401, "", "application/json"},
		{"gitea HEAD, signed payload: 200, not recorded", "HEAD", "/hooks/gitea" + query, signedGET, 200, "", ""},
		{"gitea PUT", "PUT", "/hooks/gitea", nil, 405, "GET, HEAD, POST", "application/json"},
		{"meta HEAD subscription check", "HEAD", "/hooks/meta?hub.mode=subscribe&hub.challenge=77&hub.verify_token=vt-42", nil, 200, "", "text/plain; charset=utf-8"},
		{"meta HEAD, wrong verify token", "HEAD", "/hooks/meta?hub.mode=subscribe&hub.challenge=77&hub.verify_token=guess", nil, 401, "", "application/json"},
		{"meta PUT", "PUT", "/hooks/meta", nil, 405, "GET, HEAD, POST", "application/json"},
		{"github HEAD", "HEAD", "/hooks/github", nil, 405, "POST", "application/json"},
	} {
		a := te.send(tc.method, tc.path, tc.h, nil)
		if a.code != tc.code || a.header.Get("Allow") != tc.allow || a.header.Get("Content-Type") != tc.ctype || a.raw != "" && tc.method == "HEAD" {
			t.Errorf("%s: %d Allow %q Content-Type %q %q, want %d Allow %q Content-Type %q", tc.name, a.code, a.header.Get("Allow"),
				a.header.Get("Content-Type"), a.raw, tc.code, tc.allow, tc.ctype)
		}
	}
	// Intercom's deliveries are POSTs and still verified and recorded.
	body := `{"type":"notification_event","id":"notif_1","topic":"ping","data":{"item":{"type":"ping"}}}`
	h := signedAs(t, verify.Config{Provider: "intercom", Secrets: []string{"ic-secret"}}, body, nil)
	if a := te.send("POST", "/hooks/intercom", h, []byte(body)); a.code != 200 || a.body["status"] != "accepted" {
		t.Fatalf("intercom POST: %d %s", a.code, a.raw)
	}
	if a := te.send("POST", "/hooks/intercom", nil, []byte(body)); a.code != 401 {
		t.Errorf("unsigned intercom POST: %d %s", a.code, a.raw)
	}
	jobs := te.waitJobs(1)
	if te.bolt().LastID() != 1 || len(jobs) != 1 {
		t.Fatalf("%d events, %d jobs: only the intercom POST is recorded", te.bolt().LastID(), len(jobs))
	}
	if ev := te.event(answer{body: map[string]any{"id": 1}}); ev.Source != "intercom" || ev.Event != "ping" || ev.DeliveryID != "notif_1" {
		t.Errorf("recorded %s %q %q", ev.Source, ev.Event, ev.DeliveryID)
	}
	fams := te.scrape()
	if got := metricValue(fams, "hookd_requests_total", "source", "intercom", "outcome", "challenge"); got != 2 {
		t.Errorf("intercom: %v challenges counted, want 2", got)
	}
	if got := metricValue(fams, "hookd_requests_total", "source", "gitea", "outcome", "head"); got != 1 {
		t.Errorf("gitea: %v HEADs counted, want 1", got)
	}
	if n := strings.Count(te.logs.String(), "webhook handshake answered"); n != 3 {
		t.Errorf("%d handshake lines, want 3 (intercom twice, meta once)", n)
	}
}
