package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ValidStatus reports whether status is one a case can have.
func ValidStatus(status string) bool {
	switch status {
	case StatusNew, StatusInReview, StatusAwaitingReporter, StatusReferred, StatusClosed:
		return true
	}
	return false
}

// CaseByRef finds a case by its staff reference.
func (db *DB) CaseByRef(ctx context.Context, ref string) (Case, error) {
	return scanCase(db.r.QueryRowContext(ctx, `SELECT `+caseColumns+` FROM cases WHERE ref = ?`, ref))
}

// SetCaseStatus changes a case's status.
func (db *DB) SetCaseStatus(ctx context.Context, caseID int64, status string) error {
	if !ValidStatus(status) {
		return fmt.Errorf("unknown status %q", status)
	}
	// Closing starts the retention clock (to the day); reopening stops it.
	return db.execOneStaff(ctx, caseID, `UPDATE cases SET status = ?,
		closed_at = CASE WHEN ? = 'closed' THEN coalesce(closed_at, ?) ELSE NULL END WHERE id = ?`,
		status, status, db.coarseNow(), caseID)
}

// ErrCaseClosed is returned when changing the workflow status of a case
// that is closed: it is reopened first (ReopenCase), with its own audit.
var ErrCaseClosed = errors.New("the case is closed")

// SetOpenCaseStatus sets the workflow status of a case that is open, to a
// status other than closed; ErrCaseClosed if it is closed by then (say by
// someone else since the caller looked), which it is left.
func (db *DB) SetOpenCaseStatus(ctx context.Context, caseID int64, status string) error {
	if !ValidStatus(status) || status == StatusClosed {
		return fmt.Errorf("not an open status: %q", status)
	}
	err := db.execOneStaff(ctx, caseID, `UPDATE cases SET status = ?, closed_at = NULL WHERE id = ? AND status <> 'closed'`,
		status, caseID)
	if errors.Is(err, ErrNotFound) {
		if _, err := db.Case(ctx, caseID); err == nil {
			return ErrCaseClosed
		}
	}
	return err
}

// AssignCase assigns a case to a staff member, or to no one with staffID 0.
func (db *DB) AssignCase(ctx context.Context, caseID, staffID int64) error {
	var assignee any
	if staffID != 0 {
		assignee = staffID
	}
	return db.execOneStaff(ctx, caseID, `UPDATE cases SET assignee_id = ? WHERE id = ?`, assignee, caseID)
}

// CaseAssignee returns the id of the staff member a case is assigned to, or 0.
func (db *DB) CaseAssignee(ctx context.Context, caseID int64) (int64, error) {
	var id sql.NullInt64
	err := db.r.QueryRowContext(ctx, `SELECT assignee_id FROM cases WHERE id = ?`, caseID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	return id.Int64, err
}

func (db *DB) execOne(ctx context.Context, query string, args ...any) error {
	return db.write(ctx, func(tx *sql.Tx) error { return execOneTx(ctx, tx, query, args...) })
}

// execOneStaff is execOne for a staff-side event on caseID: in the same
// transaction, it marks the case's staff activity (summary.go).
func (db *DB) execOneStaff(ctx context.Context, caseID int64, query string, args ...any) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		if err := execOneTx(ctx, tx, query, args...); err != nil {
			return err
		}
		return db.touchStaffActivity(ctx, tx, caseID)
	})
}

// execOneTx runs query in tx and fails with ErrNotFound unless it changed
// exactly one row.
func execOneTx(ctx context.Context, tx *sql.Tx, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return ErrNotFound
	}
	return nil
}

// MarkCaseRead records that a staff member has seen the case as it is now:
// the seq (not the id) of its newest message.
func (db *DB) MarkCaseRead(ctx context.Context, staffID, caseID int64) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO case_reads (staff_id, case_id, last_message_id)
			 SELECT ?, ?, coalesce(max(seq), 0) FROM messages WHERE case_id = ?
			 ON CONFLICT (staff_id, case_id) DO UPDATE SET last_message_id = excluded.last_message_id`,
			staffID, caseID, caseID)
		return err
	})
}
