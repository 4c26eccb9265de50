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

// SealingKeys is what a reporter's follow-up message is sealed to, besides
// the organisation's recipients: the case's own recipient and the newest
// key of the case's channel (generation 0 and "" if it has none yet).
type SealingKeys struct {
	CaseID            int64
	CaseRecipient     string
	ChannelID         int64
	ChannelGeneration int
	ChannelRecipient  string
}

// SealingKeys returns the keys a follow-up message of the case is sealed
// to, in one read: Case and NewestChannelKey took a read transaction each,
// and Case all of the case's columns, for every message (a thirtieth of
// its processor time, about as much as the rest of the request outside
// sealing and storing). ErrNotFound if there is no such case, or no such
// channel.
func (db *DB) SealingKeys(ctx context.Context, caseID int64) (SealingKeys, error) {
	var k SealingKeys
	err := db.r.QueryRowContext(ctx, `SELECT c.id, c.recipient, c.channel_id, coalesce(k.generation, 0), coalesce(k.recipient, '')
		FROM cases c JOIN channels ch ON ch.id = c.channel_id LEFT JOIN channel_keys k ON k.channel_id = ch.id
		WHERE c.id = ? ORDER BY k.generation DESC LIMIT 1`, caseID).
		Scan(&k.CaseID, &k.CaseRecipient, &k.ChannelID, &k.ChannelGeneration, &k.ChannelRecipient)
	if errors.Is(err, sql.ErrNoRows) {
		return SealingKeys{}, ErrNotFound
	}
	if err != nil {
		return SealingKeys{}, fmt.Errorf("failed to read the case's keys: %w", err)
	}
	return k, nil
}
