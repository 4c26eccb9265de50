package storage

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"
)

// The yearly figures (issue 13): what a watchdog publishes about the
// reports it received, computed from what the database keeps in clear for
// the workflow (the day a case was received, its channel, status, outcome
// category, deadline days and closing day), never from ciphertext; the
// closing day is cases.closed_at, the day of the last closing of a case
// still closed (reopening clears it), so the audit trail need not be read.
// Each figure is about the cases received in a calendar year (UTC) that
// are still in the database: a case deleted (by retention, by its reporter
// or by hand) leaves the figures with it.
//
// Small counts can single out a reporter (the one report from a small
// force, in March), so a count from 1 to 4 is never given: it is
// suppressed, and whatever would give it away is withheld (suppress). A
// share or a percentile computed over fewer than MinShown cases is not
// given either.

// MinShown is the smallest count the statistics show: counts from 1 to
// MinShown-1 are suppressed ("fewer than 5"). Zero is shown.
const MinShown = 5

// MinP90 is the fewest values a 90th percentile is given over: with fewer,
// the nearest rank is the largest value, a single case's.
const MinP90 = 10

// AckWithinDays is the acknowledgement the statistics measure against:
// the seven days of the EU Whistleblowing Directive (Article 9(1)(b)),
// whatever each channel's own acknowledge-by setting.
const AckWithinDays = 7

// Why a Figure is not shown.
const (
	// Suppressed: a count from 1 to 4 ("fewer than 5").
	Suppressed = "suppressed"
	// Withheld: a count of 5 or more, or a share, hidden because it would
	// give a suppressed count away (suppress).
	Withheld = "withheld"
	// FewCases: a share or percentile over 1 to 4 cases.
	FewCases = "few"
	// NoCases: a share or percentile over no case at all.
	NoCases = "none"
)

// Figure is one number of the statistics as it may be shown: N, unless
// Hidden says why not (then N is 0, so that the true value cannot leak
// from a figure that is hidden).
type Figure struct {
	N      int
	Hidden string // "", Suppressed, Withheld, FewCases or NoCases
}

// Shown reports whether the figure's number may be shown.
func (f Figure) Shown() bool { return f.Hidden == "" }

// LabelledFigure is a count for one channel or outcome category.
type LabelledFigure struct {
	ID    int64 // the channel's or outcome's id; 0 for "none recorded"
	Label string
	Figure
}

// Percentiles are the median and 90th percentile of a number of days,
// by the nearest-rank method (Percentile).
type Percentiles struct {
	Median, P90 Figure
}

// Statistics are the figures of one calendar year.
type Statistics struct {
	// Year is the calendar year (UTC).
	Year int
	// Today is the day "as of today" figures are computed on.
	Today time.Time
	// Years are the years that may be chosen, newest first: from the
	// year of the oldest case still held to the current year (and Year).
	Years []int

	// Received is how many cases were received in the period.
	Received Figure
	// ByMonth (12) and ByQuarter (4) split Received.
	ByMonth   []Figure
	ByQuarter []Figure
	// ByChannel splits Received by the channel the report was sent to:
	// every channel not archived, and any archived one that received a
	// case in the period.
	ByChannel []LabelledFigure

	// Of the cases received: acknowledged within AckWithinDays days of
	// receipt, later, and not (yet) at all; they add up to Received.
	AckWithin, AckLater, NotAcknowledged Figure
	// AckShare is AckWithin as a whole percentage of Received.
	AckShare Figure
	// DaysToAck: from receipt to acknowledgement, of the acknowledged.
	// DaysToClose: from receipt to closure, of the closed.
	DaysToAck, DaysToClose Percentiles

	// Closed is how many of the cases received are closed now, and
	// ByOutcome splits it by outcome category: every category on offer,
	// any archived one with a case, and (ID 0, no label) the cases closed
	// without one, if any.
	Closed    Figure
	ByOutcome []LabelledFigure

	// Of the cases received that are open today: not acknowledged and
	// past their acknowledge-by day; acknowledged and past their
	// feedback-by day.
	PastAckBy, PastFeedbackBy Figure
}

// statsCase is what the statistics read of a case.
type statsCase struct {
	created, channel  int64
	status            string
	outcome           sql.NullInt64
	acked, closed     sql.NullInt64
	ackBy, feedbackBy sql.NullInt64
}

