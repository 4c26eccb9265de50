package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"time"
)

// ChunkSize is the most ciphertext one chunk row holds. Memory per upload is
// about two chunks: one being filled while the other is stored.
const ChunkSize = 1 << 20

// AttachmentWriter streams one attachment's ciphertext into the chunk file
// (ChunksFileName), a chunk per transaction on that file's own writer, so
// that a large upload never holds candour.db's writer at all. Chunks are
// committed without an fsync each; Close makes them all durable at once
// (syncChunks) before it records the attachment as whole. The
// attachment's row in candour.db is committed before its first chunk (see
// sweepChunks for why that order matters). The attachment stays pending
// (invisible, linked to no message) until a message naming it is
// committed; Abort, or the next Open, deletes it.
//
// Each full chunk is stored in the background while the next one fills, so
// that receiving and encrypting an upload overlaps with writing it to disk.
// A failure to store a chunk is returned by the next Write or by Close.
//
// On PostgreSQL the chunks go to attachment_chunks instead, through the
// bulk pool and without the write lock (storePgChunk), and the synchronous
// commit of Close makes them durable.
type AttachmentWriter struct {
	db  *DB
	ctx context.Context
	id  int64
	buf []byte // the chunk being filled
	// storing, if not nil, receives the result of storing the previous
	// chunk, held in stored until then; spare is a free chunk buffer.
	storing chan error
	stored  []byte
	spare   []byte
	seq     int64 // chunks handed over to be stored
	size    int64 // bytes in those chunks
	closed  bool
	err     error
	timed   bool // record finished_at on Close
}

// NewAttachment starts a pending attachment with no owner.
func (db *DB) NewAttachment(ctx context.Context) (*AttachmentWriter, error) {
	return db.NewOwnedAttachment(ctx, "")
}

// NewOwnedAttachment starts a pending attachment that only a message with
// the same AttachmentOwner can link: the uploading request or case. On
// PostgreSQL it records the instance receiving it (instances.go), so that
// if this instance dies mid-upload another sweeps it.
func (db *DB) NewOwnedAttachment(ctx context.Context, owner string) (*AttachmentWriter, error) {
	return db.newAttachment(ctx, owner, false)
}

// NewTimedAttachment is NewOwnedAttachment for a staff upload: Close also
// records when it was received whole, so that DeleteStalePending can sweep
// it if no message ever names it. Never for a reporter's upload: no
// request time of reporter traffic is stored. It records no instance: a
// staff upload waits, received whole, for the reply that names it, which
// may come through another instance, after this one has stopped.
func (db *DB) NewTimedAttachment(ctx context.Context, owner string) (*AttachmentWriter, error) {
	return db.newAttachment(ctx, owner, true)
}

