package actions

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pathEnv is the only variable most tests give: the runner passes nothing
// of its own environment, not even PATH.
var pathEnv = []string{"PATH=/usr/bin:/bin"}

// Payload text must reach the program as one argument, byte for byte, and
// never be interpreted by a shell.
func TestShellArgvVerbatim(t *testing.T) {
	payloads := []string{
		"$(touch pwned)",
		"`touch pwned`",
		"x; touch pwned",
		"x | touch pwned",
		"x && touch pwned",
		"x\ntouch pwned",
		"> pwned",
		"-rf",
		"--help",
		"-n",
		"../../etc/passwd",
		"$HOME ${PATH} $1 $@",
		`'single' "double" \back`,
		"*",
		"",
		"  spaced  ",
		"ünïcödé ✓",
	}
	progs := []struct {
		name string
		argv func(arg string) []string
	}{
		// No shell anywhere.
		{"printf", func(a string) []string { return []string{"/usr/bin/printf", "%s", a} }},
		// A script that uses its argument the safe way ("$1").
		{"sh $1", func(a string) []string { return []string{"/bin/sh", "-c", `printf %s "$1"`, "sh", a} }},
	}
	for _, p := range progs {
		for _, arg := range payloads {
			t.Run(p.name+"/"+strconv.Quote(arg), func(t *testing.T) {
				dir := t.TempDir()
				s := &Shell{Argv: p.argv(arg), Dir: dir, Env: pathEnv}
				res, err := s.Run(context.Background(), &Input{})
				if err != nil {
					t.Fatalf("Run: %v (output %q)", err, res.Output)
				}
				if string(res.Output) != arg {
					t.Errorf("argument arrived as %q, want %q", res.Output, arg)
				}
				if res.Exit != 0 {
					t.Errorf("Exit = %d", res.Exit)
				}
				if ents, _ := os.ReadDir(dir); len(ents) != 0 {
					t.Errorf("payload created %v", ents[0].Name())
				}
			})
		}
	}
}

func TestShellScriptAndStdin(t *testing.T) {
	tests := []struct {
		name   string
		script string
		body   string
		want   string
	}{
		{"reads stdin", `read -r line; printf 'got:%s' "$line"`, "hello world\nsecond", "got:hello world"},
		{"cat all stdin", `cat`, "{\"ref\":\"refs/heads/main\"}\n$(touch pwned)", "{\"ref\":\"refs/heads/main\"}\n$(touch pwned)"},
		{"stderr is kept", `echo out; echo err >&2`, "", "out\nerr\n"},
		{"runs under sh", `printf '%s' "$0"`, "", "/bin/sh"},
		{"empty stdin", `wc -c`, "", "0\n"},
	}
	// The body comes through a pipe, from the body file, or through a
	// pipe again when the body file is gone.
	for _, via := range []string{"pipe", "file", "missing file"} {
		for _, tt := range tests {
			t.Run(via+"/"+tt.name, func(t *testing.T) {
				dir := t.TempDir()
				in := &Input{Body: []byte(tt.body)}
				if via != "pipe" {
					in.BodyFile = filepath.Join(t.TempDir(), "body")
				}
				if via == "file" {
					if err := os.WriteFile(in.BodyFile, in.Body, 0o600); err != nil {
						t.Fatal(err)
					}
				}
				res, err := (&Shell{Script: tt.script, Dir: dir, Env: pathEnv}).Run(context.Background(), in)
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				if got := strings.TrimLeft(string(res.Output), " "); got != tt.want {
					t.Errorf("output = %q, want %q", got, tt.want)
				}
				if ents, _ := os.ReadDir(dir); len(ents) != 0 {
					t.Errorf("stdin text was executed: %v", ents[0].Name())
				}
			})
		}
	}
}

