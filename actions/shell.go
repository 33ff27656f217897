package actions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// Shell runs a process without a shell (Argv) or a script through
// /bin/sh -c (Script). The process runs in its own process group so that a
// timeout or shutdown kills everything it started. On Linux the process
// itself (not what it started) is killed when hookd dies, even by SIGKILL.
type Shell struct {
	Argv   []string
	Script string
	Dir    string
	Env    []string // the complete environment, "K=V"
	// KeepStdout keeps stdout alone in Result.Answer (respond.wait). It
	// then travels through a pipe of its own, apart from stderr, so the
	// order of their lines in Output is only as close as the reads were.
	KeepStdout bool
	// WaitDelay bounds how long output pipes are drained after the process
	// is killed (a grandchild may hold them open).
	WaitDelay time.Duration
}

// Run starts the process, feeds it the body on stdin, and waits for it or for
// ctx. Output (stdout and stderr interleaved) keeps its last MaxOutput bytes.
func (s *Shell) Run(ctx context.Context, in *Input) (Result, error) {
	argv, err := s.argv()
	if err != nil {
		return Result{Exit: -1}, err
	}
	if err := checkDir(s.Dir); err != nil {
		return Result{Exit: -1}, err
	}
	cmd, out, stdout := s.command(argv)
	var body []byte
	var stdin io.WriteCloser
	if in != nil {
		body = in.Body
		if in.BodyFile != "" {
			if f, err := os.Open(in.BodyFile); err == nil {
				cmd.Stdin = f // the child gets the file itself as fd 0
				defer f.Close()
			}
		}
	}
	if cmd.Stdin == nil {
		if stdin, err = cmd.StdinPipe(); err != nil {
			return Result{Exit: -1}, err
		}
	}
	done := make(chan error, 1)
	if err := startLocked(cmd, done); err != nil {
		err = fmt.Errorf("shell: %w", err)
		if startIsPermanent(err) {
			err = Permanent(err)
		}
		return Result{Exit: -1}, err
	}
	if stdin != nil {
		// Feed stdin in the background: a process that never reads it
		// must not block us, and a closed pipe (EPIPE) is not the
		// process's failure.
		go func() {
			_, _ = stdin.Write(body)
			_ = stdin.Close()
		}()
	}

	werr, killed := waitOrKill(ctx, cmd, done)
	res := Result{Exit: -1, Output: out.bytes()}
	if stdout != nil && stdout.buf.Len() <= MaxOutput {
		res.Answer = stdout.buf.Bytes()
	}
	if cmd.ProcessState != nil && cmd.ProcessState.Exited() {
		res.Exit = cmd.ProcessState.ExitCode()
	}
	return res, runError(ctx, res, killed, werr)
}

// argv is what to run, refused (for good) when there is nothing, or when
// an argument or variable holds a NUL byte, which exec cannot pass.
func (s *Shell) argv() ([]string, error) {
	var argv []string
	switch {
	case s.Script != "":
		argv = []string{"/bin/sh", "-c", s.Script}
	case len(s.Argv) > 0:
		argv = s.Argv
	default:
		return nil, Permanent(errors.New("shell: nothing to run"))
	}
	for _, kv := range s.Env {
		for i := 0; i < len(kv); i++ {
			if kv[i] == 0 {
				return nil, Permanent(fmt.Errorf("shell: environment variable %.40q contains a NUL byte", name(kv)))
			}
		}
	}
	for i, a := range argv {
		for j := 0; j < len(a); j++ {
			if a[j] == 0 {
				return nil, Permanent(fmt.Errorf("shell: argument %d contains a NUL byte", i))
			}
		}
	}
	return argv, nil
}

