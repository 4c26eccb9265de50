package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// ChunksFileName is the file, beside FileName in the data folder, that holds
// the ciphertext chunks of every attachment written since migration 0023
// (attachments.chunks_apart = 1). Older attachments keep their chunks in
// FileName's attachment_chunks.
//
// Bulk ciphertext and the small records live apart because they want
// different durability. A report or a message must be on disk when its
// commit returns (candour.db: WAL, synchronous=FULL, an fsync per commit).
// An attachment's chunks need only be on disk before the message that names
// them commits: here each chunk's commit (WAL, synchronous=NORMAL) costs no
// fsync, and syncChunks makes them all durable with one fsync of the WAL
// when the attachment closes. Checkpoints do not run inside chunk commits
// either, nor ever inside candour.db's: every chunkCheckpointEvery of
// chunks, the goroutine storing an upload's chunks checkpoints between two
// commits (checkpointChunks), so the WAL stays small. Pages are 64 KiB: a 1 MiB chunk is 16 pages to write, not 256.
// The file has its own writer connection, so an upload's chunk commits
// never queue behind, or hold up, report and message commits.
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

// openChunkPool opens the chunk file: WAL, synchronous=NORMAL (see
// ChunksFileName), no automatic checkpoints (checkpointChunks runs them).
// The WAL is truncated back to at most chunkWALKeep after a checkpoint resets it. The
// page cache is small: a chunk passes through it once, and an upload's
// memory budget is tight.
func openChunkPool(path string, readOnly bool) *sql.DB {
	return openSQLite(path, readOnly, map[string]string{"_synchronous": "NORMAL", "_cache_size": "-1024"},
		"PRAGMA wal_autocheckpoint = 0", fmt.Sprintf("PRAGMA journal_size_limit = %d", chunkWALKeep))
}

const (
	// chunkCheckpointEvery is how much chunk data may go into the WAL
	// before a checkpoint copies it into the file and starts it again.
	chunkCheckpointEvery = 32 << 20
	// chunkWALKeep is what the WAL file is truncated to once reset.
	chunkWALKeep = 64 << 20
)

// chunkWAL is the state of the chunk file's WAL.
type chunkWAL struct {
	path string
	mu   sync.Mutex
	// pending is what chunk commits added to the WAL since the last
	// complete checkpoint.
	pending int64
	ckMu    sync.Mutex // held while checkpointChunks checkpoints
	// failed is set when an fsync of the WAL failed: after such a failure
	// Linux may report later fsyncs as successful although pages written
	// before were lost, so no chunk is acknowledged until a restart.
	failed error
}

// openChunks opens (creating if needed) the chunk file beside db's file
// with its writer and its readers, and brings its schema up to date.
func (db *DB) openChunks() error {
	path := filepath.Join(filepath.Dir(db.path), ChunksFileName)
	// A new file's page size can only be set before it is in WAL mode:
	// set it up, and migrate it, on a connection of its own that leaves
	// the journal mode alone, before the pools switch it to WAL.
	boot, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: path}).EscapedPath()+"?_txlock=immediate&_busy_timeout=10000")
	if err != nil {
		return fmt.Errorf("failed to open the chunk file: %w", err)
	}
	boot.SetMaxOpenConns(1)
	err = initChunks(boot)
	if cerr := boot.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	w := openChunkPool(path, false)
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.Ping(); err != nil {
		w.Close()
		return fmt.Errorf("failed to open the chunk file: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		w.Close()
		return fmt.Errorf("failed to restrict the chunk file's permissions: %w", err)
	}
	db.cw = w
	db.cr = openChunkPool(path, true)
	db.cr.SetMaxOpenConns(4)
	db.cwal = &chunkWAL{path: path + "-wal"}
	return nil
}

