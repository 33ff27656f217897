package engine

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"hookd/internal/logbuf"
	"hookd/rules"
)

// uiEngine starts an engine whose dashboard answers "page" to GET and
// "done" to POST; mod adjusts its settings.
func uiEngine(t *testing.T, mod func(*rules.Config)) (*Engine, *logbuf.Buffer, error) {
	t.Helper()
	dir := t.TempDir()
	cfg := rules.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.RulesDir = t.TempDir()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.UI.Listen = "127.0.0.1:0"
	if mod != nil {
		mod(&cfg)
	}
	logs := &logbuf.Buffer{}
	ui := func(*Engine) (http.Handler, error) {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				io.WriteString(w, "done")
				return
			}
			io.WriteString(w, "page")
		}), nil
	}
	e, err := New(Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(logs, nil)), UI: ui, NoWatch: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		return nil, logs, err
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.Shutdown(ctx)
	})
	return e, logs, nil
}

func uiDo(t *testing.T, method, url string, header http.Header) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestUIBasicAuth(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("right horse"), bcrypt.MinCost)
	e, _, err := uiEngine(t, func(c *rules.Config) { c.UI.Users = map[string][]byte{"alice": hash} })
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + e.UIAddr()
	auth := func(user, pass string) http.Header {
		r, _ := http.NewRequest("GET", base, nil)
		r.SetBasicAuth(user, pass)
		return r.Header
	}
	for _, tc := range []struct {
		name   string
		method string
		header http.Header
		code   int
	}{
		{"no credentials", "GET", nil, 401},
		{"wrong password", "GET", auth("alice", "wrong horse"), 401},
		{"unknown user", "GET", auth("mallory", "right horse"), 401},
		{"right", "GET", auth("alice", "right horse"), 200},
		{"right, again (remembered)", "GET", auth("alice", "right horse"), 200},
		{"an action without credentials", "POST", nil, 401},
		{"an action with credentials", "POST", auth("alice", "right horse"), 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body, h := uiDo(t, tc.method, base+"/events", tc.header)
			if code != tc.code {
				t.Fatalf("%s: %d %s", tc.name, code, body)
			}
			if code == 401 && !strings.HasPrefix(h.Get("WWW-Authenticate"), `Basic realm="hookd"`) {
				t.Fatalf("WWW-Authenticate %q", h.Get("WWW-Authenticate"))
			}
			if strings.Contains(body, "right horse") {
				t.Fatal("the answer shows the password")
			}
		})
	}
}

func TestUICrossOrigin(t *testing.T) {
	e, _, err := uiEngine(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + e.UIAddr()
	for _, tc := range []struct {
		name   string
		method string
		header http.Header
		code   int
	}{
		{"cross-site POST (browser says so)", "POST", http.Header{"Sec-Fetch-Site": {"cross-site"}}, 403},
		{"same-site other port POST", "POST", http.Header{"Sec-Fetch-Site": {"same-site"}}, 403},
		{"POST from another origin (older browser)", "POST", http.Header{"Origin": {"http://evil.example"}}, 403},
		{"same-origin POST", "POST", http.Header{"Sec-Fetch-Site": {"same-origin"}}, 200},
		{"POST from a tool without browser headers", "POST", nil, 200},
		{"cross-site GET reads nothing dangerous", "GET", http.Header{"Sec-Fetch-Site": {"cross-site"}}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body, _ := uiDo(t, tc.method, base+"/events/1/replay", tc.header)
			if code != tc.code {
				t.Fatalf("%d %s", code, body)
			}
		})
	}
}

func TestUIListenAddressTaken(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.Addr().String()

	// The default address taken: hookd starts, with one warning.
	e, logs, err := uiEngine(t, func(c *rules.Config) { c.UI.Listen, c.UI.Configured = addr, false })
	if err != nil {
		t.Fatalf("start with the default address taken: %v", err)
	}
	if e.UIAddr() != "" || strings.Count(logs.String(), "dashboard not started") != 1 {
		t.Fatalf("ui %q, logs:\n%s", e.UIAddr(), logs.String())
	}

	// An address the user chose: a start error.
	_, _, err = uiEngine(t, func(c *rules.Config) { c.UI.Listen, c.UI.Configured = addr, true })
	if err == nil || !strings.Contains(err.Error(), "ui.listen "+addr) {
		t.Fatalf("start with ui.listen taken: %v", err)
	}
}

