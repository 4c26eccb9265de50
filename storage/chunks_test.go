package storage_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/candour/candour/storage"
)

// rawChunks opens the data folder's chunk file directly, read-only.
func rawChunks(t *testing.T, dir string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, storage.ChunksFileName)+"?mode=ro&_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// fileChunks counts the chunks in the chunk file and in candour.db's
// attachment_chunks.
func fileChunks(t *testing.T, dir string) (apart, legacy int64) {
	t.Helper()
	if err := rawChunks(t, dir).QueryRow(`SELECT count(*) FROM chunks`).Scan(&apart); err != nil {
		t.Fatalf("counting the chunk file's chunks: %v", err)
	}
	raw, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, storage.FileName)+"?mode=ro&_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := raw.QueryRow(`SELECT count(*) FROM attachment_chunks`).Scan(&legacy); err != nil {
		t.Fatalf("counting candour.db's chunks: %v", err)
	}
	return apart, legacy
}

// noTraceOf fails if any of a few 64-byte pieces of data is found in the
// chunk file or its journal, or in candour.db or its WAL.
func noTraceOf(t *testing.T, dir string, data []byte) {
	t.Helper()
	for _, name := range []string{storage.ChunksFileName, storage.ChunksFileName + "-journal", storage.ChunksFileName + "-wal", storage.FileName, storage.FileName + "-wal"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, off := range []int{0, len(data) / 3, len(data) / 2, len(data) - 64} {
			if bytes.Contains(b, data[off:off+64]) {
				t.Errorf("%s still holds the deleted ciphertext (bytes at offset %d)", name, off)
				break
			}
		}
	}
}