// checkpointChunks counts committed bytes of chunks and, every
// chunkCheckpointEvery of them, copies the chunk file's WAL into the file
// and has the next commit start the WAL again (RESTART: it waits, within
// the busy timeout, for a download reading a chunk), so the WAL stays near
// that size however uploads interleave. It runs on the chunk file's
// writer, between two chunk commits, in the goroutine that stores an
// upload's chunks: the upload goes on being received and encrypted
// meanwhile, and candour.db's commits never wait for it. (Run from another
// connection in the background, a checkpoint overlapped the next commit,
// the WAL was not started again, and it grew with every byte uploaded.)
func (db *DB) checkpointChunks(ctx context.Context, committed int64) error {
	cw := db.cwal
	cw.mu.Lock()
	cw.pending += committed
	due := cw.pending >= chunkCheckpointEvery
	cw.mu.Unlock()
	if !due {
		return nil
	}
	// One checkpoint at a time, each counting what it copied: two uploads
	// due at once must not both take their count off.
	cw.ckMu.Lock()
	defer cw.ckMu.Unlock()
	cw.mu.Lock()
	pending := cw.pending
	cw.mu.Unlock()
	if pending < chunkCheckpointEvery {
		return nil // the other upload's checkpoint copied it
	}
	err := db.checkpointChunkFile(ctx, "RESTART")
	if err == nil {
		// Complete: the next commit starts the WAL again.
		cw.mu.Lock()
		cw.pending -= pending
		cw.mu.Unlock()
	}
	return err
}

// checkpointChunkFile runs a checkpoint of the chunk file on its writer;
// mode is one of SQLite's, never input.
func (db *DB) checkpointChunkFile(ctx context.Context, mode string) error {
	var busy, logFrames, done int
	err := db.cw.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &logFrames, &done)
	if err != nil {
		return classify(fmt.Errorf("failed to checkpoint the chunk file: %w", err))
	}
	if busy != 0 || done != logFrames {
		return ErrCheckpointBusy
	}
	return nil
}

// syncChunks makes every chunk committed so far durable: one fsync of the
// chunk file's WAL, where commits at synchronous=NORMAL left them. What a
// checkpoint already copied into the file was synced by that checkpoint
// before the WAL could start again. AttachmentWriter.Close calls it, so a
// closed attachment's chunks are on disk before any message names it.
func (db *DB) syncChunks() error {
	db.cwal.mu.Lock()
	defer db.cwal.mu.Unlock()
	if db.cwal.failed != nil {
		return db.cwal.failed
	}
	f, err := os.Open(db.cwal.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // no WAL: everything is in the file, synced
	}
	if err != nil {
		return fmt.Errorf("failed to open the chunk file's WAL: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			return fmt.Errorf("%w: failed to sync the chunk file's WAL: %w", ErrFull, err)
		}
		db.cwal.failed = fmt.Errorf("an earlier fsync of the chunk file's WAL failed, so no attachment is accepted until a restart: %w", err)
		return db.cwal.failed
	}
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
// the chunk file's writer, durable once syncChunks returns.
//
// The chunk is refused if its attachment's row is gone from candour.db, as
// the foreign key of attachment_chunks refuses it there. The check runs
// inside the chunk file's write transaction, which a sweep cannot run
// beside: a row deleted after the check is swept after this commit.
func (db *DB) storeChunk(ctx context.Context, attachmentID, seq int64, data []byte) error {
	if db.pg {
		return db.storePgChunk(ctx, attachmentID, seq, data)
	}
	if db.cw == nil {
		return errors.New("the chunk file is open read-only")
	}
	err := runTx(ctx, db.cw.BeginTx, func(tx *sql.Tx) error {
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
	if err != nil {
		return err
	}
	if err := db.checkpointChunks(ctx, int64(len(data))); err != nil && !errors.Is(err, ErrCheckpointBusy) {
		return err
	}
	return nil
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
	// On PostgreSQL the chunks are in attachment_chunks, and the deletion
	// of their attachments cascaded to them.
	if len(ids) == 0 || db.pg {
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
// secure_delete on, the freed pages are zeroed; incremental_vacuum gives
// them back to the file system; and a TRUNCATE checkpoint writes the zeroed
// pages over the file's and empties the WAL, which held the old frames.
// On a full disk the zeroing itself may not fit in the WAL: the deletion is
// retried with secure_delete = FAST, which frees the pages without zeroing
// (what stays in them until reused is age ciphertext, never plaintext),
// and if even that does not fit, once more after the reserve file is
// given up (reserve.go).
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
	err := db.deleteOnFullDisk(func() error { return runTx(ctx, db.cw.BeginTx, fn) },
		func() error { return writeFastDelete(ctx, db.cw, fn) })
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
	// The zeroed pages are in the WAL: copy them over the old ones in the
	// file, and empty the WAL, which held the deleted chunks' frames too.
	// Readers in the middle of a download can hold the WAL back; the next
	// deletion's checkpoint, or the background ones, complete it.
	if err := db.checkpointChunkFile(ctx, "TRUNCATE"); err != nil && !errors.Is(err, ErrCheckpointBusy) {
		return err
	}
	db.keepReserve()
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
