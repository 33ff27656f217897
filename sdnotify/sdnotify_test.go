package sdnotify

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// listen opens a unixgram socket standing in for systemd's notify socket,
// points NOTIFY_SOCKET at it and returns a function reading one datagram.
func listen(t *testing.T, abstract bool) func() string {
	t.Helper()
	var name string
	if abstract {
		name = fmt.Sprintf("@hookd-sdnotify-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	} else {
		name = filepath.Join(t.TempDir(), "notify.sock")
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listen %s: %v", name, err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", name)
	return func() string {
		t.Helper()
		buf := make([]byte, 4096)
		if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("reading notify socket: %v", err)
		}
		return string(buf[:n])
	}
}

func TestMessages(t *testing.T) {
	for _, abstract := range []bool{false, true} {
		t.Run(fmt.Sprintf("abstract=%v", abstract), func(t *testing.T) {
			recv := listen(t, abstract)
			cases := []struct {
				send func() (bool, error)
				want string
			}{
				{Ready, "READY=1"},
				{Stopping, "STOPPING=1"},
				{func() (bool, error) { return Status("loaded 3 rules") }, "STATUS=loaded 3 rules"},
				{func() (bool, error) { return Status("bad\nREADY=1") }, "STATUS=bad READY=1"},
				{func() (bool, error) { return Notify("STATUS=x\nERRNO=2") }, "STATUS=x\nERRNO=2"},
			}
			for _, c := range cases {
				sent, err := c.send()
				if err != nil || !sent {
					t.Fatalf("send %q: sent=%v err=%v", c.want, sent, err)
				}
				if got := recv(); got != c.want {
					t.Errorf("got %q, want %q", got, c.want)
				}
			}
		})
	}
}

func TestReloadingCarriesMonotonicTime(t *testing.T) {
	recv := listen(t, false)
	before, err := monotonicUsec()
	if err != nil {
		t.Fatal(err)
	}
	if sent, err := Reloading(); err != nil || !sent {
		t.Fatalf("Reloading: sent=%v err=%v", sent, err)
	}
	after, err := monotonicUsec()
	if err != nil {
		t.Fatal(err)
	}
	msg := recv()
	lines := strings.Split(msg, "\n")
	if len(lines) != 2 || lines[0] != "RELOADING=1" || !strings.HasPrefix(lines[1], "MONOTONIC_USEC=") {
		t.Fatalf("message %q, want RELOADING=1 and MONOTONIC_USEC=<n> on two lines", msg)
	}
	usec, err := strconv.ParseInt(strings.TrimPrefix(lines[1], "MONOTONIC_USEC="), 10, 64)
	if err != nil {
		t.Fatalf("MONOTONIC_USEC in %q: %v", msg, err)
	}
	if usec < before || usec > after {
		t.Errorf("MONOTONIC_USEC=%d not within [%d, %d]", usec, before, after)
	}
}

// TestMonotonicIsMicroseconds guards against a unit mistake (ns or ms
// instead of µs) in MONOTONIC_USEC.
func TestMonotonicIsMicroseconds(t *testing.T) {
	a, err := monotonicUsec()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	b, err := monotonicUsec()
	if err != nil {
		t.Fatal(err)
	}
	if d := b - a; d < 45_000 || d > 5_000_000 {
		t.Errorf("50ms sleep advanced MONOTONIC_USEC by %d, want about 50000", d)
	}
}

func TestUnsetSocketIsNoop(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	os.Unsetenv("NOTIFY_SOCKET")
	for name, f := range map[string]func() (bool, error){
		"Ready": Ready, "Stopping": Stopping, "Reloading": Reloading,
		"Status": func() (bool, error) { return Status("x") },
	} {
		if sent, err := f(); sent || err != nil {
			t.Errorf("%s with NOTIFY_SOCKET unset: sent=%v err=%v, want false, nil", name, sent, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	t.Setenv("WATCHDOG_USEC", "1000000")
	if err := Watchdog(ctx); err != nil {
		t.Errorf("Watchdog: %v", err)
	}
}

func TestBadAddress(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "relative/notify.sock")
	if sent, err := Ready(); sent || err == nil {
		t.Errorf("relative NOTIFY_SOCKET: sent=%v err=%v, want an error", sent, err)
	}
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "nobody-listens"))
	if sent, err := Ready(); sent || err == nil {
		t.Errorf("missing socket: sent=%v err=%v, want an error", sent, err)
	}
}

func TestWatchdogInterval(t *testing.T) {
	pid := strconv.Itoa(os.Getpid())
	cases := []struct {
		usec, pid string
		want      time.Duration
		ok        bool
	}{
		{"", "", 0, false},
		{"30000000", "", 30 * time.Second, true},
		{"30000000", pid, 30 * time.Second, true},
		{"30000000", "1", 0, false},
		{"30000000", "not-a-pid", 0, false},
		{"0", "", 0, false},
		{"-5", "", 0, false},
		{"abc", "", 0, false},
	}
	for _, c := range cases {
		t.Setenv("WATCHDOG_USEC", c.usec)
		t.Setenv("WATCHDOG_PID", c.pid)
		got, ok := WatchdogInterval()
		if got != c.want || ok != c.ok {
			t.Errorf("WATCHDOG_USEC=%q WATCHDOG_PID=%q: got %v, %v; want %v, %v",
				c.usec, c.pid, got, ok, c.want, c.ok)
		}
	}
}

func TestWatchdogPings(t *testing.T) {
	recv := listen(t, false)
	t.Setenv("WATCHDOG_USEC", "100000") // 100ms: a ping every 50ms
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	var werr error
	go func() {
		defer wg.Done()
		werr = Watchdog(ctx)
	}()

	start := time.Now()
	for i := 0; i < 4; i++ {
		if got := recv(); got != "WATCHDOG=1" {
			t.Fatalf("ping %d: got %q, want WATCHDOG=1", i, got)
		}
	}
	// The first ping is immediate, then one every 50ms: three periods.
	if elapsed := time.Since(start); elapsed < 120*time.Millisecond {
		t.Errorf("4 pings after %v, want about 150ms at half the interval", elapsed)
	}
	cancel()
	wg.Wait()
	if werr != nil {
		t.Errorf("Watchdog returned %v", werr)
	}
}

func TestWatchdogDisabledForOtherPID(t *testing.T) {
	listen(t, false)
	t.Setenv("WATCHDOG_USEC", "100000")
	t.Setenv("WATCHDOG_PID", "1")
	done := make(chan error, 1)
	go func() { done <- Watchdog(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Watchdog: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Watchdog ran although WATCHDOG_PID names another process")
	}
}
