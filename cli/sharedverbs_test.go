package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBboltVerbsOnAPostgresNode: on a node whose store is PostgreSQL,
// compact and backup say what to use instead and exit 1, rather than
// failing on a bbolt file that is not there; replay and run, with no
// daemon on this machine, say to run them on a node where hookd runs. No
// message shows the URL's password, and backup writes no file.
func TestBboltVerbsOnAPostgresNode(t *testing.T) {
	const pw = "verbs-db-Secret"
	dir := t.TempDir()
	conf := filepath.Join(dir, "hookd.yaml")
	yaml := "data_dir: " + filepath.Join(dir, "data") + "\nstore:\n  driver: postgres\n  url: ${HOOKD_DATABASE_URL}\n"
	if err := os.WriteFile(conf, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOOKD_DATABASE_URL", "postgres://hookd:"+pw+"@db.invalid/hookd?sslmode=verify-full")
	backup := filepath.Join(dir, "copy.db")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"compact", "-config", conf}, "hookd compact: the store is PostgreSQL (store.driver: postgres): its space is reclaimed by VACUUM"},
		{[]string{"backup", "-config", conf, backup}, "hookd backup: the store is PostgreSQL (store.driver: postgres): back it up with pg_dump"},
		{[]string{"replay", "-config", conf, "1"}, "replay needs hookd running on this machine"},
		{[]string{"run", "-config", conf, "deploy"}, "run needs hookd running on this machine"},
	} {
		t.Run(tc.args[0], func(t *testing.T) {
			code, out, stderr := hookdCLI(t, tc.args...)
			if code != 1 || out != "" || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
				t.Fatalf("exit %d\nstdout %q\nstderr %q\nwant one line with %q", code, out, stderr, tc.want)
			}
			if strings.Contains(stderr, pw) || strings.Contains(stderr, "hookd.db") || strings.Contains(stderr, "bbolt:") {
				t.Fatalf("stderr %q", stderr)
			}
		})
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("files left beside hookd.yaml: %v", ents)
	}
}
