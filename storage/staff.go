package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Roles. A statistics account sees the yearly figures (stats.go) and
// nothing else: it is in no channel's team (AddChannelMember refuses it),
// holds no key and cannot be a custodian, and the server lets it reach only
// the statistics pages.
const (
	RoleAdmin      = "admin"
	RoleCaseworker = "caseworker"
	RoleStatistics = "statistics"
)

// ErrStatisticsOnly is returned when a statistics account is to be given
// something only caseworkers and administrators have: a channel
// membership, the custodian role.
var ErrStatisticsOnly = errors.New("a statistics account sees only the statistics")

// Staff is a staff account. The storage package treats PasswordHash and
// TOTPSecret as opaque strings: hashing and checking are the server's job.
type Staff struct {
	ID           int64
	Username     string
	Role         string
	PasswordHash string // empty until enrolled
	TOTPSecret   string // empty until enrolled (base32)
	TOTPLastStep int64  // last accepted TOTP time step (replay protection)
	Disabled     bool
	FailedLogins int
	LockedUntil  time.Time // zero if not locked
	CreatedAt    time.Time
	// AgeRecipient is their own age public key (empty until they register
	// one): the channels' keys are wrapped to it.
	AgeRecipient string
	// Custodian: they may read reporters' confidential identity details
	// (identity.go), set by an administrator.
	Custodian bool
	// NotifyEmail is the address they gave for content-free notifications
	// (notification.go), or empty: they did not opt in.
	NotifyEmail string
}

// Enrolled reports whether the staff member has set a password and a second
// factor. An account that has not cannot log in; it waits for its link.
func (s Staff) Enrolled() bool { return s.PasswordHash != "" && s.TOTPSecret != "" }

// ValidRole reports whether role is one a staff account can have.
func ValidRole(role string) bool {
	return role == RoleAdmin || role == RoleCaseworker || role == RoleStatistics
}

// unixOrZero stores a zero time as 0, so "not set" survives a round trip.
func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func timeOrZero(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

// oneRow returns ErrNotFound unless res changed exactly one row.
func oneRow(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return ErrNotFound
	}
	return nil
}

// b2i is a flag as the schema keeps it, 0 or 1 in an integer column, on
// both engines: SQLite would take a Go bool, but pgx encodes no bool into
// a PostgreSQL BIGINT.
func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// orderByUsername is the ORDER BY term that sorts by the username column
// col as SQLite's NOCASE does on both engines: by bytes, with ASCII letters
// folded to lower case (usernames are ASCII, ValidUsername). PostgreSQL's
// nocase collation (ICU) would sort by language rules instead, putting
// '_' before the digits and '-', so there it is the C order of lower().
// SQLite keeps the column's own collation, which its index on username
// serves.
func (db *DB) orderByUsername(col string) string {
	if db.pg {
		return `lower(` + col + `) COLLATE "C"`
	}
	return col
}

const staffColumns = `id, username, role, password_hash, totp_secret, totp_last_step,
	disabled, failed_logins, locked_until, created_at, age_recipient, custodian, notify_email`

func scanStaff(row interface{ Scan(...any) error }) (Staff, error) {
	var s Staff
	var locked, created int64
	err := row.Scan(&s.ID, &s.Username, &s.Role, &s.PasswordHash, &s.TOTPSecret, &s.TOTPLastStep,
		&s.Disabled, &s.FailedLogins, &locked, &created, &s.AgeRecipient, &s.Custodian, &s.NotifyEmail)
	if errors.Is(err, sql.ErrNoRows) {
		return Staff{}, ErrNotFound
	}
	if err != nil {
		return Staff{}, err
	}
	s.LockedUntil, s.CreatedAt = timeOrZero(locked), time.Unix(created, 0).UTC()
	return s, nil
}

func staffByID(ctx context.Context, q querier, id int64) (Staff, error) {
	return scanStaff(q.QueryRowContext(ctx, `SELECT `+staffColumns+` FROM staff WHERE id = ?`, id))
}

