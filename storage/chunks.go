package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/mattn/go-sqlite3"
)

// ChunksFileName is the file, beside FileName in the data folder, that holds
// the ciphertext chunks of every attachment written since migration 0023
// (attachments.chunks_apart = 1). Older attachments keep their chunks in
// FileName's attachment_chunks.
//
// Bulk ciphertext and the small records live apart because they want
// different journals. In candour.db (WAL) a 1 MiB chunk is written to the
// WAL and again by a checkpoint. Here, in rollback-journal mode with 64 KiB
// pages, a chunk appended to the file is not journaled at all: each byte is
// written once, and synchronous=FULL still makes every chunk durable at its
// commit. The file has its own writer connection, so an upload's chunk
// commits never queue behind, or hold up, report and message commits.
//
// Foreign keys cannot cross files: a chunk here names an attachment of
// candour.db by id, and sweepChunks deletes every chunk whose attachment is
// gone. An attachment's row is always committed before its first chunk,
// which is what makes a chunk without a row garbage.
const ChunksFileName = "candour-chunks.db"

// chunkMigrations are the chunk file's schema versions (PRAGMA
// user_version is their count), applied in order like migrations/*.sql.
var chunkMigrations = []string{
	`CREATE TABLE chunks (
		id             INTEGER PRIMARY KEY,
		attachment_id  INTEGER NOT NULL,
		seq            INTEGER NOT NULL,
		data           BLOB    NOT NULL,
		UNIQUE (attachment_id, seq)
	)`,
}

// openChunkPool opens the chunk file. The journal is truncated, never
// persisted, at each commit: a kept journal would hold the old content of
// the pages a deletion zeroed. The page cache is small: a chunk passes
// through it once, and an upload's memory budget is tight.
func openChunkPool(path string, readOnly bool) *sql.DB {
	q := url.Values{}
	q.Set("_journal_mode", "TRUNCATE")
	q.Set("_synchronous", "FULL")
	q.Set("_secure_delete", "on")
	q.Set("_busy_timeout", "10000")
	q.Set("_txlock", "immediate")
	q.Set("_cache_size", "-2048")
	if readOnly {
		q.Set("mode", "ro")
		q.Set("_txlock", "deferred")
		q.Set("_query_only", "on")
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	d := &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		_, err := c.Exec("PRAGMA temp_store = MEMORY", nil)
		return err
	}}
	return sql.OpenDB(connector{dsn: dsn, driver: d})
}

// openChunks opens (creating if needed) the chunk file beside db's file
// with its writer and its readers, and brings its schema up to date.
func (db *DB) openChunks() error {
	path := filepath.Join(filepath.Dir(db.path), ChunksFileName)
	w := openChunkPool(path, false)
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := initChunks(w); err != nil {
		w.Close()
		return err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		w.Close()
		return fmt.Errorf("failed to restrict the chunk file's permissions: %w", err)
	}
	db.cw = w
	db.cr = openChunkPool(path, true)
	db.cr.SetMaxOpenConns(4)
	return nil
}

// initChunks sets a new chunk file's page size and vacuum mode, which only
// take effect before its first table, and applies the migrations it lacks.
func initChunks(w *sql.DB) error {
	var v int
	if err := w.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("failed to open the chunk file: %w", err)
	}
	if v > len(chunkMigrations) {
		return fmt.Errorf("chunk file schema version %d is newer than this build (%d): refusing to downgrade", v, len(chunkMigrations))
	}
	if v == 0 {
		for _, p := range []string{"PRAGMA page_size = 65536", "PRAGMA auto_vacuum = INCREMENTAL"} {
			if _, err := w.Exec(p); err != nil {
				return fmt.Errorf("failed to set up the chunk file: %w", err)
			}
		}
	}
	for ; v < len(chunkMigrations); v++ {
		tx, err := w.Begin()
		if err != nil {
			return fmt.Errorf("failed to set up the chunk file: %w", err)
		}
		if _, err := tx.Exec(chunkMigrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("failed to apply chunk file migration %d: %w", v+1, err)
		}
		// PRAGMA takes no bound parameters; v is an integer we made.
		if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("failed to commit chunk file migration %d: %w", v+1, err)
		}
	}
	return nil
}

// openChunksReadOnly opens the chunk file for reading, if there is one, for
// a tool beside the server. Without it, only attachments kept in candour.db
// can be read.
func (db *DB) openChunksReadOnly() error {
	path := filepath.Join(filepath.Dir(db.path), ChunksFileName)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	r := openChunkPool(path, true)
	var v int
	if err := r.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		r.Close()
		return fmt.Errorf("failed to open the chunk file: %w", err)
	}
	if v != len(chunkMigrations) {
		r.Close()
		return fmt.Errorf("chunk file schema is version %d, this build expects %d: run `candour serve` once to migrate", v, len(chunkMigrations))
	}
	db.cr = r
	return nil
}

