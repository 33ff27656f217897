package systest

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"hookd/verify"
)

// forgeCase is one signing provider as configured in the rules, with what
// a forger can tamper with.
type forgeCase struct {
	name   string
	yaml   string        // the verify block
	cfg    verify.Config // the same, for verify.Sign
	header string        // the header holding the signature or token
	hexSig bool          // the digest is hex: uppercase is the same MAC
	timed  bool          // timestamped scheme
	// token: a shared secret sent in clear, not a MAC of the body: it
	// authenticates the sender, so a changed body still passes (SPEC 5).
	token bool
	// legit names the tampered variants that still carry the valid proof
	// and are accepted on purpose: the header is a list by the provider's
	// docs (Stripe: comma-separated items, unknown or malformed ones
	// skipped; Standard Webhooks: space-separated), or the digest is bare
	// hex, where case does not matter.
	legit map[string]bool
	// prefix replaces the scheme prefix of a valid value by a wrong one.
	prefix func(v string) string
	// wrap sends the signed JSON as its sender may: as a form field or in
	// the query of a GET (Gitea, Forgejo, Gogs), the signature unchanged.
	wrap string
	// ack is the provider's fixed answer to a recorded event (Discord's
	// Webhook Events: 204, no body), in place of the status JSON.
	ack int
	// window is the scheme's default tolerance when it is not 5 minutes
	// (Discord, Twitch: 10).
	window time.Duration
}

// deliver sends body to the case's source, wrapped as the case says.
func (c forgeCase) deliver(s *site, h http.Header, body []byte) (answer, error) {
	path := "/hooks/" + c.name
	switch c.wrap {
	case "form": // as Gitea's newDefaultRequest builds it
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		return s.postTo(path, h, []byte(url.Values{"payload": {string(body)}}.Encode()))
	case "get":
		h.Del("Content-Type")
		return s.sendTo("GET", path+"?"+url.Values{"payload": {string(body)}}.Encode(), h, nil)
	}
	return s.postTo(path, h, body)
}

