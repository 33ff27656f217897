package systest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSecretDirNamedTwoWays is the daemon run as an operator runs it, from
// its directory with a relative rules_dir: one directory of secrets named
// by an absolute path in one source and by ../ in another. A rotation of
// either is in force without SIGHUP, and the old secret is refused.
func TestSecretDirNamedTwoWays(t *testing.T) {
	s := newSite(t, "", "")
	sec := filepath.Join(s.dir, "sec5")
	if err := os.Mkdir(sec, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(sec, "a"), "abs-1\n")
	writeFile(t, filepath.Join(sec, "b"), "rel-1\n")
	writeFile(t, filepath.Join(s.dir, "rules", "rules.yaml"), `sources:
  dabs: {verify: {provider: github, secret: "${file:`+sec+`/a}"}}
  drel: {verify: {provider: github, secret: "${file:../sec5/b}"}}
rules: [{name: d, sources: [dabs, drel], actions: [{shell: {command: ["true"]}}]}]
`)
	s.cwd = s.dir
	d := s.startCmd(exec.Command(bin, "serve", "-config", "hookd.yaml", "-rules", "rules", "-data", "data", "-listen", s.addr))
	n := 0
	post := func(path, key string) int {
		n++
		body := []byte(fmt.Sprintf(`{"n":%d}`, n))
		m := hmac.New(sha256.New, []byte(key))
		m.Write(body)
		req, _ := http.NewRequest("POST", "http://"+s.addr+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("two-%d", n))
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for round := 2; round <= 3; round++ {
		for _, c := range []struct{ file, path, prefix string }{{"a", "/hooks/dabs", "abs"}, {"b", "/hooks/drel", "rel"}} {
			key := fmt.Sprintf("%s-%d", c.prefix, round)
			writeFile(t, filepath.Join(sec, c.file), key+"\n")
			eventually(t, "the rotated "+c.file+" in force", 10*time.Second, func() bool { return post(c.path, key) == 200 })
			if code := post(c.path, fmt.Sprintf("%s-%d", c.prefix, round-1)); code != 401 {
				t.Fatalf("%s: the old secret answered %d, want 401", c.path, code)
			}
		}
	}
	if strings.Contains(s.logs.String(), "SIGHUP") {
		t.Fatalf("a watch failed:\n%s", s.logs.String())
	}
	d.stop(t)
}
