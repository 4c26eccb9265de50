package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// CasesByID lists the cases with the given ids, in the order of Cases
// (oldest day first, then by reference); ids of no case are left out.
func (v *View) CasesByID(ctx context.Context, ids []int64) ([]Case, error) {
	// One array parameter, however many ids: no limit on variables.
	// PostgreSQL takes the array itself (pgx sends []int64 as a bigint[]);
	// SQLite has no arrays and reads a JSON one with json_each.
	if v.db.pg {
		return queryCases(ctx, v.tx, `SELECT `+caseColumns+` FROM cases
			WHERE id = ANY(?) ORDER BY created_at, ref`, ids)
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("failed to list cases: %w", err)
	}
	return queryCases(ctx, v.tx, `SELECT `+caseColumns+` FROM cases
		WHERE id IN (SELECT value FROM json_each(?)) ORDER BY created_at, ref`, string(list))
}

// CaseOutcomeLabel is the label of a closed case's outcome category, or ""
// if it has none (it is open, or was closed before outcomes were kept).
func (v *View) CaseOutcomeLabel(ctx context.Context, caseID int64) (string, error) {
	var label string
	err := v.tx.QueryRowContext(ctx, `SELECT o.label FROM cases c JOIN outcomes o ON o.id = c.outcome_id
		WHERE c.id = ?`, caseID).Scan(&label)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("failed to read the case's outcome: %w", err)
	}
	return label, nil
}
