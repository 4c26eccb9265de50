package storage_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/candour/candour/storage"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to damage a database by hand
)

func TestOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("it creates candour.db with mode 0600 in the data folder", func(t *testing.T) {
		sqliteOnly(t, "candour.db, a file")
		dir := t.TempDir()
		db := mustOpenDBAt(t, dir)
		path := filepath.Join(dir, storage.FileName)
		if db.Path() != path {
			t.Errorf("Path() = %q, want %q", db.Path(), path)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatalf("database file: %v", err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("database file mode = %v, want 0600", perm)
		}
	})

	t.Run("it journals in WAL mode, so a write leaves candour.db-wal beside the database", func(t *testing.T) {
		sqliteOnly(t, "SQLite's WAL")
		dir := t.TempDir()
		db := mustOpenDBAt(t, dir)
		mustCreateCase(t, db, "wal")
		for _, name := range []string{storage.FileName, storage.FileName + "-wal"} {
			if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
				t.Errorf("%s after a write: %v", name, err)
			}
		}
	})

	t.Run("it keeps the WAL and shared-memory files as private as the database", func(t *testing.T) {
		sqliteOnly(t, "SQLite's WAL and shared-memory files")
		dir := t.TempDir()
		db := mustOpenDBAt(t, dir)
		mustCreateCase(t, db, "private")
		for _, name := range []string{storage.FileName + "-wal", storage.FileName + "-shm"} {
			fi, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			// The WAL holds recent ciphertext, refs and lookup ids.
			if perm := fi.Mode().Perm(); perm&0o077 != 0 {
				t.Errorf("%s mode = %v, want no group or other access (0600)", name, perm)
			}
		}
	})

	t.Run("it creates a missing data folder with mode 0700", func(t *testing.T) {
		sqliteOnly(t, "the data folder holds the database only on SQLite")
		dir := filepath.Join(t.TempDir(), "nested", "data")
		mustOpenDBAt(t, dir)
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatalf("data folder: %v", err)
		}
		if perm := fi.Mode().Perm(); perm != 0o700 {
			t.Errorf("data folder mode = %v, want 0700", perm)
		}
	})

	t.Run("it fails when the data folder path is a regular file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "not-a-folder")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := storage.Open(file)
		if err == nil {
			db.Close()
			t.Fatal("Open on a regular file succeeded, want an error")
		}
	})

	t.Run("reopening the same folder migrates idempotently and keeps the data", func(t *testing.T) {
		dir := t.TempDir()
		db := mustOpenDBAt(t, dir)
		kdf := mustKDF(t, db)
		nc := newCase(kdf.ID, "kept")
		created, err := db.CreateCase(ctx, nc)
		if err != nil {
			t.Fatalf("CreateCase: %v", err)
		}
		if err := db.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}

		for i := range 2 {
			db := mustOpenDBAt(t, dir)
			got, err := db.CaseByLookup(ctx, kdf.ID, nc.LookupID)
			if err != nil {
				t.Fatalf("reopen %d: CaseByLookup: %v", i+1, err)
			}
			checkCase(t, "case after reopening", got, created)
			sets, err := db.KDFParamSets(ctx)
			if err != nil {
				t.Fatalf("KDFParamSets: %v", err)
			}
			if len(sets) != 1 || sets[0].ID != kdf.ID {
				t.Errorf("reopen %d: KDFParamSets = %+v, want just set %d", i+1, sets, kdf.ID)
			}
			wantCount(t, db, rowCounts{cases: 1, messages: 1})
			if err := db.IntegrityCheck(ctx); err != nil {
				t.Errorf("reopen %d: IntegrityCheck: %v", i+1, err)
			}
			if err := db.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
		}
	})

	t.Run("the integrity check passes on a fresh and on a populated database", func(t *testing.T) {
		db := mustOpenDB(t)
		if err := db.IntegrityCheck(ctx); err != nil {
			t.Errorf("fresh database: IntegrityCheck: %v", err)
		}
		aid := mustWriteAttachment(t, db, pattern(storage.ChunkSize+10, 1))
		c := mustCreateCase(t, db, "integrity", aid)
		if _, err := db.AddMessage(ctx, c.ID, storage.NewMessage{Author: storage.AuthorStaff, Ciphertext: fakeAge("reply")}); err != nil {
			t.Fatalf("AddMessage: %v", err)
		}
		if err := db.IntegrityCheck(ctx); err != nil {
			t.Errorf("populated database: IntegrityCheck: %v", err)
		}
	})

	t.Run("foreign keys are enforced, so a case cannot name a missing KDF set", func(t *testing.T) {
		db := mustOpenDB(t)
		kdf := mustKDF(t, db)
		_, err := db.CreateCase(ctx, newCase(kdf.ID+100, "orphan"))
		if err == nil {
			t.Fatal("CreateCase with an unknown KDF id succeeded, want a foreign key error")
		}
		wantCount(t, db, rowCounts{})
	})
}

