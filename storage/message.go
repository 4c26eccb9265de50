package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"
)

// NewMessage is a message to store: its age file, and the ids of the
// attachments (already written with NewAttachment) that it names.
type NewMessage struct {
	Author        string
	Ciphertext    []byte
	AttachmentIDs []int64
	// AttachmentOwner must equal the owner the attachments were started
	// with (NewOwnedAttachment).
	AttachmentOwner string
	// FormHash, if set, is the hash of the message form's one-time token
	// (AddMessage only): it is recorded as used with the message, or
	// ErrFormUsed is returned.
	FormHash []byte
}

// Message is a stored message.
type Message struct {
	ID          int64 // random: says nothing of order (see randomid.go)
	CaseID      int64
	Seq         int64 // place in the case's thread: 1, 2, ...
	Author      string
	CreatedAt   time.Time
	Ciphertext  []byte
	Attachments []AttachmentInfo
}

// AttachmentInfo is what the database knows of an attachment: an id and the
// size of its ciphertext.
type AttachmentInfo struct {
	ID     int64
	Size   int64
	Chunks int64
}

// AddMessage appends a message to a case, links its attachments and marks the
// case as updated, in one durable transaction: when it returns nil the
// message survives a crash, and when it fails nothing of it exists.
// Messages added concurrently may share that transaction (group commit, see
// group.go), each in its own savepoint.
func (db *DB) AddMessage(ctx context.Context, caseID int64, m NewMessage) (Message, error) {
	now := db.coarseNow()
	var out Message
	err := db.writeGrouped(ctx, len(m.Ciphertext), func(ctx context.Context, tx *sql.Tx) error {
		if err := execOneTx(ctx, tx, `UPDATE cases SET updated_at = ? WHERE id = ?`, now, caseID); err != nil {
			return err
		}
		if err := useForm(ctx, tx, m.FormHash, now); err != nil {
			return err
		}
		var err error
		if out, err = insertMessage(ctx, tx, caseID, m, now); err != nil {
			return err
		}
		if m.Author == AuthorReporter {
			return markNotifyCase(ctx, tx, caseID)
		}
		// A staff reply orders the case among the day's (summary.go); a
		// reporter's message moves its last activity to the day only.
		return db.touchStaffActivity(ctx, tx, caseID)
	})
	if err != nil {
		return Message{}, fmt.Errorf("failed to add message: %w", err)
	}
	return out, nil
}

func insertMessage(ctx context.Context, tx *sql.Tx, caseID int64, m NewMessage, now int64) (Message, error) {
	if m.Author != AuthorReporter && m.Author != AuthorStaff {
		return Message{}, fmt.Errorf("unknown author %q", m.Author)
	}
	if len(m.Ciphertext) == 0 {
		return Message{}, errors.New("empty message ciphertext")
	}
	// The message's place in its case's thread: a sequence of its own case,
	// which no other case's rows (and so no timed staff action elsewhere)
	// share. One writer at a time (on PostgreSQL, across instances too:
	// beginWrite's lock), so no two messages of a case draw the same seq;
	// the unique index messages_case_seq would refuse it anyway.
	var seq int64
	if err := tx.QueryRowContext(ctx,
		`SELECT coalesce(max(seq), 0) + 1 FROM messages WHERE case_id = ?`, caseID).Scan(&seq); err != nil {
		return Message{}, err
	}
	id, err := insertRandomID(ctx, tx,
		`INSERT INTO messages (id, case_id, seq, author, created_at, ciphertext) VALUES (?, ?, ?, ?, ?, ?)`,
		caseID, seq, m.Author, now, m.Ciphertext)
	if err != nil {
		return Message{}, err
	}
	for pos, aid := range m.AttachmentIDs {
		// Only a pending attachment can be linked, and only once. Linked,
		// it no longer names the instance that received it (instances.go):
		// an instance's lifetime would date the upload.
		res, err := tx.ExecContext(ctx,
			`UPDATE attachments SET message_id = ?, pos = ?, instance_id = NULL WHERE id = ? AND message_id IS NULL AND owner = ?`,
			id, pos, aid, m.AttachmentOwner)
		if err != nil {
			return Message{}, err
		}
		if n, err := res.RowsAffected(); err != nil {
			return Message{}, err
		} else if n != 1 {
			return Message{}, fmt.Errorf("attachment %d is not pending", aid)
		}
	}
	return Message{ID: id, CaseID: caseID, Seq: seq, Author: m.Author, CreatedAt: time.Unix(now, 0).UTC(), Ciphertext: m.Ciphertext}, nil
}

