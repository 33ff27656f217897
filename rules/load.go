// Package rules loads hookd's configuration: hookd.yaml and the rules
// directory. Everything expensive (expressions, templates, verifiers, HTTP
// clients) is built here once; a loaded Set is immutable and is swapped in
// whole by the engine.
package rules

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
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

// loadFiles loads rule files into one Set; where names them in a warning
// when they declare no source.
func loadFiles(where string, files []string, diags []Diag, def Defaults, lookup func(string) (string, bool)) (*Set, error) {
	set := &Set{Sources: map[string]*Source{}, Rules: map[string]*Rule{}, byPath: map[string]*Source{}}
	type ruleAt struct {
		r     *Rule
		nodes map[string]*yaml.Node
		d     *decoder
	}
	var rules []ruleAt
	var scripts []scriptAt
	srcs := map[string][]byte{}   // for quoting the lines that diagnostics name
	values := map[string]string{} // each variable's expanded value
	if lookup == nil {
		lookup = os.LookupEnv
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			diags = append(diags, Diag{File: f, Msg: err.Error()})
			continue
		}
		set.Files = append(set.Files, f)
		srcs[f] = src
		root, ex := parseYAML(f, src, lookup, true, &diags)
		for k, v := range ex.values {
			values[k] = v
		}
		set.Secrets = append(set.Secrets, ex.secrets...)
		if root == nil {
			continue
		}
		d := &decoder{file: f, diags: &diags, tainted: ex.tainted, defaulted: ex.defaulted, scripts: &scripts}
		d.fields(root, "rules file", map[string]func(k, v *yaml.Node){
			"sources": func(k, v *yaml.Node) {
				if v.Kind != yaml.MappingNode {
					d.errf(v, "sources must be a mapping of source names to sources, not %s", kindName(v))
					return
				}
				for i := 0; i+1 < len(v.Content); i += 2 {
					nk, nv := v.Content[i], resolve(v.Content[i+1])
					if prev, dup := set.Sources[nk.Value]; dup {
						d.errf(nk, "source %q is already defined at %s:%d", nk.Value, prev.File, prev.Line)
						continue
					}
					if s := d.source(nk, nv, set); s != nil {
						set.Sources[s.Name] = s
					}
				}
			},
			"rules": func(k, v *yaml.Node) {
				if v.Kind != yaml.SequenceNode {
					d.errf(v, "rules must be a list of rules, not %s", kindName(v))
					return
				}
				for _, rn := range v.Content {
					r, nodes := d.rule(resolve(rn), def, set)
					if r == nil {
						continue
					}
					if prev, dup := set.Rules[r.Name]; dup {
						d.errf(nodes["name"], "rule %q is already defined at %s:%d", r.Name, prev.File, prev.Line)
						continue
					}
					set.Rules[r.Name] = r
					rules = append(rules, ruleAt{r, nodes, d})
				}
			},
		})
	}
	// Cross-file checks need every source.
	paths := map[string]*Source{}
	for _, name := range sortedKeys(set.Sources) {
		s := set.Sources[name]
		if prev, dup := paths[s.Path]; dup {
			diags = append(diags, Diag{File: s.File, Line: s.Line, Col: 3, Msg: fmt.Sprintf("source %q: path %s is already used by source %q (%s:%d)", s.Name, s.Path, prev.Name, prev.File, prev.Line)})
			continue
		}
		paths[s.Path] = s
	}
	set.byPath = paths
	for _, ra := range rules {
		r := ra.r
		for i, sn := range r.Sources {
			s, ok := set.Sources[sn]
			if !ok {
				n := ra.nodes["source"]
				if n == nil {
					n = ra.nodes["sources"]
					if n.Kind == yaml.SequenceNode && i < len(n.Content) {
						n = n.Content[i]
					}
				}
				ra.d.errf(n, "rule %q: unknown source %q (defined: %s)", r.Name, sn, strings.Join(sortedKeys(set.Sources), ", "))
				continue
			}
			s.Rules = append(s.Rules, r)
			s.Answers = s.Answers || r.Respond != nil
			ra.d.checkWait(r.Respond, s)
		}
	}
	checkResponders(set, &diags)
	for _, s := range set.Sources {
		s.index = buildIndex(s.Rules)
	}
	checkScripts(scripts, set, values, lookup, &diags)
	redactDiags(diags, set)
	sortDiags(diags)
	for f, src := range srcs {
		quoteSource(diags, f, src, set.Secrets)
	}
	var errs Errors
	for _, dg := range diags {
		if dg.Warning {
			set.Warnings = append(set.Warnings, dg)
		} else {
			errs = append(errs, dg)
		}
	}
	if len(errs) > 0 {
		return &Set{Warnings: set.Warnings}, errs
	}
	set.Warnings = append(set.Warnings, noSources(where, set)...)
	return set, nil
}

