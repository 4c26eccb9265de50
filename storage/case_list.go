package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
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

	// The case's place in the list's order, for the cursors of its page.
	activitySeq int64
	nextDue     sql.NullInt64
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

// CountCap is how far CountCases counts: beyond it, the inbox says "more
// than 10,000 cases" instead of walking every case that matches.
const CountCap = 10_000

// Pager says where the neighbouring pages of a list of cases begin: the
// zero Cursor where there is none.
type Pager struct {
	Newer, Older Cursor
}

// caseQuery is the WHERE clause of f (from constant fragments, values
// bound) and its arguments.
func (db *DB) caseQuery(f CaseFilter) (string, []any) {
	// Only the filters in use are in the query, so that SQLite can walk
	// an index without testing a condition on each of many thousand
	// cases.
	//
	// In the deadline order, the walk is always the index of that order
	// (cases_next_due): a "+" before a column keeps SQLite from reading
	// the cases of a status, assignee or channel through their own index
	// and then sorting them all by deadline.
	var conds []string
	var args []any
	col := func(name string) string {
		if f.ByDeadline {
			return db.notIndexed("c." + name)
		}
		return "c." + name
	}
	if f.Status != "" {
		conds, args = append(conds, col("status")+` = ?`), append(args, f.Status)
	}
	switch {
	case f.AssigneeID == -1:
		conds = append(conds, col("assignee_id")+` IS NULL`)
	case f.AssigneeID != 0:
		conds, args = append(conds, col("assignee_id")+` = ?`), append(args, f.AssigneeID)
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
		conds, args = append(conds, col("channel_id")+` = ?`), append(args, f.ChannelID)
	}
	if !f.ReceivedFrom.IsZero() {
		conds, args = append(conds, col("created_at")+` >= ?`), append(args, f.ReceivedFrom.UTC().Truncate(Coarseness).Unix())
	}
	if !f.ReceivedTo.IsZero() {
		conds, args = append(conds, col("created_at")+` < ?`), append(args, f.ReceivedTo.UTC().Truncate(Coarseness).Add(Coarseness).Unix())
	}
	if !f.AllChannels {
		// "+": a test of each case walked, never the index to walk (the
		// planner, without statistics, would walk cases_inbox_channel
		// channel by channel and then sort every case of the viewer's).
		conds = append(conds, db.notIndexed("c.channel_id")+` IN (SELECT channel_id FROM channel_members WHERE staff_id = ?)`,
			`c.id NOT IN (SELECT case_id FROM case_recusals WHERE staff_id = ?)`)
		args = append(args, f.ViewerID, f.ViewerID)
	}
	if len(conds) == 0 {
		return `1 = 1`, nil
	}
	return strings.Join(conds, ` AND `), args
}

// notIndexed is expr as a condition's operand that SQLite must not pick
// an index by: SQLite reads a unary "+" as "not this column's index". On
// PostgreSQL there is no such hint ("+" is refused on text), and its
// planner weighs the indexes by their statistics: expr as it is.
func (db *DB) notIndexed(expr string) string {
	if db.pg {
		return expr
	}
	return "+" + expr
}

