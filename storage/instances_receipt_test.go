package storage_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/candour/candour/internal/concurrently"
	"github.com/candour/candour/storage"
)

// The claim of a form's attempt in flight records its instance. While
// that instance lives, a repeat of the form on another instance finds the
// claim in flight. Once its lock connection is gone (ended for real, as a
// kill -9 or a broken network would end it), a repeat takes the claim
// over at once, long before it expires: at the same now. Of two repeats
// racing for it exactly one wins, the attempt of the dead instance can
// keep nothing, and a live instance's claim is never taken over. A dead
// instance whose row is swept already is as dead.
func TestInstancesReceiptClaimOfDeadInstanceTakenOver(t *testing.T) {
	t.Parallel()
	postgresOnly(t, "several instances share one database")
	ctx := context.Background()
	dir := t.TempDir()
	dead, one, two := mustOpenDBAt(t, dir), mustOpenDBAt(t, dir), mustOpenDBAt(t, dir)
	raw := rawDB(t, dir)
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	until := now.Add(time.Hour)
	c0, c1, c2 := bytes.Repeat([]byte{0}, 16), bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 16)
	hDead, hSwept, hLive := sessionHash("dead form"), sessionHash("swept form"), sessionHash("live form")
	claim := func(db *storage.DB, h, c []byte) storage.ReceiptClaimState {
		t.Helper()
		st, _, err := db.ClaimReceipt(ctx, h, c, now, until)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	peek := func(db *storage.DB, h []byte) storage.ReceiptClaimState {
		t.Helper()
		st, _, err := db.PeekReceipt(ctx, h, now)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	for _, h := range [][]byte{hDead, hSwept} {
		if st := claim(dead, h, c0); st != storage.ReceiptClaimed {
			t.Fatalf("first claim: %v", st)
		}
	}
	if st := claim(one, hLive, c1); st != storage.ReceiptClaimed {
		t.Fatalf("first claim: %v", st)
	}
	// Every instance alive: every claim is in flight for the others.
	for _, h := range [][]byte{hDead, hSwept, hLive} {
		if st := claim(two, h, c2); st != storage.ReceiptInFlight {
			t.Fatalf("a repeat took a live instance's claim: %v", st)
		}
		if st := peek(two, h); st != storage.ReceiptInFlight {
			t.Fatalf("peek at a live instance's claim: %v", st)
		}
	}

	// The claimer's lock connection ends for real.
	id := dead.InstanceID()
	pids := pgBackendsHolding(t, raw, instanceClass, uint32(id))
	if len(pids) != 1 {
		t.Fatalf("%d backends hold instance %d's lock, want 1", len(pids), id)
	}
	terminate(t, raw, pids[0])
	for len(pgBackendsHolding(t, raw, instanceClass, uint32(id))) != 0 {
		raw.Exec(`SELECT pg_sleep(0.01)`)
	}

	// The live instance's claim stays in flight.
	if st := claim(two, hLive, c2); st != storage.ReceiptInFlight {
		t.Fatalf("a repeat took over the claim of a live instance: %v", st)
	}
	if st := peek(two, hLive); st != storage.ReceiptInFlight {
		t.Fatalf("peek at a live instance's claim: %v", st)
	}
	// The dead one's is free, at the same now: no expiry involved.
	if st := peek(two, hDead); st != storage.ReceiptClaimed {
		t.Fatalf("peek at a dead instance's claim: %v, want free to claim", st)
	}
	var states [2]storage.ReceiptClaimState
	errs := concurrently.Run(func() (err error) {
		states[0], _, err = one.ClaimReceipt(ctx, hDead, c1, now, until)
		return err
	}, func() (err error) {
		states[1], _, err = two.ClaimReceipt(ctx, hDead, c2, now, until)
		return err
	})
	for _, err := range errs {
		must(t, err)
	}
	if (states[0] == storage.ReceiptClaimed) == (states[1] == storage.ReceiptClaimed) {
		t.Fatalf("two repeats taking a dead claim over: %v and %v, want exactly one", states[0], states[1])
	}
	winner, loser, wc := one, two, c1
	if states[1] == storage.ReceiptClaimed {
		winner, loser, wc = two, one, c2
	}
	// The loser waits on the winner, which lives.
	if st := peek(loser, hDead); st != storage.ReceiptInFlight {
		t.Errorf("peek at the claim taken over: %v", st)
	}
	// The dead attempt, had it gone on, keeps nothing; the winner keeps.
	if err := dead.KeepReceipt(ctx, hDead, c0, []byte("dead"), until, 10); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("keep by the dead instance's claim taken over: %v", err)
	}
	must(t, winner.KeepReceipt(ctx, hDead, wc, []byte("sealed receipt"), until, 10))
	if st, sealed, err := loser.ClaimReceipt(ctx, hDead, c0, now, until); st != storage.ReceiptKept || string(sealed) != "sealed receipt" || err != nil {
		t.Errorf("repeat after the keep: %v %q %v", st, sealed, err)
	}

	// Swept, the dead instance has no row: its claim is as free.
	if _, err := one.SweepDeadInstances(ctx); err != nil {
		t.Fatal(err)
	}
	var rows int64
	if err := raw.QueryRow(`SELECT count(*) FROM instances WHERE id = ?`, id).Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("the dead instance's row: %d (%v), want swept", rows, err)
	}
	if st := claim(two, hSwept, c2); st != storage.ReceiptClaimed {
		t.Fatalf("a repeat found a swept instance's claim %v, want it taken over", st)
	}
	if st := claim(one, hSwept, c1); st != storage.ReceiptInFlight {
		t.Fatalf("the claim taken over was taken again: %v", st)
	}
}
