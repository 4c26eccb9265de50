package storage

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Passkeys (WebAuthn credentials) of staff accounts. The storage package
// keeps the credential record as the server gives it (the library's JSON:
// a public key, flags, transports); checking assertions is the server's job.

// ErrSignCount is returned by UsePasskey when the assertion's signature
// counter is not above the stored one: a cloned authenticator, or one that
// is broken. The login is refused.
var ErrSignCount = errors.New("the passkey's signature counter went backwards")

// ErrPasskeySuspended is returned by UsePasskey for a passkey suspended
// after a counter regression (SuspendPasskey).
var ErrPasskeySuspended = errors.New("the passkey is suspended after its signature counter went backwards")

// ErrLastPasskey is returned by RemovePasskey when the passkey is the
// account's last and it must keep one.
var ErrLastPasskey = errors.New("the account's last passkey")

// MaxPasskeyName is the longest name of a passkey, in bytes.
const MaxPasskeyName = 60

// MaxPasskeys is the most passkeys an account may have.
const MaxPasskeys = 20

// Passkey is one registered credential.
type Passkey struct {
	ID           int64
	StaffID      int64
	Name         string
	CredentialID []byte
	Credential   []byte // the credential record, JSON
	SignCount    uint32
	CreatedAt    time.Time
	LastUsedAt   time.Time // zero: never used
	// SuspendedAt is when a login with it showed a signature counter that
	// went backwards (zero: never). A suspended passkey is refused
	// whichever copy answers: the server cannot tell the genuine one from
	// the clone, and the copy with the higher counter may be the clone.
	SuspendedAt time.Time
	// EnrolBinding, for a passkey added on the enrolment page, is the hash
	// of that browser's enrolment cookie until the enrolment completes
	// (KeepEnrolmentPasskeys); nil otherwise.
	EnrolBinding []byte
}

const passkeyColumns = `id, staff_id, name, credential_id, credential, sign_count, created_at, last_used_at, suspended_at, enrol_binding`

func scanPasskey(row interface{ Scan(...any) error }) (Passkey, error) {
	var p Passkey
	var cred string
	var created, used, suspended int64
	err := row.Scan(&p.ID, &p.StaffID, &p.Name, &p.CredentialID, &cred, &p.SignCount, &created, &used, &suspended, &p.EnrolBinding)
	if errors.Is(err, sql.ErrNoRows) {
		return Passkey{}, ErrNotFound
	}
	if err != nil {
		return Passkey{}, err
	}
	p.Credential = []byte(cred)
	p.CreatedAt, p.LastUsedAt, p.SuspendedAt = time.Unix(created, 0).UTC(), timeOrZero(used), timeOrZero(suspended)
	return p, nil
}

// ValidPasskeyName reports whether name can name a passkey: 1 to
// MaxPasskeyName bytes of printable text, not only spaces.
func ValidPasskeyName(name string) bool {
	if strings.TrimSpace(name) == "" || len(name) > MaxPasskeyName {
		return false
	}
	for _, r := range name {
		// No control characters, and no format characters (bidi
		// overrides, zero-width ones) that would let a name pass for
		// another on a list or in the audit trail.
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == 0xfffd {
			return false
		}
	}
	return true
}

// StaffUserHandle returns the account's WebAuthn user handle, making one
// (32 random bytes) the first time it is asked for.
func (db *DB) StaffUserHandle(ctx context.Context, staffID int64) ([]byte, error) {
	var h []byte
	err := db.r.QueryRowContext(ctx, `SELECT user_handle FROM staff_webauthn_users WHERE staff_id = ?`, staffID).Scan(&h)
	if err == nil {
		return h, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("failed to read the user handle of staff %d: %w", staffID, err)
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("failed to draw a user handle: %w", err)
	}
	err = db.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO staff_webauthn_users (staff_id, user_handle) VALUES (?, ?)
			ON CONFLICT (staff_id) DO NOTHING`, staffID, fresh); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT user_handle FROM staff_webauthn_users WHERE staff_id = ?`, staffID).Scan(&h)
	})
	if err != nil {
		return nil, fmt.Errorf("failed to make the user handle of staff %d: %w", staffID, err)
	}
	return h, nil
}