var forgeCases = []forgeCase{
	{name: "github", yaml: `{provider: github, secret: gh-secret}`, cfg: verify.Config{Provider: "github", Secrets: []string{"gh-secret"}},
		header: "X-Hub-Signature-256", hexSig: true, prefix: func(v string) string { return "sha1=" + strings.TrimPrefix(v, "sha256=") }},
	{name: "gitlab", yaml: `{provider: gitlab, secret: gl-secret}`, cfg: verify.Config{Provider: "gitlab", Secrets: []string{"gl-secret"}},
		header: "X-Gitlab-Token", token: true, prefix: func(v string) string { return "Bearer " + v }},
	{name: "gitea", yaml: `{provider: gitea, secret: gt-secret}`, cfg: verify.Config{Provider: "gitea", Secrets: []string{"gt-secret"}},
		header: "X-Gitea-Signature", hexSig: true, legit: map[string]bool{"upper case": true}, prefix: func(v string) string { return "sha256=" + v }},
	{name: "gitea-form", yaml: `{provider: gitea, secret: gt-secret}`, cfg: verify.Config{Provider: "gitea", Secrets: []string{"gt-secret"}},
		header: "X-Gitea-Signature", hexSig: true, legit: map[string]bool{"upper case": true}, prefix: func(v string) string { return "sha256=" + v }, wrap: "form"},
	{name: "gitea-get", yaml: `{provider: gitea, secret: gt-secret}`, cfg: verify.Config{Provider: "gitea", Secrets: []string{"gt-secret"}},
		header: "X-Gitea-Signature", hexSig: true, legit: map[string]bool{"upper case": true}, prefix: func(v string) string { return "sha256=" + v }, wrap: "get"},
	{name: "gitlab-signed", yaml: `{provider: gitlab, secret: whsec_Z2l0bGFiLXNpZ25pbmcta2V5LTAx}`, cfg: verify.Config{Provider: "gitlab", Secrets: []string{"whsec_Z2l0bGFiLXNpZ25pbmcta2V5LTAx"}},
		header: "Webhook-Signature", timed: true, legit: map[string]bool{"doubled with a space": true}, prefix: func(v string) string { return "v1a," + strings.TrimPrefix(v, "v1,") }},
	{name: "bitbucket", yaml: `{provider: bitbucket, secret: bb-secret}`, cfg: verify.Config{Provider: "bitbucket", Secrets: []string{"bb-secret"}},
		header: "X-Hub-Signature", hexSig: true, prefix: func(v string) string { return "sha1=" + strings.TrimPrefix(v, "sha256=") }},
	{name: "stripe", yaml: `{provider: stripe, secret: whsec_stripe}`, cfg: verify.Config{Provider: "stripe", Secrets: []string{"whsec_stripe"}},
		header: "Stripe-Signature", hexSig: true, timed: true, legit: map[string]bool{"doubled": true, "doubled with a space": true}, prefix: func(v string) string { return strings.Replace(v, ",v1=", ",v0=", 1) }},
	{name: "slack", yaml: `{provider: slack, secret: sl-secret}`, cfg: verify.Config{Provider: "slack", Secrets: []string{"sl-secret"}},
		header: "X-Slack-Signature", hexSig: true, timed: true, prefix: func(v string) string { return "v1=" + strings.TrimPrefix(v, "v0=") }},
	{name: "shopify", yaml: `{provider: shopify, secret: sh-secret}`, cfg: verify.Config{Provider: "shopify", Secrets: []string{"sh-secret"}},
		header: "X-Shopify-Hmac-Sha256", prefix: func(v string) string { return "sha256=" + v }},
	{name: "standard", yaml: `{provider: standard, secret: whsec_c3RhbmRhcmQtc2VjcmV0LWtleQ==}`, cfg: verify.Config{Provider: "standard", Secrets: []string{"whsec_c3RhbmRhcmQtc2VjcmV0LWtleQ=="}},
		header: "Webhook-Signature", timed: true, legit: map[string]bool{"doubled with a space": true}, prefix: func(v string) string { return "v1a," + strings.TrimPrefix(v, "v1,") }},
	{name: "hmac", yaml: `{provider: hmac, secret: hm-secret, header: X-Signature, algorithm: sha512, encoding: base64, prefix: "sha512="}`,
		cfg:    verify.Config{Provider: "hmac", Secrets: []string{"hm-secret"}, Header: "X-Signature", Algorithm: "sha512", Encoding: "base64", Prefix: "sha512="},
		header: "X-Signature", prefix: func(v string) string { return "sha256=" + strings.TrimPrefix(v, "sha512=") }},
	{name: "pagerduty", yaml: `{provider: hmac, secret: pd-secret, header: X-PagerDuty-Signature, prefix: "v1=", separator: ","}`,
		cfg:    verify.Config{Provider: "hmac", Secrets: []string{"pd-secret"}, Header: "X-PagerDuty-Signature", Prefix: "v1=", Separator: ","},
		header: "X-PagerDuty-Signature", hexSig: true, legit: map[string]bool{"doubled with a comma": true}, prefix: func(v string) string { return "v0=" + strings.TrimPrefix(v, "v1=") }},
	{name: "discord", yaml: `{provider: discord, public_key: d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a}`,
		cfg:    verify.Config{Provider: "discord", PrivateKey: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"},
		header: "X-Signature-Ed25519", hexSig: true, timed: true, ack: 204, window: 10 * time.Minute, legit: map[string]bool{"upper case": true}, prefix: func(v string) string { return "0x" + v }},
	{name: "twitch", yaml: `{provider: twitch, secret: tw-secret}`, cfg: verify.Config{Provider: "twitch", Secrets: []string{"tw-secret"}},
		header: "Twitch-Eventsub-Message-Signature", hexSig: true, timed: true, window: 10 * time.Minute, prefix: func(v string) string { return "sha1=" + strings.TrimPrefix(v, "sha256=") }},
	{name: "zoom", yaml: `{provider: zoom, secret: zm-secret}`, cfg: verify.Config{Provider: "zoom", Secrets: []string{"zm-secret"}},
		header: "X-Zm-Signature", hexSig: true, timed: true, prefix: func(v string) string { return "v1=" + strings.TrimPrefix(v, "v0=") }},
	{name: "meta", yaml: `{provider: meta, secret: mt-secret, verify_token: mt-token}`, cfg: verify.Config{Provider: "meta", Secrets: []string{"mt-secret"}},
		header: "X-Hub-Signature-256", hexSig: true, prefix: func(v string) string { return "sha1=" + strings.TrimPrefix(v, "sha256=") }},
	{name: "standard-v1a", yaml: `{provider: standard, public_key: "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="}`,
		cfg:    verify.Config{Provider: "standard", PrivateKey: "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="},
		header: "Webhook-Signature", timed: true, legit: map[string]bool{"doubled with a space": true}, prefix: func(v string) string { return "v1," + strings.TrimPrefix(v, "v1a,") }},
	// Presets of the HMAC senders (verify/presets.go).
	{name: "sentry", yaml: `{provider: sentry, secret: se-secret}`, cfg: verify.Config{Provider: "sentry", Secrets: []string{"se-secret"}},
		header: "Sentry-Hook-Signature", hexSig: true, legit: map[string]bool{"upper case": true}, prefix: func(v string) string { return "sha256=" + v }},
	{name: "vercel", yaml: `{provider: vercel, secret: ve-secret}`, cfg: verify.Config{Provider: "vercel", Secrets: []string{"ve-secret"}},
		header: "X-Vercel-Signature", hexSig: true, legit: map[string]bool{"upper case": true}, prefix: func(v string) string { return "sha1=" + v }},
	{name: "heroku", yaml: `{provider: heroku, secret: he-secret}`, cfg: verify.Config{Provider: "heroku", Secrets: []string{"he-secret"}},
		header: "Heroku-Webhook-Hmac-SHA256", prefix: func(v string) string { return "sha256=" + v }},
	{name: "typeform", yaml: `{provider: typeform, secret: tf-secret}`, cfg: verify.Config{Provider: "typeform", Secrets: []string{"tf-secret"}},
		header: "Typeform-Signature", prefix: func(v string) string { return "sha1=" + strings.TrimPrefix(v, "sha256=") }},
	{name: "intercom", yaml: `{provider: intercom, secret: ic-secret}`, cfg: verify.Config{Provider: "intercom", Secrets: []string{"ic-secret"}},
		header: "X-Hub-Signature", hexSig: true, prefix: func(v string) string { return "sha256=" + strings.TrimPrefix(v, "sha1=") }},
	{name: "jira", yaml: `{provider: jira, secret: ji-secret}`, cfg: verify.Config{Provider: "jira", Secrets: []string{"ji-secret"}},
		header: "X-Hub-Signature", hexSig: true, prefix: func(v string) string { return "sha1=" + strings.TrimPrefix(v, "sha256=") }},
	{name: "circleci", yaml: `{provider: circleci, secret: cc-secret}`, cfg: verify.Config{Provider: "circleci", Secrets: []string{"cc-secret"}},
		header: "Circleci-Signature", hexSig: true, legit: map[string]bool{"doubled with a comma": true}, prefix: func(v string) string { return "v0=" + strings.TrimPrefix(v, "v1=") }},
	// Paddle's five-second default would expire during the run.
	{name: "paddle", yaml: `{provider: paddle, secret: pa-secret, tolerance: 5m}`, cfg: verify.Config{Provider: "paddle", Secrets: []string{"pa-secret"}},
		header: "Paddle-Signature", hexSig: true, timed: true, legit: map[string]bool{"doubled": true, "doubled with a comma": true, "doubled with a space": true},
		prefix: func(v string) string { return strings.Replace(v, ";h1=", ";h0=", 1) }},
	// A second timestamp= is refused: which one was signed is unclear.
	{name: "buildkite", yaml: `{provider: buildkite, secret: bk-secret}`, cfg: verify.Config{Provider: "buildkite", Secrets: []string{"bk-secret"}},
		header: "X-Buildkite-Signature", hexSig: true, timed: true, legit: map[string]bool{"doubled": true, "doubled with a space": true},
		prefix: func(v string) string { return strings.Replace(v, ",signature=", ",sig=", 1) }},
	{name: "token", yaml: `{provider: token, secret: tk-secret, header: X-Token}`, cfg: verify.Config{Provider: "token", Secrets: []string{"tk-secret"}, Header: "X-Token"},
		header: "X-Token", token: true, prefix: func(v string) string { return "Token " + v }},
	{name: "basic", yaml: `{provider: basic, username: hook, password: pw-secret}`, cfg: verify.Config{Provider: "basic", Username: "hook", Password: "pw-secret"},
		header: "Authorization", token: true, prefix: func(v string) string { return "Bearer " + strings.TrimPrefix(v, "Basic ") }},
}

func forgeryRules() string {
	var b strings.Builder
	b.WriteString("sources:\n")
	for _, c := range forgeCases {
		fmt.Fprintf(&b, "  %s:\n    verify: %s\n", c.name, c.yaml)
	}
	b.WriteString("rules:\n")
	for _, c := range forgeCases {
		// The marker comes from the body: each request has its own.
		fmt.Fprintf(&b, "  - name: run-%s\n    source: %s\n    actions:\n      - shell:\n          env: {MARK: \"{{ body.mark }}\", OUT: \"${OUT}\"}\n          script: 'printf \"%%s\\n\" \"$MARK\" >> \"$OUT\"'\n", c.name, c.name)
	}
	return b.String()
}

// TestForgery sends, for every signing provider, requests built from a
// valid one and then tampered with. None may run anything; the few
// variants that are legitimately the same proof (uppercase hex of the
// same MAC, a repeated entry of a signature list) run exactly once.
func TestForgery(t *testing.T) {
	s := newSite(t, forgeryRules(), "")
	d := s.start()
	now := time.Now()
	var want []string // markers that must run, once each
	n := 0
	for _, c := range forgeCases {
		t.Run(c.name, func(t *testing.T) {
			signed := func(at time.Time) (http.Header, []byte, string) {
				n++
				mark := fmt.Sprintf("%s-%d", c.name, n)
				body := []byte(fmt.Sprintf(`{"mark":%q,"id":"evt_%s","event_id":"Ev%s","type":"event_callback","event":{"type":"message"}}`, mark, mark, mark))
				h, err := verify.Sign(c.cfg, body, at)
				if err != nil {
					t.Fatal(err)
				}
				if h.Get(c.header) == "" {
					t.Fatalf("signed request has no %s", c.header)
				}
				return h, body, mark
			}
			send := func(what string, h http.Header, body []byte, mark string, ok bool) {
				t.Helper()
				a, err := c.deliver(s, h, body)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				switch {
				case ok && c.ack != 0 && a.code != c.ack:
					t.Errorf("%s: want %d, got %d %+v", what, c.ack, a.code, a.reply)
				case ok && c.ack == 0 && (a.code != 200 || a.Status != "accepted"):
					t.Errorf("%s: want 200 accepted, got %d %+v", what, a.code, a.reply)
				case !ok && a.code != 401:
					t.Errorf("%s: forged request answered %d %+v, want 401", what, a.code, a.reply)
				}
				if ok {
					want = append(want, mark)
				}
			}
			mutate := func(what string, f func(v string) string, ok bool) {
				h, body, mark := signed(now)
				h.Set(c.header, f(h.Get(c.header)))
				send(what, h, body, mark, ok || c.legit[what])
			}

			h, body, mark := signed(now)
			send("valid", h, body, mark, true)
			// Replayed as is: a duplicate that runs nothing again.
			if a, err := c.deliver(s, h, body); err != nil || c.ack == 0 && (a.code != 200 || a.Status != "duplicate") || c.ack != 0 && a.code != c.ack {
				t.Errorf("replay: want 200 duplicate, got %v %d %+v", err, a.code, a.reply)
			}

			h, body, mark = signed(now)
			h.Del(c.header)
			send("missing", h, body, mark, false)
			mutate("empty", func(string) string { return "" }, false)
			mutate("truncated", func(v string) string { return v[:len(v)-2] }, false)
			mutate("one character short", func(v string) string { return v[:len(v)-1] }, false)
			mutate("wrong prefix", c.prefix, false)
			mutate("upper case", func(v string) string {
				if c.hexSig {
					// Upper-casing all of it also upper-cases the scheme's
					// prefix, which the docs give in lower case.
					return strings.ToUpper(v)
				}
				return flipCase(v)
			}, false)
			if c.hexSig {
				// Hex digits are case-insensitive: the uppercase digest is the
				// same MAC, provable only with the secret. Accepted, on purpose.
				mutate("uppercase hex digest", upperHexTail, true)
			}
			mutate("doubled", func(v string) string { return v + v }, false)
			mutate("doubled with a comma", func(v string) string { return v + "," + v }, false)
			mutate("doubled with a space", func(v string) string { return v + " " + v }, false)

			// Same signature, changed body.
			h, body, mark = signed(now)
			body = []byte(strings.Replace(string(body), `"type":"event_callback"`, `"type":"event_callbacK"`, 1))
			send("changed body", h, body, mark, c.token)
			h, body, mark = signed(now)
			send("appended body", h, append(body, ' '), mark, c.token)

			if c.timed {
				beyond := 10 * time.Minute // twice the usual window
				if c.window != 0 {
					beyond = 2 * c.window
				}
				h, body, mark = signed(now.Add(-beyond))
				send("re-signed twice the window old", h, body, mark, false)
				h, body, mark = signed(now.Add(-48 * time.Hour))
				send("re-signed two days old", h, body, mark, false)
				h, body, mark = signed(now.Add(beyond))
				send("twice the window in the future", h, body, mark, false)
			}
		})
	}
	// Let anything wrongly queued run before looking.
	time.Sleep(500 * time.Millisecond)
	waitMarks(t, s, want)
	got := lines(t, filepath.Join(s.dir, "ran"))
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("side effects:\n got %v\nwant %v", got, want)
	}
	d.stop(t)
	t.Logf("%d providers, %d requests, %d ran (each legitimate once)", len(forgeCases), n+len(forgeCases), len(got))
}

