package storage

import (
	"context"
	"fmt"
	"time"
)

// CaseSummary is one row of the staff inbox: what the database knows of a
// case without decrypting anything.
type CaseSummary struct {
	ID        int64
	Ref       string
	Status    string
	CreatedAt time.Time
	UpdatedAt time.Time
	Messages  int
}

// ListCases returns cases newest activity first, optionally only those with
// status, skipping offset and returning at most limit, and the total that
// match. It uses the (updated_at, id) index and never reads ciphertext.
func (db *DB) ListCases(ctx context.Context, status string, offset, limit int) ([]CaseSummary, int, error) {
	var total int
	if err := db.r.QueryRowContext(ctx,
		`SELECT count(*) FROM cases WHERE (? = '' OR status = ?)`, status, status).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("failed to count cases: %w", err)
	}
	rows, err := db.r.QueryContext(ctx,
		`SELECT c.id, c.ref, c.status, c.created_at, c.updated_at,
		        (SELECT count(*) FROM messages m WHERE m.case_id = c.id)
		 FROM cases c WHERE (? = '' OR c.status = ?)
		 ORDER BY c.updated_at DESC, c.id DESC LIMIT ? OFFSET ?`, status, status, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("failed to list cases: %w", err)
	}
	defer rows.Close()
	var out []CaseSummary
	for rows.Next() {
		var c CaseSummary
		var created, updated int64
		if err := rows.Scan(&c.ID, &c.Ref, &c.Status, &created, &updated, &c.Messages); err != nil {
			return nil, 0, err
		}
		c.CreatedAt, c.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
		out = append(out, c)
	}
	return out, total, rows.Err()
}
