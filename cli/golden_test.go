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
	}{
		{"check-ok", []string{"check", "-rules", "rules"}, ""},
		{"check-errors", []string{"check", "-rules", "bad"}, ""},
		{"check-no-dir", []string{"check", "-rules", "missing"}, ""},
		{"test-match", []string{"test", "-rules", "rules", "-source", "github", "-header", "X-GitHub-Event: push", "-header", "X-GitHub-Delivery: d-1", "-header", "Content-Type: application/json", "-body", "push-main.json"}, ""},
		{"test-no-match", []string{"test", "-rules", "rules", "-source", "github", "-header", "X-GitHub-Event: push", "-header", "X-GitHub-Delivery: d-2", "-body", "push-dev.json"}, ""},
		{"test-json", []string{"test", "-rules", "rules", "-source", "github", "-header", "X-GitHub-Event: issues", "-header", "X-GitHub-Delivery: d-3", "-body", "push-dev.json", "-json"}, ""},
		{"test-when-error", []string{"test", "-rules", "rules", "-source", "github", "-header", "X-GitHub-Event: push", "-header", "X-GitHub-Delivery: d-4", "-body", "-"}, `"just a string"`},
		{"test-invalid-json", []string{"test", "-rules", "rules", "-source", "github", "-header", "X-GitHub-Event: push", "-header", "Content-Type: application/json", "-body", "-"}, `{"ref":"refs/heads/main",after:1}`},
		{"test-gzip", []string{"test", "-rules", "rules", "-source", "github", "-header", "X-GitHub-Event: push", "-header", "Content-Type: application/json", "-header", "Content-Encoding: gzip", "-body", "push-main.json.gz"}, ""},
		{"test-unknown-encoding", []string{"test", "-rules", "rules", "-source", "github", "-header", "Content-Encoding: br", "-body", "push-main.json"}, ""},
		{"test-run", []string{"test", "-rules", "rules", "-source", "plain", "-body", "-", "-run"}, `{"after":"abc"}`},
		{"test-unknown-source", []string{"test", "-rules", "rules", "-source", "nope"}, ""},
		{"test-no-source", []string{"test", "-rules", "rules"}, ""},
		{"test-bad-header", []string{"test", "-rules", "rules", "-source", "plain", "-header", "nocolon"}, ""},
		{"test-bad-rules", []string{"test", "-rules", "bad", "-source", "github"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(hookdBin, tc.args...)
			cmd.Dir = "testdata"
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
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
			got := fmt.Sprintf("$ hookd %s\nexit %d\n--- stdout\n%s--- stderr\n%s", strings.Join(tc.args, " "), code, stdout.String(), stderr.String())
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