// Statistics computes the figures of a calendar year (UTC), as of today by
// db.Now. It reads the cases_stats index (migration 0021) and the
// channels' and outcomes' labels, nothing else.
//
// There are no figures over several years: a year's total is on its own
// page, so the total of every year less the others would give away the
// count of a year with fewer than 5 cases.
func (db *DB) Statistics(ctx context.Context, year int) (Statistics, error) {
	today := db.Today()
	st := Statistics{Year: year, Today: today}
	from := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	to := time.Date(year+1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	var oldest sql.NullInt64
	if err := db.r.QueryRowContext(ctx, `SELECT min(created_at) FROM cases`).Scan(&oldest); err != nil {
		return Statistics{}, fmt.Errorf("failed to compute statistics: %w", err)
	}
	first, last := min(today.Year(), year), max(today.Year(), year)
	if oldest.Valid {
		first = min(first, time.Unix(oldest.Int64, 0).UTC().Year())
	}
	for y := last; y >= first; y-- {
		st.Years = append(st.Years, y)
	}

	var cases []statsCase
	// SQLite is told to read the covering index cases_stats; PostgreSQL
	// has no such hint (its planner picks the index by its statistics).
	indexed := ` INDEXED BY cases_stats`
	if db.pg {
		indexed = ``
	}
	rows, err := db.r.QueryContext(ctx, `SELECT created_at, channel_id, status, outcome_id, acknowledged_day, closed_at,
		ack_by_day, feedback_by_day FROM cases`+indexed+` WHERE created_at >= ? AND created_at < ?`, from, to)
	if err != nil {
		return Statistics{}, fmt.Errorf("failed to compute statistics: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c statsCase
		if err := rows.Scan(&c.created, &c.channel, &c.status, &c.outcome, &c.acked, &c.closed, &c.ackBy, &c.feedbackBy); err != nil {
			return Statistics{}, fmt.Errorf("failed to compute statistics: %w", err)
		}
		cases = append(cases, c)
	}
	if err := rows.Err(); err != nil {
		return Statistics{}, fmt.Errorf("failed to compute statistics: %w", err)
	}
	channels, err := db.statsChannels(ctx)
	if err != nil {
		return Statistics{}, err
	}
	outcomes, err := db.Outcomes(ctx, true)
	if err != nil {
		return Statistics{}, fmt.Errorf("failed to compute statistics: %w", err)
	}
	return tally(st, cases, channels, outcomes), nil
}

// statsChannel is a channel as the statistics name it.
type statsChannel struct {
	id       int64
	name     string
	archived bool
}

// statsChannels lists the channels with their names in the default
// language, in the reporters' order.
func (db *DB) statsChannels(ctx context.Context) ([]statsChannel, error) {
	var out []statsChannel
	err := db.queryEach(ctx, `SELECT c.id, coalesce(t.name, ''), c.archived FROM channels c
		LEFT JOIN channel_texts t ON t.channel_id = c.id AND t.lang = ?
		ORDER BY c.position, c.id`, DefaultLanguage, func(rows *sql.Rows) error {
		var ch statsChannel
		if err := rows.Scan(&ch.id, &ch.name, &ch.archived); err != nil {
			return err
		}
		out = append(out, ch)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("failed to list channels for statistics: %w", err)
	}
	return out, nil
}

// tally computes the figures of st's period from its cases.
func tally(st Statistics, cases []statsCase, channels []statsChannel, outcomes []Outcome) Statistics {
	const day = int64(24 * time.Hour / time.Second)
	today := st.Today.Unix()

	// Every count goes into one slice, so that suppress can see how they
	// add up; the indexes below say which is which.
	var counts []int
	add := func() int { counts = append(counts, 0); return len(counts) - 1 }
	received := add()
	var months [12]int
	var quarters [4]int
	for i := range 12 {
		months[i] = add()
	}
	for i := range 4 {
		quarters[i] = add()
	}
	chIndex := map[int64]int{}
	for _, ch := range channels {
		chIndex[ch.id] = add()
	}
	ackWithin, ackLater, notAcked := add(), add(), add()
	closed := add()
	outIndex := map[int64]int{}
	for _, o := range outcomes {
		outIndex[o.ID] = add()
	}
	noOutcome := add()
	pastAck, pastFeedback := add(), add()

	var toAck, toClose []int
	for _, c := range cases {
		counts[received]++
		m := time.Unix(c.created, 0).UTC().Month()
		counts[months[m-1]]++
		counts[quarters[(m-1)/3]]++
		if i, ok := chIndex[c.channel]; ok {
			counts[i]++
		} else {
			// A case whose channel row is gone still counts in the total;
			// it cannot be in a channel's row.
			chIndex[c.channel] = add()
			channels = append(channels, statsChannel{id: c.channel, archived: true})
			counts[chIndex[c.channel]]++
		}
		switch {
		case !c.acked.Valid:
			counts[notAcked]++
		case c.acked.Int64-c.created <= AckWithinDays*day:
			counts[ackWithin]++
		default:
			counts[ackLater]++
		}
		if c.acked.Valid {
			toAck = append(toAck, int((c.acked.Int64-c.created)/day))
		}
		if c.status == StatusClosed {
			counts[closed]++
			if i, ok := outIndex[c.outcome.Int64]; ok && c.outcome.Valid {
				counts[i]++
			} else {
				counts[noOutcome]++
			}
			if c.closed.Valid {
				toClose = append(toClose, int((c.closed.Int64-c.created)/day))
			}
			continue
		}
		if !c.acked.Valid && c.ackBy.Valid && c.ackBy.Int64 < today {
			counts[pastAck]++
		}
		if c.acked.Valid && c.feedbackBy.Valid && c.feedbackBy.Int64 < today {
			counts[pastFeedback]++
		}
	}

	// The tables the page shows, each a set of counts that add up to a
	// total shown beside them.
	groups := []group{{cells: months[:], total: received}, {cells: quarters[:], total: received}}
	for q := range 4 {
		groups = append(groups, group{cells: months[q*3 : q*3+3], total: quarters[q]})
	}
	var chCells, outCells []int
	for _, ch := range channels {
		chCells = append(chCells, chIndex[ch.id])
	}
	for _, o := range outcomes {
		outCells = append(outCells, outIndex[o.ID])
	}
	outCells = append(outCells, noOutcome)
	groups = append(groups,
		group{cells: chCells, total: received},
		group{cells: []int{ackWithin, ackLater, notAcked}, total: received},
		group{cells: outCells, total: closed})
	hidden := suppress(counts, groups)
	fig := func(i int) Figure {
		if hidden[i] != "" {
			return Figure{Hidden: hidden[i]}
		}
		return Figure{N: counts[i]}
	}

	st.Received = fig(received)
	for _, i := range months {
		st.ByMonth = append(st.ByMonth, fig(i))
	}
	for _, i := range quarters {
		st.ByQuarter = append(st.ByQuarter, fig(i))
	}
	for _, ch := range channels {
		i := chIndex[ch.id]
		if ch.archived && counts[i] == 0 {
			continue
		}
		st.ByChannel = append(st.ByChannel, LabelledFigure{ID: ch.id, Label: ch.name, Figure: fig(i)})
	}
	st.AckWithin, st.AckLater, st.NotAcknowledged = fig(ackWithin), fig(ackLater), fig(notAcked)
	st.AckShare = share(counts[ackWithin], hidden[ackWithin] != "" || hidden[received] != "", counts[received])
	st.DaysToAck, st.DaysToClose = percentiles(toAck), percentiles(toClose)
	st.Closed = fig(closed)
	for _, o := range outcomes {
		i := outIndex[o.ID]
		if o.Archived && counts[i] == 0 {
			continue
		}
		st.ByOutcome = append(st.ByOutcome, LabelledFigure{ID: o.ID, Label: o.Label, Figure: fig(i)})
	}
	if counts[noOutcome] > 0 {
		st.ByOutcome = append(st.ByOutcome, LabelledFigure{Figure: fig(noOutcome)})
	}
	st.PastAckBy, st.PastFeedbackBy = fig(pastAck), fig(pastFeedback)
	return st
}

// group is a set of counts (cells) that add up to another (total), as in
// one table of the statistics: indexes into the counts.
type group struct {
	cells []int
	total int
}

// ambiguous reports whether hidden counts known to add up to sum, nSup of
// them suppressed (each 1 to MinShown-1) and nWith withheld (each 5 or
// more), leave each suppressed one at least two possible values: four
// suppressed counts adding up to 16 are all 4, nine adding up to 9 all 1.
// Suppressed counts are alike to a reader, so one stands for all.
func ambiguous(sum, nSup, nWith int) bool {
	if nSup == 0 {
		return true
	}
	possible := 0
	for x := 1; x < MinShown; x++ {
		rest := sum - x // the other nSup-1 suppressed and the withheld
		others := nSup - 1
		if (rest >= others && rest <= (MinShown-1)*others && nWith == 0) ||
			(nWith > 0 && rest >= others+MinShown*nWith) {
			possible++
		}
	}
	return possible >= 2
}

// suppress decides which counts are hidden, and why.
//
// Every count from 1 to MinShown-1 is hidden: Suppressed, "fewer than 5"
// (primary suppression). Then, so that no such count can be worked out
// by subtracting the shown counts of a table from its total, each group
// whose total is shown and that has a hidden cell gets more of its cells
// hidden, as Withheld, until the hidden cells add up to at least
// 2×MinShown−1 (9) and leave every suppressed count among them more than
// one possible value (ambiguous). The cell added each time is the first
// non-zero shown cell after the group's first hidden cell, in the table's
// order and wrapping around: chosen by place, not by size, so that which
// cell is withheld says nothing of the hidden values. When no non-zero
// cell is left to hide, the group's zeros are withheld too (a withheld
// cell may then be 0 as well as 5 or more); when no cell at all is left,
// the total is withheld instead (complementary suppression).
//
// A total is the total of several tables (the cases received are those
// of the months, the quarters, the channels and the acknowledgement
// table): once it is withheld, a table of it with every cell shown would
// give it back, and with it the hidden counts of another table. So every
// non-zero cell of every table whose total is withheld is withheld as
// well (zeros stay: a withheld count is always 5 or more). (A
// total of 1 to 4, suppressed, needs no more: each of its cells is at most
// as large, so every non-zero one is suppressed too, and none is known.)
//
// This repeats until nothing changes, since a count withheld for one group
// (a month, for its quarter) is a cell or the total of another (the months
// of the year, the quarters).
func suppress(counts []int, groups []group) []string {
	hidden := make([]string, len(counts))
	for i, n := range counts {
		if n > 0 && n < MinShown {
			hidden[i] = Suppressed
		}
	}
	hide := func(i int) bool {
		if hidden[i] != "" {
			return false
		}
		hidden[i] = Withheld
		return true
	}
	for changed := true; changed; {
		changed = false
		for _, g := range groups {
			if hidden[g.total] == Withheld {
				for _, c := range g.cells {
					if counts[c] > 0 {
						changed = hide(c) || changed
					}
				}
				continue
			}
			for hidden[g.total] == "" {
				first, sum, nSup, nWith := -1, 0, 0, 0
				for k, c := range g.cells {
					switch hidden[c] {
					case "":
						continue
					case Suppressed:
						nSup++
					default:
						nWith++
					}
					if first < 0 {
						first = k
					}
					sum += counts[c]
				}
				if first < 0 || (sum >= 2*MinShown-1 && ambiguous(sum, nSup, nWith)) {
					break
				}
				next := -1
				for k := 1; k < len(g.cells); k++ {
					if c := g.cells[(first+k)%len(g.cells)]; hidden[c] == "" && counts[c] > 0 {
						next = c
						break
					}
				}
				if next >= 0 {
					changed = hide(next) || changed
					continue
				}
				hide(g.total)
				changed = true
			}
		}
	}
	return hidden
}

// share is part (hidden or not) as a whole percentage of whole, rounded
// half up. It is not given over fewer than MinShown cases, nor when part
// is hidden, which it would give away.
func share(part int, partHidden bool, whole int) Figure {
	switch {
	case whole == 0:
		return Figure{Hidden: NoCases}
	case whole < MinShown:
		return Figure{Hidden: FewCases}
	case partHidden:
		return Figure{Hidden: Withheld}
	}
	return Figure{N: (200*part + whole) / (2 * whole)}
}

// percentiles gives the median and the 90th percentile of days, or why
// not (over fewer than MinShown cases).
func percentiles(days []int) Percentiles {
	switch {
	case len(days) == 0:
		return Percentiles{Median: Figure{Hidden: NoCases}, P90: Figure{Hidden: NoCases}}
	case len(days) < MinShown:
		return Percentiles{Median: Figure{Hidden: FewCases}, P90: Figure{Hidden: FewCases}}
	}
	sort.Ints(days)
	p := Percentiles{Median: Figure{N: Percentile(days, 50)}, P90: Figure{N: Percentile(days, 90)}}
	if len(days) < MinP90 {
		// Below 10 values the 90th percentile is the largest: one case's
		// own number of days.
		p.P90 = Figure{Hidden: Withheld}
	}
	return p
}

// Percentile is the p-th percentile (0 < p <= 100) of sorted, a sorted
// non-empty slice, by the nearest-rank method: the smallest value that at
// least p% of the values are at or below, that is the value at rank
// ceil(p/100 × n). It is always one of the values (no interpolation); the
// median of an even number of values is the lower of the middle two.
func Percentile(sorted []int, p int) int {
	rank := (p*len(sorted) + 99) / 100
	return sorted[max(rank, 1)-1]
}
