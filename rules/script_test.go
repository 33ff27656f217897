package rules_test

import (
	"slices"
	"testing"

	"hookd/actions"
	"hookd/rules"
)

// Inside a shell script hookd expands nothing: the shell sees its own
// ${...} and $$, whatever hookd's environment holds; env: values beside it
// are expanded.
func TestScriptLeftToShell(t *testing.T) {
	env := map[string]string{"DEPLOY_USER": "from-hookd", "TOKEN": "tok-123456"}
	for _, tc := range []struct {
		name, actions, script string
		wantEnv               string
	}{
		{"block", "      - shell:\n          script: |\n            echo \"${DEPLOY_USER:-deploy}\" $$ ${1} ${#x}\n          env: {U: \"${DEPLOY_USER}\"}\n",
			"echo \"${DEPLOY_USER:-deploy}\" $$ ${1} ${#x}\n", "U=from-hookd"},
		{"flow, double quoted", "      - {shell: {script: \"echo ${TOKEN} $$\", env: {T: \"${TOKEN:-x}\"}}}\n",
			"echo ${TOKEN} $$", "T=tok-123456"},
		{"on an unset variable", "      - shell: {script: 'echo ${NOT_SET}', env: {D: \"${NOT_SET:-dflt}\", L: \"$$5\"}}\n",
			"echo ${NOT_SET}", "D=dflt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, _, err := load(t, tc.actions, env)
			if err != nil {
				t.Fatal(err)
			}
			a, err := set.Rules["r"].Actions[0].Build(&rules.Call{Env: testEnv})
			if err != nil {
				t.Fatal(err)
			}
			sh := a.(*actions.Shell)
			if sh.Script != tc.script {
				t.Errorf("script = %q, want %q", sh.Script, tc.script)
			}
			if !slices.Contains(sh.Env, tc.wantEnv) {
				t.Errorf("env = %q, want it to hold %q", sh.Env, tc.wantEnv)
			}
		})
	}
}