func TestChunkFile(t *testing.T) {
	sqliteOnly(t, "the chunk file (candour-chunks.db); TestDeletionsLeaveNoChunk checks the deletions on both engines")
	t.Parallel()
	ctx := context.Background()

	t.Run("a new attachment's chunks land in candour-chunks.db, 64 KiB pages, WAL, mode 0600", func(t *testing.T) {
		dir := t.TempDir()
		db := mustOpenDBAt(t, dir)
		data := pattern(storage.ChunkSize*5/2, 7)
		id := mustWriteAttachment(t, db, data)
		mustCreateCase(t, db, "apart", id)

		if apart, legacy := fileChunks(t, dir); apart != 3 || legacy != 0 {
			t.Errorf("chunks: %d in the chunk file, %d in candour.db; want 3 and 0", apart, legacy)
		}
		raw := rawChunks(t, dir)
		var pageSize, autoVacuum int
		if err := raw.QueryRow(`PRAGMA page_size`).Scan(&pageSize); err != nil || pageSize != 65536 {
			t.Errorf("page_size = %d, %v; want 65536", pageSize, err)
		}
		if err := raw.QueryRow(`PRAGMA auto_vacuum`).Scan(&autoVacuum); err != nil || autoVacuum != 2 {
			t.Errorf("auto_vacuum = %d, %v; want 2 (incremental)", autoVacuum, err)
		}
		// The file header says WAL (2) or rollback (1) at bytes 18 and 19.
		head := make([]byte, 20)
		f, err := os.Open(filepath.Join(dir, storage.ChunksFileName))
		if err != nil {
			t.Fatal(err)
		}
		f.ReadAt(head, 0)
		f.Close()
		if head[18] != 2 || head[19] != 2 {
			t.Errorf("file format bytes %d %d, want 2 2 (WAL)", head[18], head[19])
		}
		st, err := os.Stat(filepath.Join(dir, storage.ChunksFileName))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("chunk file mode %o, want 600", st.Mode().Perm())
		}
		if _, got := mustReadAttachment(t, db, id); !bytes.Equal(got, data) {
			t.Error("the attachment does not read back as written")
		}
		wantCount(t, db, rowCounts{cases: 1, messages: 1, attachments: 1, chunks: 3})
	})

	t.Run("an upload cut off by a crash is swept from the chunk file at the next Open", func(t *testing.T) {
		dir := t.TempDir()
		db := mustOpenDBAt(t, dir)
		linkedData := pattern(storage.ChunkSize+5, 11)
		linked := mustWriteAttachment(t, db, linkedData)
		mustCreateCase(t, db, "kept", linked)
		w, err := db.NewAttachment(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cut := pattern(3*storage.ChunkSize, 12)
		if _, err := w.Write(cut); err != nil {
			t.Fatal(err)
		}
		w.Abort() // waits for the chunk being stored: the writer is never closed
		if apart, _ := fileChunks(t, dir); apart < 4 {
			t.Fatalf("%d chunks in the chunk file before the restart, want at least 4", apart)
		}
		db.Close()

		db = mustOpenDBAt(t, dir)
		if apart, legacy := fileChunks(t, dir); apart != 2 || legacy != 0 {
			t.Errorf("after the restart: %d chunks in the chunk file, %d in candour.db; want 2 and 0", apart, legacy)
		}
		wantCount(t, db, rowCounts{cases: 1, messages: 1, attachments: 1, chunks: 2})
		if _, got := mustReadAttachment(t, db, linked); !bytes.Equal(got, linkedData) {
			t.Error("the linked attachment changed across the sweep")
		}
		noTraceOf(t, dir, cut)
	})

	t.Run("deleting a case deletes its chunks from the chunk file, leaving no trace of the ciphertext", func(t *testing.T) {
		dir := t.TempDir()
		db := mustOpenDBAt(t, dir)
		gone := pattern(3*storage.ChunkSize+100, 21)
		keptData := pattern(storage.ChunkSize, 22)
		c := mustCreateCase(t, db, "deleted", mustWriteAttachment(t, db, gone))
		kept := mustWriteAttachment(t, db, keptData)
		mustCreateCase(t, db, "kept", kept)
		// Chunks not yet checkpointed are in the WAL: count both.
		sizeBefore := fileSize(t, filepath.Join(dir, storage.ChunksFileName)) + fileSize(t, filepath.Join(dir, storage.ChunksFileName+"-wal"))

		if err := db.DeleteCase(ctx, c.ID); err != nil {
			t.Fatalf("DeleteCase: %v", err)
		}
		if apart, _ := fileChunks(t, dir); apart != 1 {
			t.Errorf("%d chunks left in the chunk file, want the other case's 1", apart)
		}
		wantCount(t, db, rowCounts{cases: 1, messages: 1, attachments: 1, chunks: 1})
		noTraceOf(t, dir, gone)
		if after := fileSize(t, filepath.Join(dir, storage.ChunksFileName)) + fileSize(t, filepath.Join(dir, storage.ChunksFileName+"-wal")); after > sizeBefore-3*storage.ChunkSize {
			t.Errorf("chunk file %d bytes before, %d after deleting 3 MiB: space not given back", sizeBefore, after)
		}
		if _, got := mustReadAttachment(t, db, kept); !bytes.Equal(got, keptData) {
			t.Error("the other case's attachment changed")
		}
	})

	t.Run("a reporter's withdrawal deletes the case's chunks from the chunk file", func(t *testing.T) {
		dir := t.TempDir()
		db := mustOpenDBAt(t, dir)
		gone := pattern(2*storage.ChunkSize, 31)
		c := mustCreateCase(t, db, "withdrawn", mustWriteAttachment(t, db, gone))
		if err := db.WithdrawCase(ctx, c.ID); err != nil {
			t.Fatalf("WithdrawCase: %v", err)
		}
		if apart, legacy := fileChunks(t, dir); apart != 0 || legacy != 0 {
			t.Errorf("after withdrawal: %d chunks in the chunk file, %d in candour.db; want none", apart, legacy)
		}
		noTraceOf(t, dir, gone)
	})

	t.Run("DeletePending deletes a failed upload's chunks from the chunk file", func(t *testing.T) {
		dir := t.TempDir()
		db := mustOpenDBAt(t, dir)
		gone := pattern(2*storage.ChunkSize+9, 41)
		id := mustWriteAttachment(t, db, gone)
		if err := db.DeletePending(ctx, id); err != nil {
			t.Fatalf("DeletePending: %v", err)
		}
		if apart, _ := fileChunks(t, dir); apart != 0 {
			t.Errorf("%d chunks left in the chunk file, want none", apart)
		}
		wantCount(t, db, rowCounts{})
		noTraceOf(t, dir, gone)
	})

	t.Run("DeleteStalePending deletes a stale staff upload's chunks from the chunk file", func(t *testing.T) {
		dir := t.TempDir()
		db := mustOpenDBAt(t, dir)
		db.Now = fixedClock(day(2026, 3, 1))
		w, err := db.NewTimedAttachment(ctx, "staff-upload")
		if err != nil {
			t.Fatal(err)
		}
		gone := pattern(storage.ChunkSize+1, 51)
		if _, err := w.Write(gone); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		db.Now = fixedClock(day(2026, 3, 3))
		if n, err := db.DeleteStalePending(ctx, db.Now().Add(-24*time.Hour)); err != nil || n != 1 {
			t.Fatalf("DeleteStalePending = %d, %v; want 1", n, err)
		}
		if apart, _ := fileChunks(t, dir); apart != 0 {
			t.Errorf("%d chunks left in the chunk file, want none", apart)
		}
		noTraceOf(t, dir, gone)
	})

	t.Run("chunks whose attachment is kept in candour.db, as after a restore, are swept at Open", func(t *testing.T) {
		dir := t.TempDir()
		db := mustOpenDBAt(t, dir)
		data := pattern(storage.ChunkSize, 61)
		id := mustWriteAttachment(t, db, data)
		mustCreateCase(t, db, "restored", id)
		db.Close()
		// What a restore does to the row: its chunks are now in candour.db.
		raw, err := sql.Open("sqlite3", filepath.Join(dir, storage.FileName)+"?_foreign_keys=on")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(`INSERT INTO attachment_chunks (id, attachment_id, seq, data) VALUES (1, ?, 0, ?)`, id, data); err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(`UPDATE attachments SET chunks_apart = 0 WHERE id = ?`, id); err != nil {
			t.Fatal(err)
		}
		raw.Close()

		db = mustOpenDBAt(t, dir)
		if apart, legacy := fileChunks(t, dir); apart != 0 || legacy != 1 {
			t.Errorf("chunks: %d in the chunk file, %d in candour.db; want 0 and 1", apart, legacy)
		}
		if _, got := mustReadAttachment(t, db, id); !bytes.Equal(got, data) {
			t.Error("the attachment kept in candour.db does not read back")
		}
	})

	t.Run("tools open the chunk file read-only and read attachments from it", func(t *testing.T) {
		dir := t.TempDir()
		db := mustOpenDBAt(t, dir)
		data := pattern(storage.ChunkSize+3, 71)
		id := mustWriteAttachment(t, db, data)
		mustCreateCase(t, db, "tool", id)
		for name, open := range map[string]func(string) (*storage.DB, error){"OpenTool": storage.OpenTool, "OpenReadOnly": storage.OpenReadOnly} {
			tool, err := open(dir)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if _, got := mustReadAttachment(t, tool, id); !bytes.Equal(got, data) {
				t.Errorf("%s: the attachment does not read back", name)
			}
			if _, err := tool.NewAttachment(ctx); err == nil {
				t.Errorf("%s: an attachment could be started", name)
			}
			tool.Close()
		}
	})
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// The chunk file's WAL stays bounded while uploads stream in: its
// checkpoints run on its writer between two chunk commits, so that the
// next commit starts the WAL again. (Run from another connection, a
// checkpoint always overlapped the next commit, the WAL never started
// again, and it grew with every byte uploaded: 876 MiB for 640 MiB sent.)
// Two concurrent uploads of 48 MiB must leave a WAL under 64 MiB, the
// most it may keep once started again.
func TestChunkWALStaysBounded(t *testing.T) {
	sqliteOnly(t, "the chunk file's WAL")
	if testing.Short() {
		t.Skip("writes 96 MiB: skipped in -short mode")
	}
	t.Parallel()
	dir := t.TempDir()
	db := mustOpenDBAt(t, dir)
	data := pattern(48<<20, 31)
	var wg sync.WaitGroup
	ids := make([]int64, 2)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i] = mustWriteAttachment(t, db, data)
		}()
	}
	wg.Wait()
	if wal := fileSize(t, filepath.Join(dir, storage.ChunksFileName+"-wal")); wal >= 64<<20 {
		t.Errorf("the chunk file's WAL is %d MiB after 96 MiB of uploads, want under 64 MiB", wal>>20)
	}
	for i, id := range ids {
		mustCreateCase(t, db, fmt.Sprintf("big %d", i), id)
		if _, got := mustReadAttachment(t, db, id); !bytes.Equal(got, data) {
			t.Error("an attachment does not read back as written")
		}
	}
}
