package storage_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // raw access, to fill 100,000 cases quickly

	"github.com/candour/candour/storage"
)

// BenchmarkInbox100k measures the staff inbox's queries over 100,000 cases
// (each with two messages): a page and the capped count, first and deep
// pages, with filters. BenchmarkInboxHTTP (server) measures whole requests.
//
// Case rows have their real size: a post-quantum case recipient is 1,959
// characters and a wrapped identity 260 bytes, so a case takes most of a
// 4 KiB page and an inbox query that reads the table for every case it
// skips reads 100,000 pages. Messages are tiny: the inbox reads them only
// through the messages_case index.
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
	// The viewer (staff 1) is in the default channel, which every case is in.
	if _, err := tx.Exec(`INSERT INTO staff (id, username, role, created_at, updated_at) VALUES (1, 'bench', 'caseworker', 0, 0);
		INSERT INTO channel_members (channel_id, staff_id) VALUES (1, 1)`); err != nil {
		b.Fatal(err)
	}
	statuses := []string{storage.StatusNew, storage.StatusInReview, storage.StatusClosed}
	recipient := "age1pq1" + strings.Repeat("q", 1959-len("age1pq1"))
	wrapped := bytes.Repeat([]byte{0xa5}, 260)
	for i := 0; i < 100_000; i++ {
		res, err := tx.Exec(`INSERT INTO cases (ref, lookup_id, kdf_id, wrapped_identity, recipient, status, created_at, updated_at, ack_by_day)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, fmt.Sprintf("R%08d", i), fmt.Sprintf("L%030d", i), kdf.ID,
			wrapped, recipient, statuses[i%3], 1700000000+i*60, 1700000000+i*60, 1700000000+i*60+7*86400)
		if err != nil {
			b.Fatal(err)
		}
		id, _ := res.LastInsertId()
		for j := 0; j < 2; j++ {
			if _, err := tx.Exec(`INSERT INTO messages (case_id, seq, author, created_at, ciphertext) VALUES (?, ?, 'reporter', ?, x'00')`, id, j+1, 1700000000+i*60); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	raw.Close()
	// The floor, measured in the same run: the least an inbox page of 50
	// can cost: count up to the cap, walk the index that gives the inbox's
	// order from a key to the page, read 50 ids (no filter, no join).
	floorDB, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, storage.FileName)+"?mode=ro")
	if err != nil {
		b.Fatal(err)
	}
	defer floorDB.Close()
	floor := func() time.Duration {
		const runs = 20
		start := time.Now()
		for range runs {
			var total int
			if err := floorDB.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM cases LIMIT ?)`, storage.CountCap+1).Scan(&total); err != nil || total == 0 {
				b.Fatal(err, total)
			}
			rows, err := floorDB.QueryContext(ctx, `SELECT id FROM cases WHERE (updated_at, staff_activity_seq, id) < (?, 0, ?)
				ORDER BY updated_at DESC, staff_activity_seq DESC, id DESC LIMIT 50`, 1700000000+50_000*60, 1<<40)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for rows.Next() {
				n++
			}
			rows.Close()
			if n == 0 {
				b.Fatal("the floor query found no rows")
			}
		}
		return time.Since(start) / runs
	}
	// at is the cursor of the page after skipping pages pages (walked
	// there by cursors, unmeasured).
	at := func(f storage.CaseFilter, pages int) storage.Cursor {
		var cur storage.Cursor
		for range pages {
			_, p, err := db.ListCases(ctx, f, cur, 50)
			if err != nil || p.Older.IsZero() {
				b.Fatal(err, "no older page")
			}
			cur = p.Older
		}
		return cur
	}
	for _, tc := range []struct {
		name   string
		filter storage.CaseFilter
		pages  int
	}{
		{"first page", storage.CaseFilter{ViewerID: 1}, 0},
		{"deep page", storage.CaseFilter{ViewerID: 1}, 1990},
		{"status filter first page", storage.CaseFilter{Status: storage.StatusClosed, ViewerID: 1}, 0},
		{"status filter deep page", storage.CaseFilter{Status: storage.StatusClosed, ViewerID: 1}, 660},
		{"unassigned first page", storage.CaseFilter{AssigneeID: -1, ViewerID: 1}, 0},
		{"overdue first page", storage.CaseFilter{Deadline: storage.DeadlineOverdue, ViewerID: 1}, 0},
		{"by deadline first page", storage.CaseFilter{ByDeadline: true, ViewerID: 1}, 0},
		{"by deadline deep page", storage.CaseFilter{ByDeadline: true, ViewerID: 1}, 1320},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cur := at(tc.filter, tc.pages)
			n := 0
			for b.Loop() {
				rows, _, err := db.ListCases(ctx, tc.filter, cur, 50)
				if err != nil || len(rows) == 0 {
					b.Fatal(err, len(rows))
				}
				if total, _, err := db.CountCases(ctx, tc.filter, storage.CountCap); err != nil || total == 0 {
					b.Fatal(err, total)
				}
				n++
			}
			page := b.Elapsed() / time.Duration(n)
			f := floor()
			b.ReportMetric(float64(page)/1e6, "ms/page")
			b.ReportMetric(float64(f)/1e6, "floor-ms")
			b.ReportMetric(float64(f)/float64(page), "floor/page")
		})
	}
}
