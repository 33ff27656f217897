package engine

import (
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

const authRules = `
sources:
  twilio-basic:
    verify: {provider: basic, username: hook, password: "pw-basic-3c81f0"}
  bearer:
    verify: {provider: token, secret: tok-bearer-77, header: Authorization}
  schemed:
    verify: {provider: token, secret: "Bearer tok-schemed-88", header: Authorization}
  xtoken:
    verify: {provider: token, secret: tok-x-99, header: X-Token}
rules:
  - {name: all, sources: [twilio-basic, bearer, schemed, xtoken], actions: [{shell: {script: 'echo "$HOOKD_SOURCE" >> "$DIR/ran"'}}]}
`

// challenged sends a POST as a sender that sends credentials only once
// challenged does (Twilio with user:pass@ URLs, Java's Authenticator):
// without them first, then, after a 401 with a Basic challenge, with them.
func challenged(te *testEngine, path, user, pass, body string) (first, second answer) {
	te.t.Helper()
	first = te.send("POST", path, http.Header{"Content-Type": {"application/json"}}, []byte(body))
	ch := first.header.Get("WWW-Authenticate")
	if first.code != 401 || !strings.HasPrefix(strings.ToLower(ch), "basic ") || !strings.Contains(ch, `realm="`) {
		return first, answer{}
	}
	req, err := http.NewRequest("POST", te.url+path, strings.NewReader(body))
	if err != nil {
		te.t.Fatal(err)
	}
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		te.t.Fatal(err)
	}
	return first, answerOf(resp)
}

// A basic source's 401 carries a Basic challenge (RFC 7235 §3.1), so that
// a sender that waits for it gets in; the body stays the generic one.
func TestBasicChallenge(t *testing.T) {
	te := startEngine(t, "", authRules, nil)
	const want = `Basic realm="hookd source twilio-basic", charset="UTF-8"`
	first, second := challenged(te, "/hooks/twilio-basic", "hook", "pw-basic-3c81f0", `{"n":1}`)
	if first.header.Get("WWW-Authenticate") != want || first.raw != "{\"error\":\"unauthorized\"}\n" {
		t.Errorf("401 without credentials: WWW-Authenticate %q, body %q; want %q", first.header.Get("WWW-Authenticate"), first.raw, want)
	}
	if second.code != 200 || second.body["status"] != "accepted" {
		t.Fatalf("after the challenge: %d %s", second.code, second.raw)
	}
	// A wrong password is challenged again; another provider's 401 is not
	// an HTTP authentication scheme's and carries none.
	_, wrong := challenged(te, "/hooks/twilio-basic", "hook", "guess", `{"n":2}`)
	if wrong.code != 401 || wrong.header.Get("WWW-Authenticate") != want || strings.Contains(wrong.raw, "guess") {
		t.Errorf("wrong password: %d %q %s", wrong.code, wrong.header.Get("WWW-Authenticate"), wrong.raw)
	}
	if a := te.send("POST", "/hooks/xtoken", nil, []byte(`{}`)); a.code != 401 || a.header.Get("WWW-Authenticate") != "" {
		t.Errorf("token 401: %d WWW-Authenticate %q", a.code, a.header.Get("WWW-Authenticate"))
	}
	// curl --anyauth sends no credentials until a 401 names a scheme.
	if _, err := exec.LookPath("curl"); err == nil {
		out, err := exec.Command("curl", "-sS", "--anyauth", "-u", "hook:pw-basic-3c81f0", "-H", "Content-Type: application/json",
			"-d", `{"n":3}`, "-o", "/dev/null", "-w", "%{http_code}", te.url+"/hooks/twilio-basic").CombinedOutput()
		if err != nil || string(out) != "200" {
			t.Errorf("curl --anyauth: %s %v", out, err)
		}
	}
	te.waitJobs(2)
	if strings.Contains(te.logs.String(), "pw-basic-3c81f0") {
		t.Error("the log holds the password")
	}
}

// A token source reading Authorization takes the token alone or after a
// scheme in any case, as senders send it (Heroku's and Gitea's
// authorization header, Alertmanager's credentials); the value is
// recorded redacted.
func TestTokenAuthorizationScheme(t *testing.T) {
	te := startEngine(t, "", authRules, nil)
	n := 0
	for _, tc := range []struct {
		path, value string
		code        int
	}{
		{"/hooks/bearer", "Bearer tok-bearer-77", 200},
		{"/hooks/bearer", "bearer tok-bearer-77", 200},
		{"/hooks/bearer", "tok-bearer-77", 200},
		{"/hooks/bearer", "Bearer tok-bearer-78", 401},
		{"/hooks/schemed", "Bearer tok-schemed-88", 200},
		{"/hooks/schemed", "bearer tok-schemed-88", 200},
		{"/hooks/schemed", "tok-schemed-88", 401},
		{"/hooks/xtoken", "Bearer tok-x-99", 401},
	} {
		n++
		h := http.Header{"Authorization": {tc.value}, "X-Token": {tc.value}, "Content-Type": {"application/json"}}
		a := te.send("POST", tc.path, h, []byte(`{"n":`+strconv.Itoa(n)+`}`))
		if a.code != tc.code || a.code == 401 && (a.raw != "{\"error\":\"unauthorized\"}\n" || a.header.Get("WWW-Authenticate") != "") {
			t.Errorf("%s with %q: %d %q %s, want %d", tc.path, tc.value, a.code, a.header.Get("WWW-Authenticate"), a.raw, tc.code)
		}
		if a.code == 200 {
			if ev := te.event(a); ev.Headers["authorization"] != "[redacted]" {
				t.Errorf("%s: Authorization recorded as %q", tc.path, ev.Headers["authorization"])
			}
		}
	}
	te.waitJobs(5)
	for _, tok := range []string{"tok-bearer-77", "tok-schemed-88", "tok-x-99"} {
		if strings.Contains(te.logs.String(), tok) {
			t.Errorf("the log holds %s", tok)
		}
	}
}
