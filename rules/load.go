// Package rules loads hookd's configuration: hookd.yaml and the rules
// directory. Everything expensive (expressions, templates, verifiers, HTTP
// clients) is built here once; a loaded Set is immutable and is swapped in
// whole by the engine.
package rules

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"go.yaml.in/yaml/v3"

	"hookd/verify"
)

// Set is one complete, validated configuration of sources and rules.
type Set struct {
	Sources  map[string]*Source
	Rules    map[string]*Rule
	Files    []string
	Warnings []Diag
	// Secrets holds every secret value of the configuration, so that the
	// engine can keep them out of logs and out of processes' environments.
	Secrets []string
	byPath  map[string]*Source
}

// SourceByPath returns the source listening on path, or nil. One trailing
// slash is forgiven (people paste https://host/hooks/github/ into a
// provider's form); two are not.
func (s *Set) SourceByPath(path string) *Source {
	if src := s.byPath[path]; src != nil {
		return src
	}
	if n := len(path); n > 1 && path[n-1] == '/' && path[n-2] != '/' {
		return s.byPath[path[:n-1]]
	}
	return nil
}

// Source is one webhook endpoint.
type Source struct {
	Name     string
	Path     string
	Provider string
	Verifier verify.Provider
	Allow    []netip.Prefix
	Rate     *Rate       // nil: no limit
	ID       *vm.Program // optional delivery id expression
	Event    *vm.Program // optional event type expression
	Rules    []*Rule     // the rules listening to this source, in load order
	// IDUsesBody tells whether the id or event expression reads body.
	IDUsesBody bool
	index      *ruleIndex
	File       string
	Line       int

	// RetryFailed: a redelivery of an event whose jobs all failed runs
	// its rules again (redelivery: retry_failed).
	RetryFailed bool
	// Respond answers the source's recorded events that no matching
	// rule's respond answers; nil: the status JSON.
	Respond *Respond
	// Answers tells whether the source or one of its rules has a
	// respond: a duplicate is then answered what the original was.
	Answers bool
	// KeepIgnored is what is recorded of an event that matches no rule:
	// KeepAll, KeepHeaders or KeepDeliveryID.
	KeepIgnored string
}

// Rule is one rule: when a source's event matches, run actions.
type Rule struct {
	Name        string
	Sources     []string
	When        *vm.Program // nil matches every event
	WhenSrc     string
	Concurrency string // parallel, serial, latest
	Key         *vm.Program
	// UsesBody tells whether `when` or `key` reads body.
	UsesBody  bool
	guard     *vm.Program // see CannotMatch
	Timeout   time.Duration
	Retry     Retry
	Actions   []*Action
	OnFailure []*Action
	// Respond, when set, is the answer to an event this rule matches (the
	// first such rule in load order answers).
	Respond *Respond
	File    string
	Line    int
}

// Retry is a rule's retry policy.
type Retry struct {
	Attempts   int // attempts in all, at least 1
	Backoff    time.Duration
	MaxBackoff time.Duration
}

// Defaults apply where a rule says nothing.
type Defaults struct {
	Retry   Retry
	Timeout time.Duration
	// Retention is hookd.yaml's retention (0: records are kept for
	// ever), against which sources' tolerances are checked.
	Retention time.Duration
}

// DefaultRuleDefaults are used when hookd.yaml sets none.
var DefaultRuleDefaults = Defaults{
	Retry:   Retry{Attempts: 1, Backoff: 5 * time.Second, MaxBackoff: 5 * time.Minute},
	Timeout: 10 * time.Minute,
}

// reserved paths are served by hookd itself.
var reserved = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// Load reads every *.yaml and *.yml file of dir into one Set. lookup reads
// environment variables (nil: the process environment). On failure the error
// is an Errors listing every problem, and the Set holds only the warnings,
// which an error must not hide.
func Load(dir string, def Defaults, lookup func(string) (string, bool)) (*Set, error) {
	var diags []Diag
	files, err := ruleFiles(dir, &diags)
	if err != nil {
		return nil, Errors{{File: dir, Msg: err.Error()}}
	}
	return loadFiles(dir, files, diags, def, lookup)
}

