package storage_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/candour/candour/internal/pgtest"
	"github.com/candour/candour/storage"
	_ "github.com/jackc/pgx/v5/stdlib"
)

// The PostgreSQL tools' openers run on PostgreSQL whatever engine the rest
// of the suite uses: they exist for it alone.

// TestOpenPostgresToolRefusesWhatItShouldNotMigrate checks that a tool
// neither creates a schema nor migrates one: an empty database and a
// database of another schema version are refused, and left as they were.
func TestOpenPostgresToolRefusesWhatItShouldNotMigrate(t *testing.T) {
	dsn := pgtest.Start(t).NewDatabase(t)
	for name, open := range map[string]func(string) (*storage.DB, error){
		"tool": storage.OpenPostgresTool, "read-only": storage.OpenPostgresReadOnly,
	} {
		db, err := open(dsn)
		if !errors.Is(err, storage.ErrNoDatabase) {
			if db != nil {
				db.Close()
			}
			t.Fatalf("%s on an empty database: %v, want ErrNoDatabase", name, err)
		}
	}
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var tables int
	if err := raw.QueryRow(`SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Fatalf("a tool created %d tables", tables)
	}

	db, err := storage.OpenPostgres(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := raw.Exec(`UPDATE candour_schema SET version = version + 1 WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	for name, open := range map[string]func(string) (*storage.DB, error){
		"tool": storage.OpenPostgresTool, "read-only": storage.OpenPostgresReadOnly,
	} {
		db, err := open(dsn)
		if err == nil || !strings.Contains(err.Error(), "schema is version") {
			if db != nil {
				db.Close()
			}
			t.Fatalf("%s on a newer schema: %v, want a refusal", name, err)
		}
	}
}

// TestOpenPostgresToolWritesAndReadOnlyDoesNot checks that a tool opened
// beside a server writes where the server reads it, and that the read-only
// opener refuses every write.
func TestOpenPostgresToolWritesAndReadOnlyDoesNot(t *testing.T) {
	dsn := pgtest.Start(t).NewDatabase(t)
	ctx := context.Background()
	srv, err := storage.OpenPostgres(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	tool, err := storage.OpenPostgresTool(dsn)
	if err != nil {
		t.Fatalf("OpenPostgresTool: %v", err)
	}
	defer tool.Close()
	if tool.Engine() != storage.EnginePostgres {
		t.Fatalf("engine %q", tool.Engine())
	}
	if _, err := tool.AppendAudit(ctx, storage.AuditEntry{Actor: storage.ActorCLI, Action: "backup"}); err != nil {
		t.Fatalf("the tool's audit entry: %v", err)
	}
	_, n, err := srv.AuditPage(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("the server sees %d audit entries, want the tool's 1", n)
	}

	ro, err := storage.OpenPostgresReadOnly(dsn)
	if err != nil {
		t.Fatalf("OpenPostgresReadOnly: %v", err)
	}
	defer ro.Close()
	if err := ro.VerifyAudit(ctx); err != nil {
		t.Fatalf("VerifyAudit read-only: %v", err)
	}
	if _, err := ro.AppendAudit(ctx, storage.AuditEntry{Actor: storage.ActorCLI, Action: "export"}); err == nil {
		t.Fatal("a read-only database took a write")
	}
	if _, n, err := srv.AuditPage(ctx, 0, 0); err != nil || n != 1 {
		t.Fatalf("after the refused write: %d entries, %v", n, err)
	}
}
