package server

import (
	"context"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/candour/candour/crypto"
)

// kdfPool bounds concurrent Argon2id derivations. Each takes the configured
// memory (64 MiB by default), so without a bound a flood of follow-up
// attempts would exhaust the machine's memory. Waiters are served in the
// order they came, each kind in its own queue, and give up after kdfWait
// with a "busy" page.
//
// Case-code derivations for new reports and for follow-up logins share one
// pool: Argon2id is bound by the processor as much as by memory, so with a
// pool per kind a flood of wrong codes took half the processor from new
// reports, whose uploads are finished and must not be lost. A new report
// waiting for a slot goes ahead of waiting logins, but only urgentRun times
// in a row: while both kinds wait, one slot in urgentRun+1 goes to the
// oldest login. So a flood of wrong codes gets at most that share of the
// processor away from new reports, and a reporter with the right code,
// whose login no one can tell from a wrong one before deriving it, waits
// behind the logins already queued at that share of the pool, not behind
// every new report. Nothing tells a flood from a reporter before the
// derivation (behind Tor every client is 127.0.0.1, and a client can open
// as many connections as it likes), so the queue is first come, first
// served: with n attempts of a flood in the queue, a reporter's login waits
// about n+1 login turns (docs/benchmarks.md, benchmark 7, measures it).
type kdfPool struct {
	mu   sync.Mutex
	size int // slots in all
	free int
	// Waiters, oldest first; each channel receives the slot handed over.
	urgent, normal []chan struct{}
	// streak counts slots handed to urgent waiters in a row while normal
	// ones were waiting.
	streak int
	// wait is how long a waiter waits for a slot (kdfWait; tests shorten it).
	wait time.Duration
	// collect makes finish collect garbage (see there); set for case-code
	// derivations of at least collectFromKiB.
	collect bool
}

// collectFromKiB is the least Argon2id memory for which the case-code pool
// collects after each derivation. A forced collection costs a pass over
// the live heap: small beside a derivation of the default 64 MiB in a
// server's heap of a few MiB, but not worth it for the 8 MiB ones of tests
// and small installations, whose garbage the collector's pacing and the
// memory limit keep small enough.
const collectFromKiB = 32 << 10

// urgentRun is how many slots in a row new reports may take while logins
// wait. With 5, logins get a sixth of a pool that new reports keep full:
// new reports keep 5/6 of their rate under any flood of logins (the goal
// is at least 0.8), and logins still get about 2.5 derivations a second on
// two cores (a reporter behind 20 flooding clients waits about 21 of them,
// 8 s; the goal is 10 s). Logins take the whole pool whenever new reports
// do not.
const urgentRun = 5

const kdfWait = 30 * time.Second

func newKDFPool(n int) *kdfPool { return &kdfPool{size: n, free: n, wait: kdfWait} }

// acquire takes a slot, waiting up to p.wait, ahead of every normal
// waiter if urgent.
func (p *kdfPool) acquire(ctx context.Context, urgent bool) error {
	p.mu.Lock()
	if p.free > 0 {
		p.free--
		p.mu.Unlock()
		return nil
	}
	ch := make(chan struct{}, 1)
	if urgent {
		p.urgent = append(p.urgent, ch)
	} else {
		p.normal = append(p.normal, ch)
	}
	wait := p.wait
	p.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
	}
	p.mu.Lock()
	removed := remove(&p.urgent, ch) || remove(&p.normal, ch)
	p.mu.Unlock()
	if !removed {
		// The slot was handed over as we gave up: pass it on.
		<-ch
		p.release()
	}
	return errBusy
}

// remove takes ch out of the queue q, if it is there.
func remove(q *[]chan struct{}, ch chan struct{}) bool {
	for i, c := range *q {
		if c == ch {
			*q = append((*q)[:i:i], (*q)[i+1:]...)
			return true
		}
	}
	return false
}

// release hands the slot to the oldest urgent waiter, else (or after
// urgentRun urgent ones in a row) the oldest normal one, else frees it.
func (p *kdfPool) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	var next chan struct{}
	switch {
	case len(p.urgent) > 0 && (len(p.normal) == 0 || p.streak < urgentRun):
		next, p.urgent = p.urgent[0], p.urgent[1:]
		if len(p.normal) > 0 {
			p.streak++
		}
	case len(p.normal) > 0:
		next, p.normal = p.normal[0], p.normal[1:]
		p.streak = 0
	default:
		p.free++
		return
	}
	next <- struct{}{}
}

// finish ends a derivation: the memory it dropped is collected (if
// p.collect), then its slot is handed on. golang.org/x/crypto/argon2
// allocates its memory (64 MiB by default) afresh for every derivation;
// collected here, that memory is free for the next derivation to reuse at
// once. Left to the collector's own pace, the next derivation would start
// before it is collected, and dead derivations piled up: 365–500 MiB of
// RSS under load for two slots of 64 MiB (docs/benchmarks.md, "Memory
// without GOMEMLIMIT").
//
// When the derivation ending is the only one in flight and none waits, the
// pool is going idle: its memory is also handed back to the kernel
// (debug.FreeOSMemory), so that a server between bursts of reports and
// logins holds only what it needs for uploads and pages, not the last
// derivations' 64 MiB apiece (benchmark 3b measures an upload in a
// reporter's session, after the login's derivation). Under load the
// memory is kept for the next derivation to reuse: faulting 64 MiB in
// again costs a derivation up to half its time.
func (p *kdfPool) finish() {
	if p.collect {
		if p.idleAfter() {
			debug.FreeOSMemory()
		} else {
			runtime.GC()
		}
	}
	p.release()
}

// idleAfter reports whether the pool will be idle once the calling
// derivation hands its slot back: no other slot taken, nobody waiting.
func (p *kdfPool) idleAfter() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.free == p.size-1 && len(p.urgent) == 0 && len(p.normal) == 0
}

// run runs fn (an Argon2id password check, say) within the pool's bound.
func (p *kdfPool) run(ctx context.Context, fn func()) error {
	if err := p.acquire(ctx, false); err != nil {
		return err
	}
	defer p.finish()
	fn()
	return nil
}

// derive runs one case-code derivation within the pool's bound; urgent for
// a new report, whose upload is already received.
func (p *kdfPool) derive(ctx context.Context, urgent bool, params crypto.KDFParams, code crypto.CaseCode) (crypto.CaseKeys, error) {
	if err := p.acquire(ctx, urgent); err != nil {
		return crypto.CaseKeys{}, err
	}
	defer p.finish()
	return params.Derive(code)
}