// CountCases counts the cases f selects, up to max: it returns max and
// true if there are more. It stops at the first case past max, so that
// the count costs at most as much as walking max+1 cases of the index the
// filters use, however many cases there are.
func (db *DB) CountCases(ctx context.Context, f CaseFilter, max int) (int, bool, error) {
	where, args := db.caseQuery(f)
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM cases c WHERE `+where+` LIMIT ?) AS capped`,
		append(args, max+1)...).Scan(&n); err != nil {
		return 0, false, fmt.Errorf("failed to count cases: %w", err)
	}
	if n > max {
		return max, true, nil
	}
	return n, false, nil
}

// ErrCursorOrder is ListCases' answer to a cursor made for the other
// order: the caller shows the first page instead.
var ErrCursorOrder = errors.New("the cursor is of the other order")

// ListCases returns at most limit cases, newest activity first (or open
// cases by deadline, f.ByDeadline), filtered: the first page for the zero
// Cursor, otherwise the page after (older) or before (newer) the case the
// cursor names; and where the neighbouring pages begin. A page is found by
// its key in the order's index (keyset pagination), never by skipping
// rows, so any page costs what the first does. It reads indexes only, and
// the table for the rows returned, never ciphertext (but the summaries
// with f.WithSummary).
//
// A page before the first full one is the first page: going back never
// ends on a short page. A cursor whose case has gone (deleted, or moved
// by new activity) still works: it names a place in the order, not a row.
func (db *DB) ListCases(ctx context.Context, f CaseFilter, at Cursor, limit int) ([]CaseSummary, Pager, error) {
	if at.set && at.byDeadline != f.ByDeadline {
		return nil, Pager{}, ErrCursorOrder
	}
	limit = max(limit, 1)
	if !at.set {
		cases, more, err := db.listFrom(ctx, f, at, limit)
		if err != nil {
			return nil, Pager{}, err
		}
		var p Pager
		if more {
			p.Older = cursorAfter(f.ByDeadline, cases[len(cases)-1], false)
		}
		return cases, p, nil
	}
	cases, more, err := db.listFrom(ctx, f, at, limit)
	if err != nil {
		return nil, Pager{}, err
	}
	if at.before && !more {
		// Back at the start: the first page, full.
		return db.ListCases(ctx, f, Cursor{}, limit)
	}
	var p Pager
	switch {
	case at.before:
		p.Newer = cursorAfter(f.ByDeadline, cases[0], true)
		p.Older = cursorAfter(f.ByDeadline, cases[len(cases)-1], false)
	case len(cases) == 0:
		// Past the end (the cases after the cursor went): the way back.
		p.Newer = at
		p.Newer.before = true
	default:
		p.Newer = cursorAfter(f.ByDeadline, cases[0], true)
		if more {
			p.Older = cursorAfter(f.ByDeadline, cases[len(cases)-1], false)
		}
	}
	return cases, p, nil
}

// listFrom reads the page at at: limit cases in the list's order, and
// whether there are more beyond them in the direction read.
func (db *DB) listFrom(ctx context.Context, f CaseFilter, at Cursor, limit int) ([]CaseSummary, bool, error) {
	query, args := db.listSQL(f, at, limit)
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, false, fmt.Errorf("failed to list cases: %w", err)
	}
	defer rows.Close()
	today := db.coarseNow()
	var out []CaseSummary
	for rows.Next() {
		var c CaseSummary
		var created, updated int64
		var ackBy, acked, feedbackBy sql.NullInt64
		if err := rows.Scan(&c.ID, &c.Ref, &c.Status, &created, &updated, &c.Messages, &c.Assignee, &c.Unread, &c.ChannelID, &c.Outcome,
			&ackBy, &acked, &feedbackBy, &c.activitySeq, &c.nextDue, &c.Summary, &c.ChannelGeneration); err != nil {
			return nil, false, fmt.Errorf("failed to read a case of the list: %w", err)
		}
		c.CreatedAt, c.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
		d := Deadlines{AckBy: dayOf(ackBy), Acknowledged: dayOf(acked), FeedbackBy: dayOf(feedbackBy)}
		c.Deadline = d.Next(c.Status, time.Unix(today, 0).UTC())
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("failed to list cases: %w", err)
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	if at.before {
		slices.Reverse(out)
	}
	return out, more, nil
}

// listSQL is the query of listFrom and its arguments: limit+1 cases, to
// tell whether there are more.
func (db *DB) listSQL(f CaseFilter, at Cursor, limit int) (string, []any) {
	where, args := db.caseQuery(f)
	// In the order of the index cases_inbox and its siblings (migration
	// 0020), or reversed to read the page before a cursor.
	order := `c.updated_at DESC, c.staff_activity_seq DESC, c.id DESC`
	if at.before {
		order = `c.updated_at, c.staff_activity_seq, c.id`
	}
	if f.ByDeadline {
		// In the order of the index cases_next_due, whose condition
		// this repeats so that SQLite may walk it.
		// NULL (no deadline) first, as SQLite orders it by default and
		// the cursors below assume: PostgreSQL puts NULL last ascending
		// unless told. SQLite reads these NULLS clauses as its default
		// order, so its plan is the same.
		order = nextDueSQL + ` NULLS FIRST, c.id`
		if at.before {
			order = nextDueSQL + ` DESC NULLS LAST, c.id DESC`
		}
	}
	if at.set {
		// A row value compared with the cursor's key is a range of the
		// index SQLite walks, not a test of every row. On an expression
		// (the next deadline) SQLite takes a range only from a plain
		// comparison, hence the ">=" before the row value.
		var cond string
		switch {
		case !f.ByDeadline && !at.before:
			cond, args = `(c.updated_at, c.staff_activity_seq, c.id) < (?, ?, ?)`, append(args, at.a, at.b, at.id)
		case !f.ByDeadline:
			cond, args = `(c.updated_at, c.staff_activity_seq, c.id) > (?, ?, ?)`, append(args, at.a, at.b, at.id)
		// A case with no deadline (NULL; none since 0016, but the
		// order allows it) comes first in ascending order. The page before
		// a cursor leaves such cases out: it reaches them only when it
		// reaches the start, and then ListCases gives the first page.
		case at.noDue && !at.before:
			cond, args = `(`+nextDueSQL+` IS NOT NULL OR c.id > ?)`, append(args, at.id)
		case at.noDue:
			cond, args = `(`+nextDueSQL+` IS NULL AND c.id < ?)`, append(args, at.id)
		case !at.before:
			cond, args = nextDueSQL+` >= ? AND (`+nextDueSQL+`, c.id) > (?, ?)`, append(args, at.a, at.a, at.id)
		default:
			cond, args = nextDueSQL+` <= ? AND (`+nextDueSQL+`, c.id) < (?, ?)`, append(args, at.a, at.a, at.id)
		}
		where += ` AND ` + cond
	}
	summary := `NULL, 0`
	if f.WithSummary {
		summary = `c.summary, c.channel_generation`
	}
	return `SELECT c.id, c.ref, c.status, c.created_at, c.updated_at,
		        (SELECT count(*) FROM messages m WHERE m.case_id = c.id),
		        coalesce(s.username, ''),
		        coalesce((SELECT max(m.seq) FROM messages m WHERE m.case_id = c.id), 0) >
		            coalesce((SELECT r.last_message_id FROM case_reads r WHERE r.staff_id = ? AND r.case_id = c.id), 0),
		        c.channel_id, coalesce(o.label, ''), c.ack_by_day, c.acknowledged_day, c.feedback_by_day,
		        c.staff_activity_seq, ` + nextDueSQL + `, ` + summary + `
		 FROM cases c LEFT JOIN staff s ON s.id = c.assignee_id LEFT JOIN outcomes o ON o.id = c.outcome_id
		 WHERE ` + where + `
		 ORDER BY ` + order + ` LIMIT ?`, append(append([]any{f.ViewerID}, args...), limit+1)
}
