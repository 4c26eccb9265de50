package storage

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// backupRaceFixture opens a database in a new folder holding one case with
// a two-chunk attachment in the chunk file, and returns it with the case's
// id and the attachment's id and bytes.
func backupRaceFixture(t *testing.T) (db *DB, caseID, attachmentID int64, data []byte) {
	t.Helper()
	ctx := context.Background()
	db, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	kdf, err := db.EnsureKDFParams(ctx, KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 4, Salt: []byte("0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Repeat([]byte("race chunk ciphertext "), 2*ChunkSize/22+1)
	w, err := db.NewAttachment(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := db.CreateCase(ctx, NewCase{Ref: "RACE-CASE", LookupID: []byte("race"), KDFID: kdf.ID,
		WrappedIdentity: []byte("age"), Recipient: "age1race", First: NewMessage{Ciphertext: []byte("age"), AttachmentIDs: []int64{w.ID()}}})
	if err != nil {
		t.Fatal(err)
	}
	return db, c.ID, w.ID(), data
}

// restoredCopy opens a backup as a restored database in a new folder and
// returns how many cases it holds and, if the attachment is there, its bytes.
func restoredCopy(t *testing.T, backup string, attachmentID int64) (cases int, data []byte) {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, FileName), b, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := Open(dir)
	if err != nil {
		t.Fatalf("opening the restored backup: %v", err)
	}
	defer db.Close()
	if err := db.r.QueryRow(`SELECT count(*) FROM cases`).Scan(&cases); err != nil {
		t.Fatal(err)
	}
	_, r, err := db.Attachment(context.Background(), attachmentID)
	if err != nil {
		return cases, nil
	}
	data, err = io.ReadAll(r)
	if err != nil {
		t.Fatalf("the restored attachment does not read whole: %v", err)
	}
	return cases, data
}

// A case deleted after the backup's snapshot, before its chunks were
// copied: the backup starts again and holds no part of the case, rather
// than the case without its chunks.
func TestBackupStartsAgainWhenACaseIsDeletedMidway(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, caseID, attachmentID, _ := backupRaceFixture(t)
	snapshots := 0
	db.backupHook = func() {
		snapshots++
		if snapshots == 1 {
			if err := db.DeleteCase(ctx, caseID); err != nil {
				t.Errorf("DeleteCase: %v", err)
			}
		}
	}
	out := filepath.Join(t.TempDir(), "backup.db")
	if err := db.Backup(ctx, out); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	if snapshots != 2 {
		t.Errorf("the backup took %d snapshots, want 2 (the first named a deleted case)", snapshots)
	}
	if cases, data := restoredCopy(t, out, attachmentID); cases != 0 || data != nil {
		t.Errorf("the backup holds %d cases and %d bytes of the deleted attachment, want none", cases, len(data))
	}
}

// A backup racing with a deletion, without a hook to order them: whichever
// wins, the copy holds the case with every chunk, or nothing of it.
func TestBackupRacingWithADeletionIsConsistent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, caseID, attachmentID, data := backupRaceFixture(t)
	out := filepath.Join(t.TempDir(), "backup.db")
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := db.DeleteCase(ctx, caseID); err != nil {
			t.Errorf("DeleteCase: %v", err)
		}
	}()
	if err := db.Backup(ctx, out); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	wg.Wait()
	switch cases, got := restoredCopy(t, out, attachmentID); {
	case cases == 0 && got == nil:
	case cases == 1 && bytes.Equal(got, data):
	default:
		t.Errorf("the backup holds %d cases and %d of the attachment's %d bytes", cases, len(got), len(data))
	}
	var left int
	if err := db.cr.QueryRow(`SELECT count(*) FROM chunks`).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d chunks left in the chunk file after the deletion (%v)", left, err)
	}
}
