package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"hookd/store"
)

// Each mistake about the data directory, the database or the backup file
// is one line naming the right thing (the data directory, the database
// before the backup file, the user that runs the command), exit 1, and no
// temporary file name. As root, the user cases run as nobody.
func TestDataDirMistakesAsTheUserSees(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	rd := filepath.Join(dir, "rules")
	os.MkdirAll(rd, 0o755)
	os.WriteFile(filepath.Join(rd, "r.yaml"), []byte(strings.ReplaceAll(drainRules, "%DIR%", dir)), 0o644)
	conf := filepath.Join(dir, "hookd.yaml")
	os.WriteFile(conf, []byte("listen: 127.0.0.1:0\nui: {listen: \"off\"}\n"), 0o644)
	afile := filepath.Join(dir, "afile")
	os.WriteFile(afile, nil, 0o644)
	nodir := filepath.Join(dir, "nodir")
	// A stopped daemon's database, private to root (mode 0700 directory).
	data := filepath.Join(dir, "data")
	st, err := store.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	closed := filepath.Join(dir, "closed") // root's, nobody may not write in it
	os.MkdirAll(closed, 0o755)
	open := filepath.Join(dir, "open") // anyone may write in it
	os.MkdirAll(open, 0o755)
	os.Chmod(open, 0o777)

	asNobody := []string{"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"}
	nobody := "running as user nobody: "
	for _, tc := range []struct {
		name   string
		nobody bool
		args   []string
		want   string
	}{
		{"backup, no data dir", false, []string{"backup", "-data", nodir, filepath.Join(dir, "x.db")},
			"hookd backup: no hookd answers at " + nodir + "/admin.sock, and there is no database at " + nodir + "/hookd.db: pass the -config (or -data) the daemon uses"},
		{"compact, no data dir", false, []string{"compact", "-data", nodir},
			"hookd compact: there is no database at " + nodir + "/hookd.db: pass the -config (or -data) the daemon uses"},
		{"serve, data dir is a file", false, []string{"serve", "-config", conf, "-rules", rd, "-data", afile},
			"hookd serve: creating the data directory " + afile + ": mkdir " + afile + ": not a directory"},
		{"serve, data dir where the user may not create it", true, []string{"serve", "-config", conf, "-rules", rd, "-data", filepath.Join(closed, "a", "b")},
			"hookd serve: creating the data directory " + closed + "/a/b: mkdir " + closed + "/a: permission denied (" + nobody + ownDataDir + ")"},
		{"backup, another user's database", true, []string{"backup", "-data", data, filepath.Join(open, "nb.db")},
			"hookd backup: permission denied on the admin socket " + data + "/admin.sock: " + asDaemonUser},
		{"backup, a file the user may not write", true, []string{"backup", "-data", data, filepath.Join(closed, "nb.db")},
			"hookd backup: cannot write " + closed + "/nb.db: permission denied (" + nobody + "write the backup where that user may)"},
		{"compact, another user's database", true, []string{"compact", "-data", data},
			"hookd compact: permission denied on " + data + "/hookd.db: " + asDaemonUser},
	} {
		t.Run(tc.name, func(t *testing.T) {
			argv := append([]string{hookdBin}, tc.args...)
			if tc.nobody {
				if os.Getuid() != 0 {
					t.Skip("needs root to run as another user")
				}
				if _, err := exec.LookPath("setpriv"); err != nil {
					t.Skip("needs setpriv")
				}
				argv = append(asNobody, argv...)
			}
			cmd := exec.Command(argv[0], argv[1:]...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := cmd.ProcessState.ExitCode()
			if err == nil || code != 1 || stderr.String() != tc.want+"\n" {
				t.Fatalf("exit %d, stderr:\n%s\nwant:\n%s", code, stderr.String(), tc.want)
			}
			if strings.Contains(stderr.String(), ".tmp-") {
				t.Fatalf("a temporary name shows: %s", stderr.String())
			}
		})
	}
}
