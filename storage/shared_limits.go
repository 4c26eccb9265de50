package storage

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Limits shared by every instance on one database (migration 0027): the
// submission budget, the login throttle and the version of the
// organisation's recipients. They live in the database on both engines,
// so that one code path serves one SQLite process and many PostgreSQL
// instances alike.
//
// Counts per minute: the budget and the throttle keep a count for the
// current minute and the previous one, never a time. How many happened "in
// the last minute" is estimated as a sliding window does: the current
// minute's count plus the previous minute's, weighted by the part of it
// that is still within the last 60 seconds (rounded up, so that a burst is
// never undercounted). Older minutes are deleted as a new one is counted.

// ErrLoginLocked is returned by EnsureStaffUnlocked for an account whose
// failed logins have locked it.
var ErrLoginLocked = errors.New("account locked after failed logins")

// minuteOf is t's minute (unix seconds / 60) and how much of that minute
// is still to come.
func minuteOf(t time.Time) (minute int64, left time.Duration) {
	sec := t.Unix()
	minute = sec / 60
	if sec < 0 && sec%60 != 0 {
		minute--
	}
	return minute, time.Unix((minute+1)*60, 0).Sub(t)
}

// carried is the part of prev, the previous minute's count, still within
// the last 60 seconds when left of the current minute remains: prev ×
// left/60s, rounded up.
func carried(prev int64, left time.Duration) int64 {
	if prev <= 0 || left <= 0 {
		return 0
	}
	ms := left.Milliseconds()
	return (prev*ms + 59_999) / 60_000
}

// TakeSubmission counts one submission (a new report or message) against
// the budget of perMinute a minute, which every instance on the database
// shares, and reports whether it was within the budget; a refused one is
// not counted.
//
// Where the count is kept differs, because a count per minute kept with
// the data would place reporters' submissions among staff actions timed
// to the second (TestReporterActivityCannotBeOrderedAgainstStaff finds
// it): SQLite, a single process, keeps it in memory, and stores nothing.
// PostgreSQL, which several instances share, keeps it in
// submission_counts, an UNLOGGED table: never written to the WAL (so not
// to its archives, a standby or a base backup), emptied by a crash, and
// holding only the current and the previous minute. There it is one short
// transaction on the bulk pool, without the write lock and without
// waiting for a WAL flush. On PostgreSQL the order of rows in the heap
// tells as much already (SECURITY.md, "Known limitations").
func (db *DB) TakeSubmission(ctx context.Context, perMinute int) (bool, error) {
	minute, left := minuteOf(db.Now())
	if !db.pg {
		return db.submissions.take(minute, left, int64(perMinute)), nil
	}
	var ok bool
	take := func(ctx context.Context, tx *sql.Tx) error {
		ok = false
		var prev int64
		err := tx.QueryRowContext(ctx, `SELECT count FROM submission_counts WHERE minute = ?`, minute-1).Scan(&prev)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		room := int64(perMinute) - carried(prev, left)
		if room <= 0 {
			return nil
		}
		// One statement: the count goes up only while it is below room,
		// atomically, however many instances take at once.
		var n int64
		err = tx.QueryRowContext(ctx,
			`INSERT INTO submission_counts (minute, count) VALUES (?, 1)
			 ON CONFLICT (minute) DO UPDATE SET count = submission_counts.count + 1
			 WHERE submission_counts.count < ? RETURNING count`, minute, room).Scan(&n)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		ok = true
		_, err = tx.ExecContext(ctx, `DELETE FROM submission_counts WHERE minute < ?`, minute-1)
		return err
	}
	pool := db.bulk
	if pool == nil {
		pool = db.w
	}
	err := runTx(ctx, pool.BeginTx, func(tx *sql.Tx) error {
		// UNLOGGED: the commit has no WAL to wait for anyway.
		if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return err
		}
		return take(ctx, tx)
	})
	if err != nil {
		return false, fmt.Errorf("failed to count a submission: %w", classify(err))
	}
	return ok, nil
}

// submissionCount is the submission budget's count on SQLite: the
// current minute's and the previous one's, as submission_counts holds
// them on PostgreSQL.
type submissionCount struct {
	mu        sync.Mutex
	minute    int64
	cur, prev int64
}

func (s *submissionCount) take(minute int64, left time.Duration, perMinute int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case minute == s.minute+1:
		s.minute, s.prev, s.cur = minute, s.cur, 0
	case minute > s.minute+1:
		s.minute, s.prev, s.cur = minute, 0, 0
	}
	// A clock gone back counts in the newest minute seen.
	if s.cur+1+carried(s.prev, left) > perMinute {
		return false
	}
	s.cur++
	return true
}

// RecentLoginFailures estimates how many staff logins failed in the last
// minute, all accounts and instances together.
func (db *DB) RecentLoginFailures(ctx context.Context) (int, error) {
	minute, left := minuteOf(db.Now())
	var prev, cur int64
	rows, err := db.r.QueryContext(ctx,
		`SELECT minute, count FROM login_failure_counts WHERE minute IN (?, ?)`, minute-1, minute)
	if err != nil {
		return 0, fmt.Errorf("failed to read recent login failures: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var m, n int64
		if err := rows.Scan(&m, &n); err != nil {
			return 0, fmt.Errorf("failed to read recent login failures: %w", err)
		}
		if m == minute {
			cur = n
		} else {
			prev = n
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("failed to read recent login failures: %w", err)
	}
	return int(cur + carried(prev, left)), nil
}

// CountLoginFailure counts one failed staff login in the current minute's
// overall count. Call it inside the change that records the failure.
func (db *DB) CountLoginFailure(ctx context.Context) error {
	minute, _ := minuteOf(db.Now())
	err := db.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO login_failure_counts (minute, count) VALUES (?, 1)
			 ON CONFLICT (minute) DO UPDATE SET count = login_failure_counts.count + 1`, minute); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM login_failure_counts WHERE minute < ?`, minute-1)
		return err
	})
	if err != nil {
		return fmt.Errorf("failed to count a login failure: %w", err)
	}
	return nil
}