// TestForgerySignatureLists sends PagerDuty-style lists of signatures to
// the hmac provider with a separator: one valid entry among others is
// enough; a list of more than 10 entries, or of malformed or empty ones
// only, is refused, and nothing it carries runs.
func TestForgerySignatureLists(t *testing.T) {
	var c forgeCase
	for _, fc := range forgeCases {
		if fc.name == "pagerduty" {
			c = fc
		}
	}
	s := newSite(t, forgeryRules(), "")
	d := s.start()
	other := "v1=" + strings.Repeat("0", 64)
	var want []string
	for i, tc := range []struct {
		what string
		list func(good string) string
		ok   bool
	}{
		{"good among bad", func(g string) string { return other + ",v1=zz,v2=" + g[3:] + "," + g + ",garbage" }, true},
		{"good last of 10", func(g string) string { return strings.Repeat(other+",", 9) + g }, true},
		{"empty entries around", func(g string) string { return ",, ," + g + ", ," }, true},
		{"good first of 11", func(g string) string { return g + strings.Repeat(","+other, 10) }, false},
		{"good last of 11", func(g string) string { return strings.Repeat(other+",", 10) + g }, false},
		{"all malformed", func(g string) string { return "v1=zz,v1=," + g[3:] + ",v1=" + g[3:60] }, false},
		{"only empty entries", func(string) string { return ", , ,," }, false},
		{"only wrong signatures", func(string) string { return other + "," + other }, false},
	} {
		mark := fmt.Sprintf("list-%d", i)
		body := []byte(fmt.Sprintf(`{"mark":%q}`, mark))
		h, err := verify.Sign(c.cfg, body, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		h.Set(c.header, tc.list(h.Get(c.header)))
		a, err := c.deliver(s, h, body)
		switch {
		case err != nil:
			t.Fatalf("%s: %v", tc.what, err)
		case tc.ok && (a.code != 200 || a.Status != "accepted"):
			t.Errorf("%s: want 200 accepted, got %d %+v", tc.what, a.code, a.reply)
		case !tc.ok && a.code != 401:
			t.Errorf("%s: answered %d %+v, want 401", tc.what, a.code, a.reply)
		}
		if tc.ok {
			want = append(want, mark)
		}
	}
	time.Sleep(300 * time.Millisecond)
	waitMarks(t, s, want)
	got := lines(t, filepath.Join(s.dir, "ran"))
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("side effects:\n got %v\nwant %v", got, want)
	}
	// GET stays 405 for providers whose senders never use it.
	if a, err := s.sendTo("GET", "/hooks/github?payload=%7B%7D", nil, nil); err != nil || a.code != 405 {
		t.Errorf("GET to a github source: %v %d", err, a.code)
	}
	d.stop(t)
}

