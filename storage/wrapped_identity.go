package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// MaxWrappedIdentity is the largest wrapped identity kept: an age file
// holding a few identity lines (a post-quantum one is ~2 KB armored) and
// one or two fido2prf stanzas fits many times over.
const MaxWrappedIdentity = 16 << 10

// MaxWrappedIdentityHint is the longest identity string kept with it (an
// AGE-PLUGIN-FIDO2PRF-1… string is a few hundred characters).
const MaxWrappedIdentityHint = 1024

// WrappedIdentity is a staff member's age identity encrypted to their
// passkey or security key (migration 0025). The server cannot open it: it
// stores the bytes it was given, checked by the server package only for
// their shape.
type WrappedIdentity struct {
	// File is the age file (binary or armored).
	File []byte
	// Hint is the AGE-PLUGIN-FIDO2PRF-1… string naming the credential, or
	// "" for a discoverable passkey that the browser finds by itself.
	Hint    string
	Created time.Time
}

// SetWrappedIdentity stores staff's wrapped identity, replacing the one
// they had.
func (db *DB) SetWrappedIdentity(ctx context.Context, staff int64, w WrappedIdentity) error {
	if len(w.File) == 0 || len(w.File) > MaxWrappedIdentity || len(w.Hint) > MaxWrappedIdentityHint {
		return fmt.Errorf("failed to store the wrapped identity of staff %d: %d bytes, hint of %d, outside the limits", staff, len(w.File), len(w.Hint))
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO staff_wrapped_identities (staff_id, wrapped, key_hint, created_at)
			VALUES (?, ?, ?, ?)
			ON CONFLICT (staff_id) DO UPDATE SET wrapped = excluded.wrapped, key_hint = excluded.key_hint, created_at = excluded.created_at`,
			staff, w.File, w.Hint, db.Now().Unix())
		return err
	})
	if err != nil {
		return fmt.Errorf("failed to store the wrapped identity of staff %d: %w", staff, err)
	}
	return nil
}

// WrappedIdentity returns staff's wrapped identity, or ErrNotFound if they
// have none.
func (db *DB) WrappedIdentity(ctx context.Context, staff int64) (WrappedIdentity, error) {
	var w WrappedIdentity
	var created int64
	err := db.r.QueryRowContext(ctx, `SELECT wrapped, key_hint, created_at FROM staff_wrapped_identities WHERE staff_id = ?`, staff).
		Scan(&w.File, &w.Hint, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return WrappedIdentity{}, ErrNotFound
	}
	if err != nil {
		return WrappedIdentity{}, fmt.Errorf("failed to read the wrapped identity of staff %d: %w", staff, err)
	}
	w.Created = time.Unix(created, 0)
	return w, nil
}

// HasWrappedIdentity reports whether staff has a wrapped identity stored,
// without reading it: what every page with a key panel asks.
func (db *DB) HasWrappedIdentity(ctx context.Context, staff int64) (bool, error) {
	var n int
	err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM staff_wrapped_identities WHERE staff_id = ?`, staff).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("failed to look for the wrapped identity of staff %d: %w", staff, err)
	}
	return n > 0, nil
}

// RemoveWrappedIdentity deletes staff's wrapped identity; ErrNotFound if
// they had none.
func (db *DB) RemoveWrappedIdentity(ctx context.Context, staff int64) error {
	err := db.execOne(ctx, `DELETE FROM staff_wrapped_identities WHERE staff_id = ?`, staff)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("failed to remove the wrapped identity of staff %d: %w", staff, err)
	}
	return err
}