func TestAdminRefusesTCPBeyondLoopback(t *testing.T) {
	_, _, err := uiEngine(t, func(c *rules.Config) { c.Admin = "0.0.0.0:0" })
	if err == nil || !strings.Contains(err.Error(), "admin 0.0.0.0:0 is reachable beyond this machine") {
		t.Fatalf("start: %v", err)
	}
	e, _, err := uiEngine(t, func(c *rules.Config) { c.Admin = "127.0.0.1:0" })
	if err != nil {
		t.Fatal(err)
	}
	code, body, _ := uiDo(t, "GET", "http://"+e.AdminAddr()+"/events", nil)
	if code != 200 || !strings.Contains(body, `"events"`) {
		t.Fatalf("%d %s", code, body)
	}
	// A web page may reach a TCP admin API too: a cross-site form posting a
	// replay is refused, as is a name that is not local (DNS rebinding).
	if code, body, _ := uiDo(t, "POST", "http://"+e.AdminAddr()+"/events/1/replay", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"http://evil.example"}}); code != 403 {
		t.Errorf("cross-site replay: %d %s", code, body)
	}
	req, _ := http.NewRequest("GET", "http://"+e.AdminAddr()+"/events", nil)
	req.Host = "rebind.attacker.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("rebound name: %d", resp.StatusCode)
	}
}

func TestUIServesHTTPSWithTheTLSCertificate(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	cert := selfSigned(t, certFile, keyFile, 7)
	e, _, err := uiEngine(t, func(c *rules.Config) { c.TLSCert, c.TLSKey = certFile, keyFile })
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	resp, err := c.Get("https://" + e.UIAddr() + "/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.PeerCertificates[0].SerialNumber.Int64() != 7 {
		t.Fatalf("%d %+v", resp.StatusCode, resp.TLS)
	}
}

// Without users, the dashboard answers only to names that cannot be an
// attacker's (DNS rebinding): an IP address or localhost.
func TestUIWithoutUsersAnswersLocalNamesOnly(t *testing.T) {
	e, _, err := uiEngine(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(e.UIAddr())
	for _, tc := range []struct {
		host   string
		method string
		header http.Header
		code   int
	}{
		{"127.0.0.1:" + port, "GET", nil, 200},
		{"localhost:" + port, "GET", nil, 200},
		{"LOCALHOST.:" + port, "GET", nil, 200},
		{"hookd.localhost:" + port, "GET", nil, 200},
		{"[::1]:" + port, "GET", nil, 200},
		{"127.0.0.1", "GET", nil, 200},
		{"rebind.attacker.example:" + port, "GET", nil, 421},
		// What a browser sends after rebinding: Origin and Host agree.
		{"rebind.attacker.example:" + port, "POST", http.Header{"Origin": {"http://rebind.attacker.example:" + port}, "Sec-Fetch-Site": {"same-origin"}}, 421},
		{"localhost.attacker.example:" + port, "GET", nil, 421},
	} {
		req, _ := http.NewRequest(tc.method, "http://"+e.UIAddr()+"/events/1/replay", nil)
		req.Host = tc.host
		for k, v := range tc.header {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("%s %s: %d %s", tc.method, tc.host, resp.StatusCode, b)
		}
	}
	// A name of ui.hosts is answered too: a proxy in front asks for its
	// own credentials, and sends the name the browser used.
	e, _, err = uiEngine(t, func(c *rules.Config) { c.UI.Hosts = []string{"hookd-admin.example.com"} })
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]int{"hookd-admin.example.com": 200, "HOOKD-ADMIN.example.com.:443": 200, "other.example.com": 421} {
		req, _ := http.NewRequest("GET", "http://"+e.UIAddr()+"/events", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("ui.hosts, Host %s: %d, want %d", host, resp.StatusCode, want)
		}
	}
	// With users, credentials protect the dashboard whatever its name.
	hash, _ := bcrypt.GenerateFromPassword([]byte("right horse"), bcrypt.MinCost)
	e, _, err = uiEngine(t, func(c *rules.Config) { c.UI.Users = map[string][]byte{"alice": hash} })
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "http://"+e.UIAddr()+"/events", nil)
	req.Host = "hookd.example.com"
	req.SetBasicAuth("alice", "right horse")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("with users, by name: %d", resp.StatusCode)
	}
}
