package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/mattn/go-sqlite3" // raw access, to fill 100,000 cases quickly

	"github.com/candour/candour/storage"
)

// inboxCases is how many cases benchmark 4-pg fills each engine with.
const inboxCases = 100_000

// inboxRow is case i of the inbox benchmark, the same on both engines and
// the same rows as BenchmarkInbox100k (storage/inbox_bench_test.go) makes:
// case rows of their real size (a post-quantum case recipient of 1,959
// characters, a wrapped identity of 260 bytes), three statuses in turn,
// one a minute, each with two tiny messages.
func inboxRow(i int, kdfID int64) []any {
	return []any{int64(i + 1), fmt.Sprintf("R%08d", i), []byte(fmt.Sprintf("L%030d", i)), kdfID,
		inboxWrapped, inboxRecipient, inboxStatuses[i%3],
		int64(1700000000 + i*60), int64(1700000000 + i*60), int64(1700000000 + i*60 + 7*86400)}
}

var (
	inboxStatuses  = []string{storage.StatusNew, storage.StatusInReview, storage.StatusClosed}
	inboxRecipient = "age1pq1" + strings.Repeat("q", 1959-len("age1pq1"))
	inboxWrapped   = bytes.Repeat([]byte{0xa5}, 260)
	inboxCaseCols  = []string{"id", "ref", "lookup_id", "kdf_id", "wrapped_identity", "recipient", "status", "created_at", "updated_at", "ack_by_day"}
)

// inboxDB is one engine's database for benchmark 4-pg: Candour's, and a
// raw connection for the floor.
type inboxDB struct {
	name  string
	db    *storage.DB
	raw   *sql.DB
	floor func(ctx context.Context) error // the floor query, once
}

// seedSQLite makes the inbox on SQLite, as BenchmarkInbox100k does: the
// real migrations (storage.Open), then direct inserts in one transaction.
func seedSQLite(dir string) (*inboxDB, error) {
	folder, err := os.MkdirTemp(dir, "inbox-sqlite-")
	if err != nil {
		return nil, err
	}
	db, err := storage.Open(folder)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	kdf, err := db.EnsureKDFParams(ctx, storage.KDFParams{Time: 1, MemoryKiB: 8192, Threads: 1, Salt: make([]byte, 32)})
	if err != nil {
		db.Close()
		return nil, err
	}
	raw, err := sql.Open("sqlite3", filepath.Join(folder, storage.FileName)+"?_busy_timeout=10000")
	if err != nil {
		db.Close()
		return nil, err
	}
	defer raw.Close()
	tx, err := raw.Begin()
	if err != nil {
		db.Close()
		return nil, err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`INSERT INTO staff (id, username, role, created_at, updated_at) VALUES (1, 'bench', 'caseworker', 0, 0);
		INSERT INTO channel_members (channel_id, staff_id) VALUES (1, 1)`); err != nil {
		db.Close()
		return nil, err
	}
	insCase, err := tx.Prepare(`INSERT INTO cases (` + strings.Join(inboxCaseCols, ", ") + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		db.Close()
		return nil, err
	}
	insMsg, err := tx.Prepare(`INSERT INTO messages (id, case_id, seq, author, created_at, ciphertext) VALUES (?, ?, ?, 'reporter', ?, x'00')`)
	if err != nil {
		db.Close()
		return nil, err
	}
	for i := range inboxCases {
		if _, err := insCase.Exec(inboxRow(i, kdf.ID)...); err != nil {
			db.Close()
			return nil, err
		}
		for j := range 2 {
			if _, err := insMsg.Exec(int64(2*i+j+1), int64(i+1), j+1, int64(1700000000+i*60)); err != nil {
				db.Close()
				return nil, err
			}
		}
	}
	if err := tx.Commit(); err != nil {
		db.Close()
		return nil, err
	}
	floorDB, err := sql.Open("sqlite3", "file:"+filepath.Join(folder, storage.FileName)+"?mode=ro")
	if err != nil {
		db.Close()
		return nil, err
	}
	return &inboxDB{name: "SQLite", db: db, raw: floorDB, floor: func(ctx context.Context) error {
		return floorQuery(ctx, floorDB, `SELECT count(*) FROM (SELECT 1 FROM cases LIMIT ?)`,
			`SELECT id FROM cases WHERE (updated_at, staff_activity_seq, id) < (?, 0, ?)
				ORDER BY updated_at DESC, staff_activity_seq DESC, id DESC LIMIT 50`)
	}}, nil
}

