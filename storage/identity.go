package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Confidential identity (migration 0015): a reporter may tell the channel
// who they are. What they wrote is one age file, encrypted at submission to
// the channel's custodians' own keys; the server stores it as opaque bytes
// with the day it was first opened. Caseworkers ask for access; a custodian
// approves (posting a copy re-encrypted to the caseworker's own key, made
// in the custodian's browser) or refuses.

// Identity request states.
const (
	IdentityRequested = "requested"
	IdentityApproved  = "approved"
	IdentityRefused   = "refused"
)

// ActionIdentityWithdrawn is the reporter activity counted when a reporter
// deletes their identity details.
const ActionIdentityWithdrawn = "identity.withdrawn"

// CaseIdentity is what is stored of a case's identity details.
type CaseIdentity struct {
	CaseID     int64
	Ciphertext []byte
	// Opened is the day they were first fetched by anyone; zero if never.
	Opened time.Time
}

// IdentityRequest is a caseworker's request to read a case's identity.
type IdentityRequest struct {
	ID        int64
	CaseID    int64
	CaseRef   string
	ChannelID int64
	StaffID   int64
	Username  string
	// Recipient is the requester's own age public key ("" if none).
	Recipient string
	Reason    string
	State     string
	Day       time.Time
}

// ErrNotPending is returned when a request already decided is decided again.
var ErrNotPending = errors.New("the request was already decided")

func insertIdentity(ctx context.Context, tx *sql.Tx, caseID int64, ciphertext []byte) error {
	if len(ciphertext) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO case_identities (case_id, ciphertext) VALUES (?, ?)`, caseID, ciphertext)
	return err
}

// SetStaffCustodian makes a staff member a custodian, or not; a statistics
// account cannot be one (ErrStatisticsOnly).
func (db *DB) SetStaffCustodian(ctx context.Context, staff int64, custodian bool) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		var role string
		err := tx.QueryRowContext(ctx, `SELECT role FROM staff WHERE id = ?`, staff).Scan(&role)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if custodian && role == RoleStatistics {
			return ErrStatisticsOnly
		}
		return execOneTx(ctx, tx, `UPDATE staff SET custodian = ?, updated_at = ? WHERE id = ?`, b2i(custodian), db.Now().Unix(), staff)
	})
}

// SetChannelOfferIdentity sets whether a channel's report form offers the
// identity section.
func (db *DB) SetChannelOfferIdentity(ctx context.Context, channel int64, offer bool) error {
	return db.execOne(ctx, `UPDATE channels SET offer_identity = ?, updated_at = ? WHERE id = ?`, b2i(offer), db.Now().Unix(), channel)
}

// IdentityCustodians returns the custodians who can receive a channel's
// identity details: enabled, with their own key registered, and not
// excluded from the channel.
func (db *DB) IdentityCustodians(ctx context.Context, channel int64) ([]Staff, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+staffColumns+` FROM staff s
		WHERE custodian = 1 AND disabled = 0 AND age_recipient <> ''
		AND NOT EXISTS (SELECT 1 FROM channel_exclusions e WHERE e.channel_id = ? AND e.staff_id = s.id)
		ORDER BY id`, channel)
	if err != nil {
		return nil, fmt.Errorf("failed to list custodians: %w", err)
	}
	defer rows.Close()
	var out []Staff
	for rows.Next() {
		s, err := scanStaff(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// IsCustodianFor reports whether a staff member is a custodian who is not
// excluded from the channel.
func (db *DB) IsCustodianFor(ctx context.Context, channel, staff int64) (bool, error) {
	var ok bool
	err := db.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM staff s WHERE s.id = ? AND s.custodian = 1 AND s.disabled = 0
		AND NOT EXISTS (SELECT 1 FROM channel_exclusions e WHERE e.channel_id = ? AND e.staff_id = s.id))`,
		staff, channel).Scan(&ok)
	return ok, err
}

