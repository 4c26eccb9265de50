package storage_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/candour/candour/storage"
)

func TestOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("it creates candour.db with mode 0600 in the data folder", func(t *testing.T) {
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

	t.Run("going back to an older cost stores a third set, since only the newest is compared", func(t *testing.T) {
		db := mustOpenDB(t)
		a, _ := db.EnsureKDFParams(ctx, base)
		next := base
		next.Time = 9
		b, _ := db.EnsureKDFParams(ctx, next)
		c, err := db.EnsureKDFParams(ctx, base)
		if err != nil {
			t.Fatalf("EnsureKDFParams: %v", err)
		}
		if c.ID == a.ID || c.ID == b.ID {
			t.Errorf("third call returned id %d, want a new set (have %d, %d)", c.ID, a.ID, b.ID)
		}
		sets, _ := db.KDFParamSets(ctx)
		if len(sets) != 3 || sets[0].ID != c.ID || sets[1].ID != b.ID || sets[2].ID != a.ID {
			t.Errorf("KDFParamSets = %+v, want ids [%d %d %d]", sets, c.ID, b.ID, a.ID)
		}
	})
}