// Messages returns the messages of a case, oldest first, with their
// attachments' ids and ciphertext sizes.
func (db *DB) Messages(ctx context.Context, caseID int64) ([]Message, error) {
	return messages(ctx, db.r, caseID)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// MessageCount returns the number of messages of a case.
func (db *DB) MessageCount(ctx context.Context, caseID int64) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM messages WHERE case_id = ?`, caseID).Scan(&n); err != nil {
		return 0, fmt.Errorf("failed to count messages: %w", err)
	}
	return n, nil
}

// MessagesPage returns at most limit messages of a case, oldest first,
// skipping the first offset: a long thread is shown a page at a time, so
// one request never holds all of it in memory.
func (db *DB) MessagesPage(ctx context.Context, caseID int64, offset, limit int) ([]Message, error) {
	return messagesRange(ctx, db.r, caseID, offset, limit)
}

// MessageCiphertext returns one message's age file, if it belongs to the case.
func (db *DB) MessageCiphertext(ctx context.Context, caseID, id int64) ([]byte, error) {
	return ciphertext(ctx, db.r, `SELECT ciphertext FROM messages WHERE id = ? AND case_id = ?`, id, caseID)
}

func ciphertext(ctx context.Context, q querier, query string, args ...any) ([]byte, error) {
	var b []byte
	err := q.QueryRowContext(ctx, query, args...).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return b, err
}

// AttachmentMessage returns the message an attachment belongs to, with all
// of that message's attachments.
func (db *DB) AttachmentMessage(ctx context.Context, attachmentID int64) (Message, error) {
	var m Message
	var created int64
	err := db.r.QueryRowContext(ctx,
		`SELECT m.id, m.case_id, m.seq, m.author, m.created_at, m.ciphertext
		 FROM attachments a JOIN messages m ON m.id = a.message_id WHERE a.id = ?`, attachmentID).
		Scan(&m.ID, &m.CaseID, &m.Seq, &m.Author, &created, &m.Ciphertext)
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, ErrNotFound
	}
	if err != nil {
		return Message{}, err
	}
	m.CreatedAt = time.Unix(created, 0).UTC()
	rows, err := db.r.QueryContext(ctx, `SELECT id, size, chunks FROM attachments WHERE message_id = ? ORDER BY pos, id`, m.ID)
	if err != nil {
		return Message{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var a AttachmentInfo
		if err := rows.Scan(&a.ID, &a.Size, &a.Chunks); err != nil {
			return Message{}, err
		}
		m.Attachments = append(m.Attachments, a)
	}
	return m, rows.Err()
}

func messages(ctx context.Context, q querier, caseID int64) ([]Message, error) {
	return messagesRange(ctx, q, caseID, 0, -1)
}

// messagesRange lists limit messages of a case from offset, or all of
// them from offset if limit is negative.
func messagesRange(ctx context.Context, q querier, caseID int64, offset, limit int) ([]Message, error) {
	query := `SELECT id, case_id, seq, author, created_at, ciphertext FROM messages WHERE case_id = ? ORDER BY seq`
	args := []any{caseID}
	switch {
	case limit >= 0:
		query, args = query+` LIMIT ? OFFSET ?`, append(args, limit, offset)
	case offset > 0:
		// No limit, but an offset: SQLite takes no OFFSET without a
		// LIMIT, and PostgreSQL refuses SQLite's LIMIT -1; the largest
		// limit serves both.
		query, args = query+` LIMIT ? OFFSET ?`, append(args, int64(math.MaxInt64), offset)
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("failed to list messages: %w", err)
	}
	var out []Message
	byID := map[int64]int{}
	for rows.Next() {
		var m Message
		var created int64
		if err := rows.Scan(&m.ID, &m.CaseID, &m.Seq, &m.Author, &created, &m.Ciphertext); err != nil {
			rows.Close()
			return nil, err
		}
		m.CreatedAt = time.Unix(created, 0).UTC()
		byID[m.ID] = len(out)
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	rows, err = q.QueryContext(ctx,
		`SELECT a.id, a.message_id, a.size, a.chunks FROM attachments a JOIN messages m ON m.id = a.message_id
		 WHERE m.case_id = ? AND m.seq BETWEEN ? AND ? ORDER BY m.seq, a.pos, a.id`, caseID, out[0].Seq, out[len(out)-1].Seq)
	if err != nil {
		return nil, fmt.Errorf("failed to list attachments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a AttachmentInfo
		var mid int64
		if err := rows.Scan(&a.ID, &mid, &a.Size, &a.Chunks); err != nil {
			return nil, err
		}
		if i, ok := byID[mid]; ok {
			out[i].Attachments = append(out[i].Attachments, a)
		}
	}
	return out, rows.Err()
}

// HasStaffMessage reports whether staff have written in a case.
func (db *DB) HasStaffMessage(ctx context.Context, caseID int64) (bool, error) {
	var ok bool
	err := db.r.QueryRowContext(ctx,
		`SELECT EXISTS (SELECT 1 FROM messages WHERE case_id = ? AND author = ?)`, caseID, AuthorStaff).Scan(&ok)
	return ok, err
}
