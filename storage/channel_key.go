package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// NewestChannelKey returns the newest key generation of a channel and its
// public key: generation 0 and "" if it has none yet, ErrNotFound if there
// is no such channel. It is what a reporter's follow-up message needs of
// its case's channel, in one indexed query, where Channel reads the texts
// and members too (four queries, a twentieth of the message's time).
func (db *DB) NewestChannelKey(ctx context.Context, channel int64) (generation int, recipient string, err error) {
	err = db.r.QueryRowContext(ctx, `SELECT coalesce(k.generation, 0), coalesce(k.recipient, '')
		FROM channels c LEFT JOIN channel_keys k ON k.channel_id = c.id
		WHERE c.id = ? ORDER BY k.generation DESC LIMIT 1`, channel).Scan(&generation, &recipient)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", ErrNotFound
	}
	if err != nil {
		return 0, "", fmt.Errorf("failed to read the channel's key: %w", err)
	}
	return generation, recipient, nil
}
