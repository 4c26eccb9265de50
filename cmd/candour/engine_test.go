package main_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // raw access to a test's PostgreSQL database

	"github.com/candour/candour/internal/pgtest"
	"github.com/candour/candour/storage"
)

// The CLI's tests run on SQLite, and on PostgreSQL with
// CANDOUR_TEST_ENGINE=postgres (as the storage and server packages' do).
// They name a data folder (--data DIR) as before; on PostgreSQL each data
// folder stands for a database of its own in the test cluster
// (internal/pgtest), made the first time a test uses the folder, and the
// binary is told of it as an installation would be: by CANDOUR_DATABASE
// in its environment (onEngine). A command that names its database itself
// (--database, or CANDOUR_DATABASE given by the test) is left alone, and
// so is a folder a test keeps on SQLite (keepSQLite): a backup restored as
// a SQLite installation, the SQLite side of migrate-db.

// testEngine is the engine these tests run on: SQLite, unless
// CANDOUR_TEST_ENGINE says postgres.
func testEngine() storage.Engine {
	if os.Getenv("CANDOUR_TEST_ENGINE") == string(storage.EnginePostgres) {
		return storage.EnginePostgres
	}
	return storage.EngineSQLite
}

// onPostgres reports whether the tests run on PostgreSQL.
func onPostgres() bool { return testEngine() == storage.EnginePostgres }

// skipOnPostgres skips a test whose subject is SQLite's own files; why
// says so, and names what covers the same ground on PostgreSQL.
func skipOnPostgres(t *testing.T, why string) {
	t.Helper()
	if onPostgres() {
		t.Skip("SQLite only: " + why)
	}
}

// folderDB is the database that a data folder stands for on PostgreSQL.
type folderDB struct {
	once sync.Once
	dsn  string // "" for a folder kept on SQLite
	err  error
}

// folders maps a data folder's absolute path to its *folderDB.
var folders sync.Map

// absFolder is dir as the key of folders.
func absFolder(t testing.TB, dir string) string {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Clean(abs)
}

// keepSQLite keeps the data folder dir on SQLite whatever the tests' engine:
// for a folder whose SQLite file is the test's subject.
func keepSQLite(t testing.TB, dir string) {
	t.Helper()
	f := &folderDB{}
	f.once.Do(func() {})
	folders.Store(absFolder(t, dir), f)
}

// folderDSN is the URL of the PostgreSQL database that the data folder dir
// stands for, created (empty) on first use and dropped at the end of the
// test that created it; "" on SQLite, or for a folder kept on SQLite.
func folderDSN(t testing.TB, dir string) string {
	t.Helper()
	if !onPostgres() {
		return ""
	}
	key := absFolder(t, dir)
	v, _ := folders.LoadOrStore(key, &folderDB{})
	f := v.(*folderDB)
	f.once.Do(func() {
		var drop func() error
		f.dsn, drop, f.err = pgtest.Start(t).CreateDatabase(context.Background())
		if f.err != nil {
			return
		}
		t.Cleanup(func() {
			// A command that missed onEngine would have fallen back to
			// SQLite in the folder, silently: say so.
			if _, err := os.Stat(filepath.Join(dir, storage.FileName)); err == nil {
				t.Errorf("on PostgreSQL, something made %s in %s: a run of candour without onEngine?", storage.FileName, dir)
			}
			// A later test (or subtest) naming the same folder gets a
			// new, empty database, as it would a new SQLite file.
			folders.CompareAndDelete(key, f)
			if err := drop(); err != nil {
				t.Errorf("pgtest: %v", err)
			}
		})
	})
	if f.err != nil {
		t.Fatalf("pgtest: %v", f.err)
	}
	return f.dsn
}