// seedPG makes the same inbox on a new PostgreSQL database: the real
// migrations (storage.OpenPostgres), then the same rows by COPY in one
// transaction, then VACUUM ANALYZE, which autovacuum would do by itself
// within a minute of such an insert in an installation (so that the
// planner has statistics and index-only scans see an up-to-date
// visibility map).
func seedPG(pg *pgCluster) (*inboxDB, error) {
	d, err := pg.newDatabase()
	if err != nil {
		return nil, err
	}
	db, err := storage.OpenPostgres(d.dsn)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	kdf, err := db.EnsureKDFParams(ctx, storage.KDFParams{Time: 1, MemoryKiB: 8192, Threads: 1, Salt: make([]byte, 32)})
	if err != nil {
		db.Close()
		return nil, err
	}
	fail := func(err error) (*inboxDB, error) {
		db.Close()
		return nil, err
	}
	conn, err := pgx.Connect(ctx, d.dsn)
	if err != nil {
		return fail(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback(ctx)
	for _, q := range []string{
		`INSERT INTO staff (id, username, role, created_at, updated_at) VALUES (1, 'bench', 'caseworker', 0, 0)`,
		`INSERT INTO channel_members (channel_id, staff_id) VALUES (1, 1)`,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fail(err)
		}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"cases"}, inboxCaseCols,
		pgx.CopyFromFunc(func() func() ([]any, error) {
			i := 0
			return func() ([]any, error) {
				if i == inboxCases {
					return nil, nil
				}
				i++
				return inboxRow(i-1, kdf.ID), nil
			}
		}())); err != nil {
		return fail(fmt.Errorf("COPY cases: %w", err))
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"messages"}, []string{"id", "case_id", "seq", "author", "created_at", "ciphertext"},
		pgx.CopyFromFunc(func() func() ([]any, error) {
			k := 0
			return func() ([]any, error) {
				if k == 2*inboxCases {
					return nil, nil
				}
				i, j := k/2, k%2
				k++
				return []any{int64(k), int64(i + 1), int64(j + 1), "reporter", int64(1700000000 + i*60), []byte{0}}, nil
			}
		}())); err != nil {
		return fail(fmt.Errorf("COPY messages: %w", err))
	}
	if err := tx.Commit(ctx); err != nil {
		return fail(err)
	}
	if _, err := conn.Exec(ctx, `VACUUM ANALYZE`); err != nil {
		return fail(err)
	}
	floorDB, err := sql.Open("pgx", d.dsn)
	if err != nil {
		return fail(err)
	}
	return &inboxDB{name: "PostgreSQL", db: db, raw: floorDB, floor: func(ctx context.Context) error {
		return floorQuery(ctx, floorDB, `SELECT count(*) FROM (SELECT 1 FROM cases LIMIT $1) c`,
			`SELECT id FROM cases WHERE (updated_at, staff_activity_seq, id) < ($1, 0, $2)
				ORDER BY updated_at DESC, staff_activity_seq DESC, id DESC LIMIT 50`)
	}}, nil
}

func (d *inboxDB) close() {
	d.raw.Close()
	d.db.Close()
}

