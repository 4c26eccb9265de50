package server_test

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // raw access to the test's PostgreSQL database
	_ "github.com/mattn/go-sqlite3"    // raw access to the test's SQLite file

	"github.com/candour/candour/internal/pgtest"
	"github.com/candour/candour/storage"
)

// The server's tests run on SQLite, and on PostgreSQL with
// CANDOUR_TEST_ENGINE=postgres (as the storage package's do): startServer
// then opens a fresh database of the test cluster (internal/pgtest)
// instead of a SQLite file in the test's data folder.

// testEngine is the engine these tests run on: SQLite, unless
// CANDOUR_TEST_ENGINE says postgres.
func testEngine() storage.Engine {
	if os.Getenv("CANDOUR_TEST_ENGINE") == string(storage.EnginePostgres) {
		return storage.EnginePostgres
	}
	return storage.EngineSQLite
}

// openTestDB opens a fresh database for a test server: a SQLite one in
// dir, or on PostgreSQL a new database of the test cluster, whose URL it
// returns too.
func openTestDB(t *testing.T, dir string) (db *storage.DB, dsn string) {
	t.Helper()
	var err error
	if testEngine() == storage.EnginePostgres {
		dsn = pgtest.Start(t).NewDatabase(t)
		db, err = storage.OpenPostgres(dsn)
	} else {
		db, err = storage.Open(dir)
	}
	if err != nil {
		t.Fatal(err)
	}
	return db, dsn
}

// databaseArgs are the command-line flags that name ts's database to a
// candour tool.
func (ts *testServer) databaseArgs() []string {
	if ts.DSN != "" {
		return []string{"--database", ts.DSN}
	}
	return []string{"--data", ts.DataDir}
}

// rawDB opens ts's database behind storage's back, to arrange what the
// server's own paths would not (rows by the ten thousand, a refusing
// trigger), on either engine. Its statements are written with ?
// placeholders, numbered for PostgreSQL by rawSQL.
func rawDB(t *testing.T, ts *testServer) *sql.DB {
	t.Helper()
	var raw *sql.DB
	var err error
	if ts.DSN != "" {
		raw, err = sql.Open("pgx", ts.DSN)
	} else {
		raw, err = sql.Open("sqlite3", "file:"+(&url.URL{Path: filepath.Join(ts.DataDir, storage.FileName)}).EscapedPath()+"?_busy_timeout=10000")
	}
	must(t, err)
	raw.SetMaxOpenConns(1)
	t.Cleanup(func() { raw.Close() })
	return raw
}

// rawSQL is q for ts's engine: on PostgreSQL its ? placeholders become $1,
// $2, … (the tests' statements have no ? elsewhere).
func (ts *testServer) rawSQL(q string) string {
	if ts.DSN == "" {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}
