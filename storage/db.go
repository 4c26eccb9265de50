package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-sqlite3"
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("not found")

// ErrFull is returned (wrapped) when a write failed because the disk (or
// the database) is full. The transaction was rolled back: nothing of it is
// stored.
var ErrFull = errors.New("storage full")

// classify marks an error that means the disk is full with ErrFull, so that
// callers can tell the reporter so rather than fail with a generic error.
func classify(err error) error {
	if err == nil || errors.Is(err, ErrFull) {
		return err
	}
	var se sqlite3.Error
	if errors.As(err, &se) && (se.Code == sqlite3.ErrFull || se.SystemErrno == syscall.ENOSPC) {
		return fmt.Errorf("%w: %w", ErrFull, err)
	}
	// PostgreSQL: disk_full, and its class's generic
	// insufficient_resources.
	if pe, ok := pgError(err); ok && (pe.Code == "53100" || pe.Code == "53000") {
		return fmt.Errorf("%w: %w", ErrFull, err)
	}
	return err
}

// FileName is the database file inside the data folder.
const FileName = "candour.db"

// Coarseness is the resolution of every timestamp stored for a case or a
// message. A precise time of submission can identify a reporter (a shift
// pattern, a single officer on duty), so the database keeps only the day.
const Coarseness = 24 * time.Hour

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a Candour database.
type DB struct {
	path     string
	w        *sql.DB // one connection: the only writer
	r        *sql.DB // read-only pool
	cw       *sql.DB // the chunk file's only writer (chunks.go); nil for tools
	cwal     *chunkWAL
	cr       *sql.DB // the chunk file's read-only pool; nil without a chunk file
	readOnly bool
	pg       bool     // PostgreSQL (engine.go), not SQLite
	bulk     *sql.DB  // PostgreSQL: the pool attachment chunks are written through
	group    *grouper // group commit of messages (see group.go); nil for tools
	locks    *sql.DB  // PostgreSQL: connections holding session-level advisory locks (exclusive.go, instances.go); nil for tools
	inst     instance // PostgreSQL: this instance's registration (instances.go)
	excl     exclusiveLocks

	// backupHook, if set (by tests), runs in Backup between the snapshot
	// and the copy of the chunk file's chunks.
	backupHook func()

	// Now is the clock; tests may replace it before use.
	Now func() time.Time

	// submissions counts the submission budget on SQLite, in memory
	// (TakeSubmission).
	submissions submissionCount
}

type connector struct {
	dsn    string
	driver *sqlite3.SQLiteDriver
}

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.driver.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return c.driver }

func openPool(path string, readOnly bool) *sql.DB {
	k, v := stmtCacheParam()
	return openSQLite(path, readOnly, map[string]string{"_synchronous": "FULL", "_foreign_keys": "on", k: v})
}

// openSQLite opens a pool of connections to the SQLite file at path, as
// every Candour database is opened: WAL, secure_delete, a busy timeout,
// write transactions that take the lock at BEGIN, temporary tables in
// memory; then params (DSN parameters of go-sqlite3) and pragmas (run on
// each new connection) of the caller's. Read-only pools are opened
// read-only and query-only, with deferred transactions.
func openSQLite(path string, readOnly bool, params map[string]string, pragmas ...string) *sql.DB {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_secure_delete", "on")
	q.Set("_busy_timeout", "10000")
	q.Set("_txlock", "immediate")
	for k, v := range params {
		q.Set(k, v)
	}
	if readOnly {
		q.Set("mode", "ro")
		q.Set("_txlock", "deferred")
		q.Set("_query_only", "on")
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	// Sorts and temporary indexes stay in memory: nothing spills to a
	// temp file beside the database.
	pragmas = append([]string{"PRAGMA temp_store = MEMORY"}, pragmas...)
	d := &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		for _, p := range pragmas {
			if _, err := c.Exec(p, nil); err != nil {
				return err
			}
		}
		return nil
	}}
	return sql.OpenDB(connector{dsn: dsn, driver: d})
}

