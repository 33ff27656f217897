package engine

import (
	"bytes"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"hookd/rules"
	"hookd/verify"
)

// Forgeries of a few senders through the real server: each is refused
// with 401 and nothing is recorded, and a replay within the tolerance is
// a duplicate, never a second run.
func TestSenderForgeriesEndToEnd(t *testing.T) {
	te := startEngine(t, "", `
sources:
  paddle: {verify: {provider: paddle, secret: pdl-secret}}
  hubspot: {verify: {provider: hubspot, secret: hs-secret}}
  mailgun: {verify: {provider: mailgun, secret: mg-key}}
  twilio: {verify: {provider: twilio, secret: tw-token, url: "https://sms.example.com{uri}"}}
rules:
  - {name: all, sources: [paddle, hubspot, mailgun, twilio], actions: [{shell: {command: ["true"]}}]}
`, nil)
	now := time.Now()
	const body = `{"event_id":"evt_1","event_type":"transaction.completed"}`
	type forgery struct {
		name string
		mod  func(h http.Header, b []byte, now time.Time) (http.Header, []byte, time.Time)
	}
	del := func(k string) func(http.Header, []byte, time.Time) (http.Header, []byte, time.Time) {
		return func(h http.Header, b []byte, at time.Time) (http.Header, []byte, time.Time) {
			h.Del(k)
			return h, b, at
		}
	}
	set := func(k, v string) func(http.Header, []byte, time.Time) (http.Header, []byte, time.Time) {
		return func(h http.Header, b []byte, at time.Time) (http.Header, []byte, time.Time) {
			h.Set(k, v)
			return h, b, at
		}
	}
	changed := func(h http.Header, b []byte, at time.Time) (http.Header, []byte, time.Time) {
		return h, bytes.Replace(b, []byte("evt_1"), []byte("evt_9"), 1), at
	}
	// Beyond the default tolerance: Mailgun's is 12 h (its retries resend
	// the first signature for ~8 h), the others' 5 min or less.
	stale := func(h http.Header, b []byte, at time.Time) (http.Header, []byte, time.Time) {
		return h, b, at.Add(-13 * time.Hour)
	}
	for _, tc := range []struct {
		source string
		config verify.Config
		header string
		stamp  bool
	}{
		{"paddle", verify.Config{Provider: "paddle", Secrets: []string{"pdl-secret"}}, "Paddle-Signature", true},
		{"hubspot", verify.Config{Provider: "hubspot", Secrets: []string{"hs-secret"}, URL: te.url + "/hooks/hubspot"}, "X-HubSpot-Signature-v3", true},
		{"mailgun", verify.Config{Provider: "mailgun", Secrets: []string{"mg-key"}}, "", true},
		{"twilio", verify.Config{Provider: "twilio", Secrets: []string{"tw-token"}, URL: "https://sms.example.com/hooks/twilio"}, "X-Twilio-Signature", false},
	} {
		t.Run(tc.source, func(t *testing.T) {
			forgeries := []forgery{{"wrong secret", nil}, {"stale", stale}}
			if tc.header != "" {
				forgeries = append(forgeries, forgery{"missing", del(tc.header)}, forgery{"empty", set(tc.header, " ")},
					forgery{"garbled", set(tc.header, "AAAA")}, forgery{"changed body", changed})
			}
			for _, f := range forgeries {
				if f.mod == nil {
					continue
				}
				b, h, err := verify.SignRequest(tc.config, []byte(body), now, verify.Meta{})
				if err != nil {
					t.Fatal(err)
				}
				h, b, at := f.mod(h, b, now)
				if !at.Equal(now) {
					if !tc.stamp {
						continue
					}
					if b, h, err = verify.SignRequest(tc.config, []byte(body), at, verify.Meta{}); err != nil {
						t.Fatal(err)
					}
				}
				if a := te.send("POST", "/hooks/"+tc.source, h, b); a.code != http.StatusUnauthorized {
					t.Errorf("%s: %d %s", f.name, a.code, a.raw)
				}
			}
			other := tc.config
			other.Secrets = []string{"not-the-secret"}
			b, h, _ := verify.SignRequest(other, []byte(body), now, verify.Meta{})
			if a := te.send("POST", "/hooks/"+tc.source, h, b); a.code != http.StatusUnauthorized {
				t.Errorf("wrong secret: %d %s", a.code, a.raw)
			}
			b, h, _ = verify.SignRequest(tc.config, []byte(body), now, verify.Meta{})
			if a := te.send("POST", "/hooks/"+tc.source, h, b); outcome(te, tc.source, a) != "accepted" {
				t.Fatalf("signed: %d %s", a.code, a.raw)
			}
			if a := te.send("POST", "/hooks/"+tc.source, h, b); outcome(te, tc.source, a) != "duplicate" {
				t.Errorf("replayed: %d %s", a.code, a.raw)
			}
		})
	}
	// Mailgun signs no body: the same signature on another body is the
	// same token, a duplicate, and runs nothing.
	b, h, _ := verify.SignRequest(verify.Config{Provider: "mailgun", Secrets: []string{"mg-key"}}, []byte(body), now, verify.Meta{ID: "tok-fixed"})
	if a := te.send("POST", "/hooks/mailgun", h, b); a.body["status"] != "accepted" {
		t.Fatalf("mailgun: %d %s", a.code, a.raw)
	}
	if a := te.send("POST", "/hooks/mailgun", h, bytes.Replace(b, []byte("evt_1"), []byte("evt_9"), 1)); a.body["status"] != "duplicate" {
		t.Errorf("mailgun, body changed under the same token: %d %s", a.code, a.raw)
	}
	te.waitJobs(5)
	n := 0
	for id := uint64(1); id <= te.bolt().LastID(); id++ {
		if _, err := te.store.Event(id); err == nil {
			n++
		}
	}
	if n != 5 {
		t.Errorf("%d events recorded, want 5", n)
	}
}

