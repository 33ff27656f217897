package verify

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// fuzzVerify feeds a provider requests whose two main header values (a and
// b, mapped to names) and body are random. Seeds are well formed but signed
// with another secret, so no mutation can stumble on a valid request short of
// forging the MAC: every input must fail, with ErrUnauthorized, and nothing
// may panic.
func fuzzVerify(f *testing.F, provider string, names ...string) {
	c := testConfigs[provider]
	p := mustNew(f, c)
	wrong := c
	wrong.Secrets = []string{"whsec_d3Jvbmcga2V5"}
	wrong.Password = "wrong"
	if c.PrivateKey != "" {
		wrong.PrivateKey, wrong.PublicKeys = otherPrivateKey(provider), nil
	}
	seedBody, seed, err := SignRequest(wrong, []byte(testBody), t0, Meta{})
	if err != nil {
		f.Fatal(err)
	}
	extra := seed.Clone()
	for _, n := range names {
		extra.Del(n)
	}
	get := func(i int) string {
		if i < len(names) {
			return seed.Get(names[i])
		}
		return ""
	}
	f.Add(get(0), get(1), seedBody)
	f.Add("", "", []byte(""))
	f.Add(get(0), "", []byte(`{"type":"url_verification","challenge":"x"}`))
	f.Fuzz(func(t *testing.T, a, b string, body []byte) {
		h := extra.Clone()
		q := url.Values{}
		for i, v := range []string{a, b} {
			if i < len(names) {
				h[http.CanonicalHeaderKey(names[i])] = []string{v}
			}
		}
		r := &Request{Header: h, Query: q, Body: body, Now: t0}
		if err := p.Verify(r); err == nil {
			t.Fatalf("a request signed with no secret verified: %v %q", h, body)
		} else if !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("error %v does not wrap ErrUnauthorized", err)
		}
		_ = json.Unmarshal(body, &r.JSON)
		p.DeliveryID(r)
		p.Event(r)
		if ch, ok := p.(Challenger); ok {
			ch.Challenge(r)
		}
	})
}

func FuzzVerifyGitHub(f *testing.F) { fuzzVerify(f, "github", "X-Hub-Signature-256") }
func FuzzVerifyGitLab(f *testing.F) { fuzzVerify(f, "gitlab", "X-Gitlab-Token", "webhook-signature") }
func FuzzVerifyGitea(f *testing.F) {
	fuzzVerify(f, "gitea", "X-Gitea-Signature", "X-Forgejo-Signature")
}
func FuzzVerifyBitbucket(f *testing.F) { fuzzVerify(f, "bitbucket", "X-Hub-Signature") }
func FuzzVerifyStripe(f *testing.F)    { fuzzVerify(f, "stripe", "Stripe-Signature") }
func FuzzVerifySlack(f *testing.F) {
	fuzzVerify(f, "slack", "X-Slack-Signature", "X-Slack-Request-Timestamp")
}
func FuzzVerifyShopify(f *testing.F) { fuzzVerify(f, "shopify", "X-Shopify-Hmac-Sha256") }
func FuzzVerifyStandard(f *testing.F) {
	fuzzVerify(f, "standard", "webhook-signature", "webhook-timestamp")
}
func FuzzVerifyHMAC(f *testing.F)  { fuzzVerify(f, "hmac", "X-Signature", "X-Timestamp") }
func FuzzVerifyToken(f *testing.F) { fuzzVerify(f, "token", "X-Token") }
func FuzzVerifyBasic(f *testing.F) { fuzzVerify(f, "basic", "Authorization") }