// Open opens (creating if needed) the database in dataDir, with its chunk
// file (ChunksFileName), and migrates both to the current schema. It also
// removes attachments left pending by an upload that never finished (a
// crash or a kill mid-upload), and chunks that no attachment names.
func Open(dataDir string) (*DB, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("failed to create data folder: %w", err)
	}
	path := filepath.Join(dataDir, FileName)
	db := &DB{path: path, w: openPool(path, false), Now: time.Now}
	db.w.SetMaxOpenConns(1)
	db.w.SetMaxIdleConns(1)
	db.w.SetConnMaxLifetime(0)
	if err := db.w.Ping(); err != nil {
		db.w.Close()
		return nil, fmt.Errorf("failed to open database: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		db.w.Close()
		return nil, fmt.Errorf("failed to restrict database permissions: %w", err)
	}
	if err := db.incrementalVacuum(); err != nil {
		db.w.Close()
		return nil, err
	}
	if err := db.migrate(); err != nil {
		db.w.Close()
		return nil, err
	}
	db.r = openPool(path, true)
	db.r.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)*2))
	if err := db.openChunks(); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.deletePending(context.Background()); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.sweepChunks(context.Background()); err != nil {
		db.Close()
		return nil, err
	}
	db.keepReserve()
	db.startGrouper()
	return db, nil
}

// OpenTool opens an existing database for a command-line tool that runs
// beside the server (export, say) and writes only small records such as an
// audit entry. Unlike Open it neither migrates nor deletes pending uploads,
// which may belong to the running server. The chunk file, if any, is open
// for reading only: a tool stores no attachment.
func OpenTool(dataDir string) (*DB, error) {
	path := filepath.Join(dataDir, FileName)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no database in %s: %w", dataDir, err)
	}
	db := &DB{path: path, w: openPool(path, false), r: openPool(path, true), Now: time.Now}
	db.w.SetMaxOpenConns(1)
	var v int
	if err := db.r.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		db.Close()
		return nil, fmt.Errorf("failed to open database: %w", err)
	}
	if want := schemaVersion(); v != want {
		db.Close()
		return nil, fmt.Errorf("database schema is version %d, this build expects %d: run `candour serve` once to migrate", v, want)
	}
	if err := db.openChunksReadOnly(); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// OpenReadOnly opens an existing database for reading only, for example to
// export it while the server runs.
func OpenReadOnly(dataDir string) (*DB, error) {
	path := filepath.Join(dataDir, FileName)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no database in %s: %w", dataDir, err)
	}
	db := &DB{path: path, r: openPool(path, true), readOnly: true, Now: time.Now}
	var v int
	if err := db.r.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		db.r.Close()
		return nil, fmt.Errorf("failed to open database: %w", err)
	}
	if want := schemaVersion(); v != want {
		db.r.Close()
		return nil, fmt.Errorf("database schema is version %d, this build expects %d: run `candour serve` once to migrate", v, want)
	}
	if err := db.openChunksReadOnly(); err != nil {
		db.r.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the database.
func (db *DB) Close() error {
	db.stopGrouper()
	var errs []error
	if db.locks != nil {
		errs = append(errs, db.closeInstance())
	}
	if db.r != nil {
		errs = append(errs, db.r.Close())
	}
	if db.w != nil {
		errs = append(errs, db.w.Close())
	}
	for _, p := range []*sql.DB{db.cr, db.cw, db.bulk, db.locks} {
		if p != nil {
			errs = append(errs, p.Close())
		}
	}
	return errors.Join(errs...)
}

// Path is the database file.
func (db *DB) Path() string { return db.path }

func (db *DB) coarseNow() int64 { return db.Now().UTC().Truncate(Coarseness).Unix() }

// schemaVersion is the number of the newest embedded migration.
func schemaVersion() int {
	names := migrationFiles()
	n, _ := strconv.Atoi(strings.SplitN(filepath.Base(names[len(names)-1]), "_", 2)[0])
	return n
}

func migrationFiles() []string {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		panic(err) // the pattern is constant
	}
	sort.Strings(names)
	return names
}

