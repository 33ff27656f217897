// Package sdnotify implements the client side of systemd's service
// notification protocol (sd_notify(3)) without libsystemd.
//
// A service started with Type=notify (or Type=notify-reload) finds the
// address of the service manager's socket in $NOTIFY_SOCKET and sends it
// newline-separated VARIABLE=value assignments, one message per datagram.
// When NOTIFY_SOCKET is unset (hookd run by hand, in a container, under
// another supervisor) every function here is a no-op.
//
// hookd's life cycle maps onto the protocol like this:
//
//	start-up finished       Ready()
//	SIGHUP / reload begins  Reloading()   (RELOADING=1 + MONOTONIC_USEC)
//	reload finished         Ready()       (whether the new config was good or not)
//	SIGTERM received        Stopping()
//	while running           Watchdog(ctx) when the unit sets WatchdogSec=
package sdnotify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Notify sends state, one or more newline-separated VARIABLE=value
// assignments, to the socket named by $NOTIFY_SOCKET. It reports whether a
// message was sent: false with a nil error means NOTIFY_SOCKET is unset and
// nothing was done. The address may be a filesystem path or, when it starts
// with '@', a socket in the Linux abstract namespace.
func Notify(state string) (bool, error) {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return false, nil
	}
	if err := send(addr, state); err != nil {
		return false, fmt.Errorf("sdnotify: %w", err)
	}
	return true, nil
}

func send(addr, state string) error {
	// systemd accepts absolute paths and abstract names; anything else
	// (relative paths, or vsock: addresses of newer systemd versions that
	// hookd does not speak) is refused rather than guessed at.
	if addr[0] != '/' && addr[0] != '@' {
		return fmt.Errorf("unsupported NOTIFY_SOCKET address %q", addr)
	}
	// Go's net package maps a leading '@' to the abstract namespace (a
	// leading NUL byte in sun_path), which is exactly what systemd means.
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer conn.Close()
	n, err := conn.Write([]byte(state))
	if err != nil {
		return err
	}
	if n != len(state) {
		return errors.New("short write to notify socket")
	}
	return nil
}

// Ready tells the service manager that start-up, or a reload announced with
// Reloading, has finished.
func Ready() (bool, error) { return Notify("READY=1") }

// Stopping tells the service manager that the service is shutting down.
func Stopping() (bool, error) { return Notify("STOPPING=1") }

// Reloading tells the service manager that the service is reloading its
// configuration; send Ready when the reload is over. The message carries
// MONOTONIC_USEC, the current CLOCK_MONOTONIC time in microseconds, which
// Type=notify-reload units require so that systemd can match the
// notification with the reload request it sent.
func Reloading() (bool, error) {
	usec, err := monotonicUsec()
	if err != nil {
		return false, fmt.Errorf("sdnotify: reading CLOCK_MONOTONIC: %w", err)
	}
	return Notify("RELOADING=1\nMONOTONIC_USEC=" + strconv.FormatInt(usec, 10))
}

// Status sets the free-form status line that `systemctl status` shows.
// Newlines would start new assignments in the protocol, so they are turned
// into spaces.
func Status(text string) (bool, error) {
	text = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(text)
	return Notify("STATUS=" + text)
}

func monotonicUsec() (int64, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0, err
	}
	return ts.Sec*1_000_000 + ts.Nsec/1_000, nil
}

// WatchdogInterval reports whether the service manager expects watchdog
// keep-alives from this process (WatchdogSec= in the unit) and how often at
// most it tolerates silence. It reads WATCHDOG_USEC; when WATCHDOG_PID is
// set it must name this process, so that a child that inherited the
// environment does not believe it is being watched.
func WatchdogInterval() (time.Duration, bool) {
	s := os.Getenv("WATCHDOG_USEC")
	if s == "" {
		return 0, false
	}
	usec, err := strconv.ParseInt(s, 10, 64)
	if err != nil || usec <= 0 {
		return 0, false
	}
	if p := os.Getenv("WATCHDOG_PID"); p != "" {
		pid, err := strconv.Atoi(p)
		if err != nil || pid != os.Getpid() {
			return 0, false
		}
	}
	// Cap before multiplying so that a huge value cannot overflow.
	if usec > int64(time.Duration(1<<62)/time.Microsecond) {
		usec = int64(time.Duration(1<<62) / time.Microsecond)
	}
	return time.Duration(usec) * time.Microsecond, true
}

// Watchdog sends WATCHDOG=1 at once and then every half watchdog interval
// until ctx is done. It returns immediately when no watchdog is configured
// (see WatchdogInterval) or NOTIFY_SOCKET is unset. A failed send does not
// stop the loop: the next tick tries again, and if the socket stays broken
// the service manager's own timeout is what acts on it. Watchdog returns
// nil when ctx is done.
func Watchdog(ctx context.Context) error {
	interval, ok := WatchdogInterval()
	if !ok || os.Getenv("NOTIFY_SOCKET") == "" {
		return nil
	}
	period := interval / 2
	if period <= 0 {
		period = interval
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		_, _ = Notify("WATCHDOG=1")
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
