package systest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// postSigned sends a GitHub push signed with key; it returns the status.
func (s *site) postSigned(t *testing.T, key, delivery string) int {
	t.Helper()
	body := []byte(`{"ref":"refs/heads/main"}`)
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	req, _ := http.NewRequest("POST", "http://"+s.addr+"/hooks/github", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", delivery)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

const secretFileRules = `
sources:
  github:
    verify: {provider: github, secret: "${file:../secrets/gh}"}
rules:
  - name: effect
    source: github
    actions: [{shell: {command: ["true"]}}]
`

// TestSecretFileChangesReload: a ${file:} secret rotated by a symlink swap
// (as Kubernetes and systemd do), rewritten in place, or fixed after a
// failed reload takes effect without SIGHUP; touch of a rules file or a
// chmod of a secret reloads once, and the daemon's own reads never do.
func TestSecretFileChangesReload(t *testing.T) {
	s := newSite(t, secretFileRules, "")
	sec := filepath.Join(s.dir, "secrets")
	for _, d := range []string{"..v1", "..v2"} {
		if err := os.MkdirAll(filepath.Join(sec, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(sec, "..v1", "gh"), "old-secret\n")
	writeFile(t, filepath.Join(sec, "..v2", "gh"), "new-secret\n")
	symlink(t, "..v1", filepath.Join(sec, "..data"))
	symlink(t, "..data/gh", filepath.Join(sec, "gh"))
	d := s.start()
	n := 0
	accepts := func(key string, want int) func() bool {
		return func() bool { n++; return s.postSigned(t, key, "d-"+strings.Repeat("x", n)) == want }
	}
	if !accepts("old-secret", 200)() {
		t.Fatal("the secret of the file is not in force at start")
	}

	// Kubernetes' swap: ..data points elsewhere, in one rename.
	symlink(t, "..v2", filepath.Join(sec, "..data_tmp"))
	if err := os.Rename(filepath.Join(sec, "..data_tmp"), filepath.Join(sec, "..data")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the swapped secret in force", 10*time.Second, accepts("new-secret", 200))
	if !accepts("old-secret", 401)() {
		t.Fatal("the old secret still verifies after the swap")
	}

	// Replaced by a plain file, empty at first: the reload fails and the
	// secret in force stays; the file fixed, it takes effect.
	if err := os.Remove(filepath.Join(sec, "gh")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(sec, "gh"), "")
	eventually(t, "the failed reload", 10*time.Second, func() bool { return strings.Contains(s.logs.String(), "is empty") })
	if !accepts("new-secret", 200)() {
		t.Fatal("a failed reload dropped the secret in force")
	}
	writeFile(t, filepath.Join(sec, "gh"), "third-secret\n")
	eventually(t, "the rewritten secret in force", 10*time.Second, accepts("third-secret", 200))

	// touch of a rules file and chmod of a secret reload, once each.
	reloads := func() int { return strings.Count(s.logs.String(), "msg=reloaded") }
	settle := func(what string, want int) {
		t.Helper()
		eventually(t, what, 10*time.Second, func() bool { return reloads() >= want })
		time.Sleep(1500 * time.Millisecond) // more than the debounce, several times
		if got := reloads(); got != want {
			t.Fatalf("%s: %d reloads, want %d: the daemon reloads on its own reads", what, got, want)
		}
	}
	settle("the reloads so far", reloads())
	before := reloads()
	now := time.Now()
	if err := os.Chtimes(filepath.Join(s.dir, "rules", "rules.yaml"), now, now); err != nil {
		t.Fatal(err)
	}
	settle("touch rules.yaml", before+1)
	if err := os.Chmod(filepath.Join(sec, "gh"), 0o600); err != nil {
		t.Fatal(err)
	}
	settle("chmod of the secret", before+2)

	// A mis-cased rules file: one warning line when it appears, with its
	// path and no :0:0, and no reload.
	odd := filepath.Join(s.dir, "rules", "deploy.YAML")
	writeFile(t, odd, secretFileRules)
	warn := "not loaded: only names ending in .yaml or .yml, in lower case, are rule files\" at=" + odd + "\n"
	eventually(t, "the warning for deploy.YAML", 10*time.Second, func() bool { return strings.Contains(s.logs.String(), warn) })
	writeFile(t, odd, secretFileRules+"\n") // saved again: said once
	settle("deploy.YAML written", before+2)
	if c := strings.Count(s.logs.String(), "deploy.YAML"); c != 1 {
		t.Fatalf("deploy.YAML named %d times in the log:\n%s", c, s.logs.String())
	}

	// A new rules file whose secret, in a directory watched by no one yet,
	// is missing: the reload fails; the secret written, it succeeds.
	sec2 := filepath.Join(s.dir, "secrets2")
	if err := os.Mkdir(sec2, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(s.dir, "rules", "gitlab.yaml"), "sources:\n  gitlab:\n    verify: {provider: gitlab, secret: \"${file:../secrets2/gl}\"}\n")
	eventually(t, "the reload refused for the missing secret", 10*time.Second, func() bool {
		return strings.Contains(s.logs.String(), "secrets2/gl does not exist")
	})
	writeFile(t, filepath.Join(sec2, "gl"), "gitlab-token\n")
	eventually(t, "the reload once the secret is there", 10*time.Second, func() bool {
		return strings.Contains(s.logs.String(), "msg=reloaded sources=2")
	})
	d.stop(t)
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}
