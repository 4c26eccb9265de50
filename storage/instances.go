package storage

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// Instances (PostgreSQL only; migration 0028, pgmigrations/0004).
//
// A reporter's upload is stored chunk by chunk as a pending attachment
// before its message names it; if the request fails, the request deletes
// it (DeletePending). If the instance dies mid-upload, nothing does: on
// SQLite, Open deletes every pending upload at the next start, but on
// PostgreSQL other instances may be receiving uploads at that moment.
// So each instance owns the uploads it receives:
//
//   - At OpenPostgres it draws an id, takes a session-level advisory lock
//     on it (instanceClass, id) on a connection of its own held for its
//     whole life, and only then registers the id (a row of instances,
//     holding nothing but the id: no host name, no time).
//   - A reporter's pending attachment records that id (instance_id), and
//     so does the claim of a new report's attempt in flight
//     (report_receipts.instance_id, reporter_session.go): a repeat of the
//     form takes a dead instance's claim over at once (instanceDead).
//   - SweepDeadInstances (at start, and from the server's periodic sweep)
//     tries the lock of every registered instance: one it can take is
//     held by no live session, so that instance is dead. It deletes that
//     instance's pending attachments (chunks cascade), then its row.
//     A live instance's lock cannot be taken, so its uploads are never
//     touched. No clock is involved.
//   - Close deletes the instance's own pending uploads (the server has
//     stopped receiving by then) and its row, and releases the lock.
//
// The edge: an instance alive but cut off from its lock connection (the
// connection broken, the server restarted) looks dead, and its uploads in
// progress may be swept. Such a request then fails cleanly: its chunks'
// foreign key, AttachmentWriter.Close or linking the attachment to its
// message refuses, so no message names a missing attachment, and nothing
// acknowledged is lost (the reporter has seen no receipt). The instance
// finds its connection gone (CheckInstance, before every reporter upload
// and at every sweep) and registers again under a new id.

// instance is this DB's registration (PostgreSQL).
type instance struct {
	mu   sync.Mutex
	id   int64
	conn *sql.Conn // holds the advisory lock (instanceClass, id)
}

// maxInstanceDraws bounds the draws of an instance id whose lock is free
// and whose row is not taken.
const maxInstanceDraws = 16

// instanceID draws an id in [1, 2^31): the second key of a two-key
// advisory lock is an int4.
func instanceID() (int64, error) {
	var b [4]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return 0, fmt.Errorf("failed to draw an instance id: %w", err)
		}
		if v := int64(binary.BigEndian.Uint32(b[:]) >> 1); v != 0 {
			return v, nil
		}
	}
}

