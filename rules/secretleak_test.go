package rules_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hookd/rules"
)

const leakSecret = "tok-SUPERSECRET-123"

// loadLeak loads one rules file (with a file sec holding fileSecret
// beside it) and returns every message of the load, errors and warnings.
func loadLeak(t *testing.T, yaml string, env map[string]string) (string, *rules.Set) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sec"), []byte("FileSecret-abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := "sources:\n  gh:\n    verify: {provider: github, secret: \"${GH_SECRET}\"}\nrules:\n" + yaml
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := rules.Load(dir, rules.DefaultRuleDefaults, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	var b strings.Builder
	if err != nil {
		b.WriteString(err.Error())
	}
	if set != nil {
		for _, w := range set.Warnings {
			b.WriteString("\n" + w.String() + "\n" + w.Quote())
		}
	}
	return b.String(), set
}

// A secret that the loader transforms (upper-cases, splits into an
// expression's names) never reaches a message, in any case or in pieces;
// the message still says where.
func TestLoadErrorsKeepTransformedSecrets(t *testing.T) {
	env := map[string]string{"API_TOKEN": leakSecret, "GH_SECRET": "ghsecret-0123"}
	fragments := []string{"tok", "SUPERSECRET", "supersecret", "FileSecret", "FILESECRET", "filesecret", "abcdef"}
	for _, tc := range []struct{ name, rule, at string }{
		{"method from a variable", `      - http: {url: "http://127.0.0.1:1/", method: "${API_TOKEN}"}`, "r.yaml:8:52: http.method holds a secret"},
		{"method from a file", `      - http: {url: "http://127.0.0.1:1/", method: "${file:sec}"}`, "r.yaml:8:52: http.method holds a secret"},
		{"method with a secret inside", `      - http: {url: "http://127.0.0.1:1/", method: "x${API_TOKEN}"}`, "r.yaml:8:52: http.method holds a secret"},
		{"when is a secret", "      - shell: {command: [echo]}\n    when: ${API_TOKEN}", "r.yaml:9:11: expression holds a secret, so the detail"},
		{"when compares badly", "      - shell: {command: [echo]}\n    when: query.key = \"${API_TOKEN}\"", "r.yaml:9:"},
		{"template", `      - shell: {command: [echo, "{{ ${API_TOKEN} }}"]}`, "r.yaml:8:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _ := loadLeak(t, "  - name: r\n    source: gh\n    actions:\n"+tc.rule+"\n", env)
			if !strings.Contains(out, tc.at) {
				t.Errorf("want %q in:\n%s", tc.at, out)
			}
			for _, f := range fragments {
				if strings.Contains(out, f) {
					t.Errorf("%q shown:\n%s", f, out)
				}
			}
		})
	}
}

// The redactor hides a secret upper- and lower-cased too (upper() in a
// template, an explanation of `when`), and IsSecret sees those forms.
func TestRedactorHidesCaseForms(t *testing.T) {
	set := &rules.Set{Secrets: []string{leakSecret, "abc"}}
	r := set.Redactor()
	for _, in := range []string{leakSecret, strings.ToUpper(leakSecret), strings.ToLower(leakSecret)} {
		if got := r.Replace(`upper(query.key) is "` + in + `"`); got != `upper(query.key) is "[redacted]"` {
			t.Errorf("%s shown as %s", in, got)
		}
		if !set.IsSecret("x" + in) {
			t.Errorf("IsSecret(%s) false", in)
		}
	}
}

// A secret too short to redact is warned of where it is given, once, and
// never quoted.
func TestShortSecretsWarned(t *testing.T) {
	env := map[string]string{"GH_SECRET": "abc", "SHORT_KEY": "xy", "LONG_KEY": "long-enough"}
	out, set := loadLeak(t, `  - name: r
    source: gh
    when: query.k == "${SHORT_KEY}" && query.l == "${LONG_KEY}" && query.m == "${SHORT_KEY}"
    actions:
      - shell: {command: [echo, "${file:sec}"]}
`, env)
	if set == nil {
		t.Fatalf("load failed: %s", out)
	}
	for _, want := range []string{
		"r.yaml:3:40: warning: verify.secret is shorter than 4 characters, too short to redact",
		"r.yaml:7:23: warning: secret SHORT_KEY is shorter than 4 characters",
	} {
		if strings.Count(out, want) != 1 {
			t.Errorf("want %q once in:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "too short"); n != 2 {
		t.Errorf("%d warnings, want 2:\n%s", n, out)
	}
	if strings.Contains(out, `"abc"`) || strings.Contains(out, `"xy"`) {
		t.Errorf("short secret quoted:\n%s", out)
	}
}

// A template that fails at run time is quoted by the part that failed,
// whole: a quote clipped inside a secret written in the template would
// keep a piece of it that redaction, matching whole secrets, misses.
func TestTemplateErrorsNeverClipASecret(t *testing.T) {
	env := map[string]string{"API_TOKEN": leakSecret, "GH_SECRET": "ghsecret-0123"}
	long := "https://example.com/" + strings.Repeat("a", 24) + "?api_key=${API_TOKEN}&x={{ body.a.b }}"
	out, set := loadLeak(t, "  - name: r\n    source: gh\n    actions:\n      - shell: {command: [echo, \""+long+"\", \"{{ body.a.b + \\\""+"${API_TOKEN}"+"\\\" }}\"]}\n", env)
	if set == nil {
		t.Fatal(out)
	}
	for i, body := range []any{[]any{1}, map[string]any{"a": map[string]any{"b": 1}}} {
		_, err := set.Rules["r"].Actions[0].Build(&rules.Call{Env: (&rules.Env{Body: body}).Bind()})
		if err == nil {
			t.Fatalf("case %d: no error", i)
		}
		msg := set.Redactor().Replace(err.Error())
		if strings.Contains(msg, "tok-") || !strings.Contains(msg, "template {{") {
			t.Errorf("case %d: %s", i, msg)
		}
	}
}

// An http URL's password is a secret even when templates complete the URL,
// and the rule's brief (the dashboard's rules page) hides it as `hookd
// test` does, before any redaction.
func TestURLPasswordIsASecret(t *testing.T) {
	env := map[string]string{"GH_SECRET": "ghsecret-0123"}
	out, set := loadLeak(t, `  - name: r
    source: gh
    actions:
      - http: {url: "http://user:pw%2DSECRET@127.0.0.1:1/x?a={{ body.a }}"}
      - http: {url: "https://bot:static-pw-9@example.com/"}
`, env)
	if set == nil {
		t.Fatal(out)
	}
	for _, s := range []string{"pw-SECRET", "pw%2DSECRET", "static-pw-9"} {
		if !set.IsSecret(s) {
			t.Errorf("%s is not a secret (%q)", s, set.Secrets)
		}
	}
	acts := set.Rules["r"].Actions
	for i, want := range []string{"http POST http://user:[redacted]@127.0.0.1:1/x?a={{ body.a }}", "http POST https://bot:[redacted]@example.com/"} {
		if got := acts[i].Brief(); got != want {
			t.Errorf("brief %q, want %q", got, want)
		}
	}
}