// With a body file, stdin is that file itself, not a pipe fed from it.
func TestShellStdinIsTheBodyFile(t *testing.T) {
	in := &Input{Body: []byte("x"), BodyFile: filepath.Join(t.TempDir(), "body")}
	if err := os.WriteFile(in.BodyFile, in.Body, 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := (&Shell{Script: `if [ -f /dev/stdin ]; then echo file; else echo pipe; fi`, Env: pathEnv}).Run(context.Background(), in)
	if err != nil || string(res.Output) != "file\n" {
		t.Fatalf("stdin is a %q (%v), want the file", res.Output, err)
	}
}

// A process that never reads a large body must not block the run.
func TestShellIgnoresStdin(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 4<<20)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := (&Shell{Argv: []string{"/bin/true"}}).Run(ctx, &Input{Body: body})
	if err != nil || res.Exit != 0 {
		t.Fatalf("Exit %d, err %v", res.Exit, err)
	}
}

func TestShellNilInput(t *testing.T) {
	res, err := (&Shell{Argv: []string{"/bin/cat"}}).Run(context.Background(), nil)
	if err != nil || len(res.Output) != 0 {
		t.Fatalf("output %q, err %v", res.Output, err)
	}
}

func TestShellDir(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "deploy.sh"), []byte("#!/bin/sh\nprintf 'deployed %s' \"$1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		s    Shell
		want string
	}{
		{"pwd", Shell{Argv: []string{"/bin/pwd", "-P"}}, dir + "\n"},
		{"script pwd", Shell{Script: "pwd -P"}, dir + "\n"},
		// The rules file example: command [./deploy.sh, ...] with dir.
		{"relative program", Shell{Argv: []string{"./deploy.sh", "abc"}}, "deployed abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.s
			s.Dir, s.Env = dir, pathEnv
			res, err := s.Run(context.Background(), &Input{})
			if err != nil {
				t.Fatalf("Run: %v (%q)", err, res.Output)
			}
			if string(res.Output) != tt.want {
				t.Errorf("output = %q, want %q", res.Output, tt.want)
			}
		})
	}
	// A dir that is missing or not a directory is named as the fault,
	// never the program (exec says "fork/exec /bin/pwd: no such file").
	for _, tc := range []struct{ dir, want string }{
		{filepath.Join(dir, "missing"), "shell: dir " + filepath.Join(dir, "missing") + ": no such file or directory"},
		{filepath.Join(dir, "deploy.sh"), "shell: dir " + filepath.Join(dir, "deploy.sh") + ": not a directory"},
	} {
		for _, s := range []Shell{{Argv: []string{"/bin/pwd"}}, {Script: "pwd"}} {
			s.Dir = tc.dir
			res, err := s.Run(context.Background(), &Input{})
			if err == nil || err.Error() != tc.want || !IsPermanent(err) || res.Exit != -1 {
				t.Errorf("dir %s: err = %v (exit %d), want permanent %q", tc.dir, err, res.Exit, tc.want)
			}
		}
	}
}

func TestShellEnvIsExact(t *testing.T) {
	t.Setenv("HOOKD_DAEMON_SECRET", "must-not-leak")
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"nil", nil, ""},
		{"empty", []string{}, ""},
		{"given", []string{"HOOKD_EVENT=push", "GIT_SHA=$(touch pwned)", "SPACED=a b\nc"}, "HOOKD_EVENT=push\nGIT_SHA=$(touch pwned)\nSPACED=a b\nc\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := (&Shell{Argv: []string{"/usr/bin/env"}, Env: tt.env}).Run(context.Background(), &Input{})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if string(res.Output) != tt.want {
				t.Errorf("environment = %q, want %q", res.Output, tt.want)
			}
		})
	}
}

func TestShellExitStatus(t *testing.T) {
	tests := []struct {
		name     string
		script   string
		wantExit int
		wantErr  string
	}{
		{"zero", "exit 0", 0, ""},
		{"one", "echo failing; exit 1", 1, "exit status 1"},
		{"forty-two", "exit 42", 42, "exit status 42"},
		{"killed by signal", "kill -9 $$", -1, "killed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := (&Shell{Script: tt.script, Env: pathEnv}).Run(context.Background(), &Input{})
			if res.Exit != tt.wantExit {
				t.Errorf("Exit = %d, want %d", res.Exit, tt.wantExit)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("err = %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("err = %v, want it to mention %q", err, tt.wantErr)
			case err != nil && IsPermanent(err):
				// A failing script may succeed next time (a flaky deploy):
				// the engine's retry policy decides.
				t.Errorf("exit failure is permanent: %v", err)
			}
		})
	}
}

