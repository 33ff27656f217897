package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"hookd/engine"
	"hookd/rules"
	"hookd/store"
)

// adminFlags are the flags of the verbs that talk to the daemon.
type adminFlags struct {
	cf   *configFlags
	json *bool
}

func addAdminFlags(fs *flag.FlagSet) *adminFlags {
	return &adminFlags{
		cf:   addConfigFlags(fs, withData).withAdmin(),
		json: fs.Bool("json", false, "print JSON instead of a table"),
	}
}

// located is the flags given that locate the daemon (-config, -data,
// -admin), quoted for a shell, each after a space: a hint that names
// another command works when run as printed.
func (a *adminFlags) located() string {
	var b strings.Builder
	a.cf.fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "config", "data", "admin":
			b.WriteString(" -" + f.Name + " " + shellQuote(f.Value.String()))
		}
	})
	return b.String()
}

// shellQuote quotes s for a POSIX shell, unless it needs none.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// fetch calls the admin API and decodes its answer into out. It reports
// true with an exit code when the command is finished: the call failed, or
// -json asked for the answer as it came, which it has printed.
func (a *adminFlags) fetch(ctx context.Context, method, path string, out any, stdout, stderr io.Writer) (bool, int) {
	return a.send(ctx, method, path, nil, out, stdout, stderr)
}

// send is fetch with a request body, in, sent as JSON unless nil. A read
// (GET) of a stopped daemon opens its database read-only instead.
func (a *adminFlags) send(ctx context.Context, method, path string, in, out any, stdout, stderr io.Writer) (bool, int) {
	cfg, err := a.cf.load()
	if err != nil {
		printErr(stderr, a.cf.fs.Name(), err)
		return true, 1
	}
	c := newAdminClient(cfg.AdminPath())
	raw, err := c.send(ctx, method, path, in, out)
	if err == nil && c.stopping != "" {
		fmt.Fprintf(stderr, "hookd is shutting down: it waits for its running actions (until %s at the latest), then stops\n", stoppingAt(c.stopping))
	}
	if errors.Is(err, errNotRunning) {
		if method != http.MethodGet {
			err = needsDaemon(cfg, a.cf.fs.Name(), err)
		} else {
			raw, err = readStopped(ctx, cfg, path, out, err, stderr)
		}
	}
	if err != nil {
		printErr(stderr, a.cf.fs.Name(), err)
		return true, 1
	}
	if *a.json {
		_, _ = stdout.Write(raw)
		return true, 0
	}
	return false, 0
}

// stoppingAt is the local time of day of an RFC 3339 time.
func stoppingAt(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return t.Local().Format(time.TimeOnly)
}

// needsDaemon says that verb cannot run with no daemon answering here.
func needsDaemon(cfg rules.Config, verb string, err error) error {
	if cfg.Store.Shared() {
		return fmt.Errorf("%v: %s needs hookd running on this machine (it asks the daemon through its admin socket); "+
			"run it on a node where hookd runs, or start it here (systemctl start hookd)", err, verb)
	}
	return fmt.Errorf("%v: %s needs the running daemon; start it (systemctl start hookd) and try again", err, verb)
}

// adminURL is the admin API's base URL; the transport dials the socket or
// host:port whatever its host says. localhost: on TCP the API answers
// local names only (DNS rebinding).
const adminURL = "http://localhost"

// adminClient calls the admin API over its unix socket (or host:port).
type adminClient struct {
	addr string
	hc   *http.Client
	// stopping is, after an answer, the time by which hookd kills the
	// actions still running when it is shutting down, else "".
	stopping string
}

func newAdminClient(addr string) *adminClient {
	network := engine.AdminNetwork(addr)
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	return &adminClient{addr: addr, hc: &http.Client{Transport: tr, Timeout: time.Minute}}
}