func FuzzVerifyLinear(f *testing.F)    { fuzzVerify(f, "linear", "Linear-Signature") }
func FuzzVerifySentry(f *testing.F)    { fuzzVerify(f, "sentry", "Sentry-Hook-Signature") }
func FuzzVerifyPagerDuty(f *testing.F) { fuzzVerify(f, "pagerduty", "X-PagerDuty-Signature") }
func FuzzVerifyPaddle(f *testing.F)    { fuzzVerify(f, "paddle", "Paddle-Signature") }
func FuzzVerifyJira(f *testing.F)      { fuzzVerify(f, "jira", "X-Hub-Signature") }
func FuzzVerifyBuildkite(f *testing.F) {
	fuzzVerify(f, "buildkite", "X-Buildkite-Signature", "X-Buildkite-Token")
}
func FuzzVerifyCircleCI(f *testing.F) { fuzzVerify(f, "circleci", "Circleci-Signature") }
func FuzzVerifyVercel(f *testing.F)   { fuzzVerify(f, "vercel", "X-Vercel-Signature") }
func FuzzVerifyHeroku(f *testing.F)   { fuzzVerify(f, "heroku", "Heroku-Webhook-Hmac-SHA256") }
func FuzzVerifyTypeform(f *testing.F) { fuzzVerify(f, "typeform", "Typeform-Signature") }
func FuzzVerifyIntercom(f *testing.F) { fuzzVerify(f, "intercom", "X-Hub-Signature") }
func FuzzVerifyMailgun(f *testing.F)  { fuzzVerify(f, "mailgun", "Content-Type") }
func FuzzVerifySendGrid(f *testing.F) {
	fuzzVerify(f, "sendgrid", sendgridSig, sendgridTS)
}
func FuzzVerifySquare(f *testing.F) { fuzzVerify(f, "square", "X-Square-Hmacsha256-Signature") }
func FuzzVerifyHubSpot(f *testing.F) {
	fuzzVerify(f, "hubspot", "X-HubSpot-Signature-v3", "X-HubSpot-Request-Timestamp")
}
func FuzzVerifyTwilio(f *testing.F) { fuzzVerify(f, "twilio", "X-Twilio-Signature", "Content-Type") }

func FuzzVerifyDiscord(f *testing.F) {
	fuzzVerify(f, "discord", "X-Signature-Ed25519", "X-Signature-Timestamp")
}
func FuzzVerifyTwitch(f *testing.F) {
	fuzzVerify(f, "twitch", "Twitch-Eventsub-Message-Signature", "Twitch-Eventsub-Message-Timestamp")
}
func FuzzVerifyZoom(f *testing.F) { fuzzVerify(f, "zoom", "x-zm-signature", "x-zm-request-timestamp") }
func FuzzVerifyMeta(f *testing.F) { fuzzVerify(f, "meta", "X-Hub-Signature-256") }

// An unsigned handshake's echo is text without a control character (no
// line break), within challengeMax, and Meta's never answers without the
// verify token.
func FuzzGreet(f *testing.F) {
	f.Add("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock", "GET")
	f.Add("validationToken=Validation%3A+x", "POST")
	f.Add("validationtoken=%3Cb%3E", "POST")
	meta, graph := mustNew(f, testConfigs["meta"]).(Greeter), mustNew(f, testConfigs["graph"]).(Greeter)
	f.Fuzz(func(t *testing.T, query, method string) {
		q, _ := url.ParseQuery(query)
		for _, g := range []Greeter{meta, graph} {
			a, greeted, err := g.Greet(&Request{Method: method, Query: q})
			if err != nil && !errors.Is(err, ErrUnauthorized) && !errors.Is(err, ErrBadRequest) {
				t.Fatalf("error %v wraps neither ErrUnauthorized nor ErrBadRequest", err)
			}
			if !greeted || err != nil {
				continue
			}
			if !utf8.Valid(a.Body) || strings.IndexFunc(string(a.Body), unicode.IsControl) >= 0 || len(a.Body) == 0 || len(a.Body) > challengeMax {
				t.Fatalf("echoed %q", a.Body)
			}
			if g == meta && q.Get("hub.verify_token") != "meatyhamhock" {
				t.Fatalf("answered with verify token %q", q.Get("hub.verify_token"))
			}
		}
	})
}
