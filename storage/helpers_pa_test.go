package storage_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/candour/candour/storage"
)

// rawDB opens, behind storage's back, the database that mustOpenDBAt(t,
// dir) opened: the SQLite file in dir, or the test's PostgreSQL database,
// through a pool that takes the same ?-placeholder SQL. For tests that set
// up rows no storage call makes (a given day of last activity, say). It
// is closed when the test ends.
func rawDB(t *testing.T, dir string) *sql.DB {
	t.Helper()
	var raw *sql.DB
	var err error
	if testEngine() == storage.EnginePostgres {
		dsn, ok := pgDatabases.Load(dir)
		if !ok {
			t.Fatalf("no PostgreSQL database was opened for %s", dir)
		}
		raw, err = storage.OpenRawPostgres(dsn.(string))
	} else {
		raw, err = sql.Open("sqlite3", filepath.Join(dir, storage.FileName)+"?_busy_timeout=10000&_foreign_keys=on")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// openReadOnlyAt opens read-only the database that mustOpenDBAt(t, dir)
// opened, as `candour export` does beside a running server.
func openReadOnlyAt(t *testing.T, dir string) (*storage.DB, error) {
	t.Helper()
	if testEngine() == storage.EnginePostgres {
		dsn, ok := pgDatabases.Load(dir)
		if !ok {
			t.Fatalf("no PostgreSQL database was opened for %s", dir)
		}
		return storage.OpenPostgresReadOnly(dsn.(string))
	}
	return storage.OpenReadOnly(dir)
}
