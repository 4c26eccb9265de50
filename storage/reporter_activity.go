package storage

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ActionCaseWithdrawn is the reporter activity counted when a reporter
// deletes their own case.
const ActionCaseWithdrawn = "case.withdrawn"

// ReporterCount is how many reporter events of one kind happened on one day.
type ReporterCount struct {
	Day    time.Time // midnight UTC
	Action string
	Count  int64
}

// WithdrawCase deletes a case at its reporter's request, as DeleteCase
// does, and counts the withdrawal for its day in reporter_activity, in one
// transaction. Nothing goes into the audit trail: an entry there is timed to
// the second and ordered among staff entries, which would place the
// reporter's action between two staff actions (see SECURITY.md).
func (db *DB) WithdrawCase(ctx context.Context, caseID int64) error {
	if changeOf(ctx, db) != nil {
		return fmt.Errorf("failed to withdraw case: inside a change")
	}
	day := db.coarseNow()
	var apart []int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		if apart, err = deleteCaseTx(ctx, tx, caseID); err != nil {
			return err
		}
		return countReporterActivity(ctx, tx, day, ActionCaseWithdrawn)
	})
	if err != nil {
		return fmt.Errorf("failed to withdraw case: %w", err)
	}
	return db.reclaimAfter(apart)(ctx)
}

func countReporterActivity(ctx context.Context, tx *sql.Tx, day int64, action string) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO reporter_activity (day, action, count) VALUES (?, ?, 1)
		 ON CONFLICT (day, action) DO UPDATE SET count = reporter_activity.count + 1`, day, action)
	return err
}

// ReporterActivity returns the daily counts of reporter events, newest day
// first, at most limit rows.
func (db *DB) ReporterActivity(ctx context.Context, limit int) ([]ReporterCount, error) {
	rows, err := db.r.QueryContext(ctx,
		`SELECT day, action, count FROM reporter_activity ORDER BY day DESC, action LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("failed to read reporter activity: %w", err)
	}
	defer rows.Close()
	var out []ReporterCount
	for rows.Next() {
		var r ReporterCount
		var day int64
		if err := rows.Scan(&day, &r.Action, &r.Count); err != nil {
			return nil, fmt.Errorf("failed to read reporter activity: %w", err)
		}
		r.Day = time.Unix(day, 0).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}
