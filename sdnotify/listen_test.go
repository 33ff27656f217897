package sdnotify

import (
	"os"
	"strconv"
	"testing"
)

// Sockets takes nothing meant for another process, refuses a count it
// cannot read, and always removes the variables, so children never see
// them.
func TestSocketsEnvironment(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	for _, c := range []struct {
		name, pid, fds string
		wantErr        bool
	}{
		{"unset", "", "", false},
		{"another process", strconv.Itoa(os.Getpid() + 1), "1", false},
		{"pid not a number", "x", "1", false},
		{"none passed", self, "0", false},
		{"count not a number", self, "two", true},
		{"negative count", self, "-1", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("LISTEN_PID", c.pid)
			t.Setenv("LISTEN_FDS", c.fds)
			t.Setenv("LISTEN_FDNAMES", "hookd.socket")
			socks, err := Sockets()
			if (err != nil) != c.wantErr || len(socks) != 0 {
				t.Fatalf("Sockets() = %v, %v; want none, error %v", socks, err, c.wantErr)
			}
			for _, v := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
				if _, ok := os.LookupEnv(v); ok {
					t.Errorf("%s still set", v)
				}
			}
		})
	}
}
