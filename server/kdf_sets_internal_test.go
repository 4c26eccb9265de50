package server

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/candour/candour/storage"
)

// kdfSetIDs are the ids of sets, in order.
func kdfSetIDs(sets []kdfSet) []int64 {
	var ids []int64
	for _, s := range sets {
		ids = append(ids, s.id)
	}
	return ids
}

// The sets an instance knows follow the database only when a login asks:
// nothing while no set is newer than the ones it tried, the new ones (and
// only those) once another instance stored one, and the same new ones for
// a login that began before the reload, without reading them again. On
// the test's engine (SQLite, or PostgreSQL with CANDOUR_TEST_ENGINE).
func TestKDFSetsLearnTheSetsStoredSince(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clock := &atomic.Int64{}
	clock.Store(time.Now().UnixNano())
	db := openStoreDB(t, clock)
	store := func(passes uint32) storage.KDFParams {
		t.Helper()
		p, err := db.EnsureKDFParams(ctx, storage.KDFParams{Time: passes, MemoryKiB: 8 << 10, Threads: 1, Salt: make([]byte, 32)})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	first := store(1)
	var k kdfSets
	if _, err := k.load(ctx, db); err != nil {
		t.Fatal(err)
	}
	before := k.known()
	if fresh, err := k.newer(ctx, db, before); err != nil || fresh != nil {
		t.Fatalf("with no set stored since: %v, %v; want none", kdfSetIDs(fresh), err)
	}

	// Another instance stores two sets, one after the other.
	second, third := store(2), store(3)
	fresh, err := k.newer(ctx, db, before)
	if err != nil {
		t.Fatal(err)
	}
	if got := kdfSetIDs(fresh); len(got) != 2 || got[0] != third.ID || got[1] != second.ID {
		t.Fatalf("new sets %v, want [%d %d]", got, third.ID, second.ID)
	}
	if fresh[0].params.Time != 3 || fresh[1].params.Time != 2 {
		t.Fatalf("new sets have %d and %d passes, want 3 and 2", fresh[0].params.Time, fresh[1].params.Time)
	}
	if got := kdfSetIDs(k.known()); len(got) != 3 || got[0] != third.ID || got[2] != first.ID {
		t.Fatalf("known sets %v, want all three, newest first", got)
	}
	// A login that took its sets before the reload gets the same new ones.
	if again, err := k.newer(ctx, db, before); err != nil || len(again) != 2 {
		t.Fatalf("for a login begun before: %v, %v; want the two new sets", kdfSetIDs(again), err)
	}
	if fresh, err := k.newer(ctx, db, k.known()); err != nil || fresh != nil {
		t.Fatalf("once all are known: %v, %v; want none", kdfSetIDs(fresh), err)
	}
}
