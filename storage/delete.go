package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// DeleteCase deletes a case with everything it holds (messages,
// attachments and their chunks, notes, read markers) in one transaction,
// then deletes its attachments' chunks from the chunk file (sweepChunks),
// returns the freed pages to the file system and checkpoints and
// truncates the WAL. With secure_delete on, SQLite
// overwrites the freed pages with zeros, so the deleted ciphertext is gone
// from both files, and the truncations remove the WAL's and the journal's
// copies. Inside a Change, the sweep, reclaiming and checkpoint run after
// its commit.
func (db *DB) DeleteCase(ctx context.Context, caseID int64) error {
	err := db.write(ctx, func(tx *sql.Tx) error { return deleteCaseTx(ctx, tx, caseID) })
	if err != nil {
		return fmt.Errorf("failed to delete case: %w", err)
	}
	if ch := changeOf(ctx, db); ch != nil {
		ch.after = append(ch.after, db.reclaim)
		return nil
	}
	return db.reclaim(ctx)
}

// deleteCaseTx deletes a case in tx; foreign keys cascade to everything it
// holds. DeleteCase (staff, retention) and WithdrawCase (the reporter) both
// delete through it.
func deleteCaseTx(ctx context.Context, tx *sql.Tx, caseID int64) error {
	return execOneTx(ctx, tx, `DELETE FROM cases WHERE id = ?`, caseID)
}

// reclaim deletes the chunks of the attachments just deleted from the chunk
// file (sweepChunks), returns freed pages to the file system and
// checkpoints and truncates the WAL. It runs on the writer connections,
// outside any transaction.
func (db *DB) reclaim(ctx context.Context) error {
	swept := db.sweepChunks(ctx)
	// Give the freed (already zeroed) pages back to the file system.
	if err := incrementalVacuum(ctx, db.w); err != nil {
		return errors.Join(swept, fmt.Errorf("failed to reclaim space: %w", err))
	}
	return errors.Join(swept, db.Checkpoint(ctx))
}

// Checkpoint copies the WAL into the database and truncates it. Readers in
// the middle of a snapshot can hold frames back; they are retried at the
// next checkpoint.
func (db *DB) Checkpoint(ctx context.Context) error {
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
