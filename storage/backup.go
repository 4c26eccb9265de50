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
	for attempt := 1; ; attempt++ {
		f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		f.Close()
		if err := db.copyTo(ctx, tmp); err != nil {
			return err
		}
		if db.backupHook != nil {
			db.backupHook()
		}
		err = db.copyChunks(ctx, tmp)
		if errors.Is(err, errChunkGone) && attempt < backupAttempts {
			if err := os.Remove(tmp); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		break
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
	q := url.Values{}
	q.Set("_journal_mode", "DELETE") // no WAL beside the copy while it is written
	q.Set("_synchronous", "OFF")     // the whole file is synced once complete
	q.Set("_foreign_keys", "on")
	q.Set("_secure_delete", "on")
	q.Set("_cache_size", "-2048")
	dst, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
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
