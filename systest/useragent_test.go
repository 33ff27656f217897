package systest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Outbound requests say they come from hookd and which version, unless a
// rule sets its own User-Agent.
func TestOutboundUserAgent(t *testing.T) {
	var mu sync.Mutex
	got := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got[r.URL.Path] = r.UserAgent()
		mu.Unlock()
	}))
	defer srv.Close()
	s := newSite(t, strings.ReplaceAll(githubSource+`
  - name: notify
    source: github
    actions:
      - http: {url: "$URL/http"}
      - http: {url: "$URL/own", headers: {User-Agent: deploy-bot/2}}
      - slack: {url: "$URL/slack", text: hi}
`, "$URL", srv.URL), "")
	s.start()
	if r, err := s.post("ua-1", []byte(`{}`)); err != nil || r.Status != "accepted" {
		t.Fatalf("post: %v %+v", err, r)
	}
	_, out, _ := run(t, nil, "version")
	want := "hookd/" + strings.Fields(out)[1]
	eventually(t, "three requests", 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 3
	})
	mu.Lock()
	defer mu.Unlock()
	if got["/http"] != want || got["/slack"] != want || got["/own"] != "deploy-bot/2" {
		t.Fatalf("user agents %v, want %s (and the rule's own)", got, want)
	}
}
