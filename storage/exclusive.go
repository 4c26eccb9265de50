package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"hash/fnv"
	"sync"
)

// Exclusive work. Every Candour instance runs the same background jobs
// (retention, the notification round, the sweeps); with several
// instances against one PostgreSQL database, some of them must run on one
// instance at a time. Exclusive runs a job under a lock named by the job,
// and an instance that finds the lock taken skips its turn rather than
// waiting: whoever holds the lock is doing the work.
//
// On PostgreSQL the lock is a session-level advisory lock, taken with
// pg_try_advisory_lock on a connection of db.locks held for the job's
// whole run and released after it. If the instance dies, its connection
// ends and the lock goes with it: the next instance to try takes it. On
// SQLite, which has one instance, it is a lock within the process.
//
// The two-key form of PostgreSQL's advisory locks (a class and a key)
// keeps these apart from the one-key locks of engine.go (writeLockKey,
// migrateLockKey), which are in a space of their own.

// exclusiveClass and instanceClass are the classes (first keys) of the
// advisory locks of Exclusive and of instances (instances.go): "canx" and
// "cani" in ASCII.
const (
	exclusiveClass int32 = 0x63616e78
	instanceClass  int32 = 0x63616e69
)

// exclusiveLocks is SQLite's stand-in for the advisory locks: the names of
// the jobs running.
type exclusiveLocks struct {
	mu      sync.Mutex
	running map[string]bool
}

// exclusiveKey is the second key of name's advisory lock.
func exclusiveKey(name string) int32 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int32(h.Sum32())
}

// Exclusive runs fn unless another run under the same name holds the lock,
// on this instance or any other on the same database; ran says whether fn
// ran, err is fn's error or the lock's. It never waits for the lock. fn
// must not outlive ctx's cancellation for long: the lock is held until it
// returns.
//
// Two names whose 32-bit hashes collide share a lock: one skips while the
// other runs, which is the safe side.
func (db *DB) Exclusive(ctx context.Context, name string, fn func(ctx context.Context) error) (ran bool, err error) {
	if !db.pg {
		ex := &db.excl
		ex.mu.Lock()
		if ex.running[name] {
			ex.mu.Unlock()
			return false, nil
		}
		if ex.running == nil {
			ex.running = map[string]bool{}
		}
		ex.running[name] = true
		ex.mu.Unlock()
		defer func() {
			ex.mu.Lock()
			delete(ex.running, name)
			ex.mu.Unlock()
		}()
		return true, fn(ctx)
	}
	if db.locks == nil {
		return false, fmt.Errorf("exclusive %s: this database handle takes no locks (a tool's)", name)
	}
	key := exclusiveKey(name)
	conn, err := db.locks.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("exclusive %s: failed to reach the database: %w", name, err)
	}
	defer conn.Close()
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(?, ?)`, exclusiveClass, key).Scan(&got); err != nil {
		return false, fmt.Errorf("exclusive %s: failed to try the lock: %w", name, err)
	}
	if !got {
		return false, nil
	}
	defer unlockOrDrop(ctx, conn, exclusiveClass, key)
	return true, fn(ctx)
}

// unlockOrDrop releases the session-level advisory lock (class, key) held
// on conn. If that fails, the connection is dropped rather than handed
// back to the pool holding the lock: a session's locks end with it.
func unlockOrDrop(ctx context.Context, conn *sql.Conn, class, key int32) {
	var released bool
	err := conn.QueryRowContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(?, ?)`, class, key).Scan(&released)
	if err != nil || !released {
		conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}