// ruleFiles lists the rule files of dir, sorted. Hidden files (editor swap
// files, Kubernetes' ..data) are skipped; symlinks are followed. A *.yaml
// entry that cannot be read as a file is an error rather than a rule file
// quietly missing; a name that is only nearly a rule file (deploy.YAML) is
// a warning.
func ruleFiles(dir string, diags *[]Diag) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("rules directory does not exist (create it, or pass -rules DIR)")
		}
		return nil, err
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		p := filepath.Join(dir, name)
		ext := filepath.Ext(name)
		if ext != ".yaml" && ext != ".yml" {
			if strings.EqualFold(ext, ".yaml") || strings.EqualFold(ext, ".yml") {
				*diags = append(*diags, Diag{File: p, Warning: true,
					Msg: "not loaded: only names ending in .yaml or .yml, in lower case, are rule files"})
			}
			continue
		}
		st, err := os.Stat(p)
		switch {
		case err != nil:
			*diags = append(*diags, Diag{File: p, Msg: "cannot read this rule file: " + err.Error()})
		case st.IsDir():
			*diags = append(*diags, Diag{File: p, Warning: true, Msg: "not loaded: a directory, not a rule file (rules are not read from subdirectories)"})
		case !st.Mode().IsRegular():
			*diags = append(*diags, Diag{File: p, Msg: "not a regular file: rule files must be files"})
		default:
			files = append(files, p)
		}
	}
	sort.Strings(files)
	return files, nil
}

