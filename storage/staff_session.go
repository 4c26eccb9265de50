package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// StaffSession is a server-side staff session. Only a hash of the cookie
// token is stored, so a copy of the database cannot be used to take over a
// session; CSRF is the session's anti-forgery token, compared by the server.
type StaffSession struct {
	TokenHash []byte
	StaffID   int64
	CSRF      string
	CreatedAt time.Time
	LastSeen  time.Time
}

// CreateStaffSession stores a session. A zero CreatedAt means db.Now(), and a
// zero LastSeen means CreatedAt. It returns ErrNotFound if the account does
// not exist or is disabled: the check is in the same statement as the insert,
// so a login that races with SetStaffDisabled cannot leave a live session
// behind for a disabled account.
func (db *DB) CreateStaffSession(ctx context.Context, s StaffSession) error {
	if len(s.TokenHash) == 0 {
		return errors.New("failed to create staff session: empty token hash")
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = db.Now()
	}
	if s.LastSeen.IsZero() {
		s.LastSeen = s.CreatedAt
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`INSERT INTO staff_sessions (token_hash, staff_id, csrf, created_at, last_seen)
			 SELECT ?, id, ?, ?, ? FROM staff WHERE id = ? AND disabled = 0`,
			s.TokenHash, s.CSRF, s.CreatedAt.Unix(), s.LastSeen.Unix(), s.StaffID)
		if err != nil {
			if isUnique(err) {
				return ErrDuplicate
			}
			return err
		}
		return oneRow(res)
	})
	if err != nil {
		return fmt.Errorf("failed to create session for staff %d: %w", s.StaffID, err)
	}
	return nil
}

// StaffSessionByToken returns the session whose token hashes to tokenHash, or
// ErrNotFound. It does not judge expiry (the server's policy); it does treat
// a disabled account's session as gone.
func (db *DB) StaffSessionByToken(ctx context.Context, tokenHash []byte) (StaffSession, error) {
	var s StaffSession
	var created, seen int64
	err := db.r.QueryRowContext(ctx,
		`SELECT ss.token_hash, ss.staff_id, ss.csrf, ss.created_at, ss.last_seen
		 FROM staff_sessions ss JOIN staff s ON s.id = ss.staff_id
		 WHERE ss.token_hash = ? AND s.disabled = 0`, tokenHash).
		Scan(&s.TokenHash, &s.StaffID, &s.CSRF, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return StaffSession{}, ErrNotFound
	}
	if err != nil {
		return StaffSession{}, fmt.Errorf("failed to read staff session: %w", err)
	}
	s.CreatedAt, s.LastSeen = time.Unix(created, 0).UTC(), time.Unix(seen, 0).UTC()
	return s, nil
}

// TouchStaffSession records activity at at, for the idle timeout. LastSeen
// never moves backwards, so concurrent requests finishing out of order cannot
// shorten a session's life. It returns ErrNotFound if the session is gone.
func (db *DB) TouchStaffSession(ctx context.Context, tokenHash []byte, at time.Time) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			// A CASE, not SQLite's scalar max(), which PostgreSQL lacks
			// (its greatest() is unknown to SQLite).
			`UPDATE staff_sessions SET last_seen = CASE WHEN last_seen > ? THEN last_seen ELSE ? END WHERE token_hash = ?`,
			at.Unix(), at.Unix(), tokenHash)
		if err != nil {
			return err
		}
		return oneRow(res)
	})
	if err != nil {
		return fmt.Errorf("failed to touch staff session: %w", err)
	}
	return nil
}

// DeleteStaffSession ends one session (logout). Ending a session that is
// already gone is not an error, so logging out twice is harmless.
func (db *DB) DeleteStaffSession(ctx context.Context, tokenHash []byte) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM staff_sessions WHERE token_hash = ?`, tokenHash)
		return err
	})
	if err != nil {
		return fmt.Errorf("failed to delete staff session: %w", err)
	}
	return nil
}

// DeleteStaffSessions ends every session of a staff member ("log out
// everywhere").
func (db *DB) DeleteStaffSessions(ctx context.Context, staffID int64) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM staff_sessions WHERE staff_id = ?`, staffID)
		return err
	})
	if err != nil {
		return fmt.Errorf("failed to delete sessions of staff %d: %w", staffID, err)
	}
	return nil
}

// DeleteStaffSessionsBefore is the expiry sweep: it deletes sessions created
// before createdBefore (absolute lifetime) or last seen before lastSeenBefore
// (idle timeout), and returns how many it deleted. A zero time disables that
// criterion. Expired sessions are deleted rather than only refused, so
// stale token hashes do not pile up in the database.
func (db *DB) DeleteStaffSessionsBefore(ctx context.Context, createdBefore, lastSeenBefore time.Time) (int64, error) {
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`DELETE FROM staff_sessions WHERE created_at < ? OR last_seen < ?`,
			unixOrZero(createdBefore), unixOrZero(lastSeenBefore))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("failed to delete expired staff sessions: %w", err)
	}
	return n, nil
}