// dataFlag is the value of --data (or -data, --data=, -data=) in args, or
// "".
func dataFlag(args []string) string {
	for i, a := range args {
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "data" {
			continue
		}
		if hasValue {
			return value
		}
		if i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// namesDatabase reports whether cmd names its database itself: by a
// --database flag, or by CANDOUR_DATABASE in the environment it runs with.
func namesDatabase(cmd *exec.Cmd) bool {
	for _, a := range cmd.Args[1:] {
		if name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "="); strings.HasPrefix(a, "-") && name == "database" {
			return true
		}
	}
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	for _, kv := range env {
		if strings.HasPrefix(kv, "CANDOUR_DATABASE=") {
			return true
		}
	}
	return false
}

// onEngine makes cmd, a run of a candour binary, use the tests' engine:
// on PostgreSQL, a command with --data DIR and no database of its own
// gets the database DIR stands for, as CANDOUR_DATABASE (so that the URL,
// password and all, is not on the command line, as in an installation).
// On SQLite it leaves cmd as it is. Call it after setting cmd.Env.
func onEngine(t testing.TB, cmd *exec.Cmd) *exec.Cmd {
	t.Helper()
	if !onPostgres() || namesDatabase(cmd) {
		return cmd
	}
	data := dataFlag(cmd.Args[1:])
	if data == "" {
		return cmd
	}
	dsn := folderDSN(t, data)
	if dsn == "" {
		return cmd
	}
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(env, "CANDOUR_DATABASE="+dsn)
	return cmd
}

// openStorage opens the database of the data folder dir for a test to
// arrange what the server's own paths would not, creating it as serve
// would: SQLite in dir, or on PostgreSQL the folder's database.
func openStorage(t testing.TB, dir string) *storage.DB {
	t.Helper()
	var db *storage.DB
	var err error
	if dsn := folderDSN(t, dir); dsn != "" {
		db, err = storage.OpenPostgres(dsn)
	} else {
		db, err = storage.Open(dir)
	}
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// rawFolderDB opens the database of the data folder dir behind storage's
// back, as an attacker with write access to it could: candour.db in dir,
// or on PostgreSQL the folder's database (as its owner).
func rawFolderDB(t testing.TB, dir string) *sql.DB {
	t.Helper()
	var raw *sql.DB
	var err error
	if dsn := folderDSN(t, dir); dsn != "" {
		raw, err = sql.Open("pgx", dsn)
	} else {
		raw, err = sql.Open("sqlite3", "file:"+(&url.URL{Path: filepath.Join(dir, storage.FileName)}).EscapedPath()+"?_busy_timeout=10000")
	}
	if err != nil {
		t.Fatal(err)
	}
	raw.SetMaxOpenConns(1)
	t.Cleanup(func() { raw.Close() })
	return raw
}

// TestDataFoldersFollowTheEngine checks the mapping the other tests rely
// on: on PostgreSQL a command given only --data works in the folder's own
// database (the account is there, and no candour.db is made), a folder
// kept on SQLite and a command that names its database keep theirs; on
// SQLite --data is the SQLite folder, as always.
func TestDataFoldersFollowTheEngine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data, kept := filepath.Join(dir, "data"), filepath.Join(dir, "kept")
	keepSQLite(t, kept)
	candour(t, "admin", "create", "--data", data, "--username", "alice")
	candour(t, "admin", "create", "--data", kept, "--username", "bob")
	if _, err := os.Stat(filepath.Join(kept, storage.FileName)); err != nil {
		t.Errorf("the folder kept on SQLite has no %s: %v", storage.FileName, err)
	}
	_, err := os.Stat(filepath.Join(data, storage.FileName))
	if onPostgres() == (err == nil) {
		t.Errorf("on %s, %s in the data folder: %v", testEngine(), storage.FileName, err)
	}
	agg := `SELECT group_concat(username) FROM staff`
	if onPostgres() {
		agg = `SELECT string_agg(username, ',') FROM staff`
	}
	var names string
	if err := rawFolderDB(t, data).QueryRow(agg).Scan(&names); err != nil {
		t.Fatal(err)
	}
	if names != "alice" {
		t.Errorf("the data folder's database holds the staff %q, want alice", names)
	}
	if onPostgres() {
		// A command that names its database is left alone, even with --data.
		other := pgtest.Start(t).NewDatabase(t)
		candour(t, "admin", "create", "--data", data, "--database", other, "--username", "carol")
		if out := candour(t, "audit", "verify", "--database", other); !strings.Contains(out, "intact: 1 entries") {
			t.Errorf("audit verify of the database named by --database: %s", out)
		}
		if out := candour(t, "audit", "verify", "--data", data); !strings.Contains(out, "intact: 1 entries") {
			t.Errorf("audit verify of the data folder's database, after carol went elsewhere: %s", out)
		}
	}
}

// readPostgres is readDB for the PostgreSQL database dsn: the same counts,
// read in one statement (one snapshot). PostgreSQL enforces the foreign
// keys on every write and keeps its own files whole (the tests kill
// candour, not PostgreSQL), so integrity and fkErrors are what it
// guarantees; chunks have no second file there (chunkIntegrity is "").
func readPostgres(t *testing.T, dsn string) dbState {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := dbState{integrity: "ok"}
	err = db.QueryRow(`SELECT
		(SELECT count(*) FROM cases), (SELECT count(*) FROM messages),
		(SELECT count(*) FROM attachments), (SELECT count(*) FROM attachment_chunks),
		(SELECT count(*) FROM attachments WHERE message_id IS NULL),
		(SELECT count(*) FROM attachment_chunks c WHERE NOT EXISTS (SELECT 1 FROM attachments a WHERE a.id = c.attachment_id)),
		(SELECT count(*) FROM attachments a WHERE a.message_id IS NOT NULL
		  AND (a.chunks != (SELECT count(*) FROM attachment_chunks c WHERE c.attachment_id = a.id)
		    OR a.chunks != (SELECT count(*) FROM attachment_chunks c WHERE c.attachment_id = a.id AND c.seq BETWEEN 0 AND a.chunks - 1)))`).
		Scan(&s.cases, &s.messages, &s.attachments, &s.chunks, &s.pending, &s.orphanChunks, &s.incomplete)
	if err != nil {
		t.Fatalf("counting rows: %v", err)
	}
	return s
}

// awaitKilled waits, on PostgreSQL, until the database of the data folder
// data has no session left but the test's own: the server killed there
// had its connections cut with it, and PostgreSQL ends each backend once
// it notices (at once if idle, after its statement if busy), releasing
// that instance's advisory lock. Only then does a restarted server's
// start-up sweep know the dead instance for dead (storage's
// SweepDeadInstances) and delete the uploads it cut short, as SQLite's
// Open deletes every pending upload; until then they stay for the
// server's periodic sweep. On SQLite it does nothing.
func awaitKilled(t *testing.T, data string) {
	t.Helper()
	dsn := folderDSN(t, data)
	if dsn == "" {
		return
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	waitFor(t, "PostgreSQL to end the killed server's sessions", func() (bool, error) {
		var n int
		err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&n)
		return err == nil && n == 0, fmt.Errorf("%d sessions left (%v)", n, err)
	})
}
