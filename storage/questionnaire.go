package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ErrQuestionnaireChanged is returned when a channel's questionnaire was
// saved by someone else since the editor read it.
var ErrQuestionnaireChanged = errors.New("the questionnaire was changed meanwhile")

// A StoredQuestionnaire is one version of a channel's questionnaire: its
// definition as JSON, which the storage package does not read (the
// frontend package does: ParseQuestionnaire).
type StoredQuestionnaire struct {
	ChannelID  int64
	Version    int
	Definition []byte
	CreatedBy  int64 // staff id; 0 if that account is gone
	CreatedAt  int64 // unix seconds
}

// Questionnaire returns the newest version of a channel's questionnaire;
// ErrNotFound if its administrators never stored one (it asks the
// built-in default).
func (db *DB) Questionnaire(ctx context.Context, channel int64) (StoredQuestionnaire, error) {
	return readQuestionnaire(ctx, db.r, `SELECT channel_id, version, definition, coalesce(created_by, 0), created_at
		FROM questionnaires WHERE channel_id = ? ORDER BY version DESC LIMIT 1`, channel)
}

// QuestionnaireVersion returns one stored version; ErrNotFound if there is
// no such version.
func (db *DB) QuestionnaireVersion(ctx context.Context, channel int64, version int) (StoredQuestionnaire, error) {
	return readQuestionnaire(ctx, db.r, questionnaireVersionQuery, channel, version)
}

const questionnaireVersionQuery = `SELECT channel_id, version, definition, coalesce(created_by, 0), created_at
		FROM questionnaires WHERE channel_id = ? AND version = ?`

// readQuestionnaire reads one version through the database or a View's
// snapshot.
func readQuestionnaire(ctx context.Context, r querier, query string, args ...any) (StoredQuestionnaire, error) {
	var q StoredQuestionnaire
	var def string
	err := r.QueryRowContext(ctx, query, args...).Scan(&q.ChannelID, &q.Version, &def, &q.CreatedBy, &q.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return StoredQuestionnaire{}, ErrNotFound
	}
	if err != nil {
		return StoredQuestionnaire{}, fmt.Errorf("failed to read questionnaire: %w", err)
	}
	q.Definition = []byte(def)
	return q, nil
}

// QuestionnaireVersions lists a channel's stored versions, newest first,
// without their definitions.
func (db *DB) QuestionnaireVersions(ctx context.Context, channel int64) ([]StoredQuestionnaire, error) {
	var out []StoredQuestionnaire
	err := db.queryEach(ctx, `SELECT channel_id, version, coalesce(created_by, 0), created_at
		FROM questionnaires WHERE channel_id = ? ORDER BY version DESC`, channel, func(rows *sql.Rows) error {
		var q StoredQuestionnaire
		if err := rows.Scan(&q.ChannelID, &q.Version, &q.CreatedBy, &q.CreatedAt); err != nil {
			return err
		}
		out = append(out, q)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("failed to list questionnaire versions: %w", err)
	}
	return out, nil
}

// SaveQuestionnaire stores definition as the channel's next version (1 if
// none was stored) and returns it. Earlier versions stay as they were.
// ifNewest guards against two administrators editing at once: it must be
// the newest version the editor started from (0 for none), or ErrQuestionnaireChanged
// is returned and nothing is stored.
func (db *DB) SaveQuestionnaire(ctx context.Context, channel int64, ifNewest int, definition []byte, by int64) (int, error) {
	if len(definition) == 0 {
		return 0, errors.New("failed to save questionnaire: empty definition")
	}
	var version int
	err := db.write(ctx, func(tx *sql.Tx) error {
		var exists int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM channels WHERE id = ?`, channel).Scan(&exists); err != nil {
			return err
		}
		if exists == 0 {
			return ErrNotFound
		}
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM questionnaires WHERE channel_id = ?`,
			channel).Scan(&version); err != nil {
			return err
		}
		if version != ifNewest {
			return ErrQuestionnaireChanged
		}
		version++
		var creator any
		if by > 0 {
			creator = by
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO questionnaires (channel_id, version, definition, created_by, created_at)
			VALUES (?, ?, ?, ?, ?)`, channel, version, string(definition), creator, db.Now().Unix())
		if isUnique(err) {
			// Saved meanwhile by another writer. Write transactions run
			// one after another (on PostgreSQL too: beginWrite), so this
			// is a second guard: the key (channel_id, version) decides.
			return ErrQuestionnaireChanged
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("failed to save questionnaire: %w", err)
	}
	return version, nil
}
