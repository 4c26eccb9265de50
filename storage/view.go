package storage

import (
	"context"
	"database/sql"
	"fmt"
	"io"
)

// View is a consistent read-only snapshot of the database. A View sees no
// write committed after it began, so an export taken while the server runs
// is self-consistent.
type View struct {
	db *DB
	tx *sql.Tx
}

// View runs fn over a snapshot.
func (db *DB) View(ctx context.Context, fn func(v *View) error) error {
	tx, err := db.beginSnapshot(ctx)
	if err != nil {
		return fmt.Errorf("failed to begin snapshot: %w", err)
	}
	defer tx.Rollback()
	// A deferred transaction takes its snapshot at the first read.
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM kdf_params`).Scan(&n); err != nil {
		return fmt.Errorf("failed to begin snapshot: %w", err)
	}
	return fn(&View{db: db, tx: tx})
}

// Cases lists every case, oldest day first; within a day by reference,
// which is random: nothing stored says which case of a day came first.
func (v *View) Cases(ctx context.Context) ([]Case, error) {
	return queryCases(ctx, v.tx, `SELECT `+caseColumns+` FROM cases ORDER BY created_at, ref`)
}

// Messages is DB.Messages within the snapshot.
func (v *View) Messages(ctx context.Context, caseID int64) ([]Message, error) {
	return messages(ctx, v.tx, caseID)
}

// Attachment is DB.Attachment within the snapshot.
func (v *View) Attachment(ctx context.Context, id int64) (AttachmentInfo, io.Reader, error) {
	return v.db.attachment(ctx, v.tx, id)
}

// ChannelWrap is one generation of a channel's identity wrapped to one
// member, with that generation's public key.
type ChannelWrap struct {
	ChannelID  int64
	Generation int
	Recipient  string
	StaffID    int64
	Username   string
	Wrapped    []byte
}

// ChannelKeyWraps lists every wrapped channel identity in the snapshot, by
// channel, generation and member.
func (v *View) ChannelKeyWraps(ctx context.Context) ([]ChannelWrap, error) {
	rows, err := v.tx.QueryContext(ctx, `SELECT w.channel_id, w.generation, k.recipient, w.staff_id, s.username, w.wrapped
		FROM channel_key_wraps w
		JOIN channel_keys k ON k.channel_id = w.channel_id AND k.generation = w.generation
		JOIN staff s ON s.id = w.staff_id
		ORDER BY w.channel_id, w.generation, w.staff_id`)
	if err != nil {
		return nil, fmt.Errorf("failed to list channel keys: %w", err)
	}
	defer rows.Close()
	var out []ChannelWrap
	for rows.Next() {
		var w ChannelWrap
		if err := rows.Scan(&w.ChannelID, &w.Generation, &w.Recipient, &w.StaffID, &w.Username, &w.Wrapped); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// QuestionnaireVersion is DB.QuestionnaireVersion within the snapshot:
// one stored version of a channel's questionnaire; ErrNotFound if there is
// no such version.
func (v *View) QuestionnaireVersion(ctx context.Context, channel int64, version int) (StoredQuestionnaire, error) {
	return readQuestionnaire(ctx, v.tx, questionnaireVersionQuery, channel, version)
}
