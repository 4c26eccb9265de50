package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// AuditEntry is one entry of the audit trail: who did what to what, and when.
// The trail is an append-only log whose entries form a hash chain, so that
// editing, deleting or reordering entries after the fact is detectable by
// VerifyAudit.
type AuditEntry struct {
	ID       int64
	At       time.Time // to the second, UTC
	Actor    string    // staff username, or ActorCLI, ActorSystem or ActorUnknown; never ActorReporter
	Action   string    // e.g. "staff.login", "staff.login_failed", "case.open"
	Target   string    // e.g. a case ref or a username; may be empty
	Detail   string    // short free text; never report content or network data
	PrevHash []byte
	Hash     []byte
}

// AuditError is what VerifyAudit returns when the chain is broken: the id of
// the first bad entry and what is wrong with it.
type AuditError struct {
	ID     int64
	Reason string
}

func (e *AuditError) Error() string {
	return fmt.Sprintf("audit trail is not intact at entry %d: %s", e.ID, e.Reason)
}

// auditHashVersion is the first field of every hashed encoding, so a future
// change of encoding cannot produce the same bytes as this one.
const auditHashVersion = "candour-audit-v1"

// auditHash computes an entry's hash: SHA-256 over the fields
//
//	"candour-audit-v1", ID, At, Actor, Action, Target, Detail, PrevHash
//
// each written as its length (encoding/binary uvarint) followed by its bytes,
// where ID and At (unix seconds) are 8-byte big-endian two's complement and
// strings are their UTF-8 bytes. Length prefixes make the encoding
// unambiguous: ("ab", "c") and ("a", "bc") hash differently, which plain
// concatenation would not guarantee.
func auditHash(id, at int64, actor, action, target, detail string, prev []byte) []byte {
	var buf []byte
	field := func(b []byte) {
		buf = binary.AppendUvarint(buf, uint64(len(b)))
		buf = append(buf, b...)
	}
	field([]byte(auditHashVersion))
	field(binary.BigEndian.AppendUint64(nil, uint64(id)))
	field(binary.BigEndian.AppendUint64(nil, uint64(at)))
	field([]byte(actor))
	field([]byte(action))
	field([]byte(target))
	field([]byte(detail))
	field(prev)
	sum := sha256.Sum256(buf)
	return sum[:]
}

// AppendAudit appends an entry in its own write transaction and returns it as
// stored. The log stamps its own entries: At is db.Now() to the second and
// ID is the next in sequence, whatever the caller set, so an entry cannot be
// backdated or slotted between two others. PrevHash is the previous entry's
// Hash (32 zero bytes for the first) and Hash is computed as in auditHash.
// The one-row audit_head (count, last id, last hash) is updated in the same
// transaction, so that deleting the newest entries is detectable too.
//
// An entry that records a change of state is appended with Change instead,
// in the change's own transaction.
func (db *DB) AppendAudit(ctx context.Context, e AuditEntry) (AuditEntry, error) {
	var out AuditEntry
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = db.appendAudit(ctx, tx, e)
		return err
	})
	if err != nil {
		return AuditEntry{}, err
	}
	return out, nil
}

// appendAudit appends e in tx, as AppendAudit describes.
func (db *DB) appendAudit(ctx context.Context, tx *sql.Tx, e AuditEntry) (AuditEntry, error) {
	if e.Actor == "" || e.Action == "" {
		return AuditEntry{}, errors.New("failed to append audit entry: empty actor or action")
	}
	if e.Actor == ActorReporter {
		// A reporter's action is never timed to the second nor placed in
		// the chain between staff actions: it is counted per day instead
		// (reporter_activity, see WithdrawCase).
		return AuditEntry{}, errors.New("failed to append audit entry: reporter events are not audited in the timed trail")
	}
	e.At = db.Now().UTC().Truncate(time.Second)
	err := func() error {
		var count, lastID int64
		var lastHash []byte
		if err := tx.QueryRowContext(ctx,
			`SELECT count, last_id, last_hash FROM audit_head WHERE id = 1`).Scan(&count, &lastID, &lastHash); err != nil {
			return fmt.Errorf("failed to read audit head: %w", err)
		}
		e.ID, e.PrevHash = lastID+1, lastHash
		e.Hash = auditHash(e.ID, e.At.Unix(), e.Actor, e.Action, e.Target, e.Detail, e.PrevHash)
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO audit_log (id, at, actor, action, target, detail, prev_hash, hash)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, e.At.Unix(), e.Actor, e.Action, e.Target, e.Detail, e.PrevHash, e.Hash); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx,
			`UPDATE audit_head SET count = ?, last_id = ?, last_hash = ? WHERE id = 1`, count+1, e.ID, e.Hash)
		return err
	}()
	if err != nil {
		return AuditEntry{}, fmt.Errorf("failed to append audit entry %q: %w", e.Action, err)
	}
	return e, nil
}

