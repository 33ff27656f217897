package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Quote shows the line under the message with a caret under the column,
// and nothing when the place does not fit the line.
func TestDiagQuote(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    Diag
		want string
	}{
		{"caret under the column", Diag{Line: 30, Col: 11, Text: `    when: "event == 'push'`},
			"   30 |     when: \"event == 'push'\n      |           ^"},
		{"tabs stay tabs", Diag{Line: 4, Col: 3, Text: "\t\tx: 1"}, "    4 | \t\tx: 1\n      | \t\t^"},
		{"wide runes count once", Diag{Line: 2, Col: 7, Text: "a: \"é€\" :"}, "    2 | a: \"é€\" :\n      |       ^"},
		{"just past the end", Diag{Line: 1, Col: 5, Text: "abcd"}, "    1 | abcd\n      |     ^"},
		{"beyond the line", Diag{Line: 1, Col: 9, Text: "abcd"}, ""},
		{"no line", Diag{Msg: "cannot read"}, ""},
		{"no column", Diag{Line: 3, Text: "x"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.d.Quote(); got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// A quote never carries a secret: a line that holds a known secret, or
// may hold one by its key or the key of its block, is not quoted.
func TestQuoteKeepsSecretsOut(t *testing.T) {
	src := `sources:
  gh:
    verify: {provider: github, secret: hunter2, colour: blue}
  st:
    verify:
      provider: stripe
      secrets:
        - whsec_old
        - whsec_new
      colour: blue
rules:
  - name: r
    source: gh
    when: event = "push"
    actions:
      - slack: {url: "https://hooks.example/T0/B0/X0", text: hi}
      - shell: {command: [echo, "p4ssw0rd-known"], timeout: soon}
`
	for _, tc := range []struct {
		line   int
		quoted bool
	}{
		{3, false},  // secret: in the line
		{8, false},  // an item of secrets:
		{10, true},  // beside secrets:, not under it
		{14, true},  // a plain rule line
		{16, false}, // a URL
		{17, false}, // holds a secret known by value
	} {
		diags := []Diag{{File: "r.yaml", Line: tc.line, Col: 1, Msg: "m"}}
		quoteSource(diags, "r.yaml", []byte(src), []string{"p4ssw0rd-known"})
		if got := diags[0].Text != ""; got != tc.quoted {
			t.Errorf("line %d quoted: %v, want %v (%q)", tc.line, got, tc.quoted, diags[0].Text)
		}
	}
}

// Through the loader: neither a decode error nor a syntax error on a line
// with a literal secret quotes that line.
func TestLoadQuotesNoSecret(t *testing.T) {
	for _, src := range []string{
		"sources:\n  gh:\n    verify: {provider: github, secret: hunter2, colour: blue}\n",
		"sources:\n  gh:\n    verify: {provider: github, secret: \"hunter2}\n",
		"sources:\n  gh:\n    verify:\n      provider: basic\n      username: u\n      password: 'hunter2\n",
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(dir, DefaultRuleDefaults, testLookup)
		errs, ok := err.(Errors)
		if !ok || len(errs) == 0 {
			t.Fatalf("no load error for %q: %v", src, err)
		}
		for _, d := range errs {
			if q := d.Quote(); strings.Contains(q, "hunter2") || d.Line == 0 {
				t.Errorf("%s\n%s", d, q)
			}
		}
	}
}