// floorQuery is the floor of BenchmarkInbox100k: the least an inbox page
// of 50 can cost: count up to the cap, walk the index that gives the
// inbox's order from a key to the page, read 50 ids (no filter, no join).
func floorQuery(ctx context.Context, db *sql.DB, count, page string) error {
	var total int
	if err := db.QueryRowContext(ctx, count, storage.CountCap+1).Scan(&total); err != nil || total == 0 {
		return fmt.Errorf("the floor's count: %v, %d", err, total)
	}
	rows, err := db.QueryContext(ctx, page, 1700000000+50_000*60, int64(1)<<40)
	if err != nil {
		return err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	if n == 0 {
		return fmt.Errorf("the floor query found no rows")
	}
	return rows.Err()
}

// benchInboxPG is benchmark 4 on PostgreSQL against SQLite in the same
// run: the same 100,000 cases in each engine (seeded as
// BenchmarkInbox100k seeds SQLite's), and the queries of the staff inbox,
// storage.ListCases + storage.CountCases, for the same pages and filters,
// timed in process on each engine in turns: in each of three rounds, 10
// pages on SQLite then 10 on PostgreSQL; then each engine's floor (20
// runs). A page's figure is the median of its rounds.
func benchInboxPG(e *env) ([]result, []comparison, error) {
	logf("4-pg: filling SQLite and PostgreSQL with %d cases each", inboxCases)
	t0 := time.Now()
	lite, err := seedSQLite(e.dir)
	if err != nil {
		return nil, nil, fmt.Errorf("SQLite: %w", err)
	}
	defer lite.close()
	t1 := time.Now()
	pg, err := seedPG(e.pg)
	if err != nil {
		return nil, nil, fmt.Errorf("PostgreSQL: %w", err)
	}
	defer pg.close()
	logf("4-pg: filled in %s (SQLite) and %s (PostgreSQL, with VACUUM ANALYZE)", t1.Sub(t0).Round(time.Second), time.Since(t1).Round(time.Second))
	ctx := context.Background()
	engines := []*inboxDB{lite, pg}
	const perRound = 10
	var rs []result
	var cs []comparison
	for _, tc := range []struct {
		name   string
		filter storage.CaseFilter
		pages  int
		row    bool // a line of the main table (as 4's)
	}{
		{"first page", storage.CaseFilter{ViewerID: 1}, 0, true},
		{"deep page (1,990 pages in)", storage.CaseFilter{ViewerID: 1}, 1990, true},
		{"status filter, first page", storage.CaseFilter{Status: storage.StatusClosed, ViewerID: 1}, 0, false},
		{"status filter, deep page", storage.CaseFilter{Status: storage.StatusClosed, ViewerID: 1}, 660, false},
		{"unassigned, first page", storage.CaseFilter{AssigneeID: -1, ViewerID: 1}, 0, false},
		{"overdue, first page", storage.CaseFilter{Deadline: storage.DeadlineOverdue, ViewerID: 1}, 0, false},
		{"by deadline, first page", storage.CaseFilter{ByDeadline: true, ViewerID: 1}, 0, false},
		{"by deadline, deep page", storage.CaseFilter{ByDeadline: true, ViewerID: 1}, 1320, false},
	} {
		curs := make([]storage.Cursor, len(engines))
		for k, en := range engines {
			for range tc.pages {
				_, p, err := en.db.ListCases(ctx, tc.filter, curs[k], 50)
				if err != nil {
					return nil, nil, fmt.Errorf("%s: %w", en.name, err)
				}
				if p.Older.IsZero() {
					return nil, nil, fmt.Errorf("%s, %s: no older page", en.name, tc.name)
				}
				curs[k] = p.Older
			}
		}
		times := make([]samples, len(engines))
		for range rounds {
			for k, en := range engines {
				start := time.Now()
				for range perRound {
					rows, _, err := en.db.ListCases(ctx, tc.filter, curs[k], 50)
					if err != nil || len(rows) == 0 {
						return nil, nil, fmt.Errorf("%s, %s: %v, %d rows", en.name, tc.name, err, len(rows))
					}
					if total, _, err := en.db.CountCases(ctx, tc.filter, storage.CountCap); err != nil || total == 0 {
						return nil, nil, fmt.Errorf("%s, %s: count %v, %d", en.name, tc.name, err, total)
					}
				}
				times[k] = append(times[k], float64(time.Since(start))/perRound/1e6)
			}
		}
		floors := make([]float64, len(engines))
		for k, en := range engines {
			const runs = 20
			start := time.Now()
			for range runs {
				if err := en.floor(ctx); err != nil {
					return nil, nil, fmt.Errorf("%s floor: %w", en.name, err)
				}
			}
			floors[k] = float64(time.Since(start)) / runs / 1e6
		}
		l, p := times[0].median(), times[1].median()
		cs = append(cs, comparison{
			id: "4", what: "inbox, " + tc.name + ", ms a page (floor/page in brackets)",
			sqlite: fmt.Sprintf("%.2f ms (%.2f)", l, floors[0]/l),
			pg:     fmt.Sprintf("%.2f ms (%.2f)", p, floors[1]/p),
			ratio:  p / l, sameRounds: true,
		})
		if tc.row {
			rs = append(rs, result{
				id:       "4-pg",
				what:     "inbox, " + tc.name + ", **PostgreSQL**",
				measured: fmt.Sprintf("%.2f ms (median of %s ms)", p, joinMS(times[1])),
				floor:    fmt.Sprintf("count + walk to the page, 50 ids from the index: %.2f ms", floors[1]),
				ratio:    floors[1] / p,
				target:   "≤ 20 ms", met: yesNo(p <= 20),
				notes: []string{fmt.Sprintf("%s: SQLite in the same rounds %.2f ms (median of %s ms), its floor %.2f ms", tc.name, l, joinMS(times[0]), floors[0])},
			})
		}
	}
	return rs, cs, nil
}

func joinMS(xs samples) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(parts, ", ")
}
