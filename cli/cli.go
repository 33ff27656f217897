// Package cli is hookd's command line: each verb parses its flags, builds
// options, and hands off to the engine or the admin API.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"

	"hookd/rules"
)

// verbs are hookd's verbs in the order usage lists them: their positional
// arguments and what they do. Each verb's flags come from its flag set, so
// that 'hookd VERB -h' prints them all (systest's TestHelpListsEveryFlag).
var verbs = []struct{ name, args, summary string }{
	{"serve", "", "receive webhooks and run the rules' actions"},
	{"check", "[PATH...]", "load the configuration as serve does; PATHs: rules files and directories, as one"},
	{"test", "", "which rules of -source match a request, and why the others do not"},
	{"sign", "", "the headers a provider would send with a body"},
	{"events", "", "recent events (from the daemon, or its database when it is stopped)"},
	{"show", "ID", "one event (ID from hookd events): request, rules, attempts, output"},
	{"replay", "ID | [ID] -rematch", "run an event's rules again; -rematch: match stored events against the rules now"},
	{"run", "RULE", "record a manual event and queue the rule"},
	{"compact", "", "shrink the bbolt database file (daemon stopped)"},
	{"backup", "FILE", "a consistent copy of the bbolt database, online"},
	{"hash-password", "", "a bcrypt hash of a password read from stdin, for ui.users"},
	{"version", "", "print the version"},
}

// usage is hookd's usage text, from verbs.
var usage = func() string {
	var b strings.Builder
	b.WriteString("hookd turns webhooks into actions.\n\nUsage:\n")
	for _, v := range verbs {
		fmt.Fprintf(&b, "  %-42s %s\n", usageLine(v.name, v.args), v.summary)
	}
	b.WriteString(`
events, show, replay, run and backup talk to the running daemon's admin
socket, found from -config, -data DIR or -admin ADDR as serve would.

Run 'hookd VERB -h' for a verb's flags.
`)
	return b.String()
}()

// usageLine is how a verb is called: hookd VERB [flags] ARGS.
func usageLine(name, args string) string {
	line := "hookd " + name
	if name != "version" {
		line += " [flags]"
	}
	if args != "" {
		line += " " + args
	}
	return line
}

// verbUsage is the first lines of a verb's -h: how to call it, what it does.
func verbUsage(name string) string {
	for _, v := range verbs {
		if v.name == name {
			return "usage: " + usageLine(name, v.args) + "\n\n" + v.summary + "\n\nflags:\n"
		}
	}
	return "usage: " + usageLine(name, "") + "\n\nflags:\n"
}

// Main runs the command line; it returns the process's exit status.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	verb, rest := args[0], args[1:]
	switch verb {
	case "serve":
		return cmdServe(ctx, rest, stdout, stderr)
	case "check":
		return cmdCheck(rest, stdout, stderr)
	case "test":
		return cmdTest(ctx, rest, stdin, stdout, stderr)
	case "sign":
		return cmdSign(rest, stdin, stdout, stderr)
	case "events":
		return cmdEvents(ctx, rest, stdout, stderr)
	case "show":
		return cmdShow(ctx, rest, stdout, stderr)
	case "replay":
		return cmdReplay(ctx, rest, stdout, stderr)
	case "compact":
		return cmdCompact(rest, stdout, stderr)
	case "backup":
		return cmdBackup(ctx, rest, stdout, stderr)
	case "run":
		return cmdRun(ctx, rest, stdin, stdout, stderr)
	case "hash-password":
		return cmdHashPassword(rest, stdin, stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "hookd", versionLine())
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "hookd: unknown command %q\n\n%s", verb, usage)
	return 2
}

// newFlags returns a flag set that does not exit: parse reports a bad flag
// on one line on stderr (exit 2) and prints the flags for -h, -help or
// --help on stdout (exit 0): help that was asked for is not an error.
func newFlags(name string, stdout, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // the flag package calls it on errors too
	flagOut.Store(fs, outputs{stdout, stderr})
	return fs
}

// outputs are where a verb's help and errors go.
type outputs struct{ stdout, stderr io.Writer }

// flagOut maps a flag set to its outputs.
var flagOut sync.Map

// parse parses flags; it returns an exit status and false when the caller
// must stop (-h prints help and exits 0; a bad flag exits 2).
func parse(fs *flag.FlagSet, args []string) (int, bool) {
	err := fs.Parse(args)
	if err == nil {
		return 0, true
	}
	w, ok := flagOut.Load(fs)
	if !ok {
		return 2, false
	}
	out := w.(outputs)
	if errors.Is(err, flag.ErrHelp) {
		printHelp(fs, "", out.stdout)
		return 0, false
	}
	fmt.Fprintf(out.stderr, "hookd %s: %v (run 'hookd %s -h' for its flags)\n", fs.Name(), err, fs.Name())
	return 2, false
}