func TestEnsureKDFParams(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := storage.KDFParams{Time: 3, MemoryKiB: 65536, Threads: 4, Salt: []byte("salt-number-one!")}

	t.Run("a fresh database has no parameter sets", func(t *testing.T) {
		db := mustOpenDB(t)
		sets, err := db.KDFParamSets(ctx)
		if err != nil {
			t.Fatalf("KDFParamSets: %v", err)
		}
		if len(sets) != 0 {
			t.Errorf("KDFParamSets = %+v, want none", sets)
		}
	})

	t.Run("the first call stores the set and returns a positive id", func(t *testing.T) {
		db := mustOpenDB(t)
		got, err := db.EnsureKDFParams(ctx, base)
		if err != nil {
			t.Fatalf("EnsureKDFParams: %v", err)
		}
		if got.ID <= 0 {
			t.Errorf("ID = %d, want > 0", got.ID)
		}
		if got.Time != base.Time || got.MemoryKiB != base.MemoryKiB || got.Threads != base.Threads || string(got.Salt) != string(base.Salt) {
			t.Errorf("EnsureKDFParams = %+v, want the cost and salt of %+v", got, base)
		}
		sets, err := db.KDFParamSets(ctx)
		if err != nil {
			t.Fatalf("KDFParamSets: %v", err)
		}
		if len(sets) != 1 || sets[0].ID != got.ID || string(sets[0].Salt) != string(base.Salt) {
			t.Errorf("KDFParamSets = %+v, want exactly the stored set", sets)
		}
	})

	t.Run("a second call with the same cost returns the stored id and salt, not the new salt", func(t *testing.T) {
		db := mustOpenDB(t)
		first, err := db.EnsureKDFParams(ctx, base)
		if err != nil {
			t.Fatalf("EnsureKDFParams: %v", err)
		}
		again := base
		again.Salt = []byte("a-different-salt")
		second, err := db.EnsureKDFParams(ctx, again)
		if err != nil {
			t.Fatalf("EnsureKDFParams again: %v", err)
		}
		if second.ID != first.ID {
			t.Errorf("second ID = %d, want %d", second.ID, first.ID)
		}
		if string(second.Salt) != string(base.Salt) {
			t.Errorf("second salt = %q, want the stored %q", second.Salt, base.Salt)
		}
		sets, _ := db.KDFParamSets(ctx)
		if len(sets) != 1 {
			t.Errorf("KDFParamSets has %d sets, want 1", len(sets))
		}
	})

	t.Run("going back to an older cost reuses its set instead of storing another", func(t *testing.T) {
		db := mustOpenDB(t)
		first, err := db.EnsureKDFParams(ctx, base)
		if err != nil {
			t.Fatalf("EnsureKDFParams: %v", err)
		}
		next := base
		next.Time++
		next.Salt = []byte("salt-number-two!")
		if _, err := db.EnsureKDFParams(ctx, next); err != nil {
			t.Fatalf("EnsureKDFParams with new cost: %v", err)
		}
		back := base
		back.Salt = []byte("salt-number-3!!!")
		got, err := db.EnsureKDFParams(ctx, back)
		if err != nil {
			t.Fatalf("EnsureKDFParams with the first cost again: %v", err)
		}
		if got.ID != first.ID || string(got.Salt) != string(base.Salt) {
			t.Errorf("EnsureKDFParams(first cost again) = %+v, want the first set %+v", got, first)
		}
		if sets, _ := db.KDFParamSets(ctx); len(sets) != 2 {
			t.Errorf("KDFParamSets has %d sets, want 2", len(sets))
		}
	})

	changes := []struct {
		name   string
		change func(p *storage.KDFParams)
	}{
		{"a call with a different time cost stores a new current set", func(p *storage.KDFParams) { p.Time++ }},
		{"a call with a different memory cost stores a new current set", func(p *storage.KDFParams) { p.MemoryKiB *= 2 }},
		{"a call with a different thread count stores a new current set", func(p *storage.KDFParams) { p.Threads = 1 }},
	}
	for _, tc := range changes {
		t.Run(tc.name, func(t *testing.T) {
			db := mustOpenDB(t)
			old, err := db.EnsureKDFParams(ctx, base)
			if err != nil {
				t.Fatalf("EnsureKDFParams: %v", err)
			}
			next := base
			tc.change(&next)
			next.Salt = []byte("salt-number-two!")
			got, err := db.EnsureKDFParams(ctx, next)
			if err != nil {
				t.Fatalf("EnsureKDFParams with new cost: %v", err)
			}
			if got.ID == old.ID || got.ID <= 0 {
				t.Errorf("new set ID = %d, want a new positive id (old %d)", got.ID, old.ID)
			}
			if string(got.Salt) != "salt-number-two!" || got.Time != next.Time || got.MemoryKiB != next.MemoryKiB || got.Threads != next.Threads {
				t.Errorf("new set = %+v, want %+v", got, next)
			}
			sets, err := db.KDFParamSets(ctx)
			if err != nil {
				t.Fatalf("KDFParamSets: %v", err)
			}
			if len(sets) != 2 || sets[0].ID != got.ID || sets[1].ID != old.ID {
				t.Fatalf("KDFParamSets = %+v, want [new %d, old %d] (newest first)", sets, got.ID, old.ID)
			}
			if string(sets[1].Salt) != string(base.Salt) || sets[1].Time != base.Time || sets[1].MemoryKiB != base.MemoryKiB || sets[1].Threads != base.Threads {
				t.Errorf("old set listed as %+v, want it unchanged %+v", sets[1], base)
			}
			// The new set is now current: asking for it again changes nothing.
			again, err := db.EnsureKDFParams(ctx, next)
			if err != nil || again.ID != got.ID {
				t.Errorf("EnsureKDFParams(new cost) again = %+v, %v; want id %d", again, err, got.ID)
			}
		})
	}
}

