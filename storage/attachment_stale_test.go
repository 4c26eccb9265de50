package storage_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/candour/candour/storage"
)

// Staff uploads never named in a reply stayed pending until a restart.
// DeleteStalePending sweeps those received whole before a bound; an upload
// still being written, and a reporter's upload, are never touched.
func TestDeleteStalePending(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpenDB(t)
	clock := &atomic.Int64{}
	clock.Store(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC).UnixNano())
	db.Now = func() time.Time { return time.Unix(0, clock.Load()) }
	advance := func(d time.Duration) { clock.Add(int64(d)) }
	finished := func(timed bool) int64 {
		t.Helper()
		var w *storage.AttachmentWriter
		var err error
		if timed {
			w, err = db.NewTimedAttachment(ctx, "staff:1:case:1")
		} else {
			w, err = db.NewOwnedAttachment(ctx, "upload:x")
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(pattern(storage.ChunkSize+5, 7)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return w.ID()
	}
	sweep := func(want int64) {
		t.Helper()
		n, err := db.DeleteStalePending(ctx, db.Now().Add(-24*time.Hour))
		if err != nil || n != want {
			t.Fatalf("DeleteStalePending: %d, %v; want %d", n, err, want)
		}
	}

	finished(true)  // old by the first sweep
	finished(false) // a reporter's: never swept
	// An upload in progress since long before the bound: started, part
	// written, not closed.
	inProgress, err := db.NewTimedAttachment(ctx, "staff:1:case:1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inProgress.Write(pattern(storage.ChunkSize+1, 8)); err != nil {
		t.Fatal(err)
	}
	advance(25 * time.Hour)
	finished(true) // fresh at the first sweep
	wantCount(t, db, rowCounts{attachments: 4, chunks: 7})

	sweep(1) // the old one only
	wantCount(t, db, rowCounts{attachments: 3, chunks: 5})
	advance(2 * 24 * time.Hour)
	sweep(1) // now the fresh one is old too; the upload in progress and the reporter's stay
	wantCount(t, db, rowCounts{attachments: 2, chunks: 3})
	if err := inProgress.Close(); err != nil {
		t.Fatal(err)
	}
	sweep(0) // just received whole: fresh
	wantCount(t, db, rowCounts{attachments: 2, chunks: 4})
}
