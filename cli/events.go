package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"

	"hookd/store"
)

func cmdEvents(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("events", stdout, stderr)
	af := addAdminFlags(fs)
	status := fs.String("status", "", "only events in this `state`: accepted, ignored, queued, running, retrying, done, failed, superseded, cancelled")
	source := fs.String("source", "", "only events of this source `name`")
	limit := fs.Int("limit", 50, "at most `N` events")
	before := fs.Uint64("before", 0, "only events older than event `ID`: the next page, as the more: line (or -json's next) gives it")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hookd events: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	q := url.Values{}
	if *status != "" {
		q.Set("status", *status)
	}
	if *source != "" {
		q.Set("source", *source)
	}
	q.Set("limit", strconv.Itoa(*limit))
	if *before != 0 {
		q.Set("before", strconv.FormatUint(*before, 10))
	}
	var out struct {
		Events []store.EventBrief `json:"events"`
		Next   uint64             `json:"next"`
	}
	if done, code := af.fetch(ctx, "GET", "/events?"+q.Encode(), &out, stdout, stderr); done {
		return code
	}
	tw := tabwriter.NewWriter(termSafe(stdout), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRECEIVED\tSOURCE\tEVENT\tSTATUS\tRULES\tDELIVERY")
	for _, ev := range out.Events {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.ID, ev.ReceivedAt.Local().Format("2006-01-02 15:04:05"),
			ev.Source, dash(ev.Event), ev.Status, dash(strings.Join(ev.Rules, ",")), ev.DeliveryID)
	}
	tw.Flush()
	if len(out.Events) == 0 {
		fmt.Fprintln(stdout, "(no events)")
	}
	if out.Next != 0 {
		fmt.Fprintf(stdout, "more: hookd events%s -before %d\n", pageFlags(fs), out.Next)
	}
	return 0
}

// pageFlags is the flags events was given but -before, quoted for a shell,
// each after a space: the more: line runs as printed.
func pageFlags(fs *flag.FlagSet) string {
	var b strings.Builder
	fs.Visit(func(f *flag.Flag) {
		switch {
		case f.Name == "before":
		case isBoolFlag(f):
			b.WriteString(" -" + f.Name + "=" + f.Value.String())
		default:
			b.WriteString(" -" + f.Name + " " + shellQuote(f.Value.String()))
		}
	})
	return b.String()
}

// isBoolFlag tells a flag written -name alone (such as -json).
func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}
