package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"hookd/engine"
	"hookd/rules"
)

// isRematch tells whether replay's arguments ask for -rematch.
func isRematch(args []string) bool {
	for _, a := range args {
		if a == "-rematch" || a == "--rematch" || a == "-rematch=true" || a == "--rematch=true" {
			return true
		}
	}
	return false
}

// rematchFlags are replay's flags for -rematch. Replay defines them
// whether or not -rematch is given, so that -h lists them all.
type rematchFlags struct {
	source, since, status *string
	dry, force            *bool
}

func addRematchFlags(fs *flag.FlagSet) *rematchFlags {
	fs.Bool("rematch", false, "match the events against the rules in force now, and queue the rules that match")
	return &rematchFlags{
		source: fs.String("source", "", "-rematch: only events of this source `name`"),
		since:  fs.String("since", "", "-rematch: only events received since a `time` (RFC 3339) or for a duration (2h, 30m)"),
		status: fs.String("status", "", "-rematch: only events in this `state` (ignored: those that matched nothing)"),
		dry:    fs.Bool("dry-run", false, "-rematch: list what would run, queue nothing"),
		force:  fs.Bool("force", false, "-rematch: queue rules already run for the event"),
	}
}

// onlyRematch names a -rematch flag given without -rematch, or "".
func onlyRematch(fs *flag.FlagSet) string {
	name := ""
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "source", "since", "status", "dry-run", "force":
			name = f.Name
		}
	})
	return name
}

// cmdRematch is `hookd replay [ID] -rematch`: stored events matched
// against the rules in force now, through the daemon.
func cmdRematch(ctx context.Context, fs *flag.FlagSet, af *adminFlags, rf *rematchFlags, args []string, stdout, stderr io.Writer) int {
	source, since, status, dry, force := rf.source, rf.since, rf.status, rf.dry, rf.force
	if code, ok := parse(fs, args); !ok {
		return code
	}
	var id uint64
	rest := fs.Args()
	if len(rest) > 0 {
		n, err := strconv.ParseUint(rest[0], 10, 64)
		if err != nil || n == 0 {
			fmt.Fprintf(stderr, "hookd replay: event id must be a positive number, not %q\n", rest[0])
			return 2
		}
		if code, ok := parse(fs, rest[1:]); !ok {
			return code
		}
		if fs.NArg() > 0 {
			fmt.Fprintf(stderr, "hookd replay: unexpected argument %q\n", fs.Arg(0))
			return 2
		}
		id = n
	}
	in := engine.RematchRequest{ID: id, Source: *source, Status: *status, DryRun: *dry, Force: *force}
	if *since != "" {
		t, err := parseSince(*since)
		if err != nil {
			fmt.Fprintf(stderr, "hookd replay: -since %q: write a time (2026-11-30T22:00:00Z) or a duration (2h)\n", *since)
			return 2
		}
		in.Since = t
	}
	if in.ID == 0 && in.Source == "" && in.Since.IsZero() && in.Status == "" {
		fmt.Fprintln(stderr, "hookd replay: -rematch needs an event id or a filter (-source, -since, -status)")
		return 2
	}
	var out struct {
		Events int                  `json:"events"`
		Items  []engine.RematchItem `json:"items"`
	}
	if done, code := af.send(ctx, "POST", "/rematch", in, &out, stdout, stderr); done {
		return code
	}
	queued, notKept := 0, 0
	for _, it := range out.Items {
		switch it.Outcome {
		case "not_kept":
			if in.ID != 0 { // the one event asked for: nothing was done
				fmt.Fprintf(stderr, "hookd replay: event %d cannot be rematched: %s\n", it.Event, it.Reason)
				return 1
			}
			if notKept++; notKept <= maxNotKept {
				fmt.Fprintf(stdout, "event %d: cannot rematch: %s\n", it.Event, it.Reason)
			}
		case "queued":
			queued++
			fmt.Fprintf(stdout, "event %d: rule %s queued as job %d\n", it.Event, it.Rule, it.Job)
		case "would_run":
			queued++
			fmt.Fprintf(stdout, "event %d: rule %s would run\n", it.Event, it.Rule)
		default:
			fmt.Fprintf(stdout, "event %d: rule %s skipped: %s\n", it.Event, it.Rule, it.Reason)
		}
	}
	verb := "queued"
	if *dry {
		verb = "would run"
	}
	if notKept > maxNotKept {
		fmt.Fprintf(stdout, "… and %d more events whose request was not kept\n", notKept-maxNotKept)
	}
	fmt.Fprintf(stdout, "%d events matched against the rules in force: %d jobs %s\n", out.Events-notKept, queued, verb)
	if notKept > 0 {
		fmt.Fprintf(stdout, "%d events not matched: their sources keep only part of an ignored event (keep_ignored), so they cannot be matched again\n", notKept)
	}
	return 0
}

// maxNotKept bounds the events that cannot be rematched listed one by one:
// a filter may select thousands of them.
const maxNotKept = 10

func parseSince(s string) (time.Time, error) {
	if d, err := rules.ParseDuration(s); err == nil && d > 0 {
		return time.Now().Add(-d), nil
	}
	return time.Parse(time.RFC3339, s)
}
