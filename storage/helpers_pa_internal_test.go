package storage

import (
	"database/sql"
	"os"
	"testing"

	"github.com/candour/candour/internal/pgtest"
)

// openTestEngineDB opens a fresh database for a test inside the package,
// on the engine the tests run on: SQLite in a temporary folder, or, with
// CANDOUR_TEST_ENGINE=postgres, a new database of the test cluster
// (internal/pgtest). It is closed when the test ends.
func openTestEngineDB(t *testing.T) *DB {
	t.Helper()
	var db *DB
	var err error
	if testOnPostgres() {
		db, err = OpenPostgres(pgtest.Start(t).NewDatabase(t))
	} else {
		db, err = Open(t.TempDir())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// testOnPostgres says whether the tests run on PostgreSQL
// (CANDOUR_TEST_ENGINE=postgres).
func testOnPostgres() bool { return os.Getenv("CANDOUR_TEST_ENGINE") == string(EnginePostgres) }

// OpenRawPostgres opens a pool on the PostgreSQL database at dsn whose
// statements take SQLite's ? placeholders, as storage's own do: for the
// tests outside the package that set rows up behind storage's back with
// the same SQL on both engines.
func OpenRawPostgres(dsn string) (*sql.DB, error) { return openPostgres(dsn, 4, nil) }
