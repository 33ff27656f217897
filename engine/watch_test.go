package engine

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"hookd/rules"
)

// sourceFile is a rules file declaring unsigned sources.
func sourceFile(names ...string) string {
	var b strings.Builder
	b.WriteString("sources:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %s:\n    verify: {provider: none}\n", n)
	}
	return b.String()
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitCode polls until POST path answers want; a reload is asynchronous.
func (te *testEngine) waitCode(path string, want int) {
	te.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		body := []byte(fmt.Sprintf(`{"poll":%d,"t":%d}`, i, time.Now().UnixNano()))
		a := te.send("POST", path, http.Header{"Content-Type": {"application/json"}}, body)
		if a.code == want {
			return
		}
		if time.Now().After(deadline) {
			te.t.Fatalf("POST %s: still %d after 20s, want %d", path, a.code, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (te *testEngine) waitLog(substr string) {
	te.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(te.logs.String(), substr) {
		if time.Now().After(deadline) {
			te.t.Fatalf("log never said %q", substr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startWithExtra starts an engine whose rules directory also holds
// extra.yaml declaring source a.
func startWithExtra(t *testing.T) (*testEngine, string) {
	dir := t.TempDir()
	rd := filepath.Join(dir, "rules")
	if err := os.MkdirAll(rd, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(rd, "extra.yaml"), sourceFile("a"))
	te := startEngine(t, dir, deployRules, nil)
	te.waitCode("/hooks/a", 200)
	return te, rd
}

func TestWatchSavePatterns(t *testing.T) {
	for _, tc := range []struct {
		name string
		save func(t *testing.T, rd string)
		live []string // paths that must answer 200 after
		gone []string // paths that must answer 404 after
	}{
		{"write in place", func(t *testing.T, rd string) {
			f, err := os.OpenFile(filepath.Join(rd, "extra.yaml"), os.O_WRONLY|os.O_TRUNC, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteString(sourceFile("b")); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		}, []string{"/hooks/b"}, []string{"/hooks/a"}},
		{"temp file renamed over", func(t *testing.T, rd string) {
			tmp := filepath.Join(rd, ".extra.yaml.swp")
			writeFile(t, tmp, sourceFile("b"))
			if err := os.Rename(tmp, filepath.Join(rd, "extra.yaml")); err != nil {
				t.Fatal(err)
			}
		}, []string{"/hooks/b"}, []string{"/hooks/a"}},
		{"delete and recreate", func(t *testing.T, rd string) {
			if err := os.Remove(filepath.Join(rd, "extra.yaml")); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(rd, "extra.yaml"), sourceFile("b"))
		}, []string{"/hooks/b"}, []string{"/hooks/a"}},
		{"several files in one burst", func(t *testing.T, rd string) {
			writeFile(t, filepath.Join(rd, "extra.yaml"), sourceFile("b"))
			writeFile(t, filepath.Join(rd, "more.yml"), sourceFile("c", "d"))
			writeFile(t, filepath.Join(rd, "rules.yaml"), sourceFile("e"))
		}, []string{"/hooks/b", "/hooks/c", "/hooks/d", "/hooks/e"}, []string{"/hooks/a", "/hooks/github"}},
		{"new file", func(t *testing.T, rd string) {
			writeFile(t, filepath.Join(rd, "new.yaml"), sourceFile("b"))
		}, []string{"/hooks/a", "/hooks/b"}, nil},
		{"file removed", func(t *testing.T, rd string) {
			if err := os.Remove(filepath.Join(rd, "extra.yaml")); err != nil {
				t.Fatal(err)
			}
		}, []string{"/hooks/github"}, []string{"/hooks/a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			te, rd := startWithExtra(t)
			tc.save(t, rd)
			for _, p := range tc.live {
				if p == "/hooks/github" {
					continue // signed: its presence is seen as 401, below
				}
				te.waitCode(p, 200)
			}
			for _, p := range tc.gone {
				te.waitCode(p, 404)
			}
			for _, p := range tc.live {
				if p == "/hooks/github" {
					te.waitCode(p, 401)
				}
			}
		})
	}
}

// TestWatchConfigMapSwap swaps a Kubernetes ConfigMap volume: the files are
// symlinks through ..data, which is itself a symlink replaced by rename.
func TestWatchConfigMapSwap(t *testing.T) {
	dir := t.TempDir()
	rd := filepath.Join(dir, "rules")
	gen := func(n int, content string) {
		d := filepath.Join(rd, fmt.Sprintf("..2026_01_0%d", n))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(d, "extra.yaml"), content)
		tmp := filepath.Join(rd, "..data_tmp")
		if err := os.Symlink(filepath.Base(d), tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(rd, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(rd, 0o755); err != nil {
		t.Fatal(err)
	}
	gen(1, sourceFile("a"))
	if err := os.Symlink("..data/extra.yaml", filepath.Join(rd, "extra.yaml")); err != nil {
		t.Fatal(err)
	}
	te := startEngine(t, dir, deployRules, nil)
	te.waitCode("/hooks/a", 200)
	gen(2, sourceFile("b"))
	if err := os.RemoveAll(filepath.Join(rd, "..2026_01_01")); err != nil {
		t.Fatal(err)
	}
	te.waitCode("/hooks/b", 200)
	te.waitCode("/hooks/a", 404)
}

// TestWatchSymlinkedDirSwap points the rules directory, a symlink, at
// another release directory.
func TestWatchSymlinkedDirSwap(t *testing.T) {
	dir := t.TempDir()
	for i, name := range []string{"a", "b"} {
		d := filepath.Join(dir, fmt.Sprintf("v%d", i+1))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(d, "extra.yaml"), sourceFile(name))
	}
	cur := filepath.Join(dir, "current")
	if err := os.Symlink("v1", cur); err != nil {
		t.Fatal(err)
	}
	te := startEngine(t, dir, "", func(c *rules.Config) { c.RulesDir = cur })
	te.waitCode("/hooks/a", 200)
	swap := func(target string) {
		tmp := filepath.Join(dir, "current.tmp")
		if err := os.Symlink(target, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, cur); err != nil {
			t.Fatal(err)
		}
	}
	swap("v2")
	te.waitCode("/hooks/b", 200)
	te.waitCode("/hooks/a", 404)
	// The new target is watched too.
	writeFile(t, filepath.Join(dir, "v2", "more.yaml"), sourceFile("c"))
	te.waitCode("/hooks/c", 200)
}

func TestWatchInvalidEditKeepsServingThenFix(t *testing.T) {
	te, rd := startWithExtra(t)
	bad := sourceFile("b") + `rules:
  - name: broken
    source: b
    when: event == 
    actions:
      - shell: {command: [/bin/true]}
`
	writeFile(t, filepath.Join(rd, "extra.yaml"), bad)
	te.waitLog(filepath.Join(rd, "extra.yaml") + ":7:18: ")
	if ok, _ := te.LastReload(); ok {
		t.Fatal("LastReload reports success after an invalid edit")
	}
	te.waitCode("/hooks/a", 200)
	if a := te.send("POST", "/hooks/b", nil, []byte("{}")); a.code != 404 {
		t.Fatalf("half of an invalid configuration was applied: /hooks/b answered %d", a.code)
	}
	if a := te.send("GET", "/readyz", nil, nil); a.code != 200 {
		t.Fatalf("readyz %d after an invalid edit", a.code)
	}
	_, failedAt := te.LastReload()
	writeFile(t, filepath.Join(rd, "extra.yaml"), strings.Replace(bad, "event == ", `event == "push"`, 1))
	te.waitCode("/hooks/b", 200)
	te.waitCode("/hooks/a", 404)
	ok, at := te.LastReload()
	if !ok || !at.After(failedAt) {
		t.Fatalf("LastReload = %v at %v, want success after %v", ok, at, failedAt)
	}
	if te.Rules().Rules["broken"] == nil {
		t.Fatal("the fixed rule is not in force")
	}
}

func TestWatchConfigFileLiveSettings(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "hookd.yaml")
	const base = "listen: 127.0.0.1:0\nrules_dir: rules\ndata_dir: data\n"
	writeFile(t, cfgFile, base)
	if err := os.MkdirAll(filepath.Join(dir, "rules"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "rules", "extra.yaml"), sourceFile("a"))
	te := startEngine(t, dir, deployRules, func(c *rules.Config) { c.File = cfgFile })
	te.waitCode("/hooks/a", 200)
	writeFile(t, cfgFile, "listen: 127.0.0.1:1\nrules_dir: rules\ndata_dir: data\nmax_body: 8\ntimeout: 42s\n")
	te.waitCode("/hooks/a", 413)
	te.waitLog("settings=[listen]")
	cfg := te.Config()
	if cfg.Listen != "127.0.0.1:0" || cfg.MaxBody != 8 {
		t.Fatalf("config in force: listen %q max_body %d", cfg.Listen, cfg.MaxBody)
	}
	// Rule defaults from hookd.yaml apply to the rules loaded with them.
	if d := te.Rules().Rules["deploy"].Timeout; d != 42*time.Second {
		t.Fatalf("rule timeout %v, want the new default 42s", d)
	}
	// An invalid hookd.yaml keeps everything as it was.
	writeFile(t, cfgFile, base+"max_body: lots\n")
	te.waitLog(cfgFile + ":4:")
	if ok, _ := te.LastReload(); ok {
		t.Fatal("LastReload reports success after an invalid hookd.yaml")
	}
	if a := te.send("POST", "/hooks/a", nil, []byte("0123456789")); a.code != 413 {
		t.Fatalf("answer %d: the invalid hookd.yaml changed max_body", a.code)
	}
}

// TestReloadDuringRequests reloads over and over while requests stream in:
// none fails and every accepted job runs.
func TestReloadDuringRequests(t *testing.T) {
	te, rd := startWithExtra(t)
	withRule := sourceFile("a") + `rules:
  - name: tick
    source: a
    when: int(body.n) % 3 == 0
    actions:
      - shell: {command: [/bin/true]}
`
	writeFile(t, filepath.Join(rd, "extra.yaml"), withRule)
	for deadline := time.Now().Add(20 * time.Second); te.Rules().Rules["tick"] == nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("rule tick never loaded")
		}
	}
	stop := make(chan struct{})
	reloads := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				reloads <- n
				return
			default:
			}
			if n%2 == 0 {
				_ = te.Reload()
			} else {
				// The watcher's reloads run too. The file is replaced by a
				// rename: written in place, it is empty for a moment, and
				// a reload of the watcher's, which can run right after
				// this loop's, would read a file that declares nothing.
				tmp := filepath.Join(t.TempDir(), "extra.yaml")
				writeFile(t, tmp, withRule+fmt.Sprintf("# %d\n", n))
				if err := os.Rename(tmp, filepath.Join(rd, "extra.yaml")); err != nil {
					t.Error(err)
				}
			}
			n++
		}
	}()
	const workers, each = 8, 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	accepted := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				n := w*each + i
				req, _ := http.NewRequest("POST", te.url+"/hooks/a", strings.NewReader(fmt.Sprintf(`{"n":%d}`, n)))
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				mu.Lock()
				if err != nil {
					failures = append(failures, err.Error())
				} else {
					if resp.StatusCode != 200 {
						failures = append(failures, fmt.Sprintf("request %d: %d", n, resp.StatusCode))
					} else if n%3 == 0 {
						accepted++
					}
					resp.Body.Close()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(stop)
	n := <-reloads
	if len(failures) > 0 {
		t.Fatalf("%d requests failed during %d reloads: %v", len(failures), n, failures[:min(5, len(failures))])
	}
	if n < 2 {
		t.Fatalf("only %d reloads ran during the requests", n)
	}
	te.waitJobs(accepted)
}