// send sends a request, its body in as JSON unless nil, and decodes the
// answer into out; it returns the raw answer too, for -json.
func (c *adminClient) send(ctx context.Context, method, path string, in, out any) ([]byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, adminURL+path, body)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, dialError(c.addr, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, err
	}
	if resp.Header.Get(engine.AdminHeader) == "" {
		return nil, fmt.Errorf("%s answered %s, but it is not hookd's admin API (the webhook listen address?): "+
			"-admin takes the admin: address of hookd.yaml, by default admin.sock in the data directory", c.addr, resp.Status)
	}
	c.stopping = resp.Header.Get(engine.StoppingHeader)
	if resp.StatusCode/100 != 2 {
		var e struct{ Error string }
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			return nil, errors.New(e.Error)
		}
		return nil, fmt.Errorf("hookd answered %s", resp.Status)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, fmt.Errorf("reading hookd's answer: %w", err)
		}
	}
	return raw, nil
}

// parseWithID parses flags around one positional event id, so that both
// `show 12 -json` and `show -json 12` work.
func parseWithID(fs *flag.FlagSet, verb string, args []string, stderr io.Writer) (uint64, int, bool) {
	idArg, code, ok := parseWithArg(fs, verb, "event id (see hookd events)", args, stderr)
	if !ok {
		return 0, code, false
	}
	id, err := strconv.ParseUint(idArg, 10, 64)
	if err != nil || id == 0 {
		fmt.Fprintf(stderr, "hookd %s: event id must be a positive number, not %q\n", verb, idArg)
		return 0, 2, false
	}
	return id, 0, true
}

func cmdShow(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("show", stdout, stderr)
	af := addAdminFlags(fs)
	id, code, ok := parseWithID(fs, "show", args, stderr)
	if !ok {
		return code
	}
	var v engine.EventView
	if done, code := af.fetch(ctx, "GET", "/events/"+strconv.FormatUint(id, 10), &v, stdout, stderr); done {
		return code
	}
	printEvent(termSafe(stdout), &v)
	return 0
}

func cmdReplay(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("replay", stdout, stderr)
	af := addAdminFlags(fs)
	rf := addRematchFlags(fs)
	if isRematch(args) {
		return cmdRematch(ctx, fs, af, rf, args, stdout, stderr)
	}
	id, code, ok := parseWithID(fs, "replay", args, stderr)
	if !ok {
		return code
	}
	if name := onlyRematch(fs); name != "" {
		fmt.Fprintf(stderr, "hookd replay: -%s goes with -rematch (run 'hookd replay -h' for its flags)\n", name)
		return 2
	}
	var out struct {
		Rules   []string `json:"rules"`
		Jobs    []uint64 `json:"jobs"`
		Skipped []string `json:"skipped"`
	}
	if done, code := af.fetch(ctx, "POST", "/events/"+strconv.FormatUint(id, 10)+"/replay", &out, stdout, stderr); done {
		return code
	}
	for i, r := range out.Rules {
		fmt.Fprintf(stdout, "event %d: rule %s queued again as job %d\n", id, r, out.Jobs[i])
	}
	for _, r := range out.Skipped {
		fmt.Fprintf(stdout, "event %d: rule %s skipped: no longer in the configuration\n", id, r)
	}
	fmt.Fprintf(stdout, "follow it with: hookd show%s %d\n", af.located(), id)
	return 0
}

// cmdCompact rewrites the database offline: bbolt never gives freed pages
// back to the disk, so after retention pruned much this shrinks the file.
func cmdCompact(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("compact", stdout, stderr)
	cf := addConfigFlags(fs, withData)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	cfg, err := cf.load()
	if err != nil {
		printErr(stderr, "compact", err)
		return 1
	}
	if cfg.Store.Shared() {
		fmt.Fprintln(stderr, "hookd compact: the store is PostgreSQL (store.driver: postgres): its space is reclaimed by VACUUM "+
			"(autovacuum does it as it goes; VACUUM FULL gives it back to the disk, locking the tables meanwhile); "+
			"hookd compact works on a bbolt store")
		return 1
	}
	before, after, err := store.Compact(cfg.DataDir)
	if err != nil {
		printErr(stderr, "compact", compactErr(err, cfg.DataDir))
		return 1
	}
	fmt.Fprintf(stdout, "compacted %s/hookd.db: %s -> %s\n", cfg.DataDir, size(before), size(after))
	return 0
}

const bodyShown = 4 << 10

