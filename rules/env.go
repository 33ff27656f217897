package rules

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
	"go.yaml.in/yaml/v3"
)

// Env is the environment of `when`, `id`, `event`, `key` and action
// templates (SPEC section 3).
type Env struct {
	Source     string              `expr:"source"`
	Event      string              `expr:"event"`
	ID         string              `expr:"id"`
	Headers    map[string]string   `expr:"headers"`
	Header     func(string) string `expr:"header"`
	Body       any                 `expr:"body"`
	Raw        string              `expr:"raw"`
	Query      map[string]string   `expr:"query"`
	Method     string              `expr:"method"`
	Path       string              `expr:"path"`
	RemoteAddr string              `expr:"remote_addr"`
	ReceivedAt time.Time           `expr:"received_at"`
	EventID    uint64              `expr:"event_id"` // hookd's id, for `hookd show`
	// BodyErr says why Body is nil when the body could not be read: a
	// rule that reads body fails with it (SPEC section 3).
	BodyErr error `expr:"-"`
}

// FailureEnv is the environment of on_failure actions.
type FailureEnv struct {
	Env
	Error   string `expr:"error"`
	Rule    string `expr:"rule"`
	Attempt int    `expr:"attempt"`
	Output  string `expr:"output"` // the tail of the failed attempt's output
}

// Bind sets the header() function over Headers, whose keys must already be
// lower-cased, and returns e.
func (e *Env) Bind() *Env {
	hs := e.Headers
	e.Header = func(name string) string { return hs[strings.ToLower(name)] }
	return e
}

func compileOpts(failure bool) []expr.Option {
	if failure {
		return envOpts(FailureEnv{})
	}
	return envOpts(Env{})
}

// failureOnly reports an error about a name only on_failure actions see.
func failureOnly(msg string) bool {
	switch msg {
	case "unknown name error", "unknown name rule", "unknown name attempt", "unknown name output":
		return true
	}
	return false
}

// compileExpr compiles one expression, reporting errors at the place of the
// node that holds it.
func (d *decoder) compileExpr(n *yaml.Node, src string, offset int, failure bool, opts ...expr.Option) *vm.Program {
	all := append(compileOpts(failure), opts...)
	p, err := expr.Compile(src, all...)
	if err != nil {
		line, col := d.exprPos(n, src, offset, err)
		msg := err.Error()
		if fe, ok := err.(*file.Error); ok {
			msg = fe.Message
		}
		if !failure && failureOnly(msg) {
			msg += " (error, rule, attempt and output exist only in on_failure actions)"
		}
		// expr's message can quote fragments of the source (`unknown name
		// tok` for tok-SECRET), which no redaction of the whole secret hides.
		*d.diags = append(*d.diags, Diag{File: d.file, Line: line, Col: col,
			Msg:    fmt.Sprintf("expression %s: %s", quoteExpr(clip(src)), msg),
			quoted: src, withheld: "expression holds a secret, so the detail of its error is withheld: check its syntax and names"})
		return nil
	}
	return p
}

// quoteExpr quotes an expression for a message in backquotes, as it was
// written, so that its own quotes (event == "push") are not escaped, once
// in the message and again by a log's quoting; with %q when it holds a
// backquote or a control character.
func quoteExpr(src string) string {
	if strings.ContainsFunc(src, func(r rune) bool { return r == '`' || unicode.IsControl(r) }) {
		return strconv.Quote(src)
	}
	return "`" + src + "`"
}

// exprPos maps an expr error position inside a scalar to the file: src
// is the expression, found at byte offset of the scalar's value.
func (d *decoder) exprPos(n *yaml.Node, src string, offset int, err error) (int, int) {
	line, col := n.Line, n.Column
	fe, ok := err.(*file.Error)
	if !ok {
		return line, col
	}
	if at, ok := runeOffset(src, fe.From); ok && n.Value != "" {
		if l, c, ok := scalarPos(d.text, d.refs, n, offset+at); ok {
			return l, c
		}
	}
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		return line + fe.Line, n.Column + 2 + fe.Column
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		col++
	}
	if fe.Line <= 1 {
		return line, col + offset + fe.Column
	}
	return line + fe.Line - 1, fe.Column + 1
}

// runeOffset is the byte offset of the rune at index k of s.
func runeOffset(s string, k int) (int, bool) {
	if k < 0 {
		return 0, false
	}
	i := 0
	for ; k > 0 && i < len(s); k-- {
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
	}
	return i, k == 0
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

// Stringify renders a template value: strings as they are, nil as "", other
// values as JSON.
func Stringify(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	case time.Time:
		return x.Format(time.RFC3339Nano), nil
	case fmt.Stringer:
		return x.String(), nil
	}
	// As the sender wrote it: `<`, `>` and `&` stay, where json.Marshal
	// would write \u003c for an HTML page, not for a script or a message.
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}
