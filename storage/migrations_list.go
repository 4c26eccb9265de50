package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// `candour migrate` shows each engine's embedded migrations with whether
// the database has them, and applies those it lacks on request. The
// servers apply them at start anyway (Open, OpenPostgres); the command is
// for an operator who wants to see, or to do it with the servers stopped
// before an upgrade. Tools (OpenTool, OpenPostgresTool, …) still never
// migrate.

// Migration is one embedded schema migration of an engine.
type Migration struct {
	Version int
	Name    string // the file name, e.g. 0025_wrapped_identity.sql
	Applied bool
}

// MigrationStatus is where a database stands among its engine's
// migrations.
type MigrationStatus struct {
	Engine Engine
	// Exists is false when there is no Candour database there yet: every
	// migration is pending.
	Exists bool
	// Current is the database's schema version (0 if it has none).
	Current    int
	Migrations []Migration
}

// Pending is the number of migrations not applied yet.
func (s MigrationStatus) Pending() int {
	n := 0
	for _, m := range s.Migrations {
		if !m.Applied {
			n++
		}
	}
	return n
}

// sqliteMigrationList is SQLite's migrations with their versions.
func sqliteMigrationList() ([]Migration, error) {
	var out []Migration
	for _, name := range migrationFiles() {
		base := filepath.Base(name)
		n, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil || n <= 0 || (len(out) > 0 && n <= out[len(out)-1].Version) {
			return nil, fmt.Errorf("migration %s is out of sequence", name)
		}
		out = append(out, Migration{Version: n, Name: base})
	}
	return out, nil
}

// pgMigrationList is PostgreSQL's migrations with their versions.
func pgMigrationList() ([]Migration, error) {
	names, versions, err := pgMigrationFiles()
	if err != nil {
		return nil, err
	}
	out := make([]Migration, len(names))
	for i, name := range names {
		out[i] = Migration{Version: versions[i], Name: filepath.Base(name)}
	}
	return out, nil
}

func markApplied(ms []Migration, current int) []Migration {
	for i := range ms {
		ms[i].Applied = ms[i].Version <= current
	}
	return ms
}

// SQLiteMigrations reports the migrations of the SQLite database in
// dataDir, reading its schema version only: it creates nothing and
// changes nothing.
func SQLiteMigrations(ctx context.Context, dataDir string) (MigrationStatus, error) {
	ms, err := sqliteMigrationList()
	if err != nil {
		return MigrationStatus{}, err
	}
	st := MigrationStatus{Engine: EngineSQLite, Migrations: ms}
	path := filepath.Join(dataDir, FileName)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return st, nil
	} else if err != nil {
		return st, err
	}
	// Opened as it is: a read-only pool would ask for WAL mode, which a
	// database in rollback-journal mode (a restored backup) cannot switch
	// to read-only.
	r, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro&_busy_timeout=10000")
	if err != nil {
		return st, err
	}
	defer r.Close()
	if err := r.QueryRowContext(ctx, "PRAGMA user_version").Scan(&st.Current); err != nil {
		return st, fmt.Errorf("failed to read the schema version: %w", err)
	}
	st.Exists = true
	st.Migrations = markApplied(ms, st.Current)
	return st, nil
}

// ApplySQLiteMigrations applies the SQLite database's pending migrations
// in dataDir, each in its own transaction as Open does, and returns the
// status afterwards. It refuses a folder without a database: `candour
// serve` makes a new one (with settings that must come before its first
// table), and one that another process (a server) has open: SQLite has
// one server, which migrates at its own start.
func ApplySQLiteMigrations(ctx context.Context, dataDir string) (MigrationStatus, error) {
	path := filepath.Join(dataDir, FileName)
	if _, err := os.Stat(path); err != nil {
		return MigrationStatus{}, fmt.Errorf("no database in %s: %w", dataDir, err)
	}
	if err := checkNotInUse(dataDir); err != nil {
		return MigrationStatus{}, err
	}
	w := openPool(path, false)
	w.SetMaxOpenConns(1)
	err := (&DB{path: path, w: w}).migrate()
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return MigrationStatus{}, err
	}
	return SQLiteMigrations(ctx, dataDir)
}

// PostgresMigrations reports the migrations of the PostgreSQL database
// named by dsn, reading its schema version only.
func PostgresMigrations(ctx context.Context, dsn string) (MigrationStatus, error) {
	ms, err := pgMigrationList()
	if err != nil {
		return MigrationStatus{}, err
	}
	st := MigrationStatus{Engine: EnginePostgres, Migrations: ms}
	p, err := openPostgres(dsn, 1, map[string]string{"default_transaction_read_only": "on"})
	if err != nil {
		return st, err
	}
	defer p.Close()
	if err := p.QueryRowContext(ctx, `SELECT to_regclass('candour_schema') IS NOT NULL`).Scan(&st.Exists); err != nil {
		return st, fmt.Errorf("failed to reach the PostgreSQL database: %w", redactDSN(err, dsn))
	}
	if st.Exists {
		if err := p.QueryRowContext(ctx, `SELECT version FROM candour_schema WHERE id = 1`).Scan(&st.Current); err != nil {
			return st, fmt.Errorf("failed to read the schema version: %w", err)
		}
	}
	st.Migrations = markApplied(ms, st.Current)
	return st, nil
}

// ApplyPostgresMigrations applies the pending migrations of the
// PostgreSQL database named by dsn (creating the schema in an empty
// database) under the same advisory lock as OpenPostgres, and returns the
// status afterwards.
func ApplyPostgresMigrations(ctx context.Context, dsn string) (MigrationStatus, error) {
	w, err := openPostgres(dsn, 1, nil)
	if err != nil {
		return MigrationStatus{}, err
	}
	defer w.Close()
	if err := w.PingContext(ctx); err != nil {
		return MigrationStatus{}, fmt.Errorf("failed to reach the PostgreSQL database: %w", redactDSN(err, dsn))
	}
	if err := (&DB{pg: true, w: w}).migratePostgres(ctx); err != nil {
		return MigrationStatus{}, err
	}
	return PostgresMigrations(ctx, dsn)
}
