package rules

import (
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// scriptAt is one shell script of the configuration.
type scriptAt struct {
	file   string
	node   *yaml.Node
	action *shellAction
}

// checkScripts warns of a script that reads a variable hookd does not give
// it: one that is set in hookd's environment (or expanded in the
// configuration, a default included) but is neither inherited (Inherited),
// nor HOOKD_*, nor in the action's env:, nor assigned by the script itself.
// The script would read nothing. A name only the script knows is not
// warned of: hookd cannot tell it from a typo.
func checkScripts(scripts []scriptAt, values map[string]string, lookup func(string) (string, bool), diags *[]Diag) {
	for _, sc := range scripts {
		seen := map[string]bool{}
		for _, name := range scriptVars(sc.node.Value) {
			if seen[name] || sc.action.env[name] != nil || Inherited(name) || shellOwn[name] || strings.HasPrefix(name, "HOOKD_") {
				continue
			}
			seen[name] = true
			_, set := lookup(name)
			if _, used := values[name]; !set && !used || assigns(sc.node.Value, name) {
				continue
			}
			*diags = append(*diags, Diag{File: sc.file, Line: sc.node.Line, Col: sc.node.Column, Warning: true,
				Msg: fmt.Sprintf("shell.script reads $%s, which hookd does not pass to actions: pass it with env: {%s: \"${%s}\"}", name, name, name)})
		}
	}
}

// shellOwn are the variables /bin/sh sets itself.
var shellOwn = map[string]bool{"PWD": true, "OLDPWD": true, "PPID": true, "IFS": true, "OPTIND": true, "OPTARG": true,
	"PS1": true, "PS2": true, "PS4": true, "LINENO": true}

// assigns reports whether a script gives name a value itself: NAME=, for NAME,
// read ... NAME, export/local/readonly NAME.
func assigns(script, name string) bool {
	q := regexp.QuoteMeta(name)
	return regexp.MustCompile(`(^|[\s;&|(])` + q + `=|\bfor\s+` + q + `\b|\bread\b[^;\n]*\s` + q + `\b|\b(export|local|readonly)\s+` + q + `\b`).MatchString(script)
}

// scriptVars lists the variables a shell script reads as $NAME or ${NAME...}.
func scriptVars(s string) []string {
	var out []string
	for i := 0; i+1 < len(s); i++ {
		if s[i] != '$' {
			continue
		}
		if s[i+1] == '$' {
			i++
			continue
		}
		j := i + 1
		if s[j] == '{' {
			j++
		}
		k := j
		for k < len(s) && (s[k] == '_' || s[k] >= 'A' && s[k] <= 'Z' || s[k] >= 'a' && s[k] <= 'z' || k > j && s[k] >= '0' && s[k] <= '9') {
			k++
		}
		if k > j {
			out = append(out, s[j:k])
		}
		i = k - 1
	}
	return out
}

// warnDefaultSecrets warns, loudly, of a verify secret that is the default
// written in the rules file because its variable is unset or empty: anyone
// who has read the file (or the README it came from) can sign requests.
func (d *decoder) warnDefaultSecrets(nodes map[*yaml.Node]string) {
	for n, field := range nodes {
		for _, r := range d.defaulted[n] {
			*d.diags = append(*d.diags, Diag{File: d.file, Line: r.line, Col: r.col, Warning: true,
				Msg: fmt.Sprintf("%s is the default written in this file, because %s is unset or empty: "+
					"anyone who has read the file can sign requests; set %s in hookd's environment", field, r.name, r.name)})
		}
	}
}
