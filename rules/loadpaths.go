package rules

import (
	"os"
	"path/filepath"
	"strings"
)

// noSources warns about a configuration that can run nothing: without a
// source every webhook is answered 404, without a rule recorded as ignored.
func noSources(where string, set *Set) []Diag {
	switch {
	case len(set.Sources) == 0:
		return []Diag{{File: where, Warning: true, Msg: "no sources: every webhook is answered 404 until a rules file declares one"}}
	case len(set.Rules) == 0:
		return []Diag{{File: where, Warning: true, Msg: "no rules: every webhook is recorded as ignored and nothing runs"}}
	}
	return nil
}

// LoadPaths loads rules directories and rules files together as one
// configuration, as if they were one rules directory: names must be unique
// across them. A directory is read as Load reads one; a file is loaded
// whatever its name, except hookd's own configuration file.
func LoadPaths(paths []string, def Defaults, lookup func(string) (string, bool)) (*Set, error) {
	var diags []Diag
	var files []string
	seen := map[string]bool{}
	add := func(f string) {
		abs, err := filepath.Abs(f)
		if err != nil {
			abs = f
		}
		if !seen[abs] {
			seen[abs] = true
			files = append(files, f)
		}
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		switch {
		case err != nil:
			diags = append(diags, Diag{File: p, Msg: "cannot read: " + strings.TrimPrefix(err.Error(), "stat "+p+": ")})
		case st.IsDir():
			fs, err := ruleFiles(p, &diags)
			if err != nil {
				diags = append(diags, Diag{File: p, Msg: err.Error()})
			}
			for _, f := range fs {
				add(f)
			}
		case isConfigFile(p):
			diags = append(diags, Diag{File: p, Msg: "this is hookd's configuration file, not a rules file: pass it with -config " + p})
		default:
			add(p)
		}
	}
	return loadFiles(strings.Join(paths, ", "), files, diags, def, lookup)
}

func isConfigFile(p string) bool {
	base := filepath.Base(p)
	return base == "hookd.yaml" || base == "hookd.yml"
}
