package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrations embed.FS

// versionTable is where goose records the migrations applied.
const versionTable = "hookd_schema_version"

// migrationLock is the advisory lock key held while migrating: processes
// starting at once migrate one after the other, the later ones finding
// nothing to do.
const migrationLock = 0x686f6f6b64 // "hookd"

// migrate brings the schema up to this binary's newest migration, under a
// session advisory lock, and refuses a database migrated by a newer hookd.
func migrate(ctx context.Context, cc *pgx.ConnConfig, log *slog.Logger) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLock), lock.WithLockTimeout(1, 120))
	if err != nil {
		return err
	}
	db := stdlib.OpenDB(*cc)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithSessionLocker(locker),
		goose.WithTableName(versionTable), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return err
	}
	srcs := p.ListSources()
	known := srcs[len(srcs)-1].Version
	applied, err := p.Up(ctx)
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		// The first contact with the server: say so, without the
		// migration library's wrapping.
		return fmt.Errorf("connecting to the database: %w", ce)
	}
	if err != nil {
		return fmt.Errorf("migrating the database schema: %w", err)
	}
	for _, r := range applied {
		log.Info("database schema migrated", "version", r.Source.Version, "took", r.Duration)
	}
	have, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("reading the database schema version: %w", err)
	}
	if have > known {
		return fmt.Errorf("the database's schema is version %d; this hookd knows up to %d: upgrade hookd", have, known)
	}
	return nil
}
