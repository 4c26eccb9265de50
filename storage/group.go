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
//     others commit;
//   - if the group cannot commit, or a failure rolls back more than its own
//     savepoint, no write of the group is acknowledged: those that did not
//     fail are run again in a new group, or, if the commit itself failed,
//     get the error.

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

// tryGroup runs batch in one transaction. It answers every write, except,
// when a failure rolled back the whole transaction, those that did not
// fail: it returns them, to be run again.
func (db *DB) tryGroup(batch []*groupWrite) (retry []*groupWrite) {
	ctx := context.Background()
	g := db.group
	failAll := func(ws []*groupWrite, err error) {
		for _, w := range ws {
			g.answer(w, err)
		}
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		failAll(batch, classify(fmt.Errorf("failed to begin transaction: %w", err)))
		return nil
	}
	var ok []*groupWrite
	for i, w := range batch {
		if _, err := tx.ExecContext(ctx, `SAVEPOINT group_write`); err != nil {
			tx.Rollback()
			// The transaction is gone: nothing in it is kept. This write
			// is answered; the rest are run again.
			g.answer(w, classify(fmt.Errorf("failed to start a savepoint: %w", err)))
			return append(ok, batch[i+1:]...)
		}
		ferr := w.fn(ctx, tx)
		if ferr == nil {
			if _, err := tx.ExecContext(ctx, `RELEASE group_write`); err != nil {
				tx.Rollback()
				g.answer(w, classify(fmt.Errorf("failed to release a savepoint: %w", err)))
				return append(ok, batch[i+1:]...)
			}
			ok = append(ok, w)
			continue
		}
		// Undo this write alone. If SQLite already rolled back the whole
		// transaction (it may, on a full disk or an interrupt), the
		// savepoint is gone: the others' writes went with it.
		if _, err := tx.ExecContext(ctx, `ROLLBACK TO group_write`); err != nil {
			tx.Rollback()
			g.answer(w, classify(ferr))
			return append(ok, batch[i+1:]...)
		}
		if _, err := tx.ExecContext(ctx, `RELEASE group_write`); err != nil {
			tx.Rollback()
			g.answer(w, classify(ferr))
			return append(ok, batch[i+1:]...)
		}
		g.answer(w, classify(ferr))
	}
	if err := tx.Commit(); err != nil {
		// Not committed: no one is told their write is stored.
		failAll(ok, classify(fmt.Errorf("failed to commit: %w", err)))
		return nil
	}
	g.commits.Add(1)
	failAll(ok, nil)
	return nil
}