// CaseIdentity returns a case's identity details; ErrNotFound if it has none.
func (db *DB) CaseIdentity(ctx context.Context, caseID int64) (CaseIdentity, error) {
	ci := CaseIdentity{CaseID: caseID}
	var opened sql.NullInt64
	err := db.r.QueryRowContext(ctx, `SELECT ciphertext, opened_day FROM case_identities WHERE case_id = ?`, caseID).
		Scan(&ci.Ciphertext, &opened)
	if errors.Is(err, sql.ErrNoRows) {
		return CaseIdentity{}, ErrNotFound
	}
	if err != nil {
		return CaseIdentity{}, fmt.Errorf("failed to read identity: %w", err)
	}
	if opened.Valid {
		ci.Opened = time.Unix(opened.Int64, 0).UTC()
	}
	return ci, nil
}

// MarkIdentityOpened records today as the day a case's identity details
// were first opened, unless a day is already recorded.
func (db *DB) MarkIdentityOpened(ctx context.Context, caseID int64) error {
	day := db.coarseNow()
	return db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE case_identities SET opened_day = ? WHERE case_id = ? AND opened_day IS NULL`, day, caseID)
		return err
	})
}

// RequestIdentity records a caseworker's request to read a case's identity
// details, and why.
func (db *DB) RequestIdentity(ctx context.Context, caseID, staff int64, reason string) (int64, error) {
	var id int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = insertReturningID(ctx, tx, `INSERT INTO identity_requests (case_id, staff_id, reason, state, day) VALUES (?, ?, ?, ?, ?)`,
			caseID, staff, reason, IdentityRequested, db.coarseNow())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("failed to record identity request: %w", err)
	}
	return id, nil
}

const identityRequestQuery = `SELECT r.id, r.case_id, c.ref, c.channel_id, r.staff_id, s.username, s.age_recipient,
	r.reason, r.state, r.day FROM identity_requests r JOIN cases c ON c.id = r.case_id JOIN staff s ON s.id = r.staff_id`

func scanIdentityRequest(row interface{ Scan(...any) error }) (IdentityRequest, error) {
	var r IdentityRequest
	var day int64
	err := row.Scan(&r.ID, &r.CaseID, &r.CaseRef, &r.ChannelID, &r.StaffID, &r.Username, &r.Recipient, &r.Reason, &r.State, &day)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	r.Day = time.Unix(day, 0).UTC()
	return r, err
}

// IdentityRequestByID returns one request.
func (db *DB) IdentityRequestByID(ctx context.Context, id int64) (IdentityRequest, error) {
	return scanIdentityRequest(db.r.QueryRowContext(ctx, identityRequestQuery+` WHERE r.id = ?`, id))
}

// IdentityRequests lists the requests in a state, oldest first; with
// caseID > 0, those of one case only.
func (db *DB) IdentityRequests(ctx context.Context, state string, caseID int64) ([]IdentityRequest, error) {
	rows, err := db.r.QueryContext(ctx, identityRequestQuery+` WHERE (? = '' OR r.state = ?) AND (CAST(? AS BIGINT) = 0 OR r.case_id = ?) ORDER BY r.id`,
		state, state, caseID, caseID)
	if err != nil {
		return nil, fmt.Errorf("failed to list identity requests: %w", err)
	}
	defer rows.Close()
	var out []IdentityRequest
	for rows.Next() {
		r, err := scanIdentityRequest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DecideIdentityRequest approves (with grant, the identity re-encrypted to
// the requester's own key) or refuses a pending request. ErrNotPending if
// it was decided already.
func (db *DB) DecideIdentityRequest(ctx context.Context, id, custodian int64, approve bool, grant []byte) error {
	state := IdentityRefused
	if approve {
		state = IdentityApproved
	}
	return db.write(ctx, func(tx *sql.Tx) error {
		var caseID, staff int64
		var current string
		err := tx.QueryRowContext(ctx, `SELECT case_id, staff_id, state FROM identity_requests WHERE id = ?`, id).Scan(&caseID, &staff, &current)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if current != IdentityRequested {
			return ErrNotPending
		}
		if _, err := tx.ExecContext(ctx, `UPDATE identity_requests SET state = ?, decided_by = ? WHERE id = ?`, state, custodian, id); err != nil {
			return err
		}
		if !approve {
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO identity_grants (case_id, staff_id, ciphertext) VALUES (?, ?, ?)
			ON CONFLICT (case_id, staff_id) DO UPDATE SET ciphertext = excluded.ciphertext`, caseID, staff, grant)
		return err
	})
}

