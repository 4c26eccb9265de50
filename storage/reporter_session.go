package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Shared reports whether several Candour instances may share this
// database (PostgreSQL): state that one instance could keep in its memory
// (reporter sessions, receipts of new reports) must then be in the
// database, for the next request may land on another instance.
func (db *DB) Shared() bool { return db.pg }

// ReporterSession is a reporter's follow-up session as the database holds
// it. The server keys it by a hash of the cookie token and seals the case
// identity under another key derived from that token: storage sees opaque
// bytes. Times are whole minutes.
type ReporterSession struct {
	IDHash    []byte
	CaseID    int64
	Sealed    []byte
	IdleUntil time.Time
	EndsAt    time.Time
}

// CreateReporterSession stores a session, and in the same transaction
// drops the expired ones (at s's IdleUntil's minute, not before: see
// SweepReporterSessions, with now) and then the least recently used
// sessions of the case beyond perCase, and of all beyond total, the new
// one counted. It returns ErrNotFound if the case does not exist.
func (db *DB) CreateReporterSession(ctx context.Context, s ReporterSession, now time.Time, perCase, total int) error {
	if len(s.IDHash) != 32 || len(s.Sealed) == 0 {
		return errors.New("failed to create reporter session: malformed row")
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM reporter_sessions WHERE idle_until <= ? OR ends_at <= ?`,
			now.Unix(), now.Unix()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO reporter_sessions (id_hash, case_id, sealed, idle_until, ends_at, seq)
			 SELECT ?, ?, ?, ?, ?, COALESCE(MAX(seq), 0) + 1 FROM reporter_sessions`,
			s.IDHash, s.CaseID, s.Sealed, s.IdleUntil.Unix(), s.EndsAt.Unix())
		if err != nil {
			if isForeignKey(err) {
				return ErrNotFound
			}
			if isUnique(err) {
				return ErrDuplicate
			}
			return err
		}
		// Past the bound, the seq of the newest session that does not
		// fit, and every older one, go (by the seq index: no scan of all
		// sessions when they fit; seq is unique, given under the write
		// lock).
		if _, err := tx.ExecContext(ctx,
			`DELETE FROM reporter_sessions WHERE case_id = ? AND seq <=
			 (SELECT seq FROM reporter_sessions WHERE case_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`,
			s.CaseID, s.CaseID, perCase); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx,
			`DELETE FROM reporter_sessions WHERE seq <=
			 (SELECT seq FROM reporter_sessions ORDER BY seq DESC LIMIT 1 OFFSET ?)`, total)
		return err
	})
	if err != nil {
		return fmt.Errorf("failed to create reporter session: %w", err)
	}
	return nil
}

// ReporterSessionByHash returns the session keyed by idHash, or
// ErrNotFound. It does not judge expiry (the server does, with its clock).
func (db *DB) ReporterSessionByHash(ctx context.Context, idHash []byte) (ReporterSession, error) {
	s := ReporterSession{IDHash: idHash}
	var idle, ends int64
	err := db.r.QueryRowContext(ctx,
		`SELECT case_id, sealed, idle_until, ends_at FROM reporter_sessions WHERE id_hash = ?`, idHash).
		Scan(&s.CaseID, &s.Sealed, &idle, &ends)
	if errors.Is(err, sql.ErrNoRows) {
		return ReporterSession{}, ErrNotFound
	}
	if err != nil {
		return ReporterSession{}, fmt.Errorf("failed to read reporter session: %w", err)
	}
	s.IdleUntil, s.EndsAt = time.Unix(idle, 0).UTC(), time.Unix(ends, 0).UTC()
	return s, nil
}

// TouchReporterSession moves a session's idle expiry on to idleUntil and
// marks it the most recently used. It never moves the expiry back (so
// requests finishing out of order cannot shorten a session), and a session
// already gone stays gone: neither is an error.
func (db *DB) TouchReporterSession(ctx context.Context, idHash []byte, idleUntil time.Time) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`UPDATE reporter_sessions SET idle_until = ?,
			 seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM reporter_sessions)
			 WHERE id_hash = ? AND idle_until < ?`,
			idleUntil.Unix(), idHash, idleUntil.Unix())
		return err
	})
	if err != nil {
		return fmt.Errorf("failed to touch reporter session: %w", err)
	}
	return nil
}

