package pgstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"hookd/internal/pgtest"
	"hookd/store"
	"hookd/store/pgstore"
)

// proxy forwards TCP connections to the test server's unix socket. Blocked,
// it drops the connections it forwards (the server went away) and takes
// new ones without ever answering (a host that does not answer).
type proxy struct {
	t      *testing.T
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	off    bool
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.drop() })
	go p.serve()
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns = append(p.conns, c)
		off := p.off
		p.mu.Unlock()
		if off || p.target == "" {
			continue // held, never answered
		}
		s, err := net.Dial("unix", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, s)
		p.mu.Unlock()
		go func() { io.Copy(s, c); s.Close() }()
		go func() { io.Copy(c, s); c.Close() }()
	}
}

func (p *proxy) drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) block() {
	p.mu.Lock()
	p.off = true
	p.mu.Unlock()
	p.drop()
}

func (p *proxy) unblock() {
	p.mu.Lock()
	p.off = false
	p.mu.Unlock()
	p.drop() // the connections held unanswered
}

// proxied returns a URL of the database url names through a proxy, with a
// password (the test server trusts everyone and ignores it).
func proxied(t *testing.T, dbURL, password string) (string, *proxy) {
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, filepath.Join(u.Query().Get("host"), ".s.PGSQL.5432"))
	return "postgres://" + u.User.Username() + ":" + password + "@" + p.addr() + u.Path + "?sslmode=disable", p
}

// within fails the test unless f returns within d.
func within(t *testing.T, d time.Duration, what string, f func() error) error {
	t.Helper()
	start := time.Now()
	err := f()
	took := time.Since(start)
	t.Logf("%s: %v after %v", what, err, took.Round(time.Millisecond))
	if took > d {
		t.Errorf("%s took %v with the database gone, want at most %v", what, took, d)
	}
	return err
}

// With the database gone, every call fails within a bounded time and
// nothing is answered accepted; once it is back, the store works again
// without a restart. The password shows in no error and no log line.
func TestDatabaseGoneAndBack(t *testing.T) {
	const pw = "Sup3rS3cretPW"
	var logs bytes.Buffer
	var logMu sync.Mutex
	u, px := proxied(t, pgtest.URL(t), pw)
	s := open(t, u, pgstore.Options{Timeout: time.Second, Lease: 3 * time.Second,
		Logger: slog.New(slog.NewTextHandler(lockedWriter{&logs, &logMu}, nil))})
	ev := newEvent(t, s, "before")
	if _, err := s.Accept(ev, nil); err != nil {
		t.Fatal(err)
	}
	px.block()
	bound := 3 * time.Second
	var errs []error
	gone := newEvent(t, nil, "gone")
	gone.ID = ev.ID + 1000
	for what, f := range map[string]func() error{
		"accept":     func() error { _, err := s.Accept(gone, nil); return err },
		"record":     func() error { _, err := s.Record(gone); return err },
		"event id":   func() error { _, err := s.NextEventID(); return err },
		"claim":      func() error { _, err := s.ClaimRunnable(1, nil); return err },
		"ping":       func() error { return s.Ping(context.Background()) },
		"show":       func() error { _, _, err := s.EventJobs(ev.ID); return err },
		"list":       func() error { _, _, err := s.ListEvents(store.ListOptions{}); return err },
		"save a job": func() error { return s.SaveJob(&store.Job{ID: 1, State: store.Done}, store.Wait, nil) },
	} {
		err := within(t, bound, what, f)
		if err == nil {
			t.Errorf("%s: no error with the database gone", what)
		}
		errs = append(errs, err)
	}
	if err := within(t, bound, "seen", func() error { s.Seen("github", "before"); return nil }); err != nil {
		t.Error(err)
	}
	px.unblock()
	var err error
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if _, err = s.Accept(newEvent(t, s, "after"), nil); err == nil || errors.Is(err, store.ErrDuplicate) {
			break
		}
	}
	if err != nil {
		t.Fatalf("after the database came back: %v", err)
	}
	if s.Seen("github", "gone") != 0 {
		t.Errorf("an event refused while the database was gone is recorded")
	}
	logMu.Lock()
	defer logMu.Unlock()
	for _, err := range errs {
		if err != nil && strings.Contains(err.Error(), pw) {
			t.Errorf("an error shows the password: %v", err)
		}
	}
	if strings.Contains(logs.String(), pw) {
		t.Errorf("the log shows the password:\n%s", logs.String())
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// newEvent makes an ignored event with delivery id d (an id from s, if
// not nil).
func newEvent(t *testing.T, s *pgstore.Store, d string) *store.Event {
	t.Helper()
	ev := &store.Event{Source: "github", DeliveryID: d, Event: "push", ReceivedAt: time.Now().UTC(), Status: "ignored", Body: []byte(`{}`)}
	if s != nil {
		id, err := s.NextEventID()
		if err != nil {
			t.Fatal(err)
		}
		ev.ID = id
	}
	return ev
}

// When the server ends every connection (a restart), the pool and the
// listener reconnect: writes work again and a write on one process wakes
// the other.
func TestServerRestartReconnects(t *testing.T) {
	u := pgtest.URL(t)
	a, b := open(t, u, pgstore.Options{Timeout: time.Second}), open(t, u, pgstore.Options{Timeout: time.Second})
	if _, err := a.Accept(newEvent(t, a, "r0"), nil); err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(u)
	query(t, strings.Replace(u, pu.Path, "/postgres", 1),
		`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '`+strings.TrimPrefix(pu.Path, "/")+`'`, new(int))
	var err error
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		ev := newEvent(t, nil, "r1")
		if ev.ID, err = b.NextEventID(); err != nil {
			continue
		}
		if _, err = b.Accept(ev, nil); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("after the restart: %v", err)
	}
	time.Sleep(500 * time.Millisecond) // the listener's reconnect
	for i := range 20 {
		drain(a.Wake())
		ev := newEvent(t, b, "w"+string(rune('a'+i)))
		j := &store.Job{EventID: ev.ID, Rule: "deploy", State: store.Queued}
		if j.ID, err = b.NextJobID(); err != nil {
			t.Fatal(err)
		}
		ev.Status, ev.Jobs = "accepted", []uint64{j.ID}
		if _, err := b.Accept(ev, []*store.Job{j}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-a.Wake():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Fatal("the other process's listener never came back")
}

func drain(c <-chan struct{}) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

// When the server ends the pool's idle connections (an administrator, a
// pooler, a restart behind a proxy) while the database stays up, the next
// write succeeds: it is not failed for a connection that was already gone.
func TestIdleConnectionsEndedFirstWriteWorks(t *testing.T) {
	u := pgtest.URL(t)
	a := open(t, u, pgstore.Options{Timeout: time.Second})
	for i := range 3 { // warm the pool's connections
		if _, err := a.Accept(newEvent(t, a, "warm"+string(rune('a'+i))), nil); err != nil {
			t.Fatal(err)
		}
	}
	pu, _ := url.Parse(u)
	var n int
	query(t, strings.Replace(u, pu.Path, "/postgres", 1),
		`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '`+strings.TrimPrefix(pu.Path, "/")+`'`, &n)
	if n == 0 {
		t.Fatal("no session ended")
	}
	time.Sleep(100 * time.Millisecond) // the server closes the sockets
	ev := newEvent(t, nil, "after")
	var err error
	if ev.ID, err = a.NextEventID(); err != nil {
		t.Fatalf("first id after the sessions ended: %v", err)
	}
	if _, err := a.Accept(ev, nil); err != nil {
		t.Fatalf("first write after the sessions ended: %v", err)
	}
}
