package verify

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Unix(1700000000, 0)

// testConfigs holds a working configuration for every provider, keyed by
// name; TestRoundTrip fails when a registered provider is missing here.
var testConfigs = map[string]Config{
	"basic":     {Provider: "basic", Username: "hook", Password: "pa:ss w0rd"},
	"bitbucket": {Provider: "bitbucket", Secrets: []string{"bb-secret"}},
	"gitea":     {Provider: "gitea", Secrets: []string{"gitea-secret"}},
	"github":    {Provider: "github", Secrets: []string{"gh-secret"}},
	"gitlab":    {Provider: "gitlab", Secrets: []string{"whsec_" + base64.StdEncoding.EncodeToString([]byte("gitlab-signing-key")), "gl-token"}},
	"hmac":      {Provider: "hmac", Secrets: []string{"h-secret"}, Header: "X-Signature", Algorithm: "sha512", Encoding: "base64", Prefix: "sha512=", TimestampHeader: "X-Timestamp", Template: "v1:{timestamp}:{body}"},
	"none":      {Provider: "none"},
	"shopify":   {Provider: "shopify", Secrets: []string{"shpss_secret"}},
	"slack":     {Provider: "slack", Secrets: []string{"slack-signing-secret"}},
	"standard":  {Provider: "standard", Secrets: []string{"whsec_" + base64.StdEncoding.EncodeToString([]byte("standard-key-0123456789"))}},
	"stripe":    {Provider: "stripe", Secrets: []string{"whsec_stripe"}},
	"token":     {Provider: "token", Secrets: []string{"tok"}, Header: "X-Token"},
	"linear":    {Provider: "linear", Secrets: []string{"lin_wh_secret"}},
	"sentry":    {Provider: "sentry", Secrets: []string{"sentry-client-secret"}},
	"pagerduty": {Provider: "pagerduty", Secrets: []string{"pd-secret"}},
	"paddle":    {Provider: "paddle", Secrets: []string{"pdl_ntfset_secret"}, Tolerance: time.Hour},
	"jira":      {Provider: "jira", Secrets: []string{"jira-secret"}},
	"buildkite": {Provider: "buildkite", Secrets: []string{"bk-token"}},
	"circleci":  {Provider: "circleci", Secrets: []string{"cci-secret"}},
	"vercel":    {Provider: "vercel", Secrets: []string{"vercel-secret"}},
	"heroku":    {Provider: "heroku", Secrets: []string{"heroku-secret"}},
	"typeform":  {Provider: "typeform", Secrets: []string{"tf-secret"}},
	"intercom":  {Provider: "intercom", Secrets: []string{"ic-client-secret"}},
	"square":    {Provider: "square", Secrets: []string{"sq-signature-key"}, URL: "https://hooks.example.com/hooks/square"},
	"hubspot":   {Provider: "hubspot", Secrets: []string{"hs-client-secret"}, URL: "https://hooks.example.com/hooks/hubspot?portal=1"},
	"mailgun":   {Provider: "mailgun", Secrets: []string{"key-mailgun-signing"}},
	"sendgrid":  {Provider: "sendgrid", PublicKeys: []string{sendgridPublic}, PrivateKey: sendgridPrivate},
	"twilio":    {Provider: "twilio", Secrets: []string{"tw-auth-token"}, URL: "https://hooks.example.com/hooks/twilio?x=1"},
	"discord":   {Provider: "discord", PrivateKey: discordSeed},
	"twitch":    {Provider: "twitch", Secrets: []string{"twitch-secret-0123"}},
	"zoom":      {Provider: "zoom", Secrets: []string{"zoom-secret-token"}},
	"meta":      {Provider: "meta", Secrets: []string{"meta-app-secret"}, VerifyToken: "meatyhamhock"},
	"graph":     {Provider: "graph", Secrets: []string{"SecretClientState"}},
}

// objectBodies are the providers that sign only JSON object bodies (the
// body carries a signed value).
var objectBodies = map[string]bool{"linear": true}

// formBodies are the providers that sign a JSON object or a form (the body
// carries the signature), and refuse any other body.
var formBodies = map[string]bool{"mailgun": true}

// discordSeed is a test key: RFC 8032's first test vector's secret key.
const discordSeed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"

// bodyInSecret lists the providers whose secret travels in the body, so
// that Sign cannot sign an arbitrary one: tested in graph_test.go.
var bodyInSecret = map[string]bool{"graph": true}

const testBody = `{"id":"evt_1","type":"thing.happened","event_id":"Ev1","event":{"type":"app_mention"}}`

