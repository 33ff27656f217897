package engine

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hookd/internal/pgtest"
)

// pgCommitters is how many transactions the PostgreSQL ceiling keeps in
// flight at once: with one, each commit waits for the previous WAL flush;
// a few let PostgreSQL flush several commits together too.
const pgCommitters = 4

// pgCeiling is the bare minimum of durable intake on PostgreSQL, on the
// server pgtest names: read the body, check an HMAC-SHA256, and insert it
// with one INSERT per request, the requests queued during the previous
// commit sent together as one pipelined batch (one implicit transaction,
// one commit) by one of pgCommitters goroutines over a pgx pool. The table
// has a primary key and no other index (hookd also keeps a unique index
// on the source and delivery id).
func pgCeiling(b *testing.B, dbURL string) string {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = pgCommitters
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, `CREATE TABLE ceiling (id bigserial PRIMARY KEY, delivery text NOT NULL, body bytea NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	type write struct {
		delivery string
		body     []byte
		done     chan error
	}
	writes := make(chan write, 4096)
	for c := 0; c < pgCommitters; c++ {
		go func() {
			for w := range writes {
				batch := []write{w}
			more:
				for len(batch) < 1024 {
					select {
					case w, ok := <-writes:
						if !ok {
							break more
						}
						batch = append(batch, w)
					default:
						break more
					}
				}
				var pb pgx.Batch
				for _, w := range batch {
					pb.Queue(`INSERT INTO ceiling (delivery, body) VALUES ($1, $2)`, w.delivery, w.body)
				}
				err := pool.SendBatch(ctx, &pb).Close()
				for _, w := range batch {
					w.done <- err
				}
			}
		}()
	}
	b.Cleanup(func() { close(writes) })
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := verifiedBody(w, r)
		if !ok {
			return
		}
		done := make(chan error, 1)
		writes <- write{r.Header.Get("X-GitHub-Delivery"), body, done}
		if err := <-done; err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"accepted"}`))
	})
	return serveCeiling(b, h)
}

// The PostgreSQL ceiling, to compare with BenchmarkIntakeAcceptedPostgres
// in the same run:
//
//	go test ./engine -run '^$' -bench 'Postgres' -benchtime 20000x
func BenchmarkCeilingPostgres(b *testing.B) {
	dbURL := pgtest.URL(b)
	reqs := randomPushes(b.N)
	withPostgresCPU(b, dbURL, func() { drive(b, pgCeiling(b, dbURL), reqs, 200) })
}

// withPostgresCPU runs f and reports the CPU time PostgreSQL spent per
// b.N: its backends serving the database at dbURL, and the WAL writer,
// checkpointer and background writer of the servers on this machine. The
// server runs beside the benchmark, so this is what a database machine of
// its own would spend per event.
func withPostgresCPU(b *testing.B, dbURL string, f func()) {
	u, err := url.Parse(dbURL)
	if err != nil {
		b.Fatal(err)
	}
	db := strings.TrimPrefix(u.Path, "/")
	cpu0 := pgtest.ServerCPU(db)
	f()
	b.ReportMetric(float64((pgtest.ServerCPU(db)-cpu0).Microseconds())/float64(b.N), "pg-cpu-µs/event")
}