func printEvent(w io.Writer, v *engine.EventView) {
	ev := v.Event
	fmt.Fprintf(w, "event %d   %s\n", ev.ID, v.Status)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "source\t%s\n", ev.Source)
	fmt.Fprintf(tw, "event\t%s\n", dash(ev.Event))
	fmt.Fprintf(tw, "delivery\t%s\n", ev.DeliveryID)
	fmt.Fprintf(tw, "received\t%s from %s\n", ev.ReceivedAt.Local().Format(time.RFC3339), dash(ev.RemoteAddr))
	fmt.Fprintf(tw, "request\t%s %s\n", ev.Method, ev.Path)
	fmt.Fprintf(tw, "rules\t%s\n", dash(strings.Join(ev.Rules, ", ")))
	if v.BodyError != "" {
		fmt.Fprintf(tw, "error\t%s\n", v.BodyError)
	}
	for _, e := range ev.Errors {
		fmt.Fprintf(tw, "error\t%s\n", e)
	}
	if a := ev.Answer; a != nil {
		fmt.Fprintf(tw, "answered\t%d %s, %d bytes (by respond; -json shows it)\n", a.Status, dash(a.Headers["Content-Type"]), len(a.Body))
	}
	for _, r := range ev.Redeliveries {
		fmt.Fprintf(tw, "redelivered\t%s, rules queued again (job %s)\n", r.At.Local().Format(time.RFC3339), strings.Trim(fmt.Sprint(r.Jobs), "[]"))
	}
	tw.Flush()
	printRequest(w, v)
	for _, j := range v.Jobs {
		fmt.Fprintf(w, "\njob %d   rule %s   %s", j.ID, j.Rule, j.State)
		if j.State == store.Retrying && !j.NextAt.IsZero() {
			fmt.Fprintf(w, " (next attempt %s)", j.NextAt.Local().Format(time.TimeOnly))
		}
		if j.Failing {
			fmt.Fprint(w, " (failed for good; its on_failure runs)")
		}
		fmt.Fprintln(w)
		if n := len(j.Attempts); j.Error != "" && (n == 0 || j.Attempts[n-1].Error != j.Error) {
			fmt.Fprintf(w, "  %s\n", j.Error) // superseded, cancelled: no attempt says why
		}
		for _, a := range j.Attempts {
			took := "running"
			if !a.End.IsZero() {
				took = a.End.Sub(a.Start).Round(time.Millisecond).String()
			}
			on := ""
			if a.Node != "" {
				on = "   on " + a.Node
			}
			fmt.Fprintf(w, "  attempt %d   %s   %s%s\n", a.N, a.Start.Local().Format(time.DateTime), took, on)
			if a.Error != "" {
				fmt.Fprintf(w, "    error: %s\n", a.Error)
			}
			printSteps(w, a.Steps, a.Error, "    ")
		}
		if len(j.OnFailure) > 0 {
			fmt.Fprintln(w, "  on_failure:")
			printSteps(w, j.OnFailure, "", "    ")
		}
	}
}

// printSteps prints actions; a step error already said by its attempt
// (attErr) is not repeated.
func printSteps(w io.Writer, steps []store.Step, attErr, pre string) {
	for _, s := range steps {
		res := "ok"
		switch {
		case s.Exit != nil:
			res = "exit " + strconv.Itoa(*s.Exit)
		case s.Status != 0:
			res = "status " + strconv.Itoa(s.Status)
		case s.Error != "":
			res = "failed"
		}
		if s.Error != "" && s.Exit != nil && *s.Exit == -1 {
			res = "failed" // killed, timed out, or never started
		}
		fmt.Fprintf(w, "%saction %d %s   %s   %s\n", pre, s.Action, s.Kind, res, s.Duration.Round(time.Millisecond))
		if s.Error != "" && s.Error != attErr {
			fmt.Fprintf(w, "%s  error: %s\n", pre, s.Error)
		}
		if s.Output != "" {
			fmt.Fprintf(w, "%s  output:\n%s\n", pre, indent(strings.TrimRight(s.Output, "\n"), pre+"  | "))
		}
	}
}

func indent(s, pre string) string {
	return pre + strings.ReplaceAll(s, "\n", "\n"+pre)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
