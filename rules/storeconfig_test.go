package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStoreURLDriverCheck: store.url, after ${VAR} expansion, is parsed by
// the PostgreSQL driver's own parser at load, so that check refuses what
// serve could not open; the message never holds the password.
func TestStoreURLDriverCheck(t *testing.T) {
	const pw = "hunter22-Secret"
	for _, tc := range []struct {
		name, url, err string
	}{
		{"bogus sslmode", "postgres://hookd:" + pw + "@db.internal/hookd?sslmode=bogus",
			`store.url: sslmode must be one of disable, allow, prefer, require, verify-ca, verify-full, not "bogus"`},
		// pgx ignores sslmode on a unix socket: the typo is refused anyway.
		{"bogus sslmode on a socket", "postgres://hookd:" + pw + "@/hookd?host=/run/postgresql&sslmode=verify_full",
			`store.url: sslmode must be one of disable, allow, prefer, require, verify-ca, verify-full, not "verify_full"`},
		{"port out of range", "postgres://hookd:" + pw + "@db.internal:99999/hookd", "store.url: invalid port"},
		{"unreadable CA file", "postgres://hookd:" + pw + "@db.internal/hookd?sslmode=verify-full&sslrootcert=/nonexistent/" + pw + ".pem",
			"store.url: failed to configure TLS (unable to read CA file: open /nonexistent/xxxxx.pem: no such file or directory)"},
		{"bad connect_timeout", "postgres://hookd:" + pw + "@db.internal/hookd?connect_timeout=soon",
			"store.url: invalid connect_timeout"},
		{"password in the query", "postgres://hookd@db.internal/hookd?password=" + pw + "&target_session_attrs=" + pw,
			"store.url: unknown target_session_attrs value: xxxxx"},
		{"good", "postgres://hookd:" + pw + "@db.internal/hookd?sslmode=verify-full&connect_timeout=5", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "hookd.yaml")
			if err := os.WriteFile(p, []byte("store:\n  driver: postgres\n  url: ${DBURL}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			env := func(k string) (string, bool) { return tc.url, k == "DBURL" }
			_, err := LoadConfig(p, env)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("loaded; want %q", tc.err)
			}
			got := strings.ReplaceAll(err.Error(), dir+"/", "")
			if strings.Contains(got, pw) {
				t.Fatalf("the error shows the password:\n%s", got)
			}
			if want := "hookd.yaml:3:8: " + tc.err; !strings.HasPrefix(got, want) {
				t.Fatalf("error:\n%s\nwant prefix:\n%s", got, want)
			}
		})
	}
}
