package verify

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// sigHeaders names the header that carries each new sender's signature
// ("" for Mailgun, whose signature is in the body), and whether the scheme
// signs a timestamp.
var sigHeaders = map[string]struct {
	header string
	stamp  bool
}{
	"linear": {"Linear-Signature", true}, "sentry": {"Sentry-Hook-Signature", false},
	"pagerduty": {"X-PagerDuty-Signature", false}, "paddle": {"Paddle-Signature", true},
	"jira": {"X-Hub-Signature", false}, "buildkite": {"X-Buildkite-Signature", true},
	"circleci": {"Circleci-Signature", false}, "vercel": {"X-Vercel-Signature", false},
	"heroku": {"Heroku-Webhook-Hmac-SHA256", false}, "typeform": {"Typeform-Signature", false},
	"intercom": {"X-Hub-Signature", false}, "square": {"X-Square-Hmacsha256-Signature", false},
	"hubspot": {"X-HubSpot-Signature-v3", true}, "twilio": {"X-Twilio-Signature", false},
	"sendgrid": {sendgridSig, true}, "mailgun": {"", true},
}

// Forgeries of each sender's request: missing, empty and wrong signatures,
// a stale or replayed timestamp, a changed body. A replay within the
// tolerance, or of a scheme without a timestamp, has the original's
// delivery id: the engine answers it as a duplicate (engine tests).
func TestSenderForgeries(t *testing.T) {
	for name, sh := range sigHeaders {
		t.Run(name, func(t *testing.T) {
			c := testConfigs[name]
			p := mustNew(t, c)
			good := signed(t, c, testBody, t0)
			try := func(what string, r *Request, now time.Time, ok bool) {
				t.Helper()
				r.Now = now
				err := p.Verify(r)
				if (err == nil) != ok {
					t.Errorf("%s: Verify = %v, want ok=%v", what, err, ok)
				}
				if err != nil && !errors.Is(err, ErrUnauthorized) {
					t.Errorf("%s: %v does not wrap ErrUnauthorized", what, err)
				}
			}
			cp := func(body string) *Request {
				return &Request{Header: good.Header.Clone(), Body: []byte(body)}
			}
			try("as signed", cp(string(good.Body)), t0, true)
			changed := strings.Replace(string(good.Body), "thing.happened", "thing.happenef", 1)
			if name == "mailgun" {
				// Mailgun signs timestamp and token only: a changed token
				// is a forgery; a changed event is a duplicate of the token.
				changed = strings.Replace(string(good.Body), `"token":"`, `"token":"0`, 1)
			}
			try("body changed", cp(changed), t0, false)
			try("body extended", cp(string(good.Body)+" "), t0, name == "mailgun")
			if sh.header != "" {
				r := cp(string(good.Body))
				r.Header.Del(sh.header)
				try("signature missing", r, t0, false)
				r.Header.Set(sh.header, " ")
				try("signature empty", r, t0, false)
				r.Header.Set(sh.header, "x"+good.Header.Get(sh.header))
				try("signature garbled", r, t0, false)
			} else {
				try("no signature in the body", cp(testBody), t0, false)
				try("empty body", cp(""), t0, false)
			}
			other := c
			other.Secrets = []string{"whsec_b3RoZXI="}
			if c.PrivateKey != "" {
				other.PrivateKey, other.PublicKeys = otherPrivateKey(name), nil
			}
			wrong := signed(t, other, testBody, t0)
			try("signed with another secret", wrong, t0, false)
			if sh.stamp {
				tol := DefaultTolerance
				if c.Tolerance > 0 {
					tol = c.Tolerance
				} else if name == "linear" {
					tol = time.Minute
				} else if name == "mailgun" {
					tol = mailgunTolerance
				}
				try("replayed later", cp(string(good.Body)), t0.Add(tol+time.Second), false)
				try("from the future", cp(string(good.Body)), t0.Add(-tol-time.Second), false)
			}
		})
	}
	for name := range testConfigs {
		if _, ok := sigHeaders[name]; !ok && !strings.Contains(" basic bitbucket gitea github gitlab hmac none shopify slack standard stripe token discord twitch zoom graph meta ", " "+name+" ") {
			t.Errorf("no forgery test for %s", name)
		}
	}
}

// Defaults the senders document: Paddle five seconds, Linear a minute;
// Mailgun's retries, which resend the first signature, end ~8 h later.
func TestSenderDefaultTolerance(t *testing.T) {
	for name, tol := range map[string]time.Duration{"paddle": 5 * time.Second, "linear": time.Minute, "buildkite": DefaultTolerance, "mailgun": 12 * time.Hour} {
		c := testConfigs[name]
		c.Tolerance = 0
		p := mustNew(t, c)
		r := signed(t, c, testBody, t0)
		r.Now = t0.Add(tol)
		if err := p.Verify(r); err != nil {
			t.Errorf("%s at %s: %v", name, tol, err)
		}
		r.Now = t0.Add(tol + time.Second)
		if p.Verify(r) == nil {
			t.Errorf("%s verified past %s", name, tol)
		}
	}
}

