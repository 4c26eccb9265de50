package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/mattn/go-sqlite3"
)

// Backup writes a consistent copy of the database to dest with SQLite's
// online backup API, while the server goes on running: the copy is taken
// from one read snapshot, so it never holds half of a transaction. The copy
// holds what the database holds (ciphertext and the index around it), so it
// needs the same protection. dest must not exist; it is written beside
// itself under a temporary name, synced, checked and then renamed, so a
// failed backup never leaves a file that looks complete.
//
// The copy is one file, restored by copying it to candour.db: the chunks of
// the attachments kept in the chunk file are copied into it, attachment by
// attachment, after the snapshot (copyChunks), and it names them as kept
// in candour.db. A linked attachment's chunks never change; the one hazard
// is a deletion between the snapshot and the copy of its chunks. The
// backup is a tool beside the server, in another process, so no lock in
// memory can hold such a deletion back: instead a missing chunk makes the
// backup start again from a new snapshot, which no longer names the
// deleted case. Deletions are rare; after backupAttempts in a row the
// backup fails and can be run again.
//
// On PostgreSQL the copy is the same SQLite file, written from one
// snapshot of the PostgreSQL database (copyFromPostgres).
func (db *DB) Backup(ctx context.Context, dest string) (err error) {
	if _, err := os.Lstat(dest); err == nil {
		return fmt.Errorf("%s already exists", dest)
	}
	tmp := dest + ".partial"
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if db.pg {
		err = db.copyFromPostgres(ctx, tmp)
	} else {
		err = db.copySQLite(ctx, tmp)
	}
	if err != nil {
		return err
	}
	if err := checkCopy(tmp); err != nil {
		return err
	}
	if err := syncFile(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, dest); err != nil {
		return err
	}
	return syncFile(filepath.Dir(dest))
}

// copySQLite writes the copy of a SQLite database to path (Backup).
func (db *DB) copySQLite(ctx context.Context, path string) error {
	for attempt := 1; ; attempt++ {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		f.Close()
		if err := db.copyTo(ctx, path); err != nil {
			return err
		}
		if db.backupHook != nil {
			db.backupHook()
		}
		err = db.copyChunks(ctx, path)
		if errors.Is(err, errChunkGone) && attempt < backupAttempts {
			if err := os.Remove(path); err != nil {
				return err
			}
			continue
		}
		return err
	}
}

// A backup of a PostgreSQL database is the same file as a SQLite one: a
// SQLite database of storage's current schema, restored by copying it to
// candour.db (or, later, into PostgreSQL by migrate-db). It is written by
// copyFromPostgres: a fresh SQLite database is made with storage's
// migrations, emptied of their seed rows, and filled with every row of
// every table of the PostgreSQL database, read in one REPEATABLE READ READ
// ONLY transaction, so that it holds no half of any transaction and every
// chunk of every attachment it names (they are in the same database). As
// on SQLite, pending attachments (uploads in progress) are left out.

// pgBackupFilters leave out of a backup of PostgreSQL the pending
// attachments and their chunks, and the reporters' live sessions and the
// receipts of new reports (reporter_session.go): minutes-long state,
// sealed under keys only reporters hold, that a restored copy has no use
// for and a backup should not carry.
var pgBackupFilters = map[string]string{
	// The submission budget's count per minute (shared_limits.go): it
	// would place reports among timed staff actions.
	"submission_counts": ` WHERE 1 = 0`,
	"attachments":       ` WHERE message_id IS NOT NULL`,
	"attachment_chunks": ` WHERE attachment_id IN (SELECT id FROM attachments WHERE message_id IS NOT NULL)`,
	"reporter_sessions": ` WHERE 1 = 0`,
	"report_receipts":   ` WHERE 1 = 0`,
}

// pgOnlyTables are PostgreSQL's tables that a SQLite database has no
// twin of: the schema version, which SQLite keeps in PRAGMA user_version.
var pgOnlyTables = map[string]bool{"candour_schema": true}

