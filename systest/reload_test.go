package systest

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Two valid versions differ only in what the action records, so that a
// reload really swaps something; the rule's name stays, since a queued
// job whose rule is removed is cancelled by design.
const reloadValid = `
sources:
  github:
    verify: {provider: github, secret: "${WEBHOOK_SECRET}"}
rules:
  - name: effect
    source: github
    actions:
      - shell:
          env: {V: "%s", OUT: "${OUT}"}
          script: 'printf "%%s %%s\n" "$HOOKD_DELIVERY_ID" "$V" >> "$OUT"'
`

// Invalid versions: each would, if it took effect, stop the source
// answering 200 or the action running.
var reloadInvalid = []string{
	"sources:\n  github:\n    verify: {provider: github, secret: \"\"}\n",
	"sources: {github: {path: /hooks/github, verify: {provider: github, secret: x}}}\nrules:\n  - name: effect\n    source: github\n    when: body.ref ==\n",
	"sources:\n  github:\n    verify: {provider: github, secret: \"${WEBHOOK_SECRET}\"}\n    bogus: 1\n",
	"sources: [\n",
	"rules:\n  - name: effect\n    source: nowhere\n    actions: [{shell: {command: [\"false\"]}}]\n",
}

// TestReloadUnderLoad reloads 100 times, half of them with an invalid
// file, by SIGHUP and the watcher, while several clients send: no request
// fails, every accepted delivery runs, and the source keeps answering.
func TestReloadUnderLoad(t *testing.T) {
	reloads := 100
	if *soak {
		reloads = 1000
	}
	s := newSite(t, fmt.Sprintf(reloadValid, "v0"), "workers: 4\n")
	d := s.start()
	rulesFile := filepath.Join(s.dir, "rules", "rules.yaml")

	var (
		mu       sync.Mutex
		accepted = map[string]bool{}
		sent     int
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("g%d-%d", g, i)
				r, err := s.post(id, []byte(`{"ref":"refs/heads/main"}`))
				mu.Lock()
				sent++
				mu.Unlock()
				if err != nil || r.code != 200 || r.Status != "accepted" {
					t.Errorf("delivery %s during reloads: %v %+v", id, err, r)
					continue
				}
				mu.Lock()
				accepted[id] = true
				mu.Unlock()
			}
		}()
	}
	for i := range reloads {
		content := fmt.Sprintf(reloadValid, fmt.Sprintf("v%d", i))
		if i%2 == 1 {
			content = reloadInvalid[(i/2)%len(reloadInvalid)]
		}
		// Rename over the file, as editors and config managers do, so
		// that no reload reads it half written.
		tmp := filepath.Join(s.dir, "rules.tmp")
		writeFile(t, tmp, content)
		if err := os.Rename(tmp, rulesFile); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			_ = d.cmd.Process.Signal(syscall.SIGHUP)
		}
		time.Sleep(30 * time.Millisecond)
	}
	// End on a valid file and let the watcher see it.
	writeFile(t, filepath.Join(s.dir, "rules.tmp"), fmt.Sprintf(reloadValid, "final"))
	if err := os.Rename(filepath.Join(s.dir, "rules.tmp"), rulesFile); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(accepted) == 0 {
		t.Fatal("nothing accepted")
	}
	want := map[string]bool{}
	for id := range accepted {
		want[id] = true
	}
	// waitRan matches whole lines; here a line is "id version".
	eventually(t, "every accepted delivery ran", 60*time.Second, func() bool {
		got := map[string]bool{}
		for _, l := range lines(t, filepath.Join(s.dir, "ran")) {
			var id, v string
			fmt.Sscan(l, &id, &v)
			got[id] = true
		}
		for id := range want {
			if !got[id] {
				return false
			}
		}
		return true
	})
	d.stop(t)
	t.Logf("%d reloads (half invalid), %d requests sent, %d accepted, 0 failed, 0 lost", reloads, sent, len(accepted))
}
