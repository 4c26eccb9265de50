package storage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/candour/candour/internal/concurrently"
	"github.com/candour/candour/storage"
)

func sessionHash(name string) []byte { h := sha256.Sum256([]byte(name)); return h[:] }

// Sessions are bounded per case and in all (least recently used first),
// read back as stored, touched forward only, and end by logout, by their
// case's deletion, and by the sweep.
func TestReporterSessionsAreBoundedTouchedAndEnded(t *testing.T) {
	t.Parallel()
	db := mustOpenDB(t)
	ctx := context.Background()
	if db.Shared() != (testEngine() == storage.EnginePostgres) {
		t.Errorf("Shared() = %v on %s", db.Shared(), testEngine())
	}
	a, b := mustCreateCase(t, db, "a"), mustCreateCase(t, db, "b")
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	create := func(name string, caseID int64) {
		t.Helper()
		err := db.CreateReporterSession(ctx, storage.ReporterSession{IDHash: sessionHash(name), CaseID: caseID,
			Sealed: []byte("sealed " + name), IdleUntil: now.Add(15 * time.Minute), EndsAt: now.Add(time.Hour)}, now, 2, 3)
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}
	alive := func(name string) bool {
		t.Helper()
		_, err := db.ReporterSessionByHash(ctx, sessionHash(name))
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	create("a1", a.ID)
	create("a2", a.ID)
	got, err := db.ReporterSessionByHash(ctx, sessionHash("a1"))
	if err != nil || got.CaseID != a.ID || string(got.Sealed) != "sealed a1" ||
		!got.IdleUntil.Equal(now.Add(15*time.Minute)) || !got.EndsAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("read back %+v, %v", got, err)
	}
	// a1 used after a2: a2 is the least recently used of case a.
	if err := db.TouchReporterSession(ctx, sessionHash("a1"), now.Add(16*time.Minute)); err != nil {
		t.Fatal(err)
	}
	create("a3", a.ID)
	if !alive("a1") || alive("a2") || !alive("a3") {
		t.Errorf("after a third session of a case (bound 2): a1 %v, a2 %v, a3 %v; want the least recently used, a2, gone",
			alive("a1"), alive("a2"), alive("a3"))
	}
	create("b1", b.ID)
	create("b2", b.ID)
	if n, _ := db.ReporterSessionCount(ctx); n != 3 || alive("a1") {
		t.Errorf("%d sessions after the fourth (bound 3), a1 alive %v; want 3 and a1 (least recently used) gone", n, alive("a1"))
	}
	// A touch never moves the idle end back.
	if err := db.TouchReporterSession(ctx, sessionHash("a3"), now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.ReporterSessionByHash(ctx, sessionHash("a3")); !got.IdleUntil.Equal(now.Add(15 * time.Minute)) {
		t.Errorf("idle end moved back to %v", got.IdleUntil)
	}
	if err := db.CreateReporterSession(ctx, storage.ReporterSession{IDHash: sessionHash("x"), CaseID: 999999,
		Sealed: []byte("x"), IdleUntil: now, EndsAt: now}, now, 2, 3); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a session of no case: %v, want ErrNotFound", err)
	}

	must(t, db.DeleteReporterSession(ctx, sessionHash("b1")))
	must(t, db.DeleteReporterSession(ctx, sessionHash("b1"))) // twice: harmless
	if alive("b1") || !alive("b2") {
		t.Error("logout ended the wrong session")
	}
	must(t, db.DeleteCase(ctx, b.ID))
	if alive("b2") {
		t.Error("a deleted case's session is still there")
	}
	must(t, db.DeleteReporterSessions(ctx, a.ID))
	if alive("a3") {
		t.Error("a withdrawn case's session is still there")
	}

	create("a4", a.ID)
	if n, err := db.SweepReporterSessions(ctx, now.Add(15*time.Minute-time.Second)); n != 0 || err != nil {
		t.Errorf("sweep before the idle end removed %d (%v)", n, err)
	}
	if n, err := db.SweepReporterSessions(ctx, now.Add(15*time.Minute)); n != 1 || err != nil || alive("a4") {
		t.Errorf("sweep at the idle end removed %d (%v)", n, err)
	}
}