// CreateStaff adds a staff account that is not yet enrolled, under a name
// that ValidUsername accepts. Usernames are
// unique regardless of ASCII case (ErrDuplicate), so two accounts cannot
// pass for one another in the audit trail; the name is kept as typed.
func (db *DB) CreateStaff(ctx context.Context, username, role string) (Staff, error) {
	if !ValidUsername(username) {
		return Staff{}, fmt.Errorf("failed to create staff: invalid username %q", username)
	}
	if !ValidRole(role) {
		return Staff{}, fmt.Errorf("failed to create staff: unknown role %q", role)
	}
	now := db.Now().Unix()
	s := Staff{Username: username, Role: role, CreatedAt: time.Unix(now, 0).UTC()}
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		s.ID, err = insertReturningID(ctx, tx,
			`INSERT INTO staff (username, role, created_at, updated_at) VALUES (?, ?, ?, ?)`,
			username, role, now, now)
		if err != nil {
			if isUnique(err) {
				return ErrDuplicate
			}
			return err
		}
		// While the installation has one channel, everyone is in it, as
		// everyone read every case before channels existed. Once there
		// are more, an administrator chooses each channel's team. A
		// statistics account is in none.
		if role == RoleStatistics {
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO channel_members (channel_id, staff_id)
			SELECT id, ? FROM channels WHERE (SELECT count(*) FROM channels) = 1`, s.ID)
		return err
	})
	if err != nil {
		return Staff{}, fmt.Errorf("failed to create staff %q: %w", username, err)
	}
	return s, nil
}

// StaffByUsername finds an account by username, ignoring ASCII case, as a
// login form does.
func (db *DB) StaffByUsername(ctx context.Context, username string) (Staff, error) {
	s, err := scanStaff(db.r.QueryRowContext(ctx,
		`SELECT `+staffColumns+` FROM staff WHERE username = ?`, username))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Staff{}, fmt.Errorf("failed to read staff: %w", err)
	}
	return s, err
}

// StaffByID returns the account with the given id.
func (db *DB) StaffByID(ctx context.Context, id int64) (Staff, error) {
	s, err := staffByID(ctx, db.r, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Staff{}, fmt.Errorf("failed to read staff: %w", err)
	}
	return s, err
}

// ListStaff returns every account ordered by username (ignoring case).
func (db *DB) ListStaff(ctx context.Context) ([]Staff, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+staffColumns+` FROM staff ORDER BY `+db.orderByUsername("username")+`, id`)
	if err != nil {
		return nil, fmt.Errorf("failed to list staff: %w", err)
	}
	defer rows.Close()
	var out []Staff
	for rows.Next() {
		s, err := scanStaff(rows)
		if err != nil {
			return nil, fmt.Errorf("failed to list staff: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to list staff: %w", err)
	}
	return out, nil
}

// CountStaff returns the number of accounts, disabled ones included; the
// server uses it to tell a fresh install (no one to log in) from one that
// has staff.
func (db *DB) CountStaff(ctx context.Context) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM staff`).Scan(&n); err != nil {
		return 0, fmt.Errorf("failed to count staff: %w", err)
	}
	return n, nil
}

// SetStaffDisabled disables or re-enables an account. Disabling also ends
// every session and voids any unused enrolment link in the same transaction,
// so there is no moment at which a disabled account is still logged in or
// can still enrol.
func (db *DB) SetStaffDisabled(ctx context.Context, id int64, disabled bool) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE staff SET disabled = ?, updated_at = ? WHERE id = ?`, b2i(disabled), db.Now().Unix(), id)
		if err != nil {
			return err
		}
		if err := oneRow(res); err != nil || !disabled {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM staff_sessions WHERE staff_id = ?`, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM staff_enrolments WHERE staff_id = ? AND used_at IS NULL`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("failed to set staff %d disabled=%t: %w", id, disabled, err)
	}
	return nil
}

// ResetStaffCredentials returns an account to "not enrolled": it clears the
// password hash, TOTP secret and last step, the recovery codes, the failed
// login count and lock, the passkeys and WebAuthn ceremonies, the identity
// wrapped by their passkey, and ends every session. It is "reset 2FA": the
// person enrols again from a new link, with nothing of the old credentials
// still usable.
func (db *DB) ResetStaffCredentials(ctx context.Context, id int64) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE staff SET password_hash = '', totp_secret = '', totp_last_step = 0,
			        failed_logins = 0, locked_until = 0, updated_at = ?
			 WHERE id = ?`, db.Now().Unix(), id)
		if err != nil {
			return err
		}
		if err := oneRow(res); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM staff_recovery_codes WHERE staff_id = ?`,
			`DELETE FROM staff_sessions WHERE staff_id = ?`,
			`DELETE FROM staff_passkeys WHERE staff_id = ?`,
			`DELETE FROM webauthn_ceremonies WHERE staff_id = ?`,
			`DELETE FROM staff_recovery_notices WHERE staff_id = ?`,
			// The key wrapped by their passkey goes too: a reset means
			// nothing of the old credentials stays usable, and the
			// authenticator it needs may be what was lost or stolen.
			// Their key file, or a downloaded copy, protects it again.
			`DELETE FROM staff_wrapped_identities WHERE staff_id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("failed to reset credentials of staff %d: %w", id, err)
	}
	return nil
}