// printHelp prints a verb's usage text, if any, and its flags.
func printHelp(fs *flag.FlagSet, text string, w io.Writer) {
	if text == "" {
		text = verbUsage(fs.Name())
	}
	fmt.Fprint(w, text)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// printErr prints an error: a load error as its file:line:col lines, any
// other one as one line that starts "hookd VERB:", as every verb's do.
func printErr(stderr io.Writer, verb string, err error) {
	var errs rules.Errors
	if errors.As(err, &errs) {
		for _, d := range errs {
			printDiag(stderr, d)
		}
		return
	}
	fmt.Fprintf(stderr, "hookd %s: %s\n", verb, oneLine(err.Error()))
}

// oneLine joins the lines of an error's message (a library's, such as a
// driver listing each address it tried) with "; ": an error is one line.
func oneLine(msg string) string {
	if !strings.ContainsAny(msg, "\r\n") {
		return msg
	}
	var out []string
	for _, l := range strings.FieldsFunc(msg, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, strings.TrimSuffix(l, ":"))
		}
	}
	return strings.Join(out, "; ")
}

// printDiag prints a load error or warning, and the line it points at.
func printDiag(w io.Writer, d rules.Diag) {
	fmt.Fprintln(w, d.String())
	if q := d.Quote(); q != "" {
		fmt.Fprintln(w, q)
	}
}

// configFlags are the flags that locate the configuration.
type configFlags struct {
	config, data, listen, admin *string
	fs                          *flag.FlagSet
}

// what a verb reads: the flags it takes are the ones it uses.
const (
	withRules = 1 << iota
	withData
	withListen
)

func addConfigFlags(fs *flag.FlagSet, with int) *configFlags {
	c := &configFlags{fs: fs}
	c.config = fs.String("config", "", "hookd.yaml `file` (optional)")
	if with&withRules != 0 {
		fs.String("rules", "", "rules `directory` (default ./rules.d, or rules_dir of the config file)")
	}
	if with&withData != 0 {
		c.data = fs.String("data", "", "data `directory` (default ./data, or data_dir of the config file)")
	}
	if with&withListen != 0 {
		c.listen = fs.String("listen", "", "listen `address` (default 127.0.0.1:9000)")
	}
	return c
}

// withAdmin adds -admin, where the admin API listens (serve) or is found
// (events, show, replay).
func (c *configFlags) withAdmin() *configFlags {
	c.admin = c.fs.String("admin", "", "admin API `address`: a unix socket path (default <data>/admin.sock) or host:port")
	return c
}

// load reads the config file and applies the flags over it.
func (c *configFlags) load() (rules.Config, error) {
	cfg, err := rules.LoadConfig(*c.config, os.LookupEnv)
	if err != nil {
		return cfg, err
	}
	c.fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "rules":
			cfg.RulesDir = f.Value.String()
		case "data":
			cfg.DataDir = f.Value.String()
		case "listen":
			cfg.Listen = f.Value.String()
		case "admin":
			cfg.Admin = f.Value.String()
		}
	})
	return cfg, nil
}

// newLogger returns a logger and its level, which a reload may change.
// loadRules reads the config file and the rules directory as serve does.
func (c *configFlags) loadRules() (rules.Config, *rules.Set, error) {
	cfg, err := c.load()
	if err != nil {
		return cfg, nil, err
	}
	set, err := rules.Load(cfg.RulesDir, cfg.Rules, os.LookupEnv)
	return cfg, set, err
}

func newLogger(cfg rules.Config, w io.Writer) (*slog.Logger, *slog.LevelVar) {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(cfg.LogLevel)))
	lv := new(slog.LevelVar)
	lv.Set(level)
	opts := &slog.HandlerOptions{Level: lv}
	if cfg.LogFormat == "json" {
		opts.ReplaceAttr = secondsJSON
		return slog.New(slog.NewJSONHandler(w, opts)), lv
	}
	return slog.New(slog.NewTextHandler(w, opts)), lv
}

// secondsJSON writes durations in JSON logs as seconds, a number a log
// pipeline can compare (slog's default is nanoseconds); the text format
// keeps 1.5s.
func secondsJSON(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.Float64(a.Key, a.Value.Duration().Seconds())
	}
	return a
}
