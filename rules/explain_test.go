package rules

import (
	"strings"
	"testing"
)

// Explain shows the values it saw as they were sent: <, > and & too, not
// json.Marshal's \u003c, \u003e and \u0026.
func TestExplainShowsValuesAsSent(t *testing.T) {
	body := map[string]any{"ref": "refs/heads/a&b<c>", "commits": []any{map[string]any{"message": "Merge A & B"}}, "n": 3}
	env := (&Env{Event: "push", Body: body}).Bind()
	for _, c := range []struct{ when, want string }{
		{`body.ref == "main"`, "body.ref is \"refs/heads/a&b<c>\""},
		{`body.commits[0] == nil`, `body.commits[0] is {"message":"Merge A & B"}`},
		{`event == "push" && body.ref startsWith "<x>"`, `body.ref is "refs/heads/a&b<c>"`},
		{`body.n > 3`, "body.n is 3"},
	} {
		t.Run(c.when, func(t *testing.T) {
			got := strings.Join((&Rule{WhenSrc: c.when}).Explain(env), "\n")
			if !strings.Contains(got, c.want) || strings.Contains(got, `\u00`) {
				t.Fatalf("Explain(%s) = %q, want %q in it", c.when, got, c.want)
			}
		})
	}
}
