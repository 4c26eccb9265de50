package storage_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/candour/candour/storage"
)

// TestStoringChunksAllocatesNoBufferPerChunk checks that an upload's
// memory is its two chunk buffers, not a new buffer the size of a chunk
// for every chunk stored. Garbage at that rate (pgx encoding each chunk
// into two new buffers, as an INSERT parameter, was 2 bytes per byte
// uploaded) lets the heap grow to the collector's goal before it is taken
// back: 35 MiB more peak RSS on PostgreSQL than on SQLite over a 1 GiB
// upload (docs/benchmarks.md, benchmark 3).
//
// It counts the bytes the process allocated (runtime.MemStats.TotalAlloc)
// while 32 MiB go through an AttachmentWriter in 64 KiB writes from one
// buffer. It does not run in parallel, so that no other test's
// allocations are counted.
func TestStoringChunksAllocatesNoBufferPerChunk(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	// A first attachment opens the pools' connections (and PostgreSQL's
	// type and statement caches) outside the count.
	mustWriteAttachment(t, db, pattern(storage.ChunkSize+1, 1))

	const size = 32 * storage.ChunkSize
	data := pattern(64<<10, 2)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	w, err := db.NewAttachment(ctx)
	if err != nil {
		t.Fatalf("NewAttachment: %v", err)
	}
	for written := 0; written < size; written += len(data) {
		if _, err := w.Write(data); err != nil {
			t.Fatalf("Write at %d: %v", written, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	runtime.ReadMemStats(&after)
	if w.Size() != size {
		t.Fatalf("Size() = %d, want %d", w.Size(), size)
	}
	// Two chunk buffers (2 MiB) and small change; a buffer per chunk would
	// be 32 MiB or more.
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("%s: %.1f MiB allocated to store %d MiB", testEngine(), float64(allocated)/(1<<20), size>>20)
	if limit := uint64(size / 4); allocated > limit {
		t.Errorf("storing %d MiB allocated %.1f MiB, want at most %d MiB: a buffer per chunk?",
			size>>20, float64(allocated)/(1<<20), limit>>20)
	}
}
