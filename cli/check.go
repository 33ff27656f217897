package cli

import (
	"fmt"
	"io"
)

// cmdCheck loads the configuration exactly as serve does, without opening
// the database, so it runs beside a live daemon.
func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check", stdout, stderr)
	cf := addConfigFlags(fs, withRules)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	_, set, err := cf.loadRules()
	if err != nil {
		printErr(stderr, err)
		return 1
	}
	for _, w := range set.Warnings {
		fmt.Fprintln(stderr, w.String())
	}
	fmt.Fprintf(stdout, "ok: %d files, %d sources, %d rules\n", len(set.Files), len(set.Sources), len(set.Rules))
	return 0
}
