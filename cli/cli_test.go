package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"hookd/store"
)

// The command line's contract for mistakes: one line on stderr (usage for
// no verb), a non-zero exit, never a panic.
func TestCommandLineMistakes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string // substring
		stderr string // substring; "" means empty
		lines  int    // stderr lines, 0 to skip the check
	}{
		{name: "no verb", args: nil, code: 2, stderr: "Usage:"},
		{name: "unknown verb", args: []string{"serv"}, code: 2, stderr: `unknown command "serv"`},
		{name: "version", args: []string{"version"}, code: 0, stdout: "hookd "},
		{name: "double-dash version", args: []string{"--version"}, code: 0, stdout: "hookd "},
		{name: "bad flag", args: []string{"serve", "-bogus"}, code: 2, stderr: "hookd serve: flag provided but not defined: -bogus", lines: 1},
		{name: "double-dash flag", args: []string{"check", "--rules", "/nonexistent/rules"}, code: 1, stderr: "rules directory does not exist", lines: 1},
		{name: "bad flag value", args: []string{"events", "-limit", "many"}, code: 2, stderr: `invalid value "many" for flag -limit`, lines: 1},
		{name: "help", args: []string{"check", "-h"}, code: 0, stdout: "usage: hookd check [flags] [PATH...]"},
		{name: "double-dash help", args: []string{"serve", "--help"}, code: 0, stdout: "usage: hookd serve [flags]"},
		{name: "missing config file", args: []string{"check", "-config", "/nonexistent/hookd.yaml"}, code: 1, stderr: "/nonexistent/hookd.yaml", lines: 1},
		{name: "daemon not running", args: []string{"events", "-data", "/nonexistent/data"}, code: 1, stderr: "no hookd answers at /nonexistent/data/admin.sock", lines: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(context.Background(), tc.args, strings.NewReader(""), &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.stdout) {
				t.Fatalf("stdout %q lacks %q", stdout.String(), tc.stdout)
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Fatalf("stderr %q lacks %q", stderr.String(), tc.stderr)
			}
			if n := strings.Count(strings.TrimRight(stderr.String(), "\n"), "\n") + 1; tc.lines > 0 && n != tc.lines {
				t.Fatalf("stderr has %d lines, want %d:\n%s", n, tc.lines, stderr.String())
			}
		})
	}
}

func TestShowMarksFailedSteps(t *testing.T) {
	minus1, zero := -1, 0
	var b bytes.Buffer
	printSteps(&b, []store.Step{
		{Action: 1, Kind: "slack", Error: "slack: POST https://hooks.slack.com/…: no such host"},
		{Action: 2, Kind: "shell", Exit: &minus1, Error: "shell: timed out; process group killed"},
		{Action: 3, Kind: "shell", Exit: &zero},
		{Action: 4, Kind: "http", Status: 503, Error: "http: 503"},
	}, "", "")
	out := b.String()
	for _, want := range []string{"action 1 slack   failed", "action 2 shell   failed", "action 3 shell   exit 0", "action 4 http   status 503"} {
		if !strings.Contains(out, want) {
			t.Errorf("show output lacks %q:\n%s", want, out)
		}
	}
}
