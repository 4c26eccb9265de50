package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Group commit. Every durable commit waits for an fsync of the WAL, and
// there is one writer: under many concurrent follow-up messages the commits
// queued behind each other, one fsync each. A group shares one transaction,
// and so one fsync, among the writes that arrived while the previous group
// was committing. There is no waiting for company: a write that finds the
// writer idle is committed at once, alone.
//
// The contract of each write is unchanged:
//   - its caller returns only after the transaction holding the write is
//     durably committed, or with an error if it was not;
//   - each write runs in its own savepoint, so one that fails (bad input, a
//     vanished case) is rolled back alone, gets its own error, and the
//     others commit; that error, too, is told only once the group's
//     commit succeeded, since it may depend on the group's other writes
//     (a repeated form fails because an earlier write used its token);
//   - if the group cannot commit, or a failure rolls back more than its own
//     savepoint, no write of the group is acknowledged: if a failure
//     rolled back the transaction, all but the one that caused it are run
//     again in a new group; if the commit itself failed, those that did
//     not fail get the error, and those that failed in their savepoint are
//     run again (their error may have been caused by writes now lost).

// Bounds on one group, so that one transaction stays modest.
const (
	maxGroupWrites = 64
	maxGroupBytes  = 16 << 20
)

// errClosed is returned for a write that arrives after Close.
var errClosed = errors.New("database closed")

type groupWrite struct {
	fn   func(ctx context.Context, tx *sql.Tx) error
	size int
	done chan error
	// rerun is set once the write, failed in its own savepoint, is run
	// again because its group's transaction was lost or failed to commit
	// (see tryGroup); it is run again so at most once.
	rerun bool
}

type grouper struct {
	mu      sync.Mutex
	pending []*groupWrite
	closed  bool
	wake    chan struct{}
	stopped chan struct{}
	// For tests: group transactions committed, and writes queued or
	// running that have no answer yet.
	commits    atomic.Int64
	unanswered atomic.Int64
}

// answer tells a write its result.
func (g *grouper) answer(w *groupWrite, err error) {
	g.unanswered.Add(-1)
	w.done <- err
}

