package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// DefaultLanguage is the language every channel's texts must have: the
// fallback for a reporter reading in another.
const DefaultLanguage = "en"

// DefaultChannel is the channel that migration 0012 made and put every
// earlier case in.
const DefaultChannel = 1

// ChannelText is what reporters read of a channel in one language.
type ChannelText struct {
	Name        string
	Description string
}

// Channel is a route for reports: who handles them, and the public key
// they are encrypted to.
type Channel struct {
	ID       int64
	Position int
	Archived bool
	// Texts by language; DefaultLanguage is always there.
	Texts map[string]ChannelText
	// Members are the staff ids of the channel's team.
	Members []int64
	// Generation is the newest key generation (0: no key yet) and
	// Recipient its public key.
	Generation int
	Recipient  string
	// OfferIdentity: its report form offers the optional confidential
	// identity section (identity.go).
	OfferIdentity bool
	// AckDays is how many days after receipt its cases are to be
	// acknowledged by, and FeedbackMonths how many months after
	// acknowledgement the reporter is to be given feedback by
	// (deadline.go).
	AckDays        int
	FeedbackMonths int
}

// Text returns the channel's text in lang, or in DefaultLanguage.
func (c Channel) Text(lang string) ChannelText {
	if t, ok := c.Texts[lang]; ok {
		return t
	}
	return c.Texts[DefaultLanguage]
}

// IsMember reports whether staff is in the channel's team.
func (c Channel) IsMember(staff int64) bool {
	for _, m := range c.Members {
		if m == staff {
			return true
		}
	}
	return false
}

// ErrChannelHasNoDefaultText is returned when a channel's texts lack the
// default language.
var ErrChannelHasNoDefaultText = errors.New("a channel needs a name in the default language")

// Channels returns every channel, in the reporters' order, archived ones
// included.
func (db *DB) Channels(ctx context.Context) ([]Channel, error) { return db.channels(ctx, 0) }

// Channel returns one channel; ErrNotFound if there is none.
func (db *DB) Channel(ctx context.Context, id int64) (Channel, error) {
	if id <= 0 {
		return Channel{}, ErrNotFound
	}
	cs, err := db.channels(ctx, id)
	if err != nil {
		return Channel{}, err
	}
	if len(cs) == 0 {
		return Channel{}, ErrNotFound
	}
	return cs[0], nil
}

// channels reads channel id, or every channel if id is 0, with its texts,
// members and newest key: one query per table, whichever it is.
func (db *DB) channels(ctx context.Context, id int64) ([]Channel, error) {
	var out []Channel
	err := db.queryEach(ctx, `SELECT c.id, c.position, c.archived, c.offer_identity, c.ack_days, c.feedback_months,
		coalesce((SELECT max(k.generation) FROM channel_keys k WHERE k.channel_id = c.id), 0)
		FROM channels c WHERE `+oneOrAll("c.id")+` ORDER BY c.position, c.id`, id, func(rows *sql.Rows) error {
		c := Channel{Texts: map[string]ChannelText{}}
		out = append(out, c)
		last := &out[len(out)-1]
		return rows.Scan(&last.ID, &last.Position, &last.Archived, &last.OfferIdentity, &last.AckDays, &last.FeedbackMonths, &last.Generation)
	})
	if err != nil {
		return nil, fmt.Errorf("failed to list channels: %w", err)
	}
	byID := map[int64]*Channel{}
	for i := range out {
		byID[out[i].ID] = &out[i]
	}
	var cid int64
	err = db.queryEach(ctx, `SELECT channel_id, lang, name, description FROM channel_texts WHERE `+oneOrAll("channel_id"), id,
		func(rows *sql.Rows) error {
			var lang string
			var t ChannelText
			if err := rows.Scan(&cid, &lang, &t.Name, &t.Description); err != nil {
				return err
			}
			if c := byID[cid]; c != nil {
				c.Texts[lang] = t
			}
			return nil
		})
	if err == nil {
		err = db.queryEach(ctx, `SELECT channel_id, staff_id FROM channel_members WHERE `+oneOrAll("channel_id")+` ORDER BY staff_id`, id,
			func(rows *sql.Rows) error {
				var staff int64
				if err := rows.Scan(&cid, &staff); err != nil {
					return err
				}
				if c := byID[cid]; c != nil {
					c.Members = append(c.Members, staff)
				}
				return nil
			})
	}
	if err == nil {
		err = db.queryEach(ctx, `SELECT channel_id, generation, recipient FROM channel_keys WHERE `+oneOrAll("channel_id"), id,
			func(rows *sql.Rows) error {
				var gen int
				var rcpt string
				if err := rows.Scan(&cid, &gen, &rcpt); err != nil {
					return err
				}
				if c := byID[cid]; c != nil && gen == c.Generation {
					c.Recipient = rcpt
				}
				return nil
			})
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read channels: %w", err)
	}
	return out, nil
}

