package cli

import (
	"fmt"
	"io"
	"maps"
	"slices"

	"hookd/engine"
	"hookd/rules"
)

// printRequest prints an event's headers and body, or what of them its
// source did not keep (keep_ignored).
func printRequest(w io.Writer, v *engine.EventView) {
	ev, k := v.Event, v.Event.Kept
	if k != nil && k.What == rules.KeepDeliveryID {
		fmt.Fprintf(w, "\nheaders, query and body (%d bytes): not kept (source %s has keep_ignored: %s)\n", k.BodyBytes, ev.Source, k.What)
		return
	}
	printFields(w, "headers", ev.Headers)
	if len(ev.Query) > 0 {
		printFields(w, "query", ev.Query)
	}
	if k != nil {
		fmt.Fprintf(w, "\nbody (%d bytes, SHA-256 %s): not kept (source %s has keep_ignored: %s)\n", k.BodyBytes, k.BodySHA256, ev.Source, k.What)
		return
	}
	body := v.Body
	fmt.Fprintf(w, "\nbody (%d bytes%s):\n", len(body), map[bool]string{true: ", base64"}[v.BodyEncoding == "base64"])
	if len(body) > bodyShown {
		body = body[:bodyShown] + "\n… (truncated; hookd show -json has all of it)"
	}
	fmt.Fprintln(w, indent(body, "  "))
}

// printFields prints a titled block of name: value lines, sorted by name.
func printFields(w io.Writer, title string, m map[string]string) {
	fmt.Fprintf(w, "\n%s:\n", title)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(w, "  %s: %s\n", k, m[k])
	}
}
