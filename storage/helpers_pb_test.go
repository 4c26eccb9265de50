package storage_test

import (
	"database/sql"
	"fmt"
	"testing"

	// Registers the "pgx" driver for the raw connections to PostgreSQL
	// that tests use as they use "sqlite3" on the file.
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/candour/candour/storage"
)

// openRawAt opens the database that mustOpenDBAt(t, dir) opened, directly,
// bypassing the storage package, as someone with write access to it could:
// the SQLite file in dir, or the PostgreSQL database the tests made for
// dir (rawDB), with one connection, so that a temporary table made by one
// statement is there for the next.
func openRawAt(t *testing.T, dir string) *sql.DB {
	t.Helper()
	raw := rawDB(t, dir)
	raw.SetMaxOpenConns(1)
	return raw
}

// mustOpenDBDir is mustOpenDB that also returns the folder, for openRawAt.
func mustOpenDBDir(t *testing.T) (*storage.DB, string) {
	t.Helper()
	dir := t.TempDir()
	return mustOpenDBAt(t, dir), dir
}

// bytesSQL is b as a literal of the engine's SQL: x'…' in SQLite, where
// PostgreSQL reads x'…' as a bit string.
func bytesSQL(b []byte) string {
	if testEngine() == storage.EnginePostgres {
		return fmt.Sprintf(`'\x%x'::bytea`, b)
	}
	return fmt.Sprintf(`x'%x'`, b)
}

// dropTriggerSQL drops trigger name on table: PostgreSQL's triggers are
// named per table, SQLite's per database.
func dropTriggerSQL(name, table string) string {
	if testEngine() == storage.EnginePostgres {
		return fmt.Sprintf(`DROP TRIGGER %s ON %s`, name, table)
	}
	return `DROP TRIGGER ` + name
}

// refusingTriggerSQL are the statements that make every INSERT into table
// fail with message, as a full disk or a broken trail would, in either
// engine's SQL; dropTriggerSQL(name, table) undoes them.
func refusingTriggerSQL(name, table, message string) []string {
	if testEngine() == storage.EnginePostgres {
		return []string{
			fmt.Sprintf(`CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '%s'; END $$`, name, message),
			fmt.Sprintf(`CREATE TRIGGER %[1]s BEFORE INSERT ON %[2]s FOR EACH ROW EXECUTE FUNCTION %[1]s()`, name, table),
		}
	}
	return []string{fmt.Sprintf(`CREATE TRIGGER %s BEFORE INSERT ON %s BEGIN SELECT RAISE(ABORT, '%s'); END`, name, table, message)}
}

// twoInstances opens one database twice, as two Candour instances behind a
// load balancer would: on PostgreSQL only, the engine for several
// instances (a SQLite file has one server).
func twoInstances(t *testing.T) (*storage.DB, *storage.DB) {
	t.Helper()
	postgresOnly(t, "several instances share one database")
	dir := t.TempDir()
	return mustOpenDBAt(t, dir), mustOpenDBAt(t, dir)
}
