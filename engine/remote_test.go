package engine

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"hookd/rules"
)

func prefixes(t *testing.T, ss ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func TestClientIP(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trusted []string
		peer    string
		xff     []string
		want    string
	}{
		{"no proxy trusted: header ignored", nil, "198.51.100.7:5000", []string{"203.0.113.5"}, "198.51.100.7"},
		{"untrusted peer: spoofed header ignored", []string{"10.0.0.0/8"}, "198.51.100.7:5000", []string{"10.1.1.1, 203.0.113.5"}, "198.51.100.7"},
		{"trusted peer, one hop", []string{"127.0.0.1/32"}, "127.0.0.1:5000", []string{"203.0.113.5"}, "203.0.113.5"},
		{"trusted peer, no header", []string{"127.0.0.1/32"}, "127.0.0.1:5000", nil, "127.0.0.1"},
		{"client-forged left part skipped", []string{"127.0.0.1/32"}, "127.0.0.1:5000", []string{"1.2.3.4, 203.0.113.5"}, "203.0.113.5"},
		{"chain of trusted proxies", []string{"127.0.0.1/32", "10.0.0.0/8"}, "127.0.0.1:5000", []string{"1.2.3.4, 203.0.113.5, 10.0.0.9"}, "203.0.113.5"},
		{"several header lines", []string{"127.0.0.1/32", "10.0.0.0/8"}, "127.0.0.1:5000", []string{"1.2.3.4, 203.0.113.5", "10.0.0.9"}, "203.0.113.5"},
		{"every hop trusted", []string{"127.0.0.1/32", "10.0.0.0/8"}, "127.0.0.1:5000", []string{"10.0.0.1, 10.0.0.2"}, "10.0.0.1"},
		{"garbage stops the walk", []string{"127.0.0.1/32"}, "127.0.0.1:5000", []string{"203.0.113.5, unknown"}, "127.0.0.1"},
		{"hop with a port", []string{"127.0.0.1/32"}, "127.0.0.1:5000", []string{"203.0.113.5:4711"}, "203.0.113.5"},
		{"IPv6 hop with a port", []string{"127.0.0.1/32"}, "127.0.0.1:5000", []string{"[2001:db8::1]:4711"}, "2001:db8::1"},
		{"empty entries", []string{"127.0.0.1/32"}, "127.0.0.1:5000", []string{"203.0.113.5, ,"}, "203.0.113.5"},
		{"IPv4-mapped peer", []string{"127.0.0.1/32"}, "[::ffff:127.0.0.1]:5000", []string{"203.0.113.5"}, "203.0.113.5"},
		{"IPv6 peer", []string{"::1/128"}, "[::1]:5000", []string{"2001:db8::7"}, "2001:db8::7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &Engine{}
			e.live.Store(&live{cfg: rules.Config{TrustedProxies: prefixes(t, tc.trusted...)}})
			r := httptest.NewRequest("POST", "/hooks/x", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := e.clientIP(r); got != tc.want {
				t.Fatalf("clientIP = %s, want %s", got, tc.want)
			}
		})
	}
}

const allowRules = `
sources:
  github:
    verify: {provider: github, secret: "${TEST_SECRET}"}
    allow: [203.0.113.0/24]
rules:
  - name: deploy
    source: github
    actions:
      - shell: {command: [/bin/true]}
`

// End to end: the test's requests come from 127.0.0.1, a proxy that is
// trusted or not.
func TestAllowListBehindProxy(t *testing.T) {
	body := push("refs/heads/main", "x")
	send := func(te *testEngine, delivery, xff string) answer {
		h := githubHeaders(body, "push", delivery)
		if xff != "" {
			h.Set("X-Forwarded-For", xff)
		}
		return te.send("POST", "/hooks/github", h, body)
	}

	untrusted := startEngine(t, "", allowRules, nil)
	if a := send(untrusted, "u1", "203.0.113.5"); a.code != http.StatusForbidden {
		t.Fatalf("spoofed header from an untrusted peer: %d %s", a.code, a.raw)
	}

	trusted := startEngine(t, "", allowRules, func(c *rules.Config) { c.TrustedProxies = prefixes(t, "127.0.0.1/32") })
	a := send(trusted, "t1", "203.0.113.5")
	if a.code != 200 || a.body["status"] != "accepted" {
		t.Fatalf("allowed client behind a trusted proxy: %d %s", a.code, a.raw)
	}
	jobs := trusted.waitJobs(1)
	ev, err := trusted.store.Event(jobs[0].EventID)
	if err != nil {
		t.Fatal(err)
	}
	if ev.RemoteAddr != "203.0.113.5" {
		t.Fatalf("remote_addr recorded %q", ev.RemoteAddr)
	}
	// The client put an allowed address to the left; the proxy appended
	// the real one, which is what counts.
	if a := send(trusted, "t2", "203.0.113.5, 198.51.100.7"); a.code != http.StatusForbidden {
		t.Fatalf("forged left-most hop: %d %s", a.code, a.raw)
	}
	if a := send(trusted, "t3", ""); a.code != http.StatusForbidden {
		t.Fatalf("the proxy's own address passed the allow list: %d %s", a.code, a.raw)
	}
}
