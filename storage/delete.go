package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// DeleteCase deletes a case with everything it holds (messages,
// attachments and their chunks, notes, read markers) in one transaction,
// then deletes its attachments' chunks from the chunk file (deleteChunks),
// returns the freed pages to the file system and checkpoints and
// truncates the WAL. With secure_delete on, SQLite
// overwrites the freed pages with zeros, so the deleted ciphertext is gone
// from both files, and the truncations remove the WAL's and the journal's
// copies. Inside a Change, the chunks' deletion, reclaiming and checkpoint
// run after its commit.
func (db *DB) DeleteCase(ctx context.Context, caseID int64) error {
	return db.deleteCase(ctx, caseID, nil)
}

// ErrNotExpired means a case listed by ExpiredCases is no longer past its
// retention: since the list was read, it was put on legal hold, reopened,
// or its retention (or the organisation's) was lengthened.
var ErrNotExpired = errors.New("case is no longer past its retention")

// DeleteExpiredCase is DeleteCase for retention: in the same write
// transaction as the deletion, it checks again that the case is closed,
// past its retention and not on legal hold, and returns ErrNotExpired,
// deleting nothing, if it no longer is. Write transactions run one at a
// time (on PostgreSQL across instances too), so a hold that committed
// before this check keeps the case, and one that comes after finds it
// gone: a case put on hold after retention listed it is never deleted.
func (db *DB) DeleteExpiredCase(ctx context.Context, caseID int64) error {
	return db.deleteCase(ctx, caseID, func(tx *sql.Tx) error {
		def, err := defaultRetentionDays(ctx, tx)
		if err != nil {
			return err
		}
		var expired bool
		err = tx.QueryRowContext(ctx, `SELECT `+expiredWhere+` FROM cases WHERE id = ?`,
			StatusClosed, def, def, db.Now().Unix(), caseID).Scan(&expired)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err == nil && !expired {
			return ErrNotExpired
		}
		return err
	})
}

// deleteCase deletes a case, after check (in the same transaction) if
// given; see DeleteCase.
func (db *DB) deleteCase(ctx context.Context, caseID int64, check func(tx *sql.Tx) error) error {
	var apart []int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		if check != nil {
			if err := check(tx); err != nil {
				return err
			}
		}
		var err error
		apart, err = deleteCaseTx(ctx, tx, caseID)
		return err
	})
	if err != nil {
		return fmt.Errorf("failed to delete case: %w", err)
	}
	if ch := changeOf(ctx, db); ch != nil {
		ch.after = append(ch.after, db.reclaimAfter(apart))
		return nil
	}
	return db.reclaimAfter(apart)(ctx)
}

// deleteCaseTx deletes a case in tx; foreign keys cascade to everything it
// holds. It returns the ids of the case's attachments whose chunks are in
// the chunk file, which foreign keys cannot reach: the caller deletes them
// there once tx commits (reclaimAfter). DeleteCase (staff, retention) and
// WithdrawCase (the reporter) both delete through it.
func deleteCaseTx(ctx context.Context, tx *sql.Tx, caseID int64) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT a.id FROM attachments a JOIN messages m ON m.id = a.message_id
		WHERE m.case_id = ? AND a.chunks_apart = 1`, caseID)
	if err != nil {
		return nil, fmt.Errorf("failed to list the case's attachments: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("failed to list the case's attachments: %w", err)
	}
	return ids, execOneTx(ctx, tx, `DELETE FROM cases WHERE id = ?`, caseID)
}

// reclaimAfter returns what follows the commit of a deletion that removed
// the attachments apart from candour.db: their chunks are deleted from the
// chunk file, then reclaim. A failure to delete the chunks does not stop
// the reclaiming; the chunks left are swept at the next start.
func (db *DB) reclaimAfter(apart []int64) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		return errors.Join(db.deleteChunks(ctx, apart), db.reclaim(ctx))
	}
}

// reclaim returns freed pages to the file system and checkpoints and
// truncates the WAL. It runs on the writer connection, outside any
// transaction. On PostgreSQL it vacuums the tables a case's deletion
// empties rows of instead (vacuum).
func (db *DB) reclaim(ctx context.Context) error {
	if db.pg {
		return db.vacuum(ctx, pgCaseTables...)
	}
	// Give the freed (already zeroed) pages back to the file system.
	if err := incrementalVacuum(ctx, db.w); err != nil {
		return fmt.Errorf("failed to reclaim space: %w", err)
	}
	return db.Checkpoint(ctx)
}

// Checkpoint copies the WAL into the database and truncates it. Readers in
// the middle of a snapshot can hold frames back; they are retried at the
// next checkpoint.
//
// On PostgreSQL it does nothing: the server checkpoints by itself
// (checkpoint_timeout, max_wal_size), and CHECKPOINT needs a privilege
// Candour's role should not have.
func (db *DB) Checkpoint(ctx context.Context) error {
	if db.pg {
		return nil
	}
	var busy, logFrames, done int
	// Runs on the single writer connection, outside any transaction.
	if err := db.w.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done); err != nil {
		return fmt.Errorf("failed to checkpoint: %w", err)
	}
	if busy != 0 {
		return ErrCheckpointBusy
	}
	return nil
}

// ErrCheckpointBusy means readers kept the WAL from being truncated; the
// data is deleted, and the next checkpoint completes the job.
var ErrCheckpointBusy = errors.New("checkpoint incomplete: readers are active")

// pgCaseTables are the tables whose rows a case's deletion removes, itself
// and by cascade: what reclaim vacuums on PostgreSQL. (Their TOAST tables,
// where the larger ciphertexts are, are vacuumed with them.)
var pgCaseTables = []string{
	"cases", "messages", "attachments", "attachment_chunks", "notes", "case_reads",
	"case_recusals", "case_identities", "identity_requests", "identity_grants",
}

// vacuum runs VACUUM on tables, a PostgreSQL database's, once the deletion
// before it has committed (inside a Change, after the change commits).
//
// PostgreSQL has no secure_delete: a deleted row stays in its page, and a
// VACUUM marks its space free for new rows, which overwrite it in time. It
// does not zero the bytes, nor reach the copies in the WAL, in archives or
// in backups; that is for the operator's storage to protect. What stays is
// the age ciphertext and the index around it, never plaintext.
//
// VACUUM cannot run inside a transaction block, and needs no write lock:
// it runs on a connection of the bulk pool (of the writer's, if there is
// no bulk pool).
func (db *DB) vacuum(ctx context.Context, tables ...string) error {
	if ch := changeOf(ctx, db); ch != nil {
		ch.after = append(ch.after, func(ctx context.Context) error { return db.vacuum(ctx, tables...) })
		return nil
	}
	pool := db.bulk
	if pool == nil {
		pool = db.w // a tool's database: its writer, idle outside transactions
	}
	// The table names are constants of this package, never input.
	if _, err := pool.ExecContext(ctx, "VACUUM "+strings.Join(tables, ", ")); err != nil {
		return fmt.Errorf("failed to reclaim space: %w", err)
	}
	return nil
}
