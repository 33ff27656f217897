package rules

import (
	"os"
	"testing"
)

// Every file in examples/ loads together, as the quick start serves them,
// with no environment set: examples never rot.
func TestExamplesLoad(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	set, err := Load("../examples", DefaultRuleDefaults, noEnv)
	if err != nil {
		t.Fatalf("examples do not load:\n%v", err)
	}
	entries, _ := os.ReadDir("../examples")
	yamls := 0
	for _, e := range entries {
		if n := e.Name(); len(n) > 5 && (n[len(n)-5:] == ".yaml" || n[len(n)-4:] == ".yml") {
			yamls++
		}
	}
	if len(set.Files) != yamls || yamls == 0 {
		t.Fatalf("loaded %d files, examples/ has %d", len(set.Files), yamls)
	}
	if len(set.Rules) == 0 {
		t.Fatal("examples define no rules")
	}
}