// StaffByUserHandle returns the account whose WebAuthn user handle is
// handle, or ErrNotFound.
func (db *DB) StaffByUserHandle(ctx context.Context, handle []byte) (Staff, error) {
	var id int64
	err := db.r.QueryRowContext(ctx, `SELECT staff_id FROM staff_webauthn_users WHERE user_handle = ?`, handle).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Staff{}, ErrNotFound
	}
	if err != nil {
		return Staff{}, fmt.Errorf("failed to find staff by user handle: %w", err)
	}
	return db.StaffByID(ctx, id)
}

// AddPasskey stores a new passkey of p.StaffID (ErrDuplicate if its
// credential id is registered already, to anyone) and returns it with its
// id. An account holds at most MaxPasskeys.
func (db *DB) AddPasskey(ctx context.Context, p Passkey) (Passkey, error) {
	if !ValidPasskeyName(p.Name) || len(p.CredentialID) == 0 || len(p.Credential) == 0 {
		return Passkey{}, errors.New("failed to add passkey: no name, credential id or credential")
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = db.Now()
	}
	p.CreatedAt = p.CreatedAt.Truncate(time.Second).UTC()
	err := db.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM staff_passkeys WHERE staff_id = ?`, p.StaffID).Scan(&n); err != nil {
			return err
		}
		if n >= MaxPasskeys {
			return fmt.Errorf("an account has at most %d passkeys: %w", MaxPasskeys, ErrDuplicate)
		}
		var err error
		p.ID, err = insertReturningID(ctx, tx, `INSERT INTO staff_passkeys (staff_id, name, credential_id, credential, sign_count, created_at, enrol_binding)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, p.StaffID, p.Name, p.CredentialID, string(p.Credential), p.SignCount, p.CreatedAt.Unix(), p.EnrolBinding)
		if isUnique(err) {
			return ErrDuplicate
		}
		return err
	})
	if err != nil {
		return Passkey{}, fmt.Errorf("failed to add a passkey for staff %d: %w", p.StaffID, err)
	}
	return p, nil
}

// Passkeys returns the account's passkeys, oldest first.
func (db *DB) Passkeys(ctx context.Context, staffID int64) ([]Passkey, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+passkeyColumns+` FROM staff_passkeys WHERE staff_id = ? ORDER BY id`, staffID)
	if err != nil {
		return nil, fmt.Errorf("failed to list passkeys of staff %d: %w", staffID, err)
	}
	defer rows.Close()
	var out []Passkey
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, fmt.Errorf("failed to list passkeys of staff %d: %w", staffID, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to list passkeys of staff %d: %w", staffID, err)
	}
	return out, nil
}

// CountPasskeys returns how many passkeys the account can log in with: a
// suspended one does not count.
func (db *DB) CountPasskeys(ctx context.Context, staffID int64) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM staff_passkeys WHERE staff_id = ? AND suspended_at = 0`, staffID).Scan(&n); err != nil {
		return 0, fmt.Errorf("failed to count passkeys of staff %d: %w", staffID, err)
	}
	return n, nil
}

// RenamePasskey renames one of the account's passkeys (ErrNotFound if it
// has no passkey id).
func (db *DB) RenamePasskey(ctx context.Context, staffID, id int64, name string) error {
	if !ValidPasskeyName(name) {
		return errors.New("failed to rename passkey: invalid name")
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE staff_passkeys SET name = ? WHERE id = ? AND staff_id = ?`, name, id, staffID)
		if err != nil {
			return err
		}
		return oneRow(res)
	})
	if err != nil {
		return fmt.Errorf("failed to rename passkey %d of staff %d: %w", id, staffID, err)
	}
	return nil
}

