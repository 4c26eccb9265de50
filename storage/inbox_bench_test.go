package storage_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	_ "github.com/mattn/go-sqlite3" // raw access, to fill 100,000 cases quickly

	"github.com/candour/candour/storage"
)

// BenchmarkInbox100k measures the staff inbox over 100,000 cases (each
// with two messages): the first page, a deep page, and a status filter.
func BenchmarkInbox100k(b *testing.B) {
	dir := b.TempDir()
	db, err := storage.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	kdf, err := db.EnsureKDFParams(ctx, storage.KDFParams{Time: 1, MemoryKiB: 8192, Threads: 1, Salt: make([]byte, 32)})
	if err != nil {
		b.Fatal(err)
	}
	raw, err := sql.Open("sqlite3", filepath.Join(dir, storage.FileName)+"?_busy_timeout=10000")
	if err != nil {
		b.Fatal(err)
	}
	tx, _ := raw.Begin()
	statuses := []string{storage.StatusNew, storage.StatusInReview, storage.StatusClosed}
	for i := 0; i < 100_000; i++ {
		res, err := tx.Exec(`INSERT INTO cases (ref, lookup_id, kdf_id, wrapped_identity, recipient, status, created_at, updated_at)
			VALUES (?, ?, ?, x'00', 'age1', ?, ?, ?)`, fmt.Sprintf("R%08d", i), fmt.Sprintf("L%08d", i), kdf.ID,
			statuses[i%3], 1700000000+i*60, 1700000000+i*60)
		if err != nil {
			b.Fatal(err)
		}
		id, _ := res.LastInsertId()
		for j := 0; j < 2; j++ {
			if _, err := tx.Exec(`INSERT INTO messages (case_id, author, created_at, ciphertext) VALUES (?, 'reporter', ?, x'00')`, id, 1700000000+i*60); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	raw.Close()
	for _, tc := range []struct {
		name   string
		filter storage.CaseFilter
		offset int
	}{
		{"first page", storage.CaseFilter{ViewerID: 1}, 0},
		{"deep page", storage.CaseFilter{ViewerID: 1}, 99_900},
		{"status filter first page", storage.CaseFilter{Status: storage.StatusClosed, ViewerID: 1}, 0},
		{"unassigned first page", storage.CaseFilter{AssigneeID: -1, ViewerID: 1}, 0},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				rows, total, err := db.ListCases(ctx, tc.filter, tc.offset, 50)
				if err != nil || len(rows) == 0 || total == 0 {
					b.Fatal(err, len(rows), total)
				}
			}
		})
	}
}