func (d *decoder) source(nk, n *yaml.Node, set *Set) *Source {
	s := &Source{Name: nk.Value, Path: "/hooks/" + nk.Value, File: d.file, Line: nk.Line, KeepIgnored: KeepAll}
	if !validName(s.Name) {
		d.errf(nk, "source name %q: use letters, digits, '-', '_' and '.'", s.Name)
	}
	var verifyNode, redelivery *yaml.Node
	ok := d.fields(n, "source "+s.Name, map[string]func(k, v *yaml.Node){
		"path": func(k, v *yaml.Node) {
			s.Path = d.str(v, "path")
			if !strings.HasPrefix(s.Path, "/") {
				d.errf(v, "path must start with /")
			} else if reserved[s.Path] {
				d.errf(v, "path %s is served by hookd itself", s.Path)
			}
		},
		"verify": func(k, v *yaml.Node) { verifyNode = v; s.Verifier, s.Provider = d.verify(v, &set.Secrets) },
		"allow":  func(k, v *yaml.Node) { s.Allow = d.prefixes(v, "allow") },
		"rate":   func(k, v *yaml.Node) { s.Rate = d.rate(v) },
		"id": func(k, v *yaml.Node) {
			s.ID = d.compileExpr(v, d.str(v, "id"), 0, false)
			s.IDUsesBody = s.IDUsesBody || usesName(v.Value, "body")
		},
		"event": func(k, v *yaml.Node) {
			s.Event = d.compileExpr(v, d.str(v, "event"), 0, false)
			s.IDUsesBody = s.IDUsesBody || usesName(v.Value, "body")
		},
		"redelivery":   func(k, v *yaml.Node) { redelivery = v; s.RetryFailed = d.redelivery(v) },
		"respond":      func(k, v *yaml.Node) { s.Respond = d.respond(v) },
		"keep_ignored": func(k, v *yaml.Node) { s.KeepIgnored = d.keepIgnored(v) },
	})
	if !ok {
		return nil
	}
	s.Answers = s.Respond != nil
	d.checkWait(s.Respond, s)
	d.checkRedelivery(s, redelivery)
	if verifyNode == nil {
		d.missing(nk, n, []string{"verify"}, "source %q has no verify block (write verify: {provider: none} to accept unsigned requests)", s.Name)
	} else if s.Provider == "none" {
		d.warnf(verifyNode, "source %q accepts unsigned requests (provider: none): anyone who can reach %s can trigger its rules", s.Name, s.Path)
	}
	return s
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}

var concurrencies = map[string]bool{"parallel": true, "serial": true, "latest": true}

