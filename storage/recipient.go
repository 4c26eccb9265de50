package storage

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// OrgRecipient is an organisation public key added in the console.
type OrgRecipient struct {
	ID        int64
	Recipient string
	Label     string
	AddedBy   string
	AddedAt   time.Time
}

// OrgRecipients lists the keys added in the console, oldest first.
func (db *DB) OrgRecipients(ctx context.Context) ([]OrgRecipient, error) {
	return orgRecipients(ctx, db.r)
}

// OrgRecipientsVersioned lists the keys added in the console, oldest
// first, with the version of that list (OrgRecipientsVersion), both read
// from one snapshot.
func (db *DB) OrgRecipientsVersioned(ctx context.Context) ([]OrgRecipient, int64, error) {
	tx, err := db.beginSnapshot(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("failed to list recipients: %w", err)
	}
	defer tx.Rollback()
	var version int64
	if err := tx.QueryRowContext(ctx, `SELECT version FROM org_recipients_version WHERE id = 1`).Scan(&version); err != nil {
		return nil, 0, fmt.Errorf("failed to read the recipients' version: %w", err)
	}
	out, err := orgRecipients(ctx, tx)
	return out, version, err
}

// OrgRecipientsVersion is the version of the keys added in the console:
// every addition and removal raises it, in its own transaction, so an
// instance that read the list at one version knows, with one indexed
// read, whether it is still the current list.
func (db *DB) OrgRecipientsVersion(ctx context.Context) (int64, error) {
	var version int64
	if err := db.r.QueryRowContext(ctx, `SELECT version FROM org_recipients_version WHERE id = 1`).Scan(&version); err != nil {
		return 0, fmt.Errorf("failed to read the recipients' version: %w", err)
	}
	return version, nil
}

func bumpRecipientsVersion(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `UPDATE org_recipients_version SET version = version + 1 WHERE id = 1`)
	return err
}

func orgRecipients(ctx context.Context, q querier) ([]OrgRecipient, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, recipient, label, added_by, added_at FROM org_recipients ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("failed to list recipients: %w", err)
	}
	defer rows.Close()
	var out []OrgRecipient
	for rows.Next() {
		var r OrgRecipient
		var at int64
		if err := rows.Scan(&r.ID, &r.Recipient, &r.Label, &r.AddedBy, &at); err != nil {
			return nil, err
		}
		r.AddedAt = time.Unix(at, 0).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// AddOrgRecipient stores a key; ErrDuplicate if it is already there.
func (db *DB) AddOrgRecipient(ctx context.Context, recipient, label, addedBy string) (OrgRecipient, error) {
	r := OrgRecipient{Recipient: recipient, Label: label, AddedBy: addedBy, AddedAt: db.Now().UTC().Truncate(time.Second)}
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		r.ID, err = insertReturningID(ctx, tx,
			`INSERT INTO org_recipients (recipient, label, added_by, added_at) VALUES (?, ?, ?, ?)`,
			recipient, label, addedBy, r.AddedAt.Unix())
		if isUniqueNotKey(err) {
			return ErrDuplicate
		}
		if err != nil {
			return err
		}
		return bumpRecipientsVersion(ctx, tx)
	})
	if err != nil {
		return OrgRecipient{}, fmt.Errorf("failed to add recipient: %w", err)
	}
	return r, nil
}

// RemoveOrgRecipient deletes a console-added key.
func (db *DB) RemoveOrgRecipient(ctx context.Context, id int64) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		if err := execOneTx(ctx, tx, `DELETE FROM org_recipients WHERE id = ?`, id); err != nil {
			return err
		}
		return bumpRecipientsVersion(ctx, tx)
	})
}
