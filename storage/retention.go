package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Retention is a case's retention state.
type Retention struct {
	ClosedAt      time.Time // zero unless closed
	RetentionDays int       // 0: the organisation's default applies
	LegalHold     bool
}

// CaseRetention returns a case's retention state.
func (db *DB) CaseRetention(ctx context.Context, caseID int64) (Retention, error) {
	var closed, days sql.NullInt64
	var hold bool
	err := db.r.QueryRowContext(ctx, `SELECT closed_at, retention_days, legal_hold FROM cases WHERE id = ?`, caseID).
		Scan(&closed, &days, &hold)
	if errors.Is(err, sql.ErrNoRows) {
		return Retention{}, ErrNotFound
	}
	if err != nil {
		return Retention{}, err
	}
	r := Retention{RetentionDays: int(days.Int64), LegalHold: hold}
	if closed.Valid {
		r.ClosedAt = time.Unix(closed.Int64, 0).UTC()
	}
	return r, nil
}

// SetLegalHold puts a case on hold (never deleted by retention) or takes it off.
func (db *DB) SetLegalHold(ctx context.Context, caseID int64, hold bool) error {
	return db.execOne(ctx, `UPDATE cases SET legal_hold = ? WHERE id = ?`, b2i(hold), caseID)
}

// SetCaseRetention sets a case's own retention in days; 0 returns it to the default.
func (db *DB) SetCaseRetention(ctx context.Context, caseID int64, days int) error {
	if days < 0 || days > 36500 {
		return fmt.Errorf("retention must be between 0 and 36500 days")
	}
	var v any
	if days > 0 {
		v = days
	}
	return db.execOne(ctx, `UPDATE cases SET retention_days = ? WHERE id = ?`, v, caseID)
}

const defaultRetentionKey = "retention_days"

// DefaultRetentionDays is the organisation's retention after closure; 0
// means closed cases are kept until deleted by hand.
func (db *DB) DefaultRetentionDays(ctx context.Context) (int, error) {
	return defaultRetentionDays(ctx, db.r)
}

// defaultRetentionDays reads it through q: the read pool, or a write
// transaction (DeleteExpiredCase).
func defaultRetentionDays(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}) (int, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, defaultRetentionKey).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(v)
}

// SetDefaultRetentionDays sets the organisation's retention after closure.
func (db *DB) SetDefaultRetentionDays(ctx context.Context, days int) error {
	if days < 0 || days > 36500 {
		return fmt.Errorf("retention must be between 0 and 36500 days")
	}
	return db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, defaultRetentionKey, strconv.Itoa(days))
		return err
	})
}

// ExpiredCases lists closed cases past their retention and not on hold.
func (db *DB) ExpiredCases(ctx context.Context) ([]Case, error) {
	def, err := db.DefaultRetentionDays(ctx)
	if err != nil {
		return nil, err
	}
	return queryCases(ctx, db.r, `SELECT `+caseColumns+` FROM cases WHERE `+expiredWhere+` ORDER BY id`,
		StatusClosed, def, def, db.Now().Unix())
}

// expiredWhere is true of a closed case past its retention and not on
// hold; its arguments are the closed status, the default retention in
// days twice, and now (Unix seconds).
const expiredWhere = `(status = ? AND closed_at IS NOT NULL AND legal_hold = 0
	AND coalesce(retention_days, ?) > 0
	AND closed_at + coalesce(retention_days, ?) * 86400 <= ?)`
