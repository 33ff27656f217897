package cli

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/golden")

// hookdBin is hookd built once for the tests that run it as a user would.
var hookdBin string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "hookd-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	hookdBin = filepath.Join(dir, "hookd")
	out, err := exec.Command("go", "build", "-o", hookdBin, "hookd").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestGolden runs check and test through the built binary, in testdata,
// and compares exit status, stdout and stderr with testdata/golden/NAME.
func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		env   []string
	}{
		{"check-ok", []string{"check", "-rules", "rules"}, "", nil},
		{"check-errors", []string{"check", "-rules", "bad"}, "", nil},
		{"check-no-dir", []string{"check", "-rules", "missing"}, "", nil},
		{"check-missing-command", []string{"check", "-rules", "badpaths"}, "", nil},
		// A syntax error is reported where it is, the same by check and
		// serve, for a rules file as for hookd.yaml.
		{"check-syntax", []string{"check", "-rules", "badyaml"}, "", nil},
		// A quote not closed on its line is shown where it opens, however
		// far yaml.v3 ran the string on; a legit multi-line string is not.
		{"check-quotes", []string{"check", "-rules", "quotes"}, "", nil},
		{"serve-syntax", []string{"serve", "-rules", "badyaml", "-data", "nodata"}, "", nil},
		{"check-config-syntax", []string{"check", "-config", "badconfig/hookd.yaml", "-rules", "rules"}, "", nil},
		{"serve-config-syntax", []string{"serve", "-config", "badconfig/hookd.yaml", "-rules", "rules", "-data", "nodata"}, "", nil},
		{"check-file", []string{"check", "rules/hooks.yaml"}, "", nil},
		{"check-file-alone", []string{"check", "alone/new.yaml"}, "", nil},
		{"check-paths", []string{"check", "rules", "more/extra.yaml"}, "", nil},
		{"check-same-file-twice", []string{"check", "rules", "rules/hooks.yaml"}, "", nil},
		{"check-paths-clash", []string{"check", "rules", "bad/bad.yaml"}, "", nil},
		{"check-missing-path", []string{"check", "rules", "nope.yaml"}, "", nil},
		{"check-config-as-path", []string{"check", "tls/hookd.yaml"}, "", nil},
		{"check-tls-missing", []string{"check", "-config", "tls/hookd.yaml"}, "", nil},
		{"check-ops-same-listen", []string{"check", "-config", "ops/hookd.yaml"}, "", nil},
		{"check-flag-after-path", []string{"check", "more", "-config", "tls/hookd.yaml"}, "", nil},
		{"check-rules-and-paths", []string{"check", "-rules", "rules", "more"}, "", nil},
		{"check-empty", []string{"check", "-rules", "empty"}, "", nil},
		// The store block is checked without connecting; its URL, which
		// may hold a password, is never printed.
		{"check-store-errors", []string{"check", "-config", "badstore/hookd.yaml", "-rules", "rules"}, "", nil},
		{"check-store-no-url", []string{"check", "-config", "badstore/nourl.yaml", "-rules", "rules"}, "", nil},
		{"check-store-url-bbolt", []string{"check", "-config", "badstore/bolturl.yaml", "-rules", "rules"}, "",
			[]string{"HOOKD_DATABASE_URL=postgres://hookd:golden-db-secret@db.internal/hookd"}},
		{"check-store-bad-url", []string{"check", "-config", "badstore/scheme.yaml", "-rules", "rules"}, "",
			[]string{"HOOKD_DATABASE_URL=mysql://hookd:golden-db-secret@db.internal/hookd"}},
		// pgx's own parser has the last word, after ${VAR} expansion.
		{"check-store-sslmode", []string{"check", "-config", "badstore/scheme.yaml", "-rules", "rules"}, "",
			[]string{"HOOKD_DATABASE_URL=postgres://hookd:golden-db-secret@db.internal/hookd?sslmode=bogus"}},
		{"serve-store-sslmode", []string{"serve", "-config", "badstore/scheme.yaml", "-rules", "rules"}, "",
			[]string{"HOOKD_DATABASE_URL=postgres://hookd:golden-db-secret@db.internal/hookd?sslmode=bogus"}},
		{"check-store-ok", []string{"check", "-config", "goodstore/hookd.yaml", "-rules", "rules"}, "",
			[]string{"HOOKD_DATABASE_URL=postgres://hookd:golden-db-secret@db.invalid/hookd?sslmode=verify-full"}},
		{"check-miscased", []string{"check", "-rules", "miscased"}, "", nil},
		// systemctl reload runs check -reload: a reload to no source is
		// refused by serve, so it fails there too.
		{"check-reload-empty", []string{"check", "-reload", "-rules", "empty"}, "", nil},
		{"check-reload-ok", []string{"check", "-reload", "-rules", "rules"}, "", nil},
		{"check-respond", []string{"check", "-rules", "respond"}, "", nil},
		{"check-respond-errors", []string{"check", "-rules", "badrespond"}, "", nil},
		{"test-respond", []string{"test", "-rules", "respond", "-source", "slack", "-header", "Content-Type: application/x-www-form-urlencoded", "-body", "respond/deploy.form"}, "", nil},
		{"test-respond-fallback", []string{"test", "-rules", "respondfail", "-source", "slack", "-header", "Content-Type: application/x-www-form-urlencoded", "-body", "respond/deploy.form"}, "", nil},
		{"test-respond-wait", []string{"test", "-rules", "respond", "-source", "slack", "-header", "Content-Type: application/x-www-form-urlencoded", "-body", "respond/status.form", "-json"}, "", nil},
		{"test-provider-answer-discord", []string{"test", "-rules", "provideranswer", "-source", "discord", "-header", "Content-Type: application/json", "-body", "provideranswer/command.json"}, "", nil},
		{"test-provider-answer-twilio", []string{"test", "-rules", "provideranswer", "-source", "twilio", "-header", "Content-Type: application/x-www-form-urlencoded", "-body", "provideranswer/sms.form", "-json"}, "", nil},
		{"test-slack-token", []string{"test", "-rules", "slacktoken", "-source", "slack", "-header", "Content-Type: application/x-www-form-urlencoded", "-body", "slacktoken/command.form", "-run"}, "", nil},
		{"check-help", []string{"check", "-h"}, "", nil},
		{"test-match", []string{"test", "-rules", "rules", "-source", "github", "-header", "X-GitHub-Event: push", "-header", "X-GitHub-Delivery: d-1", "-header", "Content-Type: application/json", "-body", "push-main.json"}, "", nil},
		{"test-no-match", []string{"test", "-rules", "rules", "-source", "github", "-header", "X-GitHub-Event: push", "-header", "X-GitHub-Delivery: d-2", "-body", "push-dev.json"}, "", nil},
		{"test-json", []string{"test", "-rules", "rules", "-source", "github", "-header", "X-GitHub-Event: issues", "-header", "X-GitHub-Delivery: d-3", "-body", "push-dev.json", "-json"}, "", nil},
		{"test-when-error", []string{"test", "-rules", "rules", "-source", "github", "-header", "X-GitHub-Event: push", "-header", "X-GitHub-Delivery: d-4", "-body", "-"}, `"just a string"`, nil},
		{"test-run", []string{"test", "-rules", "rules", "-source", "plain", "-body", "-", "-run"}, `{"after":"abc"}`, nil},
		{"test-run-secrets", []string{"test", "-rules", "runenv", "-source", "plain", "-body", "-", "-run"}, `{"after":"abc"}`,
			[]string{"RUN_SECRET=golden-run-secret", "ALSO_SECRET=x-golden-run-secret-y", "OTHER=not-passed", "TZ=Etc/UTC"}},
		// Values as sent: <, > and & in why-not lines and actions, not \u0026.
		{"test-html-chars-why", []string{"test", "-rules", "rules", "-source", "github", "-header", "X-GitHub-Event: push", "-body", "-"},
			`{"ref":"refs/heads/a&b<c>","after":"x","repository":{"full_name":"acme/site","private":false}}`, nil},
		// A rendered value over several lines stays indented under its name.
		{"test-multiline-values", []string{"test", "-rules", "multiline", "-source", "plain", "-body", "-"}, `{"msg":"line one\nline two"}`, nil},
		{"test-html-chars-action", []string{"test", "-rules", "rules", "-source", "plain", "-body", "-"}, `{"after":"Merge A & B <x>"}`, nil},
		{"test-invalid-json", []string{"test", "-rules", "rules", "-source", "github", "-header", "X-GitHub-Event: push", "-header", "Content-Type: application/json", "-body", "-"}, `{"ref":"refs/heads/main",after:1}`, nil},
		{"test-gzip", []string{"test", "-rules", "rules", "-source", "github", "-header", "X-GitHub-Event: push", "-header", "Content-Type: application/json", "-header", "Content-Encoding: gzip", "-body", "push-main.json.gz"}, "", nil},
		{"test-unknown-encoding", []string{"test", "-rules", "rules", "-source", "github", "-header", "Content-Encoding: br", "-body", "push-main.json"}, "", nil},
		{"test-unknown-source", []string{"test", "-rules", "rules", "-source", "nope"}, "", nil},
		{"test-no-source", []string{"test", "-rules", "rules"}, "", nil},
		{"test-bad-header", []string{"test", "-rules", "rules", "-source", "plain", "-header", "nocolon"}, "", nil},
		{"test-bad-rules", []string{"test", "-rules", "bad", "-source", "github"}, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(hookdBin, tc.args...)
			cmd.Dir = "testdata"
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, tc.env...)
			cmd.Stdin = strings.NewReader(tc.stdin)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			// Relative commands are shown resolved, from the rules directory.
			abs, err := filepath.Abs("testdata")
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprintf("$ hookd %s\nexit %d\n--- stdout\n%s--- stderr\n%s", strings.Join(tc.args, " "), code, stdout.String(), stderr.String())
			got = strings.ReplaceAll(got, abs, "$TESTDATA")
			path := filepath.Join("testdata", "golden", tc.name)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./cli -update to write it)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s (go test ./cli -update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
			}
		})
	}
}
