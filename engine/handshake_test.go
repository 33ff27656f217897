package engine

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"hookd/verify"
)

// RFC 8032's first test key pair, as Discord's application key.
const (
	discordSeed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
	discordPub  = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
)

const handshakeRules = `
sources:
  discord:
    verify: {provider: discord, public_key: ` + discordPub + `}
  twitch:
    verify: {provider: twitch, secret: twitch-secret-0123}
  zoom:
    verify: {provider: zoom, secret: zoom-secret-token}
  meta:
    verify: {provider: meta, secret: meta-app-secret, verify_token: meatyhamhock-51d2}
  graph:
    verify: {provider: graph, secret: graph-client-state}
rules:
  - name: all
    sources: [discord, twitch, zoom, meta, graph]
    actions: [{shell: {script: 'printf "%s|%s\n" "$HOOKD_SOURCE" "$HOOKD_EVENT" >> "$DIR/ran"'}}]
`

// signedAs signs body as provider c would and adds what the sender sends
// beside its signature.
func signedAs(t *testing.T, c verify.Config, body string, extra map[string]string) http.Header {
	t.Helper()
	h, err := verify.Sign(c, []byte(body), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range extra {
		h.Set(k, v)
	}
	return h
}

// Each handshake as its sender sends it (method, headers, query, body),
// answered by the provider, counted as a challenge, never stored or run;
// and each forged one refused without the answer.
func TestHandshakes(t *testing.T) {
	te := startEngine(t, "", handshakeRules, nil)
	discordC := verify.Config{Provider: "discord", PrivateKey: discordSeed}
	twitchC := verify.Config{Provider: "twitch", Secrets: []string{"twitch-secret-0123"}}
	zoomC := verify.Config{Provider: "zoom", Secrets: []string{"zoom-secret-token"}}
	discordUA := map[string]string{"User-Agent": "Discord-Interactions/1.0 (+https://discord.com)"}

	interactionPing := `{"app_permissions":"562949953601536","application_id":"1234567890","entitlements":[],"id":"1301239862939893821","token":"aW50ZXJhY3Rpb246MTMwMTIzOTg2MjkzOTg5MzgyMTpHbFpRV","type":1,"user":{"id":"53908232506183680"},"version":1}`
	eventsPing := `{"version":1,"application_id":"1234567890","type":0}`
	twitchChallenge := `{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","status":"webhook_callback_verification_pending","type":"channel.follow","version":"1","cost":1,"condition":{"broadcaster_user_id":"12826"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/callback"},"created_at":"2019-11-16T10:11:12.634234626Z"}}`
	twitchHeaders := map[string]string{"Twitch-Eventsub-Message-Type": "webhook_callback_verification", "User-Agent": "Twitch-Eventsub-Webhooks/1.0"}
	zoomValidation := `{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}`
	zoomHeaders := map[string]string{"Content-Type": "application/json; charset=utf-8", "User-Agent": "Zoom Marketplace/1.0a", "x-zm-trackingid": "v=2.0;clid=aw1;rid=WEB_0a1b"}
	graphToken := "Validation: Testing client application reachability for subscription Request-Id: 522a8e7e-096a-494c-aaf1-ac0dcfca45b7"
	zoomMAC := hmac.New(sha256.New, []byte("zoom-secret-token"))
	zoomMAC.Write([]byte("qgg8vlvZRS6UYooatFL8Aw"))

	for _, tc := range []struct {
		name, method, path string
		h                  http.Header
		body               string
		code               int
		ctype, answer      string
	}{
		{"discord interaction PING", "POST", "/hooks/discord", signedAs(t, discordC, interactionPing, discordUA), interactionPing, 200, "application/json", `{"type":1}`},
		{"discord Webhook Events PING", "POST", "/hooks/discord", signedAs(t, discordC, eventsPing, discordUA), eventsPing, 204, "application/json", ""},
		{"twitch webhook_callback_verification", "POST", "/hooks/twitch", signedAs(t, twitchC, twitchChallenge, twitchHeaders), twitchChallenge, 200, "text/plain; charset=utf-8", "pogchamp-kappa-360noscope-vohiyo"},
		{"zoom endpoint.url_validation", "POST", "/hooks/zoom", signedAs(t, zoomC, zoomValidation, zoomHeaders), zoomValidation, 200, "application/json",
			`{"encryptedToken":"` + hex.EncodeToString(zoomMAC.Sum(nil)) + `","plainToken":"qgg8vlvZRS6UYooatFL8Aw"}`},
		{"meta subscription check", "GET", "/hooks/meta?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock-51d2", http.Header{"User-Agent": {"facebookexternalua"}}, "", 200, "text/plain; charset=utf-8", "1158201444"},
		{"graph validationToken", "POST", "/hooks/graph?validationToken=" + url.QueryEscape(graphToken), http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, "", 200, "text/plain; charset=utf-8", graphToken},
		{"sharepoint validationtoken", "POST", "/hooks/graph?validationtoken=" + url.QueryEscape(graphToken), http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, "", 200, "text/plain; charset=utf-8", graphToken},
		// Tokens are opaque: quotes, markup and non-ASCII text are echoed as they came.
		{"graph token of any text", "POST", "/hooks/graph?validationToken=" + url.QueryEscape(`Prüfung ✓ &'"<b>`), nil, "", 200, "text/plain; charset=utf-8", `Prüfung ✓ &'"<b>`},
		{"meta challenge of any text", "GET", "/hooks/meta?hub.mode=subscribe&hub.challenge=%3Cb%3E%26%27%22&hub.verify_token=meatyhamhock-51d2", nil, "", 200, "text/plain; charset=utf-8", `<b>&'"`},
	} {
		a := te.send(tc.method, tc.path, tc.h, []byte(tc.body))
		if a.code != tc.code || a.header.Get("Content-Type") != tc.ctype || a.raw != tc.answer || a.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d %s %q, want %d %s %q", tc.name, a.code, a.header.Get("Content-Type"), a.raw, tc.code, tc.ctype, tc.answer)
		}
		sameAsServed(t, te, tc.name, tc.method, tc.path, tc.h, tc.body, a)
	}

	// Forged handshakes: refused, and the answer is not given.
	forged := func(h http.Header, k, v string) http.Header {
		h = h.Clone()
		h.Set(k, v)
		return h
	}
	badSig := forged(signedAs(t, discordC, interactionPing, discordUA), "X-Signature-Ed25519", strings.Repeat("0", 128))
	stale := signedAs(t, discordC, interactionPing, discordUA)
	stale.Set("X-Signature-Timestamp", strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10))
	for _, tc := range []struct {
		name, method, path string
		h                  http.Header
		body               string
	}{
		{"discord PING, wrong signature", "POST", "/hooks/discord", badSig, interactionPing},
		{"discord PING, stale", "POST", "/hooks/discord", stale, interactionPing},
		{"discord PING, unsigned", "POST", "/hooks/discord", http.Header{"Content-Type": {"application/json"}}, interactionPing},
		{"twitch challenge, unsigned", "POST", "/hooks/twitch", http.Header{"Twitch-Eventsub-Message-Type": {"webhook_callback_verification"}}, twitchChallenge},
		{"twitch challenge, changed", "POST", "/hooks/twitch", signedAs(t, twitchC, twitchChallenge, twitchHeaders), strings.Replace(twitchChallenge, "vohiyo", "kappa", 1)},
		{"zoom validation, unsigned", "POST", "/hooks/zoom", http.Header{"Content-Type": {"application/json"}}, zoomValidation},
		{"meta, wrong verify token", "GET", "/hooks/meta?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=guess", nil, ""},
		{"meta, GET without the check", "GET", "/hooks/meta", nil, ""},
	} {
		a := te.send(tc.method, tc.path, tc.h, []byte(tc.body))
		if tc.name == "meta, wrong verify token" { // refused unsigned: the dry run says so too
			sameAsServed(t, te, tc.name, tc.method, tc.path, tc.h, tc.body, a)
		}
		if a.code != 401 || strings.Contains(a.raw, "1158201444") || strings.Contains(a.raw, "Token") || strings.Contains(a.raw, "type\":1") || strings.Contains(a.raw, "pogchamp") {
			t.Errorf("%s: %d %s", tc.name, a.code, a.raw)
		}
	}
	// A token that cannot be echoed (a control character, a line break,
	// not UTF-8): a bad request, 400, not an authentication failure.
	for _, path := range []string{"/hooks/graph?validationToken=a%09b", "/hooks/graph?validationtoken=a%0D%0AX-Injected:%201",
		"/hooks/graph?validationToken=%FF", "/hooks/meta?hub.mode=subscribe&hub.challenge=1%0A2&hub.verify_token=meatyhamhock-51d2"} {
		method := "POST"
		if strings.Contains(path, "meta") {
			method = "GET"
		}
		a := te.send(method, path, nil, nil)
		if a.code != 400 || a.header.Get("X-Injected") != "" || strings.Contains(a.raw, "a\tb") {
			t.Errorf("%s: %d %s", path, a.code, a.raw)
		}
		sameAsServed(t, te, path, method, path, nil, "", a)
	}
	if a := te.send("GET", "/hooks/twitch", nil, nil); a.code != 405 {
		t.Errorf("GET to twitch: %d", a.code)
	}

	te.waitJobs(0)
	if te.bolt().LastID() != 0 {
		t.Fatalf("a handshake was recorded (last id %d)", te.bolt().LastID())
	}
	fams := te.scrape()
	for src, n := range map[string]float64{"graph": 3, "meta": 1} {
		if got := metricValue(fams, "hookd_requests_total", "source", src, "outcome", "bad_request"); got != n {
			t.Errorf("%s: %v bad requests counted, want %v", src, got, n)
		}
	}
	for src, n := range map[string]float64{"discord": 2, "twitch": 1, "zoom": 1, "meta": 2, "graph": 3} {
		if got := metricValue(fams, "hookd_requests_total", "source", src, "outcome", "challenge"); got != n {
			t.Errorf("%s: %v challenges counted, want %v", src, got, n)
		}
	}
	if n := strings.Count(te.logs.String(), "webhook handshake answered"); n != 9 {
		t.Errorf("%d handshake log lines, want 9:\n%s", n, te.logs.String())
	}
	if strings.Contains(te.logs.String(), "meatyhamhock-51d2") {
		t.Error("the log holds the verify token")
	}
}