func TestShellOutputTail(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   func(out []byte) bool
	}{
		{"small", `printf 'hello'`, func(out []byte) bool { return string(out) == "hello" }},
		{"exactly max", `head -c 65536 /dev/zero | tr '\0' a`, func(out []byte) bool {
			return len(out) == MaxOutput && bytes.Count(out, []byte("a")) == MaxOutput
		}},
		{"over max keeps the end", `i=0; while [ $i -lt 3000 ]; do echo "line $i padding padding padding"; i=$((i+1)); done; printf END`, func(out []byte) bool {
			return len(out) == MaxOutput && bytes.HasSuffix(out, []byte("line 2999 padding padding padding\nEND")) && !bytes.Contains(out, []byte("line 0 "))
		}},
		{"large through stdin", `cat; cat >&2 </dev/null; printf TAIL`, func(out []byte) bool {
			return len(out) == MaxOutput && bytes.HasSuffix(out, []byte("zTAIL"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := append(bytes.Repeat([]byte("y"), 1<<20), 'z')
			res, err := (&Shell{Script: tt.script, Env: pathEnv}).Run(context.Background(), &Input{Body: body})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if !tt.want(res.Output) {
				n := len(res.Output)
				t.Errorf("output of %d bytes ends %q", n, res.Output[max(0, n-60):])
			}
		})
	}
}

func TestShellRejects(t *testing.T) {
	tests := []struct {
		name string
		s    Shell
	}{
		{"nothing to run", Shell{}},
		{"NUL in env value", Shell{Argv: []string{"/bin/true"}, Env: []string{"A=x\x00y"}}},
		{"NUL in env entry without =", Shell{Argv: []string{"/bin/true"}, Env: []string{"A\x00SEKRIT"}}},
		{"NUL in argv", Shell{Argv: []string{"/usr/bin/printf", "%s", "a\x00b"}}},
		{"NUL in program", Shell{Argv: []string{"/bin/true\x00"}}},
		{"NUL in script", Shell{Script: "echo a\x00b"}},
		{"NUL in dir", Shell{Argv: []string{"/bin/true"}, Dir: "/tmp\x00x"}},
		{"program missing", Shell{Argv: []string{"/nonexistent/program"}}},
		{"program not found in PATH", Shell{Argv: []string{"hookd-no-such-program"}}},
		{"not executable", Shell{Argv: []string{"/etc/hostname"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := tt.s.Run(context.Background(), &Input{Body: []byte("x")})
			if !IsPermanent(err) {
				t.Fatalf("err = %v, want permanent", err)
			}
			if res.Exit != -1 {
				t.Errorf("Exit = %d, want -1", res.Exit)
			}
			if strings.Contains(err.Error(), "SEKRIT") {
				t.Errorf("error %q shows an environment value", err)
			}
		})
	}
}

// KeepStdout: Answer is stdout alone, and nil when stdout is longer than
// MaxOutput (an answer cut short would be a broken one); without it, none.
func TestShellKeepStdout(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script string
		keep   bool
		want   string
		isNil  bool
	}{
		{"stdout only", "echo out; echo err >&2", true, "out\n", false},
		{"not asked", "echo out", false, "", true},
		{"too long", "head -c 70000 /dev/zero | tr '\\0' x", true, "", true},
		{"exactly the cap", "head -c 65536 /dev/zero | tr '\\0' x", true, strings.Repeat("x", 65536), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := (&Shell{Script: tc.script, KeepStdout: tc.keep}).Run(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if (res.Answer == nil) != tc.isNil || string(res.Answer) != tc.want {
				t.Fatalf("answer %.40q (nil %v), want %.40q", res.Answer, res.Answer == nil, tc.want)
			}
		})
	}
}
