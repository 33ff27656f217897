package engine

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"hookd/rules"
)

// bodyFilePrefix names the files HOOKD_BODY_FILE points at.
const bodyFilePrefix = "hookd-body-"

// bodyDir is where body files live: under the data directory, private to
// hookd, rather than in a shared /tmp where a killed daemon leaves them
// for everyone to read. The path is absolute, as HOOKD_BODY_FILE must be
// for an action whose dir is not hookd's (a relative -data otherwise).
func bodyDir(dataDir string) string {
	dir := filepath.Join(dataDir, "tmp")
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

// prepareBodyDir creates dir (mode 0700) and removes the body files a
// daemon that was killed left behind: no action runs yet, so none is in use.
// It refuses a directory others may read, and removes only its own files.
func prepareBodyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("body file directory: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("body file directory: %w", err)
	}
	if !fi.IsDir() || fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("body file directory %s must be a directory of mode 0700 (it is %v)", dir, fi.Mode())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("body file directory: %w", err)
	}
	for _, en := range entries {
		if strings.HasPrefix(en.Name(), bodyFilePrefix) {
			_ = os.Remove(filepath.Join(dir, en.Name()))
		}
	}
	return nil
}

// writeBodyFile writes the raw body where a process can read it
// (HOOKD_BODY_FILE), for rules that run processes.
func writeBodyFile(dir string, body []byte, rule *rules.Rule, log *slog.Logger) (string, func()) {
	shell := false
	for _, list := range [][]*rules.Action{rule.Actions, rule.OnFailure} {
		for _, a := range list {
			shell = shell || a.Kind == "shell"
		}
	}
	if !shell {
		return "", func() {}
	}
	f, err := os.CreateTemp(dir, bodyFilePrefix+"*")
	if err == nil {
		_, err = f.Write(body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			return f.Name(), func() { os.Remove(f.Name()) }
		}
		os.Remove(f.Name())
	}
	log.Warn("cannot write the body file; HOOKD_BODY_FILE is empty for this attempt", "error", err)
	return "", func() {}
}
