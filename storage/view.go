package storage

import (
	"context"
	"database/sql"
	"fmt"
	"io"
)

// View is a consistent read-only snapshot of the database. A View sees no
// write committed after it began, so an export taken while the server runs
// is self-consistent.
type View struct{ tx *sql.Tx }

// View runs fn over a snapshot.
func (db *DB) View(ctx context.Context, fn func(v *View) error) error {
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("failed to begin snapshot: %w", err)
	}
	defer tx.Rollback()
	// A deferred transaction takes its snapshot at the first read.
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM kdf_params`).Scan(&n); err != nil {
		return fmt.Errorf("failed to begin snapshot: %w", err)
	}
	return fn(&View{tx: tx})
}

// Cases lists every case, oldest day first; within a day by reference,
// which is random: nothing stored says which case of a day came first.
func (v *View) Cases(ctx context.Context) ([]Case, error) {
	return queryCases(ctx, v.tx, `SELECT `+caseColumns+` FROM cases ORDER BY created_at, ref`)
}

// Messages is DB.Messages within the snapshot.
func (v *View) Messages(ctx context.Context, caseID int64) ([]Message, error) {
	return messages(ctx, v.tx, caseID)
}

// Attachment is DB.Attachment within the snapshot.
func (v *View) Attachment(ctx context.Context, id int64) (AttachmentInfo, io.Reader, error) {
	return attachment(ctx, v.tx, id)
}
