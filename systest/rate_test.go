package systest

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A source's rate lets its burst through, then answers 429 with
// Retry-After; forged requests are refused before they spend the budget,
// and a reload that leaves the rate as it was keeps the spent budget.
func TestSourceRate(t *testing.T) {
	const rulesYAML = `
sources:
  github:
    verify: {provider: github, secret: "${WEBHOOK_SECRET}"}
    rate: {per_second: 0.1, burst: 3}
`
	s := newSite(t, rulesYAML, "")
	d := s.start()
	body := []byte(`{"ref":"refs/heads/main"}`)
	for i := range 20 {
		h := githubHeaders("forged-"+strconv.Itoa(i), body)
		h.Set("X-Hub-Signature-256", "sha256="+strings.Repeat("0", 64))
		if a, err := s.postTo("/hooks/github", h, body); err != nil || a.code != 401 {
			t.Fatalf("forged request %d: %v %d", i, err, a.code)
		}
	}
	for i := range 3 {
		if r, err := s.post("real-"+strconv.Itoa(i), body); err != nil || r.code != 200 {
			t.Fatalf("signed request %d within the burst, after forgeries: %v %+v", i, err, r)
		}
	}
	limited := func(delivery string) {
		t.Helper()
		a, err := s.postTo("/hooks/github", githubHeaders(delivery, body), body)
		if err != nil || a.code != 429 {
			t.Fatalf("%s past the burst: %v %d, want 429", delivery, err, a.code)
		}
		if ra, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || ra < 1 || ra > 10 {
			t.Errorf("%s: Retry-After %q, want 1 to 10 seconds", delivery, a.header.Get("Retry-After"))
		}
	}
	limited("real-3")
	if got := s.metric(t, `hookd_requests_total{outcome="rate_limited",source="github"}`); got != "1" {
		t.Errorf("rate_limited count %s, want 1", got)
	}
	if !regexp.MustCompile(`msg="webhook refused" source=github remote=127.0.0.1 method=POST path=/hooks/github outcome=rate_limited delivery_id=real-3 event=push verified=true retry_after=\d+`).MatchString(s.logs.String()) {
		t.Errorf("no rate_limited log line")
	}

	// A reload with the rate unchanged keeps the empty bucket.
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually(t, "reloaded", 10*time.Second, func() bool { return strings.Count(s.logs.String(), "msg=reloaded") == 1 })
	limited("real-4")

	// A new rate is a new bucket.
	writeFile(t, filepath.Join(s.dir, "rules", "rules.yaml"), strings.Replace(rulesYAML, "burst: 3", "burst: 4", 1))
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a new rate lets requests through", 10*time.Second, func() bool {
		r, err := s.post("real-5", body)
		return err == nil && r.code == 200
	})
}
