package rules_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"hookd/rules"
)

// A variable whose name says it holds a secret (as Django's debug pages
// decide) is one wherever it is used, a `when` included; others are not.
func TestVariablesNamedAsSecrets(t *testing.T) {
	env := map[string]string{"DEPLOY_KEY": "k-0123456789", "GITHUB_TOKEN": "t-0123456789", "db_password": "p-0123456789",
		"REPO": "octo/app", "EVENT": "push"}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(`
sources:
  s:
    verify: {provider: none}
rules:
  - name: r
    source: s
    when: query.key == "${DEPLOY_KEY}" && body.repo == "${REPO}" && event == "${EVENT}"
    actions:
      - shell: {command: [echo, "${GITHUB_TOKEN}", "${db_password}"]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := rules.Load(dir, rules.DefaultRuleDefaults, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range env {
		secret := name != "REPO" && name != "EVENT"
		if slices.Contains(set.Secrets, v) != secret {
			t.Errorf("%s: secret %v, want %v (secrets %q)", name, !secret, secret, set.Secrets)
		}
	}
	if got := set.Redactor().Replace(set.Rules["r"].WhenSrc); got != `query.key == "[redacted]" && body.repo == "octo/app" && event == "push"` {
		t.Errorf("when shown as %s", got)
	}
}
