package engine

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"hookd/rules"
)

// refusalFieldRules: a signed GitHub and Stripe source whose events wait
// on a gate (one worker, room for one job: the second is queue_full), a
// source that takes 10.0.0.0/8 only, and one limited to one request.
const refusalFieldRules = `
sources:
  github:
    verify: {provider: github, secret: "${TEST_SECRET}"}
  stripe:
    verify: {provider: stripe, secret: whsec_fields}
  guarded:
    verify: {provider: none}
    allow: [10.0.0.0/8]
  limited:
    verify: {provider: github, secret: "${TEST_SECRET}"}
    rate: {per_second: 0.001, burst: 1}
rules:
  - name: held
    sources: [github, stripe]
    actions:
      - shell:
          script: 'while [ ! -e "$GATE" ]; do sleep 0.02; done'
          env: {GATE: "$DIR/gate"}
`

// stripeSigned is the Stripe-Signature Stripe sends: t, and v1 the hex
// HMAC-SHA256 of "t.body" under the endpoint's secret.
func stripeSigned(secret string, body []byte, t time.Time) http.Header {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "." + string(body)))
	return http.Header{"Stripe-Signature": {"t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))},
		"Content-Type": {"application/json; charset=utf-8"}}
}

// logKeys is the keys of a text log line, in order.
func logKeys(line string) []string {
	var keys []string
	for _, m := range regexp.MustCompile(`(?:^| )([a-z_]+)=`).FindAllStringSubmatch(line, -1) {
		keys = append(keys, m[1])
	}
	return keys
}