// CountStaffLoginFailure counts a failed login of account staffID and
// locks it for lock(n) from now, n being the new number of consecutive
// failures; a lock already longer is kept. Count and lock are one atomic
// update (write transactions run one at a time, across instances too), so
// failures on several instances at once are all counted, and the lock
// follows the true count. It returns the new count and the lock.
func (db *DB) CountStaffLoginFailure(ctx context.Context, staffID int64, lock func(failures int) time.Duration) (int, time.Time, error) {
	now := db.Now()
	var n int
	var until time.Time
	err := db.write(ctx, func(tx *sql.Tx) error {
		var locked int64
		err := tx.QueryRowContext(ctx,
			`UPDATE staff SET failed_logins = failed_logins + 1 WHERE id = ? RETURNING failed_logins, locked_until`,
			staffID).Scan(&n, &locked)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		until = timeOrZero(locked)
		if d := lock(n); d > 0 && now.Add(d).After(until) {
			until = now.Add(d)
		}
		_, err = tx.ExecContext(ctx, `UPDATE staff SET locked_until = ? WHERE id = ?`, unixOrZero(until), staffID)
		return err
	})
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("failed to record login failure for staff %d: %w", staffID, err)
	}
	return n, until, nil
}

// EnsureStaffUnlocked fails with ErrLoginLocked if account staffID is
// locked now. Called inside a login's change, it reads the lock as of that
// transaction, after any failure another instance committed meanwhile: a
// login whose credentials were checked while the account was being locked
// elsewhere is refused.
func (db *DB) EnsureStaffUnlocked(ctx context.Context, staffID int64) error {
	now := db.Now()
	return db.write(ctx, func(tx *sql.Tx) error {
		var locked int64
		err := tx.QueryRowContext(ctx, `SELECT locked_until FROM staff WHERE id = ?`, staffID).Scan(&locked)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if now.Before(timeOrZero(locked)) {
			return ErrLoginLocked
		}
		return nil
	})
}

// LoginNameKey returns the random key with which the server hashes the
// usernames of failed logins for names no account has, made by the first
// instance that asks.
func (db *DB) LoginNameKey(ctx context.Context) ([]byte, error) {
	var key []byte
	err := db.r.QueryRowContext(ctx, `SELECT hash_key FROM login_name_key WHERE id = 1`).Scan(&key)
	if err == nil {
		return key, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("failed to read the login name key: %w", err)
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	err = db.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO login_name_key (id, hash_key) VALUES (1, ?) ON CONFLICT (id) DO NOTHING`, fresh); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT hash_key FROM login_name_key WHERE id = 1`).Scan(&key)
	})
	if err != nil {
		return nil, fmt.Errorf("failed to make the login name key: %w", err)
	}
	return key, nil
}

// maxNameFailures bounds login_name_failures: past it, rows whose lock has
// ended are deleted (as the throttle's map used to be emptied).
const maxNameFailures = 10000

// CountNameFailure counts a failed login for a username no account has,
// known by nameHash, and locks that name for lock(n) from now, n being its
// new number of failures, as CountStaffLoginFailure does for an account.
// Call it inside the change that records the failure.
func (db *DB) CountNameFailure(ctx context.Context, nameHash []byte, lock func(failures int) time.Duration) error {
	now := db.Now()
	day := now.UTC().Truncate(Coarseness).Unix()
	err := db.write(ctx, func(tx *sql.Tx) error {
		var n int
		var locked int64
		err := tx.QueryRowContext(ctx,
			`INSERT INTO login_name_failures (name_hash, failures, locked_until, day) VALUES (?, 1, 0, ?)
			 ON CONFLICT (name_hash) DO UPDATE SET failures = login_name_failures.failures + 1, day = excluded.day
			 RETURNING failures, locked_until`, nameHash, day).Scan(&n, &locked)
		if err != nil {
			return err
		}
		until := timeOrZero(locked)
		if d := lock(n); d > 0 && now.Add(d).After(until) {
			until = now.Add(d)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE login_name_failures SET locked_until = ? WHERE name_hash = ?`,
			unixOrZero(until), nameHash); err != nil {
			return err
		}
		// A day after its last failure a name is forgotten, and the table
		// stays bounded.
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_name_failures WHERE day < ?`,
			time.Unix(day, 0).Add(-Coarseness).Unix()); err != nil {
			return err
		}
		var rows int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM login_name_failures`).Scan(&rows); err != nil {
			return err
		}
		if rows > maxNameFailures {
			_, err = tx.ExecContext(ctx, `DELETE FROM login_name_failures WHERE locked_until <= ? AND name_hash <> ?`,
				now.Unix(), nameHash)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("failed to count a login failure: %w", err)
	}
	return nil
}

// NameLockedUntil returns when the lock on a username no account has
// (known by nameHash) ends; the zero time if it has none.
func (db *DB) NameLockedUntil(ctx context.Context, nameHash []byte) (time.Time, error) {
	var locked int64
	err := db.r.QueryRowContext(ctx, `SELECT locked_until FROM login_name_failures WHERE name_hash = ?`, nameHash).Scan(&locked)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("failed to read a login lock: %w", err)
	}
	return timeOrZero(locked), nil
}
