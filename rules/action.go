package rules

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"hookd/actions"
	"hookd/internal/suggest"
)

// Action is one configured action, its templates compiled.
type Action struct {
	Kind    string // shell, http, slack
	File    string
	Line    int
	Timeout time.Duration // 0: the rule's timeout
	impl    actionImpl
}

// Call is what an action is rendered with at run time.
type Call struct {
	Env     any      // *Env, or *FailureEnv for on_failure
	Vars    []string // HOOKD_* variables, "K=V"
	BaseEnv []string // what actions inherit of the daemon's environment (Set.ActionEnviron)
	// UserAgent is what http and slack actions send unless a rule sets
	// one: hookd/<version>.
	UserAgent string
	// KeepStdout asks a shell action for its stdout alone, to answer a
	// sender with (respond.wait).
	KeepStdout bool
	// BodyFile is HOOKD_BODY_FILE's file, "" when there is none: a shell
	// action's stdin is read from it.
	BodyFile string
}

// actionImpl is one action kind at load time: it renders itself into an
// actions.Action for one attempt, and describes itself for `hookd test`.
type actionImpl interface {
	build(c *Call) (actions.Action, error)
	describe(c *Call) (map[string]any, error)
}

// Build renders the action for one attempt.
func (a *Action) Build(c *Call) (actions.Action, error) { return a.impl.build(c) }

// Describe renders the action as it would run, secrets redacted.
func (a *Action) Describe(c *Call) (map[string]any, error) {
	m, err := a.impl.describe(c)
	if m != nil {
		m["kind"] = a.Kind
	}
	return m, err
}

// actionKinds decode one kind's mapping. secrets collects values that must
// never be logged or passed to processes.
type kindDecoder func(d *decoder, n *yaml.Node, a *Action, failure bool, secrets *[]string) actionImpl

var actionKinds = map[string]kindDecoder{
	"shell": decodeShell,
	"http":  decodeHTTP,
	"slack": decodeSlack,
}

func (d *decoder) actionList(n *yaml.Node, what string, failure bool, secrets *[]string) []*Action {
	if n.Kind != yaml.SequenceNode {
		d.typeErr(n, "%s must be a list of actions, not %s", what, kindName(n))
		return nil
	}
	var out []*Action
	for _, item := range n.Content {
		item = resolve(item)
		if item.Kind != yaml.MappingNode || len(item.Content) != 2 {
			d.actionShape(item, what)
			continue
		}
		k, v := item.Content[0], resolve(item.Content[1])
		dec, ok := actionKinds[k.Value]
		if !ok {
			known := sortedKeys(actionKinds)
			if near := suggest.Closest(k.Value, known); near != "" {
				d.errf(k, "%s: unknown action kind %q: did you mean %s? (known: %s)", what, k.Value, near, strings.Join(known, ", "))
			} else {
				d.errf(k, "%s: unknown action kind %q (known: %s)", what, k.Value, strings.Join(known, ", "))
			}
			continue
		}
		a := &Action{Kind: k.Value, File: d.file, Line: k.Line}
		a.impl = dec(d, v, a, failure, secrets)
		if a.impl != nil {
			out = append(out, a)
		}
	}
	return out
}

// actionShape reports an action that is not a mapping of one key. The
// usual slip is a kind's fields written beside it, not under it: "- shell:"
// then "command: [echo, hi]" at the indentation of shell.
func (d *decoder) actionShape(item *yaml.Node, what string) {
	kinds := strings.Join(sortedKeys(actionKinds), ", ")
	if item.Kind == yaml.MappingNode && len(item.Content) > 2 {
		k, v := item.Content[0], resolve(item.Content[1])
		if _, ok := actionKinds[k.Value]; ok && (isNull(v) || v.Kind == yaml.MappingNode) {
			extra := item.Content[2]
			if _, two := actionKinds[extra.Value]; two {
				d.errf(extra, "%s: %s and %s are two actions: write each as an item of its own (- %s: ...)", what, k.Value, extra.Value, extra.Value)
				return
			}
			d.errf(extra, "%s: %q is beside %q, not under it: indent it further than %q (an action is a mapping with one key, its kind)",
				what, extra.Value, k.Value, k.Value)
			return
		}
	}
	d.errf(item, "%s: each action is a mapping with one key, its kind (%s)", what, kinds)
}

// shellAction is `shell`: an argv list run without a shell, or a script run
// by /bin/sh -c in which templates are never expanded.
type shellAction struct {
	argv   []*Template
	script string
	dir    *Template
	env    map[string]*Template
	base   string // the rules file's directory: relative paths start there
}

