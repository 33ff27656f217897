package pgstore

import (
	"context"
	"strings"
	"testing"

	"hookd/internal/pgtest"
)

// The store's sessions run without JIT compilation unless the URL asks
// for it: the claims' candidates were compiled on every claim.
func TestSessionsWithoutJIT(t *testing.T) {
	url := pgtest.URL(t)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	for _, tc := range []struct{ url, want string }{
		{url, "off"},
		{url + sep + "options=-c%20jit%3Don", "on"},
		{url + sep + "jit=on", "on"},
	} {
		s := openT(t, tc.url)
		ctx := context.Background()
		// Every connection of the pool, not only the first.
		for i := 0; i < 3; i++ {
			c, err := s.pool.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Release()
			var got string
			if err := c.QueryRow(ctx, `SHOW jit`).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("%s: connection %d: jit = %s, want %s", tc.url, i, got, tc.want)
			}
		}
	}
}