// command prepares argv with the Shell's directory and environment, its
// output into a tail (and stdout alone into a capped buffer when kept),
// and procAttr's process group and parent-death signal.
func (s *Shell) command(argv []string) (*exec.Cmd, *lockedTail, *capped) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = s.Dir
	cmd.Env = s.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	out := &lockedTail{t: newTail(MaxOutput)}
	cmd.Stdout, cmd.Stderr = out, out // one pipe: lines keep their order
	var stdout *capped
	if s.KeepStdout {
		stdout = &capped{buf: new(bytes.Buffer), max: MaxOutput}
		cmd.Stdout = io.MultiWriter(out, stdout)
	}
	cmd.SysProcAttr = procAttr()
	cmd.WaitDelay = s.WaitDelay
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = 5 * time.Second
	}
	return cmd, out, stdout
}

// waitOrKill waits for the started cmd (its Wait error arrives on done),
// killing its process group if ctx ends first (killed).
func waitOrKill(ctx context.Context, cmd *exec.Cmd, done <-chan error) (werr error, killed bool) {
	select {
	case werr = <-done:
	case <-ctx.Done():
		select {
		case werr = <-done: // it finished as ctx ended: not a timeout
		default:
			killed = true
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			werr = <-done
		}
	}
	// Whatever the leader did, nothing it started outlives the attempt.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	return werr, killed
}

// runError is the error of a finished run, nil when it succeeded.
func runError(ctx context.Context, res Result, killed bool, werr error) error {
	switch {
	case killed:
		// ctx.Err stays reachable so the engine can tell a shutdown from a
		// timeout.
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return msgError{"shell: timed out; process group killed", ctx.Err()}
		}
		return msgError{"shell: stopped; process group killed", ctx.Err()}
	case werr != nil:
		var ee *exec.ExitError
		if errors.As(werr, &ee) {
			if res.Exit >= 0 {
				return fmt.Errorf("shell: exit status %d", res.Exit)
			}
			return fmt.Errorf("shell: %s", ee.ProcessState.String())
		}
		if errors.Is(werr, exec.ErrWaitDelay) && res.Exit == 0 {
			return nil
		}
		return fmt.Errorf("shell: %w", werr)
	}
	return nil
}

// checkDir fails when dir is not a directory that exists, naming it: exec
// would blame the program ("fork/exec /usr/bin/pwd: no such file or
// directory") for a missing working directory.
func checkDir(dir string) error {
	if dir == "" {
		return nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		err = fmt.Errorf("shell: dir %s: %w", dir, err)
		if startIsPermanent(err) {
			err = Permanent(err)
		}
		return err
	}
	if !st.IsDir() {
		return Permanent(fmt.Errorf("shell: dir %s: %w", dir, syscall.ENOTDIR))
	}
	return nil
}

// name is the variable name of a "K=V" entry, never any of the value
// (an entry may lack its "=").
func name(kv string) string {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' || kv[i] == 0 {
			return kv[:i]
		}
	}
	return kv
}

// startIsPermanent reports whether a failure to start is a configuration
// error (no such program or directory, not executable) rather than a
// passing shortage of processes, memory or descriptors.
func startIsPermanent(err error) bool {
	if errors.Is(err, exec.ErrNotFound) {
		return true
	}
	for _, e := range []syscall.Errno{syscall.ENOENT, syscall.EACCES, syscall.EPERM, syscall.ENOEXEC,
		syscall.ENOTDIR, syscall.EISDIR, syscall.EINVAL, syscall.ELOOP, syscall.ENAMETOOLONG} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

type lockedTail struct {
	mu sync.Mutex
	t  *tail
}

func (l *lockedTail) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.t.Write(p)
}

func (l *lockedTail) bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]byte(nil), l.t.Bytes()...)
}

// startLocked starts cmd and waits for it on a goroutine locked to its OS
// thread from the start until the wait ends, then sends Wait's error on
// done. The parent-death signal (procAttr) fires when the thread that
// forked the child exits, and the Go runtime ends a thread when a
// goroutine locked to it returns: a thread never locked, or unlocked
// while the child runs, could be ended under it by someone else's locked
// goroutine, killing a healthy action.
func startLocked(cmd *exec.Cmd, done chan<- error) error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		done <- cmd.Wait()
	}()
	return <-started
}
