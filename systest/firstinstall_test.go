package systest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A rules file's relative command and dir start at its own directory, not
// at the daemon's working directory (/ under systemd), and so does every
// shell action without dir, command or script. A dir missing at run time is
// named as the fault (not the program), and check warns of it.
func TestRelativePathsFromRulesFile(t *testing.T) {
	s := newSite(t, `
sources:
  github: {verify: {provider: github, secret: "${WEBHOOK_SECRET}"}}
rules:
  - name: deploy
    source: github
    actions:
      - shell: {command: [./deploy.sh, "{{ body.after }}"], env: {OUT: "${OUT}"}}
      - shell: {script: 'echo "dir $PWD" >> "$OUT"', dir: site, env: {OUT: "${OUT}"}}
      - shell: {script: 'echo "script $(pwd)" >> "$OUT"; ./deploy.sh from-script', env: {OUT: "${OUT}"}}
      - shell: {command: [/bin/sh, -c, 'echo "command $(pwd)" >> "$OUT"'], env: {OUT: "${OUT}"}}
  - name: missing-dir
    source: github
    actions:
      - shell: {command: [pwd], dir: work}
`, "")
	rules := filepath.Join(s.dir, "rules")
	if err := os.WriteFile(filepath.Join(rules, "deploy.sh"), []byte("#!/bin/sh\necho \"deployed $1\" >> \"$OUT\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(rules, "site"), 0o755); err != nil {
		t.Fatal(err)
	}
	s.cwd = "/"
	s.start()
	if r, err := s.post("rel-1", []byte(`{"after":"abc123"}`)); err != nil || r.code != 200 {
		t.Fatalf("post: %v %+v", err, r)
	}
	out := filepath.Join(s.dir, "ran")
	eventually(t, "every action ran", 20*time.Second, func() bool { return len(lines(t, out)) == 5 })
	want := []string{"deployed abc123", "dir " + filepath.Join(rules, "site"), "script " + rules, "deployed from-script", "command " + rules}
	if got := lines(t, out); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("ran:\n%q\nwant:\n%q", got, want)
	}

	wantErr := "shell: dir " + filepath.Join(rules, "work") + ": no such file or directory"
	var shown []byte
	eventually(t, "the missing dir is recorded", 20*time.Second, func() bool {
		show := exec.Command(bin, "show", "-data", filepath.Join(s.dir, "data"), "1")
		shown, _ = show.CombinedOutput()
		return strings.Contains(string(shown), "missing-dir") && strings.Contains(string(shown), "failed")
	})
	if !strings.Contains(string(shown), wantErr) {
		t.Errorf("hookd show:\n%s\nwant the error %q", shown, wantErr)
	}
	check := exec.Command(bin, "check", "-rules", rules)
	check.Env = s.env
	said, err := check.CombinedOutput()
	if want := "warning: shell.dir: " + filepath.Join(rules, "work") + " does not exist now"; err != nil || !strings.Contains(string(said), want) {
		t.Errorf("check: %v\n%s\nwant a line with %q", err, said, want)
	}
}

// A verify secret that is the default written in the rules file, because
// its variable is unset, is a warning at start and at every reload, and in
// check, naming the file:line:col and the variable.
func TestPublicDefaultSecretWarned(t *testing.T) {
	s := newSite(t, `sources:
  github:
    verify:
      provider: github
      secret: ${GITHUB_WEBHOOK_SECRET:-quickstart-secret}
`, "")
	file := filepath.Join(s.dir, "rules", "rules.yaml")
	warning := regexp.MustCompile(`level=WARN msg="verify.secret is the default written in this file, because GITHUB_WEBHOOK_SECRET is unset or empty[^"]*" at=` +
		regexp.QuoteMeta(file) + `:5:15`)
	d := s.start()
	eventually(t, "warned at start", 10*time.Second, func() bool { return len(warning.FindAllString(s.logs.String(), -1)) == 1 })
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually(t, "warned again at reload", 10*time.Second, func() bool { return len(warning.FindAllString(s.logs.String(), -1)) == 2 })
	if strings.Contains(s.logs.String(), "quickstart-secret") {
		t.Error("the log shows the default secret")
	}

	cmd := exec.Command(bin, "check", "-rules", filepath.Join(s.dir, "rules"))
	cmd.Env = s.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("check: %v\n%s", err, out)
	}
	if want := file + ":5:15: warning: verify.secret is the default written in this file, because GITHUB_WEBHOOK_SECRET is unset or empty"; !strings.Contains(string(out), want) {
		t.Errorf("check says:\n%s\nwant a line starting %q", out, want)
	}
}

// Inside a script hookd expands nothing: the shell reads its own
// ${VAR:-default} and $$, from the action's env:, and a variable holding a
// secret is not in the script's environment, nor pasted into its text.
func TestScriptShellSyntaxKept(t *testing.T) {
	s := newSite(t, `
sources:
  github: {verify: {provider: github, secret: "${WEBHOOK_SECRET}"}}
rules:
  - name: deploy
    source: github
    actions:
      - shell:
          script: |
            echo "user=${DEPLOY_USER:-deploy} pid=$$ env=[$WEBHOOK_SECRET] text=[${WEBHOOK_SECRET}]" >> "$OUT"
          env: {DEPLOY_USER: alice, OUT: "${OUT}"}
`, "")
	s.start()
	if r, err := s.post("script-1", []byte(`{}`)); err != nil || r.code != 200 {
		t.Fatalf("post: %v %+v", err, r)
	}
	out := filepath.Join(s.dir, "ran")
	eventually(t, "the script ran", 20*time.Second, func() bool { return len(lines(t, out)) == 1 })
	got := lines(t, out)[0]
	if !regexp.MustCompile(`^user=alice pid=[0-9]+ env=\[\] text=\[\]$`).MatchString(got) {
		t.Errorf("the script printed %q, want user=alice pid=<its pid> env=[] text=[]", got)
	}
	if !strings.Contains(s.logs.String(), "shell.script reads $WEBHOOK_SECRET, which hookd does not pass to actions") {
		t.Errorf("no warning of the script reading a secret variable in:\n%s", s.logs.String())
	}
}