// Without url:, the URL is the one hookd was called at; a trusted proxy's
// X-Forwarded-Proto says the scheme, anyone else's is ignored.
func TestSignedURLBehindProxy(t *testing.T) {
	const yaml = `
sources:
  square: {verify: {provider: square, secret: sq-key}}
rules:
  - {name: r, source: square, actions: [{shell: {command: ["true"]}}]}
`
	const body = `{"event_id":"e-%d","type":"payment.created"}`
	for _, tc := range []struct {
		name    string
		trusted bool
		proto   string // X-Forwarded-Proto sent
		scheme  string // what the sender signed
		ok      bool
	}{
		{"direct, http", false, "", "http", true},
		{"direct, claims https", false, "https", "https", false},
		{"direct, proto ignored", false, "https", "http", true},
		{"trusted proxy, https", true, "https", "https", true},
		{"trusted proxy, first of a list", true, "https, http", "https", true},
		{"trusted proxy, http signed as https", true, "http", "https", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := startEngine(t, "", yaml, func(c *rules.Config) {
				if tc.trusted {
					c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
				}
			})
			u := strings.Replace(te.url, "http://", tc.scheme+"://", 1) + "/hooks/square?x=1"
			b := []byte(strings.Replace(body, "%d", "1", 1))
			h, err := verify.Sign(verify.Config{Provider: "square", Secrets: []string{"sq-key"}, URL: u}, b, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if tc.proto != "" {
				h.Set("X-Forwarded-Proto", tc.proto)
			}
			a := te.send("POST", "/hooks/square?x=1", h, b)
			if (a.code == 200) != tc.ok {
				t.Fatalf("%d %s, want ok=%v", a.code, a.raw, tc.ok)
			}
		})
	}
}

// outcome is the status of a recorded delivery: its answer's, or, for a
// sender answered with its own document (Twilio's TwiML), the outcome
// logged for the source's last delivery.
func outcome(te *testEngine, source string, a answer) string {
	if a.code != http.StatusOK {
		return ""
	}
	if s, ok := a.body["status"].(string); ok {
		return s
	}
	var last string
	for _, l := range strings.Split(te.logs.String(), "\n") {
		if strings.Contains(l, `msg="webhook received" source=`+source+" ") {
			if _, o, ok := strings.Cut(l, " outcome="); ok {
				last, _, _ = strings.Cut(o, " ")
			}
		}
	}
	return last
}