// A receipt row is claimed by one attempt, refuses a second claim while
// in flight, keeps its sealed receipt for the first attempt only, is free
// again after a drop or once its time is up (the backstop), and
// the kept ones are bounded.
func TestReceiptClaimsKeepsAndTakeOvers(t *testing.T) {
	t.Parallel()
	db := mustOpenDB(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	h := sessionHash("form")
	c1, c2 := bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 16)
	claim := func(c []byte, at time.Time) (storage.ReceiptClaimState, []byte) {
		t.Helper()
		st, sealed, err := db.ClaimReceipt(ctx, h, c, at, at.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return st, sealed
	}
	if st, _ := claim(c1, now); st != storage.ReceiptClaimed {
		t.Fatalf("first claim: %v", st)
	}
	if st, _ := claim(c2, now); st != storage.ReceiptInFlight {
		t.Fatalf("second claim while the first is in flight: %v", st)
	}
	if st, _, _ := db.PeekReceipt(ctx, h, now); st != storage.ReceiptInFlight {
		t.Errorf("peek: %v", st)
	}
	// Dropped: the token is free; the other attempt takes it.
	must(t, db.DropReceiptClaim(ctx, h, c1))
	if st, _ := claim(c2, now); st != storage.ReceiptClaimed {
		t.Fatalf("claim after a drop: %v", st)
	}
	if err := db.KeepReceipt(ctx, h, c1, []byte("not mine"), now.Add(10*time.Minute), 10); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("keep by a claim no longer held: %v", err)
	}
	must(t, db.DropReceiptClaim(ctx, h, c1)) // not the holder: changes nothing
	if st, _ := claim(c1, now); st != storage.ReceiptInFlight {
		t.Fatalf("a drop by another attempt freed the claim: %v", st)
	}
	// An hour on, c2's claim has expired (the backstop; a claim whose
	// instance is known dead goes at once: instances_receipt_test.go).
	later := now.Add(time.Hour)
	if st, _ := claim(c1, later); st != storage.ReceiptClaimed {
		t.Fatalf("claim after the claim's time: %v", st)
	}
	must(t, db.KeepReceipt(ctx, h, c1, []byte("sealed receipt"), later.Add(10*time.Minute), 10))
	if st, sealed := claim(c2, later); st != storage.ReceiptKept || string(sealed) != "sealed receipt" {
		t.Fatalf("repeat after keep: %v %q", st, sealed)
	}
	if kept, inFlight, err := db.ReceiptCounts(ctx); kept != 1 || inFlight != 0 || err != nil {
		t.Errorf("%d kept, %d in flight (%v)", kept, inFlight, err)
	}
	// Bounded: the kept receipts that expire soonest give way.
	for i := range 3 {
		hi := sessionHash(string(rune('p' + i)))
		if st, _, err := db.ClaimReceipt(ctx, hi, c1, later, later.Add(time.Hour)); st != storage.ReceiptClaimed || err != nil {
			t.Fatal(st, err)
		}
		must(t, db.KeepReceipt(ctx, hi, c1, []byte("r"), later.Add(time.Duration(20+i)*time.Minute), 2))
	}
	if kept, _, _ := db.ReceiptCounts(ctx); kept != 2 {
		t.Errorf("%d kept, bound 2", kept)
	}
	if st, _, _ := db.PeekReceipt(ctx, h, later); st != storage.ReceiptClaimed {
		t.Errorf("the receipt expiring soonest is still kept: %v", st)
	}
	if n, err := db.SweepReceipts(ctx, later.Add(21*time.Minute)); n != 1 || err != nil {
		t.Errorf("sweep removed %d (%v), want 1", n, err)
	}
}

// Two instances on one PostgreSQL database see each other's sessions and
// receipts, and of two claims racing for one form exactly one wins.
func TestInstancesShareReporterSessionsAndReceipts(t *testing.T) {
	t.Parallel()
	one, two := twoInstances(t)
	ctx := context.Background()
	cs := mustCreateCase(t, one, "shared")
	now := time.Now().Truncate(time.Minute)
	must(t, one.CreateReporterSession(ctx, storage.ReporterSession{IDHash: sessionHash("s"), CaseID: cs.ID,
		Sealed: []byte("sealed"), IdleUntil: now.Add(15 * time.Minute), EndsAt: now.Add(time.Hour)}, now, 3, 10000))
	if got, err := two.ReporterSessionByHash(ctx, sessionHash("s")); err != nil || got.CaseID != cs.ID {
		t.Fatalf("the other instance reads %+v, %v", got, err)
	}
	must(t, two.DeleteReporterSession(ctx, sessionHash("s")))
	if _, err := one.ReporterSessionByHash(ctx, sessionHash("s")); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("logout on the other instance: %v", err)
	}

	for i := range 10 {
		h := sessionHash("race" + string(rune('a'+i)))
		var states [2]storage.ReceiptClaimState
		errs := concurrently.Run(func() (err error) {
			states[0], _, err = one.ClaimReceipt(ctx, h, bytes.Repeat([]byte{1}, 16), now, now.Add(time.Hour))
			return err
		}, func() (err error) {
			states[1], _, err = two.ClaimReceipt(ctx, h, bytes.Repeat([]byte{2}, 16), now, now.Add(time.Hour))
			return err
		})
		for _, err := range errs {
			must(t, err)
		}
		if (states[0] == storage.ReceiptClaimed) == (states[1] == storage.ReceiptClaimed) {
			t.Fatalf("round %d: claims %v and %v, want exactly one", i, states[0], states[1])
		}
	}
}

// A backup of PostgreSQL leaves out the live sessions and receipts:
// minutes-long state that a restored copy has no use for.
func TestBackupLeavesOutReporterSessionsAndReceipts(t *testing.T) {
	t.Parallel()
	postgresOnly(t, "on SQLite these tables are never used (sessions and receipts stay in memory)")
	db := mustOpenDB(t)
	ctx := context.Background()
	cs := mustCreateCase(t, db, "backed up")
	now := time.Now()
	must(t, db.CreateReporterSession(ctx, storage.ReporterSession{IDHash: sessionHash("s"), CaseID: cs.ID,
		Sealed: []byte("sealed"), IdleUntil: now.Add(time.Hour), EndsAt: now.Add(time.Hour)}, now, 3, 10))
	if _, _, err := db.ClaimReceipt(ctx, sessionHash("r"), bytes.Repeat([]byte{1}, 16), now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	must(t, db.Backup(ctx, filepath.Join(dir, storage.FileName)))
	rdb, err := storage.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	if _, err := rdb.Case(ctx, cs.ID); err != nil {
		t.Fatalf("the backup lacks the case: %v", err)
	}
	n, _ := rdb.ReporterSessionCount(ctx)
	kept, inFlight, _ := rdb.ReceiptCounts(ctx)
	if n+kept+inFlight != 0 {
		t.Errorf("the backup holds %d sessions and %d receipts", n, kept+inFlight)
	}
}
