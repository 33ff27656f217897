package rules

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Relative paths of a shell action (command[0] with a slash, dir) resolve
// against the directory of the rules file that declares them, not hookd's
// working directory, which is / under systemd (SPEC section 2); an action
// without dir runs in that directory too.

// baseDir is the absolute directory of the file being decoded.
func (d *decoder) baseDir() string {
	dir := filepath.Dir(d.file)
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

// resolvePath makes a relative path start at base.
func resolvePath(base, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(base, p)
}

// resolveCommand resolves a program path: a bare name is left to PATH.
func resolveCommand(base, name string) string {
	if !strings.Contains(name, "/") {
		return name
	}
	return resolvePath(base, name)
}

// checkCommand checks a program that is not templated: one that does not
// exist or cannot run is an error; a bare name not in PATH is a warning,
// as the daemon's PATH may differ from check's.
func (d *decoder) checkCommand(n *yaml.Node, t *Template, base string) {
	if t == nil || !t.Static() {
		return
	}
	name := t.Source()
	if name == "" {
		d.errf(n, "shell.command[0] is empty: it names the program to run")
		return
	}
	if !strings.Contains(name, "/") {
		if _, err := exec.LookPath(name); err != nil {
			hint := ""
			if _, err := os.Stat(filepath.Join(base, name)); err == nil {
				hint = fmt.Sprintf(" (for the file beside the rules file, write ./%s)", name)
			}
			d.warnf(n, "shell.command: %s is not found in PATH now; the action fails unless it is in hookd's PATH when it runs%s", name, hint)
		}
		return
	}
	p := resolvePath(base, name)
	where := ""
	if !filepath.IsAbs(name) {
		where = " (a relative command starts at the rules file's directory)"
	}
	st, err := os.Stat(p)
	switch {
	case os.IsNotExist(err):
		d.errf(n, "shell.command: %s does not exist%s", p, where)
	case err != nil:
		d.errf(n, "shell.command: %v", err)
	case st.IsDir():
		d.errf(n, "shell.command: %s is a directory, not a program", p)
	case st.Mode()&0o111 == 0:
		d.errf(n, "shell.command: %s is not executable (chmod +x it)", p)
	}
}

// checkDir checks a dir that is not templated. One that does not exist is
// a warning, not an error: a deploy may create it, or an earlier action of
// the rule (a git clone); the action fails if it is still missing then.
func (d *decoder) checkDir(n *yaml.Node, t *Template, base string) {
	if t == nil || !t.Static() || t.Source() == "" {
		return
	}
	p := resolvePath(base, t.Source())
	st, err := os.Stat(p)
	switch {
	case os.IsNotExist(err):
		d.warnf(n, "shell.dir: %s does not exist now; the action fails unless it exists when it runs", p)
	case err != nil:
		d.warnf(n, "shell.dir: %v", err)
	case !st.IsDir():
		d.errf(n, "shell.dir: %s is not a directory", p)
	}
}