// copyFromPostgres writes to path, which must not exist, a SQLite copy of
// db, a PostgreSQL database (see above).
func (db *DB) copyFromPostgres(ctx context.Context, path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	dst, err := openBackupCopy(path)
	if err != nil {
		return err
	}
	defer dst.Close()
	dst.SetMaxOpenConns(1)
	// As Open makes a new database: incremental vacuum, set before the
	// first table, so that the restored database needs no VACUUM.
	if _, err := dst.ExecContext(ctx, `PRAGMA auto_vacuum = INCREMENTAL`); err != nil {
		return fmt.Errorf("failed to set up the backup: %w", err)
	}
	if err := (&DB{w: dst}).migrate(); err != nil {
		return fmt.Errorf("failed to set up the backup: %w", err)
	}
	tables, err := backupTables(ctx, dst)
	if err != nil {
		return err
	}
	src, err := db.beginSnapshot(ctx)
	if err != nil {
		return fmt.Errorf("failed to begin the backup's snapshot: %w", err)
	}
	defer src.Rollback()
	if err := checkPgTables(ctx, src, tables); err != nil {
		return err
	}
	if err := pgIntegrityCheck(ctx, src); err != nil {
		return fmt.Errorf("the database cannot be backed up: %w", err)
	}
	return runTx(ctx, dst.BeginTx, func(tx *sql.Tx) error {
		// The migrations' seed rows go (children first, so nothing
		// cascades), save the audit head, which cannot be deleted: the
		// copy overwrites it instead.
		for i := len(tables) - 1; i >= 0; i-- {
			if tables[i].name == "audit_head" {
				continue
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM "`+tables[i].name+`"`); err != nil {
				return fmt.Errorf("failed to empty %s in the backup: %w", tables[i].name, err)
			}
		}
		for _, t := range tables {
			if err := copyPgTable(ctx, src, tx, t); err != nil {
				return err
			}
		}
		return nil
	})
}

// backupTable is a table of the copy with its columns.
type backupTable struct {
	name    string
	columns []string
	parents []string // tables its foreign keys name
}

// backupTables lists the tables of the SQLite database d (storage's schema)
// in an order where every table comes after those its foreign keys name.
func backupTables(ctx context.Context, d *sql.DB) ([]backupTable, error) {
	names, err := queryStrings(ctx, d, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("failed to list the backup's tables: %w", err)
	}
	byName := map[string]*backupTable{}
	for _, name := range names {
		t := &backupTable{name: name}
		if t.columns, err = queryStrings(ctx, d, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, name); err != nil {
			return nil, fmt.Errorf("failed to list the columns of %s: %w", name, err)
		}
		if t.parents, err = queryStrings(ctx, d, `SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)`, name); err != nil {
			return nil, fmt.Errorf("failed to list the foreign keys of %s: %w", name, err)
		}
		byName[name] = t
	}
	var order []backupTable
	state := map[string]int{} // 1: being placed, 2: placed
	var place func(name string) error
	place = func(name string) error {
		switch state[name] {
		case 1:
			return fmt.Errorf("the foreign keys of %s form a cycle", name)
		case 2:
			return nil
		}
		t, ok := byName[name]
		if !ok {
			return fmt.Errorf("a foreign key names %s, which is not a table", name)
		}
		state[name] = 1
		for _, p := range t.parents {
			if err := place(p); err != nil {
				return err
			}
		}
		state[name] = 2
		order = append(order, *t)
		return nil
	}
	for _, name := range names {
		if err := place(name); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// checkPgTables makes sure that every table of the PostgreSQL database
// has its twin among tables, so that a backup leaves nothing out.
func checkPgTables(ctx context.Context, src *sql.Tx, tables []backupTable) error {
	pg, err := queryStrings(ctx, src, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	if err != nil {
		return fmt.Errorf("failed to list the database's tables: %w", err)
	}
	have := map[string]bool{}
	for _, t := range tables {
		have[t.name] = true
	}
	for _, name := range pg {
		if !have[name] && !pgOnlyTables[name] {
			return fmt.Errorf("the database has a table %s that a backup has no place for", name)
		}
	}
	return nil
}

// copyPgTable copies table t's rows from src (PostgreSQL) into tx (the
// copy), one row in memory at a time.
func copyPgTable(ctx context.Context, src *sql.Tx, tx *sql.Tx, t backupTable) error {
	filter := pgBackupFilters[t.name]
	if t.name == "instances" {
		// The instances running now (instances.go) mean nothing in a
		// restored database, and no linked attachment names one.
		filter = ` WHERE 1 = 0`
	}
	return copyRows(ctx, src, tx, t, filter, nil)
}

// copyRows copies the rows of table t that filter (a WHERE clause, or "")
// keeps from src into dst, one row in memory at a time, passing each
// value through convert (by column) if it is not nil. The one row of
// audit_head is in dst already (it cannot be deleted) and is overwritten.
func copyRows(ctx context.Context, src, dst *sql.Tx, t backupTable, filter string, convert func(v any, column string) any) error {
	cols := `"` + strings.Join(t.columns, `", "`) + `"`
	rows, err := src.QueryContext(ctx, `SELECT `+cols+` FROM "`+t.name+`"`+filter)
	if err != nil {
		return fmt.Errorf("failed to read %s: %w", t.name, err)
	}
	defer rows.Close()
	insert := `INSERT INTO "` + t.name + `" (` + cols + `) VALUES (?` + strings.Repeat(", ?", len(t.columns)-1) + `)`
	if t.name == "audit_head" {
		set := make([]string, len(t.columns))
		for i, c := range t.columns {
			set[i] = `"` + c + `" = excluded."` + c + `"`
		}
		insert += ` ON CONFLICT (id) DO UPDATE SET ` + strings.Join(set, ", ")
	}
	stmt, err := dst.PrepareContext(ctx, insert)
	if err != nil {
		return fmt.Errorf("failed to copy %s: %w", t.name, err)
	}
	defer stmt.Close()
	vals := make([]any, len(t.columns))
	ptrs := make([]any, len(t.columns))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("failed to read %s: %w", t.name, err)
		}
		if convert != nil {
			for i, c := range t.columns {
				vals[i] = convert(vals[i], c)
			}
		}
		if _, err := stmt.ExecContext(ctx, vals...); err != nil {
			return fmt.Errorf("failed to copy a row of %s: %w", t.name, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("failed to read %s: %w", t.name, err)
	}
	return nil
}

// queryStrings returns the one text column of query's rows.
func queryStrings(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// backupAttempts bounds how many snapshots a backup takes when attachments
// are deleted while it copies their chunks.
const backupAttempts = 5

// errChunkGone means a chunk the snapshot names was deleted since.
var errChunkGone = errors.New("attachments were deleted while the backup ran: run it again")

func (db *DB) copyTo(ctx context.Context, path string) error {
	dc, err := (&sqlite3.SQLiteDriver{}).Open("file:" + path)
	if err != nil {
		return err
	}
	dst := dc.(*sqlite3.SQLiteConn)
	defer dst.Close()
	conn, err := db.r.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(raw any) error {
		src, ok := raw.(*sqlite3.SQLiteConn)
		if !ok {
			return errors.New("unexpected database driver")
		}
		b, err := dst.Backup("main", src, "main")
		if err != nil {
			return err
		}
		// One step: the whole copy comes from a single read snapshot.
		done, err := b.Step(-1)
		if ferr := b.Finish(); err == nil {
			err = ferr
		}
		if err == nil && !done {
			err = errors.New("backup did not complete")
		}
		return err
	})
}

// copyChunks copies into the copy at path the chunks of every linked
// attachment that it names as kept in the chunk file, one chunk per read
// (a long read transaction on the chunk file would hold up every upload's
// commits), and marks them kept in the copy. Pending attachments of the
// chunk file are dropped from the copy: uploads in progress, which a
// restored database would delete at its first start anyway.
func (db *DB) copyChunks(ctx context.Context, path string) error {
	dst, err := openBackupCopy(path)
	if err != nil {
		return err
	}
	defer dst.Close()
	dst.SetMaxOpenConns(1)
	if _, err := dst.ExecContext(ctx, `DELETE FROM attachments WHERE chunks_apart = 1 AND message_id IS NULL`); err != nil {
		return fmt.Errorf("failed to drop uploads in progress from the backup: %w", err)
	}
	rows, err := dst.QueryContext(ctx, `SELECT id, chunks FROM attachments WHERE chunks_apart = 1`)
	if err != nil {
		return err
	}
	var apart []AttachmentInfo
	for rows.Next() {
		var a AttachmentInfo
		if err := rows.Scan(&a.ID, &a.Chunks); err != nil {
			rows.Close()
			return err
		}
		apart = append(apart, a)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	if len(apart) > 0 && db.cr == nil {
		return fmt.Errorf("the database keeps attachments in %s, which is missing", ChunksFileName)
	}
	var data []byte
	for _, a := range apart {
		err := runTx(ctx, dst.BeginTx, func(tx *sql.Tx) error {
			for seq := range a.Chunks {
				err := db.cr.QueryRowContext(ctx, chunkQuery, a.ID, seq).Scan(&data)
				if errors.Is(err, sql.ErrNoRows) {
					return errChunkGone
				}
				if err != nil {
					return fmt.Errorf("failed to read chunk %d of attachment %d: %w", seq, a.ID, err)
				}
				if _, err := insertRandomID(ctx, tx,
					`INSERT INTO attachment_chunks (id, attachment_id, seq, data) VALUES (?, ?, ?, ?)`, a.ID, seq, data); err != nil {
					return fmt.Errorf("failed to copy chunk %d of attachment %d: %w", seq, a.ID, err)
				}
			}
			_, err := tx.ExecContext(ctx, `UPDATE attachments SET chunks_apart = 0 WHERE id = ?`, a.ID)
			return err
		})
		if err != nil {
			return err
		}
	}
	// The copy stays in rollback-journal mode, a single file however it is
	// opened; Open turns a restored copy back to WAL.
	return nil
}

// checkCopy opens the copy on its own and checks it is a sound database of
// this schema that holds every chunk of its linked attachments.
func checkCopy(path string) error {
	// As it is, in rollback-journal mode: nothing is written beside it.
	d, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro")
	if err != nil {
		return err
	}
	defer d.Close()
	var res string
	if err := d.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil {
		return fmt.Errorf("the backup could not be checked: %w", err)
	}
	if res != "ok" {
		return fmt.Errorf("the backup failed its integrity check: %s", res)
	}
	var v int
	if err := d.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if v != schemaVersion() {
		return fmt.Errorf("the backup has schema version %d, want %d", v, schemaVersion())
	}
	var apart, incomplete int
	err = d.QueryRow(`SELECT
		(SELECT count(*) FROM attachments WHERE chunks_apart = 1),
		(SELECT count(*) FROM attachments a WHERE a.message_id IS NOT NULL
		  AND a.chunks != (SELECT count(*) FROM attachment_chunks c WHERE c.attachment_id = a.id))`).Scan(&apart, &incomplete)
	if err != nil {
		return fmt.Errorf("the backup could not be checked: %w", err)
	}
	if apart != 0 || incomplete != 0 {
		return fmt.Errorf("the backup is missing the chunks of %d attachments", apart+incomplete)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// openBackupCopy opens the backup being written at path: in
// rollback-journal mode (no WAL beside the copy while it is written),
// unsynced (the whole file is synced once complete), with foreign keys and
// secure_delete as Candour's databases have them.
func openBackupCopy(path string) (*sql.DB, error) {
	q := url.Values{}
	q.Set("_journal_mode", "DELETE")
	q.Set("_synchronous", "OFF")
	q.Set("_foreign_keys", "on")
	q.Set("_secure_delete", "on")
	q.Set("_cache_size", "-2048")
	q.Set("_txlock", "immediate")
	return sql.Open("sqlite3", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
}
