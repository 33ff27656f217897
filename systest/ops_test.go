package systest

import (
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// With ops.listen, /metrics, /healthz and /readyz answer there and no
// longer on the webhook port, which still takes webhooks.
func TestOpsListener(t *testing.T) {
	ops := freeAddr(t)
	s := newSite(t, "sources:\n  github: {verify: {provider: github, secret: \"${WEBHOOK_SECRET}\"}}\n", "ops: {listen: "+ops+"}\n")
	s.readyAddr = ops
	s.start()
	if r, err := s.post("ops-1", []byte(`{}`)); err != nil || r.code != 200 {
		t.Fatalf("webhook: %v %+v", err, r)
	}
	for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
		if code, _ := get(t, "http://"+s.addr+path); code != 404 {
			t.Errorf("webhook port %s: %d, want 404", path, code)
		}
		if code, body := get(t, "http://"+ops+path); code != 200 {
			t.Errorf("ops port %s: %d %s, want 200", path, code, body)
		}
	}
	if _, body := get(t, "http://"+ops+"/metrics"); !strings.Contains(body, `hookd_requests_total{outcome="ignored",source="github"} 1`) {
		t.Errorf("ops /metrics does not count the webhook:\n%s", body)
	}
}

// An ops.listen that cannot be bound stops the start; one that is not an
// address fails hookd check at its place.
func TestOpsListenerErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	s := newSite(t, "", "ops: {listen: "+busy.Addr().String()+"}\n")
	cmd := exec.Command(bin, "serve", "-config", filepath.Join(s.dir, "hookd.yaml"), "-rules", filepath.Join(s.dir, "rules"),
		"-data", filepath.Join(s.dir, "data"), "-listen", s.addr)
	cmd.Env = s.env
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "ops.listen "+busy.Addr().String()+": listen tcp") {
		t.Errorf("serve with a busy ops.listen: %v\n%s", err, out)
	}

	writeFile(t, filepath.Join(s.dir, "hookd.yaml"), "ops:\n  listen: 127.0.0.1\n")
	cmd = exec.Command(bin, "check", "-config", filepath.Join(s.dir, "hookd.yaml"), "-rules", filepath.Join(s.dir, "rules"))
	out, err = cmd.CombinedOutput()
	want := filepath.Join(s.dir, "hookd.yaml") + ":2:11: ops.listen must be an address"
	if err == nil || !strings.Contains(string(out), want) {
		t.Errorf("check with ops.listen 127.0.0.1: %v\n%s\nwant %q", err, out, want)
	}
}
