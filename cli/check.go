package cli

import (
	"fmt"
	"io"
)

// cmdCheck loads the configuration exactly as serve does, without opening
// the database, so it runs beside a live daemon.
func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check", stderr)
	cf := addConfigFlags(fs, false, false)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	_, set, err := cf.loadRules()
	if err != nil {
		printErr(stderr, err)
		return 1
	}
	for _, w := range set.Warnings {
		printDiag(stderr, w)
	}
	fmt.Fprintf(stdout, "ok: %d files, %d sources, %d rules\n", len(set.Files), len(set.Sources), len(set.Rules))
	return 0
}
