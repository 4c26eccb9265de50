package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Case statuses. The reporter sees the status of their case.
const (
	StatusNew              = "new"
	StatusInReview         = "in_review"
	StatusAwaitingReporter = "awaiting_reporter"
	StatusReferred         = "referred"
	StatusClosed           = "closed"
)

// Author of a message.
const (
	AuthorReporter = "reporter"
	AuthorStaff    = "staff"
)

// ErrDuplicate is returned when a unique value (a case reference or lookup
// id) is already taken; the caller draws a new one.
var ErrDuplicate = errors.New("duplicate value")

// Case is a case as stored. WrappedIdentity is an age file only the case
// code opens; Recipient is its public half.
type Case struct {
	ID              int64
	Ref             string
	KDFID           int64
	WrappedIdentity []byte
	Recipient       string
	Status          string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	// ChannelID is the channel the case was sent to (stored in clear:
	// routing needs it), and ChannelGeneration the channel's key
	// generation its files are encrypted to (0: none, organisation keys
	// only).
	ChannelID         int64
	ChannelGeneration int
	// Questionnaire is the questionnaire version the case was asked with,
	// "<id>@<version>", or "" (in clear: see migration 0014).
	Questionnaire string
	// Deadlines are its acknowledge-by and feedback-by days (deadline.go).
	Deadlines
}

// NewCase is what CreateCase stores: the case and its first message.
type NewCase struct {
	Ref             string
	LookupID        []byte
	KDFID           int64
	WrappedIdentity []byte
	Recipient       string
	First           NewMessage
	// ChannelID is the channel it was sent to (DefaultChannel if 0), and
	// ChannelGeneration the channel key generation it is encrypted to.
	ChannelID         int64
	ChannelGeneration int
	// Questionnaire is the questionnaire version it was asked with.
	Questionnaire string
	// FormHash, if set, is the hash of the report form's one-time token:
	// it is recorded as used with the case, or ErrFormUsed is returned.
	FormHash []byte
	// Identity, if set, is the reporter's confidential identity details:
	// an age file to the custodians' own keys (identity.go).
	Identity []byte
	// Summary, if set, is the case's inbox summary: an age file to the
	// staff side only (summary.go).
	Summary []byte
}

// CreateCase stores a new case with its first message and links the
// message's attachments, in one durable transaction: when it returns nil the
// case survives a crash, and when it fails nothing of it exists.
func (db *DB) CreateCase(ctx context.Context, nc NewCase) (Case, error) {
	now := db.coarseNow()
	if nc.ChannelID == 0 {
		nc.ChannelID = DefaultChannel
	}
	c := Case{Ref: nc.Ref, KDFID: nc.KDFID, WrappedIdentity: nc.WrappedIdentity, Recipient: nc.Recipient,
		Status: StatusNew, CreatedAt: time.Unix(now, 0).UTC(), UpdatedAt: time.Unix(now, 0).UTC(),
		ChannelID: nc.ChannelID, ChannelGeneration: nc.ChannelGeneration, Questionnaire: nc.Questionnaire}
	err := db.write(ctx, func(tx *sql.Tx) error {
		if err := useForm(ctx, tx, nc.FormHash, now); err != nil {
			return err
		}
		ackDays := DefaultAckDays
		if err := tx.QueryRowContext(ctx, `SELECT ack_days FROM channels WHERE id = ?`, nc.ChannelID).Scan(&ackDays); err != nil &&
			!errors.Is(err, sql.ErrNoRows) {
			return err
		}
		c.AckBy = c.CreatedAt.AddDate(0, 0, ackDays)
		var err error
		c.ID, err = insertRandomID(ctx, tx,
			`INSERT INTO cases (id, ref, lookup_id, kdf_id, wrapped_identity, recipient, status, created_at, updated_at,
			                    channel_id, channel_generation, questionnaire, ack_by_day, summary)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			nc.Ref, nc.LookupID, nc.KDFID, nc.WrappedIdentity, nc.Recipient, StatusNew, now, now,
			nc.ChannelID, nc.ChannelGeneration, nc.Questionnaire, c.AckBy.Unix(), nullBytes(nc.Summary))
		if err != nil {
			if isUniqueNotKey(err) {
				return ErrDuplicate
			}
			return err
		}
		nc.First.Author = AuthorReporter
		if _, err = insertMessage(ctx, tx, c.ID, nc.First, now); err != nil {
			return err
		}
		if err := markNotifyChannel(ctx, tx, nc.ChannelID); err != nil {
			return err
		}
		return insertIdentity(ctx, tx, c.ID, nc.Identity)
	})
	if err != nil {
		return Case{}, fmt.Errorf("failed to create case: %w", err)
	}
	return c, nil
}

const caseColumns = `id, ref, kdf_id, wrapped_identity, recipient, status, created_at, updated_at, channel_id, channel_generation, questionnaire,
	ack_by_day, acknowledged_day, feedback_by_day`

func scanCase(row interface{ Scan(...any) error }) (Case, error) {
	var c Case
	var created, updated int64
	var ackBy, acked, feedbackBy sql.NullInt64
	err := row.Scan(&c.ID, &c.Ref, &c.KDFID, &c.WrappedIdentity, &c.Recipient, &c.Status, &created, &updated,
		&c.ChannelID, &c.ChannelGeneration, &c.Questionnaire, &ackBy, &acked, &feedbackBy)
	if errors.Is(err, sql.ErrNoRows) {
		return Case{}, ErrNotFound
	}
	if err != nil {
		return Case{}, err
	}
	c.CreatedAt, c.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
	c.Deadlines = Deadlines{AckBy: dayOf(ackBy), Acknowledged: dayOf(acked), FeedbackBy: dayOf(feedbackBy)}
	return c, nil
}

// CaseByLookup finds the case whose code derived lookupID under the
// parameter set kdfID.
func (db *DB) CaseByLookup(ctx context.Context, kdfID int64, lookupID []byte) (Case, error) {
	return scanCase(db.r.QueryRowContext(ctx,
		`SELECT `+caseColumns+` FROM cases WHERE lookup_id = ? AND kdf_id = ?`, lookupID, kdfID))
}

// Case returns the case with the given id.
func (db *DB) Case(ctx context.Context, id int64) (Case, error) {
	return scanCase(db.r.QueryRowContext(ctx, `SELECT `+caseColumns+` FROM cases WHERE id = ?`, id))
}

// CountRows returns the number of cases, messages, attachments and chunks
// (in candour.db and the chunk file):
// what tests and operators use to see that nothing partial was left.
func (db *DB) CountRows(ctx context.Context) (cases, messages, attachments, chunks int64, err error) {
	err = db.r.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM cases), (SELECT count(*) FROM messages),
		(SELECT count(*) FROM attachments), (SELECT count(*) FROM attachment_chunks)`).
		Scan(&cases, &messages, &attachments, &chunks)
	if err != nil {
		return
	}
	// Chunks are counted in both files: candour.db keeps those of
	// attachments older than migration 0023.
	apart, err := db.chunkCount(ctx)
	chunks += apart
	return
}

// queryCases runs a query selecting caseColumns and scans every row.
func queryCases(ctx context.Context, q querier, query string, args ...any) ([]Case, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("failed to list cases: %w", err)
	}
	defer rows.Close()
	var out []Case
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
