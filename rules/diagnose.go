package rules

import (
	"fmt"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"

	"hookd/internal/jsonval"
)

// diagnosis says, in the operator's words, why an expression failed at
// run time, where expr's own message names its internals: `invalid
// operation: int(string)` for body.ref on a body that is a list, or
// `bool(string)` for a string where a bool is needed. It re-runs the
// parts of the expression in the order expr runs them and names the first
// one given a value of the wrong shape; "" when it finds none.
func diagnosis(p *vm.Program, env any) string {
	if p == nil || p.Node() == nil {
		return ""
	}
	dg := &diagnoser{env: env, vals: map[ast.Node]evalResult{}}
	if d := dg.node(p.Node()); d != "" {
		return d
	}
	// The whole ran on its own: only `when`'s bool was missing (expr says
	// bool(string)).
	if v, err := dg.eval(p.Node()); err == nil {
		if _, ok := v.(bool); !ok {
			return dg.notBool(p.Node(), v)
		}
	}
	return ""
}

type evalResult struct {
	v   any
	err error
}

type diagnoser struct {
	env  any
	vals map[ast.Node]evalResult
}

// eval runs one part of the expression on its own.
func (dg *diagnoser) eval(n ast.Node) (any, error) {
	if r, ok := dg.vals[n]; ok {
		return r.v, r.err
	}
	opts := envOpts(Env{})
	if _, ok := dg.env.(*FailureEnv); ok {
		opts = envOpts(FailureEnv{})
	}
	var r evalResult
	if p, err := expr.Compile(n.String(), opts...); err != nil {
		r.err = err
	} else {
		r.v, r.err = runRaw(p, dg.env)
	}
	dg.vals[n] = r
	return r.v, r.err
}

// node diagnoses n after its operands, skipping those expr does not run
// (the right of a false &&, the branch not taken).
func (dg *diagnoser) node(n ast.Node) string {
	switch x := n.(type) {
	case *ast.BinaryNode:
		switch x.Operator {
		case "&&", "and", "||", "or":
			if d := dg.operand(x.Left, true); d != "" {
				return d
			}
			l, err := dg.eval(x.Left)
			if err != nil || l == (x.Operator == "||" || x.Operator == "or") {
				return ""
			}
			return dg.operand(x.Right, true)
		case "??":
			if d := dg.node(x.Left); d != "" {
				return d
			}
			if l, err := dg.eval(x.Left); err != nil || l != nil {
				return ""
			}
			return dg.node(x.Right)
		}
		return dg.after(n, x.Left, x.Right)
	case *ast.UnaryNode:
		if x.Operator == "!" || x.Operator == "not" {
			return dg.operand(x.Node, true)
		}
		return dg.after(n, x.Node)
	case *ast.ConditionalNode:
		if d := dg.operand(x.Cond, true); d != "" {
			return d
		}
		c, err := dg.eval(x.Cond)
		if err != nil {
			return ""
		}
		if c == true {
			return dg.node(x.Exp1)
		}
		return dg.node(x.Exp2)
	case *ast.MemberNode:
		if d := dg.node(x.Node); d != "" {
			return d
		}
		return dg.member(x)
	case *ast.ChainNode:
		return dg.node(x.Node)
	case *ast.CallNode:
		return dg.after(n, x.Arguments...)
	case *ast.BuiltinNode:
		args := x.Arguments
		for _, a := range args {
			if _, ok := a.(*ast.PredicateNode); ok { // #: not run alone
				args = args[:1]
				break
			}
		}
		return dg.after(n, args...)
	case *ast.SliceNode:
		return dg.after(n, x.Node, x.From, x.To)
	case *ast.ArrayNode:
		return dg.after(n, x.Nodes...)
	}
	return ""
}

// operand diagnoses n; where a bool is needed, a value of another type is
// the diagnosis.
func (dg *diagnoser) operand(n ast.Node, needBool bool) string {
	if d := dg.node(n); d != "" || !needBool {
		return d
	}
	if v, err := dg.eval(n); err == nil {
		if _, ok := v.(bool); !ok {
			return dg.notBool(n, v)
		}
	}
	return ""
}

func (dg *diagnoser) notBool(n ast.Node, v any) string {
	return fmt.Sprintf("%s is %s, not a bool", n, describe(v))
}

// after diagnoses the operands, then n itself when it fails with operands
// that all ran: the values it was given are named.
func (dg *diagnoser) after(n ast.Node, operands ...ast.Node) string {
	for _, o := range operands {
		if o == nil {
			continue
		}
		if d := dg.node(o); d != "" {
			return d
		}
		if _, err := dg.eval(o); err != nil {
			return ""
		}
	}
	if _, err := dg.eval(n); err == nil {
		return ""
	}
	var given []string
	for _, o := range operands {
		if o == nil || literal(o) {
			continue
		}
		v, _ := dg.eval(o)
		if num, ok := v.(jsonval.Number); ok {
			return fmt.Sprintf("%s is %s, a whole number beyond int64: `%s` cannot use it; compare it as text: string(%s) == \"%s\"", o, num, n, o, num)
		}
		given = append(given, fmt.Sprintf("%s is %s", o, describe(v)))
	}
	if len(given) == 0 {
		return ""
	}
	return fmt.Sprintf("`%s` cannot be computed: %s", n, strings.Join(given, "; "))
}

// member diagnoses x.prop and x[i] on a value that has no such member.
func (dg *diagnoser) member(x *ast.MemberNode) string {
	obj, err := dg.eval(x.Node)
	if err != nil {
		return ""
	}
	key, err := dg.eval(x.Property)
	if err != nil {
		return ""
	}
	_, byName := key.(string)
	switch obj.(type) {
	case map[string]any:
		if byName {
			return ""
		}
		return fmt.Sprintf("%s is an object, not a list: %s cannot be read", x.Node, x)
	case []any:
		if !byName {
			return ""
		}
		return fmt.Sprintf("%s is a list, not an object: %s cannot be read", x.Node, x)
	case nil:
		if x.Optional {
			return ""
		}
		if x.Node.String() == "body" && bodyErr(dg.env) != nil { // the reason follows
			return fmt.Sprintf("%s cannot be read: body is nil", x)
		}
		return fmt.Sprintf("%s is null (absent, or null in the body): %s cannot be read (%s?.%s reads it as null)", x.Node, x, x.Node, strings.TrimPrefix(strings.TrimPrefix(x.String(), x.Node.String()), "."))
	case string, bool, int, float64, jsonval.Number:
		what := "an object"
		if !byName {
			what = "a list"
		}
		return fmt.Sprintf("%s is %s, not %s: %s cannot be read", x.Node, describe(obj), what, x)
	}
	return ""
}

// describe shows a value and its type for a message: `"no", a string`.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return clip(jsonText(x)) + ", a string"
	case bool:
		return fmt.Sprint(x) + ", a bool"
	case int, int64, uint64, float64:
		return clip(jsonText(x)) + ", a number"
	case jsonval.Number:
		return string(x) + ", a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	case time.Time:
		return x.Format(time.RFC3339) + ", a time"
	}
	return fmt.Sprintf("a %T", v)
}
