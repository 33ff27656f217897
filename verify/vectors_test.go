package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"testing"
	"time"
)

// vector is one request checked against a provider: published examples and
// copies of them with one thing changed, which must fail.
type vector struct {
	name   string
	header map[string]string
	body   string
	now    int64 // unix seconds; 0 means the zero time (wall clock)
	ok     bool
}

func runVectors(t *testing.T, c Config, vs []vector) {
	t.Helper()
	p, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		t.Run(v.name, func(t *testing.T) {
			h := http.Header{}
			for k, val := range v.header {
				h.Set(k, val)
			}
			r := &Request{Header: h, Body: []byte(v.body)}
			if v.now != 0 {
				r.Now = time.Unix(v.now, 0)
			}
			err := p.Verify(r)
			if (err == nil) != v.ok {
				t.Fatalf("Verify = %v, want ok=%v", err, v.ok)
			}
			if err != nil && !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("error %v does not wrap ErrUnauthorized", err)
			}
		})
	}
}

// with returns a copy of m with k set to v (or deleted when v is "").
func with(m map[string]string, k, v string) map[string]string {
	c := make(map[string]string, len(m))
	for a, b := range m {
		c[a] = b
	}
	if v == "" {
		delete(c, k)
	} else {
		c[k] = v
	}
	return c
}

// The worked example on Slack's "Verifying requests from Slack" page: a
// slash command, so a form body.
func TestSlackPublishedVector(t *testing.T) {
	const (
		secret = "8f742231b10e8888abcd99yyyzzz85a5"
		ts     = "1531420618"
		now    = 1531420618
		body   = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
		sig    = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
	)
	h := map[string]string{"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}
	runVectors(t, Config{Provider: "slack", Secrets: []string{secret}}, []vector{
		{"published", h, body, now, true},
		{"published, 5 minutes later", h, body, now + 300, true},
		{"published, 5 minutes earlier", h, body, now - 300, true},
		{"body changed", h, body[:len(body)-1] + "d", now, false},
		{"signature changed", with(h, "X-Slack-Signature", sig[:len(sig)-1]+"4"), body, now, false},
		{"timestamp changed", with(h, "X-Slack-Request-Timestamp", "1531420619"), body, now, false},
		{"too old", h, body, now + 301, false},
		{"too far in the future", h, body, now - 301, false},
		{"no prefix", with(h, "X-Slack-Signature", sig[3:]), body, now, false},
		{"v1 prefix", with(h, "X-Slack-Signature", "v1="+sig[3:]), body, now, false},
		{"upper-case hex", with(h, "X-Slack-Signature", "v0=A2114D57B48EAC39B9AD189DD8316235A7B4A8D21A10BD27519666489C69B503"), body, now, true},
		{"no timestamp", with(h, "X-Slack-Request-Timestamp", ""), body, now, false},
		{"no signature", with(h, "X-Slack-Signature", ""), body, now, false},
		{"timestamp not a number", with(h, "X-Slack-Request-Timestamp", "15314206l8"), body, now, false},
		{"timestamp negative", with(h, "X-Slack-Request-Timestamp", "-1531420618"), body, now, false},
		{"timestamp huge", with(h, "X-Slack-Request-Timestamp", "99999999999999999999999"), body, now, false},
	})
}

// The test vector of the Standard Webhooks reference libraries
// (standard-webhooks/standard-webhooks, libraries/*/ tests).
func TestStandardPublishedVector(t *testing.T) {
	const (
		id   = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		ts   = "1614265330"
		now  = 1614265330
		body = `{"test": 2432232314}`
		sig  = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	h := map[string]string{"webhook-id": id, "webhook-timestamp": ts, "webhook-signature": sig}
	svix := map[string]string{"svix-id": id, "svix-timestamp": ts, "svix-signature": sig}
	vs := []vector{
		{"published", h, body, now, true},
		{"svix header names", svix, body, now, true},
		{"among other signatures", with(h, "webhook-signature", "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,abc "+sig+" v1a,xyz"), body, now, true},
		{"body changed", h, `{"test": 2432232315}`, now, false},
		{"signature changed", with(h, "webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OF="), body, now, false},
		{"timestamp changed", with(h, "webhook-timestamp", "1614265331"), body, now, false},
		{"id changed", with(h, "webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJel"), body, now, false},
		{"other version only", with(h, "webhook-signature", "v2"+sig[2:]), body, now, false},
		{"too old", h, body, now + 301, false},
		{"too far in the future", h, body, now - 301, false},
		{"missing id", with(h, "webhook-id", ""), body, now, false},
		{"missing timestamp", with(h, "webhook-timestamp", ""), body, now, false},
		{"missing signature", with(h, "webhook-signature", ""), body, now, false},
		{"not base64", with(h, "webhook-signature", "v1,!!!!SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="), body, now, false},
		{"mixed header names", map[string]string{"webhook-id": id, "svix-timestamp": ts, "svix-signature": sig}, body, now, false},
	}
	runVectors(t, Config{Provider: "standard", Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}, vs)
	// The reference libraries take the secret with or without its prefix.
	runVectors(t, Config{Provider: "standard", Secrets: []string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}, vs[:1])

	p, _ := New(Config{Provider: "standard", Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}})
	got := p.(*standard).signature(id, ts, []byte(body))
	if got != sig {
		t.Fatalf("signature = %s, want %s", got, sig)
	}
}

// Stripe publishes the scheme rather than a vector, so the expected value is
// computed here with crypto/hmac directly, independently of the provider.
func TestStripeDocumentedScheme(t *testing.T) {
	const (
		secret = "whsec_test_secret"
		ts     = "1700000000"
		now    = 1700000000
		body   = `{"id":"evt_1","type":"payment_intent.succeeded"}`
	)
	m := hmac.New(sha256.New, []byte(secret)) // the whole whsec_ string is the key
	m.Write([]byte(ts + "." + body))
	v1 := hex.EncodeToString(m.Sum(nil))
	other := hex.EncodeToString(make([]byte, 32))
	h := map[string]string{"Stripe-Signature": "t=" + ts + ",v1=" + v1}
	runVectors(t, Config{Provider: "stripe", Secrets: []string{secret}}, []vector{
		{"documented scheme", h, body, now, true},
		{"v0 and second v1", with(h, "Stripe-Signature", "t="+ts+",v1="+other+",v1="+v1+",v0="+other), body, now, true},
		{"signature among malformed ones", with(h, "Stripe-Signature", "t="+ts+",v1=zz,v1=,v1="+v1), body, now, true},
		{"body changed", h, body + " ", now, false},
		{"signature changed", with(h, "Stripe-Signature", "t="+ts+",v1="+v1[:63]+"x"), body, now, false},
		{"timestamp changed", with(h, "Stripe-Signature", "t=1700000001,v1="+v1), body, now, false},
		{"only v0", with(h, "Stripe-Signature", "t="+ts+",v0="+v1), body, now, false},
		{"no t", with(h, "Stripe-Signature", "v1="+v1), body, now, false},
		{"two t", with(h, "Stripe-Signature", "t="+ts+",t="+ts+",v1="+v1), body, now, false},
		{"too old", h, body, now + 301, false},
		{"too far in the future", h, body, now - 301, false},
		{"empty", with(h, "Stripe-Signature", ""), body, now, false},
		{"garbage", with(h, "Stripe-Signature", ",,,=,=="), body, now, false},
	})
	// Stripe keys the HMAC with the string as given: stripping whsec_ must
	// not verify.
	runVectors(t, Config{Provider: "stripe", Secrets: []string{"test_secret"}}, []vector{
		{"key without whsec_", h, body, now, false},
	})
}