func mustNew(t testing.TB, c Config) Provider {
	t.Helper()
	p, err := New(c)
	if err != nil {
		t.Fatalf("New(%+v): %v", c, err)
	}
	return p
}

func signed(t testing.TB, c Config, body string, at time.Time) *Request {
	t.Helper()
	b, h, err := SignRequest(c, []byte(body), at, Meta{})
	if err != nil {
		t.Fatalf("Sign(%s): %v", c.Provider, err)
	}
	return &Request{Header: h, Query: url.Values{}, Body: b}
}

// What Sign produces, Verify accepts, for every provider; and not with
// another secret.
func TestRoundTrip(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			c, ok := testConfigs[name]
			if !ok {
				t.Fatalf("no test configuration for provider %s", name)
			}
			if bodyInSecret[name] {
				t.Skip("the secret travels in the body")
			}
			p := mustNew(t, c)
			for _, body := range []string{testBody, "", "a=b&c=d", "\x00\xff"} {
				if objectBodies[name] && body != testBody || formBodies[name] && body == "\x00\xff" {
					continue
				}
				r := signed(t, c, body, t0)
				r.Now = t0.Add(time.Minute)
				if err := p.Verify(r); err != nil {
					t.Fatalf("body %q: %v (headers %v)", body, err, r.Header)
				}
			}
			if name == "none" {
				return
			}
			other := c
			other.Secrets = []string{"whsec_b3RoZXI="} // valid for standard too
			other.Password = "other"
			if c.PrivateKey != "" {
				other.PrivateKey, other.PublicKeys = otherPrivateKey(name), nil
			}
			r := signed(t, other, testBody, t0)
			r.Now = t0
			if err := p.Verify(r); !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("signed with another secret: Verify = %v", err)
			}
		})
	}
}

// secrets: [old, new] accepts either, so a secret can be rotated without
// dropping deliveries.
func TestRotation(t *testing.T) {
	for _, name := range Names() {
		c := testConfigs[name]
		if len(c.Secrets) == 0 || bodyInSecret[name] {
			continue
		}
		t.Run(name, func(t *testing.T) {
			oldC, newC := c, c
			oldC.Secrets = []string{c.Secrets[0]}
			newC.Secrets = []string{"whsec_bmV3LXNlY3JldA=="}
			both := c
			both.Secrets = []string{oldC.Secrets[0], newC.Secrets[0]}
			p := mustNew(t, both)
			for _, signer := range []Config{oldC, newC} {
				r := signed(t, signer, testBody, t0)
				r.Now = t0
				if err := p.Verify(r); err != nil {
					t.Fatalf("signed with %q: %v", signer.Secrets[0], err)
				}
			}
			third := c
			third.Secrets = []string{"whsec_dGhpcmQ="}
			r := signed(t, third, testBody, t0)
			r.Now = t0
			if p.Verify(r) == nil {
				t.Fatal("a third secret verified")
			}
		})
	}
}

func TestTolerance(t *testing.T) {
	for _, name := range []string{"stripe", "slack", "standard", "hmac", "gitlab", "zoom"} {
		for _, tol := range []time.Duration{0, time.Minute, time.Hour} {
			c := testConfigs[name]
			c.Tolerance = tol
			want := tol
			if want == 0 {
				want = DefaultTolerance
			}
			p := mustNew(t, c)
			for _, tc := range []struct {
				skew time.Duration
				ok   bool
			}{
				{0, true},
				{want, true},
				{-want, true},
				{want + time.Second, false},
				{-want - time.Second, false},
				{100 * 365 * 24 * time.Hour, false},
				{-100 * 365 * 24 * time.Hour, false},
			} {
				r := signed(t, c, testBody, t0)
				r.Now = t0.Add(tc.skew)
				if err := p.Verify(r); (err == nil) != tc.ok {
					t.Errorf("%s tolerance %s, clock %s after signing: Verify = %v, want ok=%v", name, tol, tc.skew, err, tc.ok)
				}
			}
		}
	}
}