// RemovePasskey deletes one of the account's passkeys and returns it
// (ErrNotFound if it has no passkey id). With keepOne, the last passkey is
// not removed (ErrLastPasskey), unless it is suspended (it counts for
// nothing): the check and the deletion are one transaction, so two
// removals at once cannot both pass it.
func (db *DB) RemovePasskey(ctx context.Context, staffID, id int64, keepOne bool) (Passkey, error) {
	var p Passkey
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		p, err = scanPasskey(tx.QueryRowContext(ctx, `SELECT `+passkeyColumns+` FROM staff_passkeys WHERE id = ? AND staff_id = ?`, id, staffID))
		if err != nil {
			return err
		}
		if keepOne && p.SuspendedAt.IsZero() {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM staff_passkeys WHERE staff_id = ? AND suspended_at = 0`, staffID).Scan(&n); err != nil {
				return err
			}
			if n <= 1 {
				return ErrLastPasskey
			}
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM staff_passkeys WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return Passkey{}, fmt.Errorf("failed to remove passkey %d of staff %d: %w", id, staffID, err)
	}
	return p, nil
}

// UsePasskey records a login with the account's passkey credentialID: the
// updated credential record, the new signature counter and the time. The
// counter must be above the stored one (or both zero: an authenticator
// without a counter), checked by a compare-and-set, so that of two
// assertions with the same counter only one passes; otherwise nothing
// changes and ErrSignCount is returned. A suspended passkey is never
// used (ErrPasskeySuspended).
func (db *DB) UsePasskey(ctx context.Context, staffID int64, credentialID, credential []byte, signCount uint32, at time.Time) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE staff_passkeys SET credential = ?, sign_count = ?, last_used_at = ?
			WHERE staff_id = ? AND credential_id = ? AND suspended_at = 0
			  AND (sign_count < ? OR (sign_count = 0 AND CAST(? AS BIGINT) = 0))`,
			string(credential), signCount, at.Unix(), staffID, credentialID, signCount, signCount)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		var suspended int64
		err = tx.QueryRowContext(ctx, `SELECT suspended_at FROM staff_passkeys WHERE staff_id = ? AND credential_id = ?`, staffID, credentialID).Scan(&suspended)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if suspended != 0 {
			return ErrPasskeySuspended
		}
		return ErrSignCount
	})
	if err != nil {
		return fmt.Errorf("failed to record the use of a passkey of staff %d: %w", staffID, err)
	}
	return nil
}

// KeepEnrolmentPasskeys, when an enrolment completes, keeps the passkeys
// that the completing browser added on the enrolment page (binding, the
// hash of its enrolment cookie; nil: none) and deletes those added through
// the same link from any other browser. It returns the names of the
// deleted ones.
func (db *DB) KeepEnrolmentPasskeys(ctx context.Context, staffID int64, binding []byte) ([]string, error) {
	// The others: all bound to the link if binding is nil. The condition
	// is chosen here rather than written `(? IS NULL OR enrol_binding !=
	// ?)`, as PostgreSQL cannot tell the type of a parameter only tested
	// for NULL.
	others, args := `staff_id = ? AND enrol_binding IS NOT NULL`, []any{staffID}
	if binding != nil {
		others, args = others+` AND enrol_binding != ?`, append(args, binding)
	}
	var removed []string
	err := db.write(ctx, func(tx *sql.Tx) error {
		removed = nil // fn runs again if a Change it joins is retried
		rows, err := tx.QueryContext(ctx, `SELECT name FROM staff_passkeys WHERE `+others, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				rows.Close()
				return err
			}
			removed = append(removed, name)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM staff_passkeys WHERE `+others, args...); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE staff_passkeys SET enrol_binding = NULL WHERE staff_id = ?`, staffID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("failed to keep the enrolment passkeys of staff %d: %w", staffID, err)
	}
	return removed, nil
}

// SuspendPasskey suspends the account's passkey credentialID from at on
// (if it is not already): a login with it showed a signature counter that
// went backwards, so two copies of it exist and the server cannot tell
// which is genuine. It is refused from then on, whichever copy answers.
func (db *DB) SuspendPasskey(ctx context.Context, staffID int64, credentialID []byte, at time.Time) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE staff_passkeys SET suspended_at = ?
			WHERE staff_id = ? AND credential_id = ? AND suspended_at = 0`, at.Unix(), staffID, credentialID)
		return err
	})
	if err != nil {
		return fmt.Errorf("failed to suspend a passkey of staff %d: %w", staffID, err)
	}
	return nil
}

// Ceremony purposes.
const (
	CeremonyRegister     = "register"
	CeremonyLogin        = "login"        // the passkey step after the password
	CeremonyPasswordless = "passwordless" // a passkey alone
)

// Ceremony is a WebAuthn ceremony in progress, bound to what began it.
type Ceremony struct {
	Purpose   string
	Binding   []byte // hash of the token of the session or cookie that began it
	StaffID   int64  // 0: not known yet (passwordless)
	CSRF      string
	Data      []byte // the library's session data (JSON); empty until options were given
	ExpiresAt time.Time
}

// PutCeremony stores a ceremony, replacing one of the same purpose and
// binding (asking for new options voids the old challenge). Expired
// ceremonies are swept on the way.
func (db *DB) PutCeremony(ctx context.Context, c Ceremony) error {
	if len(c.Binding) == 0 || c.CSRF == "" {
		return errors.New("failed to store ceremony: no binding or CSRF token")
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM webauthn_ceremonies WHERE expires_at <= ?`, db.Now().Unix()); err != nil {
			return err
		}
		var staff any
		if c.StaffID != 0 {
			staff = c.StaffID
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO webauthn_ceremonies (purpose, binding, staff_id, csrf, data, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (purpose, binding) DO UPDATE SET staff_id = excluded.staff_id, csrf = excluded.csrf,
			    data = excluded.data, expires_at = excluded.expires_at`,
			c.Purpose, c.Binding, staff, c.CSRF, string(c.Data), c.ExpiresAt.Unix())
		return err
	})
	if err != nil {
		return fmt.Errorf("failed to store a %s ceremony: %w", c.Purpose, err)
	}
	return nil
}

// CountCeremonies returns how many unexpired ceremonies of purpose there
// are: the server bounds those that anyone may begin (a passkey alone).
func (db *DB) CountCeremonies(ctx context.Context, purpose string) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM webauthn_ceremonies WHERE purpose = ? AND expires_at > ?`,
		purpose, db.Now().Unix()).Scan(&n); err != nil {
		return 0, fmt.Errorf("failed to count %s ceremonies: %w", purpose, err)
	}
	return n, nil
}

