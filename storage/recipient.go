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
	rows, err := db.r.QueryContext(ctx, `SELECT id, recipient, label, added_by, added_at FROM org_recipients ORDER BY id`)
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
		return err
	})
	if err != nil {
		return OrgRecipient{}, fmt.Errorf("failed to add recipient: %w", err)
	}
	return r, nil
}

// RemoveOrgRecipient deletes a console-added key.
func (db *DB) RemoveOrgRecipient(ctx context.Context, id int64) error {
	return db.execOne(ctx, `DELETE FROM org_recipients WHERE id = ?`, id)
}