func TestSlackChallenge(t *testing.T) {
	c := testConfigs["slack"]
	p := mustNew(t, c).(Challenger)
	body := `{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`
	r := signed(t, c, body, t0)
	r.Now = t0
	if err := mustNew(t, c).Verify(r); err != nil {
		t.Fatal(err)
	}
	for _, parsed := range []bool{false, true} {
		if parsed {
			_ = json.Unmarshal(r.Body, &r.JSON)
		}
		resp, ok := p.Challenge(r)
		if !ok || string(resp.Body) != `{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}` || resp.ContentType != "application/json" {
			t.Fatalf("Challenge (JSON parsed %v) = %+v, %v", parsed, resp, ok)
		}
	}
	for _, body := range []string{testBody, `{"type":"event_callback"}`, "token=x&type=url_verification", "", "[1]"} {
		if resp, ok := p.Challenge(&Request{Body: []byte(body)}); ok {
			t.Fatalf("Challenge(%q) = %+v, true", body, resp)
		}
	}
}

func TestDeliveryIDAndEvent(t *testing.T) {
	var parsed any
	_ = json.Unmarshal([]byte(testBody), &parsed)
	for _, tc := range []struct {
		provider  string
		header    map[string]string
		json      any
		id, event string
	}{
		{"gitlab", map[string]string{"Idempotency-Key": "k1", "X-Gitlab-Event-UUID": "u1", "X-Gitlab-Event": "Push Hook"}, nil, "k1", "Push Hook"},
		{"gitlab", map[string]string{"X-Gitlab-Event-UUID": "u1", "X-Gitlab-Event": "Tag Push Hook"}, nil, "u1", "Tag Push Hook"},
		{"gitea", map[string]string{"X-Gitea-Delivery": "d1", "X-Gitea-Event": "push"}, nil, "d1", "push"},
		{"gitea", map[string]string{"X-Forgejo-Delivery": "d2", "X-Forgejo-Event": "issues"}, nil, "d2", "issues"},
		{"gitea", map[string]string{"X-Gogs-Delivery": "d3", "X-Gogs-Event": "create"}, nil, "d3", "create"},
		{"bitbucket", map[string]string{"X-Request-UUID": "r1", "X-Event-Key": "repo:push"}, nil, "r1", "repo:push"},
		{"shopify", map[string]string{"X-Shopify-Webhook-Id": "w1", "X-Shopify-Event-Id": "e1", "X-Shopify-Topic": "orders/create"}, nil, "e1:orders/create", "orders/create"},
		{"shopify", map[string]string{"X-Shopify-Webhook-Id": "w1", "X-Shopify-Topic": "orders/create"}, nil, "w1", "orders/create"},
		{"stripe", nil, parsed, "evt_1", "thing.happened"},
		{"stripe", nil, nil, "", ""},
		{"slack", nil, parsed, "Ev1", "app_mention"},
		{"slack", nil, map[string]any{"type": "url_verification"}, "", "url_verification"},
		{"slack", nil, map[string]any{"command": "/deploy"}, "", ""},
		{"standard", map[string]string{"webhook-id": "msg_1"}, parsed, "msg_1", "thing.happened"},
		{"standard", map[string]string{"svix-id": "msg_2"}, parsed, "msg_2", "thing.happened"},
		{"hmac", map[string]string{"X-Signature": "x"}, parsed, "", ""},
		{"token", map[string]string{"X-Token": "x"}, parsed, "", ""},
		{"basic", nil, parsed, "", ""},
		{"none", nil, parsed, "", ""},
	} {
		p := mustNew(t, testConfigs[tc.provider])
		h := http.Header{}
		for k, v := range tc.header {
			h.Set(k, v)
		}
		r := &Request{Header: h, JSON: tc.json}
		if id, ev := p.DeliveryID(r), p.Event(r); id != tc.id || ev != tc.event {
			t.Errorf("%s %v: DeliveryID, Event = %q, %q, want %q, %q", tc.provider, tc.header, id, ev, tc.id, tc.event)
		}
	}
}

func TestSensitive(t *testing.T) {
	for _, tc := range []struct {
		c             Config
		header, query []string
	}{
		{testConfigs["gitlab"], []string{"X-Gitlab-Token"}, nil},
		{testConfigs["token"], []string{"X-Token"}, nil},
		{Config{Provider: "token", Secrets: []string{"t"}, Query: "key"}, nil, []string{"key"}},
		{testConfigs["basic"], []string{"Authorization"}, nil},
	} {
		s, ok := mustNew(t, tc.c).(Sensitive)
		if !ok {
			t.Fatalf("%s is not Sensitive", tc.c.Provider)
		}
		if h, q := s.SensitiveHeaders(), s.SensitiveQuery(); !slices.Equal(h, tc.header) || !slices.Equal(q, tc.query) {
			t.Errorf("%s: sensitive %v %v, want %v %v", tc.c.Provider, h, q, tc.header, tc.query)
		}
	}
	// Signature schemes never see the secret in clear.
	for _, name := range []string{"github", "gitea", "bitbucket", "stripe", "slack", "shopify", "standard", "hmac"} {
		if _, ok := mustNew(t, testConfigs[name]).(Sensitive); ok {
			t.Errorf("%s should not be Sensitive", name)
		}
	}
}

