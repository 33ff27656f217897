package engine

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"hookd/verify"
)

// The key pair of sendgrid-go's helpers/eventwebhook tests.
const (
	sendgridPublic  = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA=="
	sendgridPrivate = "MHcCAQEEIEQmZgBEh9DcU9zMl34czK3xov4AYvm9P3r7rNB2dNXtoAoGCCqGSM49AwEHoUQDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA=="
)

// Every provider end to end through the real server: what `hookd sign`
// produces is accepted and runs, the same headers on a changed body are
// refused, and the delivery id and event type come from the provider.
func TestProvidersEndToEnd(t *testing.T) {
	standardKey := "whsec_" + base64.StdEncoding.EncodeToString([]byte("standard-key-0123456789"))
	providers := []struct {
		name   string
		yaml   string
		config verify.Config
		event  string // expected event type, "" when the scheme has none
	}{
		{"github", `{provider: github, secret: gh-secret}`, verify.Config{Provider: "github", Secrets: []string{"gh-secret"}}, "push"},
		{"gitlab", `{provider: gitlab, secret: gl-token}`, verify.Config{Provider: "gitlab", Secrets: []string{"gl-token"}}, "*"},
		{"gitea", `{provider: gitea, secret: gitea-secret}`, verify.Config{Provider: "gitea", Secrets: []string{"gitea-secret"}}, "*"},
		{"bitbucket", `{provider: bitbucket, secret: bb-secret}`, verify.Config{Provider: "bitbucket", Secrets: []string{"bb-secret"}}, "*"},
		{"stripe", `{provider: stripe, secret: whsec_stripe}`, verify.Config{Provider: "stripe", Secrets: []string{"whsec_stripe"}}, "thing.happened"},
		{"slack", `{provider: slack, secret: slack-signing-secret}`, verify.Config{Provider: "slack", Secrets: []string{"slack-signing-secret"}}, "app_mention"},
		{"shopify", `{provider: shopify, secret: shpss_secret}`, verify.Config{Provider: "shopify", Secrets: []string{"shpss_secret"}}, "*"},
		{"standard", `{provider: standard, secret: "` + standardKey + `"}`, verify.Config{Provider: "standard", Secrets: []string{standardKey}}, "thing.happened"},
		{"hmac", `{provider: hmac, secret: h-secret, header: X-Signature, algorithm: sha512, encoding: base64, prefix: "sha512=", timestamp_header: X-Timestamp, template: "v1:{timestamp}:{body}"}`,
			verify.Config{Provider: "hmac", Secrets: []string{"h-secret"}, Header: "X-Signature", Algorithm: "sha512", Encoding: "base64", Prefix: "sha512=", TimestampHeader: "X-Timestamp", Template: "v1:{timestamp}:{body}"}, ""},
		{"token", `{provider: token, secret: tok-0123, header: X-Token}`, verify.Config{Provider: "token", Secrets: []string{"tok-0123"}, Header: "X-Token"}, ""},
		{"basic", `{provider: basic, username: hook, password: "pa:ss w0rd"}`, verify.Config{Provider: "basic", Username: "hook", Password: "pa:ss w0rd"}, ""},
		{"none", `{provider: none}`, verify.Config{Provider: "none"}, ""},
		{"linear", `{provider: linear, secret: lin}`, verify.Config{Provider: "linear", Secrets: []string{"lin"}}, "Issue"},
		{"sentry", `{provider: sentry, secret: sen}`, verify.Config{Provider: "sentry", Secrets: []string{"sen"}}, "issue"},
		{"pagerduty", `{provider: pagerduty, secret: pd}`, verify.Config{Provider: "pagerduty", Secrets: []string{"pd"}}, ""},
		{"paddle", `{provider: paddle, secret: pdl}`, verify.Config{Provider: "paddle", Secrets: []string{"pdl"}}, ""},
		{"jira", `{provider: jira, secret: ji}`, verify.Config{Provider: "jira", Secrets: []string{"ji"}}, ""},
		{"buildkite", `{provider: buildkite, secret: bk}`, verify.Config{Provider: "buildkite", Secrets: []string{"bk"}}, "build.finished"},
		{"circleci", `{provider: circleci, secret: cci}`, verify.Config{Provider: "circleci", Secrets: []string{"cci"}}, "workflow-completed"},
		{"vercel", `{provider: vercel, secret: ve}`, verify.Config{Provider: "vercel", Secrets: []string{"ve"}}, "thing.happened"},
		{"heroku", `{provider: heroku, secret: he}`, verify.Config{Provider: "heroku", Secrets: []string{"he"}}, ""},
		{"typeform", `{provider: typeform, secret: tf}`, verify.Config{Provider: "typeform", Secrets: []string{"tf"}}, ""},
		{"intercom", `{provider: intercom, secret: ic}`, verify.Config{Provider: "intercom", Secrets: []string{"ic"}}, ""},
		{"mailgun", `{provider: mailgun, secret: mg}`, verify.Config{Provider: "mailgun", Secrets: []string{"mg"}}, ""},
		{"sendgrid", `{provider: sendgrid, public_key: "` + sendgridPublic + `"}`, verify.Config{Provider: "sendgrid", PrivateKey: sendgridPrivate}, ""},
		// The URL providers reconstruct the URL called; the signer is told it.
		{"square", `{provider: square, secret: sq}`, verify.Config{Provider: "square", Secrets: []string{"sq"}, URL: "@"}, "thing.happened"},
		{"hubspot", `{provider: hubspot, secret: hs}`, verify.Config{Provider: "hubspot", Secrets: []string{"hs"}, URL: "@"}, ""},
		{"twilio", `{provider: twilio, secret: tw}`, verify.Config{Provider: "twilio", Secrets: []string{"tw"}, URL: "@"}, ""},
		{"discord", `{provider: discord, public_key: ` + discordPub + `}`, verify.Config{Provider: "discord", PrivateKey: discordSeed}, ""},
		{"twitch", `{provider: twitch, secret: twitch-secret}`, verify.Config{Provider: "twitch", Secrets: []string{"twitch-secret"}}, "channel.follow"},
		{"zoom", `{provider: zoom, secret: zoom-secret}`, verify.Config{Provider: "zoom", Secrets: []string{"zoom-secret"}}, ""},
		{"meta", `{provider: meta, secret: meta-secret, verify_token: meta-token}`, verify.Config{Provider: "meta", Secrets: []string{"meta-secret"}}, ""},
		{"graph", `{provider: graph, secret: graph-state}`, verify.Config{Provider: "graph", Secrets: []string{"graph-state"}}, "created"},
	}
	// Graph's secret is in the body; Discord's Webhook Events are answered 204.
	bodies := map[string]string{"graph": `{"value":[{"clientState":"graph-state","changeType":"created","id":"evt_1"}]}`}
	// Providers whose senders want a fixed answer, not the status JSON.
	acked := map[string]struct {
		code        int
		contentType string
		body        string
	}{
		"discord": {204, "", ""},
		"twilio":  {200, "text/xml", `<?xml version="1.0" encoding="UTF-8"?><Response/>`},
	}
	var names []string
	var sb strings.Builder
	sb.WriteString("sources:\n")
	for _, p := range providers {
		fmt.Fprintf(&sb, "  %s:\n    verify: %s\n", p.name, p.yaml)
		names = append(names, p.name)
	}
	sort.Strings(names)
	if want := verify.Names(); strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("providers tested %v, registered %v", names, want)
	}
	sb.WriteString("rules:\n")
	for _, p := range providers {
		fmt.Fprintf(&sb, "  - name: run-%s\n    source: %s\n    actions: [{shell: {script: 'printf \"%%s|%%s|%%s\\n\" \"$HOOKD_SOURCE\" \"$HOOKD_EVENT\" \"$HOOKD_DELIVERY_ID\" >> \"$OUT\"', env: {OUT: \"$DIR/ran\"}}}]\n", p.name, p.name)
	}
	te := startEngine(t, "", sb.String(), nil)
	const testBody = `{"id":"evt_1","type":"thing.happened","event_id":"Ev1","event":{"type":"app_mention"}}`
	for _, p := range providers {
		t.Run(p.name, func(t *testing.T) {
			c := p.config
			if c.URL == "@" {
				c.URL = te.url + "/hooks/" + p.name
			}
			in := testBody
			if b, ok := bodies[p.name]; ok {
				in = b
			}
			body, h, err := verify.SignRequest(c, []byte(in), time.Now(), verify.Meta{})
			if err != nil {
				t.Fatal(err)
			}
			// gitlab, token and basic carry a secret, not a signature of
			// the body; mailgun signs a timestamp and token in the body;
			// graph's secret is in the body.
			signsBody := !strings.Contains(" none gitlab token basic mailgun graph ", " "+p.name+" ")
			if signsBody {
				tampered := te.send("POST", "/hooks/"+p.name, h, bytes.Replace(body, []byte("evt_1"), []byte("evt_2"), 1))
				if tampered.code != http.StatusUnauthorized {
					t.Fatalf("changed body: %d %s", tampered.code, tampered.raw)
				}
			}
			if p.name != "none" && p.name != "graph" {
				if unsigned := te.send("POST", "/hooks/"+p.name, http.Header{"Content-Type": {"application/json"}}, []byte(in)); unsigned.code != http.StatusUnauthorized {
					t.Fatalf("no signature: %d %s", unsigned.code, unsigned.raw)
				}
			}
			a := te.send("POST", "/hooks/"+p.name, h, body)
			again := te.send("POST", "/hooks/"+p.name, h, body)
			if want, ok := acked[p.name]; ok {
				// The run count below tells accepted from duplicate.
				for _, a := range []answer{a, again} {
					if a.code != want.code || a.raw != want.body || want.body != "" && a.header.Get("Content-Type") != want.contentType {
						t.Fatalf("signed request: %d %s %q, want %+v", a.code, a.header.Get("Content-Type"), a.raw, want)
					}
				}
				return
			}
			if a.code != 200 || a.body["status"] != "accepted" {
				t.Fatalf("signed request: %d %s", a.code, a.raw)
			}
			if again.body["status"] != "duplicate" {
				t.Fatalf("same delivery again: %s", again.raw)
			}
		})
	}
	te.waitJobs(len(providers))
	lines := readLines(t, filepath.Join(te.dir, "ran"))
	if len(lines) != len(providers) {
		t.Fatalf("%d runs, want %d: %q", len(lines), len(providers), lines)
	}
	for _, l := range lines {
		parts := strings.Split(l, "|")
		for _, p := range providers {
			if p.name != parts[0] {
				continue
			}
			if p.event != "*" && parts[1] != p.event {
				t.Errorf("%s: event %q, want %q", p.name, parts[1], p.event)
			}
			if p.event == "*" && parts[1] == "" {
				t.Errorf("%s: no event type from the provider's header", p.name)
			}
			if parts[2] == "" {
				t.Errorf("%s: empty delivery id", p.name)
			}
		}
	}
}

