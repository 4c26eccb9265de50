package storage

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// TestCopyChunk checks, on PostgreSQL, the binary COPY that stores a chunk
// (storePgChunk): the bytes read back are the bytes sent; a taken id is
// the primary key's failure, which storePgChunk answers by drawing
// another, where a second chunk of the same seq is another unique failure,
// returned; a chunk of an attachment that is gone is ErrNotFound; and a
// failed COPY leaves its connection out of any transaction.
func TestCopyChunk(t *testing.T) {
	if !testOnPostgres() {
		t.Skip("PostgreSQL only (CANDOUR_TEST_ENGINE=postgres): SQLite stores chunks in its chunk file")
	}
	ctx := context.Background()
	db := openTestEngineDB(t)
	w, err := db.NewAttachment(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.bulk.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	copyOn := func(id, attachmentID, seq int64, data []byte) error {
		return conn.Raw(func(dc any) error {
			return copyChunk(ctx, dc.(*pgConn).Conn.Conn().PgConn(), id, attachmentID, seq, data)
		})
	}
	idle := func(what string) {
		t.Helper()
		conn.Raw(func(dc any) error {
			if s := dc.(*pgConn).Conn.Conn().PgConn().TxStatus(); s != 'I' {
				t.Errorf("after %s the connection's transaction status is %c, want I (idle)", what, s)
			}
			return nil
		})
	}

	// Bytes that a text format would have to escape: every byte value.
	data := make([]byte, 3*256+5)
	for i := range data {
		data[i] = byte(i * 7)
	}
	const id = 1<<53 - 3
	if err := copyOn(id, w.ID(), 0, data); err != nil {
		t.Fatalf("copyChunk: %v", err)
	}
	var got []byte
	var gotAttachment, gotSeq int64
	if err := db.r.QueryRowContext(ctx, `SELECT attachment_id, seq, data FROM attachment_chunks WHERE id = ?`, int64(id)).
		Scan(&gotAttachment, &gotSeq, &got); err != nil {
		t.Fatal(err)
	}
	if gotAttachment != w.ID() || gotSeq != 0 || !bytes.Equal(got, data) {
		t.Errorf("stored (attachment %d, seq %d, %d bytes equal=%v), want (%d, 0, %d bytes equal)",
			gotAttachment, gotSeq, len(got), bytes.Equal(got, data), w.ID(), len(data))
	}

	err = copyOn(id, w.ID(), 1, data)
	if !isUnique(err) || isUniqueNotKey(err) {
		t.Errorf("a chunk with a taken id: err = %v, want the primary key's unique failure (drawn again)", err)
	}
	idle("a taken id")
	err = db.storePgChunk(ctx, w.ID(), 0, data)
	if !isUniqueNotKey(err) {
		t.Errorf("a second chunk of seq 0: err = %v, want the (attachment_id, seq) unique failure", err)
	}
	if err := db.DeletePending(ctx, w.ID()); err != nil {
		t.Fatal(err)
	}
	if err := db.storePgChunk(ctx, w.ID(), 1, data); !errors.Is(err, ErrNotFound) {
		t.Errorf("a chunk of a deleted attachment: err = %v, want ErrNotFound", err)
	}
	idle("a missing attachment")
	// The connection still works, and nothing of the failed chunks stayed.
	var n int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM attachment_chunks`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d chunks left after the attachment's deletion, want 0", n)
	}
}
