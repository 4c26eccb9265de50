package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Change runs fn, the writes of one state change, and appends audit, the
// entry that records it, in one transaction: both are durably committed,
// or neither is. The audit trail thus never names a change that did not
// happen, and no change happens without its entry.
//
// fn makes its writes with the ordinary methods of db, passing them the
// context it is given: under that context they join the change's
// transaction instead of each committing their own. fn may complete audit
// (an id known only once stored, say); on success audit holds the entry as
// stored. If fn fails, its error is returned and nothing is kept.
//
// fn may run more than once (the transaction is shared with concurrent
// writes, see group.go; a failure of another may make it run again), each
// time from a state where none of its earlier runs' changes exist, so it
// must do nothing but its writes. Reads through db's methods inside fn do
// not see its own uncommitted writes: read first, then call Change. Work
// that cannot run inside a transaction (the space reclaiming and WAL
// checkpoint of DeleteCase) runs after the commit, and its error is
// returned after the change was kept.
//
// The entry is appended as AppendAudit appends: stamped by the log itself,
// next in the hash chain. Write transactions run one at a time (one
// writer connection on SQLite; on PostgreSQL, the write lock every
// instance's write transactions take first, engine.go), so entries stay in
// one linear chain however many changes run at once, on however many
// instances.
func (db *DB) Change(ctx context.Context, audit *AuditEntry, fn func(ctx context.Context) error) error {
	if audit == nil {
		return errors.New("failed to make a change: no audit entry")
	}
	if changeOf(ctx, db) != nil {
		return errors.New("failed to make a change: already inside one")
	}
	asGiven := *audit
	var after []func(context.Context) error
	err := db.writeGrouped(ctx, 0, func(_ context.Context, tx *sql.Tx) error {
		*audit = asGiven
		ch := &change{db: db, tx: tx}
		cctx := context.WithValue(context.WithoutCancel(ctx), changeKey{}, ch)
		if err := fn(cctx); err != nil {
			return err
		}
		e, err := db.appendAudit(cctx, tx, *audit)
		if err != nil {
			return err
		}
		*audit, after = e, ch.after
		return nil
	})
	if err != nil {
		return fmt.Errorf("failed to make change %q: %w", audit.Action, err)
	}
	var errs []error
	for _, f := range after {
		errs = append(errs, f(ctx))
	}
	return errors.Join(errs...)
}

// change is the transaction of a Change in progress, carried by the context
// its fn is given.
type change struct {
	db    *DB
	tx    *sql.Tx
	after []func(context.Context) error // to run once committed
}

type changeKey struct{}

// changeOf returns the change of db that ctx is inside, if any.
func changeOf(ctx context.Context, db *DB) *change {
	ch, _ := ctx.Value(changeKey{}).(*change)
	if ch == nil || ch.db != db {
		return nil
	}
	return ch
}
