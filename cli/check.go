package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"hookd/engine"
	"hookd/rules"
)

// cmdCheck loads the configuration exactly as serve does, without opening
// the database or binding a port, so it runs beside a live daemon. Rules
// files and directories given as arguments are checked together as one
// configuration instead of the rules directory.
func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check", stdout, stderr)
	cf := addConfigFlags(fs, withRules)
	if f := fs.Lookup("rules"); f != nil {
		f.Usage += "; or give rules files and directories as arguments: hookd check [flags] PATH..."
	}
	reload := fs.Bool("reload", false, "check as a reload of the running daemon would (systemctl reload): a reload to no source is refused, so none left fails")
	var paths []string
	for rest := args; ; rest = fs.Args()[1:] {
		// Flags may come after the paths: parse again after each one.
		if code, ok := parse(fs, rest); !ok {
			return code
		}
		if fs.NArg() == 0 {
			break
		}
		paths = append(paths, fs.Arg(0))
	}
	rulesFlag := false
	fs.Visit(func(f *flag.Flag) { rulesFlag = rulesFlag || f.Name == "rules" })
	if rulesFlag && len(paths) > 0 {
		fmt.Fprintln(stderr, "hookd check: give -rules DIR or paths as arguments, not both (run 'hookd check -h' for its flags)")
		return 2
	}
	cfg, err := cf.load()
	if err != nil {
		printErr(stderr, "check", err)
		return 1
	}
	var set *rules.Set
	if len(paths) > 0 {
		set, err = rules.LoadPaths(paths, cfg.Rules, os.LookupEnv)
	} else {
		set, err = rules.Load(cfg.RulesDir, cfg.Rules, os.LookupEnv)
	}
	var errs rules.Errors
	if err != nil && !errors.As(err, &errs) {
		printErr(stderr, "check", err)
		return 1
	}
	printCheckDiags(stderr, set, errs)
	failed := len(errs) > 0
	for _, err := range engine.Preflight(cfg) {
		failed = true
		where := "hookd check"
		if cfg.File != "" {
			where = cfg.File
		}
		fmt.Fprintf(stderr, "%s: %v\n", where, err)
	}
	if !failed && *reload && len(set.Sources) == 0 {
		where := cfg.RulesDir
		if len(paths) > 0 {
			where = strings.Join(paths, " ")
		}
		printDiag(stderr, engine.NoSourcesLeft(where, 0))
		failed = true
	}
	if failed {
		return 1
	}
	printCheckOK(stdout, set)
	return 0
}

// printCheckDiags prints the warnings and errors together, in file order.
func printCheckDiags(stderr io.Writer, set *rules.Set, errs rules.Errors) {
	var diags []rules.Diag
	if set != nil {
		diags = append(diags, set.Warnings...)
	}
	diags = append(diags, errs...)
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i], diags[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
	})
	for _, d := range diags {
		printDiag(stderr, d)
	}
}

// printCheckOK prints the one-line summary of a configuration that passed.
func printCheckOK(stdout io.Writer, set *rules.Set) {
	fmt.Fprintf(stdout, "ok: %d files, %d sources, %d rules", len(set.Files), len(set.Sources), len(set.Rules))
	switch n := len(set.Warnings); n {
	case 0:
	case 1:
		fmt.Fprint(stdout, " (1 warning)")
	default:
		fmt.Fprintf(stdout, " (%d warnings)", n)
	}
	fmt.Fprintln(stdout)
}
