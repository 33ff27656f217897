package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Control characters from outside are shown, not obeyed by the terminal.
func TestTermSafe(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain\ttext\nnext line é ✓", "plain\ttext\nnext line é ✓"},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"title\x1b]0;pwned\x07", `title\x1b]0;pwned\x07`},
		{"csi\u009b2J del\x7f nul\x00 cr\r", `csi\u009b2J del\x7f nul\x00 cr\x0d`},
		{"bad utf-8 \xff", `bad utf-8 \xff`},
	} {
		var b strings.Builder
		n, err := termSafe(&b).Write([]byte(tc.in))
		if err != nil || n != len(tc.in) || b.String() != tc.want {
			t.Errorf("%q: wrote %q (%d, %v), want %q", tc.in, b.String(), n, err, tc.want)
		}
	}
}

// hookd test -run prints an action's output (here the body it read, as
// a sender wrote it) without its escape sequences reaching the terminal.
func TestTestPrintsNoEscapes(t *testing.T) {
	var out, errb bytes.Buffer
	body := "team_id=T1&text=\x1b]0;pwned\x07hi"
	code := Main(context.Background(), []string{"test", "-rules", "testdata/slacktoken", "-source", "slack",
		"-header", "Content-Type: application/x-www-form-urlencoded", "-body", "-", "-run"}, strings.NewReader(body), &out, &errb)
	if code != 0 || strings.ContainsRune(out.String(), 0x1b) || !strings.Contains(out.String(), `text=\x1b]0;pwned\x07hi`) {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
}
