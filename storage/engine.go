package storage

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"
)

// Candour runs on two storage engines. SQLite (Open) is the default: one
// file in the data folder. PostgreSQL (OpenPostgres) is for installations
// that run several Candour instances against one database. The Go code
// and its SQL are the same for both; what differs is said here and in
// pgsql.go:
//
//   - Placeholders: the SQL is written with `?`, which the PostgreSQL
//     connection numbers ($1, $2, …; pgsql.go).
//   - Writers: SQLite has one writer connection, and every read-then-write
//     in a transaction relies on that. On PostgreSQL several instances
//     write at once, so every write transaction first takes one
//     transaction-scoped advisory lock (writeLock), and write transactions
//     run one after another across all instances, as on SQLite. Commits of
//     PostgreSQL are durable when they return (synchronous_commit on).
//   - Snapshots: a read-only transaction on SQLite sees one snapshot; on
//     PostgreSQL it is REPEATABLE READ (beginSnapshot).
//   - Attachments: SQLite keeps their chunks in a file of their own
//     (chunks.go); PostgreSQL in attachment_chunks, written through a pool
//     of their own without the write lock, each chunk a binary COPY (so
//     that no buffer the size of a chunk is allocated for it) committed
//     without waiting for the WAL flush, all made durable by the
//     attachment's synchronous Close (chunks_pg.go's storePgChunk).
//     Deletions vacuum (delete.go's vacuum) where SQLite zeroes pages;
//     there is no reserve file.
//   - Instances: on PostgreSQL each DB is an instance that registers
//     itself and holds a session-level advisory lock for its life, so
//     that the reporter uploads of one that died are swept by another
//     (instances.go); background jobs run on one instance at a time
//     under Exclusive's advisory locks (exclusive.go). On SQLite there is
//     one instance, and Open deletes every pending upload.
//   - Errors: classify and isUnique know both engines' codes.

// Engine names a storage engine.
type Engine string

const (
	EngineSQLite   Engine = "sqlite"
	EnginePostgres Engine = "postgres"
)

// Engine is the engine db runs on.
func (db *DB) Engine() Engine {
	if db.pg {
		return EnginePostgres
	}
	return EngineSQLite
}

// writeLockKey is the advisory lock every PostgreSQL write transaction
// takes first (writeLock): one number of PostgreSQL's 64-bit advisory lock
// space, "candour w" in ASCII.
const writeLockKey int64 = 0x63616e646f757277

// migrateLockKey is held while an instance applies migrations, so that two
// instances starting at once do not both apply them.
const migrateLockKey int64 = 0x63616e646f75726d

// beginWrite begins a write transaction on db's writer: on SQLite an
// immediate one (the writer's DSN says so), on PostgreSQL one that first
// takes writeLock.
func (db *DB) beginWrite(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error) {
	tx, err := db.w.BeginTx(ctx, opts)
	if err != nil || !db.pg {
		return tx, err
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, writeLockKey); err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("failed to take the write lock: %w", err)
	}
	return tx, nil
}

// beginSnapshot begins a read-only transaction that sees one snapshot of
// the database from its first read to its end.
func (db *DB) beginSnapshot(ctx context.Context) (*sql.Tx, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if db.pg {
		opts.Isolation = sql.LevelRepeatableRead
	}
	return db.r.BeginTx(ctx, opts)
}

// pgError returns err's PostgreSQL error, if it is one.
func pgError(err error) (*pgconn.PgError, bool) {
	var pe *pgconn.PgError
	ok := errors.As(err, &pe)
	return pe, ok
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY constraint
// failure, on either engine.
func isUnique(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey
	}
	pe, ok := pgError(err)
	return ok && pe.Code == "23505"
}

// isUniqueNotKey reports whether err is a UNIQUE constraint failure on a
// column other than the primary key.
func isUniqueNotKey(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode == sqlite3.ErrConstraintUnique
	}
	pe, ok := pgError(err)
	return ok && pe.Code == "23505" && !strings.HasSuffix(pe.ConstraintName, "_pkey")
}

// isForeignKey reports whether err is a FOREIGN KEY constraint failure.
func isForeignKey(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode == sqlite3.ErrConstraintForeignKey
	}
	pe, ok := pgError(err)
	return ok && pe.Code == "23503"
}

//go:embed pgmigrations/*.sql
var pgMigrations embed.FS