func (d *decoder) source(nk, n *yaml.Node, set *Set) *Source {
	s := &Source{Name: nk.Value, Path: "/hooks/" + nk.Value, File: d.file, Line: nk.Line}
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
		"redelivery": func(k, v *yaml.Node) { redelivery = v; s.RetryFailed = d.redelivery(v) },
		"respond":    func(k, v *yaml.Node) { s.Respond = d.respond(v) },
	})
	if !ok {
		return nil
	}
	s.Answers = s.Respond != nil
	d.checkWait(s.Respond, s)
	d.checkRedelivery(s, redelivery)
	if verifyNode == nil {
		d.errf(nk, "source %q has no verify block (write verify: {provider: none} to accept unsigned requests)", s.Name)
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

// verify decodes a verify block and builds its provider.
func (d *decoder) verify(n *yaml.Node, secrets *[]string) (verify.Provider, string) {
	var c verify.Config
	keys := map[string]*yaml.Node{}
	secretNodes := map[*yaml.Node]string{} // value node: its field
	strOpt := func(dst *string) func(k, v *yaml.Node) {
		return func(k, v *yaml.Node) { keys[k.Value] = k; *dst = d.str(v, "verify."+k.Value) }
	}
	ok := d.fields(n, "verify", map[string]func(k, v *yaml.Node){
		"provider": strOpt(&c.Provider),
		"secret": func(k, v *yaml.Node) {
			keys[k.Value] = k
			secretNodes[v] = "verify.secret"
			c.Secrets = append(c.Secrets, d.str(v, "verify.secret"))
		},
		"secrets": func(k, v *yaml.Node) {
			keys[k.Value] = k
			secretNodes[v] = "verify.secrets"
			for _, it := range v.Content {
				secretNodes[resolve(it)] = "verify.secrets"
			}
			c.Secrets = append(c.Secrets, d.strs(v, "verify.secrets")...)
		},
		"header":           strOpt(&c.Header),
		"query":            strOpt(&c.Query),
		"algorithm":        strOpt(&c.Algorithm),
		"encoding":         strOpt(&c.Encoding),
		"prefix":           strOpt(&c.Prefix),
		"separator":        strOpt(&c.Separator),
		"timestamp_header": strOpt(&c.TimestampHeader),
		"template":         strOpt(&c.Template),
		"username":         strOpt(&c.Username),
		"password": func(k, v *yaml.Node) {
			secretNodes[v] = "verify.password"
			strOpt(&c.Password)(k, v)
		},
		"tolerance": func(k, v *yaml.Node) {
			keys[k.Value] = k
			c.Tolerance = d.duration(v, "verify.tolerance")
		},
		"url": strOpt(&c.URL),
		"public_key": func(k, v *yaml.Node) {
			keys[k.Value] = k
			c.PublicKeys = append(c.PublicKeys, d.str(v, "verify.public_key"))
		},
		"public_keys": func(k, v *yaml.Node) {
			keys[k.Value] = k
			c.PublicKeys = append(c.PublicKeys, d.strs(v, "verify.public_keys")...)
		},
		"verify_token": func(k, v *yaml.Node) {
			secretNodes[v] = "verify.verify_token"
			strOpt(&c.VerifyToken)(k, v)
		},
	})
	if !ok {
		return nil, ""
	}
	if keys["provider"] == nil {
		d.errf(n, "verify needs a provider (one of: %s)", strings.Join(verify.Names(), ", "))
		return nil, ""
	}
	spec, known := verify.Lookup(c.Provider)
	if !known {
		d.errf(keys["provider"], "verify: unknown provider %q (known: %s)", c.Provider, strings.Join(verify.Names(), ", "))
		return nil, c.Provider
	}
	allowed := map[string]bool{"provider": true}
	for _, o := range spec.Options {
		allowed[o] = true
	}
	bad := false
	for _, k := range sortedKeys(keys) {
		if !allowed[k] {
			d.errf(keys[k], "verify: provider %s does not take %q (it takes: %s)", c.Provider, k, strings.Join(spec.Options, ", "))
			bad = true
		}
	}
	if bad {
		return nil, c.Provider
	}
	d.warnDefaultSecrets(secretNodes)
	*secrets = append(*secrets, c.Secrets...)
	if c.Password != "" {
		*secrets = append(*secrets, c.Password)
	}
	if c.VerifyToken != "" {
		*secrets = append(*secrets, c.VerifyToken)
	}
	p, err := spec.New(c)
	if err != nil {
		at := keys["provider"]
		if fe, ok := err.(*verify.FieldError); ok {
			if k := keys[fe.Field]; k != nil {
				at = k
			}
			if fe.Field == "secret" && keys["secret"] == nil && keys["secrets"] != nil {
				at = keys["secrets"]
			}
			if fe.Field == "public_key" && keys["public_key"] == nil && keys["public_keys"] != nil {
				at = keys["public_keys"]
			}
		}
		d.errf(at, "verify: %s", err)
		return nil, c.Provider
	}
	return p, c.Provider
}

var concurrencies = map[string]bool{"parallel": true, "serial": true, "latest": true}

func (d *decoder) rule(n *yaml.Node, def Defaults, set *Set) (*Rule, map[string]*yaml.Node) {
	r := &Rule{Concurrency: "parallel", Timeout: def.Timeout, Retry: def.Retry, File: d.file, Line: n.Line}
	nodes := map[string]*yaml.Node{}
	at := func(h func(k, v *yaml.Node)) func(k, v *yaml.Node) {
		return func(k, v *yaml.Node) { nodes[k.Value] = v; h(k, v) }
	}
	errsBefore := len(*d.diags)
	ok := d.fields(n, "rule", map[string]func(k, v *yaml.Node){
		"name":    at(func(k, v *yaml.Node) { r.Name = d.str(v, "name") }),
		"source":  at(func(k, v *yaml.Node) { r.Sources = append(r.Sources, d.str(v, "source")) }),
		"sources": at(func(k, v *yaml.Node) { r.Sources = append(r.Sources, d.strs(v, "sources")...) }),
		"when": at(func(k, v *yaml.Node) {
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
		"key":        at(func(k, v *yaml.Node) { r.Key = d.compileExpr(v, d.str(v, "key"), 0, false) }),
		"timeout":    at(func(k, v *yaml.Node) { r.Timeout = d.duration(v, "timeout") }),
		"retry":      at(func(k, v *yaml.Node) { r.Retry = d.retry(v, r.Retry) }),
		"actions":    at(func(k, v *yaml.Node) { r.Actions = d.actionList(v, "actions", false, &set.Secrets) }),
		"on_failure": at(func(k, v *yaml.Node) { r.OnFailure = d.actionList(v, "on_failure", true, &set.Secrets) }),
		"respond":    at(func(k, v *yaml.Node) { r.Respond = d.respond(v) }),
	})
	if !ok {
		return nil, nil
	}
	if nodes["name"] == nil {
		d.errf(n, "rule has no name")
		return nil, nil
	}
	r.UsesBody = usesName(r.WhenSrc, "body") || (nodes["key"] != nil && usesName(nodes["key"].Value, "body"))
	if !validName(r.Name) {
		d.errf(nodes["name"], "rule name %q: use letters, digits, '-', '_' and '.'", r.Name)
	}
	if nodes["source"] != nil && nodes["sources"] != nil {
		d.errf(nodes["sources"], "rule %q: write source or sources, not both", r.Name)
	}
	if len(r.Sources) == 0 {
		d.errf(n, "rule %q has no source (source: NAME or sources: [A, B])", r.Name)
	}
	if nodes["actions"] == nil {
		d.errf(n, "rule %q has no actions", r.Name)
	} else if len(r.Actions) == 0 && len(*d.diags) == errsBefore {
		d.errf(nodes["actions"], "rule %q: actions is empty", r.Name)
	}
	if rs := r.Respond; rs != nil && rs.Wait > 0 && len(r.Actions) > 0 && r.Actions[0].Kind == "slack" {
		d.warnf(rs.waitNode, "rule %q: respond.wait answers with the first action's output, and a slack action has none to give: the fallback is always sent", r.Name)
	}
	if r.Key != nil && r.Concurrency == "parallel" {
		d.errf(nodes["key"], "rule %q: key applies to concurrency serial or latest", r.Name)
	}
	if n := nodes["timeout"]; n != nil {
		if v, err := time.ParseDuration(n.Value); err == nil && v == 0 {
			d.errf(n, "rule %q: timeout must be above zero", r.Name)
		}
	}
	return r, nodes
}

func (d *decoder) retry(n *yaml.Node, r Retry) Retry {
	d.fields(n, "retry", map[string]func(k, v *yaml.Node){
		"attempts":    func(k, v *yaml.Node) { r.Attempts = d.integer(v, "retry.attempts", 1) },
		"backoff":     func(k, v *yaml.Node) { r.Backoff = d.duration(v, "retry.backoff") },
		"max_backoff": func(k, v *yaml.Node) { r.MaxBackoff = d.duration(v, "retry.max_backoff") },
	})
	if r.MaxBackoff < r.Backoff {
		r.MaxBackoff = r.Backoff
	}
	return r
}
