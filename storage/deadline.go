package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Deadlines (migration 0016): a case is to be acknowledged by a day (its
// channel's AckDays after it was received), and once acknowledged the
// reporter is to be given feedback by a day (the channel's FeedbackMonths
// after acknowledgement), which staff may extend. Every date is a day
// (midnight UTC), like every case time: a deadline is met on its day and
// overdue from the next. A closed case has no deadline; reopened, it has
// its old ones again.

// Defaults and bounds of a channel's deadlines.
const (
	DefaultAckDays        = 7
	DefaultFeedbackMonths = 3
	MaxAckDays            = 365
	MaxFeedbackMonths     = 24
)

// DueSoonDays is how near a deadline is "due": on a day from today to
// DueSoonDays days after it.
const DueSoonDays = 2

// Kinds of deadline.
const (
	DeadlineAcknowledge = "acknowledge"
	DeadlineFeedback    = "feedback"
)

// States of a deadline.
const (
	DeadlineDue     = "due"
	DeadlineOverdue = "overdue"
)

var (
	// ErrAlreadyAcknowledged is returned when acknowledging a case that
	// was acknowledged before.
	ErrAlreadyAcknowledged = errors.New("the case was already acknowledged")
	// ErrNotAcknowledged is returned when extending the feedback date of a
	// case not acknowledged yet: it has none.
	ErrNotAcknowledged = errors.New("the case has not been acknowledged yet")
	// ErrBadExtension is returned for a feedback date that is not later
	// than the current one, or more than MaxFeedbackMonths after
	// acknowledgement.
	ErrBadExtension = errors.New("the new feedback date must be later than the current one and at most 24 months after acknowledgement")
	// ErrBadDeadlines is returned for channel deadlines out of bounds.
	ErrBadDeadlines = errors.New("deadlines out of bounds")
)

// Deadline is the next deadline of a case.
type Deadline struct {
	Kind  string    // DeadlineAcknowledge or DeadlineFeedback; "" if none (closed)
	By    time.Time // the day
	State string    // DeadlineDue, DeadlineOverdue, or "" (later)
}

// Overdue reports whether the deadline has passed.
func (d Deadline) Overdue() bool { return d.State == DeadlineOverdue }

// Due reports whether the deadline is near (DueSoonDays) but not past.
func (d Deadline) Due() bool { return d.State == DeadlineDue }

// Deadlines are a case's deadline days; zero times for those not set.
type Deadlines struct {
	AckBy        time.Time
	Acknowledged time.Time
	FeedbackBy   time.Time
}

// Next returns the deadline that a case with status has next, as of
// today (a day).
func (d Deadlines) Next(status string, today time.Time) Deadline {
	var out Deadline
	switch {
	case status == StatusClosed:
		return out
	case d.Acknowledged.IsZero():
		out.Kind, out.By = DeadlineAcknowledge, d.AckBy
	default:
		out.Kind, out.By = DeadlineFeedback, d.FeedbackBy
	}
	if out.By.IsZero() {
		return Deadline{}
	}
	switch {
	case out.By.Before(today):
		out.State = DeadlineOverdue
	case !out.By.After(today.AddDate(0, 0, DueSoonDays)):
		out.State = DeadlineDue
	}
	return out
}

// nextDueSQL is a case's next deadline day (c: the cases table) in SQL,
// as in Deadlines.Next; its index (cases_next_due) is of open cases.
const nextDueSQL = `(CASE WHEN c.acknowledged_day IS NULL THEN c.ack_by_day ELSE c.feedback_by_day END)`

// Today is the current day (midnight UTC) by the database's clock.
func (db *DB) Today() time.Time { return time.Unix(db.coarseNow(), 0).UTC() }

// dayOf turns a nullable day column into a time (zero if NULL).
func dayOf(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.Unix(v.Int64, 0).UTC()
}

// AcknowledgeCase records that a case was acknowledged today, and sets its
// feedback date from its channel's FeedbackMonths; ErrAlreadyAcknowledged
// if it was before. A staff reply acknowledges a case too (the server
// calls this in the reply's change, ignoring ErrAlreadyAcknowledged).
func (db *DB) AcknowledgeCase(ctx context.Context, caseID int64) (Deadlines, error) {
	today := db.Today()
	var d Deadlines
	err := db.write(ctx, func(tx *sql.Tx) error {
		var ackBy, acked sql.NullInt64
		var months int
		err := tx.QueryRowContext(ctx, `SELECT c.ack_by_day, c.acknowledged_day,
			coalesce((SELECT ch.feedback_months FROM channels ch WHERE ch.id = c.channel_id), ?)
			FROM cases c WHERE c.id = ?`, DefaultFeedbackMonths, caseID).Scan(&ackBy, &acked, &months)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if acked.Valid {
			return ErrAlreadyAcknowledged
		}
		d = Deadlines{AckBy: dayOf(ackBy), Acknowledged: today, FeedbackBy: today.AddDate(0, months, 0)}
		if err := execOneTx(ctx, tx, `UPDATE cases SET acknowledged_day = ?, feedback_by_day = ? WHERE id = ?`,
			d.Acknowledged.Unix(), d.FeedbackBy.Unix(), caseID); err != nil {
			return err
		}
		return db.touchStaffActivity(ctx, tx, caseID)
	})
	if err != nil {
		return Deadlines{}, fmt.Errorf("failed to acknowledge the case: %w", err)
	}
	return d, nil
}

// ExtendFeedback moves an acknowledged case's feedback date to by (a day,
// later than the current one and at most MaxFeedbackMonths after
// acknowledgement). The reason is the caller's to record (the audit
// trail): it is not stored with the case.
func (db *DB) ExtendFeedback(ctx context.Context, caseID int64, by time.Time) error {
	by = by.UTC().Truncate(Coarseness)
	err := db.write(ctx, func(tx *sql.Tx) error {
		var acked, current sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT acknowledged_day, feedback_by_day FROM cases WHERE id = ?`, caseID).Scan(&acked, &current)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if !acked.Valid {
			return ErrNotAcknowledged
		}
		if !by.After(dayOf(current)) || by.After(dayOf(acked).AddDate(0, MaxFeedbackMonths, 0)) {
			return ErrBadExtension
		}
		if err := execOneTx(ctx, tx, `UPDATE cases SET feedback_by_day = ? WHERE id = ?`, by.Unix(), caseID); err != nil {
			return err
		}
		return db.touchStaffActivity(ctx, tx, caseID)
	})
	if err != nil {
		return fmt.Errorf("failed to extend the feedback date: %w", err)
	}
	return nil
}

// SetChannelDeadlines sets how many days a channel's new cases have to be
// acknowledged (1 to MaxAckDays) and how many months after acknowledgement
// feedback is due (1 to MaxFeedbackMonths). Cases already received keep
// their acknowledge-by day; the months apply to acknowledgements made
// from now on.
func (db *DB) SetChannelDeadlines(ctx context.Context, channel int64, ackDays, feedbackMonths int) error {
	if ackDays < 1 || ackDays > MaxAckDays || feedbackMonths < 1 || feedbackMonths > MaxFeedbackMonths {
		return ErrBadDeadlines
	}
	return db.execOne(ctx, `UPDATE channels SET ack_days = ?, feedback_months = ?, updated_at = ? WHERE id = ?`,
		ackDays, feedbackMonths, db.Now().Unix(), channel)
}
