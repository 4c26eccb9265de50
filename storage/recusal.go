package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Recusal is a declared conflict of interest: a staff member kept away from
// a channel or a case, and why.
type Recusal struct {
	StaffID  int64
	Username string
	Reason   string
}

// ErrExcluded is returned when a staff member excluded from a channel is
// to be added to it.
var ErrExcluded = errors.New("excluded from this channel")

// ErrStillMember is returned when a member of a channel is to be excluded
// from it: they must first be removed, which (for a channel with a key)
// makes a new key without them.
var ErrStillMember = errors.New("still a member of this channel")

// ExcludeFromChannel records that a staff member must never be in a
// channel's team, and why. They must not be a member.
func (db *DB) ExcludeFromChannel(ctx context.Context, channel, staff int64, reason string) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		var member bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM channel_members WHERE channel_id = ? AND staff_id = ?)`,
			channel, staff).Scan(&member); err != nil {
			return err
		}
		if member {
			return ErrStillMember
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO channel_exclusions (channel_id, staff_id, reason) VALUES (?, ?, ?)
			ON CONFLICT (channel_id, staff_id) DO UPDATE SET reason = excluded.reason`,
			channel, staff, reason)
		return err
	})
}

// EndChannelExclusion lifts an exclusion.
func (db *DB) EndChannelExclusion(ctx context.Context, channel, staff int64) error {
	return db.execOne(ctx, `DELETE FROM channel_exclusions WHERE channel_id = ? AND staff_id = ?`, channel, staff)
}

// ChannelExclusions lists who is excluded from a channel.
func (db *DB) ChannelExclusions(ctx context.Context, channel int64) ([]Recusal, error) {
	return db.recusals(ctx, `SELECT e.staff_id, s.username, e.reason FROM channel_exclusions e
		JOIN staff s ON s.id = e.staff_id WHERE e.channel_id = ? ORDER BY `+db.orderByUsername("s.username"), channel)
}

// RecuseFromCase records that a staff member must not see a case, and why.
func (db *DB) RecuseFromCase(ctx context.Context, caseID, staff int64, reason string) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO case_recusals (case_id, staff_id, reason) VALUES (?, ?, ?)
			ON CONFLICT (case_id, staff_id) DO UPDATE SET reason = excluded.reason`,
			caseID, staff, reason)
		return err
	})
}

// CaseRecusals lists who is recused from a case.
func (db *DB) CaseRecusals(ctx context.Context, caseID int64) ([]Recusal, error) {
	return db.recusals(ctx, `SELECT r.staff_id, s.username, r.reason FROM case_recusals r
		JOIN staff s ON s.id = r.staff_id WHERE r.case_id = ? ORDER BY `+db.orderByUsername("s.username"), caseID)
}

func (db *DB) recusals(ctx context.Context, query string, id int64) ([]Recusal, error) {
	rows, err := db.r.QueryContext(ctx, query, id)
	if err != nil {
		return nil, fmt.Errorf("failed to list recusals: %w", err)
	}
	defer rows.Close()
	var out []Recusal
	for rows.Next() {
		var r Recusal
		if err := rows.Scan(&r.StaffID, &r.Username, &r.Reason); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CanSeeCase reports whether a staff member may see a case at all: they
// are in its channel's team and not recused from it.
func (db *DB) CanSeeCase(ctx context.Context, c Case, staff int64) (bool, error) {
	var ok bool
	err := db.r.QueryRowContext(ctx, `SELECT
		EXISTS (SELECT 1 FROM channel_members WHERE channel_id = ? AND staff_id = ?) AND
		NOT EXISTS (SELECT 1 FROM case_recusals WHERE case_id = ? AND staff_id = ?)`,
		c.ChannelID, staff, c.ID, staff).Scan(&ok)
	return ok, err
}
