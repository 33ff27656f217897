package rules

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// fileRef reads the value of ${file:PATH} or ${credential:NAME} (body is
// what stands between the braces). It returns ok=false when body is
// neither, to be read as a variable. A value read from a file is a secret.
// A relative path is relative to the directory of the file that names it,
// as command and dir paths are; a credential is a file of the directory
// systemd passes in CREDENTIALS_DIRECTORY (LoadCredential=,
// LoadCredentialEncrypted=).
func fileRef(body, base string, lookup func(string) (string, bool)) (r ref, ok bool) {
	kind, arg, found := strings.Cut(body, ":")
	if !found || (kind != "file" && kind != "credential") {
		return ref{}, false
	}
	r.secret = true
	var path string
	switch kind {
	case "file":
		if arg == "" {
			r.err = "a file reference needs a path: ${file:/path/to/secret}"
			return r, true
		}
		path = arg
		if !filepath.IsAbs(path) {
			path = filepath.Join(base, path)
		}
	case "credential":
		if arg == "" || arg == "." || arg == ".." || strings.ContainsRune(arg, '/') {
			r.err = fmt.Sprintf("credential %q: a credential is a name, as in LoadCredential=NAME:PATH", arg)
			return r, true
		}
		dir, _ := lookup("CREDENTIALS_DIRECTORY")
		if dir == "" {
			r.err = fmt.Sprintf("credential %s: CREDENTIALS_DIRECTORY is not set (systemd sets it for a unit with LoadCredential=%s:PATH or LoadCredentialEncrypted=%s:PATH; or use ${file:PATH})", arg, arg, arg)
			return r, true
		}
		path = filepath.Join(dir, arg)
	}
	pre := ""
	if kind == "credential" {
		pre = "credential " + arg + ": "
	}
	r.value, r.err = readSecretFile(pre, path)
	return r, true
}

// readSecretFile reads a secret's file, trimming one trailing newline (the
// one an editor or `echo` leaves). Errors start with pre and never quote
// the reference as written: that text stands in for the value.
func readSecretFile(pre, path string) (string, string) {
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Sprintf("%ssecret file %s does not exist", pre, path)
	case err != nil:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", fmt.Sprintf("%scannot read secret file %s: %v", pre, path, err)
	}
	v := strings.TrimSuffix(string(b), "\n")
	v = strings.TrimSuffix(v, "\r")
	if v == "" {
		return "", fmt.Sprintf("%ssecret file %s is empty", pre, path)
	}
	return v, ""
}

// FileRefs lists the paths the ${file:PATH} references of src name,
// resolved as a load resolves them (a relative path against the directory
// of file), whether or not they can be read: the files a watcher must
// watch so that a secret rotated, or its permissions fixed, reloads.
// ${credential:NAME} is not listed: systemd sets those up at start only.
func FileRefs(file string, src []byte) []string {
	var out []string
	s := string(src)
	for i := 0; i+1 < len(s); i++ {
		switch {
		case s[i] != '$':
			continue
		case s[i+1] == '$':
			i++ // $$ is a literal $
			continue
		case s[i+1] != '{':
			continue
		}
		rest := s[i+2:]
		end := strings.IndexAny(rest, "}\n")
		if end < 0 || rest[end] != '}' {
			continue
		}
		if kind, arg, ok := strings.Cut(rest[:end], ":"); ok && kind == "file" && arg != "" {
			if !filepath.IsAbs(arg) {
				arg = filepath.Join(filepath.Dir(file), arg)
			}
			out = append(out, filepath.Clean(arg))
		}
	}
	return out
}
