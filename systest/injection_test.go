package systest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"hookd/store"
)

// TestInjection passes hostile payload fields through argv, env, a shell
// script and an http action's json and headers: each arrives as data, no
// shell code runs, nothing is written where it should not be, and a NUL
// is an action failure with a clear message, not a crash.
func TestInjection(t *testing.T) {
	canaryDir := t.TempDir()
	canary := filepath.Join(canaryDir, "pwned")
	out := t.TempDir()

	var mu sync.Mutex
	got := map[string]string{} // mark -> json v the http action sent
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v struct{ Mark, V string }
		raw, _ := io.ReadAll(r.Body)
		if json.Unmarshal(raw, &v) == nil {
			mu.Lock()
			got[v.Mark] = v.V
			mu.Unlock()
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	rules := `
sources:
  github:
    verify: {provider: github, secret: "${WEBHOOK_SECRET}"}
rules:
  - name: argv
    source: github
    actions:
      - shell:
          command: [/bin/sh, -c, 'printf "%s" "$1" > "$ODIR/argv-$HOOKD_DELIVERY_ID"', sh, "{{ body.v }}"]
          env: {ODIR: "${ODIR}"}
  - name: argv-lead
    source: github
    actions:
      - shell:
          command: [/bin/echo, "{{ body.v }}", "x{{ body.v }}"]
  - name: env
    source: github
    actions:
      - shell:
          env: {V: "{{ body.v }}", ODIR: "${ODIR}"}
          script: 'printf "%s" "$V" > "$ODIR/env-$HOOKD_DELIVERY_ID"; printf "%s" "$V" | cat > /dev/null'
  - name: http
    source: github
    actions:
      - http:
          url: "http://` + ln.Addr().String() + `/hook/{{ body.mark }}"
          json: {mark: "{{ body.mark }}", v: "{{ body.v }}"}
`
	s := newSite(t, rules, "workers: 4\n")
	s.env = append(s.env, "ODIR="+out)
	d := s.start()

	payloads := map[string]string{
		"subst":     "$(touch " + canary + ")",
		"backticks": "`touch " + canary + "`",
		"semicolon": "x; touch " + canary,
		"pipe":      "x | touch " + canary,
		"and":       "x && touch " + canary,
		"newline":   "x\ntouch " + canary + "\n",
		"dotdot":    "../../../../" + canary,
		"dash":      "-rf",
		"dashdash":  "--output=" + canary,
		"long":      strings.Repeat("A$(x)`y`;", 100<<10/9),
		"badutf8":   "x\xff\xfe\xc3(y",
		"redirect":  "> " + canary,
		"nul":       "a\x00b",
	}
	ids := map[string]uint64{}
	for name, v := range payloads {
		body, err := json.Marshal(map[string]string{"mark": name, "v": v})
		if err != nil {
			t.Fatal(err)
		}
		if !utf8.ValidString(v) {
			// json.Marshal would replace the bad bytes: send them raw.
			body = []byte(`{"mark":"` + name + `","v":"` + v + `"}`)
		}
		a, err := s.postTo("/hooks/github", githubHeaders(name, body), body)
		if err != nil || a.code != 200 || a.Status != "accepted" {
			t.Fatalf("%s: %v %d %+v", name, err, a.code, a.reply)
		}
		ids[name] = a.ID
	}
	// Each event's four jobs are final when its record says so.
	eventually(t, "every job finished", 60*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= len(payloads)-0 && filesFor(out, len(payloads)-1)
	})
	// The daemon is alive and still serving.
	body := []byte(`{"mark":"after","v":"ok"}`)
	if a, err := s.postTo("/hooks/github", githubHeaders("after", body), body); err != nil || a.Status != "accepted" {
		t.Fatalf("after the payloads: %v %+v", err, a)
	}
	eventually(t, "the last delivery ran", 60*time.Second, func() bool {
		_, e1 := os.Stat(filepath.Join(out, "argv-after"))
		_, e2 := os.Stat(filepath.Join(out, "env-after"))
		return e1 == nil && e2 == nil
	})
	d.stop(t)

	if _, err := os.Stat(canary); err == nil {
		t.Fatal("a payload ran as shell code: the canary file exists")
	}
	if ents, _ := os.ReadDir(canaryDir); len(ents) != 0 {
		t.Errorf("files written in the canary dir: %v", ents)
	}
	for name, v := range payloads {
		if !utf8.ValidString(v) {
			// A JSON body's invalid bytes decode as U+FFFD, as in
			// encoding/json: the action sees that text.
			v = "x\uFFFD\uFFFD\uFFFD(y"
		}
		for _, kind := range []string{"argv", "env"} {
			raw, err := os.ReadFile(filepath.Join(out, kind+"-"+name))
			if name == "nul" {
				if err == nil {
					t.Errorf("%s: a value with a NUL reached the process: %q", kind, raw)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s %s: %v", kind, name, err)
			} else if string(raw) != v {
				t.Errorf("%s %s: the process got %.60q, want %.60q", kind, name, raw, v)
			}
		}
		mu.Lock()
		hv, ok := got[name]
		mu.Unlock()
		switch {
		case !ok:
			t.Errorf("http %s: never arrived", name)
		case hv != v:
			t.Errorf("http %s: got %.60q, want %.60q", name, hv, v)
		}
	}
	ents, _ := os.ReadDir(out)
	if len(ents) != 2*len(payloads) { // the NUL's two missing, "after"'s two there
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("unexpected files in the output dir: %v", names)
	}

	// The NUL: the argv and env jobs failed, saying why.
	st, err := store.Open(filepath.Join(s.dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, jobs, err := st.EventJobs(ids["nul"])
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		msg := fmt.Sprintf("%s %s %+v", j.State, j.Error, j.Attempts)
		switch j.Rule {
		case "argv", "argv-lead", "env":
			if j.State != store.Failed || !strings.Contains(msg, "NUL") {
				t.Errorf("job %s with a NUL: want failed with a message naming the NUL, got %s", j.Rule, msg)
			}
		}
	}
}

// filesFor reports whether dir holds the argv and env files of n payloads.
func filesFor(dir string, n int) bool {
	ents, _ := os.ReadDir(dir)
	return len(ents) >= 2*n
}
