package main

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

const helpOut = `hookd turns webhooks into actions.

Usage:
  hookd serve [flags]          receive webhooks
  hookd hash-password [flags]  a bcrypt hash
  hookd version                print the version

Run 'hookd VERB -h' for a verb's flags.
`

var verbOut = map[string]string{
	"serve": "usage: hookd serve [flags]\n\nreceive webhooks\n\nflags:\n" +
		"  -config file\n    \thookd.yaml file (optional)\n" +
		"  -json\n    \tprint JSON\n    \tone line each\n",
	"hash-password": "usage: hookd hash-password [flags]\n\n" +
		"a bcrypt hash of a \\ password, for ui.users:\n\n" +
		"    hookd hash-password <pw.txt\n    .not a request\n\n" +
		"'quoted' at the start\n",
}

func fakeRun(args ...string) (string, error) {
	if len(args) == 1 && args[0] == "help" {
		return helpOut, nil
	}
	if len(args) == 2 && args[1] == "-h" {
		if out, ok := verbOut[args[0]]; ok {
			return out, nil
		}
	}
	return "", errors.New("unexpected run " + strings.Join(args, " "))
}

func TestWrite(t *testing.T) {
	var b bytes.Buffer
	if err := write(&b, fakeRun, "1.4.0", "2026-12-01"); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{
		".TH HOOKD 1 \"2026\\-12\\-01\" \"hookd 1.4.0\" \"User Commands\"\n",
		".SH SYNOPSIS\n.nf\nhookd serve [flags]\nhookd hash\\-password [flags]\nhookd version\n.fi\n",
		".SS \"hookd serve [flags]\"\n.PP\nreceive webhooks\n",
		".TP\n.BI \\-config \" file\"\nhookd.yaml file (optional)\n",
		".TP\n.B \\-json\nprint JSON one line each\n",
		// an indented example is kept as it is; a leading . or ' escaped
		".RS 4\n.nf\nhookd hash\\-password <pw.txt\n\\&.not a request\n.fi\n.RE\n",
		"\\&'quoted' at the start\n",
		"a bcrypt hash of a \\e password",
		// version -h prints the version: its summary from help instead
		".SS \"hookd version\"\n.PP\nprint the version\n",
		".SH FILES\n",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q:\n%s", want, page)
		}
	}
	// man renders it without a warning, where man is installed.
	if _, err := exec.LookPath("man"); err == nil {
		cmd := exec.Command("man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", "-")
		cmd.Stdin = strings.NewReader(page)
		cmd.Env = []string{"LC_ALL=C.UTF-8", "MANWIDTH=80", "PATH=/usr/bin:/bin"}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Errorf("man: %v\n%s", err, stderr.String())
		}
	}
}

func TestWriteRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, help, serve, want string
	}{
		{"no verbs", "hookd turns webhooks into actions.\n\nUsage:\n", "", "no verbs"},
		{"no usage line", helpOut, "hookd serve\n", "no usage: line"},
		{"a stray line among the flags", helpOut,
			"usage: hookd serve [flags]\n\nx\n\nflags:\n  -a\n    \tb\nstray\n", `unexpected line "stray"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := func(args ...string) (string, error) {
				if args[0] == "help" {
					return tc.help, nil
				}
				if args[0] == "serve" {
					return tc.serve, nil
				}
				return fakeRun(args...)
			}
			err := write(&bytes.Buffer{}, run, "1", "2026-12-01")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}
