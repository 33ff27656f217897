package pgstore_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"hookd/internal/pgtest"
	"hookd/store/pgstore"
)

// query runs one statement on url and scans its one row.
func query(t *testing.T, url, sql string, dest ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if len(dest) == 0 {
		_, err = conn.Exec(ctx, sql)
	} else {
		err = conn.QueryRow(ctx, sql).Scan(dest...)
	}
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// Six processes opening a new database at the same moment migrate it
// once, and all open (with three, the race the lock prevents was seldom
// lost).
func TestMigrateOnceAtOnce(t *testing.T) {
	url := pgtest.URL(t)
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := pgstore.Open(context.Background(), pgstore.Options{URL: url, Node: "n"})
			errs[i] = err
			if err == nil {
				s.Close()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("open: %v", err)
		}
	}
	var applied, processes int
	query(t, url, `SELECT count(*) FROM hookd_schema_version WHERE version_id > 0`, &applied)
	query(t, url, `SELECT count(DISTINCT id) FROM processes`, &processes)
	if applied != migrations || processes != len(errs) {
		t.Errorf("%d migrations recorded, %d processes; want %d and %d", applied, processes, migrations, len(errs))
	}
}

// migrations is the number of migrations in migrations/.
const migrations = 4

// A database migrated by a newer hookd is refused with one clear line.
func TestNewerSchemaRefused(t *testing.T) {
	url := pgtest.URL(t)
	open(t, url, pgstore.Options{}).Close()
	query(t, url, `INSERT INTO hookd_schema_version (version_id, is_applied) VALUES (`+strconv.Itoa(migrations+1)+`, true)`)
	_, err := pgstore.Open(context.Background(), pgstore.Options{URL: url})
	want := fmt.Sprintf("the database's schema is version %d; this hookd knows up to %d: upgrade hookd", migrations+1, migrations)
	if err == nil || err.Error() != want {
		t.Fatalf("open: %v, want %q", err, want)
	}
}

// The URL's password appears in no error: a host that refuses, a host
// that never answers, a URL that does not parse.
func TestPasswordNotInErrors(t *testing.T) {
	const pw = "Sup3rS3cretPW"
	hang := newProxy(t, "")
	hang.block()
	for _, url := range []string{
		"postgres://hookd:" + pw + "@127.0.0.1:1/hookd",
		"postgres://hookd:" + pw + "@" + hang.addr() + "/hookd?sslmode=disable",
		"postgres://hookd:" + pw + "@127.0.0.1:notaport/hookd",
		"host=127.0.0.1 port=1 user=hookd password=" + pw,
	} {
		_, err := pgstore.Open(context.Background(), pgstore.Options{URL: url, Timeout: 500e6})
		if err == nil {
			t.Fatalf("open %s: no error", strings.ReplaceAll(url, pw, "PW"))
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}