// CreateEnrolment stores the hash of a one-time enrolment link for a staff
// member, valid until expires. Any earlier unused link for the same person is
// voided: only the most recently issued link works, so a link that went
// astray is cancelled by sending a new one.
func (db *DB) CreateEnrolment(ctx context.Context, staffID int64, tokenHash []byte, expires time.Time) error {
	if len(tokenHash) == 0 {
		return errors.New("failed to create enrolment: empty token hash")
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM staff WHERE id = ?`, staffID).Scan(&one); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`DELETE FROM staff_enrolments WHERE staff_id = ? AND used_at IS NULL`, staffID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO staff_enrolments (token_hash, staff_id, expires_at, created_at) VALUES (?, ?, ?, ?)`,
			tokenHash, staffID, expires.Unix(), db.Now().Unix())
		if isUnique(err) {
			return ErrDuplicate
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("failed to create enrolment for staff %d: %w", staffID, err)
	}
	return nil
}

// validEnrolment selects the staff id of a token that is unused, unexpired
// at now, and belongs to an account that is not disabled.
const validEnrolment = `SELECT e.staff_id FROM staff_enrolments e JOIN staff s ON s.id = e.staff_id
	WHERE e.token_hash = ? AND e.used_at IS NULL AND e.expires_at > ? AND s.disabled = 0`

// EnrolmentStaff returns the staff member a valid (unused, unexpired at
// db.Now()) token belongs to, or ErrNotFound. A disabled account's token is
// not valid either.
func (db *DB) EnrolmentStaff(ctx context.Context, tokenHash []byte) (Staff, error) {
	var id int64
	err := db.r.QueryRowContext(ctx, validEnrolment, tokenHash, db.Now().Unix()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Staff{}, ErrNotFound
	}
	if err != nil {
		return Staff{}, fmt.Errorf("failed to check enrolment: %w", err)
	}
	return db.StaffByID(ctx, id)
}

// CompleteEnrolment, in one transaction: checks the token is valid (else
// ErrNotFound), marks it used (and voids any other unused link for the same
// person), sets the staff member's password hash, TOTP secret and TOTP last
// step (= acceptedStep, the step of the code that confirmed enrolment, so
// that code cannot be replayed at login), resets failed logins and the lock,
// replaces their recovery codes with recoveryHashes, and deletes their
// sessions. Doing it all at once means a token can be spent only once even
// if two requests race, and a half-enrolled account cannot exist.
func (db *DB) CompleteEnrolment(ctx context.Context, tokenHash []byte, passwordHash, totpSecret string, acceptedStep int64, recoveryHashes [][]byte) (Staff, error) {
	if passwordHash == "" || totpSecret == "" {
		return Staff{}, errors.New("failed to complete enrolment: empty password hash or TOTP secret")
	}
	var out Staff
	err := db.write(ctx, func(tx *sql.Tx) error {
		now := db.Now().Unix()
		var id int64
		err := tx.QueryRowContext(ctx, validEnrolment, tokenHash, now).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		// The check above and this spend are one transaction behind the
		// write lock; the spend also tests the token is unused, so that it
		// would stay single-use without that lock.
		res, err := tx.ExecContext(ctx,
			`UPDATE staff_enrolments SET used_at = ? WHERE token_hash = ? AND used_at IS NULL`, now, tokenHash)
		if err != nil {
			return err
		}
		if err := oneRow(res); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`DELETE FROM staff_enrolments WHERE staff_id = ? AND used_at IS NULL`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE staff SET password_hash = ?, totp_secret = ?, totp_last_step = ?,
			        failed_logins = 0, locked_until = 0, updated_at = ?
			 WHERE id = ?`, passwordHash, totpSecret, acceptedStep, now, id); err != nil {
			return err
		}
		if err := replaceRecoveryCodes(ctx, tx, id, recoveryHashes); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM staff_sessions WHERE staff_id = ?`, id); err != nil {
			return err
		}
		out, err = staffByID(ctx, tx, id)
		return err
	})
	if err != nil {
		return Staff{}, fmt.Errorf("failed to complete enrolment: %w", err)
	}
	return out, nil
}