// registerInstance registers db as a new instance: lock first, row second,
// so that no sweep ever sees the row of a live instance without its lock.
// The caller holds db.inst.mu.
func (db *DB) registerInstance(ctx context.Context) error {
	in := &db.inst
	if in.conn != nil {
		dropConn(in.conn) // broken: its lock, if any, is gone with its session
		in.conn, in.id = nil, 0
	}
	for range maxInstanceDraws {
		id, err := instanceID()
		if err != nil {
			return err
		}
		conn, err := db.locks.Conn(ctx)
		if err != nil {
			return fmt.Errorf("failed to register the instance: %w", err)
		}
		var got bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(?, ?)`, instanceClass, int32(id)).Scan(&got); err != nil {
			conn.Close()
			return fmt.Errorf("failed to register the instance: %w", err)
		}
		if !got {
			conn.Close() // a live instance's id
			continue
		}
		var inserted int64
		err = db.write(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `INSERT INTO instances (id) VALUES (?) ON CONFLICT (id) DO NOTHING`, id)
			if err != nil {
				return err
			}
			inserted, err = res.RowsAffected()
			return err
		})
		if err != nil {
			unlockOrDrop(ctx, conn, instanceClass, int32(id))
			conn.Close()
			return fmt.Errorf("failed to register the instance: %w", err)
		}
		if inserted == 0 {
			// A dead instance's row, not swept yet: leave it to the sweep.
			unlockOrDrop(ctx, conn, instanceClass, int32(id))
			conn.Close()
			continue
		}
		in.id, in.conn = id, conn
		return nil
	}
	return errors.New("failed to register the instance: no free id found")
}

// CheckInstance makes sure db's instance still holds its lock, and
// registers it again under a new id if its lock connection is gone (the
// uploads it recorded under the old id are then left to the sweep). It
// returns whether it registered again. On SQLite it does nothing.
func (db *DB) CheckInstance(ctx context.Context) (reregistered bool, err error) {
	if !db.pg || db.locks == nil {
		return false, nil
	}
	_, reregistered, err = db.instanceID(ctx)
	return reregistered, err
}

// instanceID returns db's instance id, registering again first if the
// connection holding its lock is gone.
func (db *DB) instanceID(ctx context.Context) (id int64, reregistered bool, err error) {
	in := &db.inst
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.conn != nil {
		err := in.conn.PingContext(ctx)
		if err == nil {
			return in.id, false, nil
		}
		if ctx.Err() != nil {
			return 0, false, ctx.Err()
		}
	}
	if err := db.registerInstance(ctx); err != nil {
		return 0, false, err
	}
	return in.id, true, nil
}

// InstanceID is db's current instance id (0 on SQLite): for tests and
// logs.
func (db *DB) InstanceID() int64 {
	db.inst.mu.Lock()
	defer db.inst.mu.Unlock()
	return db.inst.id
}

// SweepDeadInstances deletes the pending attachments (and so their
// chunks) of every registered instance that is dead, that is whose
// advisory lock it can take, then that instance's row, and returns how
// many attachments it deleted. It never touches an instance whose lock is
// held, db's own included. On SQLite it does nothing: Open deletes every
// pending upload.
func (db *DB) SweepDeadInstances(ctx context.Context) (int64, error) {
	if !db.pg || db.locks == nil {
		return 0, nil
	}
	own, _, err := db.instanceID(ctx)
	if err != nil {
		return 0, err
	}
	rows, err := db.r.QueryContext(ctx, `SELECT id FROM instances WHERE id <> ? ORDER BY id`, own)
	if err != nil {
		return 0, fmt.Errorf("failed to list instances: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, fmt.Errorf("failed to list instances: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	conn, err := db.locks.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("failed to sweep dead instances: %w", err)
	}
	defer conn.Close()
	var swept int64
	for _, id := range ids {
		n, err := db.sweepInstance(ctx, conn, id)
		swept += n
		if err != nil {
			return swept, err
		}
	}
	if swept > 0 {
		return swept, db.vacuum(ctx, "attachments", "attachment_chunks")
	}
	return swept, nil
}

// tryInstanceLock tries the lock of instance id on conn: taken, the
// instance is dead, and the caller must release it (unlockOrDrop).
func tryInstanceLock(ctx context.Context, conn *sql.Conn, id int64) (bool, error) {
	var got bool
	err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(?, ?)`, instanceClass, int32(id)).Scan(&got)
	return got, err
}

// instanceDead reports whether instance id is dead: its row is gone
// (swept, or unregistered at Close), read through q, or its lock can be
// taken, that is no live session holds it. Nothing else is looked at: no
// clock. A dead instance's row is left to SweepDeadInstances.
func (db *DB) instanceDead(ctx context.Context, q querier, id int64) (bool, error) {
	var n int64
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM instances WHERE id = ?`, id).Scan(&n); err != nil {
		return false, err
	}
	if n == 0 {
		return true, nil
	}
	conn, err := db.locks.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	got, err := tryInstanceLock(ctx, conn, id)
	if err != nil {
		return false, err
	}
	if got {
		unlockOrDrop(ctx, conn, instanceClass, int32(id))
	}
	return got, nil
}

// sweepInstance sweeps instance id if its lock can be taken on conn.
func (db *DB) sweepInstance(ctx context.Context, conn *sql.Conn, id int64) (int64, error) {
	got, err := tryInstanceLock(ctx, conn, id)
	if err != nil {
		return 0, fmt.Errorf("failed to sweep dead instances: %w", err)
	}
	if !got {
		return 0, nil // alive
	}
	defer unlockOrDrop(ctx, conn, instanceClass, int32(id))
	var n int64
	err = db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM attachments WHERE instance_id = ? AND message_id IS NULL`, id)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM instances WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("failed to sweep a dead instance's uploads: %w", err)
	}
	return n, nil
}

// dropConn closes conn for good, not back into its pool: its session ends,
// and every advisory lock it held with it.
func dropConn(conn *sql.Conn) {
	conn.Raw(func(any) error { return driver.ErrBadConn })
	conn.Close()
}

// closeInstance ends db's registration: its own pending uploads (none
// should be in progress: the server has stopped), its row, its lock.
func (db *DB) closeInstance() error {
	in := &db.inst
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.conn == nil {
		return nil
	}
	ctx := context.Background()
	err := db.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM attachments WHERE instance_id = ? AND message_id IS NULL`, in.id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM instances WHERE id = ?`, in.id)
		return err
	})
	// Dropping the connection ends its session, and the lock with it.
	dropConn(in.conn)
	in.conn, in.id = nil, 0
	if err != nil {
		return fmt.Errorf("failed to unregister the instance: %w", err)
	}
	return nil
}
