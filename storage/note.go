package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Note is an internal staff note on a case: an age file to the
// organisation only.
type Note struct {
	ID         int64
	CaseID     int64
	Author     string // username, or empty if the account was deleted
	CreatedAt  time.Time
	Ciphertext []byte
}

// AddNote stores a note on a case.
func (db *DB) AddNote(ctx context.Context, caseID, authorID int64, ciphertext []byte) (Note, error) {
	if len(ciphertext) == 0 {
		return Note{}, errors.New("empty note")
	}
	now := db.coarseNow()
	n := Note{CaseID: caseID, CreatedAt: time.Unix(now, 0).UTC(), Ciphertext: ciphertext}
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		// No case, no row: the INSERT … SELECT returns none.
		n.ID, err = insertReturningID(ctx, tx,
			`INSERT INTO notes (case_id, author_id, created_at, ciphertext) SELECT id, ?, ?, ? FROM cases WHERE id = ?`,
			authorID, now, ciphertext, caseID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return db.touchStaffActivity(ctx, tx, caseID)
	})
	if err != nil {
		return Note{}, fmt.Errorf("failed to add note: %w", err)
	}
	return n, nil
}

// Notes returns a case's notes, oldest first.
func (db *DB) Notes(ctx context.Context, caseID int64) ([]Note, error) {
	rows, err := db.r.QueryContext(ctx,
		`SELECT n.id, n.case_id, coalesce(s.username, ''), n.created_at, n.ciphertext
		 FROM notes n LEFT JOIN staff s ON s.id = n.author_id WHERE n.case_id = ? ORDER BY n.id`, caseID)
	if err != nil {
		return nil, fmt.Errorf("failed to list notes: %w", err)
	}
	defer rows.Close()
	var out []Note
	for rows.Next() {
		var n Note
		var created int64
		if err := rows.Scan(&n.ID, &n.CaseID, &n.Author, &created, &n.Ciphertext); err != nil {
			return nil, err
		}
		n.CreatedAt = time.Unix(created, 0).UTC()
		out = append(out, n)
	}
	return out, rows.Err()
}

// NoteCiphertext returns one note's age file, if it belongs to the case.
func (db *DB) NoteCiphertext(ctx context.Context, caseID, id int64) ([]byte, error) {
	return ciphertext(ctx, db.r, `SELECT ciphertext FROM notes WHERE id = ? AND case_id = ?`, id, caseID)
}
