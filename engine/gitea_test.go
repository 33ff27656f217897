package engine

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// giteaDelivery builds a delivery as Gitea's newDefaultRequest and
// addDefaultHeaders do (services/webhook/deliver.go), Forgejo's
// defaultHandler.NewRequest and AddDefaultHeaders, or Gogs' deliver
// (internal/database/webhook.go): the signature is the HMAC of the JSON
// payload, whether that is sent as the body, a form field or the query.
func giteaDelivery(sender, mode, id, key, payload string) (method, query string, h http.Header, body []byte) {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(payload))
	sig := hex.EncodeToString(m.Sum(nil))
	m1 := hmac.New(sha1.New, []byte(key))
	m1.Write([]byte(payload))
	const event = "push"
	h = http.Header{}
	switch sender {
	case "gogs":
		h["X-Github-Delivery"] = []string{id}
		h["X-Github-Event"] = []string{event}
		h.Set("X-Gogs-Delivery", id)
		h.Set("X-Gogs-Signature", sig)
		h.Set("X-Gogs-Event", event)
	case "forgejo":
		for _, p := range []string{"X-Forgejo-", "X-Gitea-", "X-Gogs-"} {
			h.Add(p+"Delivery", id)
			h.Add(p+"Event", event)
			h.Add(p+"Event-Type", event)
			h.Add(p+"Signature", sig)
		}
	default:
		for _, p := range []string{"X-Gitea-", "X-Gogs-"} {
			h.Add(p+"Delivery", id)
			h.Add(p+"Event", event)
			h.Add(p+"Event-Type", event)
			h.Add(p+"Signature", sig)
		}
	}
	if sender != "gogs" {
		h.Add("X-Hub-Signature", "sha1="+hex.EncodeToString(m1.Sum(nil)))
		h.Add("X-Hub-Signature-256", "sha256="+sig)
		h["X-GitHub-Delivery"] = []string{id}
		h["X-GitHub-Event"] = []string{event}
		h["X-GitHub-Event-Type"] = []string{event}
	}
	switch mode {
	case "json":
		h.Set("Content-Type", "application/json")
		return "POST", "", h, []byte(payload)
	case "form":
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		if sender == "gogs" { // Gogs' httplib escapes the one param by hand
			return "POST", "", h, []byte("payload=" + url.QueryEscape(payload))
		}
		return "POST", "", h, []byte(url.Values{"payload": {payload}}.Encode())
	}
	// GET: the hook URL's own query, with payload added (u.Query(), Encode).
	q := url.Values{"team": {"ops"}, "payload": {payload}}
	return "GET", "?" + q.Encode(), h, nil
}

