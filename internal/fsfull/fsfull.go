// Package fsfull makes a test's process unable to grow files past a size,
// as a full disk would: RLIMIT_FSIZE makes such writes fail with EFBIG
// (SIGXFSZ ignored, so they fail rather than kill the process).
package fsfull

import (
	"os/signal"
	"syscall"
	"testing"
)

// Limit lets files of the process (and of the children it starts) grow to
// at most size bytes, until the returned function is called or the test
// ends.
func Limit(t testing.TB, size uint64) (restore func()) {
	t.Helper()
	signal.Ignore(syscall.SIGXFSZ)
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	lim := syscall.Rlimit{Cur: size, Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	restored := false
	restore = func() {
		if !restored {
			restored = true
			_ = syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old)
			signal.Reset(syscall.SIGXFSZ)
		}
	}
	t.Cleanup(restore)
	return restore
}
