package pgstore

import (
	"context"
	"strings"
	"testing"
)

// TestCheckURL: a connection string pgx refuses gives pgx's reason,
// without the string and without its password, from CheckURL and from
// Open alike.
func TestCheckURL(t *testing.T) {
	const pw = "Tr0ub4dor-Staple"
	for _, tc := range []struct {
		name, url, want string
	}{
		{"bogus sslmode", "postgres://hookd:" + pw + "@db.internal/hookd?sslmode=bogus", `sslmode must be one of disable, allow, prefer, require, verify-ca, verify-full, not "bogus"`},
		{"bad port", "postgres://hookd:" + pw + "@db.internal:99999/hookd", "invalid port"},
		// A / in the password ends the host part early: net/url's error
		// would quote the password as the port.
		{"password not percent-encoded", "postgres://hookd:" + pw + "/x@db.internal:5432/hookd", "invalid port"},
		{"password in a path it reads", "postgres://hookd:" + pw + "@db.internal/hookd?sslmode=verify-ca&sslrootcert=/nonexistent/" + pw,
			"failed to configure TLS (unable to read CA file: open /nonexistent/xxxxx: no such file or directory)"},
		{"password in the query", "postgres://hookd@db.internal/hookd?password=" + pw + "&target_session_attrs=" + pw, "unknown target_session_attrs value: xxxxx"},
		{"keyword/value", "host=db.internal password=" + pw + " port=x" + pw, "invalid port"},
		{"good", "postgres://hookd:" + pw + "@db.internal/hookd?sslmode=verify-full", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckURL(tc.url)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || err.Error() != tc.want {
				t.Fatalf("CheckURL: %v, want %q", err, tc.want)
			}
			_, err = Open(context.Background(), Options{URL: tc.url})
			if err == nil || strings.Contains(err.Error(), pw) || !strings.Contains(err.Error(), "store url: ") {
				t.Fatalf("Open: %v", err)
			}
		})
	}
}
