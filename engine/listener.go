package engine

import (
	"context"
	"net"
	"sync"
)

// connTracker counts the connections its listener accepted and that are
// not closed yet, so that a shutdown can stop accepting and let them
// finish before http.Server.Shutdown: that drops, unanswered, a request it
// finds read but not yet handled (net/http's conn.serve returns when the
// server is shutting down). With an inherited socket, connections not yet
// accepted wait in the kernel's backlog for the next hookd.
type connTracker struct {
	net.Listener
	wg     sync.WaitGroup
	closed sync.Once
	err    error
}

// Close closes the listener once; the server closes it again.
func (l *connTracker) Close() error {
	l.closed.Do(func() { l.err = l.Listener.Close() })
	return l.err
}

func (l *connTracker) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.wg.Add(1)
	return &trackedConn{Conn: c, done: l.wg.Done}, nil
}

// wait returns once every accepted connection is closed, or ctx is done.
func (l *connTracker) wait(ctx context.Context) {
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

type trackedConn struct {
	net.Conn
	once sync.Once
	done func()
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.done)
	return err
}
