package systest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// verbsOf reads the verbs and their usage lines from `hookd help`.
func verbsOf(t *testing.T) map[string]string {
	t.Helper()
	code, out, _ := run(t, nil, "help")
	if code != 0 {
		t.Fatalf("hookd help: exit %d", code)
	}
	verbs := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^  (hookd ([a-z-]+)(?: \[flags\])?(?: [^ ].*?)?)(?:  +.*)?$`).FindAllStringSubmatch(out, -1) {
		verbs[m[2]] = strings.TrimSpace(m[1])
	}
	if len(verbs) < 10 {
		t.Fatalf("hookd help lists %d verbs:\n%s", len(verbs), out)
	}
	return verbs
}

var helpFlag = regexp.MustCompile(`(?m)^  -([a-z][a-z0-9-]*)`)

// TestHelpListsEveryFlag: for every verb, the flags `hookd VERB -h` prints
// are exactly the flags the verb parses, in every mode (replay -rematch),
// and its usage line, with its arguments (ID, RULE, FILE), is the one
// `hookd help` shows. A flag is parsed when `-NAME=1` is not refused as
// undefined; a bad flag after it stops the verb before it does anything.
func TestHelpListsEveryFlag(t *testing.T) {
	verbs := verbsOf(t)
	printed := map[string]map[string]bool{}
	all := map[string]bool{}
	for verb, usage := range verbs {
		if verb == "version" {
			continue
		}
		code, out, errOut := run(t, nil, verb, "-h")
		if code != 0 || errOut != "" {
			t.Fatalf("hookd %s -h: exit %d, stderr %q", verb, code, errOut)
		}
		if !strings.HasPrefix(out, "usage: "+usage+"\n") {
			t.Errorf("hookd %s -h does not start with the usage line of hookd help, %q:\n%s", verb, usage, out)
		}
		printed[verb] = map[string]bool{}
		for _, m := range helpFlag.FindAllStringSubmatch(out, -1) {
			printed[verb][m[1]] = true
			all[m[1]] = true
		}
	}
	// Flags the README documents are tried too: one that only a mode of
	// a verb defines is printed by no -h when -h is wrong.
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile("(?m)(?:^|[\\s`\\[(])-([a-z][a-z0-9-]+)").FindAllStringSubmatch(string(readme), -1) {
		all[m[1]] = true
	}
	delete(all, "help") // -help is -h, on every verb
	modes := map[string][][]string{"replay": {nil, {"-rematch"}}}
	for verb, flags := range printed {
		parsed := map[string]bool{}
		ms := modes[verb]
		if ms == nil {
			ms = [][]string{nil}
		}
		for _, mode := range ms {
			for name := range all {
				args := append(append([]string{verb}, mode...), "-"+name+"=1", "-zz-not-a-flag")
				code, stdout, stderr := run(t, nil, args...)
				if code != 2 || stdout != "" {
					t.Fatalf("hookd %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, stdout, stderr)
				}
				if !strings.Contains(stderr, "not defined: -"+name) {
					parsed[name] = true
				}
			}
		}
		if got, want := keys(flags), keys(parsed); got != want {
			t.Errorf("hookd %s -h prints %s\nbut the verb parses %s", verb, got, want)
		}
	}
	for verb, arg := range map[string]string{"show": " ID", "replay": " ID", "run": " RULE", "backup": " FILE", "check": " [PATH...]"} {
		if !strings.Contains(verbs[verb], arg) {
			t.Errorf("hookd %s's usage %q does not name its argument %q", verb, verbs[verb], arg)
		}
	}
}

func keys(m map[string]bool) string {
	var s []string
	for k := range m {
		s = append(s, "-"+k)
	}
	sort.Strings(s)
	return strings.Join(s, " ")
}

// TestErrorsStartWithTheVerb: every verb's errors start "hookd VERB:"
// (those in a file start with the file, file:line:col where known),
// and every verb that needs the daemon says so in the same words.
func TestErrorsStartWithTheVerb(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.yaml")
	empty := filepath.Join(dir, "rules")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	cases := [][]string{
		{"serve", "-config", missing},
		{"check", "-config", missing},
		{"test", "-config", missing, "-source", "x"},
		{"test", "-rules", empty},
		{"test", "-rules", empty, "-source", "x", "-header", "nocolon"},
		{"sign", "-provider", "nope", "-secret", "s"},
		{"events", "-config", missing},
		{"events", "-data", data},
		{"show", "-data", data, "x"},
		{"show", "-data", data, "1"},
		{"replay", "-data", data},
		{"replay", "-data", data, "-rematch"},
		{"run", "-data", data},
		{"compact", "-data", filepath.Join(dir, "nowhere")},
		{"backup", "-config", missing, filepath.Join(dir, "b")},
		{"hash-password", "-cost", "99"},
	}
	for _, args := range cases {
		code, _, stderr := run(t, nil, args...)
		// A configuration error has a place, and starts with it.
		if code == 0 || !strings.HasPrefix(stderr, "hookd "+args[0]+": ") && !strings.HasPrefix(stderr, missing+": ") {
			t.Errorf("hookd %s: exit %d, stderr %q: want it to start %q", strings.Join(args, " "), code, stderr, "hookd "+args[0]+": ")
		}
	}
	// The verbs that need the daemon, with none running: one wording.
	sock := filepath.Join(data, "admin.sock")
	for _, args := range [][]string{{"run", "deploy"}, {"replay", "1"}, {"replay", "-rematch", "-source", "github"}} {
		code, _, stderr := run(t, nil, append(args, "-data", data)...)
		want := "hookd " + args[0] + ": no hookd answers at " + sock + ": " + args[0] + " needs the running daemon; start it (systemctl start hookd) and try again\n"
		if code != 1 || stderr != want {
			t.Errorf("hookd %s with no daemon: exit %d, stderr %q\nwant %q", strings.Join(args, " "), code, stderr, want)
		}
	}
}

// TestFollowHintRunsAsPrinted: the `follow it with: hookd show ...` that
// run and replay print names the -config and -data they were given,
// quoted for a shell, so that it works pasted as it is.
func TestFollowHintRunsAsPrinted(t *testing.T) {
	s := newSite(t, runRules, "")
	s.start()
	// A data directory spelled with a space and a quote, through a link.
	odd := filepath.Join(s.dir, "it's here")
	if err := os.Symlink(filepath.Join(s.dir, "data"), odd); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"run", "deploy"}, {"replay", "1"}} {
		all := append(args, "-config", filepath.Join(s.dir, "hookd.yaml"), "-data", odd)
		code, out, errOut := run(t, nil, all...)
		if code != 0 {
			t.Fatalf("hookd %s: exit %d\n%s%s", strings.Join(all, " "), code, out, errOut)
		}
		_, hint, ok := strings.Cut(out, "follow it with: ")
		if !ok || !strings.Contains(hint, `-data '`) {
			t.Fatalf("hookd %s printed no quoted hint:\n%s", args[0], out)
		}
		hint = strings.TrimSpace(hint)
		sh := exec.Command("sh", "-c", hint)
		sh.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"))
		got, err := sh.CombinedOutput()
		if err != nil || !strings.HasPrefix(string(got), "event 1 ") {
			t.Fatalf("the hint %q, run by sh: %v\n%s", hint, err, got)
		}
	}
}
