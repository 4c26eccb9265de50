package storage

import (
	"context"
	"fmt"
)

// Ping checks that the database file can be read, cheaply enough for a
// health check polled every few seconds: it reads the schema version from
// the file's header page rather than walking the database (IntegrityCheck).
func (db *DB) Ping(ctx context.Context) error {
	var v int
	if err := db.r.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("failed to read the database: %w", err)
	}
	return nil
}
