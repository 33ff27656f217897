package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// FuzzLoad feeds random YAML to the loader: it must return a Set or
// errors, never panic, and every error must say where it is.
func FuzzLoad(f *testing.F) {
	f.Add("sources:\n  gh:\n    verify: {provider: github, secret: s3cret}\nrules:\n  - name: r\n    source: gh\n    when: body.ref == \"x\"\n    actions:\n      - shell: {command: [echo, \"{{ body.after }}\"]}\n")
	f.Add("sources: {a: {verify: {provider: none}}}\nrules: [{name: r, source: a, actions: [{http: {url: \"http://x/{{ id }}\", json: {a: \"{{ body }}\"}}}]}]\n")
	f.Add("rules:\n  - &a {name: x}\n  - *a\n")
	f.Add("a: &a [*a]\n")
	f.Add("sources:\n  s:\n    verify: {provider: hmac, secret: \"${X:-d}\", header: X-Sig}\n")
	f.Add("\t- {\n")
	f.Add("rules: [{name: r, source: s, when: '{{', retry: {attempts: -1, backoff: 1y}}]\n")
	f.Fuzz(func(t *testing.T, src string) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		lookup := func(string) (string, bool) { return "v", true }
		set, err := Load(dir, DefaultRuleDefaults, lookup)
		if err != nil {
			errs, ok := err.(Errors)
			if !ok {
				t.Fatalf("error is %T, not Errors: %v", err, err)
			}
			for _, d := range errs {
				if d.File == "" || d.Msg == "" {
					t.Fatalf("diagnostic without file or message: %+v", d)
				}
			}
			return
		}
		if set == nil {
			t.Fatal("nil set and nil error")
		}
	})
}

// FuzzTemplate compiles random templates and renders them against a fixed
// environment: compile errors are fine, panics are not.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{
		"plain", "{{ body.after }}", "{{ body.a.b[0] }}-{{ id }}", "{{ raw[:7] }}", "{{", "}}{{ 1/0 }}",
		"{{ header(\"X-A\") + source }}", "{{ body.n * 2 }}", "{{ toJSON(body) }}", "{{ repeat(raw, 1000000000) }}",
		"{{ body.list | map(# + 1) }}", "{{ received_at.Unix() }}", "{{ {} }}", "{{ 'a' }}{{ 'b' }}",
	} {
		f.Add(s)
	}
	env := (&Env{Source: "gh", Event: "push", ID: "d1", Headers: map[string]string{"x-a": "1"},
		Body: map[string]any{"after": "4f2a9c1", "n": 3, "a": map[string]any{"b": []any{"x"}}, "list": []any{1, 2.5, "s"}},
		Raw:  `{"after":"4f2a9c1"}`, Query: map[string]string{"q": "1"}, Method: "POST", Path: "/hooks/gh",
		RemoteAddr: "127.0.0.1", ReceivedAt: time.Unix(1700000000, 0)}).Bind()
	f.Fuzz(func(t *testing.T, src string) {
		if strings.Contains(src, "repeat") {
			t.Skip("repeat can allocate without bound by design of the input")
		}
		var diags []Diag
		d := &decoder{file: "f.yaml", diags: &diags, ex: &expansion{}}
		tpl := d.templateOf(&yaml.Node{Line: 1, Column: 1}, src, false)
		if tpl == nil {
			if len(diags) == 0 {
				t.Fatal("template refused without a diagnostic")
			}
			return
		}
		_, _ = tpl.Render(env)
		_, _ = tpl.Value(env)
	})
}
