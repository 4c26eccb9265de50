package storage

import (
	"context"
	"database/sql"
)

// Inbox summaries and the order of staff activity (migration 0020).
//
// A case's summary is an age file the server seals with the report, to the
// staff side only (NewCase.Summary); the inbox's script fetches a page of
// them (CaseFilter.WithSummary) and decrypts them in the browser. It is
// stored in the case's row, so it is deleted with the case.
//
// Staff-side events on a case (a reply, a note, a status, an assignment,
// an acknowledgement, closing, reopening, an extension) call
// touchStaffActivity in their own transaction: the case's last activity
// becomes today and it takes the next value of one global counter, so that
// the inbox lists the case just acted on first among the day's. Reporter
// events never call it: their time stays to the day.

// touchStaffActivity marks a staff-side event on caseID: updated_at is
// today (coarse, as every case time) and staff_activity_seq the next value
// of the staff_activity counter. ErrNotFound if there is no such case.
func (db *DB) touchStaffActivity(ctx context.Context, tx *sql.Tx, caseID int64) error {
	var seq int64
	if err := tx.QueryRowContext(ctx, `UPDATE staff_activity SET seq = seq + 1 WHERE id = 1 RETURNING seq`).Scan(&seq); err != nil {
		return err
	}
	return execOneTx(ctx, tx, `UPDATE cases SET updated_at = ?, staff_activity_seq = ? WHERE id = ?`, db.coarseNow(), seq, caseID)
}

// nullBytes stores an empty or nil b as NULL.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