func replaceRecoveryCodes(ctx context.Context, tx *sql.Tx, staffID int64, hashes [][]byte) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM staff_recovery_codes WHERE staff_id = ?`, staffID); err != nil {
		return err
	}
	for _, h := range hashes {
		if len(h) == 0 {
			return errors.New("empty recovery code hash")
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO staff_recovery_codes (staff_id, code_hash) VALUES (?, ?)`, staffID, h)
		if isUnique(err) {
			return fmt.Errorf("recovery code hashes repeat: %w", ErrDuplicate)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// AcceptTOTPStep records step as the last used TOTP step if it is greater
// than the one recorded, and reports whether it was. A code is valid for a
// window of steps, so without this a code seen over a shoulder or in a proxy
// log could be used again; with it, each step is good for one login and never
// for an earlier one. The compare-and-set is a single UPDATE, so of
// concurrent attempts with the same step exactly one succeeds, on one
// instance or several. It returns false (no error) for a replay or an older step, and
// ErrNotFound for an unknown account.
func (db *DB) AcceptTOTPStep(ctx context.Context, staffID, step int64) (bool, error) {
	var ok bool
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE staff SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?`, step, staffID, step)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if ok = n == 1; ok {
			return nil
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM staff WHERE id = ?`, staffID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return err
	})
	if err != nil {
		return false, fmt.Errorf("failed to record TOTP step for staff %d: %w", staffID, err)
	}
	return ok, nil
}

// RecordLoginFailure counts a failed login and sets the lock (a zero
// lockedUntil clears it); the caller decides the lock from the returned
// count, which is the new number of consecutive failures.
func (db *DB) RecordLoginFailure(ctx context.Context, staffID int64, lockedUntil time.Time) (int, error) {
	var n int
	err := db.write(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx,
			`UPDATE staff SET failed_logins = failed_logins + 1, locked_until = ?
			 WHERE id = ? RETURNING failed_logins`, unixOrZero(lockedUntil), staffID).Scan(&n)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("failed to record login failure for staff %d: %w", staffID, err)
	}
	return n, nil
}

// ResetLoginFailures clears the failure count and the lock after a
// successful login.
func (db *DB) ResetLoginFailures(ctx context.Context, staffID int64) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE staff SET failed_logins = 0, locked_until = 0 WHERE id = ?`, staffID)
		if err != nil {
			return err
		}
		return oneRow(res)
	})
	if err != nil {
		return fmt.Errorf("failed to reset login failures for staff %d: %w", staffID, err)
	}
	return nil
}

// UseRecoveryCode spends the unused recovery code with this hash, reporting
// false if there is none (wrong, or already used): each code works once.
func (db *DB) UseRecoveryCode(ctx context.Context, staffID int64, codeHash []byte) (bool, error) {
	var ok bool
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE staff_recovery_codes SET used_at = ?
			 WHERE staff_id = ? AND code_hash = ? AND used_at IS NULL`, db.Now().Unix(), staffID, codeHash)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		ok = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("failed to use recovery code for staff %d: %w", staffID, err)
	}
	return ok, nil
}

// UnusedRecoveryCodes returns how many recovery codes the staff member has
// left, so the server can warn when they run low.
func (db *DB) UnusedRecoveryCodes(ctx context.Context, staffID int64) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx,
		`SELECT count(*) FROM staff_recovery_codes WHERE staff_id = ? AND used_at IS NULL`, staffID).Scan(&n); err != nil {
		return 0, fmt.Errorf("failed to count recovery codes for staff %d: %w", staffID, err)
	}
	return n, nil
}
