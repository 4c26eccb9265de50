package storage_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/candour/candour/internal/concurrently"
	"github.com/candour/candour/internal/pgtest"
	"github.com/candour/candour/storage"
)

// atClock sets db's clock to at, for both instances given.
func atClock(at time.Time, dbs ...*storage.DB) {
	for _, db := range dbs {
		db.Now = func() time.Time { return at }
	}
}

// takeAll takes n submissions on db, one at a time, and returns how many
// were within the budget.
func takeAll(t *testing.T, db *storage.DB, n, budget int) int {
	t.Helper()
	ok := 0
	for range n {
		took, err := db.TakeSubmission(context.Background(), budget)
		if err != nil {
			t.Fatal(err)
		}
		if took {
			ok++
		}
	}
	return ok
}

func TestSubmissionBudgetPerMinute(t *testing.T) {
	t.Parallel()
	db := mustOpenDB(t)
	start := time.Date(2026, 12, 6, 21, 30, 0, 0, time.UTC)
	atClock(start.Add(10*time.Second), db)
	if got := takeAll(t, db, 5, 3); got != 3 {
		t.Fatalf("%d of 5 taken within a budget of 3", got)
	}
	// Half way through the next minute, half the previous minute's three
	// (rounded up: two) still count: one more fits.
	atClock(start.Add(90*time.Second), db)
	if got := takeAll(t, db, 3, 3); got != 1 {
		t.Fatalf("%d taken half a minute on, want 1", got)
	}
	// Two minutes on, the budget is whole again.
	atClock(start.Add(3*time.Minute), db)
	if got := takeAll(t, db, 4, 3); got != 3 {
		t.Fatalf("%d taken two minutes on, want 3", got)
	}
}

// A refused submission is not counted: once the budget is spent, refusals
// do not keep it spent into the next minutes.
func TestRefusedSubmissionsAreNotCounted(t *testing.T) {
	t.Parallel()
	db := mustOpenDB(t)
	start := time.Date(2026, 12, 6, 21, 30, 0, 0, time.UTC)
	atClock(start, db)
	if got := takeAll(t, db, 100, 2); got != 2 {
		t.Fatalf("%d taken, want 2", got)
	}
	atClock(start.Add(119*time.Second), db) // 1 s of the previous minute still counts: 1 of its 2
	if got := takeAll(t, db, 3, 2); got != 1 {
		t.Fatalf("%d taken after 100 refusals, want 1", got)
	}
}

// Two instances on one database share the budget: B are taken across
// both, at once, and the next is refused on either.
func TestInstancesShareTheSubmissionBudget(t *testing.T) {
	t.Parallel()
	a, b := twoInstances(t)
	at := time.Date(2026, 12, 6, 21, 30, 5, 0, time.UTC)
	atClock(at, a, b)
	const budget = 7
	var mu sync.Mutex
	taken := 0
	var fns []func() error
	for i := range 2 * budget {
		db := a
		if i%2 == 1 {
			db = b
		}
		fns = append(fns, func() error {
			ok, err := db.TakeSubmission(context.Background(), budget)
			if ok {
				mu.Lock()
				taken++
				mu.Unlock()
			}
			return err
		})
	}
	for _, err := range concurrently.Run(fns...) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if taken != budget {
		t.Fatalf("%d taken across two instances, want %d", taken, budget)
	}
	for _, db := range []*storage.DB{a, b} {
		if ok, err := db.TakeSubmission(context.Background(), budget); err != nil || ok {
			t.Fatalf("one more over the budget: taken %v, %v", ok, err)
		}
	}
}

func TestLoginFailuresCountAcrossInstances(t *testing.T) {
	t.Parallel()
	a, b := twoInstances(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 6, 21, 30, 30, 0, time.UTC)
	atClock(at, a, b)
	for range 3 {
		must(t, a.CountLoginFailure(ctx))
	}
	must(t, b.CountLoginFailure(ctx))
	for _, db := range []*storage.DB{a, b} {
		if n, err := db.RecentLoginFailures(ctx); err != nil || n != 4 {
			t.Fatalf("recent failures %d, %v; want 4", n, err)
		}
	}
	// Two minutes later they are forgotten.
	atClock(at.Add(2*time.Minute), a, b)
	if n, err := b.RecentLoginFailures(ctx); err != nil || n != 0 {
		t.Fatalf("recent failures two minutes on %d, %v; want 0", n, err)
	}
}

func lockAfterThree(n int) time.Duration {
	if n < 3 {
		return 0
	}
	return time.Duration(n) * time.Minute
}

// A name no account has is locked on one instance by failures counted on
// the other, and the name itself is nowhere in the database.
func TestInstancesShareUnknownNameLocks(t *testing.T) {
	t.Parallel()
	a, b := twoInstances(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 6, 21, 30, 30, 0, time.UTC)
	atClock(at, a, b)
	ka, err := a.LoginNameKey(ctx)
	must(t, err)
	kb, err := b.LoginNameKey(ctx)
	must(t, err)
	if len(ka) != 32 || string(ka) != string(kb) {
		t.Fatal("the two instances have different name keys")
	}
	name := []byte("hash of a name")
	for i, db := range []*storage.DB{a, b, a} {
		if until, err := db.NameLockedUntil(ctx, name); err != nil || !until.IsZero() {
			t.Fatalf("locked before failure %d: %v, %v", i+1, until, err)
		}
		must(t, db.CountNameFailure(ctx, name, lockAfterThree))
	}
	until, err := b.NameLockedUntil(ctx, name)
	must(t, err)
	if !until.Equal(at.Add(3 * time.Minute)) {
		t.Fatalf("locked until %v, want %v", until, at.Add(3*time.Minute))
	}
	other, err := b.NameLockedUntil(ctx, []byte("another name"))
	if err != nil || !other.IsZero() {
		t.Fatalf("another name locked: %v, %v", other, err)
	}
	// Two days on the name is forgotten when another fails.
	atClock(at.Add(48*time.Hour), a, b)
	must(t, a.CountNameFailure(ctx, []byte("someone else"), lockAfterThree))
	until, err = b.NameLockedUntil(ctx, name)
	if err != nil || !until.IsZero() {
		t.Fatalf("a name two days old still has a lock row: %v, %v", until, err)
	}
}

