package engine

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hookd/rules"
)

// signedBy is a GitHub push signed with key.
func signedBy(key string, n int) ([]byte, http.Header) {
	body := []byte(fmt.Sprintf(`{"ref":"refs/heads/main","n":%d,"t":%d}`, n, time.Now().UnixNano()))
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return body, http.Header{
		"X-Hub-Signature-256": {"sha256=" + hex.EncodeToString(m.Sum(nil))},
		"X-Github-Event":      {"push"},
		"X-Github-Delivery":   {fmt.Sprintf("spell-%d-%d", n, time.Now().UnixNano())},
		"Content-Type":        {"application/json"},
	}
}

// waitKey polls until a push to path signed with key answers want.
func (te *testEngine) waitKey(path, key string, want int) {
	te.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		body, h := signedBy(key, i)
		if a := te.send("POST", path, h, body); a.code == want {
			return
		} else if time.Now().After(deadline) {
			te.t.Fatalf("POST %s signed with %s: still %d after 10s, want %d", path, key, a.code, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rotate replaces the file as an editor or a secrets manager would:
// written in place, or a new file renamed over it.
func rotate(t *testing.T, path, content string, rename bool) {
	t.Helper()
	if !rename {
		writeFile(t, path, content)
		return
	}
	tmp := filepath.Join(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	writeFile(t, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestWatchSecretDirBySeveralSpellings: one directory of secrets named by
// a path relative to a relative rules_dir, by an absolute path and through
// a symlink. inotify watches the directory once, and every secret in it
// rotated is seen, whichever spelling its reference uses.
func TestWatchSecretDirBySeveralSpellings(t *testing.T) {
	dir := t.TempDir()
	sec := filepath.Join(dir, "sec")
	if err := os.Mkdir(sec, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(sec, filepath.Join(dir, "seclink")); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b", "c"} {
		writeFile(t, filepath.Join(sec, n), n+"-key-1\n")
	}
	rulesYAML := `sources:
  sa: {verify: {provider: github, secret: "${file:$DIR/sec/a}"}}
  sb: {verify: {provider: github, secret: "${file:../sec/b}"}}
  sc: {verify: {provider: github, secret: "${file:$DIR/seclink/c}"}}
rules: [{name: d, sources: [sa, sb, sc], actions: [{shell: {command: ["true"]}}]}]
`
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(cwd, filepath.Join(dir, "rules"))
	if err != nil {
		t.Fatal(err)
	}
	te := startEngine(t, dir, rulesYAML, func(c *rules.Config) { c.RulesDir = rel })
	for _, n := range []string{"a", "b", "c"} {
		te.waitKey("/hooks/s"+n, n+"-key-1", 200)
	}
	for round, rename := range []bool{false, true} {
		for _, n := range []string{"a", "b", "c"} {
			key := fmt.Sprintf("%s-key-%d", n, round+2)
			rotate(t, filepath.Join(sec, n), key+"\n", rename)
			te.waitKey("/hooks/s"+n, key, 200)
			te.waitKey("/hooks/s"+n, fmt.Sprintf("%s-key-%d", n, round+1), 401)
		}
	}
}

// TestWatchSymlinkedRulesFile: a rules file that is a symlink to a file
// elsewhere, directly or through a second link, reloads when the file it
// links to is edited, in place or renamed over; and when the link is
// pointed elsewhere.
func TestWatchSymlinkedRulesFile(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"rules", "ext", "hop", "final"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, "ext", "app.yaml"), sourceFile("a1"))
	writeFile(t, filepath.Join(dir, "final", "two.yaml"), sourceFile("b1"))
	writeFile(t, filepath.Join(dir, "ext", "other.yaml"), sourceFile("c1"))
	if err := os.Symlink(filepath.Join(dir, "ext", "app.yaml"), filepath.Join(dir, "rules", "app.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../final/two.yaml", filepath.Join(dir, "hop", "two.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../hop/two.yaml", filepath.Join(dir, "rules", "two.yaml")); err != nil {
		t.Fatal(err)
	}
	te := startEngine(t, dir, "", nil)
	te.waitCode("/hooks/a1", 200)
	te.waitCode("/hooks/b1", 200)

	rotate(t, filepath.Join(dir, "ext", "app.yaml"), sourceFile("a2"), false)
	te.waitCode("/hooks/a2", 200)
	rotate(t, filepath.Join(dir, "ext", "app.yaml"), sourceFile("a3"), true)
	te.waitCode("/hooks/a3", 200)
	te.waitCode("/hooks/a2", 404)

	rotate(t, filepath.Join(dir, "final", "two.yaml"), sourceFile("b2"), true)
	te.waitCode("/hooks/b2", 200)
	te.waitCode("/hooks/b1", 404)

	// The middle link pointed at another file: then that file is watched.
	tmp := filepath.Join(dir, "hop", "two.tmp")
	if err := os.Symlink("../ext/other.yaml", tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "hop", "two.yaml")); err != nil {
		t.Fatal(err)
	}
	te.waitCode("/hooks/c1", 200)
	rotate(t, filepath.Join(dir, "ext", "other.yaml"), sourceFile("c2"), false)
	te.waitCode("/hooks/c2", 200)
	if strings.Contains(te.logs.String(), "cannot watch") {
		t.Fatalf("a watch failed:\n%s", te.logs.String())
	}
}
