package storage_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/candour/candour/storage"
)

// writeInOddSizes writes data through w in writes of awkward sizes, checking
// each write and the running Size.
func writeInOddSizes(t *testing.T, w *storage.AttachmentWriter, data []byte) {
	t.Helper()
	sizes := []int{1, 4093, 65537, storage.ChunkSize + 7, 333331, 2, storage.ChunkSize/2 - 1}
	for i, off := 0, 0; off < len(data); i++ {
		n := min(sizes[i%len(sizes)], len(data)-off)
		got, err := w.Write(data[off : off+n])
		if err != nil || got != n {
			t.Fatalf("Write of %d bytes at offset %d: n=%d err=%v", n, off, got, err)
		}
		off += n
		if w.Size() != int64(off) {
			t.Fatalf("Size() = %d after writing %d bytes", w.Size(), off)
		}
	}
}

func TestAttachment(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a 3.5-chunk upload in odd-sized writes is stored in 4 chunks and reads back exactly once linked", func(t *testing.T) {
		db := mustOpenDB(t)
		data := pattern(storage.ChunkSize*7/2, 42)

		w, err := db.NewAttachment(ctx)
		if err != nil {
			t.Fatalf("NewAttachment: %v", err)
		}
		if w.ID() <= 0 {
			t.Errorf("ID() = %d, want > 0", w.ID())
		}
		writeInOddSizes(t, w, data)
		if err := w.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		wantCount(t, db, rowCounts{attachments: 1, chunks: 4})

		// Pending: invisible.
		if _, r, err := db.Attachment(ctx, w.ID()); !errors.Is(err, storage.ErrNotFound) || r != nil {
			t.Errorf("pending Attachment: reader=%v err=%v, want nil reader and ErrNotFound", r, err)
		}
		if _, err := db.AttachmentCase(ctx, w.ID()); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("pending AttachmentCase: err = %v, want ErrNotFound", err)
		}

		c := mustCreateCase(t, db, "with-attachment", w.ID())
		wantCount(t, db, rowCounts{cases: 1, messages: 1, attachments: 1, chunks: 4})

		info, got := mustReadAttachment(t, db, w.ID())
		wantInfo := storage.AttachmentInfo{ID: w.ID(), Size: int64(len(data)), Chunks: 4}
		if info != wantInfo {
			t.Errorf("AttachmentInfo = %+v, want %+v", info, wantInfo)
		}
		if !bytes.Equal(got, data) {
			t.Errorf("attachment read back %d bytes, differing from the %d written", len(got), len(data))
		}

		caseID, err := db.AttachmentCase(ctx, w.ID())
		if err != nil || caseID != c.ID {
			t.Errorf("AttachmentCase = %d, %v; want %d", caseID, err, c.ID)
		}

		msgs, err := db.Messages(ctx, c.ID)
		if err != nil {
			t.Fatalf("Messages: %v", err)
		}
		if len(msgs) != 1 || len(msgs[0].Attachments) != 1 || msgs[0].Attachments[0] != wantInfo {
			t.Errorf("Messages = %+v, want one message listing %+v", msgs, wantInfo)
		}
	})

	sizes := []struct {
		name       string
		size       int
		wantChunks int64
	}{
		{"an empty attachment stores no chunk and reads back empty", 0, 0},
		{"a one-byte attachment stores one chunk", 1, 1},
		{"an attachment of exactly one chunk stores one chunk", storage.ChunkSize, 1},
		{"an attachment one byte over a chunk stores two chunks", storage.ChunkSize + 1, 2},
		{"an attachment of exactly two chunks stores two chunks", 2 * storage.ChunkSize, 2},
	}
	for _, tc := range sizes {
		t.Run(tc.name, func(t *testing.T) {
			db := mustOpenDB(t)
			data := pattern(tc.size, uint32(tc.size))
			id := mustWriteAttachment(t, db, data)
			wantCount(t, db, rowCounts{attachments: 1, chunks: tc.wantChunks})
			mustCreateCase(t, db, "sized", id)
			info, got := mustReadAttachment(t, db, id)
			if info.Size != int64(tc.size) || info.Chunks != tc.wantChunks {
				t.Errorf("AttachmentInfo = %+v, want size %d in %d chunks", info, tc.size, tc.wantChunks)
			}
			if !bytes.Equal(got, data) {
				t.Errorf("read back %d bytes, want the %d written", len(got), len(data))
			}
		})
	}

	t.Run("the reader serves small reads across chunk boundaries", func(t *testing.T) {
		db := mustOpenDB(t)
		data := pattern(storage.ChunkSize+5000, 7)
		id := mustWriteAttachment(t, db, data)
		mustCreateCase(t, db, "small-reads", id)
		_, r, err := db.Attachment(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		buf := make([]byte, 99991)
		for {
			n, err := r.Read(buf)
			got.Write(buf[:n])
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
		}
		if !bytes.Equal(got.Bytes(), data) {
			t.Errorf("read back %d bytes, differing from the %d written", got.Len(), len(data))
		}
	})

	t.Run("writing after Close fails and a second Close is harmless", func(t *testing.T) {
		db := mustOpenDB(t)
		w, err := db.NewAttachment(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("abc")); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if n, err := w.Write([]byte("more")); err == nil || n != 0 {
			t.Errorf("Write after Close = %d, %v; want 0 and an error", n, err)
		}
		if err := w.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		wantCount(t, db, rowCounts{attachments: 1, chunks: 1})
		mustCreateCase(t, db, "closed", w.ID())
		if info, data := mustReadAttachment(t, db, w.ID()); info.Size != 3 || string(data) != "abc" {
			t.Errorf("attachment = %+v %q, want size 3 %q", info, data, "abc")
		}
	})

	t.Run("attachments are listed under the message that names them, in the order it names them", func(t *testing.T) {
		db := mustOpenDB(t)
		a1 := mustWriteAttachment(t, db, []byte("one"))
		a2 := mustWriteAttachment(t, db, []byte("two!"))
		a3 := mustWriteAttachment(t, db, []byte("three"))
		c := mustCreateCase(t, db, "multi", a2, a1)
		if _, err := db.AddMessage(ctx, c.ID, storage.NewMessage{Author: storage.AuthorStaff, Ciphertext: fakeAge("none")}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.AddMessage(ctx, c.ID, storage.NewMessage{Author: storage.AuthorReporter, Ciphertext: fakeAge("third"), AttachmentIDs: []int64{a3}}); err != nil {
			t.Fatal(err)
		}
		msgs, err := db.Messages(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 3 {
			t.Fatalf("Messages returned %d messages, want 3", len(msgs))
		}
		want := [][]storage.AttachmentInfo{
			{{ID: a2, Size: 4, Chunks: 1}, {ID: a1, Size: 3, Chunks: 1}},
			nil,
			{{ID: a3, Size: 5, Chunks: 1}},
		}
		for i, m := range msgs {
			if len(m.Attachments) != len(want[i]) {
				t.Errorf("message %d attachments = %+v, want %+v", i, m.Attachments, want[i])
				continue
			}
			for j := range want[i] {
				if m.Attachments[j] != want[i][j] {
					t.Errorf("message %d attachment %d = %+v, want %+v", i, j, m.Attachments[j], want[i][j])
				}
			}
		}
	})
}

func TestDeletePending(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("an attachment written but never linked is deleted with its chunks", func(t *testing.T) {
		db := mustOpenDB(t)
		id := mustWriteAttachment(t, db, pattern(2*storage.ChunkSize+3, 1))
		wantCount(t, db, rowCounts{attachments: 1, chunks: 3})
		if err := db.DeletePending(ctx, id); err != nil {
			t.Fatalf("DeletePending: %v", err)
		}
		wantCount(t, db, rowCounts{})
	})

	t.Run("an upload abandoned before Close is deleted with the chunks it stored", func(t *testing.T) {
		db := mustOpenDB(t)
		w, err := db.NewAttachment(ctx)
		if err != nil {
			t.Fatal(err)
		}
		writeInOddSizes(t, w, pattern(storage.ChunkSize*3/2, 2))
		w.Abort() // the first chunk is stored in the background: wait for it
		wantCount(t, db, rowCounts{attachments: 1, chunks: 1})
		if err := db.DeletePending(ctx, w.ID()); err != nil {
			t.Fatalf("DeletePending: %v", err)
		}
		wantCount(t, db, rowCounts{})
	})

	t.Run("a linked attachment is not deleted and stays readable", func(t *testing.T) {
		db := mustOpenDB(t)
		data := pattern(storage.ChunkSize+1, 3)
		linked := mustWriteAttachment(t, db, data)
		mustCreateCase(t, db, "linked", linked)
		pending := mustWriteAttachment(t, db, []byte("pending"))
		wantCount(t, db, rowCounts{cases: 1, messages: 1, attachments: 2, chunks: 3})

		if err := db.DeletePending(ctx, linked, pending); err != nil {
			t.Fatalf("DeletePending: %v", err)
		}
		wantCount(t, db, rowCounts{cases: 1, messages: 1, attachments: 1, chunks: 2})
		if _, got := mustReadAttachment(t, db, linked); !bytes.Equal(got, data) {
			t.Errorf("linked attachment changed after DeletePending")
		}
	})

	t.Run("unknown ids and an empty list are not errors", func(t *testing.T) {
		db := mustOpenDB(t)
		id := mustWriteAttachment(t, db, []byte("keep"))
		if err := db.DeletePending(ctx); err != nil {
			t.Errorf("DeletePending(): %v", err)
		}
		if err := db.DeletePending(ctx, id+1, id+2); err != nil {
			t.Errorf("DeletePending(unknown): %v", err)
		}
		wantCount(t, db, rowCounts{attachments: 1, chunks: 1})
	})

	// An upload usually fails because the client went away, i.e. its request
	// context was cancelled; cleaning up must still work then.
	t.Run("an upload whose request context was cancelled is still deleted", func(t *testing.T) {
		db := mustOpenDB(t)
		reqCtx, cancel := context.WithCancel(ctx)
		w, err := db.NewAttachment(reqCtx)
		if err != nil {
			t.Fatal(err)
		}
		writeInOddSizes(t, w, pattern(storage.ChunkSize+10, 4))
		cancel()
		if err := db.DeletePending(reqCtx, w.ID()); err != nil {
			t.Errorf("DeletePending with the cancelled request context: %v", err)
		}
		wantCount(t, db, rowCounts{})
	})
}

func TestOpenDeletesUploadsLeftPending(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	db := mustOpenDBAt(t, dir)

	linkedData := pattern(storage.ChunkSize+100, 5)
	linked := mustWriteAttachment(t, db, linkedData)
	c := mustCreateCase(t, db, "survivor", linked)
	closedPending := mustWriteAttachment(t, db, pattern(storage.ChunkSize*2, 6))
	// An upload cut off mid-way: chunks stored, never closed.
	w, err := db.NewAttachment(ctx)
	if err != nil {
		t.Fatal(err)
	}
	writeInOddSizes(t, w, pattern(storage.ChunkSize*5/2, 7))
	w.Abort() // the second chunk is stored in the background: wait for it
	wantCount(t, db, rowCounts{cases: 1, messages: 1, attachments: 3, chunks: 2 + 2 + 2})

	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	db = mustOpenDBAt(t, dir)

	// On PostgreSQL, Close deleted them: they were this instance's own
	// uploads (storage/instances.go). Those of another instance, which may
	// be receiving them, are left (TestInstancesSweepDeadInstanceUploads).
	wantCount(t, db, rowCounts{cases: 1, messages: 1, attachments: 1, chunks: 2})
	if _, got := mustReadAttachment(t, db, linked); !bytes.Equal(got, linkedData) {
		t.Error("the linked attachment changed across reopening")
	}
	if id, err := db.AttachmentCase(ctx, linked); err != nil || id != c.ID {
		t.Errorf("AttachmentCase = %d, %v; want %d", id, err, c.ID)
	}
	for _, id := range []int64{closedPending, w.ID()} {
		if _, _, err := db.Attachment(ctx, id); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("pending attachment %d after reopening: err = %v, want ErrNotFound", id, err)
		}
	}
	if err := db.IntegrityCheck(ctx); err != nil {
		t.Errorf("IntegrityCheck: %v", err)
	}
}

// On PostgreSQL several instances share the database: one starting up
// leaves alone the upload another is receiving, which goes on, closes and
// is linked by a message.
func TestOpeningAnotherInstanceLeavesUploadsInProgress(t *testing.T) {
	postgresOnly(t, "on SQLite one instance owns the database")
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	a := mustOpenDBAt(t, dir)
	data := pattern(storage.ChunkSize*3/2, 41)
	w, err := a.NewAttachment(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data[:storage.ChunkSize+10]); err != nil {
		t.Fatal(err)
	}

	b := mustOpenDBAt(t, dir) // another instance starts

	if _, err := w.Write(data[storage.ChunkSize+10:]); err != nil {
		t.Fatalf("Write after another instance started: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close after another instance started: %v", err)
	}
	c := mustCreateCase(t, b, "linked-by-b", w.ID())
	if _, got := mustReadAttachment(t, a, w.ID()); !bytes.Equal(got, data) {
		t.Error("the upload does not read back whole")
	}
	if id, err := b.AttachmentCase(ctx, w.ID()); err != nil || id != c.ID {
		t.Errorf("AttachmentCase = %d, %v; want %d", id, err, c.ID)
	}
}

// Every way of deleting removes the chunks with the attachments, on both
// engines (on SQLite from the chunk file, on PostgreSQL by cascade), and
// leaves the others' alone.
func TestDeletionsLeaveNoChunk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpenDB(t)
	staff := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	db.Now = fixedClock(staff)

	deleted := mustCreateCase(t, db, "deleted", mustWriteAttachment(t, db, pattern(2*storage.ChunkSize, 51)))
	withdrawn := mustCreateCase(t, db, "withdrawn", mustWriteAttachment(t, db, pattern(storage.ChunkSize+1, 52)))
	failed := mustWriteAttachment(t, db, pattern(storage.ChunkSize/2, 53))
	sw, err := db.NewTimedAttachment(ctx, "staff-upload")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sw.Write(pattern(storage.ChunkSize+2, 54)); err != nil {
		t.Fatal(err)
	}
	if err := sw.Close(); err != nil {
		t.Fatal(err)
	}
	keptData := pattern(storage.ChunkSize+3, 55)
	kept := mustWriteAttachment(t, db, keptData)
	mustCreateCase(t, db, "kept", kept)
	wantCount(t, db, rowCounts{cases: 3, messages: 3, attachments: 5, chunks: 2 + 2 + 1 + 2 + 2})

	if err := db.DeleteCase(ctx, deleted.ID); err != nil {
		t.Fatalf("DeleteCase: %v", err)
	}
	wantCount(t, db, rowCounts{cases: 2, messages: 2, attachments: 4, chunks: 2 + 1 + 2 + 2})
	if err := db.WithdrawCase(ctx, withdrawn.ID); err != nil {
		t.Fatalf("WithdrawCase: %v", err)
	}
	wantCount(t, db, rowCounts{cases: 1, messages: 1, attachments: 3, chunks: 1 + 2 + 2})
	if err := db.DeletePending(ctx, failed); err != nil {
		t.Fatalf("DeletePending: %v", err)
	}
	wantCount(t, db, rowCounts{cases: 1, messages: 1, attachments: 2, chunks: 2 + 2})
	if n, err := db.DeleteStalePending(ctx, staff.Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("DeleteStalePending = %d, %v; want 1", n, err)
	}
	wantCount(t, db, rowCounts{cases: 1, messages: 1, attachments: 1, chunks: 2})
	if _, got := mustReadAttachment(t, db, kept); !bytes.Equal(got, keptData) {
		t.Error("the kept case's attachment changed")
	}
}

// A chunk is stored in the background while the next one fills; a failure
// to store it must still reach the uploader, at the next Write or at Close.
func TestAttachmentChunkFailureIsReported(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpenDB(t)
	w, err := db.NewAttachment(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// With the attachment gone, storing any chunk of it fails.
	if err := db.DeletePending(ctx, w.ID()); err != nil {
		t.Fatal(err)
	}
	chunk := pattern(storage.ChunkSize, 9)
	var werr error
	for range 3 {
		if _, werr = w.Write(chunk); werr != nil {
			break
		}
	}
	cerr := w.Close()
	if werr == nil && cerr == nil {
		t.Fatal("writing three chunks of a deleted attachment succeeded")
	}
	if cerr == nil {
		t.Error("Close succeeded after a chunk failed")
	}
	wantCount(t, db, rowCounts{})
}
