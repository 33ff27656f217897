package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"slices"
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

// parseHeaders reads sign's output the way curl -H @- does: one
// "Name: value" a line.
func parseHeaders(t *testing.T, out string) http.Header {
	t.Helper()
	h := http.Header{}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		name, value, ok := strings.Cut(line, ": ")
		if !ok || name == "" {
			t.Fatalf("malformed line %q in\n%s", line, out)
		}
		h.Add(name, value)
	}
	return h
}

// What hookd sign prints, the provider's Verify accepts, for every provider.
func TestSignRoundTrip(t *testing.T) {
	standardSecret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("a standard webhooks key"))
	cases := map[string]struct {
		args []string
		c    verify.Config
	}{
		"basic":     {[]string{"-username", "u", "-password", "p w"}, verify.Config{Username: "u", Password: "p w"}},
		"bitbucket": {[]string{"-secret", "s"}, verify.Config{Secrets: []string{"s"}}},
		"gitea":     {[]string{"-secret", "s"}, verify.Config{Secrets: []string{"s"}}},
		"github":    {[]string{"-secret", "s"}, verify.Config{Secrets: []string{"s"}}},
		"gitlab":    {[]string{"-secret", "s"}, verify.Config{Secrets: []string{"s"}}},
		"hmac": {
			[]string{"-secret", "s", "-header", "X-Sig", "-algorithm", "sha1", "-encoding", "base64", "-prefix", "sha1=", "-timestamp-header", "X-Ts", "-template", "{timestamp}:{body}"},
			verify.Config{Secrets: []string{"s"}, Header: "X-Sig", Algorithm: "sha1", Encoding: "base64", Prefix: "sha1=", TimestampHeader: "X-Ts", Template: "{timestamp}:{body}"},
		},
		"none":     {nil, verify.Config{}},
		"discord":  {[]string{"-private-key", testSeed}, verify.Config{PublicKeys: []string{testPub}}},
		"twitch":   {[]string{"-secret", "s"}, verify.Config{Secrets: []string{"s"}}},
		"zoom":     {[]string{"-secret", "s"}, verify.Config{Secrets: []string{"s"}}},
		"meta":     {[]string{"-secret", "s"}, verify.Config{Secrets: []string{"s"}}},
		"shopify":  {[]string{"-secret", "s"}, verify.Config{Secrets: []string{"s"}}},
		"slack":    {[]string{"-secret", "s"}, verify.Config{Secrets: []string{"s"}}},
		"standard": {[]string{"-secret", standardSecret}, verify.Config{Secrets: []string{standardSecret}}},
		"stripe":   {[]string{"-secret", "whsec_s"}, verify.Config{Secrets: []string{"whsec_s"}}},
		"token":    {[]string{"-secret", "s", "-header", "X-Token"}, verify.Config{Secrets: []string{"s"}, Header: "X-Token"}},
		"sendgrid": {[]string{"-private-key", sendgridPrivate}, verify.Config{PublicKeys: []string{sendgridPublic}}},
		"square":   {[]string{"-secret", "s", "-url", "https://h.example/hooks/square"}, verify.Config{Secrets: []string{"s"}, URL: "https://h.example/hooks/square"}},
		"hubspot":  {[]string{"-secret", "s", "-url", "https://h.example/hooks/hs?a=1"}, verify.Config{Secrets: []string{"s"}, URL: "https://h.example/hooks/hs?a=1"}},
		"twilio":   {[]string{"-secret", "s", "-url", "https://h.example/sms"}, verify.Config{Secrets: []string{"s"}, URL: "https://h.example/sms"}},
	}
	for _, name := range []string{"linear", "sentry", "pagerduty", "paddle", "jira", "buildkite", "circleci", "vercel", "heroku", "typeform", "intercom", "mailgun"} {
		cases[name] = struct {
			args []string
			c    verify.Config
		}{[]string{"-secret", "s"}, verify.Config{Secrets: []string{"s"}}}
	}
	body := []byte(`{"id":"evt_1","type":"ping"}` + "\n")
	file := filepath.Join(t.TempDir(), "body.json")
	if err := os.WriteFile(file, body, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range verify.Names() {
		t.Run(name, func(t *testing.T) {
			if name == "graph" {
				t.Skip("graph's secret is in the body: TestSignKeysAndBodies")
			}
			tc, ok := cases[name]
			if !ok {
				t.Fatalf("no sign test for provider %s", name)
			}
			tc.c.Provider = name
			p, err := verify.New(tc.c)
			if err != nil {
				t.Fatal(err)
			}
			for _, src := range []string{file, "-"} {
				var stdout, stderr bytes.Buffer
				args := append([]string{"-provider", name, "-body", src}, tc.args...)
				// Mailgun and Linear sign inside the body: -o writes it.
				body := body
				signedFile := ""
				if name == "mailgun" || name == "linear" {
					signedFile = filepath.Join(t.TempDir(), "signed.json")
					args = append(args, "-o", signedFile)
				}
				if code := cmdSign(args, bytes.NewReader(body), &stdout, &stderr); code != 0 {
					t.Fatalf("cmdSign %v = %d: %s", args, code, stderr.String())
				}
				if stderr.Len() != 0 {
					t.Fatalf("stderr: %s", stderr.String())
				}
				var names []string
				for _, line := range strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n") {
					n, _, _ := strings.Cut(line, ":")
					names = append(names, n)
				}
				if !slices.IsSorted(names) {
					t.Fatalf("headers not sorted:\n%s", stdout.String())
				}
				h := parseHeaders(t, stdout.String())
				if signedFile != "" {
					if body, err = os.ReadFile(signedFile); err != nil {
						t.Fatal(err)
					}
				}
				if err := p.Verify(&verify.Request{Header: h, Body: body, Now: time.Now()}); err != nil {
					t.Fatalf("-body %s: Verify: %v\n%s", src, err, stdout.String())
				}
				// Schemes that sign the body must not accept another one.
				if !slices.Contains([]string{"none", "basic", "token", "gitlab", "mailgun"}, name) {
					if err := p.Verify(&verify.Request{Header: h, Body: body[1:], Now: time.Now()}); err == nil {
						t.Fatal("signature verified for another body")
					}
				}
			}
		})
	}
}