// CeremonyFor returns the unexpired ceremony of this purpose and binding,
// or ErrNotFound.
func (db *DB) CeremonyFor(ctx context.Context, purpose string, binding []byte) (Ceremony, error) {
	c := Ceremony{Purpose: purpose, Binding: binding}
	var staff sql.NullInt64
	var data string
	var expires int64
	err := db.r.QueryRowContext(ctx, `SELECT staff_id, csrf, data, expires_at FROM webauthn_ceremonies
		WHERE purpose = ? AND binding = ? AND expires_at > ?`, purpose, binding, db.Now().Unix()).
		Scan(&staff, &c.CSRF, &data, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return Ceremony{}, ErrNotFound
	}
	if err != nil {
		return Ceremony{}, fmt.Errorf("failed to read a %s ceremony: %w", purpose, err)
	}
	c.StaffID, c.Data, c.ExpiresAt = staff.Int64, []byte(data), time.Unix(expires, 0).UTC()
	return c, nil
}

// TakeCeremony consumes the ceremony of this purpose and binding whose
// session data is data (the challenge that was answered), or returns
// ErrNotFound: it was used already, replaced by newer options, or expired.
// Called in the transaction that registers or logs in, it makes the
// challenge single use: of two requests with the same answer, one gets
// ErrNotFound.
func (db *DB) TakeCeremony(ctx context.Context, purpose string, binding, data []byte) error {
	if len(data) == 0 {
		return fmt.Errorf("failed to take a %s ceremony: %w", purpose, ErrNotFound)
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webauthn_ceremonies
			WHERE purpose = ? AND binding = ? AND data = ? AND expires_at > ?`, purpose, binding, string(data), db.Now().Unix())
		if err != nil {
			return err
		}
		return oneRow(res)
	})
	if err != nil {
		return fmt.Errorf("failed to take a %s ceremony: %w", purpose, err)
	}
	return nil
}

// DropCeremony deletes the ceremony of this purpose and binding, if any: a
// failed answer spends its challenge.
func (db *DB) DropCeremony(ctx context.Context, purpose string, binding []byte) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM webauthn_ceremonies WHERE purpose = ? AND binding = ?`, purpose, binding)
		return err
	})
	if err != nil {
		return fmt.Errorf("failed to drop a %s ceremony: %w", purpose, err)
	}
	return nil
}

// PasskeyPolicy is the administrators' choice about passkeys.
type PasskeyPolicy struct {
	// Required: roles whose accounts must have a passkey.
	Required map[string]bool
	// Alone: a passkey with user verification may log in without the
	// password.
	Alone bool
	// UV: user verification is required with password + passkey too.
	UV bool
}

// RequiredFor reports whether an account of role must have a passkey.
func (p PasskeyPolicy) RequiredFor(role string) bool { return p.Required[role] }

