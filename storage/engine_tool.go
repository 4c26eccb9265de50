package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The command-line tools (export, backup, admin create, audit verify,
// questionnaire) open the database beside running servers. On SQLite they
// use OpenTool and OpenReadOnly; on PostgreSQL these are their
// counterparts. Like OpenTool they never migrate: a tool of another build
// than the servers' must not change the schema under them, so a database
// whose schema is not this build's is refused. Unlike OpenPostgres they
// start no group commit and open no pool for attachment chunks: a tool
// stores no attachment.

// ErrNoDatabase is returned (wrapped) by OpenPostgresTool and
// OpenPostgresReadOnly when the PostgreSQL database holds no Candour
// schema yet: no server has started on it.
var ErrNoDatabase = errors.New("no Candour database there yet")

// OpenPostgresTool opens the Candour database in the PostgreSQL database
// named by dsn for a command-line tool that writes only small records
// (an audit entry, a staff account, a questionnaire), beside any number of
// running servers. Its writes take the same write lock as the servers'.
func OpenPostgresTool(dsn string) (*DB, error) {
	w, err := openPostgres(dsn, 1, nil)
	if err != nil {
		return nil, err
	}
	db := &DB{pg: true, w: w, Now: time.Now}
	if err := checkPostgresVersion(w, dsn); err != nil {
		db.Close()
		return nil, err
	}
	r, err := openPostgres(dsn, 4, nil)
	if err != nil {
		db.Close()
		return nil, err
	}
	db.r = r
	return db, nil
}

// OpenPostgresReadOnly opens the Candour database in the PostgreSQL
// database named by dsn for reading only. Besides the DB's own refusal to
// write (readOnly), every transaction of its sessions is read-only on the
// server (default_transaction_read_only), so that nothing a read-only tool
// runs can change the database.
func OpenPostgresReadOnly(dsn string) (*DB, error) {
	r, err := openPostgres(dsn, 4, map[string]string{"default_transaction_read_only": "on"})
	if err != nil {
		return nil, err
	}
	db := &DB{pg: true, r: r, readOnly: true, Now: time.Now}
	if err := checkPostgresVersion(r, dsn); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// checkPostgresVersion refuses a database whose schema is not the newest
// of this build's PostgreSQL migrations, or which has none.
func checkPostgresVersion(p *sql.DB, dsn string) error {
	ctx := context.Background()
	var exists bool
	if err := p.QueryRowContext(ctx, `SELECT to_regclass('candour_schema') IS NOT NULL`).Scan(&exists); err != nil {
		return fmt.Errorf("failed to reach the PostgreSQL database: %w", redactDSN(err, dsn))
	}
	if !exists {
		return fmt.Errorf("%w: run `candour serve` once to create it", ErrNoDatabase)
	}
	var v int
	if err := p.QueryRowContext(ctx, `SELECT version FROM candour_schema WHERE id = 1`).Scan(&v); err != nil {
		return fmt.Errorf("failed to read the schema version: %w", err)
	}
	_, versions, err := pgMigrationFiles()
	if err != nil {
		return err
	}
	if want := versions[len(versions)-1]; v != want {
		return fmt.Errorf("database schema is version %d, this build expects %d: run `candour serve` of this build once to migrate", v, want)
	}
	return nil
}
