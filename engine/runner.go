package engine

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"
	"time"

	"hookd/actions"
	"hookd/rules"
	"hookd/store"
)

// Runner runs a rule's actions the one way hookd does. The daemon's workers
// and `hookd test -run` both use it, so that a test run sees what serve
// would: the allow-listed part of the daemon's environment, the HOOKD_* variables,
// a body file, and every output and error with its secrets redacted.
type Runner struct {
	lv        *live
	userAgent string
}

// NewRunner returns a Runner for a configuration; environ is the daemon's
// environment (os.Environ()), version what outbound requests say they are.
func NewRunner(set *rules.Set, environ []string, version string) *Runner {
	return &Runner{lv: newLive(set, rules.Config{}, environ), userAgent: UserAgent(version)}
}

// Redact hides the configuration's secrets in s.
func (r *Runner) Redact(s string) string { return r.lv.redact.Replace(s) }

// Run runs a rule's actions once for a request, as a worker runs attempt 1
// of an event (whose id is 0: it is not recorded). A failure stops the rest.
func (r *Runner) Run(ctx context.Context, rule *rules.Rule, env *rules.Env, body []byte) ([]store.Step, error) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// Without a data directory, the body file goes to the system's.
	bodyFile, cleanup := writeBodyFile(os.TempDir(), body, rule, log)
	defer cleanup()
	call := &rules.Call{Env: env, Vars: hookdVars(0, env, rule, 1, bodyFile), BaseEnv: r.lv.baseEnv, UserAgent: r.userAgent, BodyFile: bodyFile}
	steps, _, err := r.lv.runActions(ctx, rule, rule.Actions, call, body, log, nil, nil)
	return steps, err
}

// UserAgent is what outbound requests say they are: hookd/<version>.
func UserAgent(version string) string {
	if version == "" {
		return "hookd"
	}
	return "hookd/" + version
}

// newLive builds what requests and jobs read for a configuration: the
// environment passed to processes is the allow-list of
// rules.Set.ActionEnviron, never the whole of environ.
func newLive(set *rules.Set, cfg rules.Config, environ []string) *live {
	all := &rules.Set{Secrets: set.Secrets}
	if len(cfg.Secrets) > 0 { // hookd.yaml's: a secret file's value, the database password
		all.Secrets = append(slices.Clone(set.Secrets), cfg.Secrets...)
	}
	return &live{set: set, cfg: cfg, redact: all.Redactor(), secrets: all.SecretFinder(), baseEnv: set.ActionEnviron(environ),
		ruleNames: append([]string{}, slices.Sorted(maps.Keys(set.Rules))...)}
}

// hookdVars are the HOOKD_* variables of one attempt.
func hookdVars(eventID uint64, env *rules.Env, rule *rules.Rule, attempt int, bodyFile string) []string {
	return []string{
		"HOOKD_EVENT_ID=" + strconv.FormatUint(eventID, 10),
		"HOOKD_DELIVERY_ID=" + env.ID,
		"HOOKD_SOURCE=" + env.Source,
		"HOOKD_EVENT=" + env.Event,
		"HOOKD_RULE=" + rule.Name,
		"HOOKD_ATTEMPT=" + strconv.Itoa(attempt),
		"HOOKD_BODY_FILE=" + bodyFile,
	}
}

// runActions runs actions in order; a failure stops the rest.
// met, when set, records each action's duration; first, when set, gets
// the first action's result (a respond.wait's answer).
func (lv *live) runActions(ctx context.Context, rule *rules.Rule, list []*rules.Action, call *rules.Call, body []byte, log *slog.Logger, met *metrics, first func(actions.Result, error)) ([]store.Step, time.Duration, error) {
	var steps []store.Step
	for i, a := range list {
		start := time.Now()
		step := store.Step{Action: i + 1, Kind: a.Kind, Start: start.UTC()}
		timeout := a.Timeout
		if timeout == 0 {
			timeout = rule.Timeout
		}
		var res actions.Result
		act, err := a.Build(call)
		if err != nil {
			// The stored event renders the same way every time: retrying
			// a template that failed cannot help.
			err = actions.Permanent(err)
		} else {
			actx, cancel := context.WithTimeout(ctx, timeout)
			res, err = act.Run(actx, &actions.Input{Body: body, BodyFile: call.BodyFile})
			cancel()
		}
		step.Duration = time.Since(start)
		if i == 0 && first != nil {
			first(res, err)
		}
		if met != nil {
			met.action(rule.Name, a.Kind, step.Duration)
		}
		if a.Kind == "shell" && act != nil { // no exit status when it never started
			exit := res.Exit
			step.Exit = &exit
		}
		step.Status = res.Status
		step.Output = lv.redact.Replace(string(res.Output))
		outcome := "ok"
		if err != nil {
			step.Error = lv.redact.Replace(err.Error())
			outcome = "failed"
		}
		steps = append(steps, step)
		attrs := []any{"action", i + 1, "kind", a.Kind, "duration", step.Duration.Round(time.Millisecond), "outcome", outcome}
		if step.Exit != nil {
			attrs = append(attrs, "exit", *step.Exit)
		}
		if step.Status != 0 {
			attrs = append(attrs, "status", step.Status)
		}
		if err != nil {
			log.Warn("action failed", append(attrs, "error", step.Error)...)
			return steps, res.RetryAfter, err
		}
		log.Info("action done", attrs...)
	}
	return steps, 0, nil
}