// oneOrAll is the condition that col is the query's one argument (?1),
// or any value if that argument is 0. The CAST gives the argument its
// type on PostgreSQL, which cannot infer one from `? IN (0, col)` (an
// integer and a bigint at once) and would infer a 32-bit integer from
// `?1 = 0`.
func oneOrAll(col string) string {
	return `(CAST(?1 AS BIGINT) = 0 OR ` + col + ` = ?1)`
}

// queryEach runs query with one argument and calls each for every row.
func (db *DB) queryEach(ctx context.Context, query string, arg any, each func(*sql.Rows) error) error {
	rows, err := db.r.QueryContext(ctx, query, arg)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// CreateChannel stores a new channel with its texts, at the end of the
// reporters' list, and returns its id.
func (db *DB) CreateChannel(ctx context.Context, texts map[string]ChannelText) (int64, error) {
	if _, ok := texts[DefaultLanguage]; !ok {
		return 0, ErrChannelHasNoDefaultText
	}
	now := db.Now().Unix()
	var id int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = insertReturningID(ctx, tx, `INSERT INTO channels (position, created_at, updated_at)
			VALUES ((SELECT coalesce(max(position), 0) + 1 FROM channels), ?, ?)`, now, now)
		if err != nil {
			return err
		}
		return setChannelTexts(ctx, tx, id, texts)
	})
	if err != nil {
		return 0, fmt.Errorf("failed to create channel: %w", err)
	}
	return id, nil
}

// UpdateChannel replaces a channel's texts and sets whether it is archived
// (an archived channel takes no new reports; its cases stay).
func (db *DB) UpdateChannel(ctx context.Context, id int64, texts map[string]ChannelText, archived bool) error {
	if _, ok := texts[DefaultLanguage]; !ok {
		return ErrChannelHasNoDefaultText
	}
	return db.write(ctx, func(tx *sql.Tx) error {
		if err := execOneTx(ctx, tx, `UPDATE channels SET archived = ?, updated_at = ? WHERE id = ?`,
			b2i(archived), db.Now().Unix(), id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM channel_texts WHERE channel_id = ?`, id); err != nil {
			return err
		}
		return setChannelTexts(ctx, tx, id, texts)
	})
}

func setChannelTexts(ctx context.Context, tx *sql.Tx, id int64, texts map[string]ChannelText) error {
	for lang, t := range texts {
		if _, err := tx.ExecContext(ctx, `INSERT INTO channel_texts (channel_id, lang, name, description) VALUES (?, ?, ?, ?)`,
			id, lang, t.Name, t.Description); err != nil {
			return err
		}
	}
	return nil
}

// AddChannelMember puts a staff member in a channel's team. They read its
// cases once someone grants them its keys (AddChannelKeyWraps).
// Someone excluded from the channel (ExcludeFromChannel) cannot be added:
// ErrExcluded; nor can a statistics account: ErrStatisticsOnly.
func (db *DB) AddChannelMember(ctx context.Context, channel, staff int64) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		var excluded, statistics bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM channel_exclusions WHERE channel_id = ? AND staff_id = ?),
			EXISTS (SELECT 1 FROM staff WHERE id = ? AND role = ?)`,
			channel, staff, staff, RoleStatistics).Scan(&excluded, &statistics); err != nil {
			return err
		}
		if excluded {
			return ErrExcluded
		}
		if statistics {
			return ErrStatisticsOnly
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO channel_members (channel_id, staff_id) VALUES (?, ?)
			ON CONFLICT (channel_id, staff_id) DO NOTHING`, channel, staff)
		return err
	})
}

// RemoveChannelMember takes a staff member out of a channel's team and
// deletes every key of the channel wrapped to them. What they may have
// kept of earlier generations still opens earlier cases; a new generation
// (AddChannelKey, made without them) keeps them out of later ones.
func (db *DB) RemoveChannelMember(ctx context.Context, channel, staff int64) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		if err := execOneTx(ctx, tx, `DELETE FROM channel_members WHERE channel_id = ? AND staff_id = ?`, channel, staff); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM channel_key_wraps WHERE channel_id = ? AND staff_id = ?`, channel, staff)
		return err
	})
}

