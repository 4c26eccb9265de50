package storage

import (
	"bytes"
	"context"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5/pgconn"
)

// storePgChunk is storeChunk on PostgreSQL: one chunk in attachment_chunks,
// in its own transaction on the bulk pool, which takes no write lock, so
// that an upload's chunks never queue behind reports and messages, nor
// hold them up. Its foreign key refuses a chunk whose attachment is gone
// (ErrNotFound), as the check of storeChunk does on SQLite, and cascades
// a deletion of the attachment to the chunks committed before.
//
// The commit does not wait for the WAL to be flushed (synchronous_commit
// off, for this transaction only): a crash may lose the last chunks of an
// upload in progress, never a committed report. AttachmentWriter.Close
// makes them durable: its commit, on the writer, is synchronous, and
// flushing the WAL up to its commit record flushes every earlier chunk
// commit with it, before any message can name the attachment.
//
// The chunk goes to the server as a binary COPY (copyChunk), not as the
// parameter of an INSERT: pgx encodes a parameter into a buffer of its
// own and then copies it again into the Bind message, two new buffers
// the size of the chunk for every chunk, which the connection drops once
// sent. Over a 1 GiB upload that was 2 GiB of garbage, and the collector
// let the heap grow to its goal (GCPercent times the live heap) before it
// took any back: about 35 MiB more peak RSS than on SQLite
// (docs/benchmarks.md, benchmark 3). COPY streams the chunk from the
// caller's buffer through pgconn's pooled 64 KiB buffer: nothing the size
// of a chunk is allocated.
//
// COPY has no ON CONFLICT, so a drawn id that is taken (insertRandomID)
// aborts the transaction, and the chunk is sent again in a new one with
// another id.
func (db *DB) storePgChunk(ctx context.Context, attachmentID, seq int64, data []byte) error {
	if db.bulk == nil {
		return errors.New("the database is open without a pool for attachments")
	}
	conn, err := db.bulk.Conn(ctx)
	if err != nil {
		return classify(fmt.Errorf("failed to get a connection for the chunk: %w", err))
	}
	defer conn.Close()
	for range maxIDDraws {
		id, err := randomID()
		if err != nil {
			return err
		}
		err = conn.Raw(func(dc any) error {
			c, ok := dc.(*pgConn)
			if !ok {
				return fmt.Errorf("unexpected PostgreSQL driver connection %T", dc)
			}
			return copyChunk(ctx, c.Conn.Conn().PgConn(), id, attachmentID, seq, data)
		})
		switch {
		case err == nil:
			return nil
		case isUnique(err) && !isUniqueNotKey(err):
			continue // the id is taken: draw another
		case isForeignKey(err):
			return fmt.Errorf("attachment %d: %w", attachmentID, ErrNotFound)
		default:
			return classify(err)
		}
	}
	return errors.New("failed to draw a free id")
}

// chunkCopySQL copies one row into attachment_chunks in PostgreSQL's
// binary COPY format (copyChunkData): the values travel as data, never as
// SQL text.
const chunkCopySQL = `COPY attachment_chunks (id, attachment_id, seq, data) FROM STDIN (FORMAT binary)`

// copyChunk stores one chunk on c in a transaction of its own: BEGIN with
// synchronous_commit off for it (one round trip), the COPY, COMMIT. On
// failure it rolls back, and if that fails too it reports the connection
// bad so that database/sql discards it (which it would anyway, as pgx's
// ResetSession refuses a connection left inside a transaction).
func copyChunk(ctx context.Context, c *pgconn.PgConn, id, attachmentID, seq int64, data []byte) error {
	err := func() error {
		if _, err := c.Exec(ctx, `BEGIN; SET LOCAL synchronous_commit = off`).ReadAll(); err != nil {
			return fmt.Errorf("failed to begin the chunk's transaction: %w", err)
		}
		if _, err := c.CopyFrom(ctx, copyChunkData(id, attachmentID, seq, data), chunkCopySQL); err != nil {
			return err
		}
		if _, err := c.Exec(ctx, `COMMIT`).ReadAll(); err != nil {
			return fmt.Errorf("failed to commit: %w", err)
		}
		return nil
	}()
	if err != nil && c.TxStatus() != 'I' {
		if _, rerr := c.Exec(context.WithoutCancel(ctx), `ROLLBACK`).ReadAll(); rerr != nil || c.TxStatus() != 'I' {
			return errors.Join(err, driver.ErrBadConn)
		}
	}
	return err
}

// copyChunkData is one attachment_chunks row in PostgreSQL's binary COPY
// format: the header (signature, no flags, no extension), one tuple of
// four fields (each a length and its bytes: three BIGINTs, big-endian, and
// the BYTEA's bytes as they are), and the trailer. data is read in place.
func copyChunkData(id, attachmentID, seq int64, data []byte) io.Reader {
	head := make([]byte, 0, 64)
	head = append(head, "PGCOPY\n\xff\r\n\x00"...)
	head = binary.BigEndian.AppendUint32(head, 0) // flags
	head = binary.BigEndian.AppendUint32(head, 0) // header extension length
	head = binary.BigEndian.AppendUint16(head, 4) // fields in the tuple
	for _, v := range []int64{id, attachmentID, seq} {
		head = binary.BigEndian.AppendUint32(head, 8)
		head = binary.BigEndian.AppendUint64(head, uint64(v))
	}
	head = binary.BigEndian.AppendUint32(head, uint32(len(data)))
	trailer := []byte{0xff, 0xff} // a field count of -1
	return io.MultiReader(bytes.NewReader(head), bytes.NewReader(data), bytes.NewReader(trailer))
}
