package systest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A verify secret read from a systemd credential verifies signed pushes,
// is read again at reload, and never shows: not in the log, not in an
// action's environment or its recorded output, not in `hookd test`.
func TestCredentialSecret(t *testing.T) {
	s := newSite(t, `
sources:
  github: {verify: {provider: github, secret: "${credential:github}"}}
rules:
  - name: deploy
    source: github
    actions:
      - shell:
          script: 'env > "$OUT.env"; echo ran >> "$OUT"; cat "$SECRET_FILE"; echo "token=$DEPLOY_TOKEN"; exit 3'
          env: {DEPLOY_TOKEN: "${file:deploy-token}", OUT: "${OUT}", SECRET_FILE: "${SECRET_FILE}"}
`, "")
	// A relative ${file:...} is read beside the rules file that names it.
	writeFile(t, filepath.Join(s.dir, "rules", "deploy-token"), "deploy-token-5e7a\n")
	creds := filepath.Join(s.dir, "creds")
	if err := os.Mkdir(creds, 0o700); err != nil {
		t.Fatal(err)
	}
	credFile := filepath.Join(creds, "github")
	writeFile(t, credFile, secret+"\n")
	// The secret is only in the credential file: not in the environment.
	var env []string
	for _, kv := range s.env {
		if !strings.HasPrefix(kv, "WEBHOOK_SECRET=") {
			env = append(env, kv)
		}
	}
	s.env = append(env, "CREDENTIALS_DIRECTORY="+creds, "SECRET_FILE="+credFile)
	d := s.start()

	r, err := s.post("cred-1", []byte(`{"after":"abc"}`))
	if err != nil || r.code != 200 || r.Status != "accepted" {
		t.Fatalf("signed push: %v %+v", err, r)
	}
	out := filepath.Join(s.dir, "ran")
	eventually(t, "the action ran", 20*time.Second, func() bool { return len(lines(t, out)) == 1 })
	envDump, err := os.ReadFile(out + ".env")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(envDump), secret) || strings.Contains(string(envDump), "CREDENTIALS_DIRECTORY=") {
		t.Errorf("the action's environment holds the secret or CREDENTIALS_DIRECTORY:\n%s", envDump)
	}
	var shown []byte
	eventually(t, "the failed attempt is recorded", 20*time.Second, func() bool {
		show := exec.Command(bin, "show", "-data", filepath.Join(s.dir, "data"), "1")
		show.Env = s.env
		shown, _ = show.CombinedOutput()
		return strings.Contains(string(shown), "exit status 3")
	})
	if !strings.Contains(string(shown), "token=[redacted]") {
		t.Errorf("hookd show:\n%s\nwant the action's output with [redacted]", shown)
	}
	if strings.Contains(string(shown), secret) || strings.Contains(string(shown), "deploy-token-5e7a") {
		t.Errorf("hookd show reveals the secret:\n%s", shown)
	}

	// At reload the credential is read again: the old secret no longer
	// verifies, the new one does.
	writeFile(t, credFile, "rotated-secret-9d1c\n")
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the old secret is refused after reload", 10*time.Second, func() bool {
		r, err := s.post("cred-2", []byte(`{}`))
		return err == nil && r.code == 401
	})
	writeFile(t, credFile, secret+"\n")
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the secret verifies again after reload", 10*time.Second, func() bool {
		r, err := s.post("cred-3", []byte(`{}`))
		return err == nil && r.code == 200
	})

	test := exec.Command(bin, "test", "-rules", filepath.Join(s.dir, "rules"), "-source", "github", "-run", "-json")
	test.Env = s.env
	test.Stdin = strings.NewReader(`{}`)
	tested, _ := test.CombinedOutput()
	if !strings.Contains(string(tested), "token=[redacted]") || strings.Contains(string(tested), secret) {
		t.Errorf("hookd test -run: want the action's output with the secret [redacted]:\n%s", tested)
	}
	if strings.Contains(s.logs.String(), secret) || strings.Contains(s.logs.String(), "deploy-token-5e7a") {
		t.Errorf("the log shows the secret:\n%s", s.logs.String())
	}
}

// A credential that is missing or empty, or read without
// CREDENTIALS_DIRECTORY, stops serve and check with its position.
func TestCredentialErrors(t *testing.T) {
	for _, tc := range []struct{ name, content, want string }{
		{"missing", "", "credential github: secret file CREDS/github does not exist"},
		{"empty", "\n", "credential github: secret file CREDS/github is empty"},
		{"unset", "-", "credential github: CREDENTIALS_DIRECTORY is not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSite(t, "sources:\n  github: {verify: {provider: github, secret: \"${credential:github}\"}}\n", "")
			creds := filepath.Join(s.dir, "creds")
			if err := os.Mkdir(creds, 0o700); err != nil {
				t.Fatal(err)
			}
			if tc.content != "-" {
				s.env = append(s.env, "CREDENTIALS_DIRECTORY="+creds)
			}
			if tc.content != "" && tc.content != "-" {
				writeFile(t, filepath.Join(creds, "github"), tc.content)
			}
			want := filepath.Join(s.dir, "rules", "rules.yaml") + ":2:48: " + strings.ReplaceAll(tc.want, "CREDS", creds)
			for _, verb := range []string{"check", "serve"} {
				args := []string{verb, "-rules", filepath.Join(s.dir, "rules")}
				if verb == "serve" {
					args = append(args, "-data", filepath.Join(s.dir, "data"), "-listen", s.addr)
				}
				cmd := exec.Command(bin, args...)
				cmd.Env = s.env
				out, err := cmd.CombinedOutput()
				if err == nil || !strings.Contains(string(out), want) {
					t.Errorf("hookd %s: %v\n%s\nwant an error with %q", verb, err, out, want)
				}
			}
		})
	}
}