// DeleteReporterSession ends one session (logout); one already gone is
// not an error.
func (db *DB) DeleteReporterSession(ctx context.Context, idHash []byte) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM reporter_sessions WHERE id_hash = ?`, idHash)
		return err
	})
	if err != nil {
		return fmt.Errorf("failed to delete reporter session: %w", err)
	}
	return nil
}

// DeleteReporterSessions ends every session of a case (withdrawn or
// deleted; deleting the case row cascades to them as well).
func (db *DB) DeleteReporterSessions(ctx context.Context, caseID int64) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM reporter_sessions WHERE case_id = ?`, caseID)
		return err
	})
	if err != nil {
		return fmt.Errorf("failed to delete sessions of case %d: %w", caseID, err)
	}
	return nil
}

// SweepReporterSessions deletes the sessions expired at now and returns
// how many.
func (db *DB) SweepReporterSessions(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM reporter_sessions WHERE idle_until <= ? OR ends_at <= ?`,
			now.Unix(), now.Unix())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("failed to sweep reporter sessions: %w", err)
	}
	return n, nil
}

// ReporterSessionCount is how many session rows there are, for tests and
// the bounds.
func (db *DB) ReporterSessionCount(ctx context.Context) (int64, error) {
	var n int64
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM reporter_sessions`).Scan(&n); err != nil {
		return 0, fmt.Errorf("failed to count reporter sessions: %w", err)
	}
	return n, nil
}

// ReceiptClaimState is what ClaimReceipt found for a form's token.
type ReceiptClaimState int

const (
	// ReceiptClaimed: the caller's claim is now the form's attempt in
	// flight (there was none, only an expired one, or the claim of an
	// instance that has died).
	ReceiptClaimed ReceiptClaimState = iota
	// ReceiptKept: the form made a report; Sealed is its receipt.
	ReceiptKept
	// ReceiptInFlight: another attempt of the form holds a live claim.
	ReceiptInFlight
)

// A claim records the instance that made it (instance_id; NULL on SQLite,
// one instance that keeps its claims in memory). A claim whose instance
// is dead (instanceDead: its row gone, or its lock free) is taken over by
// the next repeat of the form at once; expires_at stays as a backstop, for
// a claim of no recorded instance. The decision looks at no clock but
// expiry's. A claim taken over by mistake (its instance alive but cut off
// from its lock connection) costs no second case: the form's hash on the
// case (ErrFormUsed) refuses the second attempt's report.

