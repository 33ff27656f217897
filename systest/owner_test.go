package systest

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// The commands an operator runs as root on a stopped daemon's data
// directory leave hookd its database: compact keeps the file's owner, group
// and mode; backup and the offline readers only read it.
func TestDataDirOwnerKept(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the database is given to another user, and compact must give it back")
	}
	s := newSite(t, backupRules, "")
	d := s.start()
	if r, err := s.post("own-1", []byte(`{"ref":"refs/heads/main"}`)); err != nil || r.code != 200 {
		t.Fatalf("post: %v %+v", err, r)
	}
	d.stop(t)
	const uid, gid = 4242, 4343 // hookd's user and group, as the package makes them
	data := filepath.Join(s.dir, "data")
	db := filepath.Join(data, "hookd.db")
	if err := os.Chown(db, uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(db, 0o640); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		verb string
		args []string
	}{
		{"compact", nil},
		{"backup", []string{filepath.Join(s.dir, "copy.db")}},
		{"events", nil},
		{"show", []string{"1"}},
	}
	for _, st := range steps {
		out, errOut, code := s.cli(t, "", st.verb, st.args...)
		if code != 0 {
			t.Fatalf("hookd %s: exit %d\n%s%s", st.verb, code, out, errOut)
		}
		fi, err := os.Stat(db)
		if err != nil {
			t.Fatal(err)
		}
		sys := fi.Sys().(*syscall.Stat_t)
		if sys.Uid != uid || sys.Gid != gid || fi.Mode().Perm() != 0o640 {
			t.Errorf("after hookd %s, hookd.db is uid %d gid %d mode %v; want uid %d gid %d mode 0640, as before",
				st.verb, sys.Uid, sys.Gid, fi.Mode().Perm(), uid, gid)
		}
	}
	entries, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "hookd.db" && e.Name() != "hookd.ids" && e.Name() != "tmp" && e.Name() != "admin.sock" {
			t.Errorf("a command left %s in the data directory", e.Name())
		}
	}
}
