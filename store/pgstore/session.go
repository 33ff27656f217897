package pgstore

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// withoutJIT turns PostgreSQL's JIT compilation off on the pool's
// sessions, unless the URL sets jit itself (a jit parameter, or -c jit=
// in options). hookd's statements are short and many: the claim's
// candidates, which the planner costs at hundreds of thousands while a
// burst is not yet analyzed, were compiled on every claim, 30-40 ms of
// the server's CPU each, which under intake took a sixth of its time.
// The setting is made by a SET once a connection is up, not as a startup
// parameter, which poolers such as PgBouncer refuse.
func withoutJIT(cfg *pgxpool.Config) {
	if _, set := cfg.ConnConfig.RuntimeParams["jit"]; set {
		return
	}
	if strings.Contains(cfg.ConnConfig.RuntimeParams["options"], "jit") {
		return
	}
	after := cfg.AfterConnect
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		if after != nil {
			if err := after(ctx, c); err != nil {
				return err
			}
		}
		_, err := c.Exec(ctx, `SET jit = off`)
		return err
	}
}