// Gitea, Forgejo and Gogs deliveries sent as JSON, as a form and with GET
// verify and run with body the parsed payload and raw the JSON payload;
// other providers still refuse GET.
func TestGiteaFormAndGET(t *testing.T) {
	te := startEngine(t, "", `
sources:
  gitea:
    verify: {provider: gitea, secret: gitea-key}
  github:
    verify: {provider: github, secret: gh-key}
rules:
  - name: deploy
    source: gitea
    when: body.ref == "refs/heads/main"
    actions:
      - shell:
          env: {MARK: "{{ body.mark }}", RAW: "{{ raw }}", OUT: "$DIR/ran"}
          script: 'printf "%s|%s|%s\n" "$MARK" "$HOOKD_EVENT" "$RAW" >> "$OUT"'
`, nil)
	n := 0
	want := map[string]string{} // mark -> payload
	cases := []struct {
		sender, mode string
		only         string // keep only this signature header
	}{
		{"gitea", "json", ""}, {"gitea", "form", ""}, {"gitea", "get", ""},
		{"forgejo", "form", ""}, {"forgejo", "get", ""}, {"gogs", "form", ""}, {"gogs", "json", ""},
		{"forgejo", "form", "X-Forgejo-Signature"}, {"gitea", "get", "X-Gogs-Signature"},
		{"gitea", "form", "X-Hub-Signature-256"},
	}
	for _, c := range cases {
		n++
		mark := c.sender + "-" + c.mode + "-" + strconv.Itoa(n)
		payload := `{"ref":"refs/heads/main","mark":"` + mark + `","note":"a & b = c+d %20 ü"}`
		method, query, h, body := giteaDelivery(c.sender, c.mode, mark, "gitea-key", payload)
		if c.only != "" {
			for _, k := range []string{"X-Gitea-Signature", "X-Forgejo-Signature", "X-Gogs-Signature", "X-Hub-Signature-256"} {
				if k != c.only {
					h.Del(k)
				}
			}
		}
		a := te.send(method, "/hooks/gitea"+query, h, body)
		if a.code != 200 || a.body["status"] != "accepted" {
			t.Fatalf("%s %s (%s): %d %s", c.sender, c.mode, c.only, a.code, a.raw)
		}
		want[mark] = payload
		id := uint64(a.body["id"].(float64))
		ev, err := te.store.Event(id)
		if err != nil {
			t.Fatal(err)
		}
		if string(ev.Body) != payload || ev.Query["payload"] != "" {
			t.Errorf("%s %s: recorded body %q, query %v; want the payload as the body", c.sender, c.mode, ev.Body, ev.Query)
		}
		if c.mode == "get" && ev.Query["team"] != "ops" {
			t.Errorf("the hook URL's own query was lost: %v", ev.Query)
		}
	}
	ran := te.waitJobs(len(cases))
	for _, j := range ran {
		if j.State != "done" {
			t.Errorf("job %d: %s", j.ID, j.State)
		}
	}
	for _, l := range readLines(t, filepath.Join(te.dir, "ran")) {
		mark, rest, _ := strings.Cut(l, "|")
		event, raw, _ := strings.Cut(rest, "|")
		if want[mark] == "" || event != "push" || raw != want[mark] {
			t.Errorf("ran %q: want event push and raw %q", l, want[mark])
		}
		delete(want, mark)
	}
	if len(want) != 0 {
		t.Errorf("did not run: %v", want)
	}

	payload := `{"ref":"refs/heads/main","mark":"forged"}`
	for _, tc := range []struct {
		what   string
		mode   string
		change func(h http.Header, query string, body []byte) (string, []byte)
		code   int
	}{
		{"wrong key", "form", func(h http.Header, q string, b []byte) (string, []byte) {
			_, _, wrong, _ := giteaDelivery("gitea", "form", "x", "other-key", payload)
			for k, v := range wrong {
				h[k] = v
			}
			return q, b
		}, 401},
		{"signature of the form body", "form", func(h http.Header, q string, b []byte) (string, []byte) {
			m := hmac.New(sha256.New, []byte("gitea-key"))
			m.Write(b)
			for _, k := range []string{"X-Gitea-Signature", "X-Gogs-Signature"} {
				h.Set(k, hex.EncodeToString(m.Sum(nil)))
			}
			h.Del("X-Hub-Signature-256")
			return q, b
		}, 401},
		{"changed payload", "form", func(h http.Header, q string, b []byte) (string, []byte) {
			return q, []byte(strings.Replace(string(b), "forged", "forgeD", 1))
		}, 401},
		{"an unsigned field beside the payload", "form", func(h http.Header, q string, b []byte) (string, []byte) {
			return q, append(b, "&ref=refs%2Fheads%2Fevil"...)
		}, 401},
		{"a trailing &", "form", func(h http.Header, q string, b []byte) (string, []byte) {
			return q, append(b, '&')
		}, 200},
		{"two payloads", "get", func(h http.Header, q string, b []byte) (string, []byte) {
			return q + "&payload=%7B%7D", b
		}, 401},
		{"GET without payload", "get", func(h http.Header, q string, b []byte) (string, []byte) {
			return "?team=ops", b
		}, 401},
		{"GET with a body", "get", func(h http.Header, q string, b []byte) (string, []byte) {
			return q, []byte(payload)
		}, 401},
	} {
		method, query, h, body := giteaDelivery("gitea", tc.mode, tc.what, "gitea-key", payload)
		query, body = tc.change(h, query, body)
		if a := te.send(method, "/hooks/gitea"+query, h, body); a.code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.what, a.code, a.raw, tc.code)
		}
	}
	for _, m := range []string{"GET", "PUT"} {
		_, query, h, _ := giteaDelivery("gitea", "get", "x", "gh-key", payload)
		if a := te.send(m, "/hooks/github"+query, h, nil); a.code != 405 || a.header.Get("Allow") != "POST" {
			t.Errorf("%s to a github source: %d Allow %q %s", m, a.code, a.header.Get("Allow"), a.raw)
		}
	}
	if a := te.send("PUT", "/hooks/gitea", nil, nil); a.code != 405 || a.header.Get("Allow") != "GET, HEAD, POST" {
		t.Errorf("PUT to a gitea source: %d Allow %q", a.code, a.header.Get("Allow"))
	}
}
