package systest

import (
	"strings"
	"testing"
)

// Help that was asked for goes to stdout with exit 0, for every verb and
// every spelling; a bad flag is one line on stderr and exit 2. A verb lists
// and accepts only the flags it uses.
func TestHelpAndBadFlags(t *testing.T) {
	verbs := []struct {
		verb       string
		has, hasnt []string
	}{
		{"serve", []string{"-rules", "-data", "-listen", "-admin"}, nil},
		{"check", []string{"-config", "-rules"}, []string{"-data", "-admin"}},
		{"test", []string{"-rules", "-source", "-expect"}, []string{"-data", "-admin"}},
		{"sign", []string{"-provider", "-event", "-id"}, []string{"-rules", "-data"}},
		{"events", []string{"-config", "-data", "-admin", "-status"}, []string{"-rules", "-listen"}},
		{"show", []string{"-config", "-data", "-json"}, []string{"-rules", "-listen"}},
		{"replay", []string{"-config", "-data"}, []string{"-rules", "-listen"}},
		{"compact", []string{"-config", "-data"}, []string{"-rules", "-admin"}},
	}
	for _, v := range verbs {
		for _, h := range []string{"-h", "-help", "--help"} {
			code, stdout, stderr := run(t, nil, v.verb, h)
			if code != 0 || stderr != "" {
				t.Fatalf("hookd %s %s: exit %d, stderr %q", v.verb, h, code, stderr)
			}
			for _, f := range v.has {
				if !strings.Contains(stdout, "  "+f+" ") && !strings.Contains(stdout, "  "+f+"\n") {
					t.Fatalf("hookd %s %s does not list %s:\n%s", v.verb, h, f, stdout)
				}
			}
			for _, f := range v.hasnt {
				if strings.Contains(stdout, "  "+f+" ") || strings.Contains(stdout, "  "+f+"\n") {
					t.Fatalf("hookd %s %s lists %s, which it does not use:\n%s", v.verb, h, f, stdout)
				}
			}
		}
		for _, f := range append([]string{"-bogus"}, v.hasnt...) {
			code, stdout, stderr := run(t, nil, v.verb, f, "x")
			if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "flag provided but not defined: "+f) {
				t.Fatalf("hookd %s %s x: exit %d, stdout %q, stderr %q", v.verb, f, code, stdout, stderr)
			}
		}
	}
}
