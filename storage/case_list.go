package storage

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// CaseSummary is one row of the staff inbox: what the database knows of a
// case without decrypting anything.
type CaseSummary struct {
	ID        int64
	Ref       string
	Status    string
	CreatedAt time.Time
	UpdatedAt time.Time
	Messages  int
	Assignee  string // username, or empty
	Unread    bool   // a message arrived since the viewer last opened the case
	ChannelID int64  // the channel the case was sent to
	Outcome   string // the outcome category of a closed case, or empty
	// Deadline is the case's next deadline as of today (deadline.go).
	Deadline Deadline
	// Summary is the case's encrypted inbox summary (an age file), only
	// when CaseFilter.WithSummary asks for it; nil for a case received
	// before summaries were kept (summary.go).
	Summary []byte
	// ChannelGeneration is the channel key generation the case's report
	// was sealed to, also only with CaseFilter.WithSummary.
	ChannelGeneration int
}

// CaseFilter selects inbox rows. Zero values select everything.
type CaseFilter struct {
	Status     string
	AssigneeID int64 // 0: anyone; -1: no one; otherwise that staff member
	ViewerID   int64 // whose unread markers to compute
	// AllChannels lists every channel's cases; otherwise only those of
	// the channels ViewerID is a member of, less those they are recused
	// from (the default: a staff member never sees another team's cases).
	AllChannels bool
	// Deadline, if DeadlineOverdue or DeadlineDue, selects the open cases
	// whose next deadline is in that state.
	Deadline string
	// ByDeadline lists open cases only (a closed case has no deadline),
	// by their next deadline, soonest (most overdue) first; otherwise
	// cases are listed newest activity first: by the day of their last
	// activity, then within a day by their last staff-side event
	// (summary.go).
	ByDeadline bool
	// ChannelID, if not 0, selects the cases of that channel (still only
	// if the viewer may see them).
	ChannelID int64
	// ReceivedFrom and ReceivedTo, if not zero, select the cases received
	// on or after the day of ReceivedFrom and on or before the day of
	// ReceivedTo (UTC days, as created_at is stored).
	ReceivedFrom, ReceivedTo time.Time
	// WithSummary reads each row's Summary and ChannelGeneration too (the
	// table, not only the inbox's indexes, for the rows returned).
	WithSummary bool
}

// ListCases returns cases newest activity first, filtered, skipping offset
// and returning at most limit, and the total that match. It reads indexes
// and counts only, never ciphertext.
func (db *DB) ListCases(ctx context.Context, f CaseFilter, offset, limit int) ([]CaseSummary, int, error) {
	// Only the filters in use are in the query (from constant fragments,
	// values bound), so that SQLite can count and walk an index without
	// testing a condition on each of many thousand cases.
	var conds []string
	var args []any
	if f.Status != "" {
		conds, args = append(conds, `c.status = ?`), append(args, f.Status)
	}
	switch {
	case f.AssigneeID == -1:
		conds = append(conds, `c.assignee_id IS NULL`)
	case f.AssigneeID != 0:
		conds, args = append(conds, `c.assignee_id = ?`), append(args, f.AssigneeID)
	}
	today := db.coarseNow()
	switch f.Deadline {
	case DeadlineOverdue:
		conds, args = append(conds, `c.status <> 'closed' AND `+nextDueSQL+` < ?`), append(args, today)
	case DeadlineDue:
		conds, args = append(conds, `c.status <> 'closed' AND `+nextDueSQL+` BETWEEN ? AND ?`),
			append(args, today, time.Unix(today, 0).UTC().AddDate(0, 0, DueSoonDays).Unix())
	}
	if f.ByDeadline {
		conds = append(conds, `c.status <> 'closed'`)
	}
	if f.ChannelID != 0 {
		conds, args = append(conds, `c.channel_id = ?`), append(args, f.ChannelID)
	}
	if !f.ReceivedFrom.IsZero() {
		conds, args = append(conds, `c.created_at >= ?`), append(args, f.ReceivedFrom.UTC().Truncate(Coarseness).Unix())
	}
	if !f.ReceivedTo.IsZero() {
		conds, args = append(conds, `c.created_at < ?`), append(args, f.ReceivedTo.UTC().Truncate(Coarseness).Add(Coarseness).Unix())
	}
	if !f.AllChannels {
		conds = append(conds, `c.channel_id IN (SELECT channel_id FROM channel_members WHERE staff_id = ?)`,
			`c.id NOT IN (SELECT case_id FROM case_recusals WHERE staff_id = ?)`)
		args = append(args, f.ViewerID, f.ViewerID)
	}
	where := `1`
	if len(conds) > 0 {
		where = strings.Join(conds, ` AND `)
	}
	var total int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM cases c WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("failed to count cases: %w", err)
	}
	// In the order of the index cases_inbox (migration 0020).
	order := `c.updated_at DESC, c.staff_activity_seq DESC, c.id DESC`
	if f.ByDeadline {
		// In the order of the index cases_next_due, whose condition
		// this repeats so that SQLite may walk it.
		order = nextDueSQL + `, c.id`
	}
	summary := `NULL, 0`
	if f.WithSummary {
		summary = `c.summary, c.channel_generation`
	}
	rows, err := db.r.QueryContext(ctx,
		`SELECT c.id, c.ref, c.status, c.created_at, c.updated_at,
		        (SELECT count(*) FROM messages m WHERE m.case_id = c.id),
		        coalesce(s.username, ''),
		        coalesce((SELECT max(m.seq) FROM messages m WHERE m.case_id = c.id), 0) >
		            coalesce((SELECT r.last_message_id FROM case_reads r WHERE r.staff_id = ? AND r.case_id = c.id), 0),
		        c.channel_id, coalesce(o.label, ''), c.ack_by_day, c.acknowledged_day, c.feedback_by_day, `+summary+`
		 FROM cases c LEFT JOIN staff s ON s.id = c.assignee_id LEFT JOIN outcomes o ON o.id = c.outcome_id
		 WHERE `+where+`
		 ORDER BY `+order+` LIMIT ? OFFSET ?`,
		append(append([]any{f.ViewerID}, args...), limit, offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("failed to list cases: %w", err)
	}
	defer rows.Close()
	var out []CaseSummary
	for rows.Next() {
		var c CaseSummary
		var created, updated int64
		var ackBy, acked, feedbackBy sql.NullInt64
		if err := rows.Scan(&c.ID, &c.Ref, &c.Status, &created, &updated, &c.Messages, &c.Assignee, &c.Unread, &c.ChannelID, &c.Outcome,
			&ackBy, &acked, &feedbackBy, &c.Summary, &c.ChannelGeneration); err != nil {
			return nil, 0, err
		}
		c.CreatedAt, c.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
		d := Deadlines{AckBy: dayOf(ackBy), Acknowledged: dayOf(acked), FeedbackBy: dayOf(feedbackBy)}
		c.Deadline = d.Next(c.Status, time.Unix(today, 0).UTC())
		out = append(out, c)
	}
	return out, total, rows.Err()
}
