package engine

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"hookd/rules"
)

const refusalRules = `
sources:
  github:
    verify: {provider: github, secret: "${TEST_SECRET}"}
  guarded:
    verify: {provider: none}
    allow: [10.0.0.0/8]
  stripe:
    verify: {provider: stripe, secret: whsec_stripe}
`

// logLine returns the first log line containing every one of parts.
func logLine(logs string, parts ...string) string {
next:
	for _, l := range strings.Split(logs, "\n") {
		for _, p := range parts {
			if !strings.Contains(l, p) {
				continue next
			}
		}
		return l
	}
	return ""
}

// Every refused request leaves one line saying what is known of it; a
// delivery id and event nobody verified are marked so.
func TestEveryRefusalIsLogged(t *testing.T) {
	te := startEngine(t, "", refusalRules, func(c *rules.Config) { c.MaxBody = 1024 })
	body := push("refs/heads/main", "abc")
	bad := githubHeaders(body, "push", "d-bad")
	bad.Set("X-Hub-Signature-256", "sha256="+strings.Repeat("0", 64))
	stripeBody := []byte(`{"id":"evt_123","type":"charge.failed"}`)
	big := bytes.Repeat([]byte("x"), 2048)
	for _, tc := range []struct {
		name         string
		method, path string
		header       http.Header
		body         []byte
		code         int
		want         []string
	}{
		{"unknown path", "POST", "/nope", nil, nil, 404,
			[]string{`remote=127.0.0.1 method=POST path=/nope outcome=not_found`}},
		{"wrong method", "GET", "/hooks/github", githubHeaders(nil, "ping", "d-get"), nil, 405,
			[]string{`source=github`, `method=GET path=/hooks/github outcome=method_not_allowed delivery_id=d-get event=ping verified=false`}},
		{"bad signature", "POST", "/hooks/github", bad, body, 401,
			[]string{`source=github remote=127.0.0.1 method=POST path=/hooks/github outcome=unauthorized delivery_id=d-bad event=push verified=false reason=`}},
		{"stripe, ids in the body", "POST", "/hooks/stripe", http.Header{"Stripe-Signature": {"t=1,v1=00"}, "Content-Type": {"application/json"}}, stripeBody, 401,
			[]string{`source=stripe`, `outcome=unauthorized delivery_id=evt_123 event=charge.failed verified=false`}},
		{"not allowed", "POST", "/hooks/guarded", nil, []byte(`{}`), 403,
			[]string{`source=guarded remote=127.0.0.1 method=POST path=/hooks/guarded outcome=forbidden`}},
		{"too large", "POST", "/hooks/github", githubHeaders(big, "push", "d-big"), big, 413,
			[]string{`source=github`, `outcome=too_large delivery_id=d-big event=push verified=false bytes=2048`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := te.send(tc.method, tc.path, tc.header, tc.body)
			if a.code != tc.code {
				t.Fatalf("status %d, want %d (%s)", a.code, tc.code, a.raw)
			}
			if l := logLine(te.logs.String(), append([]string{"webhook refused"}, tc.want...)...); l == "" {
				t.Fatalf("no log line with %q", tc.want)
			}
		})
	}
	if strings.Contains(te.logs.String(), "whsec_stripe") {
		t.Fatal("a secret reached the log")
	}
}

// A scan gets a bounded number of lines, and a summary of the rest.
func TestRefusalLinesAreRateLimited(t *testing.T) {
	te := startEngine(t, "", sourceFile("a"), nil)
	te.refusals.mu.Lock()
	te.refusals.every = 200 * time.Millisecond
	te.refusals.mu.Unlock()
	const scan = 200
	for i := 0; i < scan; i++ {
		if a := te.send("GET", "/wp-admin/"+strings.Repeat("x", i%7), nil, nil); a.code != 404 {
			t.Fatalf("status %d", a.code)
		}
	}
	te.waitLog("webhook refusals not logged one by one (rate limit)")
	logs := te.logs.String()
	lines := strings.Count(logs, "outcome=not_found")
	if lines < refusalBurst || lines > refusalBurst+10 {
		t.Fatalf("%d lines for %d refusals, want about %d", lines, scan, refusalBurst)
	}
	te.stop()
	logs = te.logs.String()
	var suppressed int
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "rate limit") {
			var n int
			if _, err := fmt.Sscanf(l[strings.Index(l, "suppressed="):], "suppressed=%d", &n); err != nil {
				t.Fatal(err)
			}
			suppressed += n
		}
	}
	if lines+suppressed != scan {
		t.Fatalf("%d lines + %d suppressed, want %d refusals in all\n%s", lines, suppressed, scan, logs)
	}
}
