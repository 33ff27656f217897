package engine

import (
	"path/filepath"
	"testing"
)

// A live edit with a YAML syntax error is logged where the mistake is, as
// check reports it, not at the block around it.
func TestReloadLogsSyntaxErrorAtTheMistake(t *testing.T) {
	te, rd := startWithExtra(t)
	bad := sourceFile("b") + `rules:
  - name: deploy-b
    source: b
    when: "event == 'push'
    actions:
      - shell: {command: [/bin/true, "{{ id }}"]}
`
	writeFile(t, filepath.Join(rd, "extra.yaml"), bad)
	te.waitLog(filepath.Join(rd, "extra.yaml") + `:7:11: this quoted string is not closed on its line; it runs on to line 9`)
	if ok, _ := te.LastReload(); ok {
		t.Fatal("LastReload reports success after a syntax error")
	}
	te.waitCode("/hooks/a", 200)
}