func TestSenderIDsAndEvents(t *testing.T) {
	for _, tc := range []struct {
		provider  string
		header    map[string]string
		body      string
		id, event string
	}{
		{"linear", map[string]string{"Linear-Delivery": "d1", "Linear-Event": "Issue"}, `{}`, "d1", "Issue"},
		{"sentry", map[string]string{"Request-ID": "r1", "Sentry-Hook-Resource": "issue"}, `{}`, "r1", "issue"},
		{"pagerduty", nil, `{"event":{"id":"01DEN","event_type":"incident.triggered"}}`, "01DEN", "incident.triggered"},
		{"paddle", nil, `{"event_id":"evt_01","event_type":"transaction.completed"}`, "evt_01", "transaction.completed"},
		{"jira", map[string]string{"X-Atlassian-Webhook-Identifier": "a1"}, `{"webhookEvent":"jira:issue_created"}`, "a1", "jira:issue_created"},
		{"buildkite", map[string]string{"X-Buildkite-Event": "build.finished"}, `{}`, "", "build.finished"},
		{"circleci", map[string]string{"Circleci-Event-Type": "job-completed"}, `{"id":"c1"}`, "c1", "job-completed"},
		{"vercel", nil, `{"id":"v1","type":"deployment.created"}`, "v1", "deployment.created"},
		{"heroku", nil, `{"webhook_metadata":{"delivery":{"id":"h1"},"event":{"include":"api:release"}}}`, "h1", "api:release"},
		{"typeform", nil, `{"event_id":"t1","event_type":"form_response"}`, "t1", "form_response"},
		{"intercom", nil, `{"id":"notif_1","topic":"conversation.user.created"}`, "notif_1", "conversation.user.created"},
		{"square", nil, `{"event_id":"s1","type":"payment.created"}`, "s1", "payment.created"},
		{"hubspot", nil, `[{"eventId":1,"subscriptionType":"contact.creation","attemptNumber":3}]`, "hubspot:8144db89f901ae0446ccf271a200e4cccc539cb8b28c11dc05c24a275b11699b", "contact.creation"},
		{"hubspot", nil, `{"eventId":1}`, "", ""},
		{"twilio", map[string]string{"I-Twilio-Idempotency-Token": "i1"}, ``, "i1", ""},
		{"sendgrid", nil, `[{"event":"delivered","sg_event_id":"e1"}]`, "", "delivered"},
		{"mailgun", nil, `{"signature":{"token":"tok1"},"event-data":{"event":"opened"}}`, "tok1", "opened"},
	} {
		p := mustNew(t, testConfigs[tc.provider])
		h := http.Header{}
		for k, v := range tc.header {
			h.Set(k, v)
		}
		r := &Request{Header: h, Body: []byte(tc.body)}
		if ReadsBody(p) {
			_ = jsonUnmarshal(tc.body, &r.JSON)
		}
		if id, ev := p.DeliveryID(r), p.Event(r); id != tc.id || ev != tc.event {
			t.Errorf("%s: DeliveryID, Event = %q, %q, want %q, %q", tc.provider, id, ev, tc.id, tc.event)
		}
		// HubSpot's id comes from a batch of events; anything else is hashed.
		if HashesIDs(tc.provider) != (tc.id == "") && (tc.provider != "hubspot" || tc.id != "") {
			t.Errorf("%s: HashesIDs = %v", tc.provider, HashesIDs(tc.provider))
		}
	}
}

func jsonUnmarshal(s string, v any) error {
	if s == "" {
		return nil
	}
	return json.Unmarshal([]byte(s), v)
}

// Buildkite sends either a signature or, when set to, its token in clear;
// a token never rescues a bad signature, and it is redacted.
func TestBuildkiteToken(t *testing.T) {
	c := testConfigs["buildkite"]
	tok := map[string]string{"X-Buildkite-Token": c.Secrets[0]}
	runVectors(t, c, []vector{
		{"token", tok, testBody, 0, true},
		{"wrong token", with(tok, "X-Buildkite-Token", "bk-toke"), testBody, 0, false},
		{"token beside a bad signature", with(tok, "X-Buildkite-Signature", "timestamp=1700000000,signature="+strings.Repeat("0", 64)), testBody, 1700000000, false},
		{"neither", nil, testBody, 0, false},
	})
	s, ok := mustNew(t, c).(Sensitive)
	if !ok || len(s.SensitiveHeaders()) != 1 || s.SensitiveHeaders()[0] != "X-Buildkite-Token" {
		t.Fatal("buildkite's token header is not redacted")
	}
}