// Failures of one account counted at once on two instances are all
// counted, and the lock follows the true count; a login's check then
// sees the lock.
func TestInstancesCountStaffFailuresAtomically(t *testing.T) {
	t.Parallel()
	a, b := twoInstances(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 6, 21, 30, 30, 0, time.UTC)
	atClock(at, a, b)
	st, err := a.CreateStaff(ctx, "nina", storage.RoleCaseworker)
	must(t, err)
	must(t, b.EnsureStaffUnlocked(ctx, st.ID))
	var fns []func() error
	for i := range 10 {
		db := a
		if i%2 == 1 {
			db = b
		}
		fns = append(fns, func() error {
			_, _, err := db.CountStaffLoginFailure(ctx, st.ID, lockAfterThree)
			return err
		})
	}
	for _, err := range concurrently.Run(fns...) {
		must(t, err)
	}
	got, err := b.StaffByID(ctx, st.ID)
	must(t, err)
	if got.FailedLogins != 10 || !got.LockedUntil.Equal(at.Add(10*time.Minute)) {
		t.Fatalf("failures %d, locked until %v; want 10, %v", got.FailedLogins, got.LockedUntil, at.Add(10*time.Minute))
	}
	if err := a.EnsureStaffUnlocked(ctx, st.ID); !errors.Is(err, storage.ErrLoginLocked) {
		t.Fatalf("a locked account passed the check: %v", err)
	}
	atClock(at.Add(11*time.Minute), a, b)
	must(t, a.EnsureStaffUnlocked(ctx, st.ID))
}

// Every change of the console's recipients raises the version, which a
// second instance reads.
func TestRecipientsVersionFollowsEveryChange(t *testing.T) {
	t.Parallel()
	db := mustOpenDB(t)
	ctx := context.Background()
	v0, err := db.OrgRecipientsVersion(ctx)
	must(t, err)
	r, err := db.AddOrgRecipient(ctx, "age1example", "a key", "admin")
	must(t, err)
	list, v1, err := db.OrgRecipientsVersioned(ctx)
	must(t, err)
	if v1 <= v0 || len(list) != 1 {
		t.Fatalf("after adding: version %d (was %d), %d keys", v1, v0, len(list))
	}
	if _, err := db.AddOrgRecipient(ctx, "age1example", "again", "admin"); !errors.Is(err, storage.ErrDuplicate) {
		t.Fatalf("duplicate: %v", err)
	}
	if v, err := db.OrgRecipientsVersion(ctx); err != nil || v != v1 {
		t.Fatalf("a refused addition changed the version: %d, %v", v, err)
	}
	must(t, db.RemoveOrgRecipient(ctx, r.ID))
	if v, err := db.OrgRecipientsVersion(ctx); err != nil || v <= v1 {
		t.Fatalf("after removing: version %d, %v", v, err)
	}
	if err := db.RemoveOrgRecipient(ctx, r.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("removing again: %v", err)
	}
}

// A backup carries no count of submissions: on PostgreSQL the table's
// rows are left out, on SQLite there are none (the count is in memory).
func TestBackupHoldsNoSubmissionCount(t *testing.T) {
	t.Parallel()
	db := mustOpenDB(t)
	ctx := context.Background()
	for range 3 {
		if ok, err := db.TakeSubmission(ctx, 10); err != nil || !ok {
			t.Fatalf("taken %v, %v", ok, err)
		}
	}
	dest := filepath.Join(t.TempDir(), "backup.db")
	must(t, db.Backup(ctx, dest))
	raw, err := sql.Open("sqlite3", "file:"+dest+"?mode=ro")
	must(t, err)
	defer raw.Close()
	var n int
	must(t, raw.QueryRow(`SELECT count(*) FROM submission_counts`).Scan(&n))
	if n != 0 {
		t.Fatalf("the backup holds %d submission counts", n)
	}
}

// benchDB opens a database for a benchmark, on the engine under test.
func benchDB(b *testing.B) *storage.DB {
	var db *storage.DB
	var err error
	if testEngine() == storage.EnginePostgres {
		db, err = storage.OpenPostgres(pgtest.Start(b).NewDatabase(b))
	} else {
		db, err = storage.Open(b.TempDir())
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkOrgRecipientsVersion measures the read every report and
// message makes to seal to the current recipients.
func BenchmarkOrgRecipientsVersion(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := db.OrgRecipientsVersion(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTakeSubmission measures what the shared budget costs a
// submission: one short transaction.
func BenchmarkTakeSubmission(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := db.TakeSubmission(ctx, 1<<30); err != nil {
			b.Fatal(err)
		}
	}
}
