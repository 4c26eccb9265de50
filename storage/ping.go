package storage

import (
	"context"
	"fmt"
)

// Ping checks that the database can be read, cheaply enough for a health
// check polled every few seconds: on SQLite it reads the schema version
// from the file's header page rather than walking the database
// (IntegrityCheck); on PostgreSQL it reads the version's one row.
func (db *DB) Ping(ctx context.Context) error {
	q := "PRAGMA user_version"
	if db.pg {
		q = "SELECT version FROM candour_schema WHERE id = 1"
	}
	var v int
	if err := db.r.QueryRowContext(ctx, q).Scan(&v); err != nil {
		return fmt.Errorf("failed to read the database: %w", err)
	}
	return nil
}
