package server

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

// kdfSet is a stored Argon2id parameter set for case codes.
type kdfSet struct {
	id     int64
	params crypto.KDFParams
}

// kdfSets are the parameter sets an instance knows, newest first: those
// stored when it started, and any that another instance on the same
// database stored since, learnt when a login misses (see newer). Logins
// read them without a lock; a reload replaces the slice whole.
type kdfSets struct {
	sets atomic.Pointer[[]kdfSet]
	// reload lets one login at a time read the sets again, so that a burst
	// of logins missing at once reads them once.
	reload sync.Mutex
}

// load reads the stored sets and makes them the known ones.
func (k *kdfSets) load(ctx context.Context, db *storage.DB) ([]kdfSet, error) {
	stored, err := db.KDFParamSets(ctx)
	if err != nil {
		return nil, err
	}
	sets := make([]kdfSet, 0, len(stored))
	for _, p := range stored {
		sets = append(sets, kdfSet{id: p.ID, params: crypto.KDFParams{
			Time: p.Time, MemoryKiB: p.MemoryKiB, Threads: p.Threads, Salt: p.Salt}})
	}
	k.sets.Store(&sets)
	return sets, nil
}

// known returns the sets known now, newest first. The caller must not
// change the slice.
func (k *kdfSets) known() []kdfSet {
	if p := k.sets.Load(); p != nil {
		return *p
	}
	return nil
}

// newer returns the stored sets that tried lacks (tried being what a login
// has derived with so far, from known), newest first, reloading the known
// sets if the database holds one newer than any known.
//
// With several instances on one database, an instance started (or
// restarted in a rolling upgrade) with other --kdf-* flags stores a new
// set and makes its new cases with it; an instance that started before
// would otherwise tell those cases' reporters that their code is wrong.
// Every login that misses asks, with one indexed read, whether such a set
// exists, wrong codes included, so that a right code and a wrong one cost
// the same work; the reload and the derivations with the new sets happen
// once per instance for the first logins that miss after the new set
// appears (a right code among them and wrong ones alike).
func (k *kdfSets) newer(ctx context.Context, db *storage.DB, tried []kdfSet) ([]kdfSet, error) {
	newest, err := db.NewestKDFParamsID(ctx)
	if err != nil {
		return nil, err
	}
	if newest <= newestID(tried) {
		return nil, nil
	}
	k.reload.Lock()
	defer k.reload.Unlock()
	sets := k.known()
	if newest > newestID(sets) {
		// Still unknown: no other login has reloaded since.
		if sets, err = k.load(ctx, db); err != nil {
			return nil, fmt.Errorf("failed to reload kdf parameters: %w", err)
		}
	}
	var fresh []kdfSet
	for _, set := range sets {
		if !slices.ContainsFunc(tried, func(t kdfSet) bool { return t.id == set.id }) {
			fresh = append(fresh, set)
		}
	}
	return fresh, nil
}

// newestID is the largest id among sets, 0 if none.
func newestID(sets []kdfSet) int64 {
	var n int64
	for _, s := range sets {
		n = max(n, s.id)
	}
	return n
}
