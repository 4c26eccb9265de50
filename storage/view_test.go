package storage_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/candour/candour/storage"
)

func viewCaseCount(t *testing.T, db *storage.DB) int {
	t.Helper()
	var n int
	err := db.View(context.Background(), func(v *storage.View) error {
		cases, err := v.Cases(context.Background())
		n = len(cases)
		return err
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	return n
}

func TestView(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a view is a snapshot that sees no write committed after it began", func(t *testing.T) {
		db := mustOpenDB(t)
		data := pattern(storage.ChunkSize+77, 9)
		aid := mustWriteAttachment(t, db, data)
		first := mustCreateCase(t, db, "first", aid)

		var second storage.Case
		err := db.View(ctx, func(v *storage.View) error {
			cases, err := v.Cases(ctx)
			if err != nil {
				return err
			}
			if len(cases) != 1 || cases[0].ID != first.ID {
				t.Errorf("Cases at start = %+v, want just case %d", cases, first.ID)
			}

			// Writes use their own connection, so they proceed while the
			// view is open, and are visible outside it.
			second = mustCreateCase(t, db, "second")
			if _, err := db.AddMessage(ctx, first.ID, storage.NewMessage{Author: storage.AuthorStaff, Ciphertext: fakeAge("later")}); err != nil {
				t.Fatalf("AddMessage during the view: %v", err)
			}
			if _, err := db.Case(ctx, second.ID); err != nil {
				t.Errorf("the new case is not visible outside the view: %v", err)
			}

			cases, err = v.Cases(ctx)
			if err != nil {
				return err
			}
			if len(cases) != 1 {
				t.Errorf("Cases after a concurrent CreateCase = %d cases, want still 1", len(cases))
			}

			msgs, err := v.Messages(ctx, first.ID)
			if err != nil {
				return err
			}
			if len(msgs) != 1 || len(msgs[0].Attachments) != 1 || msgs[0].Attachments[0].ID != aid {
				t.Errorf("View.Messages = %+v, want the first message only, with attachment %d", msgs, aid)
			}
			if msgs, err := v.Messages(ctx, second.ID); err != nil || len(msgs) != 0 {
				t.Errorf("View.Messages(second) = %+v, %v; want nothing: it is after the snapshot", msgs, err)
			}

			info, r, err := v.Attachment(ctx, aid)
			if err != nil {
				return err
			}
			got, err := io.ReadAll(r)
			if err != nil {
				return err
			}
			if info.Size != int64(len(data)) || info.Chunks != 2 || !bytes.Equal(got, data) {
				t.Errorf("View.Attachment = %+v with %d bytes, want the %d bytes written in 2 chunks", info, len(got), len(data))
			}
			if _, _, err := v.Attachment(ctx, aid+1000); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("View.Attachment(unknown): err = %v, want ErrNotFound", err)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("View: %v", err)
		}

		if n := viewCaseCount(t, db); n != 2 {
			t.Errorf("a new view lists %d cases, want 2", n)
		}
		err = db.View(ctx, func(v *storage.View) error {
			msgs, err := v.Messages(ctx, first.ID)
			if err == nil && len(msgs) != 2 {
				t.Errorf("a new view lists %d messages of the first case, want 2", len(msgs))
			}
			return err
		})
		if err != nil {
			t.Fatalf("View: %v", err)
		}
	})

	t.Run("a view does not show pending attachments", func(t *testing.T) {
		db := mustOpenDB(t)
		pending := mustWriteAttachment(t, db, []byte("pending"))
		err := db.View(ctx, func(v *storage.View) error {
			_, _, err := v.Attachment(ctx, pending)
			return err
		})
		if !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("View.Attachment(pending): err = %v, want ErrNotFound", err)
		}
	})

	t.Run("View returns the error of its function", func(t *testing.T) {
		db := mustOpenDB(t)
		sentinel := errors.New("stop the export")
		if err := db.View(ctx, func(*storage.View) error { return sentinel }); !errors.Is(err, sentinel) {
			t.Errorf("View = %v, want %v", err, sentinel)
		}
	})

	t.Run("cases are listed oldest day first, then by reference, with all their fields", func(t *testing.T) {
		db := mustOpenDB(t)
		db.Now = fixedClock(day(2026, 5, 6))
		b := mustCreateCase(t, db, "b") // REF-b: created first, listed second
		a := mustCreateCase(t, db, "a")
		err := db.View(ctx, func(v *storage.View) error {
			cases, err := v.Cases(ctx)
			if err != nil {
				return err
			}
			if len(cases) != 2 {
				t.Fatalf("Cases = %+v, want 2", cases)
			}
			checkCase(t, "first listed case", cases[0], a)
			checkCase(t, "second listed case", cases[1], b)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestOpenReadOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a folder without a database is an error and gets no database created", func(t *testing.T) {
		sqliteOnly(t, "a data folder's database file")
		dir := t.TempDir()
		db, err := storage.OpenReadOnly(dir)
		if err == nil {
			db.Close()
			t.Fatal("OpenReadOnly on an empty folder succeeded")
		}
		if _, err := os.Stat(filepath.Join(dir, storage.FileName)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("OpenReadOnly left a database file behind (stat err = %v)", err)
		}
	})

	t.Run("a missing folder is an error", func(t *testing.T) {
		sqliteOnly(t, "a data folder's database file")
		if db, err := storage.OpenReadOnly(filepath.Join(t.TempDir(), "missing")); err == nil {
			db.Close()
			t.Fatal("OpenReadOnly on a missing folder succeeded")
		}
	})

	t.Run("it reads cases through a View while the read-write database is open", func(t *testing.T) {
		dir := t.TempDir()
		rw := mustOpenDBAt(t, dir)
		aid := mustWriteAttachment(t, rw, []byte("exported attachment"))
		c := mustCreateCase(t, rw, "exported", aid)

		ro, err := openReadOnlyAt(t, dir)
		if err != nil {
			t.Fatalf("OpenReadOnly: %v", err)
		}
		defer ro.Close()

		err = ro.View(ctx, func(v *storage.View) error {
			cases, err := v.Cases(ctx)
			if err != nil {
				return err
			}
			if len(cases) != 1 {
				t.Fatalf("Cases = %+v, want 1", cases)
			}
			checkCase(t, "case read-only", cases[0], c)
			msgs, err := v.Messages(ctx, c.ID)
			if err != nil {
				return err
			}
			if len(msgs) != 1 || len(msgs[0].Attachments) != 1 {
				t.Errorf("Messages = %+v, want one message with one attachment", msgs)
			}
			_, r, err := v.Attachment(ctx, aid)
			if err != nil {
				return err
			}
			data, err := io.ReadAll(r)
			if err == nil && string(data) != "exported attachment" {
				t.Errorf("attachment = %q", data)
			}
			return err
		})
		if err != nil {
			t.Fatalf("View: %v", err)
		}

		// A write the server commits afterwards is seen by the next view.
		mustCreateCase(t, rw, "later")
		if n := viewCaseCount(t, ro); n != 2 {
			t.Errorf("read-only view after a new case lists %d cases, want 2", n)
		}
		if err := ro.IntegrityCheck(ctx); err != nil {
			t.Errorf("IntegrityCheck: %v", err)
		}
	})

	t.Run("it reads a database whose read-write owner has been closed", func(t *testing.T) {
		dir := t.TempDir()
		rw := mustOpenDBAt(t, dir)
		mustCreateCase(t, rw, "closed-owner")
		if err := rw.Close(); err != nil {
			t.Fatal(err)
		}
		ro, err := openReadOnlyAt(t, dir)
		if err != nil {
			t.Fatalf("OpenReadOnly: %v", err)
		}
		defer ro.Close()
		if n := viewCaseCount(t, ro); n != 1 {
			t.Errorf("View lists %d cases, want 1", n)
		}
	})

	t.Run("every write through it fails and changes nothing", func(t *testing.T) {
		dir := t.TempDir()
		rw := mustOpenDBAt(t, dir)
		pending := mustWriteAttachment(t, rw, []byte("pending"))
		c := mustCreateCase(t, rw, "ro-target")
		before := mustCount(t, rw)

		ro, err := openReadOnlyAt(t, dir)
		if err != nil {
			t.Fatalf("OpenReadOnly: %v", err)
		}
		defer ro.Close()

		writes := []struct {
			name  string
			write func() error
		}{
			{"NewAttachment", func() error { _, err := ro.NewAttachment(ctx); return err }},
			{"CreateCase", func() error { _, err := ro.CreateCase(ctx, newCase(c.KDFID, "ro-new")); return err }},
			{"AddMessage", func() error {
				_, err := ro.AddMessage(ctx, c.ID, storage.NewMessage{Author: storage.AuthorStaff, Ciphertext: fakeAge("ro")})
				return err
			}},
			{"EnsureKDFParams", func() error {
				_, err := ro.EnsureKDFParams(ctx, storage.KDFParams{Time: 1, MemoryKiB: 1, Threads: 1, Salt: []byte("s")})
				return err
			}},
			{"DeletePending", func() error { return ro.DeletePending(ctx, pending) }},
		}
		for _, w := range writes {
			if err := w.write(); err == nil {
				t.Errorf("%s through a read-only database succeeded", w.name)
			}
		}
		wantCount(t, rw, before)
		wantCount(t, ro, before)
	})
}