// What follows a handshake is recorded: Discord's Webhook Events answered
// 204 with no body (a redelivery too), its interactions deferred; Twitch's revocation recorded as such; a Graph batch with one bad
// clientState refused whole.
func TestHandshakeSendersEvents(t *testing.T) {
	te := startEngine(t, "", handshakeRules, nil)
	discordC := verify.Config{Provider: "discord", PrivateKey: discordSeed}
	authorized := `{"version":1,"application_id":"1234567890","type":1,"event":{"type":"APPLICATION_AUTHORIZED","timestamp":"2024-10-18T14:42:53.064834","data":{"integration_type":1,"scopes":["applications.commands"],"user":{"id":"53908232506183680"}}}}`
	h := signedAs(t, discordC, authorized, nil)
	for i := 0; i < 2; i++ {
		if a := te.send("POST", "/hooks/discord", h, []byte(authorized)); a.code != 204 || a.raw != "" || a.header.Get("Content-Type") != "application/json" {
			t.Fatalf("webhook event, delivery %d: %d %s %q", i+1, a.code, a.header.Get("Content-Type"), a.raw)
		}
	}
	command := `{"id":"1301239862939893822","token":"aW50ZXJhY3Rpb24","type":2,"data":{"name":"deploy"},"version":1}`
	// No respond: the command is deferred ("is thinking…"), not answered
	// with the status JSON, which Discord takes for a failed interaction.
	if a := te.send("POST", "/hooks/discord", signedAs(t, discordC, command, nil), []byte(command)); a.code != 200 || a.raw != `{"type":5,"data":{"flags":64}}` || a.header.Get("Content-Type") != "application/json" {
		t.Fatalf("interaction: %d %s", a.code, a.raw)
	}
	revocation := `{"subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","status":"authorization_revoked","type":"channel.follow","version":"1","cost":1,"condition":{"broadcaster_user_id":"12826"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/callback"},"created_at":"2019-11-16T10:11:12.634234626Z"}}`
	rh, err := verify.SignMeta(verify.Config{Provider: "twitch", Secrets: []string{"twitch-secret-0123"}}, []byte(revocation), time.Now(), verify.Meta{Event: "revocation"})
	if err != nil {
		t.Fatal(err)
	}
	if a := te.send("POST", "/hooks/twitch", rh, []byte(revocation)); a.code != 200 || a.body["status"] != "accepted" {
		t.Fatalf("revocation: %d %s", a.code, a.raw)
	}
	good := `{"clientState":"graph-client-state","changeType":"updated","resource":"me/events/1"}`
	bad := strings.Replace(good, "graph-client-state", "graph-client-statf", 1)
	if a := te.send("POST", "/hooks/graph", http.Header{"Content-Type": {"application/json"}}, []byte(`{"value":[`+good+`,`+bad+`]}`)); a.code != 401 {
		t.Fatalf("one bad item: %d %s", a.code, a.raw)
	}
	// .NET's System.Text.Json escapes "+", PHP "/"; any encoder may escape
	// "-": the secret is the decoded string.
	escaped := strings.Replace(good, "graph-client-state", `graph\u002Dclient-state`, 1)
	if a := te.send("POST", "/hooks/graph", http.Header{"Content-Type": {"application/json"}}, []byte(`{"value":[`+good+`,`+escaped+`]}`)); a.code != 200 || a.body["status"] != "accepted" {
		t.Fatalf("notifications: %d %s", a.code, a.raw)
	}
	te.waitJobs(4)
	lines := strings.Join(readLines(t, te.dir+"/ran"), "\n")
	for _, want := range []string{"discord|APPLICATION_AUTHORIZED", "discord|APPLICATION_COMMAND", "twitch|revocation", "graph|updated"} {
		if !strings.Contains(lines, want) {
			t.Errorf("no run %q in:\n%s", want, lines)
		}
	}
	// Graph's secret came in the body: it is neither stored nor logged.
	te.stop()
	db, err := os.ReadFile(filepath.Join(te.dir, "data", "hookd.db"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(db, []byte("client-state")) || strings.Contains(te.logs.String(), "client-state") {
		t.Error("graph's clientState was stored or logged")
	}
	if !bytes.Contains(db, []byte(`"clientState":"[redacted]"`)) {
		t.Error("the notification was not stored with its clientState redacted")
	}
}

// Discord retries a Webhook Event it got no 204 for; with retry_failed, a
// failed event's redelivery runs again and is answered 204 too.
func TestDiscordRedeliveryAnswered204(t *testing.T) {
	te := startEngine(t, "", `
sources:
  discord:
    verify: {provider: discord, public_key: `+discordPub+`}
    redelivery: retry_failed
rules:
  - name: fails
    source: discord
    actions: [{shell: {script: 'echo run >> "$DIR/ran"; false'}}]
`, nil)
	body := `{"version":1,"application_id":"1234567890","type":1,"event":{"type":"ENTITLEMENT_CREATE","timestamp":"2024-10-18T14:42:53.064834","data":{}}}`
	h := signedAs(t, verify.Config{Provider: "discord", PrivateKey: discordSeed}, body, nil)
	if a := te.send("POST", "/hooks/discord", h, []byte(body)); a.code != 204 {
		t.Fatalf("first delivery: %d %s", a.code, a.raw)
	}
	te.waitJobs(1)
	if a := te.send("POST", "/hooks/discord", h, []byte(body)); a.code != 204 || a.raw != "" {
		t.Fatalf("redelivery: %d %q, want 204 and no body", a.code, a.raw)
	}
	te.waitJobs(2)
	if ran := readLines(t, filepath.Join(te.dir, "ran")); len(ran) != 2 {
		t.Fatalf("runs %q, want 2", ran)
	}
}
