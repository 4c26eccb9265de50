package storage

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
)

// Rows that a reporter's action creates (cases, messages, attachments,
// attachment chunks) get random ids rather than the next rowid: a sequence
// shared with staff rows would place a reporter's row between two staff rows,
// and staff rows are named, to the second, in the audit trail. Messages and
// attachments that must be shown in order carry their own per-case (seq) or
// per-message (pos) position, which staff rows of other cases never share.
//
// An id is uniform in [1, 2^53): 53 bits keep every id a safe integer for
// the staff console's JavaScript (Number.isSafeInteger), and a collision,
// about one in 10^16 per insert at a million rows, is retried.

// randomID draws an id uniform in [1, 2^53).
func randomID() (int64, error) {
	var b [8]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return 0, fmt.Errorf("failed to draw an id: %w", err)
		}
		if v := int64(binary.BigEndian.Uint64(b[:]) >> 11); v != 0 {
			return v, nil
		}
	}
}

// maxIDDraws bounds the retries on a collision of random ids: failing that
// many times in a row means the random source is broken, not unlucky.
const maxIDDraws = 8

// insertReturningID runs query, an INSERT of one row whose id the
// database assigns, and returns that id (RETURNING id: both engines have
// it, where LastInsertId is SQLite's alone). An INSERT … SELECT that finds
// no row to insert returns sql.ErrNoRows.
func insertReturningID(ctx context.Context, tx *sql.Tx, query string, args ...any) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, query+" RETURNING id", args...).Scan(&id)
	return id, err
}

// insertRandomID runs query, an INSERT … VALUES whose first parameter is
// the new row's id, with a random id, drawing another if that id is
// taken, and returns the id used. Other errors (another unique column) are
// returned as they are.
//
// A taken id is not an error: the statement gets ON CONFLICT (id) DO
// NOTHING and inserts no row. (On PostgreSQL an error would end the whole
// transaction, so catching a primary key failure and drawing again, as
// SQLite allows, cannot work there.)
func insertRandomID(ctx context.Context, tx *sql.Tx, query string, args ...any) (int64, error) {
	query += " ON CONFLICT (id) DO NOTHING"
	for range maxIDDraws {
		id, err := randomID()
		if err != nil {
			return 0, err
		}
		res, err := tx.ExecContext(ctx, query, append([]any{id}, args...)...)
		if err != nil {
			return 0, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		if n == 1 {
			return id, nil
		}
	}
	return 0, errors.New("failed to draw a free id")
}