const (
	passkeyRequiredKey = "passkey_required_roles"
	passkeyAloneKey    = "passkey_alone"
	passkeyUVKey       = "passkey_uv"
)

// PasskeyPolicy returns the policy; by default nothing is required and a
// passkey alone is not allowed.
func (db *DB) PasskeyPolicy(ctx context.Context) (PasskeyPolicy, error) {
	p := PasskeyPolicy{Required: map[string]bool{}}
	rows, err := db.r.QueryContext(ctx, `SELECT key, value FROM settings WHERE key IN (?, ?, ?)`,
		passkeyRequiredKey, passkeyAloneKey, passkeyUVKey)
	if err != nil {
		return p, fmt.Errorf("failed to read the passkey policy: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return p, fmt.Errorf("failed to read the passkey policy: %w", err)
		}
		switch k {
		case passkeyRequiredKey:
			for _, r := range strings.Split(v, ",") {
				if ValidRole(r) {
					p.Required[r] = true
				}
			}
		case passkeyAloneKey:
			p.Alone = v == "1"
		case passkeyUVKey:
			p.UV = v == "1"
		}
	}
	if err := rows.Err(); err != nil {
		return p, fmt.Errorf("failed to read the passkey policy: %w", err)
	}
	return p, nil
}

// SetPasskeyPolicy stores the policy.
func (db *DB) SetPasskeyPolicy(ctx context.Context, p PasskeyPolicy) error {
	var roles []string
	for _, r := range []string{RoleAdmin, RoleCaseworker, RoleStatistics} {
		if p.Required[r] {
			roles = append(roles, r)
		}
	}
	flag := func(b bool) string {
		if b {
			return "1"
		}
		return "0"
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		for _, kv := range [][2]string{{passkeyRequiredKey, strings.Join(roles, ",")}, {passkeyAloneKey, flag(p.Alone)}, {passkeyUVKey, flag(p.UV)}} {
			if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
				ON CONFLICT (key) DO UPDATE SET value = excluded.value`, kv[0], kv[1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("failed to store the passkey policy: %w", err)
	}
	return nil
}

// NoteRecoveryLogin remembers that the account logged in with a recovery
// code at at, to tell them at their next login. A use not yet shown is
// not overwritten by a later one: the notice names the earliest.
func (db *DB) NoteRecoveryLogin(ctx context.Context, staffID int64, at time.Time) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO staff_recovery_notices (staff_id, used_at, session_hash) VALUES (?, ?, NULL)
			ON CONFLICT (staff_id) DO UPDATE SET session_hash = NULL`, staffID, at.Unix())
		return err
	})
	if err != nil {
		return fmt.Errorf("failed to note a recovery-code login of staff %d: %w", staffID, err)
	}
	return nil
}

// ArmRecoveryNotice gives the account's pending recovery-code notice, if
// any, to the session sessionHash (its next login), which shows it once.
func (db *DB) ArmRecoveryNotice(ctx context.Context, staffID int64, sessionHash []byte) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE staff_recovery_notices SET session_hash = ? WHERE staff_id = ?`, sessionHash, staffID)
		return err
	})
	if err != nil {
		return fmt.Errorf("failed to arm the recovery-code notice of staff %d: %w", staffID, err)
	}
	return nil
}

// TakeRecoveryNotice returns when the account last logged in with a
// recovery code, if that is to be shown to the session sessionHash, and
// forgets it: it is shown once.
func (db *DB) TakeRecoveryNotice(ctx context.Context, staffID int64, sessionHash []byte) (time.Time, bool, error) {
	var at int64
	err := db.r.QueryRowContext(ctx, `SELECT used_at FROM staff_recovery_notices WHERE staff_id = ? AND session_hash = ?`,
		staffID, sessionHash).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("failed to read the recovery-code notice of staff %d: %w", staffID, err)
	}
	err = db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM staff_recovery_notices WHERE staff_id = ? AND session_hash = ?`, staffID, sessionHash)
		if err != nil {
			return err
		}
		return oneRow(res)
	})
	if errors.Is(err, ErrNotFound) {
		return time.Time{}, false, nil // another request of the session showed it
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("failed to clear the recovery-code notice of staff %d: %w", staffID, err)
	}
	return time.Unix(at, 0).UTC(), true, nil
}
