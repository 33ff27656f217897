// Package browsertest finds the browser the dashboard's tests drive.
package browsertest

import (
	"os"
	"os/exec"
	"testing"
)

// Chromium returns the path of Debian's chromium (.ci/run installs it),
// or skips t, saying so, when it is not installed.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	t.Skip("SKIPPED: the browser test needs Debian's chromium (apt-get install -y chromium)")
	return ""
}