// TestEmptySecretIsLoadError: a source whose secret is empty would accept
// a MAC made with the empty key; it must not load, nor serve.
func TestEmptySecretIsLoadError(t *testing.T) {
	for _, c := range forgeCases {
		t.Run(c.name, func(t *testing.T) {
			y := strings.Replace(c.yaml, "secret: "+first(c.cfg.Secrets), `secret: ""`, 1)
			if c.name == "basic" {
				y = strings.Replace(c.yaml, "password: pw-secret", `password: ""`, 1)
			}
			if len(c.cfg.Secrets) == 0 && c.cfg.PrivateKey != "" { // a public key in place of a secret
				y = regexp.MustCompile(`public_key: [^,}]+`).ReplaceAllString(c.yaml, `public_key: ""`)
			}
			if y == c.yaml {
				t.Fatalf("could not blank the secret of %s", c.yaml)
			}
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "r.yaml"), "sources:\n  s:\n    verify: "+y+"\n")
			out, err := exec.Command(bin, "check", "-rules", dir).CombinedOutput()
			if err == nil {
				t.Fatalf("hookd check accepted an empty secret:\n%s", out)
			}
			if !strings.Contains(string(out), "r.yaml:") || !strings.Contains(strings.ToLower(string(out)), "empty") {
				t.Errorf("message does not point at the empty secret: %s", out)
			}
			cmd := exec.Command(bin, "serve", "-rules", dir, "-data", t.TempDir(), "-listen", "127.0.0.1:0")
			cmd.Env = os.Environ()
			if out, err := cmd.CombinedOutput(); err == nil {
				t.Fatalf("hookd serve started with an empty secret:\n%s", out)
			}
		})
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// flipCase swaps the case of every letter (a base64 digest or a token
// then means something else).
func flipCase(v string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 32
		case r >= 'A' && r <= 'Z':
			return r + 32
		}
		return r
	}, v)
}

// upperHexTail upper-cases the hex digits after the last '=' (the digest),
// leaving the scheme's prefix alone.
func upperHexTail(v string) string {
	i := strings.LastIndexByte(v, '=') + 1
	return v[:i] + strings.ToUpper(v[i:])
}

func waitMarks(t *testing.T, s *site, want []string) {
	t.Helper()
	m := map[string]bool{}
	for _, w := range want {
		m[w] = true
	}
	waitRan(t, s, m)
}
