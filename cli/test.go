package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"hookd/engine"
	"hookd/rules"
	"hookd/verify"
)

// headerFlags collects repeated -header 'Name: value'.
type headerFlags []string

func (h *headerFlags) String() string     { return strings.Join(*h, ", ") }
func (h *headerFlags) Set(s string) error { *h = append(*h, s); return nil }

// testReport is what `hookd test` prints, as text or JSON.
type testReport struct {
	Source string `json:"source"`
	Path   string `json:"path"`
	Event  string `json:"event"`
	ID     string `json:"id"`
	// BodyError says why body is nil: the body could not be read.
	BodyError string        `json:"body_error,omitempty"`
	Errors    []string      `json:"errors,omitempty"`
	Rules     []ruleReport  `json:"rules"`
	Answer    *answerReport `json:"answer,omitempty"`
	// Handshake is set for a sender's handshake, which serve answers
	// before any rule: Rules is then empty.
	Handshake *handshakeReport `json:"handshake,omitempty"`
}

// answerReport is a respond block's answer (SPEC section 6).
type answerReport struct {
	By      string            `json:"by"` // rule NAME, or source NAME
	Status  int               `json:"status,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
	Wait    string            `json:"wait,omitempty"` // the fallback's wait for the first action's output
	Error   string            `json:"error,omitempty"`
	Failed  string            `json:"failed,omitempty"` // the rule's respond that failed before this one
}

type ruleReport struct {
	Rule    string           `json:"rule"`
	When    string           `json:"when,omitempty"`
	Matched bool             `json:"matched"`
	Error   string           `json:"error,omitempty"` // when failed at run time
	Why     []string         `json:"why,omitempty"`   // the parts of when that were false
	Actions []map[string]any `json:"actions,omitempty"`
	Ran     []ranReport      `json:"ran,omitempty"`
}

type ranReport struct {
	Action int    `json:"action"`
	Kind   string `json:"kind"`
	OK     bool   `json:"ok"`
	Exit   *int   `json:"exit,omitempty"`
	Status int    `json:"status,omitempty"`
	Output string `json:"output,omitempty"`
	Error  string `json:"error,omitempty"`
}

// cmdTest is a dry run: which rules of a source match a request, why the
// others do not, and what each matched action would do. Nothing is
// verified, recorded or run unless -run.
func cmdTest(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("test", stdout, stderr)
	cf := addConfigFlags(fs, withRules)
	source := fs.String("source", "", "the source `name` the request is sent to (required)")
	var headers headerFlags
	fs.Var(&headers, "header", "a request header `'Name: value'` (repeatable)")
	bodyFile := fs.String("body", "", "the request body: a `file`, or - for stdin")
	query := fs.String("query", "", "URL query `parameters`, e.g. 'a=1&b=2'")
	method := fs.String("method", http.MethodPost, "the request `method`: POST, GET for the providers whose senders use it (meta, gitea), HEAD for intercom's URL check")
	run := fs.Bool("run", false, "run the matched rules' actions")
	asJSON := fs.Bool("json", false, "print JSON")
	expect := fs.String("expect", "", "exit 1 unless the outcome is `match` (some rule matches), nomatch, handshake (answered before any rule), or RULE[,RULE] (exactly these rules match)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if *source == "" || fs.NArg() > 0 {
		if fs.NArg() > 0 {
			fmt.Fprintf(stderr, "hookd test: unexpected argument %q (run 'hookd test -h' for its flags)\n", fs.Arg(0))
		} else {
			fmt.Fprintln(stderr, "hookd test: -source NAME is required: the source the request is sent to (run 'hookd test -h' for its flags)")
		}
		return 2
	}
	h, err := headerFlagValues(headers)
	if err != nil {
		fmt.Fprintln(stderr, "hookd test:", err)
		return 2
	}
	q, err := url.ParseQuery(*query)
	if err != nil {
		fmt.Fprintf(stderr, "hookd test: -query: %v\n", err)
		return 2
	}
	raw, err := readBodyFlag(*bodyFile, stdin)
	if err != nil {
		fmt.Fprintln(stderr, "hookd test: -body:", err)
		return 1
	}
	cfg, set, err := cf.loadRules()
	if err != nil {
		printErr(stderr, "test", err)
		return 1
	}
	if ce := h.Values("Content-Encoding"); len(ce) > 0 {
		if raw, err = engine.DecodeContent(ce, raw, cfg.MaxBody); err != nil {
			fmt.Fprintln(stderr, "hookd test: -body:", err)
			return 1
		}
	}
	src := set.Sources[*source]
	if src == nil {
		fmt.Fprintln(stderr, noSourceMsg(*source, set, cfg.RulesDir))
		return 1
	}
	m, err := testMethod(*method, src)
	if err == nil {
		err = checkExpect(*expect, src)
	}
	if err != nil {
		fmt.Fprintln(stderr, "hookd test:", err)
		return 2
	}

	vr := &verify.Request{Method: m, Header: h, Query: q, Body: raw, Now: time.Now().UTC(), Source: src.Name, DryRun: true}
	rep, failed := testRequest(ctx, set, src, vr, *run)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		_ = enc.Encode(rep)
	} else {
		printTestReport(termSafe(stdout), &rep)
	}
	if got, ok := expected(*expect, &rep); !ok {
		fmt.Fprintf(stderr, "hookd test: expected %s, got %s\n", *expect, got)
		failed = true
	}
	if failed {
		return 1
	}
	return 0
}

// noSourceMsg is the error for -source naming no source of the rules loaded.
func noSourceMsg(source string, set *rules.Set, rulesDir string) string {
	names := make([]string, 0, len(set.Sources))
	for n := range set.Sources {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return fmt.Sprintf("hookd test: no source %q: the rules loaded (%s) define no source", source, rulesDir)
	}
	return fmt.Sprintf("hookd test: no source %q (defined: %s)", source, strings.Join(names, ", "))
}

// testRequest evaluates vr against src's rules, running the matched ones'
// actions if run; failed is true when an action that ran failed.
func testRequest(ctx context.Context, set *rules.Set, src *rules.Source, vr *verify.Request, run bool) (rep testReport, failed bool) {
	engine.UnwrapPayload(src.Verifier, vr) // a Gitea form or GET delivery
	raw := engine.RedactBody(src.Verifier, vr)
	var bodyErr error
	vr.JSON, bodyErr = engine.ParseBody(vr.Header.Get("Content-Type"), raw)
	// What is printed and what runs go through the daemon's own runner.
	runner := engine.NewRunner(set, os.Environ(), version())
	if hs, ok := engine.Handshake(src, vr); ok {
		return handshakeTestReport(src, hs, runner.Redact), false
	}
	env, evalErrs := engine.RequestEnv(src, vr, bodyErr, vr.Method, src.Path, "127.0.0.1")
	for i, e := range evalErrs {
		evalErrs[i] = runner.Redact(e)
	}
	rep = testReport{Source: src.Name, Path: src.Path, Event: env.Event, ID: env.ID, Errors: evalErrs, Rules: []ruleReport{}}
	if bodyErr != nil {
		rep.BodyError = bodyErr.Error()
	}
	answering, answerBy := src.Respond, "source "+src.Name
	firstRespond := true
	for i, v := range engine.Verdicts(src, env, runner.Redact) {
		rr := ruleReport{Rule: v.Rule, When: v.When, Matched: v.Matched, Error: v.Error, Why: v.Why, Actions: v.Actions}
		if r := src.Rules[i]; v.Matched && r.Respond != nil && firstRespond {
			answering, answerBy, firstRespond = r.Respond, "rule "+r.Name, false
		}
		if v.Matched && run {
			rr.Ran = runRule(ctx, runner, src.Rules[i], env, raw)
			for _, x := range rr.Ran {
				failed = failed || !x.OK
			}
		}
		rep.Rules = append(rep.Rules, rr)
	}
	if answering != nil {
		rep.Answer = renderAnswer(answering, answerBy, env, runner.Redact)
		// As the daemon does: a rule's respond that fails falls back to the source's.
		if rep.Answer.Error != "" && src.Respond != nil && answering != src.Respond {
			broken := rep.Answer
			rep.Answer = renderAnswer(src.Respond, "source "+src.Name, env, runner.Redact)
			rep.Answer.Failed = broken.By + "'s respond failed: " + broken.Error
		}
	}
	if rep.Answer == nil {
		rep.Answer = providerAnswer(src, vr)
	}
	return rep, failed
}

// providerAnswer is the answer of src's provider to a recorded delivery
// that no respond: answers, nil when it is the status JSON.
func providerAnswer(src *rules.Source, vr *verify.Request) *answerReport {
	a := engine.Acknowledgement(src, vr)
	if a == nil {
		return nil
	}
	rep := &answerReport{By: "provider " + src.Provider, Status: a.Status, Body: string(a.Body)}
	if rep.Status == 0 {
		rep.Status = 200
	}
	if a.ContentType != "" {
		rep.Headers = map[string]string{"Content-Type": a.ContentType}
	}
	return rep
}

// runRule runs a rule's actions once, exactly as a worker runs attempt 1.
func runRule(ctx context.Context, runner *engine.Runner, r *rules.Rule, env *rules.Env, raw []byte) []ranReport {
	steps, _ := runner.Run(ctx, r, env, raw)
	out := make([]ranReport, 0, len(steps))
	for _, st := range steps {
		out = append(out, ranReport{Action: st.Action, Kind: st.Kind, OK: st.Error == "", Exit: st.Exit,
			Status: st.Status, Output: st.Output, Error: st.Error})
	}
	return out
}

// renderAnswer renders the answer a respond block gives the request.
func renderAnswer(r *rules.Respond, by string, env *rules.Env, redact func(string) string) *answerReport {
	a := &answerReport{By: by}
	if r.Wait > 0 {
		a.Wait = r.Wait.String()
	}
	got, err := r.Render(env)
	if err != nil {
		a.Error = redact(err.Error())
		return a
	}
	a.Status, a.Body, a.Headers = got.Status, redact(string(got.Body)), map[string]string{}
	for k, v := range got.Header {
		a.Headers[k] = redact(v)
	}
	return a
}

func printTestReport(w io.Writer, rep *testReport) {
	if rep.Handshake != nil {
		printHandshake(w, rep)
		return
	}
	fmt.Fprintf(w, "source %s (%s): event %q, delivery id %q\n", rep.Source, rep.Path, rep.Event, rep.ID)
	if rep.BodyError != "" {
		fmt.Fprintf(w, "  %s\n", rep.BodyError)
	}
	for _, e := range rep.Errors {
		fmt.Fprintf(w, "  expression failed, default used: %s\n", e)
	}
	if len(rep.Rules) == 0 {
		fmt.Fprintln(w, "no rule listens to this source")
	}
	for _, rr := range rep.Rules {
		fmt.Fprintln(w)
		switch {
		case rr.Matched:
			fmt.Fprintf(w, "MATCH     %s\n", rr.Rule)
		default:
			fmt.Fprintf(w, "NO MATCH  %s\n", rr.Rule)
		}
		if rr.When != "" {
			fmt.Fprintf(w, "  when: %s\n", rr.When)
		}
		if rr.Error != "" {
			fmt.Fprintf(w, "  when failed (counts as no match): %s\n", rr.Error)
		}
		for _, why := range rr.Why {
			fmt.Fprintf(w, "  %s\n", why)
		}
		for i, a := range rr.Actions {
			fmt.Fprintf(w, "  action %d: %v\n", i+1, a["kind"])
			keys := make([]string, 0, len(a))
			for k := range a {
				if k != "kind" {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			for _, k := range keys {
				if v := showValue(a[k]); strings.Contains(v, "\n") {
					// Lines of their own, under the name, as output is.
					fmt.Fprintf(w, "    %s:\n%s\n", k, indent(strings.TrimSuffix(v, "\n"), "      | "))
				} else {
					fmt.Fprintf(w, "    %s: %s\n", k, v)
				}
			}
		}
		for _, x := range rr.Ran {
			status := "ok"
			if !x.OK {
				status = "failed: " + x.Error
			}
			fmt.Fprintf(w, "  ran action %d (%s): %s", x.Action, x.Kind, status)
			if x.Exit != nil {
				fmt.Fprintf(w, ", exit %d", *x.Exit)
			}
			if x.Status != 0 {
				fmt.Fprintf(w, ", status %d", x.Status)
			}
			fmt.Fprintln(w)
			if x.Output != "" {
				for _, line := range strings.Split(strings.TrimRight(x.Output, "\n"), "\n") {
					fmt.Fprintf(w, "    | %s\n", line)
				}
			}
		}
	}
	if rep.Answer != nil {
		printAnswer(w, rep.Answer)
	}
}

func printAnswer(w io.Writer, a *answerReport) {
	fmt.Fprintf(w, "\nANSWER    by %s, once the event is recorded\n", a.By)
	if a.Failed != "" {
		fmt.Fprintf(w, "  (%s)\n", a.Failed)
	}
	if a.Error != "" {
		fmt.Fprintf(w, "  failed, the provider's answer or the status JSON answers: %s\n", a.Error)
		return
	}
	if a.Wait != "" {
		fmt.Fprintf(w, "  the first action's output if it succeeds within %s, else:\n", a.Wait)
	}
	fmt.Fprintf(w, "  status %d\n", a.Status)
	names := make([]string, 0, len(a.Headers))
	for k := range a.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(w, "  %s: %s\n", k, a.Headers[k])
	}
	if a.Body != "" {
		fmt.Fprintln(w, indent(a.Body, "  | "))
	}
}

// showValue prints strings as they are and everything else as JSON.
func showValue(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // <, > and & as sent, not \u003c
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
