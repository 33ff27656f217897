package rules

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"hookd/verify"
)

// minSecretLen is the length from which a secret is redacted from output
// and an inherited variable holding it is kept out of actions'
// environments: shorter ones would redact ordinary words. A shorter
// secret is warned of where the configuration gives it (shortSecret).
const minSecretLen = 4

// secretForms returns the forms of a secret that output may carry: as it
// is, upper-cased and lower-cased (upper() and lower() in a template or a
// `when` explanation, an http.method's suggestion). Nil when sec is too
// short to redact.
func secretForms(sec string) []string {
	if len(sec) < minSecretLen {
		return nil
	}
	forms := []string{sec}
	for _, f := range []string{strings.ToUpper(sec), strings.ToLower(sec)} {
		if f != sec && (len(forms) < 2 || f != forms[1]) {
			forms = append(forms, f)
		}
	}
	return forms
}

// IsSecret reports whether v holds one of the configuration's secrets, in
// any of the forms Redactor hides.
func (s *Set) IsSecret(v string) bool {
	for _, sec := range s.Secrets {
		for _, f := range secretForms(sec) {
			if strings.Contains(v, f) {
				return true
			}
		}
	}
	return false
}

// Redactor returns a replacer that hides the configuration's secrets, as
// they are and upper- or lower-cased.
func (s *Set) Redactor() *strings.Replacer {
	var pairs []string
	for _, sec := range s.Secrets {
		for _, f := range secretForms(sec) {
			pairs = append(pairs, f, "[redacted]")
		}
	}
	return strings.NewReplacer(pairs...)
}

// SecretFinder returns what finds the configuration's secrets in what a
// sender sent, to keep them out of the recorded request.
func (s *Set) SecretFinder() *verify.Secrets { return verify.NewSecrets(s.Secrets, minSecretLen) }

// redactDiags hides the configuration's secrets in messages, which may
// quote a value (a command path built from a variable). A message whose
// detail derives from a value that holds a secret (an expression's
// compile error, which can quote fragments of it) is replaced by its
// withheld form.
func redactDiags(diags []Diag, set *Set) {
	r := set.Redactor()
	for i := range diags {
		if d := &diags[i]; d.withheld != "" && set.IsSecret(d.quoted) {
			d.Msg = d.withheld
		}
		diags[i].Msg = r.Replace(diags[i].Msg)
	}
}

// warnShortSecrets warns of each verify secret too short to redact, at
// nodes (value node: its field), where the file gives it.
func (d *decoder) warnShortSecrets(nodes map[*yaml.Node]string) {
	for n, field := range nodes {
		if n.Kind == yaml.ScalarNode && n.Value != "" && len(n.Value) < minSecretLen {
			w := shortSecret(d.file, n.Line, n.Column, field)
			w.quoted = n.Value
			*d.diags = append(*d.diags, w)
		}
	}
}

// dedupShortSecrets keeps the first warning of each short secret: a
// ${SECRET_NAME} given as a verify.secret is warned of once.
func dedupShortSecrets(diags []Diag) []Diag {
	seen := map[string]bool{}
	out := diags[:0]
	for _, d := range diags {
		if d.Warning && d.withheld == "" && d.quoted != "" {
			if seen[d.quoted] {
				continue
			}
			seen[d.quoted] = true
		}
		out = append(out, d)
	}
	return out
}

// shortSecret warns of a secret too short to be redacted: hookd would
// show it in clear wherever it appears. what names it (a variable, a
// file reference, a field); the value itself is never quoted.
func shortSecret(file string, line, col int, what string) Diag {
	return Diag{File: file, Line: line, Col: col, Warning: true, Msg: fmt.Sprintf(
		"%s is shorter than %d characters, too short to redact: hookd shows it in clear in logs, errors, "+
			"stored events and the dashboard; use a longer secret", what, minSecretLen)}
}
