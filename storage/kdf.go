package storage

import (
	"context"
	"database/sql"
	"fmt"
)

// KDFParams is a stored Argon2id parameter set for case codes.
type KDFParams struct {
	ID        int64
	Time      uint32
	MemoryKiB uint32
	Threads   uint8
	Salt      []byte
}

// KDFParamSets lists the stored parameter sets, newest first. A follow-up
// login tries them in this order; normally there is one.
func (db *DB) KDFParamSets(ctx context.Context) ([]KDFParams, error) {
	rows, err := db.r.QueryContext(ctx,
		`SELECT id, time, memory_kib, threads, salt FROM kdf_params ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("failed to list kdf parameters: %w", err)
	}
	defer rows.Close()
	var out []KDFParams
	for rows.Next() {
		var p KDFParams
		if err := rows.Scan(&p.ID, &p.Time, &p.MemoryKiB, &p.Threads, &p.Salt); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// NewestKDFParamsID returns the id of the newest stored parameter set (0 if
// none): one read of the primary key's index. An instance that holds the
// sets it loaded compares it with the newest it knows, to learn cheaply
// that another instance has stored a set since. Ids only grow: sets are
// never deleted, and EnsureKDFParams stores them one at a time (in a write
// transaction, serialised across instances on PostgreSQL), so a set
// stored later never has a smaller id.
func (db *DB) NewestKDFParamsID(ctx context.Context) (int64, error) {
	var id sql.NullInt64
	if err := db.r.QueryRowContext(ctx, `SELECT max(id) FROM kdf_params`).Scan(&id); err != nil {
		return 0, fmt.Errorf("failed to read the newest kdf parameters: %w", err)
	}
	return id.Int64, nil
}

// EnsureKDFParams returns the newest stored set with the given cost, or
// stores p (with its salt) as a new set. A set is never stored twice for
// one cost: an installation whose instances were started with different
// flags in turn (or that went back to an older cost) reuses the set
// already stored for that cost, so a wrong code costs one derivation per
// cost ever used, not one per restart.
func (db *DB) EnsureKDFParams(ctx context.Context, p KDFParams) (KDFParams, error) {
	var out KDFParams
	err := db.write(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx,
			`SELECT id, time, memory_kib, threads, salt FROM kdf_params
			 WHERE time = ? AND memory_kib = ? AND threads = ? ORDER BY id DESC LIMIT 1`,
			p.Time, p.MemoryKiB, p.Threads).
			Scan(&out.ID, &out.Time, &out.MemoryKiB, &out.Threads, &out.Salt)
		if err == nil {
			return nil
		}
		if err != sql.ErrNoRows {
			return err
		}
		out = p
		return tx.QueryRowContext(ctx,
			`INSERT INTO kdf_params (time, memory_kib, threads, salt, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			p.Time, p.MemoryKiB, p.Threads, p.Salt, db.coarseNow()).Scan(&out.ID)
	})
	if err != nil {
		return KDFParams{}, fmt.Errorf("failed to store kdf parameters: %w", err)
	}
	return out, nil
}