// Every provider is built from options it declares, so the loader can
// reject the others.
func TestOptionsDeclared(t *testing.T) {
	for name, c := range testConfigs {
		s, _ := Lookup(name)
		set := map[string]bool{
			"secret": len(c.Secrets) > 0, "header": c.Header != "", "query": c.Query != "",
			"algorithm": c.Algorithm != "", "encoding": c.Encoding != "", "prefix": c.Prefix != "",
			"timestamp_header": c.TimestampHeader != "", "template": c.Template != "",
			"username": c.Username != "", "password": c.Password != "", "separator": c.Separator != "",
		}
		for k, v := range set {
			if v && !slices.Contains(s.Options, k) {
				t.Errorf("%s uses %s but does not declare it", name, k)
			}
		}
	}
	for _, name := range []string{"stripe", "slack", "standard", "hmac", "gitlab", "zoom"} {
		if s, _ := Lookup(name); !slices.Contains(s.Options, "tolerance") {
			t.Errorf("%s is timestamped but does not accept tolerance", name)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	hm := func(f func(*Config)) Config {
		c := Config{Provider: "hmac", Secrets: []string{"s"}, Header: "X-Sig"}
		f(&c)
		return c
	}
	for _, tc := range []struct {
		name  string
		c     Config
		field string
	}{
		{"unknown provider", Config{Provider: "gitbucket"}, "provider"},
		{"gitlab no secret", Config{Provider: "gitlab"}, "secret"},
		{"gitea empty secret", Config{Provider: "gitea", Secrets: []string{""}}, "secret"},
		{"bitbucket empty second secret", Config{Provider: "bitbucket", Secrets: []string{"a", ""}}, "secret"},
		{"shopify no secret", Config{Provider: "shopify"}, "secret"},
		{"stripe no secret", Config{Provider: "stripe"}, "secret"},
		{"stripe negative tolerance", Config{Provider: "stripe", Secrets: []string{"s"}, Tolerance: -time.Second}, "tolerance"},
		{"slack no secret", Config{Provider: "slack"}, "secret"},
		{"standard not base64", Config{Provider: "standard", Secrets: []string{"whsec_not base64!"}}, "secret"},
		{"standard empty key", Config{Provider: "standard", Secrets: []string{"whsec_"}}, "secret"},
		{"hmac no header", hm(func(c *Config) { c.Header = "" }), "header"},
		{"hmac no secret", hm(func(c *Config) { c.Secrets = nil }), "secret"},
		{"hmac bad algorithm", hm(func(c *Config) { c.Algorithm = "md5" }), "algorithm"},
		{"hmac bad encoding", hm(func(c *Config) { c.Encoding = "base32" }), "encoding"},
		{"hmac template without body", hm(func(c *Config) { c.Template = "static" }), "template"},
		{"hmac unknown placeholder", hm(func(c *Config) { c.Template = "{ts}.{body}" }), "template"},
		{"hmac timestamp without header", hm(func(c *Config) { c.Template = "{timestamp}.{body}" }), "template"},
		{"hmac timestamp header unsigned", hm(func(c *Config) { c.TimestampHeader = "X-Ts"; c.Template = "{body}" }), "template"},
		{"hmac tolerance without timestamp", hm(func(c *Config) { c.Tolerance = time.Minute }), "tolerance"},
		{"token no secret", Config{Provider: "token", Header: "X-T"}, "secret"},
		{"token both", Config{Provider: "token", Secrets: []string{"s"}, Header: "X-T", Query: "t"}, "query"},
		{"token neither", Config{Provider: "token", Secrets: []string{"s"}}, "header"},
		{"basic no username", Config{Provider: "basic", Password: "p"}, "username"},
		{"basic colon in username", Config{Provider: "basic", Username: "a:b", Password: "p"}, "username"},
		{"basic no password", Config{Provider: "basic", Username: "u"}, "password"},
	} {
		_, err := New(tc.c)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: New = %v, want a FieldError on %s", tc.name, err, tc.field)
		}
	}
	// Defaults that must load.
	for _, c := range []Config{
		hm(func(*Config) {}),
		hm(func(c *Config) { c.TimestampHeader = "X-Ts" }),
		hm(func(c *Config) { c.Algorithm = "sha1"; c.Encoding = "hex" }),
		{Provider: "token", Secrets: []string{"s"}, Query: "token"},
	} {
		if _, err := New(c); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

// Malformed inputs that the vectors do not cover, one provider at a time.
func TestMalformed(t *testing.T) {
	for _, tc := range []struct {
		provider string
		header   map[string]string
		query    string
	}{
		{"gitlab", nil, ""},
		{"gitlab", map[string]string{"X-Gitlab-Token": "gl-toke"}, ""},
		{"gitlab", map[string]string{"X-Gitlab-Token": "gl-token2"}, ""},
		{"gitlab", map[string]string{"X-Gitlab-Token": strings.Repeat("x", 1<<20)}, ""},
		{"gitea", map[string]string{"X-Gitea-Signature": "sha256=00"}, ""},
		{"gitea", map[string]string{"X-Forgejo-Signature": strings.Repeat("0", 64)}, ""},
		{"gitea", map[string]string{"X-Gogs-Signature": strings.Repeat("g", 64)}, ""},
		{"bitbucket", map[string]string{"X-Hub-Signature": strings.Repeat("0", 64)}, ""},
		{"bitbucket", map[string]string{"X-Hub-Signature": "sha1=" + strings.Repeat("0", 40)}, ""},
		{"bitbucket", map[string]string{"X-Hub-Signature": "sha256=" + strings.Repeat("0", 66)}, ""},
		{"shopify", map[string]string{"X-Shopify-Hmac-Sha256": strings.Repeat("0", 64)}, ""},
		{"shopify", map[string]string{"X-Shopify-Hmac-Sha256": strings.Repeat("A", 43)}, ""},
		{"hmac", map[string]string{"X-Signature": "sha256=" + strings.Repeat("A", 86) + "=="}, ""},
		{"hmac", map[string]string{"X-Signature": "sha512=" + strings.Repeat("A", 86) + "==", "X-Timestamp": "1700000000"}, ""},
		{"hmac", map[string]string{"X-Signature": "sha512=" + strings.Repeat("A", 86) + "=="}, ""},
		{"token", map[string]string{"X-Token": "to"}, ""},
		{"token", nil, "X-Token=tok"},
		{"basic", map[string]string{"Authorization": "Bearer aG9vazpwYTpzcyB3MHJk"}, ""},
		{"basic", map[string]string{"Authorization": "Basic %%%"}, ""},
		{"basic", map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("hook"))}, ""},
		{"basic", map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("hook:pa:ss w0rD"))}, ""},
		{"basic", map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("Hook:pa:ss w0rd"))}, ""},
	} {
		p := mustNew(t, testConfigs[tc.provider])
		h := http.Header{}
		for k, v := range tc.header {
			h.Set(k, v)
		}
		q, _ := url.ParseQuery(tc.query)
		err := p.Verify(&Request{Header: h, Query: q, Body: []byte(testBody), Now: t0})
		if !errors.Is(err, ErrUnauthorized) {
			t.Errorf("%s %v %q: Verify = %v, want unauthorized", tc.provider, tc.header, tc.query, err)
		}
	}
	// The documented positive cases for schemes without a signature.
	for _, tc := range []struct {
		c      Config
		header string
		value  string
		query  string
	}{
		{testConfigs["basic"], "Authorization", "basic " + base64.StdEncoding.EncodeToString([]byte("hook:pa:ss w0rd")), ""},
		{Config{Provider: "token", Secrets: []string{"tok"}, Query: "key"}, "", "", "key=tok"},
		{testConfigs["gitlab"], "X-Gitlab-Token", "gl-token", ""},
	} {
		h := http.Header{}
		if tc.header != "" {
			h.Set(tc.header, tc.value)
		}
		q, _ := url.ParseQuery(tc.query)
		if err := mustNew(t, tc.c).Verify(&Request{Header: h, Query: q, Now: t0}); err != nil {
			t.Errorf("%s: %v", tc.c.Provider, err)
		}
	}
}

func TestSignErrors(t *testing.T) {
	if _, err := Sign(Config{Provider: "token", Secrets: []string{"t"}, Query: "key"}, nil, t0); err == nil || !strings.Contains(err.Error(), "?key=") {
		t.Fatalf("token in a query: Sign = %v", err)
	}
	if _, err := Sign(Config{Provider: "nope"}, nil, t0); err == nil {
		t.Fatal("unknown provider signed")
	}
}
