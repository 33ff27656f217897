package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"hookd/engine"
)

// parseWithArg parses flags around one positional argument, so that both
// `run deploy -json` and `run -json deploy` work; what names it in errors.
func parseWithArg(fs *flag.FlagSet, verb, what string, args []string, stderr io.Writer) (string, int, bool) {
	if code, ok := parse(fs, args); !ok {
		return "", code, false
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprintf(stderr, "hookd %s: missing %s\n", verb, what)
		return "", 2, false
	}
	if code, ok := parse(fs, rest[1:]); !ok {
		return "", code, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hookd %s: unexpected argument %q\n", verb, fs.Arg(0))
		return "", 2, false
	}
	return rest[0], 0, true
}

// headerFlagValues reads repeated -header 'Name: value'.
func headerFlagValues(headers headerFlags) (http.Header, error) {
	h := http.Header{}
	for _, kv := range headers {
		name, val, ok := strings.Cut(kv, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("-header %q: write 'Name: value'", kv)
		}
		h.Add(strings.TrimSpace(name), strings.TrimSpace(val))
	}
	return h, nil
}

// readBodyFlag reads -body: a file, - for stdin, or nothing.
func readBodyFlag(name string, stdin io.Reader) ([]byte, error) {
	switch name {
	case "":
		return nil, nil
	case "-":
		return io.ReadAll(stdin)
	}
	return os.ReadFile(name)
}

// cmdRun records a manual event and queues one rule's job through the
// running daemon: "deploy now" without faking a signed webhook.
func cmdRun(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("run", stdout, stderr)
	af := addAdminFlags(fs)
	var headers headerFlags
	fs.Var(&headers, "header", "a header `'Name: value'` the rule's templates see (repeatable)")
	bodyFile := fs.String("body", "", "the body the rule's templates see: a `file`, or - for stdin")
	rule, code, ok := parseWithArg(fs, "run", "rule name: hookd run RULE [-body FILE|-] [-header 'Name: value']...", args, stderr)
	if !ok {
		return code
	}
	h, err := headerFlagValues(headers)
	if err != nil {
		fmt.Fprintln(stderr, "hookd run:", err)
		return 2
	}
	body, err := readBodyFlag(*bodyFile, stdin)
	if err != nil {
		fmt.Fprintln(stderr, "hookd run: -body:", err)
		return 1
	}
	in := engine.RunRequest{Headers: map[string]string{}, Body: body}
	for k := range h {
		in.Headers[k] = h.Get(k)
	}
	var out engine.RunAnswer
	if done, code := af.send(ctx, "POST", "/rules/"+url.PathEscape(rule)+"/run", in, &out, stdout, stderr); done {
		return code
	}
	if out.Note != "" {
		fmt.Fprintln(stderr, "note:", out.Note)
	}
	fmt.Fprintf(stdout, "event %d: rule %s queued as job %d (source %s)\n", out.ID, out.Rule, out.Job, engine.ManualSource)
	fmt.Fprintf(stdout, "follow it with: hookd show%s %d\n", af.located(), out.ID)
	return 0
}