// IdentityGrant returns the copy of a case's identity granted to one staff
// member; ErrNotFound if they hold none.
func (db *DB) IdentityGrant(ctx context.Context, caseID, staff int64) ([]byte, error) {
	var b []byte
	err := db.r.QueryRowContext(ctx, `SELECT ciphertext FROM identity_grants WHERE case_id = ? AND staff_id = ?`, caseID, staff).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return b, err
}

// IdentityCase is a case with identity details, as a custodian's list
// shows it.
type IdentityCase struct {
	CaseID    int64
	Ref       string
	ChannelID int64
	Opened    time.Time
}

// CasesWithIdentity lists the cases that hold identity details, in the
// channels that staff is not excluded from.
func (db *DB) CasesWithIdentity(ctx context.Context, staff int64) ([]IdentityCase, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT c.id, c.ref, c.channel_id, i.opened_day FROM case_identities i JOIN cases c ON c.id = i.case_id
		WHERE NOT EXISTS (SELECT 1 FROM channel_exclusions e WHERE e.channel_id = c.channel_id AND e.staff_id = ?)
		ORDER BY c.ref`, staff)
	if err != nil {
		return nil, fmt.Errorf("failed to list cases with identity: %w", err)
	}
	defer rows.Close()
	var out []IdentityCase
	for rows.Next() {
		var ic IdentityCase
		var opened sql.NullInt64
		if err := rows.Scan(&ic.CaseID, &ic.Ref, &ic.ChannelID, &opened); err != nil {
			return nil, err
		}
		if opened.Valid {
			ic.Opened = time.Unix(opened.Int64, 0).UTC()
		}
		out = append(out, ic)
	}
	return out, rows.Err()
}

// WithdrawIdentity deletes a case's identity details at its reporter's
// request: the block, every grant and every request of the case, in one
// transaction, counted for the day in reporter_activity (not in the timed
// audit trail, as WithdrawCase); then, as DeleteCase, the freed pages are
// reclaimed (secure_delete zeroes them) and the WAL truncated.
func (db *DB) WithdrawIdentity(ctx context.Context, caseID int64) error {
	if changeOf(ctx, db) != nil {
		return fmt.Errorf("failed to withdraw identity: inside a change")
	}
	day := db.coarseNow()
	err := db.write(ctx, func(tx *sql.Tx) error {
		if err := execOneTx(ctx, tx, `DELETE FROM case_identities WHERE case_id = ?`, caseID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM identity_grants WHERE case_id = ?`, caseID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM identity_requests WHERE case_id = ?`, caseID); err != nil {
			return err
		}
		return countReporterActivity(ctx, tx, day, ActionIdentityWithdrawn)
	})
	if err != nil {
		return fmt.Errorf("failed to withdraw identity: %w", err)
	}
	return db.reclaim(ctx)
}

// CaseIdentity returns the identity details of a case in the snapshot, as
// stored (an age file to the custodians' keys); ErrNotFound if it has none.
func (v *View) CaseIdentity(ctx context.Context, caseID int64) ([]byte, error) {
	var b []byte
	err := v.tx.QueryRowContext(ctx, `SELECT ciphertext FROM case_identities WHERE case_id = ?`, caseID).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return b, err
}

// AddIdentityGrant stores a copy of a case's identity details for one staff
// member (a custodian's copy for another custodian, made in the browser),
// replacing any they hold. ErrNotFound if the case has no identity details.
func (db *DB) AddIdentityGrant(ctx context.Context, caseID, staff int64, ciphertext []byte) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		var has bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM case_identities WHERE case_id = ?)`, caseID).Scan(&has); err != nil {
			return err
		}
		if !has {
			return ErrNotFound
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO identity_grants (case_id, staff_id, ciphertext) VALUES (?, ?, ?)
			ON CONFLICT (case_id, staff_id) DO UPDATE SET ciphertext = excluded.ciphertext`, caseID, staff, ciphertext)
		return err
	})
}