// pgMigrationFiles are PostgreSQL's migrations in order, with their
// numbers.
func pgMigrationFiles() ([]string, []int, error) {
	names, err := fs.Glob(pgMigrations, "pgmigrations/*.sql")
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(names)
	versions := make([]int, len(names))
	for i, name := range names {
		n, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(name, "pgmigrations/"), "_", 2)[0])
		if err != nil || n != i+1 {
			return nil, nil, fmt.Errorf("PostgreSQL migration %s is out of sequence", name)
		}
		versions[i] = n
	}
	return names, versions, nil
}

// OpenPostgres opens the Candour database in the PostgreSQL database
// named by dsn (a postgres:// URL; see openPostgres for where a password
// may come from) and brings its schema up to date, under an advisory lock
// so that instances starting together apply each migration once.
//
// Unlike Open, it does not delete every pending attachment: on PostgreSQL
// they may belong to an upload another instance is receiving. Instead it
// registers the instance (instances.go), which owns the reporter uploads
// it receives, and sweeps those of instances that died
// (SweepDeadInstances); staff uploads are swept by DeleteStalePending.
// There is no chunk file, no reserve file and no checkpointing either:
// attachments keep their chunks in attachment_chunks (chunks_apart = 0;
// storePgChunk).
func OpenPostgres(dsn string) (*DB, error) {
	// One writer connection per instance: writes are serialised across
	// instances by writeLock anyway, and one connection keeps the same
	// order within an instance as on SQLite.
	w, err := openPostgres(dsn, 1, nil)
	if err != nil {
		return nil, err
	}
	db := &DB{pg: true, w: w, Now: time.Now}
	ctx := context.Background()
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("failed to reach the PostgreSQL database: %w", redactDSN(err, dsn))
	}
	if err := db.migratePostgres(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := openPostgres(dsn, 8, nil)
	if err != nil {
		w.Close()
		return nil, err
	}
	db.r = r
	// Bulk writes (attachment chunks) have a pool of their own, without the
	// write lock: a chunk's row names its attachment's, which the foreign
	// key keeps honest.
	b, err := openPostgres(dsn, 4, nil)
	if err != nil {
		db.Close()
		return nil, err
	}
	db.bulk = b
	// Session-level advisory locks (the instance's own, Exclusive's) each
	// hold a connection of this pool for as long as they are held; the
	// pool is not bounded, as the locks are few (one per background job).
	l, err := openPostgres(dsn, 0, nil)
	if err != nil {
		db.Close()
		return nil, err
	}
	l.SetMaxIdleConns(2)
	db.locks = l
	db.inst.mu.Lock()
	err = db.registerInstance(ctx)
	db.inst.mu.Unlock()
	if err != nil {
		db.Close()
		return nil, err
	}
	if _, err := db.SweepDeadInstances(ctx); err != nil {
		db.Close()
		return nil, err
	}
	db.startGrouper()
	return db, nil
}

// redactDSN keeps a connection error from quoting the password of dsn.
func redactDSN(err error, dsn string) error {
	msg := err.Error()
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.LastIndex(dsn, "@"); at > i {
			if colon := strings.Index(dsn[i+3:at], ":"); colon >= 0 {
				msg = strings.ReplaceAll(msg, dsn[i+3+colon+1:at], "***")
			}
		}
	}
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}

// migratePostgres applies PostgreSQL's migrations newer than the version
// in candour_schema, each in its own transaction with the version bump,
// all under migrateLock.
func (db *DB) migratePostgres(ctx context.Context) error {
	names, versions, err := pgMigrationFiles()
	if err != nil {
		return err
	}
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("failed to reach the PostgreSQL database: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(?)`, migrateLockKey); err != nil {
		return fmt.Errorf("failed to take the migration lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(?)`, migrateLockKey)
	current := 0
	var exists bool
	if err := conn.QueryRowContext(ctx, `SELECT to_regclass('candour_schema') IS NOT NULL`).Scan(&exists); err != nil {
		return fmt.Errorf("failed to read the schema version: %w", err)
	}
	if exists {
		if err := conn.QueryRowContext(ctx, `SELECT version FROM candour_schema WHERE id = 1`).Scan(&current); err != nil {
			return fmt.Errorf("failed to read the schema version: %w", err)
		}
	}
	if latest := versions[len(versions)-1]; current > latest {
		return fmt.Errorf("database schema version %d is newer than this build (%d): refusing to downgrade", current, latest)
	}
	for i, name := range names {
		if versions[i] <= current {
			continue
		}
		body, err := pgMigrations.ReadFile(name)
		if err != nil {
			return err
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		// The migration's text has no placeholders; it goes to the server as
		// written (several statements: the simple protocol).
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("failed to apply migration %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE candour_schema SET version = ? WHERE id = 1`, versions[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("failed to record migration %s: %w", name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("failed to commit migration %s: %w", name, err)
		}
	}
	return nil
}