// Every kind of refusal logs one "webhook refused" line with README's
// fields: outcome, remote, method, path, the source where one is known,
// and the delivery_id and event its headers or body claim, with verified
// saying whether a signature vouched for them.
func TestRefusalLinesHaveTheREADMEFields(t *testing.T) {
	te := startEngine(t, "", refusalFieldRules, func(c *rules.Config) { c.Workers = 1; c.MaxQueued = 1; c.MaxBody = 1024 })
	push := []byte(`{"ref":"refs/heads/main"}`)
	te.accept(push, "held-1") // holds the only slot
	paid := []byte(`{"id":"evt_f","type":"payment_intent.succeeded"}`)
	now := time.Now()
	wrongSig := stripeSigned("whsec_other", paid, now)
	noSig := stripeSigned("whsec_fields", paid, now)
	noSig.Del("Stripe-Signature")
	formSig := stripeSigned("whsec_other", paid, now)
	formSig.Set("Content-Type", "application/x-www-form-urlencoded")
	bad := githubHeaders(push, "push", "d-bad")
	bad.Set("X-Hub-Signature-256", "sha256="+strings.Repeat("0", 64))
	gz := githubHeaders(push, "push", "d-gz")
	gz.Set("Content-Encoding", "gzip")
	br := githubHeaders(push, "push", "d-br")
	br.Set("Content-Encoding", "br")
	big := bytes.Repeat([]byte("x"), 2048)

	base := []string{"source", "remote", "method", "path", "outcome"}
	claimed := slices.Concat(base, []string{"delivery_id", "event", "verified"})
	for _, tc := range []struct {
		name         string
		method, path string
		header       http.Header
		body         []byte
		code         int
		outcome      string
		keys         []string
		verified     string // "" when nothing is claimed
	}{
		{"unknown path", "POST", "/nope", nil, nil, 404, "not_found", base[1:], ""},
		{"wrong method", "GET", "/hooks/github", githubHeaders(nil, "ping", "d-get"), nil, 405, "method_not_allowed", claimed, "false"},
		{"github bad signature", "POST", "/hooks/github", bad, push, 401, "unauthorized", slices.Concat(claimed, []string{"reason"}), "false"},
		{"stripe wrong signature", "POST", "/hooks/stripe", wrongSig, paid, 401, "unauthorized", slices.Concat(claimed, []string{"reason"}), "false"},
		{"stripe no signature", "POST", "/hooks/stripe", noSig, paid, 401, "unauthorized", slices.Concat(claimed, []string{"reason"}), "false"},
		{"stripe JSON sent as a form (curl -d)", "POST", "/hooks/stripe", formSig, paid, 401, "unauthorized", slices.Concat(claimed, []string{"reason"}), "false"},
		{"stripe stale", "POST", "/hooks/stripe", stripeSigned("whsec_fields", paid, now.Add(-time.Hour)), paid, 401, "unauthorized", slices.Concat(claimed, []string{"reason"}), "false"},
		{"not allowed", "POST", "/hooks/guarded", nil, []byte(`{}`), 403, "forbidden", base, ""},
		{"too large", "POST", "/hooks/github", githubHeaders(big, "push", "d-big"), big, 413, "too_large", slices.Concat(claimed, []string{"bytes"}), "false"},
		{"not gzip", "POST", "/hooks/github", gz, push, 400, "bad_request", slices.Concat(claimed, []string{"error"}), "false"},
		{"unknown coding", "POST", "/hooks/github", br, push, 415, "unsupported_encoding", slices.Concat(claimed, []string{"error"}), "false"},
		{"github queue full", "POST", "/hooks/github", githubHeaders(push, "push", "q-2"), push, 503, "queue_full", claimed, "true"},
		{"stripe queue full", "POST", "/hooks/stripe", stripeSigned("whsec_fields", paid, now), paid, 503, "queue_full", claimed, "true"},
		{"rate limited", "POST", "/hooks/limited", githubHeaders(push, "push", "r-2"), push, 429, "rate_limited", slices.Concat(claimed, []string{"retry_after"}), "true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.outcome == "rate_limited" {
				te.send("POST", "/hooks/limited", githubHeaders(push, "push", "r-1"), push) // the one allowed
			}
			seen := len(te.logs.String())
			a := te.send(tc.method, tc.path, tc.header, tc.body)
			if a.code != tc.code {
				t.Fatalf("status %d, want %d (%s)", a.code, tc.code, a.raw)
			}
			l := logLine(te.logs.String()[seen:], `msg="webhook refused"`, "outcome="+tc.outcome, "path="+tc.path+" ")
			if l == "" {
				t.Fatalf("no refusal line:\n%s", te.logs.String())
			}
			got := logKeys(l)[3:] // after time, level, msg
			want := slices.Clone(tc.keys)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("fields %v, want %v:\n%s", got, want, l)
			}
			if tc.verified != "" && !strings.Contains(l, "verified="+tc.verified) {
				t.Fatalf("want verified=%s:\n%s", tc.verified, l)
			}
		})
	}
}

// The reason a body cannot be read is logged with the event's id, before
// the event's "webhook received" line: one grep for event_id=N finds both.
// (Stripe's ids are in the body: it is read before the event has an id.)
func TestUnreadableBodyLineHasTheEventID(t *testing.T) {
	te := startEngine(t, "", refusalFieldRules, nil)
	te.openGate()
	for _, tc := range []struct {
		path   string
		header http.Header
		body   []byte
	}{
		{"/hooks/stripe", stripeSigned("whsec_fields", []byte("hello"), time.Now()), []byte("hello")},
	} {
		seen := len(te.logs.String())
		a := te.send("POST", tc.path, tc.header, tc.body)
		if a.code != 200 {
			t.Fatalf("%s: %d %s", tc.path, a.code, a.raw)
		}
		id := strconv.FormatFloat(a.body["id"].(float64), 'f', -1, 64)
		logs := te.logs.String()[seen:]
		warn := strings.Index(logs, `msg="body not readable"`)
		recv := strings.Index(logs, `msg="webhook received"`)
		if warn < 0 || recv < warn || !strings.Contains(logLine(logs, `msg="body not readable"`), " event_id="+id+" ") {
			t.Fatalf("%s: want the body's line with event_id=%s before the received line:\n%s", tc.path, id, logs)
		}
	}
}