const auditColumns = `id, at, actor, action, target, detail, prev_hash, hash`

func scanAudit(row interface{ Scan(...any) error }) (AuditEntry, error) {
	var e AuditEntry
	var at int64
	if err := row.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Detail, &e.PrevHash, &e.Hash); err != nil {
		return AuditEntry{}, err
	}
	e.At = time.Unix(at, 0).UTC()
	return e, nil
}

// AuditPage returns at most limit entries newest first, skipping the first
// offset, and the total number of entries, read from one snapshot so the
// page and the total agree.
func (db *DB) AuditPage(ctx context.Context, offset, limit int) ([]AuditEntry, int, error) {
	tx, err := db.beginSnapshot(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("failed to read audit trail: %w", err)
	}
	defer tx.Rollback()
	var total int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM audit_log`).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("failed to count audit entries: %w", err)
	}
	rows, err := tx.QueryContext(ctx,
		`SELECT `+auditColumns+` FROM audit_log ORDER BY id DESC LIMIT ? OFFSET ?`, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("failed to read audit trail: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("failed to read audit trail: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("failed to read audit trail: %w", err)
	}
	return out, total, nil
}

// VerifyAudit walks the whole chain in id order within one read snapshot and
// returns nil if it is intact, an *AuditError naming the first bad entry and
// what is wrong with it, or another error if the trail could not be read.
// Ids must run 1, 2, 3... (a gap is a deleted entry), each entry's hash must
// match its content, and each must link to the one before; finally the head
// must name the last entry, which is what reveals deleted newest entries.
func (db *DB) VerifyAudit(ctx context.Context) error {
	tx, err := db.beginSnapshot(ctx)
	if err != nil {
		return fmt.Errorf("failed to verify audit trail: %w", err)
	}
	defer tx.Rollback()

	// The snapshot starts at this first read, so the head and the entries
	// below are seen as of the same commit.
	var headCount, headLastID int64
	var headLastHash []byte
	err = tx.QueryRowContext(ctx,
		`SELECT count, last_id, last_hash FROM audit_head WHERE id = 1`).Scan(&headCount, &headLastID, &headLastHash)
	if errors.Is(err, sql.ErrNoRows) {
		return &AuditError{ID: 0, Reason: "the audit head is missing"}
	}
	if err != nil {
		return fmt.Errorf("failed to verify audit trail: %w", err)
	}

	rows, err := tx.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_log ORDER BY id`)
	if err != nil {
		return fmt.Errorf("failed to verify audit trail: %w", err)
	}
	defer rows.Close()
	var n, lastID int64
	prev := make([]byte, sha256.Size)
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return fmt.Errorf("failed to verify audit trail: %w", err)
		}
		n++
		switch {
		case e.ID != lastID+1:
			return &AuditError{ID: e.ID, Reason: fmt.Sprintf("ids are not consecutive: expected %d (an entry was deleted)", lastID+1)}
		case !bytes.Equal(e.Hash, auditHash(e.ID, e.At.Unix(), e.Actor, e.Action, e.Target, e.Detail, e.PrevHash)):
			return &AuditError{ID: e.ID, Reason: "hash does not match its content"}
		case !bytes.Equal(e.PrevHash, prev):
			return &AuditError{ID: e.ID, Reason: "does not link to the previous entry"}
		}
		lastID, prev = e.ID, e.Hash
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("failed to verify audit trail: %w", err)
	}
	if headCount != n || headLastID != lastID || !bytes.Equal(headLastHash, prev) {
		return &AuditError{ID: max(headLastID, lastID), Reason: fmt.Sprintf(
			"head does not match the last entry (head: %d entries ending at %d; found %d ending at %d)",
			headCount, headLastID, n, lastID)}
	}
	return nil
}
