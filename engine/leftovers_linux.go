package engine

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// killLeftovers kills the processes that actions of an earlier hookd on
// this data directory left running when it was killed (SIGKILL, the OOM
// killer): a script's background commands outlive it, since only each
// action's own process dies with hookd (Pdeathsig), and would run beside
// the attempt that runs again. They are known by the HOOKD_BODY_FILE their
// action gave them, which names this data directory's body file
// directory: while the database's lock is held, no other hookd runs
// actions with it, so no process of anyone else is touched (a pid may be
// reused; an environment naming this directory is not). It returns how
// many it killed. Under systemd (KillMode=mixed) there are none left.
func killLeftovers(bodyDir string) int {
	mark := []byte("HOOKD_BODY_FILE=" + bodyDir + string(filepath.Separator))
	self := os.Getpid()
	killed := 0
	for pass := 0; pass < 2; pass++ { // a leftover may fork while the first pass runs
		paths, _ := filepath.Glob("/proc/[0-9]*/environ")
		for _, p := range paths {
			pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			if err != nil || pid == self {
				continue
			}
			env, err := os.ReadFile(p) // another user's: unreadable, not ours
			if err != nil || !hasEnvEntry(env, mark) {
				continue
			}
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				killed++
			}
		}
	}
	return killed
}

// hasEnvEntry reports whether env, /proc's NUL-separated environment,
// holds an entry that starts with prefix.
func hasEnvEntry(env, prefix []byte) bool {
	for len(env) > 0 {
		entry, rest, _ := bytes.Cut(env, []byte{0})
		if bytes.HasPrefix(entry, prefix) {
			return true
		}
		env = rest
	}
	return false
}
