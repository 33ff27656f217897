package rules

import (
	"fmt"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"hookd/verify"
)

// loadFiles loads rule files into one Set; where names them in a warning
// when they declare no source.
func loadFiles(where string, files []string, diags []Diag, def Defaults, lookup func(string) (string, bool)) (*Set, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	l := &fileLoader{
		set:    &Set{Sources: map[string]*Source{}, Rules: map[string]*Rule{}, byPath: map[string]*Source{}},
		def:    def,
		lookup: lookup,
		diags:  diags,
		srcs:   map[string][]byte{},
		values: map[string]string{},
	}
	for _, f := range files {
		l.file(f)
	}
	set := l.set
	// Cross-file checks need every source.
	set.byPath = uniquePaths(set, &l.diags)
	warnTolerances(set, def.Retention, &l.diags)
	linkRules(set, l.rules)
	checkResponders(set, &l.diags)
	for _, s := range set.Sources {
		s.index = buildIndex(s.Rules)
	}
	checkScripts(l.scripts, l.values, lookup, &l.diags)
	set.Secrets = distinct(set.Secrets) // a verify secret may also have a secret's name
	diags = l.diags
	redactDiags(diags, set)
	sortDiags(diags)
	diags = dedupShortSecrets(diags)
	for f, src := range l.srcs {
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

// fileLoader gathers what the rules files define, one file at a time.
type fileLoader struct {
	set     *Set
	def     Defaults
	lookup  func(string) (string, bool)
	diags   []Diag
	rules   []ruleAt
	scripts []scriptAt
	srcs    map[string][]byte // for quoting the lines that diagnostics name
	values  map[string]string // each variable's expanded value
}

// ruleAt is a decoded rule with the nodes and decoder that its
// cross-file diagnostics point into.
type ruleAt struct {
	r     *Rule
	nodes map[string]*yaml.Node
	d     *decoder
}

// file reads, parses and decodes one rules file into l.
func (l *fileLoader) file(f string) {
	set := l.set
	src, err := os.ReadFile(f)
	if err != nil {
		l.diags = append(l.diags, Diag{File: f, Msg: err.Error()})
		return
	}
	set.Files = append(set.Files, f)
	l.srcs[f] = src
	root, ex := parseYAML(f, src, l.lookup, true, &l.diags)
	for k, v := range ex.values {
		l.values[k] = v
	}
	set.Secrets = append(set.Secrets, ex.secrets...)
	if root == nil {
		return
	}
	d := &decoder{file: f, diags: &l.diags, tainted: ex.tainted, defaulted: ex.defaulted, scripts: &l.scripts, text: ex.text, refs: ex.refs}
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
				r, nodes := d.rule(resolve(rn), l.def, set)
				if r == nil {
					continue
				}
				if prev, dup := set.Rules[r.Name]; dup {
					d.errf(nodes["name"], "rule %q is already defined at %s:%d", r.Name, prev.File, prev.Line)
					continue
				}
				set.Rules[r.Name] = r
				l.rules = append(l.rules, ruleAt{r, nodes, d})
			}
		},
	})
}

// uniquePaths maps each path to its source, reporting a path that two
// sources share (the first by name keeps it).
func uniquePaths(set *Set, diags *[]Diag) map[string]*Source {
	paths := map[string]*Source{}
	for _, name := range sortedKeys(set.Sources) {
		s := set.Sources[name]
		if prev, dup := paths[s.Path]; dup {
			*diags = append(*diags, Diag{File: s.File, Line: s.Line, Col: 3, Msg: fmt.Sprintf("source %q: path %s is already used by source %q (%s:%d)", s.Name, s.Path, prev.Name, prev.File, prev.Line)})
			continue
		}
		paths[s.Path] = s
	}
	return paths
}

// warnTolerances warns of a source whose signed timestamps stay valid for
// longer than retention keeps its deliveries' records: a captured request
// replayed after its record is pruned would verify and run again.
func warnTolerances(set *Set, retention time.Duration, diags *[]Diag) {
	if retention <= 0 {
		return
	}
	for _, name := range sortedKeys(set.Sources) {
		s := set.Sources[name]
		if s.Verifier == nil {
			continue
		}
		if tol := verify.ToleranceOf(s.Verifier); tol > retention {
			*diags = append(*diags, Diag{File: s.File, Line: s.Line, Col: 3, Warning: true, Msg: fmt.Sprintf(
				"source %q: verify accepts signatures %s old (tolerance), longer than retention (%s) keeps their records: a delivery replayed after its record is pruned would run again; lower tolerance or raise retention",
				s.Name, shortDuration(tol), shortDuration(retention))})
		}
	}
}

// shortDuration writes d as hookd's durations are written: 30d, 12h, 1h30m.
func shortDuration(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// linkRules attaches each rule to the sources it names, reporting an
// unknown source at the name in the rule.
func linkRules(set *Set, rules []ruleAt) {
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
				ra.d.errf(n, "rule %q: unknown source %q (%s)", r.Name, sn, definedSources(set))
				continue
			}
			s.Rules = append(s.Rules, r)
			s.Answers = s.Answers || r.Respond != nil
			ra.d.checkWait(r.Respond, s)
		}
	}
}

// distinct returns ss without its repeated strings, in first-seen order.
func distinct(ss []string) []string {
	seen := make(map[string]bool, len(ss))
	out := ss[:0]
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