func (db *DB) newAttachment(ctx context.Context, owner string, timed bool) (*AttachmentWriter, error) {
	if db.cw == nil && !db.pg {
		return nil, errors.New("failed to start attachment: the chunk file is open read-only")
	}
	// On SQLite the chunks go to the chunk file (chunks_apart = 1); on
	// PostgreSQL to attachment_chunks, in the same database (0).
	apart := 1
	if db.pg {
		apart = 0
	}
	w := &AttachmentWriter{db: db, ctx: ctx, buf: make([]byte, 0, ChunkSize), timed: timed}
	insert := func(instance any) error {
		return db.write(ctx, func(tx *sql.Tx) error {
			var err error
			w.id, err = insertRandomID(ctx, tx,
				`INSERT INTO attachments (id, message_id, owner, chunks_apart, instance_id) VALUES (?, NULL, ?, ?, ?)`,
				owner, apart, instance)
			return err
		})
	}
	var err error
	if !db.pg || timed || db.locks == nil {
		err = insert(nil)
	} else {
		var id int64
		if id, _, err = db.instanceID(ctx); err == nil {
			err = insert(id)
			if isForeignKey(err) {
				// The instance's row was swept since: its lock connection
				// broke after the check above. Register again, once.
				db.inst.mu.Lock()
				if db.inst.id == id {
					err = db.registerInstance(ctx)
				}
				id = db.inst.id
				db.inst.mu.Unlock()
				if err == nil {
					err = insert(id)
				}
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("failed to start attachment: %w", err)
	}
	return w, nil
}

// ID is the attachment's id, to be named in its message.
func (w *AttachmentWriter) ID() int64 { return w.id }

// Size is the number of ciphertext bytes written so far.
func (w *AttachmentWriter) Size() int64 { return w.size + int64(len(w.buf)) }

// Write buffers p and stores every full chunk.
func (w *AttachmentWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.closed {
		return 0, errors.New("attachment already closed")
	}
	n := 0
	for len(p) > 0 {
		k := min(len(p), ChunkSize-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p, n = p[k:], n+k
		if len(w.buf) == ChunkSize {
			if err := w.flush(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// flush hands the chunk being filled to a goroutine that stores it, once
// the previous chunk is stored, and starts filling the other buffer.
func (w *AttachmentWriter) flush() error {
	if err := w.wait(); err != nil {
		return err
	}
	if len(w.buf) == 0 {
		return nil
	}
	chunk, seq := w.buf, w.seq
	if w.spare == nil {
		w.spare = make([]byte, 0, ChunkSize)
	}
	w.buf, w.spare, w.stored = w.spare[:0], nil, chunk
	w.seq++
	w.size += int64(len(chunk))
	done := make(chan error, 1)
	w.storing = done
	go func() {
		done <- w.db.storeChunk(w.ctx, w.id, seq, chunk)
	}()
	return nil
}

// wait waits until the chunk handed over last, if any, is stored.
func (w *AttachmentWriter) wait() error {
	if w.storing == nil {
		return w.err
	}
	err := <-w.storing
	w.storing, w.spare, w.stored = nil, w.stored, nil
	if errors.Is(err, ErrNotFound) {
		// Its pending row is gone: swept (instances.go).
		err = ErrUploadSwept
	}
	if err != nil && w.err == nil {
		w.err = fmt.Errorf("failed to store attachment chunk: %w", err)
	}
	return w.err
}

// Close stores the last chunk and records the size. The attachment is still
// pending until its message is committed.
func (w *AttachmentWriter) Close() error {
	if w.err != nil {
		w.wait()
		return w.err
	}
	if w.closed {
		return nil
	}
	if err := w.flush(); err != nil {
		return err
	}
	if err := w.wait(); err != nil {
		return err
	}
	w.closed = true
	// On PostgreSQL there is nothing to sync here: the chunks were committed
	// without waiting for their WAL to be flushed (storePgChunk), and the
	// synchronous commit below flushes the WAL up to its own commit record,
	// which comes after every one of theirs. So the chunks are durable when
	// Close returns, before any message can name the attachment.
	if w.seq > 0 && !w.db.pg {
		if err := w.db.syncChunks(); err != nil {
			w.err = err
			return err
		}
	}
	var finished any
	if w.timed {
		finished = w.db.Now().Unix()
	}
	// Pending only: on PostgreSQL, a sweep may have deleted the upload of
	// an instance it took for dead (instances.go); the upload then fails
	// here, before any message can name it.
	err := w.db.write(w.ctx, func(tx *sql.Tx) error {
		return execOneTx(w.ctx, tx, `UPDATE attachments SET size = ?, chunks = ?, finished_at = ? WHERE id = ? AND message_id IS NULL`,
			w.size, w.seq, finished, w.id)
	})
	if errors.Is(err, ErrNotFound) {
		err = ErrUploadSwept
	}
	if err != nil {
		w.err = err
	}
	return err
}

// ErrUploadSwept is returned by AttachmentWriter.Close when the pending
// attachment is gone: swept as the upload of an instance that looked dead.
var ErrUploadSwept = errors.New("the upload was deleted while it was received: its instance lost its registration")

// Abort stops the upload: it waits for a chunk being stored, if any, and
// refuses further writes. The caller then deletes the attachment with
// DeletePending.
func (w *AttachmentWriter) Abort() {
	w.wait()
	w.closed = true
}

// DeletePending deletes attachments that no committed message names. It is
// how an upload that fails after some chunks were stored leaves nothing
// behind. Linked attachments are never touched.
//
// On a full disk the deletion itself may not fit: with secure_delete on,
// SQLite rewrites every freed page with zeros, so deleting the chunks of a
// large upload writes as much to the WAL as storing them did. The upload
// that failed for lack of space would then stay behind until the next
// start. So on ErrFull the deletion is retried with secure_delete = FAST,
// which frees the pages without rewriting them: what stays in the free
// pages until they are reused is age ciphertext, never plaintext. The
// chunks in the chunk file are then deleted the same way (deleteChunks).
func (db *DB) DeletePending(ctx context.Context, ids ...int64) error {
	// Clean-up must happen even when the request that failed was cancelled
	// (a reporter's connection dropped mid-upload).
	ctx = context.WithoutCancel(ctx)
	var deleted []int64
	del := deletePendingIDs(ctx, ids, &deleted)
	err := db.deleteOnFullDisk(func() error { return db.write(ctx, del) },
		func() error { return db.writeFastDelete(ctx, del) })
	if err != nil {
		return err
	}
	if db.pg {
		if len(deleted) == 0 {
			return nil
		}
		return db.vacuum(ctx, "attachments", "attachment_chunks")
	}
	err = db.deleteChunks(ctx, deleted)
	db.keepReserve()
	return err
}

// deletePendingIDs deletes those of ids that are pending and sets *deleted
// to them: only their chunks may go.
func deletePendingIDs(ctx context.Context, ids []int64, deleted *[]int64) func(tx *sql.Tx) error {
	return func(tx *sql.Tx) error {
		*deleted = (*deleted)[:0]
		for _, id := range ids {
			res, err := tx.ExecContext(ctx, `DELETE FROM attachments WHERE id = ? AND message_id IS NULL`, id)
			if err != nil {
				return fmt.Errorf("failed to delete pending attachment: %w", err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 1 {
				*deleted = append(*deleted, id)
			}
		}
		return nil
	}
}

// writeFastDelete is write with secure_delete = FAST on the writer
// connection, for that one transaction.
func (db *DB) writeFastDelete(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if changeOf(ctx, db) != nil {
		// The change holds the writer connection: keep the error.
		return ErrFull
	}
	return writeFastDelete(ctx, db.w, fn)
}

// writeFastDelete runs fn in a transaction on w, a pool of one writer
// connection, with secure_delete = FAST for that one transaction.
func writeFastDelete(ctx context.Context, w *sql.DB, fn func(tx *sql.Tx) error) error {
	conn, err := w.Conn(ctx) // the only writer connection, held until Close
	if err != nil {
		return fmt.Errorf("failed to get the writer connection: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA secure_delete = FAST`); err != nil {
		return fmt.Errorf("failed to relax secure_delete: %w", err)
	}
	defer func() {
		if _, err := conn.ExecContext(ctx, `PRAGMA secure_delete = ON`); err != nil {
			// Never hand the connection back with secure_delete relaxed:
			// the pool opens a new one, with the setting from the DSN.
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	return runTx(ctx, conn.BeginTx, fn)
}

// DeleteStalePending deletes timed attachments (NewTimedAttachment)
// received whole before before that no message names, and returns how
// many. An upload still being written has no finish time and is never
// touched, nor is any reporter's upload (those are deleted by the request
// that failed, and at start).
func (db *DB) DeleteStalePending(ctx context.Context, before time.Time) (int64, error) {
	var ids []int64
	del := func(tx *sql.Tx) error {
		ids = ids[:0]
		rows, err := tx.QueryContext(ctx,
			`DELETE FROM attachments WHERE message_id IS NULL AND finished_at IS NOT NULL AND finished_at < ? RETURNING id`, before.Unix())
		if err != nil {
			return fmt.Errorf("failed to delete stale pending attachments: %w", err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return fmt.Errorf("failed to delete stale pending attachments: %w", err)
		}
		return nil
	}
	err := db.deleteOnFullDisk(func() error { return db.write(ctx, del) },
		func() error { return db.writeFastDelete(ctx, del) })
	if err != nil {
		return 0, err
	}
	if db.pg {
		if len(ids) == 0 {
			return 0, nil
		}
		return int64(len(ids)), db.vacuum(ctx, "attachments", "attachment_chunks")
	}
	return int64(len(ids)), db.deleteChunks(ctx, ids)
}

// deletePending deletes every pending attachment, at Open; Open then
// sweeps their chunks from the chunk file.
//
// SQLite only: on PostgreSQL, OpenPostgres leaves pending attachments
// alone, as they may be uploads that another instance is receiving; the
// uploads of an instance that died are swept by SweepDeadInstances
// (instances.go), as each instance owns its uploads and holds a lock for
// its life.
func (db *DB) deletePending(ctx context.Context) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM attachments WHERE message_id IS NULL`)
		return err
	})
	if err != nil {
		return fmt.Errorf("failed to delete unfinished uploads: %w", err)
	}
	return nil
}

// Attachment returns the attachment's ciphertext as a stream, one chunk in
// memory at a time. Only attachments linked to a message are readable.
func (db *DB) Attachment(ctx context.Context, id int64) (AttachmentInfo, io.Reader, error) {
	return db.attachment(ctx, db.r, id)
}

// attachment reads the attachment's row through q (a snapshot, say) and
// its chunks from where they are kept: candour.db's attachment_chunks (q)
// for an attachment stored before migration 0023 or restored from a
// backup, else the chunk file. A linked attachment's chunks never change,
// so reading them outside q's snapshot reads the same bytes.
func (db *DB) attachment(ctx context.Context, q querier, id int64) (AttachmentInfo, io.Reader, error) {
	a := AttachmentInfo{ID: id}
	var apart bool
	err := q.QueryRowContext(ctx,
		`SELECT size, chunks, chunks_apart FROM attachments WHERE id = ? AND message_id IS NOT NULL`, id).
		Scan(&a.Size, &a.Chunks, &apart)
	if errors.Is(err, sql.ErrNoRows) {
		return AttachmentInfo{}, nil, ErrNotFound
	}
	if err != nil {
		return AttachmentInfo{}, nil, err
	}
	r := &chunkReader{ctx: ctx, q: q, info: a, query: legacyChunkQuery}
	if apart {
		if db.cr == nil {
			return AttachmentInfo{}, nil, fmt.Errorf("attachment %d is kept in %s, which is missing", id, ChunksFileName)
		}
		r.q, r.query = db.cr, chunkQuery
	}
	return a, r, nil
}

const (
	legacyChunkQuery = `SELECT data FROM attachment_chunks WHERE attachment_id = ? AND seq = ?`
	chunkQuery       = `SELECT data FROM chunks WHERE attachment_id = ? AND seq = ?`
)

// AttachmentCase returns the id of the case an attachment belongs to.
func (db *DB) AttachmentCase(ctx context.Context, id int64) (int64, error) {
	var caseID int64
	err := db.r.QueryRowContext(ctx,
		`SELECT m.case_id FROM attachments a JOIN messages m ON m.id = a.message_id WHERE a.id = ?`, id).Scan(&caseID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	return caseID, err
}

// chunkReader reads an attachment's chunks in order, one query (one short
// read transaction) per chunk.
type chunkReader struct {
	ctx   context.Context
	q     querier
	query string // legacyChunkQuery or chunkQuery
	info  AttachmentInfo
	seq   int64
	buf   []byte
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.seq >= r.info.Chunks {
			return 0, io.EOF
		}
		err := r.q.QueryRowContext(r.ctx, r.query, r.info.ID, r.seq).Scan(&r.buf)
		if err != nil {
			return 0, fmt.Errorf("failed to read attachment chunk %d: %w", r.seq, err)
		}
		r.seq++
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// pgIntegrityCheck is IntegrityCheck on PostgreSQL (through db.r), which
// has no PRAGMA integrity_check: the server keeps its pages and
// constraints sound itself (and checks pages' checksums if the cluster has
// them). What it cannot know is Candour's own rule that a linked
// attachment holds every one of its chunks, seq 0 to chunks-1, which this
// checks through q in one statement. A backup checks it too, in its
// snapshot, before it copies anything.
func pgIntegrityCheck(ctx context.Context, q querier) error {
	var incomplete int64
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM attachments a WHERE a.message_id IS NOT NULL
		AND a.chunks != (SELECT count(*) FROM attachment_chunks c WHERE c.attachment_id = a.id AND c.seq >= 0 AND c.seq < a.chunks)`).
		Scan(&incomplete)
	if err != nil {
		return fmt.Errorf("integrity check failed: %w", err)
	}
	if incomplete != 0 {
		return fmt.Errorf("integrity check failed: %d attachments are missing chunks", incomplete)
	}
	return nil
}
