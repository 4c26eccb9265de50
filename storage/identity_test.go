package storage_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/candour/candour/storage"
)

func TestIdentityBlockIsStoredWithItsCaseOpenedOnceAndWithdrawn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpenDB(t)
	now := time.Date(2026, 3, 4, 15, 16, 17, 0, time.UTC)
	db.Now = fixedClock(now)
	nc := newCase(mustKDF(t, db).ID, "with identity")
	nc.Identity = fakeAge("identity")
	c, err := db.CreateCase(ctx, nc)
	if err != nil {
		t.Fatal(err)
	}
	ci, err := db.CaseIdentity(ctx, c.ID)
	if err != nil || !bytes.Equal(ci.Ciphertext, nc.Identity) || !ci.Opened.IsZero() {
		t.Fatalf("stored identity: %+v, %v", ci, err)
	}
	if _, err := db.CaseIdentity(ctx, mustCreateCase(t, db, "without").ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a case without identity: %v", err)
	}

	// The first opening is kept, to the day; a later one does not move it.
	if err := db.MarkIdentityOpened(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	db.Now = fixedClock(now.Add(72 * time.Hour))
	if err := db.MarkIdentityOpened(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	ci, _ = db.CaseIdentity(ctx, c.ID)
	if !ci.Opened.Equal(day(2026, 3, 4)) {
		t.Fatalf("opened %v, want the first day, to the day", ci.Opened)
	}

	staff, err := db.CreateStaff(ctx, "alice", storage.RoleCaseworker)
	if err != nil {
		t.Fatal(err)
	}
	id, err := db.RequestIdentity(ctx, c.ID, staff.ID, "a statement")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.DecideIdentityRequest(ctx, id, staff.ID, true, fakeAge("grant")); err != nil {
		t.Fatal(err)
	}
	if err := db.DecideIdentityRequest(ctx, id, staff.ID, false, nil); !errors.Is(err, storage.ErrNotPending) {
		t.Fatalf("deciding twice: %v", err)
	}
	if g, err := db.IdentityGrant(ctx, c.ID, staff.ID); err != nil || !bytes.Equal(g, fakeAge("grant")) {
		t.Fatalf("grant: %v", err)
	}

	if err := db.WithdrawIdentity(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CaseIdentity(ctx, c.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("after withdrawal: %v", err)
	}
	if _, err := db.IdentityGrant(ctx, c.ID, staff.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("grant after withdrawal: %v", err)
	}
	if rs, _ := db.IdentityRequests(ctx, "", c.ID); len(rs) != 0 {
		t.Fatalf("requests after withdrawal: %v", rs)
	}
	if _, err := db.Case(ctx, c.ID); err != nil {
		t.Fatalf("the case went with its identity: %v", err)
	}
	act, err := db.ReporterActivity(ctx, 10)
	if err != nil || len(act) != 1 || act[0].Action != storage.ActionIdentityWithdrawn || act[0].Count != 1 {
		t.Fatalf("reporter activity: %+v, %v", act, err)
	}
}