func TestSlackURLVerification(t *testing.T) {
	te := startEngine(t, "", `
sources:
  slack:
    verify: {provider: slack, secret: slack-signing-secret}
rules:
  - name: r
    source: slack
    actions: [{shell: {command: ["true"]}}]
`, nil)
	body := []byte(`{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`)
	cfg := verify.Config{Provider: "slack", Secrets: []string{"slack-signing-secret"}}
	h, err := verify.Sign(cfg, body, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	a := te.send("POST", "/hooks/slack", h, body)
	if a.code != 200 || a.body["challenge"] != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Fatalf("handshake: %d %s", a.code, a.raw)
	}
	bad := h.Clone()
	bad.Set("X-Slack-Signature", "v0="+strings.Repeat("0", 64))
	if a := te.send("POST", "/hooks/slack", bad, body); a.code != 401 || strings.Contains(a.raw, "3eZb") {
		t.Fatalf("unsigned handshake answered: %d %s", a.code, a.raw)
	}
	te.waitJobs(0)
	if te.bolt().LastID() != 0 {
		t.Fatalf("the handshake was recorded as an event (last id %d)", te.bolt().LastID())
	}
}

// Providers that receive their secret in clear (a token header, a query
// parameter, basic auth) must leave it out of the stored record and the log.
func TestClearSecretsNotStored(t *testing.T) {
	te := startEngine(t, "", `
sources:
  gitlab:
    verify: {provider: gitlab, secret: gl-token-7f3a9c}
  tokh:
    verify: {provider: token, secret: tok-header-51d2e8, header: X-Token}
  tokq:
    verify: {provider: token, secret: tok-query-a94b17, query: key}
  basic:
    verify: {provider: basic, username: hook, password: "pw-basic-3c81f0"}
  buildkite:
    verify: {provider: buildkite, secret: bk-token-6e02d4}
rules:
  - {name: a, sources: [gitlab, tokh, tokq, basic, buildkite], actions: [{shell: {command: ["true"]}}]}
`, nil)
	body := []byte(`{"x":1}`)
	for _, tc := range []struct {
		path string
		h    http.Header
	}{
		{"/hooks/gitlab", http.Header{"X-Gitlab-Token": {"gl-token-7f3a9c"}, "X-Gitlab-Event": {"Push Hook"}}},
		{"/hooks/tokh", http.Header{"X-Token": {"tok-header-51d2e8"}}},
		{"/hooks/tokq?key=tok-query-a94b17&other=1", nil},
		{"/hooks/basic", http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("hook:pw-basic-3c81f0"))}}},
		{"/hooks/buildkite", http.Header{"X-Buildkite-Token": {"bk-token-6e02d4"}, "X-Buildkite-Event": {"build.finished"}}},
	} {
		if a := te.send("POST", tc.path, tc.h, body); a.body["status"] != "accepted" {
			t.Fatalf("%s: %d %s", tc.path, a.code, a.raw)
		}
	}
	te.waitJobs(5)
	for id := uint64(1); id <= te.bolt().LastID(); id++ {
		ev, err := te.store.Event(id)
		if err != nil {
			continue
		}
		if ev.Path == "/hooks/tokq" && ev.Query["other"] != "1" {
			t.Errorf("an ordinary query parameter was lost: %v", ev.Query)
		}
	}
	te.stop()
	db, err := os.ReadFile(filepath.Join(te.dir, "data", "hookd.db"))
	if err != nil {
		t.Fatal(err)
	}
	basicAuth := base64.StdEncoding.EncodeToString([]byte("hook:pw-basic-3c81f0"))
	for _, secret := range []string{"gl-token-7f3a9c", "tok-header-51d2e8", "tok-query-a94b17", "pw-basic-3c81f0", basicAuth, "bk-token-6e02d4"} {
		if bytes.Contains(db, []byte(secret)) {
			t.Errorf("the database holds the secret %q", secret)
		}
		if strings.Contains(te.logs.String(), secret) {
			t.Errorf("the log holds the secret %q", secret)
		}
	}
}
