package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Outcome is a category a closed case is filed under (substantiated,
// referred, …). It is in clear: the yearly figures count cases by it.
// Outcomes are never deleted, only archived: an archived outcome is no
// longer offered when closing, and the cases closed with it keep it.
type Outcome struct {
	ID       int64
	Label    string
	Position int
	Archived bool
}

// MaxOutcomeLabel bounds an outcome's label, in bytes.
const MaxOutcomeLabel = 120

// Outcomes returns the outcome categories in their order, the archived ones
// too if withArchived.
func (db *DB) Outcomes(ctx context.Context, withArchived bool) ([]Outcome, error) {
	rows, err := db.r.QueryContext(ctx,
		`SELECT id, label, position, archived FROM outcomes WHERE archived = 0 OR ? ORDER BY position, id`, withArchived)
	if err != nil {
		return nil, fmt.Errorf("failed to list outcomes: %w", err)
	}
	defer rows.Close()
	var out []Outcome
	for rows.Next() {
		var o Outcome
		if err := rows.Scan(&o.ID, &o.Label, &o.Position, &o.Archived); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// OutcomeByID returns one outcome category, archived or not.
func (db *DB) OutcomeByID(ctx context.Context, id int64) (Outcome, error) {
	var o Outcome
	err := db.r.QueryRowContext(ctx, `SELECT id, label, position, archived FROM outcomes WHERE id = ?`, id).
		Scan(&o.ID, &o.Label, &o.Position, &o.Archived)
	if errors.Is(err, sql.ErrNoRows) {
		return Outcome{}, ErrNotFound
	}
	return o, err
}

// AddOutcome adds a category at the end of the list; ErrDuplicate if the
// label is taken.
func (db *DB) AddOutcome(ctx context.Context, label string) (Outcome, error) {
	o := Outcome{Label: label}
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		o.ID, err = insertReturningID(ctx, tx,
			`INSERT INTO outcomes (label, position) SELECT ?, coalesce(max(position), 0) + 1 FROM outcomes`, label)
		return duplicate(err)
	})
	if err != nil {
		return Outcome{}, fmt.Errorf("failed to add outcome: %w", err)
	}
	return o, nil
}

// RenameOutcome changes a category's label, for every case filed under
// it; ErrDuplicate if the label is taken.
func (db *DB) RenameOutcome(ctx context.Context, id int64, label string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		return duplicate(execOneTx(ctx, tx, `UPDATE outcomes SET label = ? WHERE id = ?`, label, id))
	})
	if err != nil {
		return fmt.Errorf("failed to rename outcome: %w", err)
	}
	return nil
}

// SetOutcomeArchived archives a category (no longer offered) or brings it
// back.
func (db *DB) SetOutcomeArchived(ctx context.Context, id int64, archived bool) error {
	return db.execOne(ctx, `UPDATE outcomes SET archived = ? WHERE id = ?`, b2i(archived), id)
}

// MoveOutcome swaps a category with its neighbour in the list: the one
// before it if up, else the one after it. At either end it changes nothing.
func (db *DB) MoveOutcome(ctx context.Context, id int64, up bool) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		var pos int
		err := tx.QueryRowContext(ctx, `SELECT position FROM outcomes WHERE id = ?`, id).Scan(&pos)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		// Neighbour by (position, id), the order of the list.
		q := `SELECT id, position FROM outcomes WHERE position > ? OR (position = ? AND id > ?) ORDER BY position, id LIMIT 1`
		if up {
			q = `SELECT id, position FROM outcomes WHERE position < ? OR (position = ? AND id < ?) ORDER BY position DESC, id DESC LIMIT 1`
		}
		var other int64
		var otherPos int
		err = tx.QueryRowContext(ctx, q, pos, pos, id).Scan(&other, &otherPos)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if otherPos == pos { // equal positions: make room first
			if up {
				otherPos = pos - 1
			} else {
				otherPos = pos + 1
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outcomes SET position = ? WHERE id = ?`, otherPos, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE outcomes SET position = ? WHERE id = ?`, pos, other)
		return err
	})
}

// CloseCase closes a case with an outcome category that is not archived,
// and the id of the note that explains it (0: none). It starts the
// retention clock (to the day). ErrNotFound if the case is already closed
// or the outcome is not on offer.
func (db *DB) CloseCase(ctx context.Context, caseID, outcomeID, noteID int64) error {
	var note any
	if noteID != 0 {
		note = noteID
	}
	return db.execOneStaff(ctx, caseID, `UPDATE cases SET status = ?, outcome_id = ?, outcome_note_id = ?,
		closed_at = coalesce(closed_at, ?)
		WHERE id = ? AND status <> ? AND EXISTS (SELECT 1 FROM outcomes WHERE id = ? AND archived = 0)`,
		StatusClosed, outcomeID, note, db.coarseNow(), caseID, StatusClosed, outcomeID)
}

// ReopenCase reopens a closed case as in review: its outcome is cleared
// and the retention clock stopped. ErrNotFound if it is not closed.
func (db *DB) ReopenCase(ctx context.Context, caseID int64) error {
	return db.execOneStaff(ctx, caseID, `UPDATE cases SET status = ?, outcome_id = NULL, outcome_note_id = NULL, closed_at = NULL
		WHERE id = ? AND status = ?`, StatusInReview, caseID, StatusClosed)
}

// CaseOutcome is the outcome a closed case was filed under, with the note
// that explains it (0: none); ErrNotFound if it has none.
func (db *DB) CaseOutcome(ctx context.Context, caseID int64) (Outcome, int64, error) {
	var o Outcome
	var note sql.NullInt64
	err := db.r.QueryRowContext(ctx,
		`SELECT o.id, o.label, o.position, o.archived, c.outcome_note_id
		 FROM cases c JOIN outcomes o ON o.id = c.outcome_id WHERE c.id = ?`, caseID).
		Scan(&o.ID, &o.Label, &o.Position, &o.Archived, &note)
	if errors.Is(err, sql.ErrNoRows) {
		return Outcome{}, 0, ErrNotFound
	}
	return o, note.Int64, err
}

// duplicate turns a unique-constraint failure into ErrDuplicate.
func duplicate(err error) error {
	if isUniqueNotKey(err) {
		return ErrDuplicate
	}
	return err
}