func decodeShell(d *decoder, n *yaml.Node, a *Action, failure bool, _ *[]string) actionImpl {
	s := &shellAction{base: d.baseDir()}
	var cmdNode, scriptNode *yaml.Node
	ok := d.fields(n, "shell", map[string]func(k, v *yaml.Node){
		"command": func(k, v *yaml.Node) {
			cmdNode = v
			if v.Kind == yaml.ScalarNode && !isNull(v) {
				d.errf(v, "shell.command is an argv list run without a shell, e.g. [./deploy.sh, \"{{ body.after }}\"]; for a shell command line use script:")
				return
			}
			for i, it := range d.strsNodes(v, "shell.command") {
				s.argv = append(s.argv, d.template(it, "shell.command item", failure))
				if i == 0 {
					d.checkCommand(it, s.argv[0], s.base)
				}
			}
		},
		"script": func(k, v *yaml.Node) {
			scriptNode = v
			s.script = d.str(v, "shell.script")
			if d.scripts != nil {
				*d.scripts = append(*d.scripts, scriptAt{d.file, v, s})
			}
			if strings.Contains(s.script, "{{") {
				d.warnf(v, "shell.script: {{ }} is not expanded inside a script (payload text must never become shell code); pass values with env:")
			}
		},
		"dir": func(k, v *yaml.Node) {
			s.dir = d.template(v, "shell.dir", failure)
			d.checkDir(v, s.dir, s.base)
		},
		"env": func(k, v *yaml.Node) {
			m, pos := d.strMap(v, "shell.env")
			s.env = map[string]*Template{}
			for name := range m {
				if !validVarName(name) {
					d.errf(pos[name], "shell.env: %q is not a valid variable name", name)
					continue
				}
				if strings.HasPrefix(name, "HOOKD_") {
					d.errf(pos[name], "shell.env: %s is set by hookd itself", name)
					continue
				}
				s.env[name] = d.template(pos[name], "shell.env."+name, failure)
			}
		},
		"timeout": func(k, v *yaml.Node) { a.Timeout = d.actionTimeout(v, "shell.timeout") },
	})
	if !ok {
		return nil
	}
	switch {
	case cmdNode == nil && scriptNode == nil:
		d.missing(n, n, []string{"command", "script"}, "shell needs command: [program, args...] or script: \"...\"")
	case cmdNode != nil && scriptNode != nil:
		d.errf(scriptNode, "shell takes command or script, not both")
	case cmdNode != nil && len(s.argv) == 0 && cmdNode.Kind == yaml.SequenceNode:
		d.errf(cmdNode, "shell.command is empty")
	}
	return s
}

// actionTimeout reads an action's timeout, which must be above zero, as a
// rule's must.
func (d *decoder) actionTimeout(n *yaml.Node, what string) time.Duration {
	v := d.duration(n, what)
	d.aboveZero(n, what, " (leave it out for the rule's timeout)")
	return v
}

// strsNodes returns the item nodes of a list of strings.
func (d *decoder) strsNodes(n *yaml.Node, what string) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		d.typeErr(n, "%s must be a list, not %s", what, kindName(n))
		return nil
	}
	out := make([]*yaml.Node, 0, len(n.Content))
	for _, c := range n.Content {
		out = append(out, resolve(c))
	}
	return out
}

func (s *shellAction) render(c *Call) (argv []string, dir string, env []string, err error) {
	for i, t := range s.argv {
		v, err := t.Render(c.Env)
		if err != nil {
			return nil, "", nil, fmt.Errorf("shell.command[%d]: %w", i, err)
		}
		if i == 0 {
			v = resolveCommand(s.base, v)
		}
		argv = append(argv, v)
	}
	// Without dir, the process starts where a relative dir would: in the
	// rules file's directory, never in hookd's working directory.
	dir = s.base
	if s.dir != nil {
		if dir, err = s.dir.Render(c.Env); err != nil {
			return nil, "", nil, fmt.Errorf("shell.dir: %w", err)
		}
		if dir == "" {
			dir = s.base
		}
		dir = resolvePath(s.base, dir)
	}
	env = make([]string, 0, len(c.BaseEnv)+len(c.Vars)+len(s.env))
	env = append(env, c.BaseEnv...)
	env = append(env, c.Vars...)
	for _, k := range sortedKeys(s.env) {
		v, err := s.env[k].Render(c.Env)
		if err != nil {
			return nil, "", nil, fmt.Errorf("shell.env.%s: %w", k, err)
		}
		env = append(env, k+"="+v)
	}
	return argv, dir, env, nil
}

func (s *shellAction) build(c *Call) (actions.Action, error) {
	argv, dir, env, err := s.render(c)
	if err != nil {
		return nil, err
	}
	return &actions.Shell{Argv: argv, Script: s.script, Dir: dir, Env: env, KeepStdout: c.KeepStdout}, nil
}

func (s *shellAction) describe(c *Call) (map[string]any, error) {
	argv, dir, _, err := s.render(&Call{Env: c.Env})
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	if s.script != "" {
		m["script"] = s.script
	} else {
		m["command"] = argv
	}
	if s.dir != nil {
		m["dir"] = dir
	}
	if len(s.env) > 0 {
		env := map[string]string{}
		for k, t := range s.env {
			if env[k], err = t.Render(c.Env); err != nil {
				return nil, err
			}
		}
		m["env"] = env
	}
	return m, nil
}
