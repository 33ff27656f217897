package rules

import (
	"sort"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// ruleIndex narrows the rules of a source before their `when` runs. A rule
// whose `when` starts with `PATH == "const"` (PATH: event, body.ref,
// header("X-Event"), headers["x"], ...) can only match when PATH has that
// value; rules sharing a PATH are grouped, PATH is evaluated once per request
// and one map lookup finds the candidates. Only the left-most operand of &&
// is used: when it is false, `when` stops there, so skipping the rule can
// neither hide a match nor a run-time error.
type ruleIndex struct {
	paths  []*pathGroup
	always []*Rule // rules that cannot be narrowed
	order  map[*Rule]int
}

type pathGroup struct {
	prog  *vm.Program
	rules map[string][]*Rule
}

func buildIndex(rules []*Rule) *ruleIndex {
	ix := &ruleIndex{order: make(map[*Rule]int, len(rules))}
	groups := map[string]*pathGroup{}
	for i, r := range rules {
		ix.order[r] = i
		path, value, ok := leadingEquality(r.WhenSrc)
		if !ok {
			ix.always = append(ix.always, r)
			continue
		}
		g := groups[path]
		if g == nil {
			p, err := expr.Compile(path, expr.Env(Env{}))
			if err != nil {
				ix.always = append(ix.always, r)
				continue
			}
			g = &pathGroup{prog: p, rules: map[string][]*Rule{}}
			groups[path] = g
			ix.paths = append(ix.paths, g)
		}
		g.rules[value] = append(g.rules[value], r)
	}
	return ix
}

// leadingEquality finds `PATH == "string"` (either way round) as the
// left-most operand of a chain of &&.
func leadingEquality(src string) (path, value string, ok bool) {
	if src == "" {
		return "", "", false
	}
	tree, err := parser.Parse(src)
	if err != nil {
		return "", "", false
	}
	n := tree.Node
	for {
		b, isBin := n.(*ast.BinaryNode)
		if !isBin || (b.Operator != "&&" && b.Operator != "and") {
			break
		}
		n = b.Left
	}
	b, isBin := n.(*ast.BinaryNode)
	if !isBin || b.Operator != "==" {
		return "", "", false
	}
	l, r := b.Left, b.Right
	if _, isStr := l.(*ast.StringNode); isStr {
		l, r = r, l
	}
	s, isStr := r.(*ast.StringNode)
	if !isStr || !isPath(l) {
		return "", "", false
	}
	return l.String(), s.Value, true
}

// isPath accepts names, member chains with constant keys, and header("X").
func isPath(n ast.Node) bool {
	switch x := n.(type) {
	case *ast.IdentifierNode:
		return true
	case *ast.MemberNode:
		switch x.Property.(type) {
		case *ast.StringNode, *ast.IntegerNode:
		default:
			return false
		}
		return !x.Method && isPath(x.Node)
	case *ast.CallNode:
		id, ok := x.Callee.(*ast.IdentifierNode)
		if !ok || id.Value != "header" || len(x.Arguments) != 1 {
			return false
		}
		_, ok = x.Arguments[0].(*ast.StringNode)
		return ok
	}
	return false
}

// candidates returns the rules whose `when` may be true for env, in load
// order.
func (ix *ruleIndex) candidates(env *Env, all []*Rule) []*Rule {
	if len(ix.paths) == 0 {
		return all
	}
	out := append([]*Rule(nil), ix.always...)
	for _, g := range ix.paths {
		v, err := runExpr(g.prog, env)
		if err != nil {
			// The full `when` will meet the same error and record it.
			for _, rs := range g.rules {
				out = append(out, rs...)
			}
			continue
		}
		if s, ok := v.(string); ok {
			out = append(out, g.rules[s]...)
		}
	}
	if len(out) > 1 {
		sort.Slice(out, func(i, j int) bool { return ix.order[out[i]] < ix.order[out[j]] })
	}
	return out
}

// Candidates returns the rules of the source that may match env (every rule
// whose `when` could be true), in the order they were loaded. Callers still
// run each rule's Match.
func (s *Source) Candidates(env *Env) []*Rule {
	if s.index == nil {
		return s.Rules
	}
	return s.index.candidates(env, s.Rules)
}
