// Package actions runs one attempt of one action: a process, an HTTP call, a
// Slack post. Templates are rendered before an action is built, and retries
// live in the engine, so each kind here is a small self-contained unit.
package actions

import (
	"context"
	"errors"
	"time"
)

// MaxOutput bounds what an attempt keeps of a process's output or a
// response body: the last MaxOutput bytes.
const MaxOutput = 64 << 10

// Input is what every attempt receives from the engine.
type Input struct {
	// Body is the raw request body: a process's stdin.
	Body []byte
	// BodyFile, when set, is a file holding Body: a process then reads it
	// as its stdin directly, which spares a pipe and a goroutine feeding
	// it. If it cannot be opened, Body goes through a pipe.
	BodyFile string
}

// Result describes one finished attempt, successful or not.
type Result struct {
	Exit   int    // a process's exit status; -1 when it did not exit by itself
	Status int    // an HTTP answer's status code, 0 when there was none
	Output []byte // the bounded tail of output or response body
	// Answer is what a sender may be answered with (respond.wait): a
	// process's stdout alone, an HTTP answer's body; nil when it was
	// longer than MaxOutput or cut short.
	Answer     []byte
	RetryAfter time.Duration // a wait the server asked for (Retry-After), 0 when none
}

// Action is one attempt of one configured action, already rendered.
type Action interface {
	// Run performs the attempt. A nil error is success. Wrap an error with
	// Permanent when trying again cannot help (an HTTP 400, say).
	Run(ctx context.Context, in *Input) (Result, error)
}

type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks err as a failure that retrying cannot fix.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

// tail is an io.Writer keeping the last max bytes written to it.
type tail struct {
	buf       []byte
	max       int
	truncated bool
}

func newTail(max int) *tail { return &tail{max: max} }

func (t *tail) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.max {
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		t.truncated = true
		return n, nil
	}
	if over := len(t.buf) + len(p) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.truncated = true
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

func (t *tail) Bytes() []byte { return t.buf }

// msgError is an error whose text is msg and whose cause is err, for
// messages that must not repeat the cause's own text.
type msgError struct {
	msg string
	err error
}

func (e msgError) Error() string { return e.msg }
func (e msgError) Unwrap() error { return e.err }
