package storage_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/candour/candour/internal/pgtest"
	"github.com/candour/candour/storage"
)

// mustOpenDB opens a fresh database in its own temporary folder (a real
// SQLite file, never :memory:) and closes it when the test ends.
func mustOpenDB(t *testing.T) *storage.DB {
	t.Helper()
	return mustOpenDBAt(t, t.TempDir())
}

// mustOpenDBAt opens the database in dir and closes it when the test ends.
// Closing it earlier by hand is fine: Close is idempotent.
//
// With CANDOUR_TEST_ENGINE=postgres (make test runs the package once that
// way too), the database is a PostgreSQL database of the test cluster
// (internal/pgtest) instead, one per dir: opening the same dir again opens
// the same database, as reopening a SQLite file would.
func mustOpenDBAt(t *testing.T, dir string) *storage.DB {
	t.Helper()
	if testEngine() == storage.EnginePostgres {
		dsn, ok := pgDatabases.Load(dir)
		if !ok {
			dsn, _ = pgDatabases.LoadOrStore(dir, pgtest.Start(t).NewDatabase(t))
		}
		db, err := storage.OpenPostgres(dsn.(string))
		if err != nil {
			t.Fatalf("storage.OpenPostgres: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	db, err := storage.Open(dir)
	if err != nil {
		t.Fatalf("storage.Open(%q): %v", dir, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// pgDatabases maps a test's data folder to its PostgreSQL database.
var pgDatabases sync.Map

// testEngine is the engine these tests run on: SQLite, unless
// CANDOUR_TEST_ENGINE says postgres.
func testEngine() storage.Engine {
	if os.Getenv("CANDOUR_TEST_ENGINE") == string(storage.EnginePostgres) {
		return storage.EnginePostgres
	}
	return storage.EngineSQLite
}

// sqliteOnly skips a test of something only the SQLite engine has (its
// files, WAL, chunk file, page-level deletion) when the tests run on
// PostgreSQL; why says what.
func sqliteOnly(t testing.TB, why string) {
	t.Helper()
	if testEngine() != storage.EngineSQLite {
		t.Skip("SQLite only: " + why)
	}
}

// postgresOnly skips a test of something only the PostgreSQL engine has
// (several instances on one database, its own tables) when the tests run
// on SQLite; why says what.
func postgresOnly(t testing.TB, why string) {
	t.Helper()
	if testEngine() != storage.EnginePostgres {
		t.Skip("PostgreSQL only: " + why)
	}
}

// fakeAge returns bytes that look like an age file. The storage package
// treats ciphertext as opaque, so nothing needs to decrypt it.
func fakeAge(label string) []byte {
	return []byte("age-encryption.org/v1\n-> X25519 " + label + "\n--- fakeMAC\n\x00\x01\xfe\xff" + label)
}

// pattern returns n deterministic pseudo-random bytes.
func pattern(n int, seed uint32) []byte {
	b := make([]byte, n)
	x := seed*2654435761 + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

var defaultKDF = storage.KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 4, Salt: []byte("0123456789abcdef")}

// mustKDF stores (or finds) the default KDF parameter set.
func mustKDF(t *testing.T, db *storage.DB) storage.KDFParams {
	t.Helper()
	p, err := db.EnsureKDFParams(context.Background(), defaultKDF)
	if err != nil {
		t.Fatalf("EnsureKDFParams: %v", err)
	}
	return p
}

// newCase builds a NewCase whose unique values derive from name.
func newCase(kdfID int64, name string, attachmentIDs ...int64) storage.NewCase {
	return storage.NewCase{
		Ref:             "REF-" + name,
		LookupID:        []byte("lookup:" + name),
		KDFID:           kdfID,
		WrappedIdentity: fakeAge("identity " + name),
		Recipient:       "age1recipient" + name,
		First:           storage.NewMessage{Ciphertext: fakeAge("first message " + name), AttachmentIDs: attachmentIDs},
	}
}

// mustCreateCase stores a case (with the default KDF set) named name.
func mustCreateCase(t *testing.T, db *storage.DB, name string, attachmentIDs ...int64) storage.Case {
	t.Helper()
	kdf := mustKDF(t, db)
	c, err := db.CreateCase(context.Background(), newCase(kdf.ID, name, attachmentIDs...))
	if err != nil {
		t.Fatalf("CreateCase(%q): %v", name, err)
	}
	return c
}

// mustWriteAttachment writes data as a closed, still pending attachment.
func mustWriteAttachment(t *testing.T, db *storage.DB, data []byte) int64 {
	t.Helper()
	w, err := db.NewAttachment(context.Background())
	if err != nil {
		t.Fatalf("NewAttachment: %v", err)
	}
	if n, err := w.Write(data); err != nil || n != len(data) {
		t.Fatalf("Write: n=%d err=%v, want n=%d", n, err, len(data))
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return w.ID()
}

type rowCounts struct{ cases, messages, attachments, chunks int64 }

func mustCount(t *testing.T, db *storage.DB) rowCounts {
	t.Helper()
	var c rowCounts
	var err error
	c.cases, c.messages, c.attachments, c.chunks, err = db.CountRows(context.Background())
	if err != nil {
		t.Fatalf("CountRows: %v", err)
	}
	return c
}

func wantCount(t *testing.T, db *storage.DB, want rowCounts) {
	t.Helper()
	if got := mustCount(t, db); got != want {
		t.Errorf("CountRows = %+v, want %+v", got, want)
	}
}

// mustReadAttachment reads a linked attachment completely.
func mustReadAttachment(t *testing.T, db *storage.DB, id int64) (storage.AttachmentInfo, []byte) {
	t.Helper()
	info, r, err := db.Attachment(context.Background(), id)
	if err != nil {
		t.Fatalf("Attachment(%d): %v", id, err)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading attachment %d: %v", id, err)
	}
	return info, data
}

func checkCase(t *testing.T, what string, got, want storage.Case) {
	t.Helper()
	if got.ID != want.ID || got.Ref != want.Ref || got.KDFID != want.KDFID ||
		!bytes.Equal(got.WrappedIdentity, want.WrappedIdentity) || got.Recipient != want.Recipient ||
		got.Status != want.Status || !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// migratedTo makes the database in dir as a release whose schema ended at
// migration last would have (the files up to it, applied by hand), and
// returns it open, for a test to fill before this build migrates it.
func migratedTo(t *testing.T, dir string, last int) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite3", filepath.Join(dir, storage.FileName)+"?_foreign_keys=on")
	if err != nil {
		t.Fatal(err)
	}
	for v := 1; v <= last; v++ {
		names, _ := filepath.Glob(fmt.Sprintf("migrations/%04d_*.sql", v))
		if len(names) != 1 {
			t.Fatalf("migration %d: %v", v, names)
		}
		body, err := os.ReadFile(names[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", names[0], err)
		}
	}
	return raw
}