// storeChunk commits one chunk of an attachment in its own transaction on
// the chunk file's writer: durable when it returns nil.
//
// The chunk is refused if its attachment's row is gone from candour.db, as
// the foreign key of attachment_chunks refuses it there. The check runs
// inside the chunk file's write transaction, which a sweep cannot run
// beside: a row deleted after the check is swept after this commit.
func (db *DB) storeChunk(ctx context.Context, attachmentID, seq int64, data []byte) error {
	if db.cw == nil {
		return errors.New("the chunk file is open read-only")
	}
	return runTx(ctx, db.cw.BeginTx, func(tx *sql.Tx) error {
		var n int
		err := db.r.QueryRowContext(ctx,
			`SELECT count(*) FROM attachments WHERE id = ? AND chunks_apart = 1`, attachmentID).Scan(&n)
		if err != nil {
			return fmt.Errorf("failed to find the attachment: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("attachment %d: %w", attachmentID, ErrNotFound)
		}
		_, err = insertRandomID(ctx, tx,
			`INSERT INTO chunks (id, attachment_id, seq, data) VALUES (?, ?, ?, ?)`, attachmentID, seq, data)
		return err
	})
}

// sweepChunks deletes from the chunk file every chunk whose attachment is
// not a chunks_apart row of candour.db: what a crash between a deletion and
// its deleteChunks left, or a restored backup. It runs at Open; after a
// deletion, deleteChunks deletes just the chunks of the attachments it
// deleted, so that deleting one case does not read every attachment.
//
// The sweep is one write transaction on the chunk file, begun (IMMEDIATE)
// before candour.db is read: no chunk can be committed meanwhile, and every
// chunk present was committed after its attachment's row, so a chunk whose
// row the read does not find belongs to an attachment already deleted.
func (db *DB) sweepChunks(ctx context.Context) error {
	return db.removeChunks(ctx, db.deleteStrayChunks)
}

// deleteChunks deletes the chunks of the attachments ids, which a deletion
// just committed has removed from candour.db, from the chunk file. Inside
// a Change it runs once the change commits.
//
// A chunk of one of them committed meanwhile cannot outlive it: storeChunk
// checks, inside the chunk file's write transaction, that the attachment's
// row is still there, and this deletion runs after the row's deletion
// committed, in a transaction of that same file.
func (db *DB) deleteChunks(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if ch := changeOf(ctx, db); ch != nil {
		ch.after = append(ch.after, func(ctx context.Context) error { return db.deleteChunks(ctx, ids) })
		return nil
	}
	return db.removeChunks(ctx, func(ctx context.Context, tx *sql.Tx) (int, error) {
		n := 0
		for _, id := range ids {
			res, err := tx.ExecContext(ctx, `DELETE FROM chunks WHERE attachment_id = ?`, id)
			if err != nil {
				return 0, err
			}
			if k, err := res.RowsAffected(); err != nil {
				return 0, err
			} else if k > 0 {
				n++
			}
		}
		return n, nil
	})
}

// removeChunks runs del, which deletes chunks and says of how many
// attachments, in one write transaction on the chunk file. With
// secure_delete on, the freed pages are zeroed; the journal, which holds
// their old content until the commit, is then truncated; and
// incremental_vacuum gives the pages back to the file system. On a full
// disk the zeroing itself may not fit in the journal: the deletion is
// retried with secure_delete = FAST, which frees the pages without zeroing
// (what stays in them until reused is age ciphertext, never plaintext).
func (db *DB) removeChunks(ctx context.Context, del func(ctx context.Context, tx *sql.Tx) (int, error)) error {
	if db.cw == nil {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	var n int
	fn := func(tx *sql.Tx) error {
		var err error
		n, err = del(ctx, tx)
		return err
	}
	err := runTx(ctx, db.cw.BeginTx, fn)
	if errors.Is(err, ErrFull) {
		err = writeFastDelete(ctx, db.cw, fn)
	}
	if err != nil {
		return fmt.Errorf("failed to delete chunks: %w", err)
	}
	if n == 0 {
		return nil
	}
	if err := incrementalVacuum(ctx, db.cw); err != nil && !errors.Is(err, ErrFull) {
		// On a full disk the pages stay free inside the file, for the next
		// chunks, until a later deletion returns them.
		return fmt.Errorf("failed to reclaim the chunk file's space: %w", err)
	}
	return nil
}

// deleteStrayChunks is the body of sweepChunks, in tx on the chunk file,
// and returns how many attachments' chunks it deleted.
func (db *DB) deleteStrayChunks(ctx context.Context, tx *sql.Tx) (int, error) {
	kept := map[int64]bool{}
	rows, err := db.r.QueryContext(ctx, `SELECT id FROM attachments WHERE chunks_apart = 1`)
	if err != nil {
		return 0, fmt.Errorf("failed to list attachments: %w", err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		kept[id] = true
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, fmt.Errorf("failed to list attachments: %w", err)
	}
	rows, err = tx.QueryContext(ctx, `SELECT DISTINCT attachment_id FROM chunks`)
	if err != nil {
		return 0, fmt.Errorf("failed to list chunks: %w", err)
	}
	var stray []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		if !kept[id] {
			stray = append(stray, id)
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, fmt.Errorf("failed to list chunks: %w", err)
	}
	for _, id := range stray {
		if _, err := tx.ExecContext(ctx, `DELETE FROM chunks WHERE attachment_id = ?`, id); err != nil {
			return 0, err
		}
	}
	return len(stray), nil
}

// incrementalVacuum gives a database's free pages back to the file system.
// The pragma frees one page per step: it is read to the end.
func incrementalVacuum(ctx context.Context, w *sql.DB) error {
	rows, err := w.QueryContext(ctx, `PRAGMA incremental_vacuum`)
	if err != nil {
		return classify(err)
	}
	for rows.Next() {
	}
	return classify(errors.Join(rows.Err(), rows.Close()))
}

// chunkCount is the number of chunks in the chunk file (0 without one).
func (db *DB) chunkCount(ctx context.Context) (int64, error) {
	if db.cr == nil {
		return 0, nil
	}
	var n int64
	err := db.cr.QueryRowContext(ctx, `SELECT count(*) FROM chunks`).Scan(&n)
	return n, err
}
