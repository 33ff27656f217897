package systest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readmeNginx is the README's nginx block for several nodes, made to run
// here: the two nodes' addresses, plain HTTP on listen, no certificates.
func readmeNginx(t *testing.T, listen string, nodes []string) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	_, doc, _ = strings.Cut(doc, "### 3. A load balancer in front")
	_, doc, _ = strings.Cut(doc, "```nginx\n")
	block, _, ok := strings.Cut(doc, "```")
	if !ok {
		t.Fatal("README: no nginx block under '### 3. A load balancer in front'")
	}
	for i, addr := range []string{"10.0.0.11:9000", "10.0.0.12:9000"} {
		if !strings.Contains(block, addr) {
			t.Fatalf("README's nginx block has no server %s:\n%s", addr, block)
		}
		block = strings.ReplaceAll(block, addr, nodes[i])
	}
	var out []string
	for _, l := range strings.Split(block, "\n") {
		switch f := strings.TrimSpace(l); {
		case strings.HasPrefix(f, "ssl_certificate"):
			continue
		case strings.HasPrefix(f, "listen "):
			l = "    listen " + listen + ";"
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// With the README's nginx block in front of two nodes, a database outage
// reaches senders as hookd's 503 with Retry-After, every time (counted as
// a failure, it would mark both nodes down and senders would get nginx's
// 502), and a node that is down has its deliveries sent to the other.
func TestReadmeNginxPassesHookd503(t *testing.T) {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		t.Skip("no nginx (apt-get install nginx-light)")
	}
	pg := startPostgres(t)
	c := newCluster(t, 2, pg.url, clusterRules, "30s")
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close()
	tmp := filepath.Join(dir, "tmp")
	conf := fmt.Sprintf(`daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events {}
http {
  access_log off;
  client_body_temp_path %[2]s; proxy_temp_path %[2]s; fastcgi_temp_path %[2]s; uwsgi_temp_path %[2]s; scgi_temp_path %[2]s;
%[3]s
}
`, dir, tmp, readmeNginx(t, listen, []string{c.nodes[0].site.addr, c.nodes[1].site.addr}))
	writeFile(t, filepath.Join(dir, "nginx.conf"), conf)
	os.MkdirAll(tmp, 0o755)
	if out, err := exec.Command(nginx, "-t", "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", filepath.Join(dir, "nginx.conf")).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s\n%s", err, out, conf)
	}
	cmd := exec.Command(nginx, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", filepath.Join(dir, "nginx.conf"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	via := func(delivery string) (int, string, string) {
		body := pushBody("load", delivery)
		req, _ := http.NewRequest("POST", "http://"+listen+"/hooks/github", bytes.NewReader(body))
		req.Header = githubHeaders(delivery, body)
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err.Error()
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		return resp.StatusCode, resp.Header.Get("Retry-After"), buf.String()
	}
	eventually(t, "nginx to pass a delivery", 10*time.Second, func() bool { code, _, _ := via("ng-up"); return code == 200 })

	pg.stop()
	eventually(t, "/readyz 503 on both nodes", 15*time.Second, func() bool {
		return c.nodes[0].ready() == 503 && c.nodes[1].ready() == 503
	})
	for i := range 12 {
		if code, retry, body := via(fmt.Sprintf("ng-down-%d", i)); code != 503 || retry == "" || !strings.Contains(body, `"error"`) {
			t.Fatalf("delivery %d through nginx with the database down: %d Retry-After %q %.200s; want hookd's 503", i, code, retry, body)
		}
	}

	pg.start()
	c.nodes[0].kill()
	eventually(t, "node2 ready", 30*time.Second, func() bool { return c.nodes[1].ready() == 200 })
	for i := range 6 {
		if code, _, body := via(fmt.Sprintf("ng-one-%d", i)); code != 200 {
			t.Fatalf("delivery %d with node1 down: %d %.200s; want it sent to node2", i, code, body)
		}
	}
}
