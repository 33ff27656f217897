package rules

import (
	"strings"
	"testing"

	"github.com/expr-lang/expr"

	"hookd/internal/jsonval"
)

// A run-time failure names the value the expression met and its type,
// never expr's internals (int(string), bool(string), interface
// conversion).
func TestRunTimeErrorsSayWhatWasMet(t *testing.T) {
	for _, tc := range []struct {
		src, body string
		asBool    bool
		want      string
	}{
		{`event == "push" && body.ref == "refs/heads/main"`, `[1,2]`, true, "body is a list, not an object: body.ref cannot be read"},
		{`body.deleted`, `{"deleted":"no"}`, true, `body.deleted is "no", a string, not a bool`},
		{`body.deleted && true`, `{"deleted":1}`, true, `body.deleted is 1, a number, not a bool`},
		{`!body.x`, `{"x":"s"}`, true, `body.x is "s", a string, not a bool`},
		{`body.a.b.c + 1`, `{"a":"str"}`, false, `body.a is "str", a string, not an object: body.a.b cannot be read`},
		{`body.a.b == 1`, `{}`, true, `body.a is null (absent, or null in the body): body.a.b cannot be read (body.a?.b reads it as null)`},
		{`body[0] == 1`, `{"x":1}`, true, `body is an object, not a list: body[0] cannot be read`},
		{`body.x[0] == 1`, `{"x":5}`, true, `body.x is 5, a number, not a list: body.x[0] cannot be read`},
		{`body.x > 1`, `{"x":"s"}`, true, "`body.x > 1` cannot be computed: body.x is \"s\", a string"},
		{`lower(body.x) == "a"`, `{"x":5}`, true, "`lower(body.x)` cannot be computed: body.x is 5, a number"},
		{`body.n > 5`, `{"n":12345678901234567890}`, true, "body.n is 12345678901234567890, a whole number beyond int64: `body.n > 5` cannot use it; compare it as text: string(body.n) == \"12345678901234567890\""},
		// The right of a false && is not run: its error is not blamed.
		{`body.x != nil && body.x.y == 1 || body.z.w == 2`, `{"z":[]}`, true, "body.z is a list, not an object: body.z.w cannot be read"},
		{`body.ok ? body.a.b : body.c.d`, `{"ok":true,"a":[],"c":"x"}`, false, "body.a is a list, not an object: body.a.b cannot be read"},
		{`body.ok ? body.a.b : body.c.d`, `{"ok":false,"a":[],"c":"x"}`, false, `body.c is "x", a string, not an object: body.c.d cannot be read`},
	} {
		t.Run(tc.src+" "+tc.body, func(t *testing.T) {
			var more []expr.Option
			if tc.asBool {
				more = append(more, expr.AsBool())
			}
			p, err := expr.Compile(tc.src, envOpts(Env{}, more...)...)
			if err != nil {
				t.Fatal(err)
			}
			body, err := jsonval.Parse([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Eval(p, (&Env{Event: "push", Body: body}).Bind())
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error\n got %v\nwant %s", err, tc.want)
			}
			for _, internal := range []string{"int(", "bool(", "interface conversion", "reflect"} {
				if strings.Contains(err.Error(), internal) {
					t.Fatalf("expr's internals in %q", err)
				}
			}
		})
	}
}