func (db *DB) startGrouper() {
	db.group = &grouper{wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	go db.groupLoop()
}

// stopGrouper runs what is already queued, then stops; later writes get
// errClosed.
func (db *DB) stopGrouper() {
	if db.group == nil {
		return
	}
	g := db.group
	g.mu.Lock()
	already := g.closed
	g.closed = true
	g.mu.Unlock()
	if !already {
		g.wakeUp()
	}
	<-g.stopped
}

func (g *grouper) wakeUp() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// writeGrouped runs fn, which writes about size bytes, in a group
// transaction, and returns once that transaction is durably committed (nil)
// or fn's changes are rolled back (an error). fn may run more than once if
// another write of its group forces a retry; each run starts from a state
// where none of its earlier runs' changes exist. The context given to fn
// is not cancelled: once queued, a write is committed or failed, never
// abandoned half way.
func (db *DB) writeGrouped(ctx context.Context, size int, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if db.readOnly {
		return errors.New("database opened read-only")
	}
	if ch := changeOf(ctx, db); ch != nil {
		// Part of a Change, which is itself one write of a group.
		return classify(fn(ctx, ch.tx))
	}
	if db.group == nil {
		return db.write(ctx, func(tx *sql.Tx) error { return fn(context.WithoutCancel(ctx), tx) })
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &groupWrite{fn: fn, size: size, done: make(chan error, 1)}
	g := db.group
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return errClosed
	}
	g.pending = append(g.pending, w)
	g.unanswered.Add(1)
	g.mu.Unlock()
	g.wakeUp()
	return <-w.done
}

func (db *DB) groupLoop() {
	g := db.group
	defer close(g.stopped)
	for {
		<-g.wake
		for {
			g.mu.Lock()
			n, bytes := 0, 0
			for n < len(g.pending) && n < maxGroupWrites && (n == 0 || bytes+g.pending[n].size <= maxGroupBytes) {
				bytes += g.pending[n].size
				n++
			}
			batch := g.pending[:n:n]
			g.pending = g.pending[n:]
			closed := g.closed
			g.mu.Unlock()
			if len(batch) == 0 {
				if closed {
					return
				}
				break
			}
			db.commitGroup(batch)
		}
	}
}

// commitGroup runs batch in one transaction and tells each write its
// result, after the commit.
func (db *DB) commitGroup(batch []*groupWrite) {
	for len(batch) > 0 {
		batch = db.tryGroup(batch)
	}
}

// tryGroup runs batch in one transaction. It answers every write, except
// those it returns, to be run again in a new transaction: when a failure
// rolled back the whole transaction, the writes that did not cause it (and
// the one that did, the first time); when the commit failed, the writes
// that had failed in their own savepoint (see below).
//
// A write that fails in its own savepoint is not answered at once: its
// error was found against the group's other writes, which are kept only if
// the commit succeeds. A repeat of a form fails with ErrFormUsed because
// an earlier write of the same group used the token; told so before the
// commit, it would say "stored once" of a message the failed commit then
// lost. So such a write is answered with its own error after the commit;
// if the transaction is lost or the commit fails, it is run again against
// what is really stored (where the token is free again). Each write is run
// again so at most once, so that a disk that refuses every commit ends in
// errors, not in a loop: every try answers a write or uses up one's rerun.
func (db *DB) tryGroup(batch []*groupWrite) (retry []*groupWrite) {
	ctx := context.Background()
	g := db.group
	type result struct {
		w   *groupWrite
		err error // of the write's own savepoint; nil if it succeeded
	}
	var ran []result // the writes run so far, in order
	// lost returns the writes to run again after the transaction was
	// rolled back while batch[i] ran: those before it, whatever their
	// savepoint's outcome, and those after it, in order. batch[i] is
	// answered with err, or, if err is nil, run again too.
	lost := func(i int, err error) []*groupWrite {
		for _, r := range ran {
			retry = append(retry, r.w)
		}
		if err != nil {
			g.answer(batch[i], err)
		} else {
			retry = append(retry, batch[i])
		}
		return append(retry, batch[i+1:]...)
	}
	tx, err := db.beginWrite(ctx, nil)
	if err != nil {
		err = classify(fmt.Errorf("failed to begin transaction: %w", err))
		for _, w := range batch {
			g.answer(w, err)
		}
		return nil
	}
	for i, w := range batch {
		if _, err := tx.ExecContext(ctx, `SAVEPOINT group_write`); err != nil {
			tx.Rollback()
			// The transaction is gone: nothing in it is kept. This write
			// is answered; the rest are run again.
			return lost(i, classify(fmt.Errorf("failed to start a savepoint: %w", err)))
		}
		ferr := w.fn(ctx, tx)
		if ferr == nil {
			if _, err := tx.ExecContext(ctx, `RELEASE group_write`); err != nil {
				tx.Rollback()
				return lost(i, classify(fmt.Errorf("failed to release a savepoint: %w", err)))
			}
			ran = append(ran, result{w: w})
			continue
		}
		// Undo this write alone. If SQLite already rolled back the whole
		// transaction (it may, on a full disk or an interrupt), the
		// savepoint is gone: the others' writes went with it. This write's
		// error may then have been caused by them, or may be what ended the
		// transaction: it is run again once, then answered.
		_, err := tx.ExecContext(ctx, `ROLLBACK TO group_write`)
		if err == nil {
			_, err = tx.ExecContext(ctx, `RELEASE group_write`)
		}
		if err != nil {
			tx.Rollback()
			if !w.rerun {
				w.rerun = true
				return lost(i, nil)
			}
			return lost(i, classify(ferr))
		}
		ran = append(ran, result{w: w, err: classify(ferr)})
	}
	if err := tx.Commit(); err != nil {
		// Not committed: no one is told their write is stored, nor that
		// it failed against writes that were not kept.
		err = classify(fmt.Errorf("failed to commit: %w", err))
		for _, r := range ran {
			if r.err != nil && !r.w.rerun {
				r.w.rerun = true
				retry = append(retry, r.w)
				continue
			}
			g.answer(r.w, err)
		}
		return retry
	}
	g.commits.Add(1)
	for _, r := range ran {
		g.answer(r.w, r.err)
	}
	return nil
}
