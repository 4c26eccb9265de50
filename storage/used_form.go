package storage

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// ErrFormUsed is returned when a form token was already used: the form was
// sent before, and what it carried is stored already.
var ErrFormUsed = errors.New("form already used")

// usedFormKept is how long the hash of a used form token is kept (it is
// deleted on the first write two to three days after use): long enough for
// a reload of the page that answered the form, short enough that the table
// stays small and says little.
const usedFormKept = 2 * Coarseness

// FormUsed reports whether the form token with this hash was used. It is
// advisory, to refuse a repeat before its upload is read: the transaction
// that stores the submission decides.
func (db *DB) FormUsed(ctx context.Context, hash []byte) (bool, error) {
	var one int
	err := db.r.QueryRowContext(ctx, `SELECT 1 FROM used_forms WHERE hash = ?`, hash).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// useForm records a form token's hash as used, in the transaction that
// stores what the form carried, so that neither exists without the other.
// It returns ErrFormUsed if the hash is there already. A nil hash records
// nothing. Expired hashes are deleted on the way.
func useForm(ctx context.Context, tx *sql.Tx, hash []byte, now int64) error {
	if hash == nil {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM used_forms WHERE expires < ?`, now); err != nil {
		return err
	}
	// DO NOTHING rather than a unique-key error: on PostgreSQL an error
	// would end the whole transaction, not this statement alone.
	res, err := tx.ExecContext(ctx, `INSERT INTO used_forms (hash, expires) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING`,
		hash, now+int64(usedFormKept/time.Second))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = ErrFormUsed
		}
		return err
	}
	return nil
}

// CountUsedForms returns how many used form hashes are kept, for tests.
func (db *DB) CountUsedForms(ctx context.Context) (n int64, err error) {
	err = db.r.QueryRowContext(ctx, `SELECT count(*) FROM used_forms`).Scan(&n)
	return n, err
}