func (d *decoder) rule(n *yaml.Node, def Defaults, set *Set) (*Rule, map[string]*yaml.Node) {
	r := &Rule{Concurrency: "parallel", Timeout: def.Timeout, Retry: def.Retry, File: d.file, Line: n.Line}
	nodes := map[string]*yaml.Node{}
	at := func(h func(k, v *yaml.Node)) func(k, v *yaml.Node) {
		return func(k, v *yaml.Node) { nodes[k.Value] = v; h(k, v) }
	}
	actionErrs := false // actions empty because its items are wrong
	ok := d.fields(n, "rule", map[string]func(k, v *yaml.Node){
		"name":    at(func(k, v *yaml.Node) { r.Name = d.str(v, "name") }),
		"source":  at(func(k, v *yaml.Node) { r.Sources = append(r.Sources, d.str(v, "source")) }),
		"sources": at(func(k, v *yaml.Node) { r.Sources = append(r.Sources, d.strs(v, "sources")...) }),
		"when": at(func(k, v *yaml.Node) {
			if emptyScalar(v) {
				d.errf(v, "when is empty: write a condition, or leave when out to match every event")
				return
			}
			r.WhenSrc = d.str(v, "when")
			if r.WhenSrc != "" {
				r.When = d.compileExpr(v, r.WhenSrc, 0, false, expr.AsBool())
			}
		}),
		"concurrency": at(func(k, v *yaml.Node) {
			r.Concurrency = d.str(v, "concurrency")
			if !concurrencies[r.Concurrency] {
				d.errf(v, "concurrency must be parallel, serial or latest, not %q", r.Concurrency)
			}
		}),
		"key": at(func(k, v *yaml.Node) {
			if emptyScalar(v) {
				d.typeErr(v, "key is empty: write an expression, such as key: body.ref")
				return
			}
			r.Key = d.compileExpr(v, d.str(v, "key"), 0, false)
		}),
		"timeout": at(func(k, v *yaml.Node) { r.Timeout = d.duration(v, "timeout") }),
		"retry":   at(func(k, v *yaml.Node) { r.Retry = d.retry(v, r.Retry) }),
		"actions": at(func(k, v *yaml.Node) {
			before := d.errorCount()
			r.Actions = d.actionList(v, "actions", false, &set.Secrets)
			actionErrs = d.errorCount() > before
		}),
		"on_failure": at(func(k, v *yaml.Node) { r.OnFailure = d.actionList(v, "on_failure", true, &set.Secrets) }),
		"respond":    at(func(k, v *yaml.Node) { r.Respond = d.respond(v) }),
	})
	if !ok {
		return nil, nil
	}
	if nodes["name"] == nil {
		d.missing(n, n, []string{"name"}, "rule has no name")
		return nil, nil
	}
	r.UsesBody = usesName(r.WhenSrc, "body") || (nodes["key"] != nil && usesName(nodes["key"].Value, "body"))
	r.guard = bodylessGuard(r.WhenSrc)
	if !validName(r.Name) {
		d.errf(nodes["name"], "rule name %q: use letters, digits, '-', '_' and '.'", r.Name)
	}
	if nodes["source"] != nil && nodes["sources"] != nil {
		d.errf(nodes["sources"], "rule %q: write source or sources, not both", r.Name)
	}
	if len(r.Sources) == 0 {
		d.missing(n, n, []string{"source", "sources"}, "rule %q has no source (source: NAME or sources: [A, B])", r.Name)
	}
	if nodes["actions"] == nil {
		d.missing(n, n, []string{"actions"}, "rule %q has no actions", r.Name)
	} else if len(r.Actions) == 0 && !actionErrs {
		d.errf(nodes["actions"], "rule %q: actions is empty", r.Name)
	}
	if rs := r.Respond; rs != nil && rs.Wait > 0 && len(r.Actions) > 0 && r.Actions[0].Kind == "slack" {
		d.warnf(rs.waitNode, "rule %q: respond.wait answers with the first action's output, and a slack action has none to give: the fallback is always sent", r.Name)
	}
	if r.Key != nil && r.Concurrency == "parallel" {
		d.errf(nodes["key"], "rule %q: key applies to concurrency serial or latest", r.Name)
	}
	if n := nodes["timeout"]; n != nil {
		d.aboveZero(n, fmt.Sprintf("rule %q: timeout", r.Name), "")
	}
	return r, nodes
}

// retry reads a retry block over r. A backoff above the max_backoff
// written beside it is refused; above an inherited one (hookd.yaml's, or
// the default 5m), it raises it.
func (d *decoder) retry(n *yaml.Node, r Retry) Retry {
	var backoff, maxBackoff *yaml.Node
	d.fields(n, "retry", map[string]func(k, v *yaml.Node){
		"attempts":    func(k, v *yaml.Node) { r.Attempts = d.integer(v, "retry.attempts", 1) },
		"backoff":     func(k, v *yaml.Node) { backoff = v; r.Backoff = d.duration(v, "retry.backoff") },
		"max_backoff": func(k, v *yaml.Node) { maxBackoff = v; r.MaxBackoff = d.duration(v, "retry.max_backoff") },
	})
	if r.MaxBackoff < r.Backoff {
		if backoff != nil && maxBackoff != nil {
			d.errf(maxBackoff, "retry.max_backoff %s is below retry.backoff %s: the longest wait cannot be shorter than the first (raise max_backoff, or lower backoff)",
				maxBackoff.Value, backoff.Value)
		}
		r.MaxBackoff = r.Backoff
	}
	return r
}

// emptyScalar tells whether n is null or a string of blanks.
func emptyScalar(n *yaml.Node) bool {
	return isNull(n) || n.Kind == yaml.ScalarNode && strings.TrimSpace(n.Value) == ""
}

// aboveZero refuses a duration of zero at n: what names it, and hint
// (if any) follows the message.
func (d *decoder) aboveZero(n *yaml.Node, what, hint string) {
	if v, err := ParseDuration(strings.TrimSpace(n.Value)); err == nil && v == 0 {
		d.errf(n, "%s must be above zero%s", what, hint)
	}
}

// definedSources lists the sources defined, for an unknown source's error;
// none defined usually means a file was checked without the one that
// defines them.
func definedSources(set *Set) string {
	if len(set.Sources) == 0 {
		return "no source is defined in the files loaded; a source defined in another file counts only when both are loaded together: hookd check rules.d new.yaml"
	}
	return "defined: " + strings.Join(sortedKeys(set.Sources), ", ")
}
