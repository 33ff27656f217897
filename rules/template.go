package rules

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/expr-lang/expr/vm"
	"go.yaml.in/yaml/v3"
)

// Template is a string with {{ expr }} parts, compiled once at load.
type Template struct {
	src   string
	parts []tplPart
	// whole is set when the template is exactly one {{ expr }}, so that a
	// json: value keeps the expression's type.
	whole *vm.Program
}

type tplPart struct {
	lit  string
	prog *vm.Program
	src  string // the expression as written, for errors
}

// Static reports whether the template has no expressions.
func (t *Template) Static() bool {
	return len(t.parts) == 0 || (len(t.parts) == 1 && t.parts[0].prog == nil)
}

// Source returns the template as written.
func (t *Template) Source() string { return t.src }

// template compiles a string node. failure selects the on_failure environment.
func (d *decoder) template(n *yaml.Node, what string, failure bool) *Template {
	s := d.str(n, what)
	return d.templateOf(n, s, failure)
}

func (d *decoder) templateOf(n *yaml.Node, s string, failure bool) *Template {
	t := &Template{src: s}
	rest, offset := s, 0
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if rest != "" {
				t.parts = append(t.parts, tplPart{lit: rest})
			}
			break
		}
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			d.errf(n, "template: {{ at offset %d is never closed with }}", offset+i)
			return nil
		}
		if i > 0 {
			t.parts = append(t.parts, tplPart{lit: rest[:i]})
		}
		src := rest[i+2 : i+2+j]
		if strings.TrimSpace(src) == "" {
			d.errf(n, "template: empty {{ }}")
			return nil
		}
		p := d.compileExpr(n, src, offset+i+2, failure)
		if p == nil {
			return nil
		}
		t.parts = append(t.parts, tplPart{prog: p, src: src})
		rest = rest[i+2+j+2:]
		offset += i + 2 + j + 2
	}
	if len(t.parts) == 1 && t.parts[0].prog != nil && strings.HasPrefix(strings.TrimSpace(s), "{{") && strings.HasSuffix(strings.TrimSpace(s), "}}") && strings.TrimSpace(s) == s {
		t.whole = t.parts[0].prog
	}
	return t
}

// Render evaluates the template against env (an *Env or *FailureEnv).
func (t *Template) Render(env any) (string, error) {
	if t == nil {
		return "", nil
	}
	if len(t.parts) == 1 && t.parts[0].prog == nil {
		return t.parts[0].lit, nil
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.prog == nil {
			b.WriteString(p.lit)
			continue
		}
		v, err := runExpr(p.prog, env)
		if err != nil {
			return "", p.fail(err)
		}
		s, err := Stringify(v)
		if err != nil {
			return "", p.fail(err)
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// Value evaluates the template keeping the type when it is exactly one
// expression; otherwise it renders a string.
func (t *Template) Value(env any) (any, error) {
	if t.whole != nil {
		v, err := runExpr(t.whole, env)
		if err != nil {
			return nil, t.parts[0].fail(err)
		}
		return v, nil
	}
	return t.Render(env)
}

// fail is the error of a part that failed to render. It quotes the part's
// expression whole, never clipped: a clipped quote could end inside a
// secret written in it, which redaction, matching whole secrets, would miss.
func (p tplPart) fail(err error) error {
	return fmt.Errorf("template {{%s}}: %w", p.src, err)
}

// vms reuses expr's virtual machines (and their stacks) across runs.
var vms = sync.Pool{New: func() any { return new(vm.VM) }}

// runExpr runs a program, turning a panic inside expr into an error: a
// payload must never crash the daemon. A failure is told in terms of the
// values the expression met (diagnosis), not expr's internals.
func runExpr(p *vm.Program, env any) (any, error) {
	v, err := runRaw(p, env)
	if err != nil {
		// expr's message carries a source snippet over several lines; the
		// first line is the message.
		msg, _, _ := strings.Cut(err.Error(), "\n")
		if d := diagnosis(p, env); d != "" {
			msg = d
		}
		if be := bodyErr(env); be != nil {
			return nil, fmt.Errorf("%s (%v)", msg, be) // likely why: say it
		}
		return nil, fmt.Errorf("%s", msg)
	}
	return v, nil
}

// runRaw runs a program as it is, a panic inside expr made an error.
func runRaw(p *vm.Program, env any) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("expression failed: %v", r)
		}
	}()
	m := vms.Get().(*vm.VM)
	v, err = m.Run(p, env)
	vms.Put(m)
	return v, err
}

// errBodyEmpty is why body is nil when the request had no body: not an
// error of its own (a ping, hookd run without -body), but the likely
// reason an expression that reads body.x fails.
var errBodyEmpty = errors.New("body: empty")

// bodyErr is the reason env's body could not be read, if any, or that it
// was empty.
func bodyErr(env any) error {
	var e *Env
	switch v := env.(type) {
	case *Env:
		e = v
	case *FailureEnv:
		e = &v.Env
	default:
		return nil
	}
	if e.BodyErr == nil && e.Body == nil && strings.TrimSpace(e.Raw) == "" {
		return errBodyEmpty
	}
	return e.BodyErr
}

// Eval runs a compiled expression against env; a panic or a run-time
// error becomes an error.
func Eval(p *vm.Program, env any) (any, error) { return runExpr(p, env) }

// EvalString runs p and renders its value as a template would.
func EvalString(p *vm.Program, env any) (string, error) {
	v, err := runExpr(p, env)
	if err != nil {
		return "", err
	}
	return Stringify(v)
}
