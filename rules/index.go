package rules

import (
	"sort"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// ruleIndex narrows the rules of a source before their `when` runs. A rule
// whose `when` is a chain of && holding `PATH == "const"` (PATH: event,
// body.ref, header("X-Event"), headers["x"], ...) can only match when PATH
// has that value; rules sharing a PATH are grouped, PATH is evaluated once
// per request and one map lookup finds the candidates.
//
// Skipping a rule must neither hide a match nor a run-time error that its
// `when` would have recorded, so the operand used is one before which every
// operand of the chain is a comparison that cannot fail (event, source,
// header("X") against a constant); when PATH itself fails, every rule of its
// group stays a candidate.
type ruleIndex struct {
	paths  []*pathGroup
	always []*Rule // rules that cannot be narrowed
	order  map[*Rule]int
}

type pathGroup struct {
	prog     *vm.Program
	usesBody bool
	rules    map[string][]*Rule
}

func buildIndex(rules []*Rule) *ruleIndex {
	ix := &ruleIndex{order: make(map[*Rule]int, len(rules))}
	groups := map[string]*pathGroup{}
	for i, r := range rules {
		ix.order[r] = i
		path, value, ok := indexKey(r.WhenSrc)
		if !ok {
			ix.always = append(ix.always, r)
			continue
		}
		g := groups[path]
		if g == nil {
			p, err := expr.Compile(path, envOpts(Env{})...)
			if err != nil {
				ix.always = append(ix.always, r)
				continue
			}
			g = &pathGroup{prog: p, usesBody: usesName(path, "body"), rules: map[string][]*Rule{}}
			groups[path] = g
			ix.paths = append(ix.paths, g)
		}
		g.rules[value] = append(g.rules[value], r)
	}
	return ix
}

// indexKey picks, in a chain of &&, the last `PATH == "string"` operand
// that only operands that cannot fail precede: the most specific one.
func indexKey(src string) (path, value string, ok bool) {
	if src == "" {
		return "", "", false
	}
	tree, err := parser.Parse(src)
	if err != nil {
		return "", "", false
	}
	var chain []ast.Node
	var flatten func(n ast.Node)
	flatten = func(n ast.Node) {
		if b, isBin := n.(*ast.BinaryNode); isBin && (b.Operator == "&&" || b.Operator == "and") {
			flatten(b.Left)
			flatten(b.Right)
			return
		}
		chain = append(chain, n)
	}
	flatten(tree.Node)
	for _, n := range chain {
		if p, v, isEq := equality(n); isEq && isPath(p) {
			path, value, ok = p.String(), v, true
		}
		if !cannotFail(n) {
			break
		}
	}
	return path, value, ok
}

// equality matches `X == "string"` either way round.
func equality(n ast.Node) (ast.Node, string, bool) {
	b, isBin := n.(*ast.BinaryNode)
	if !isBin || b.Operator != "==" {
		return nil, "", false
	}
	l, r := b.Left, b.Right
	if _, isStr := l.(*ast.StringNode); isStr {
		l, r = r, l
	}
	s, isStr := r.(*ast.StringNode)
	if !isStr {
		return nil, "", false
	}
	return l, s.Value, true
}

// stringFields are the environment's strings: reading them cannot fail.
var stringFields = map[string]bool{"source": true, "event": true, "id": true, "method": true, "path": true, "remote_addr": true, "raw": true}

// cannotFail reports whether n is `SAFE == const` or `SAFE != const`, where
// SAFE reads a string field, header("X"), or headers/query["x"].
func cannotFail(n ast.Node) bool {
	b, isBin := n.(*ast.BinaryNode)
	if !isBin || (b.Operator != "==" && b.Operator != "!=") {
		return false
	}
	l, r := b.Left, b.Right
	if _, isStr := l.(*ast.StringNode); isStr {
		l, r = r, l
	}
	if _, isStr := r.(*ast.StringNode); !isStr {
		return false
	}
	switch x := l.(type) {
	case *ast.IdentifierNode:
		return stringFields[x.Value]
	case *ast.MemberNode:
		id, ok := x.Node.(*ast.IdentifierNode)
		_, key := x.Property.(*ast.StringNode)
		return ok && key && (id.Value == "headers" || id.Value == "query")
	case *ast.CallNode:
		return isPath(x)
	}
	return false
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

// usesName reports whether an expression reads the variable name (e.g.
// body), so that intake parses a body only when something reads it.
func usesName(src, name string) bool {
	if src == "" {
		return false
	}
	tree, err := parser.Parse(src)
	if err != nil {
		return true
	}
	return ast.Find(tree.Node, func(n ast.Node) bool {
		id, ok := n.(*ast.IdentifierNode)
		return ok && id.Value == name
	}) != nil
}

// candidates returns the rules whose `when` may be true for env, in load
// order.
func (ix *ruleIndex) candidates(env *Env, all []*Rule, needBody func()) []*Rule {
	if len(ix.paths) == 0 {
		return all
	}
	out := append([]*Rule(nil), ix.always...)
	for _, g := range ix.paths {
		if g.usesBody && needBody != nil {
			needBody()
		}
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
// run each rule's Match. needBody, when not nil, is called before anything
// reads env.Body, so that the caller can parse the body only then.
func (s *Source) Candidates(env *Env, needBody func()) []*Rule {
	if s.index == nil {
		return s.Rules
	}
	return s.index.candidates(env, s.Rules, needBody)
}

// bodylessGuard joins with && the operands at the head of when's && chain
// that cannot fail (comparisons of event, headers, query and other
// strings, never body): when they are false, `when` is false whatever the
// body holds. Nil when there are none.
func bodylessGuard(src string) *vm.Program {
	tree, err := parser.Parse(src)
	if src == "" || err != nil {
		return nil
	}
	var head []string
	var walk func(n ast.Node) bool // false: stop at the first other operand
	walk = func(n ast.Node) bool {
		if b, isBin := n.(*ast.BinaryNode); isBin && (b.Operator == "&&" || b.Operator == "and") {
			return walk(b.Left) && walk(b.Right)
		}
		if !cannotFail(n) {
			return false
		}
		head = append(head, "("+n.String()+")")
		return true
	}
	walk(tree.Node)
	if len(head) == 0 {
		return nil
	}
	p, err := expr.Compile(strings.Join(head, " && "), envOpts(Env{}, expr.AsBool())...)
	if err != nil {
		return nil
	}
	return p
}

// CannotMatch reports whether the rule's `when` is false whatever the
// body holds, from the comparisons at its head that do not read it. With
// the queue full, intake refuses only the events that may match, without
// parsing a body to know.
func (r *Rule) CannotMatch(env *Env) bool {
	if r.guard == nil {
		return false
	}
	v, err := runExpr(r.guard, env)
	return err == nil && v == false
}