// A backup, from either engine, is one SQLite file that a restore copies to
// candour.db: it holds every linked attachment whole, the staff, the notes,
// the audit chain and the seeded rows as they are (not twice), and no
// upload in progress.
func TestBackupRestoresAsOneSQLiteFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpenDB(t)
	alice := mustCreateStaff(t, db, "Alice", storage.RoleAdmin)
	data := pattern(2*storage.ChunkSize+7, 71)
	aid := mustWriteAttachment(t, db, data)
	c := mustCreateCase(t, db, "backed-up", aid)
	mustCreateCase(t, db, "second")
	if _, err := db.AddNote(ctx, c.ID, alice.ID, fakeAge("note")); err != nil {
		t.Fatalf("AddNote: %v", err)
	}
	for i := range 3 {
		if _, err := db.AppendAudit(ctx, storage.AuditEntry{Actor: "Alice", Action: "case.open", Target: fmt.Sprintf("REF-%d", i)}); err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
	}
	// An upload in progress: not part of the backup.
	w, err := db.NewAttachment(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(pattern(storage.ChunkSize, 72)); err != nil {
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
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file: %v, %v; want mode 0600", fi, err)
	}
	if err := db.Backup(ctx, out); err == nil {
		t.Error("a second Backup over the first succeeded, want an error")
	}

	restored := t.TempDir()
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(restored, storage.FileName), b, 0o600); err != nil {
		t.Fatal(err)
	}
	rdb, err := storage.Open(restored) // a restore is always to SQLite
	if err != nil {
		t.Fatalf("opening the restored backup: %v", err)
	}
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.IntegrityCheck(ctx); err != nil {
		t.Errorf("restored: IntegrityCheck: %v", err)
	}
	if _, got := mustReadAttachment(t, rdb, aid); !bytes.Equal(got, data) {
		t.Error("the attachment does not read back whole from the restored backup")
	}
	wantCount(t, rdb, rowCounts{cases: 2, messages: 2, attachments: 1, chunks: 3})
	if s, err := rdb.StaffByUsername(ctx, "alice"); err != nil || s.ID != alice.ID {
		t.Errorf("restored StaffByUsername(alice) = %+v, %v; want id %d", s, err, alice.ID)
	}
	if err := rdb.VerifyAudit(ctx); err != nil {
		t.Errorf("restored: VerifyAudit: %v", err)
	}
	want, wantTotal, err := db.AuditPage(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	got, gotTotal, err := rdb.AuditPage(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if gotTotal != wantTotal || wantTotal < 3 || !reflect.DeepEqual(got, want) {
		t.Errorf("restored audit trail: %d entries %+v\nwant %d entries %+v", gotTotal, got, wantTotal, want)
	}
	wantOutcomes, err := db.Outcomes(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	gotOutcomes, err := rdb.Outcomes(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(wantOutcomes) == 0 || !reflect.DeepEqual(gotOutcomes, wantOutcomes) {
		t.Errorf("restored outcomes = %+v, want %+v", gotOutcomes, wantOutcomes)
	}
	if notes, err := rdb.Notes(ctx, c.ID); err != nil || len(notes) != 1 || !bytes.Equal(notes[0].Ciphertext, fakeAge("note")) {
		t.Errorf("restored notes = %+v, %v; want the one note", notes, err)
	}
}

// A PostgreSQL database whose linked attachment lost a chunk (by a hand
// on the database: Candour never deletes one alone) fails its integrity
// check, and a backup refuses it rather than write a copy without it.
func TestBackupRefusesAnAttachmentMissingAChunk(t *testing.T) {
	postgresOnly(t, "SQLite's backup is checked by TestBackupHoldsChunksOfBothFiles and the backup race tests")
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	db := mustOpenDBAt(t, dir)
	aid := mustWriteAttachment(t, db, pattern(2*storage.ChunkSize, 61))
	mustCreateCase(t, db, "damaged", aid)
	out := filepath.Join(t.TempDir(), "backup.db")
	if err := db.Backup(ctx, out); err != nil {
		t.Fatalf("Backup of the sound database: %v", err)
	}
	if err := os.Remove(out); err != nil {
		t.Fatal(err)
	}

	dsn, _ := pgDatabases.Load(dir)
	raw, err := sql.Open("pgx", dsn.(string))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if res, err := raw.Exec(`DELETE FROM attachment_chunks WHERE attachment_id = $1 AND seq = 1`, aid); err != nil {
		t.Fatal(err)
	} else if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("deleted %d chunks, want 1", n)
	}

	if err := db.IntegrityCheck(ctx); err == nil || !strings.Contains(err.Error(), "missing chunks") {
		t.Errorf("IntegrityCheck = %v, want the attachment missing chunks", err)
	}
	if err := db.Backup(ctx, out); err == nil || !strings.Contains(err.Error(), "missing chunks") {
		t.Errorf("Backup = %v, want a refusal naming the missing chunks", err)
	}
	if names, _ := filepath.Glob(filepath.Join(filepath.Dir(out), "*")); len(names) != 0 {
		t.Errorf("the refused backup left files: %v", names)
	}
}