func TestSignEmptyBodyByDefault(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := cmdSign([]string{"--provider", "github", "--secret", "s"}, strings.NewReader("ignored"), &stdout, &stderr); code != 0 {
		t.Fatalf("code %d: %s", code, stderr.String())
	}
	p, _ := verify.New(verify.Config{Provider: "github", Secrets: []string{"s"}})
	h := parseHeaders(t, stdout.String())
	if err := p.Verify(&verify.Request{Header: h, Body: nil}); err != nil {
		t.Fatal(err)
	}
	if textproto.TrimString(h.Get("X-Hub-Signature-256")) == "" {
		t.Fatal("no signature header")
	}
}

func TestSignErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.json")
	body := func(name, content string) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	array, typo := body("array.json", `[{"event":"opened"}]`), body("typo.json", "{\"event-data\": {\n  \"event\": opened}}\n")
	text, scalar := body("mail.txt", "Hello, world"), body("n.json", "42")
	out := filepath.Join(dir, "signed")
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no provider", []string{"-secret", "s"}, 2, "-provider is required"},
		{"unknown provider", []string{"-provider", "gitbucket"}, 2, `unknown provider "gitbucket"`},
		{"unknown flag", []string{"-provider", "github", "-sekret", "s"}, 2, "sekret"},
		{"positional argument", []string{"-provider", "github", "-secret", "s", "extra"}, 2, `unexpected argument "extra"`},
		{"no secret", []string{"-provider", "github"}, 2, "-secret:"},
		{"flag not for provider", []string{"-provider", "github", "-secret", "s", "-header", "X"}, 2, "-header does not apply to provider github"},
		{"bad algorithm", []string{"-provider", "hmac", "-secret", "s", "-header", "X", "-algorithm", "md5"}, 2, "-algorithm:"},
		{"hmac without header", []string{"-provider", "hmac", "-secret", "s"}, 2, "-header:"},
		{"token both", []string{"-provider", "token", "-secret", "s", "-header", "X", "-query", "q"}, 2, "-query:"},
		{"bad timestamp template", []string{"-provider", "hmac", "-secret", "s", "-header", "X", "-template", "{ts}{body}"}, 2, "-template:"},
		{"token in query", []string{"-provider", "token", "-secret", "s", "-query", "key"}, 1, "?key="},
		{"unreadable body", []string{"-provider", "github", "-secret", "s", "-body", missing}, 1, "reading the body"},
		{"form for a provider that signs the body", []string{"-provider", "github", "-secret", "s", "-form"}, 2, "-form does not apply to provider github"},
		{"url not for provider", []string{"-provider", "github", "-secret", "s", "-url", "https://x"}, 2, "-url does not apply to provider github"},
		{"private key not for provider", []string{"-provider", "github", "-secret", "s", "-private-key", "k"}, 2, "-private-key does not apply to provider github"},
		{"twilio without url", []string{"-provider", "twilio", "-secret", "s"}, 2, "-url:"},
		{"square url with placeholder", []string{"-provider", "square", "-secret", "s", "-url", "https://x{uri}"}, 2, "-url:"},
		{"sendgrid without private key", []string{"-provider", "sendgrid"}, 2, "-private-key: provider sendgrid signs with a private key"},
		{"sendgrid bad private key", []string{"-provider", "sendgrid", "-private-key", "bm9wZQ=="}, 2, "-private-key:"},
		{"mailgun without -o", []string{"-provider", "mailgun", "-secret", "s"}, 2, "-o FILE"},
		{"linear body not an object", []string{"-provider", "linear", "-secret", "s", "-o", os.DevNull}, 1, "JSON object"},
		{"linear body an array", []string{"-provider", "linear", "-secret", "s", "-body", array, "-o", out}, 1, array + ": the body must be a JSON object, to carry webhookTimestamp; it is JSON, but an array"},
		{"mailgun body an array", []string{"-provider", "mailgun", "-secret", "s", "-body", array, "-o", out}, 1, array + ": mailgun: a JSON body must be an object, to carry the signature (a form body is name=value&…); it is JSON, but an array"},
		{"mailgun body a number", []string{"-provider", "mailgun", "-secret", "s", "-body", scalar, "-o", out}, 1, "it is JSON, but a number"},
		{"mailgun JSON with a typo", []string{"-provider", "mailgun", "-secret", "s", "-body", typo, "-o", out}, 1, typo + ":2:12: mailgun: a JSON body must be an object, to carry the signature (a form body is name=value&…); it is not valid JSON: invalid character 'o'"},
		{"mailgun body neither JSON nor a form", []string{"-provider", "mailgun", "-secret", "s", "-body", text, "-o", out}, 1, text + `:1:1: mailgun: the body is neither a JSON object nor a form (name=value&…): "Hello, world" has no =`},
		{"line break in secret", []string{"-provider", "gitlab", "-secret", "a\nX-Evil: 1"}, 1, "line break"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := cmdSign(tc.args, strings.NewReader(""), &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("code %d, want %d; stderr %q", code, tc.code, stderr.String())
			}
			msg := stderr.String()
			if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "hookd sign: ") || !strings.Contains(msg, tc.msg) {
				t.Fatalf("stderr %q: want one line containing %q", msg, tc.msg)
			}
			if stdout.Len() != 0 {
				t.Fatalf("stdout %q on error", stdout.String())
			}
			if _, err := os.Stat(out); err == nil {
				t.Fatalf("-o %s written on error", out)
			}
		})
	}
}

func TestSignHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := cmdSign([]string{"-h"}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("code %d", code)
	}
	if !strings.Contains(stdout.String(), "usage: hookd sign") || !strings.Contains(stdout.String(), "-timestamp-header") {
		t.Fatalf("help: %s", stdout.String())
	}
}

// With -form, gitea's headers fit a form delivery of the payload, which the
// provider verifies against the payload, as Gitea signs it.
func TestSignGiteaForm(t *testing.T) {
	body := filepath.Join(t.TempDir(), "body.json")
	payload := `{"ref":"refs/heads/main","note":"a & b"}`
	if err := os.WriteFile(body, []byte(payload), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := cmdSign([]string{"-provider", "gitea", "-secret", "s", "-form", "-body", body}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("code %d: %s", code, stderr.String())
	}
	h := parseHeaders(t, stdout.String())
	if h.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Fatalf("Content-Type %q", h.Get("Content-Type"))
	}
	p, err := verify.New(verify.Config{Provider: "gitea", Secrets: []string{"s"}})
	if err != nil {
		t.Fatal(err)
	}
	form := "payload=" + url.QueryEscape(payload) // what curl --data-urlencode payload@body.json sends
	if err := p.Verify(&verify.Request{Method: "POST", Header: h, Body: []byte(form)}); err != nil {
		t.Fatal(err)
	}
}