// ErrStaleGeneration is returned when a new key generation is offered
// for a channel whose newest generation is not the one it was made
// against: someone else made one meanwhile.
var ErrStaleGeneration = errors.New("the channel's key changed meanwhile")

// AddChannelKey stores a new key generation for a channel, made in a
// browser: its public key, and its identity wrapped to each member (by
// staff id). previous is the generation it replaces (0 for the first);
// every member must have a wrap, and nobody else.
func (db *DB) AddChannelKey(ctx context.Context, channel int64, previous int, recipient string, wraps map[int64][]byte) (int, error) {
	gen := previous + 1
	err := db.write(ctx, func(tx *sql.Tx) error {
		var newest int
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(generation), 0) FROM channel_keys WHERE channel_id = ?`, channel).Scan(&newest); err != nil {
			return err
		}
		if newest != previous {
			return ErrStaleGeneration
		}
		if err := checkWrapsCoverMembers(ctx, tx, channel, wraps); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO channel_keys (channel_id, generation, recipient, created_at) VALUES (?, ?, ?, ?)`,
			channel, gen, recipient, db.Now().Unix()); err != nil {
			return err
		}
		for staff, w := range wraps {
			if _, err := tx.ExecContext(ctx, `INSERT INTO channel_key_wraps (channel_id, generation, staff_id, wrapped) VALUES (?, ?, ?, ?)`,
				channel, gen, staff, w); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("failed to add a channel key: %w", err)
	}
	return gen, nil
}

// ErrWrapsDoNotMatchMembers is returned when the wraps offered for a new
// generation are not exactly one per member.
var ErrWrapsDoNotMatchMembers = errors.New("the channel's key must be wrapped to every member and nobody else")

func checkWrapsCoverMembers(ctx context.Context, tx *sql.Tx, channel int64, wraps map[int64][]byte) error {
	rows, err := tx.QueryContext(ctx, `SELECT staff_id FROM channel_members WHERE channel_id = ?`, channel)
	if err != nil {
		return err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var staff int64
		if err := rows.Scan(&staff); err != nil {
			return err
		}
		if _, ok := wraps[staff]; !ok {
			return ErrWrapsDoNotMatchMembers
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n != len(wraps) {
		return ErrWrapsDoNotMatchMembers
	}
	return nil
}

// AddChannelKeyWraps stores, for one member, the channel's identities of
// the given generations wrapped to their own key: the grant that lets a
// member who joined read the channel's existing cases. Wraps already
// there are replaced.
func (db *DB) AddChannelKeyWraps(ctx context.Context, channel, staff int64, wraps map[int][]byte) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		var member bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM channel_members WHERE channel_id = ? AND staff_id = ?)`,
			channel, staff).Scan(&member); err != nil {
			return err
		}
		if !member {
			return ErrNotFound
		}
		for gen, w := range wraps {
			if _, err := tx.ExecContext(ctx, `INSERT INTO channel_key_wraps (channel_id, generation, staff_id, wrapped) VALUES (?, ?, ?, ?)
				ON CONFLICT (channel_id, generation, staff_id) DO UPDATE SET wrapped = excluded.wrapped`,
				channel, gen, staff, w); err != nil {
				return err
			}
		}
		return nil
	})
}

// ChannelKeyWraps returns the channel's identities wrapped to one staff
// member, by generation.
func (db *DB) ChannelKeyWraps(ctx context.Context, channel, staff int64) (map[int][]byte, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT generation, wrapped FROM channel_key_wraps WHERE channel_id = ? AND staff_id = ?`, channel, staff)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int][]byte{}
	for rows.Next() {
		var gen int
		var w []byte
		if err := rows.Scan(&gen, &w); err != nil {
			return nil, err
		}
		out[gen] = w
	}
	return out, rows.Err()
}

// SetStaffRecipient records a staff member's own age public key.
func (db *DB) SetStaffRecipient(ctx context.Context, staff int64, recipient string) error {
	return db.execOne(ctx, `UPDATE staff SET age_recipient = ?, updated_at = ? WHERE id = ?`, recipient, db.Now().Unix(), staff)
}

// IsChannelMember reports whether a staff member is in a channel's team.
func (db *DB) IsChannelMember(ctx context.Context, channel, staff int64) (bool, error) {
	var member bool
	err := db.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM channel_members WHERE channel_id = ? AND staff_id = ?)`,
		channel, staff).Scan(&member)
	return member, err
}
