package rules

import (
	"fmt"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// Match runs the rule's `when` against env; no `when` matches everything.
// A run-time error is an error, and no match; so is a body that could not
// be read, for a rule whose `when` or `key` reads body.
func (r *Rule) Match(env *Env) (bool, error) {
	if r.When == nil {
		return true, nil
	}
	if r.UsesBody && env.BodyErr != nil {
		return false, env.BodyErr
	}
	v, err := Eval(r.When, env)
	if err != nil {
		return false, err
	}
	b, _ := v.(bool)
	return b, nil
}

// Explain says which part of the rule's `when` was false for env, for
// `hookd test`: the first false operand of &&, every operand of ||, the
// values compared. It is for people; nothing depends on its wording.
func (r *Rule) Explain(env *Env) []string {
	if r.WhenSrc == "" {
		return nil
	}
	tree, err := parser.Parse(r.WhenSrc)
	if err != nil {
		return []string{fmt.Sprintf("%s was false", r.WhenSrc)}
	}
	return explainFalse(tree.Node, env, "")
}

func explainFalse(n ast.Node, env *Env, indent string) []string {
	switch x := n.(type) {
	case *ast.BinaryNode:
		switch x.Operator {
		case "&&", "and":
			if v, err := evalNode(x.Left, env); err == nil && v != true {
				return explainFalse(x.Left, env, indent)
			}
			return explainFalse(x.Right, env, indent)
		case "||", "or":
			out := []string{fmt.Sprintf("%s`%s` was false: each part was false:", indent, x)}
			for _, op := range orOperands(x) {
				out = append(out, explainFalse(op, env, indent+"  ")...)
			}
			return out
		case "==", "!=", "<", ">", "<=", ">=", "in", "not in", "matches", "contains", "startsWith", "endsWith":
			msg := fmt.Sprintf("%s`%s` was false: %s is %s", indent, x, x.Left, show(x.Left, env))
			if !literal(x.Right) {
				msg += fmt.Sprintf(", %s is %s", x.Right, show(x.Right, env))
			}
			return []string{msg}
		}
	case *ast.UnaryNode:
		if x.Operator == "!" || x.Operator == "not" {
			return []string{fmt.Sprintf("%s`%s` was false: %s is %s", indent, x, x.Node, show(x.Node, env))}
		}
	}
	v, err := evalNode(n, env)
	if err != nil {
		return []string{fmt.Sprintf("%s`%s` failed: %s", indent, n, err)}
	}
	return []string{fmt.Sprintf("%s`%s` was %s", indent, n, jsonText(v))}
}

// orOperands flattens a || b || c.
func orOperands(n ast.Node) []ast.Node {
	if b, ok := n.(*ast.BinaryNode); ok && (b.Operator == "||" || b.Operator == "or") {
		return append(orOperands(b.Left), orOperands(b.Right)...)
	}
	return []ast.Node{n}
}

func literal(n ast.Node) bool {
	switch n.(type) {
	case *ast.StringNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.NilNode:
		return true
	}
	return false
}

// evalNode compiles one sub-expression on its own and runs it.
func evalNode(n ast.Node, env *Env) (any, error) {
	p, err := expr.Compile(n.String(), envOpts(Env{})...)
	if err != nil {
		return nil, err
	}
	return Eval(p, env)
}

func show(n ast.Node, env *Env) string {
	v, err := evalNode(n, env)
	if err != nil {
		return "an error (" + err.Error() + ")"
	}
	return jsonText(v)
}

// jsonText shows a value as JSON for people: <, > and & as they are (the
// page that shows it escapes for HTML), not as json.Marshal's \u003c.
func jsonText(v any) string {
	if v == nil {
		return "nil"
	}
	b, err := marshalJSON(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
