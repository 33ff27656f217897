package systest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The operator's path: GitHub's secret moved to a credential, the old
// GITHUB_WEBHOOK_SECRET line left in the env file. No rule names it, so
// hookd cannot know it is a secret; actions get an allow-list of the
// daemon's environment, so it reaches neither the process nor the stored
// record, in serve and in test -run; a script reading it is warned of.
func TestEnvFileLeftoverNotPassed(t *testing.T) {
	const leftover = "s3cret-gh-leftover"
	s := newSite(t, `
sources:
  github: {verify: {provider: github, secret: "${credential:github}"}}
rules:
  - name: show-env
    source: github
    actions:
      - shell: {command: [env]}
      - shell: {script: 'echo "secret=[$GITHUB_WEBHOOK_SECRET] lang=$LANG given=$GIVEN"', env: {GIVEN: "${AWS_PROFILE}"}}
`, "")
	creds := filepath.Join(s.dir, "creds")
	if err := os.Mkdir(creds, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(creds, "github"), secret)
	var env []string
	for _, kv := range s.env {
		if !strings.HasPrefix(kv, "WEBHOOK_SECRET=") && !strings.HasPrefix(kv, "LANG=") {
			env = append(env, kv)
		}
	}
	s.env = append(env, "CREDENTIALS_DIRECTORY="+creds, "GITHUB_WEBHOOK_SECRET="+leftover, "AWS_PROFILE=deploy", "LANG=C.UTF-8")
	s.start()
	if r, err := s.post("env-1", []byte(`{}`)); err != nil || r.code != 200 {
		t.Fatalf("post: %v %+v", err, r)
	}
	var shown []byte
	eventually(t, "the event is done", 20*time.Second, func() bool {
		show := exec.Command(bin, "show", "-data", filepath.Join(s.dir, "data"), "1")
		shown, _ = show.CombinedOutput()
		return strings.Contains(string(shown), "given=")
	})
	test := exec.Command(bin, "test", "-rules", filepath.Join(s.dir, "rules"), "-source", "github", "-run")
	test.Env = s.env
	test.Stdin = strings.NewReader(`{}`)
	tested, err := test.CombinedOutput()
	if err != nil {
		t.Fatalf("hookd test -run: %v\n%s", err, tested)
	}
	for what, out := range map[string]string{"hookd show": string(shown), "hookd test -run": string(tested)} {
		if strings.Contains(out, leftover) || strings.Contains(out, "GITHUB_WEBHOOK_SECRET=") || strings.Contains(out, "AWS_PROFILE=") ||
			strings.Contains(out, "CREDENTIALS_DIRECTORY=") || strings.Contains(out, secret) {
			t.Errorf("%s shows a variable that is not on the allow-list:\n%s", what, out)
		}
		if !strings.Contains(out, "secret=[] lang=C.UTF-8 given=deploy") || !strings.Contains(out, "HOOKD_RULE=show-env") || !strings.Contains(out, "LANG=C.UTF-8") {
			t.Errorf("%s: want the allow-list, HOOKD_* and env: in the actions' environment:\n%s", what, out)
		}
	}
	check := exec.Command(bin, "check", "-rules", filepath.Join(s.dir, "rules"))
	check.Env = s.env
	said, _ := check.CombinedOutput()
	if want := `warning: shell.script reads $GITHUB_WEBHOOK_SECRET, which hookd does not pass to actions: pass it with env: {GITHUB_WEBHOOK_SECRET: "${GITHUB_WEBHOOK_SECRET}"}`; !strings.Contains(string(said), want) {
		t.Errorf("check says:\n%s\nwant a line with %q", said, want)
	}
	if strings.Contains(string(said), "$LANG") || strings.Contains(string(said), "$GIVEN") {
		t.Errorf("check warns of a variable actions get:\n%s", said)
	}
}