// ClaimReceipt looks up the receipt row of a report form's token in one
// write transaction: a live receipt is returned sealed; a live claim of
// another attempt of a live instance leaves the row alone; otherwise (no
// row, its time up at now, or its claimer dead) the row becomes claim's,
// made by this instance, in flight until claimUntil. As write
// transactions are serialised, of two repeats taking a dead claim over
// only one wins.
func (db *DB) ClaimReceipt(ctx context.Context, tokenHash, claim []byte, now, claimUntil time.Time) (ReceiptClaimState, []byte, error) {
	var own sql.NullInt64
	if db.pg && db.locks != nil {
		id, _, err := db.instanceID(ctx)
		if err != nil {
			return 0, nil, fmt.Errorf("failed to claim report receipt: %w", err)
		}
		own = sql.NullInt64{Int64: id, Valid: true}
	}
	state, sealed := ReceiptClaimed, []byte(nil)
	err := db.write(ctx, func(tx *sql.Tx) error {
		state, sealed = ReceiptClaimed, nil
		var expires int64
		var claimer sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT sealed, expires_at, instance_id FROM report_receipts WHERE token_hash = ?`, tokenHash).
			Scan(&sealed, &expires, &claimer)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, `INSERT INTO report_receipts (token_hash, claim, expires_at, instance_id) VALUES (?, ?, ?, ?)`,
				tokenHash, claim, claimUntil.Unix(), own)
			return err
		case err != nil:
			return err
		case expires > now.Unix() && sealed != nil:
			state = ReceiptKept
			return nil
		case expires > now.Unix():
			dead, err := db.claimerDead(ctx, tx, claimer)
			if err != nil {
				return err
			}
			if !dead {
				state = ReceiptInFlight
				return nil
			}
		}
		sealed = nil
		_, err = tx.ExecContext(ctx, `UPDATE report_receipts SET claim = ?, sealed = NULL, expires_at = ?, instance_id = ? WHERE token_hash = ?`,
			claim, claimUntil.Unix(), own, tokenHash)
		return err
	})
	if err != nil {
		return 0, nil, fmt.Errorf("failed to claim report receipt: %w", err)
	}
	return state, sealed, nil
}

// claimerDead reports whether the instance that made a claim in flight is
// dead; a claim of no recorded instance lasts until it expires.
func (db *DB) claimerDead(ctx context.Context, q querier, claimer sql.NullInt64) (bool, error) {
	if !claimer.Valid || !db.pg || db.locks == nil {
		return false, nil
	}
	return db.instanceDead(ctx, q, claimer.Int64)
}

// PeekReceipt reads what ClaimReceipt would find, without a write: a
// repeat waiting for an attempt in flight polls with it. ReceiptClaimed
// here means that the token is free to claim (no row, its time up, or its
// claimer dead).
func (db *DB) PeekReceipt(ctx context.Context, tokenHash []byte, now time.Time) (ReceiptClaimState, []byte, error) {
	var sealed []byte
	var expires int64
	var claimer sql.NullInt64
	err := db.r.QueryRowContext(ctx, `SELECT sealed, expires_at, instance_id FROM report_receipts WHERE token_hash = ?`, tokenHash).
		Scan(&sealed, &expires, &claimer)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ReceiptClaimed, nil, nil
	case err != nil:
		return 0, nil, fmt.Errorf("failed to read report receipt: %w", err)
	case expires <= now.Unix():
		return ReceiptClaimed, nil, nil
	case sealed != nil:
		return ReceiptKept, sealed, nil
	}
	dead, err := db.claimerDead(ctx, db.r, claimer)
	if err != nil {
		return 0, nil, fmt.Errorf("failed to read report receipt: %w", err)
	}
	if dead {
		return ReceiptClaimed, nil, nil
	}
	return ReceiptInFlight, nil, nil
}

// KeepReceipt records the sealed receipt of claim's stored report, until
// until, and then drops the receipts that expire soonest beyond max. A
// claim taken over meanwhile keeps nothing: ErrNotFound.
func (db *DB) KeepReceipt(ctx context.Context, tokenHash, claim, sealed []byte, until time.Time, max int) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE report_receipts SET sealed = ?, expires_at = ?, instance_id = NULL
			 WHERE token_hash = ? AND claim = ? AND sealed IS NULL`,
			sealed, until.Unix(), tokenHash, claim)
		if err != nil {
			return err
		}
		if err := oneRow(res); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx,
			`DELETE FROM report_receipts WHERE sealed IS NOT NULL AND token_hash NOT IN
			 (SELECT token_hash FROM report_receipts WHERE sealed IS NOT NULL
			  ORDER BY expires_at DESC, token_hash LIMIT ?)`, max)
		return err
	})
	if err != nil {
		return fmt.Errorf("failed to keep report receipt: %w", err)
	}
	return nil
}

// DropReceiptClaim ends claim's attempt, which stored nothing: a repeat
// may claim the token in its turn. A claim taken over is left alone.
func (db *DB) DropReceiptClaim(ctx context.Context, tokenHash, claim []byte) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM report_receipts WHERE token_hash = ? AND claim = ? AND sealed IS NULL`,
			tokenHash, claim)
		return err
	})
	if err != nil {
		return fmt.Errorf("failed to drop report receipt claim: %w", err)
	}
	return nil
}

// SweepReceipts deletes the receipts, and the claims, whose time is up at
// now, and returns how many.
func (db *DB) SweepReceipts(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM report_receipts WHERE expires_at <= ?`, now.Unix())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("failed to sweep report receipts: %w", err)
	}
	return n, nil
}

// ReceiptCounts is how many receipts are kept and how many claims are in
// flight, for tests.
func (db *DB) ReceiptCounts(ctx context.Context) (kept, inFlight int64, err error) {
	err = db.r.QueryRowContext(ctx,
		`SELECT COALESCE(SUM(CASE WHEN sealed IS NULL THEN 0 ELSE 1 END), 0),
		        COALESCE(SUM(CASE WHEN sealed IS NULL THEN 1 ELSE 0 END), 0) FROM report_receipts`).Scan(&kept, &inFlight)
	if err != nil {
		return 0, 0, fmt.Errorf("failed to count report receipts: %w", err)
	}
	return kept, inFlight, nil
}
