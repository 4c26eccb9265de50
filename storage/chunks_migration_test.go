package storage_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/candour/candour/storage"
)

// legacyAttachment fills a schema-22 database with one case whose first
// message has an attachment of data, its chunks in candour.db, and returns
// the case's and the attachment's ids.
func legacyAttachment(t *testing.T, raw *sql.DB, data []byte) (caseID, attachmentID int64) {
	t.Helper()
	caseID, attachmentID = 101, 103
	qs := []string{
		`PRAGMA user_version = 22`,
		`INSERT INTO kdf_params (id, time, memory_kib, threads, salt, created_at) VALUES (1, 3, 65536, 4, x'00', 0)`,
		fmt.Sprintf(`INSERT INTO cases (id, ref, lookup_id, kdf_id, wrapped_identity, recipient, status, created_at, updated_at, ack_by_day)
		 VALUES (%d, 'OLD1-CASE', x'01', 1, x'00', 'age1old', 'new', %d, %d, %d)`, caseID, day(2026, 11, 1).Unix(), day(2026, 11, 1).Unix(), day(2026, 11, 8).Unix()),
		fmt.Sprintf(`INSERT INTO messages (id, case_id, author, created_at, ciphertext, seq) VALUES (102, %d, 'reporter', %d, x'00', 0)`,
			caseID, day(2026, 11, 1).Unix()),
	}
	for _, q := range qs {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	chunks := (len(data) + storage.ChunkSize - 1) / storage.ChunkSize
	if _, err := raw.Exec(`INSERT INTO attachments (id, message_id, size, chunks) VALUES (?, 102, ?, ?)`, attachmentID, len(data), chunks); err != nil {
		t.Fatal(err)
	}
	for seq := range chunks {
		part := data[seq*storage.ChunkSize : min(len(data), (seq+1)*storage.ChunkSize)]
		if _, err := raw.Exec(`INSERT INTO attachment_chunks (id, attachment_id, seq, data) VALUES (?, ?, ?, ?)`, 200+seq, attachmentID, seq, part); err != nil {
			t.Fatal(err)
		}
	}
	return caseID, attachmentID
}

// An attachment stored before migration 0023 keeps its chunks in
// candour.db and still reads; new ones go to the chunk file; both delete.
func TestMigrationKeepsOldAttachmentsInCandourDB(t *testing.T) {
	sqliteOnly(t, "migration of an old SQLite schema and the chunk file")
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	raw := migratedTo(t, dir, 22)
	oldData := pattern(storage.ChunkSize+77, 81)
	oldCase, oldID := legacyAttachment(t, raw, oldData)
	raw.Close()

	db := mustOpenDBAt(t, dir)
	if _, got := mustReadAttachment(t, db, oldID); !bytes.Equal(got, oldData) {
		t.Fatal("the attachment stored under schema 22 does not read back after the migration")
	}
	newData := pattern(2*storage.ChunkSize, 82)
	newCase := mustCreateCase(t, db, "new", mustWriteAttachment(t, db, newData))
	if apart, legacy := fileChunks(t, dir); apart != 2 || legacy != 2 {
		t.Errorf("chunks: %d in the chunk file, %d in candour.db; want 2 (new) and 2 (old)", apart, legacy)
	}
	wantCount(t, db, rowCounts{cases: 2, messages: 2, attachments: 2, chunks: 4})

	if err := db.DeleteCase(ctx, oldCase); err != nil {
		t.Fatalf("DeleteCase(old): %v", err)
	}
	if apart, legacy := fileChunks(t, dir); apart != 2 || legacy != 0 {
		t.Errorf("after deleting the old case: %d chunks in the chunk file, %d in candour.db; want 2 and 0", apart, legacy)
	}
	noTraceOf(t, dir, oldData)
	if err := db.DeleteCase(ctx, newCase.ID); err != nil {
		t.Fatalf("DeleteCase(new): %v", err)
	}
	wantCount(t, db, rowCounts{})
	if apart, legacy := fileChunks(t, dir); apart != 0 || legacy != 0 {
		t.Errorf("after deleting both: %d chunks in the chunk file, %d in candour.db; want none", apart, legacy)
	}
	noTraceOf(t, dir, newData)
}

// A backup is one file: restored as candour.db in a new data folder, with
// no chunk file beside it, it reads attachments of both layouts.
func TestBackupHoldsChunksOfBothFiles(t *testing.T) {
	sqliteOnly(t, "migration of an old SQLite schema and the chunk file; TestBackupRestoresAsOneSQLiteFile backs up on both engines")
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	raw := migratedTo(t, dir, 22)
	oldData := pattern(storage.ChunkSize/2, 91)
	_, oldID := legacyAttachment(t, raw, oldData)
	raw.Close()
	db := mustOpenDBAt(t, dir)
	newData := pattern(3*storage.ChunkSize-5, 92)
	newID := mustWriteAttachment(t, db, newData)
	mustCreateCase(t, db, "new", newID)
	// An upload in progress: not part of the backup.
	w, err := db.NewAttachment(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(pattern(storage.ChunkSize, 93)); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(t.TempDir(), "backup.db")
	if err := db.Backup(ctx, out); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	w.Abort()
	if names, _ := filepath.Glob(filepath.Join(filepath.Dir(out), "*")); len(names) != 1 {
		t.Errorf("the backup left files beside itself: %v", names)
	}

	restored := t.TempDir()
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(restored, storage.FileName), b, 0o600); err != nil {
		t.Fatal(err)
	}
	rdb := mustOpenDBAt(t, restored)
	for id, want := range map[int64][]byte{oldID: oldData, newID: newData} {
		if _, got := mustReadAttachment(t, rdb, id); !bytes.Equal(got, want) {
			t.Errorf("attachment %d does not read back from the restored backup", id)
		}
	}
	wantCount(t, rdb, rowCounts{cases: 2, messages: 2, attachments: 2, chunks: 4})
	if apart, legacy := fileChunks(t, restored); apart != 0 || legacy != 4 {
		t.Errorf("restored: %d chunks in the chunk file, %d in candour.db; want 0 and 4", apart, legacy)
	}
	// New uploads after the restore go to the (new) chunk file.
	later := pattern(storage.ChunkSize, 94)
	laterID := mustWriteAttachment(t, rdb, later)
	mustCreateCase(t, rdb, "after-restore", laterID)
	if _, got := mustReadAttachment(t, rdb, laterID); !bytes.Equal(got, later) {
		t.Error("an attachment sent after the restore does not read back")
	}

	if err := db.Backup(ctx, out); err == nil {
		t.Error("a second backup over an existing file succeeded")
	}
	if _, err := os.Stat(out + ".partial"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a partial file stayed behind: %v", err)
	}
}