// incrementalVacuum makes sure the database can give freed pages back to
// the file system after a deletion (PRAGMA incremental_vacuum).
func (db *DB) incrementalVacuum() error {
	var mode int
	if err := db.w.QueryRow("PRAGMA auto_vacuum").Scan(&mode); err != nil {
		return fmt.Errorf("failed to read auto_vacuum: %w", err)
	}
	if mode == 2 {
		return nil
	}
	if _, err := db.w.Exec("PRAGMA auto_vacuum = INCREMENTAL"); err != nil {
		return fmt.Errorf("failed to set auto_vacuum: %w", err)
	}
	// In WAL mode the setting takes effect only through a VACUUM, which is
	// instant on a new database and done once on an old one.
	if _, err := db.w.Exec("VACUUM"); err != nil {
		return fmt.Errorf("failed to convert the database to incremental vacuum: %w", err)
	}
	return nil
}

// migrate runs every embedded migration newer than PRAGMA user_version, each
// in its own transaction together with the version bump.
func (db *DB) migrate() error {
	var current int
	if err := db.w.QueryRow("PRAGMA user_version").Scan(&current); err != nil {
		return fmt.Errorf("failed to read schema version: %w", err)
	}
	names := migrationFiles()
	// A migration's version is its number. Numbers increase; a number may
	// be missing while it is reserved for work on another branch (0016,
	// as of 0017_notifications.sql), which fills it before a release.
	versions := make([]int, len(names))
	for i, name := range names {
		n, err := strconv.Atoi(strings.SplitN(filepath.Base(name), "_", 2)[0])
		if err != nil || n <= 0 || (i > 0 && n <= versions[i-1]) {
			return fmt.Errorf("migration %s is out of sequence", name)
		}
		versions[i] = n
	}
	if latest := versions[len(versions)-1]; current > latest {
		return fmt.Errorf("database schema version %d is newer than this build (%d): refusing to downgrade", current, latest)
	}
	for i, name := range names {
		version := versions[i]
		if version <= current {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		tx, err := db.w.Begin()
		if err != nil {
			return err
		}
		if _, err := tx.Exec(string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("failed to apply migration %s: %w", name, err)
		}
		// PRAGMA takes no bound parameters; version is an integer we made.
		if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", version)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("failed to commit migration %s: %w", name, err)
		}
	}
	return nil
}

// write runs fn in one immediate write transaction and commits it durably.
// Inside a Change (ctx says so), fn joins the change's transaction instead.
func (db *DB) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if db.readOnly {
		return errors.New("database opened read-only")
	}
	if ch := changeOf(ctx, db); ch != nil {
		return classify(fn(ch.tx))
	}
	return runTx(ctx, db.beginWrite, fn)
}

// runTx runs fn in a transaction from begin and commits it.
func runTx(ctx context.Context, begin func(context.Context, *sql.TxOptions) (*sql.Tx, error), fn func(tx *sql.Tx) error) error {
	tx, err := begin(ctx, nil)
	if err != nil {
		return classify(fmt.Errorf("failed to begin transaction: %w", err))
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return classify(err)
	}
	if err := tx.Commit(); err != nil {
		return classify(fmt.Errorf("failed to commit: %w", err))
	}
	return nil
}

// IntegrityCheck runs PRAGMA integrity_check and returns an error unless the
// database is sound.
//
// On PostgreSQL, which checks its own pages, it checks what Candour adds:
// that every linked attachment has all its chunks (pgIntegrityCheck).
func (db *DB) IntegrityCheck(ctx context.Context) error {
	if db.pg {
		return pgIntegrityCheck(ctx, db.r)
	}
	var res string
	if err := db.r.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return err
	}
	if res != "ok" {
		return fmt.Errorf("integrity check failed: %s", res)
	}
	return nil
}
