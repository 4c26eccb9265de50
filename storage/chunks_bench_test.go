package storage_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/candour/candour/storage"
)

// benchAttachmentSize is what one iteration of the chunk benchmarks
// stores: enough chunks to span two checkpoints of the chunk file.
const benchAttachmentSize = 64 << 20

// processCPU is the user + system time of this process so far: every
// goroutine's, the storing one and SQLite's included.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPUPerGiB reports the processor time spent per GiB stored.
func reportCPUPerGiB(b *testing.B, cpu time.Duration, stored int64) {
	b.ReportMetric(cpu.Seconds()/(float64(stored)/(1<<30)), "cpu-s/GiB")
}

// BenchmarkAttachmentStore is the processor time the storage layer itself
// spends per GiB of attachment ciphertext, as the server stores it: 1 MiB
// writes into an AttachmentWriter, each chunk committed to the chunk file's
// WAL, checkpointed into the file every 32 MiB, and the WAL fsynced when
// the attachment closes. Benchmark 3d (cmd/candour-bench) is the whole
// upload; this is its storage share. Deleting the attachment after each
// iteration is not counted.
func BenchmarkAttachmentStore(b *testing.B) {
	db, err := storage.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	buf := make([]byte, 1<<20)
	rand.Read(buf)
	var cpu time.Duration
	b.SetBytes(benchAttachmentSize)
	for b.Loop() {
		start := processCPU(b)
		w, err := db.NewAttachment(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for range benchAttachmentSize / len(buf) {
			if _, err := w.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		cpu += processCPU(b) - start
		if err := db.DeletePending(ctx, w.ID()); err != nil {
			b.Fatal(err)
		}
	}
	reportCPUPerGiB(b, cpu, int64(b.N)*benchAttachmentSize)
}

// BenchmarkSingleWriteFloor is the least processor time SQLite can store
// the same chunks with: a new file of its own per attachment, no journal,
// no synchronous writes, 64 KiB pages, one fsync at the end, so that each
// byte is written once. Candour cannot store attachments this way (see
// docs/benchmarks.md, "Why 3a and 3d stay out of reach"): without a
// journal, a shared file can be corrupted by a power cut in the middle of
// a later upload, and a file per upload would keep each upload's precise
// time in the file system (its birth and change times). It is measured to
// show what the WAL's double write costs against it.
func BenchmarkSingleWriteFloor(b *testing.B) {
	dir := b.TempDir()
	buf := make([]byte, 1<<20)
	rand.Read(buf)
	var cpu time.Duration
	b.SetBytes(benchAttachmentSize)
	i := 0
	for b.Loop() {
		i++
		path := filepath.Join(dir, fmt.Sprintf("a%d.db", i))
		start := processCPU(b)
		d, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=OFF&_synchronous=OFF&_cache_size=-2048")
		if err != nil {
			b.Fatal(err)
		}
		d.SetMaxOpenConns(1)
		for _, q := range []string{"PRAGMA page_size = 65536", "CREATE TABLE chunks (seq INTEGER PRIMARY KEY, data BLOB NOT NULL)"} {
			if _, err := d.Exec(q); err != nil {
				b.Fatal(err)
			}
		}
		for seq := range benchAttachmentSize / len(buf) {
			if _, err := d.Exec(`INSERT INTO chunks (seq, data) VALUES (?, ?)`, seq, buf); err != nil {
				b.Fatal(err)
			}
		}
		if err := d.Close(); err != nil {
			b.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		f.Close()
		cpu += processCPU(b) - start
		os.Remove(path)
	}
	reportCPUPerGiB(b, cpu, int64(b.N)*benchAttachmentSize)
}

// BenchmarkHashAndSeal is the processor time of the two things the server
// must do to every byte of an attachment besides storing it: SHA-256 (the
// hash shown to caseworkers) and age's encryption (ChaCha20-Poly1305), in
// process, to io.Discard. With BenchmarkAttachmentStore it bounds benchmark
// 3d from below before a byte is received from the network.
func BenchmarkHashAndSeal(b *testing.B) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	rand.Read(buf)
	var hashCPU, sealCPU time.Duration
	b.SetBytes(benchAttachmentSize)
	for b.Loop() {
		start := processCPU(b)
		h := sha256.New()
		for range benchAttachmentSize / len(buf) {
			h.Write(buf)
		}
		h.Sum(nil)
		mid := processCPU(b)
		w, err := age.Encrypt(io.Discard, id.Recipient())
		if err != nil {
			b.Fatal(err)
		}
		for range benchAttachmentSize / len(buf) {
			if _, err := w.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		hashCPU += mid - start
		sealCPU += processCPU(b) - mid
	}
	stored := int64(b.N) * benchAttachmentSize
	b.ReportMetric(hashCPU.Seconds()/(float64(stored)/(1<<30)), "sha256-cpu-s/GiB")
	b.ReportMetric(sealCPU.Seconds()/(float64(stored)/(1<<30)), "seal-cpu-s/GiB")
}