// RFC 8032's first test key pair.
const (
	testSeed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
	testPub  = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
)

// Public-key schemes sign with -private-key, and only they take it; graph's
// secret is checked in the body.
func TestSignKeysAndBodies(t *testing.T) {
	whsk := "whsk_" + base64.StdEncoding.EncodeToString(mustHex(t, testSeed))
	whpk := "whpk_" + base64.StdEncoding.EncodeToString(mustHex(t, testPub))
	graphBody := `{"value":[{"clientState":"state-1","changeType":"created"}]}`
	for _, tc := range []struct {
		args   []string
		body   string
		code   int
		stderr string
		verify verify.Config
	}{
		{[]string{"-provider", "standard", "-private-key", whsk}, `{"type":"a.b"}`, 0, "", verify.Config{Provider: "standard", PublicKeys: []string{whpk}}},
		{[]string{"-provider", "graph", "-secret", "state-1"}, graphBody, 0, "", verify.Config{Provider: "graph", Secrets: []string{"state-1"}}},
		{[]string{"-provider", "graph", "-secret", "state-2"}, graphBody, 2, "-secret: graph sends its secret in the body", verify.Config{}},
		{[]string{"-provider", "discord"}, "{}", 2, "-private-key: provider discord signs with a private key", verify.Config{}},
		{[]string{"-provider", "discord", "-private-key", "abcd"}, "{}", 2, "-private-key: an Ed25519 private key is 64 hex digits", verify.Config{}},
		{[]string{"-provider", "standard", "-private-key", testSeed}, "{}", 2, "-private-key: an Ed25519 private key is whsk_", verify.Config{}},
		{[]string{"-provider", "github", "-secret", "s", "-private-key", testSeed}, "{}", 2, "-private-key does not apply to provider github", verify.Config{}},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"-body", "-"}, tc.args...)
		code := cmdSign(args, strings.NewReader(tc.body), &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.stderr) {
			t.Errorf("sign %v = %d %q, want %d %q", tc.args, code, stderr.String(), tc.code, tc.stderr)
			continue
		}
		if strings.Contains(stderr.String(), testSeed) {
			t.Errorf("sign %v: the private key is in the message", tc.args)
		}
		if code != 0 {
			continue
		}
		p, err := verify.New(tc.verify)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Verify(&verify.Request{Header: parseHeaders(t, stdout.String()), Body: []byte(tc.body), Now: time.Now()}); err != nil {
			t.Errorf("sign %v: %v\n%s", tc.args, err, stdout.String())
		}
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
