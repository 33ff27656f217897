package rules

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Misnamed is the warning for a name that is only nearly a rule file's.
const Misnamed = "not loaded: only names ending in .yaml or .yml, in lower case, are rule files"

// IsMisnamed reports whether name is nearly a rule file's: deploy.YAML.
func IsMisnamed(name string) bool {
	ext := filepath.Ext(name)
	return ext != ".yaml" && ext != ".yml" && !strings.HasPrefix(name, ".") &&
		(strings.EqualFold(ext, ".yaml") || strings.EqualFold(ext, ".yml"))
}

// ruleFiles lists the rule files of dir, sorted. Hidden files (editor swap
// files, Kubernetes' ..data) are skipped; symlinks are followed. A *.yaml
// entry that cannot be read as a file is an error rather than a rule file
// quietly missing; a name that is only nearly a rule file (deploy.YAML) is
// a warning.
func ruleFiles(dir string, diags *[]Diag) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("rules directory does not exist (create it, or pass -rules DIR)")
		}
		if st, serr := os.Stat(dir); serr == nil && !st.IsDir() {
			return nil, fmt.Errorf("is a file, not the rules directory: -rules and rules_dir name the directory of rule files (hookd check FILE checks one file)")
		}
		return nil, err
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		p := filepath.Join(dir, name)
		ext := filepath.Ext(name)
		if ext != ".yaml" && ext != ".yml" {
			if strings.EqualFold(ext, ".yaml") || strings.EqualFold(ext, ".yml") {
				*diags = append(*diags, Diag{File: p, Warning: true, Msg: Misnamed})
			}
			continue
		}
		st, err := os.Stat(p)
		switch {
		case err != nil:
			*diags = append(*diags, Diag{File: p, Msg: "cannot read this rule file: " + err.Error()})
		case st.IsDir():
			*diags = append(*diags, Diag{File: p, Warning: true, Msg: "not loaded: a directory, not a rule file (rules are not read from subdirectories)"})
		case !st.Mode().IsRegular():
			*diags = append(*diags, Diag{File: p, Msg: "not a regular file: rule files must be files"})
		default:
			files = append(files, p)
		}
	}
	sort.Strings(files)
	return files, nil
}
