package storage_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/candour/candour/storage"
)

// statsBatch is n cases received on one day in one channel, acknowledged
// ack days later (-1: not at all) and closed close days later (-1: open)
// with an outcome (0: closed by status, with none).
type statsBatch struct {
	received   time.Time
	channel    int64
	n          int
	ack, close int
	outcome    int64
}

// statsFixture is the set of cases the statistics tests count by hand:
// 45 cases in 2025, 2 in 2024 and 1 in 2026, in three channels (and an
// archived fourth with none), as of 10 January 2026.
//
// 2025 by month: Jan 6, Feb 3, Mar 5, Apr 0, May 7, Jun 2, Jul 5, Aug 5,
// Sep 5, Oct 1, Nov 0, Dec 6 (quarters 14, 9, 15, 7). By channel:
// Report misconduct 30, Custody 12, Small unit 3. Acknowledged after
// 1 day ×10, 3 days ×10, 7 days ×13 (33 within seven days), 10 days ×6,
// 20 days ×6 (12 later). Closed 21: after 30 days ×5, 60 ×6, 90 ×5,
// 200 ×5; Substantiated 8, Not substantiated 6, Referred to the force's
// PSD 2, Outside our remit 4, closed without an outcome 1.
func statsFixture(t *testing.T) *storage.DB {
	t.Helper()
	db := mustOpenDB(t)
	ctx := context.Background()
	kdf := mustKDF(t, db)
	custody, err := db.CreateChannel(ctx, map[string]storage.ChannelText{"en": {Name: "Custody"}})
	must(t, err)
	small, err := db.CreateChannel(ctx, map[string]storage.ChannelText{"en": {Name: "Small unit"}})
	must(t, err)
	old, err := db.CreateChannel(ctx, map[string]storage.ChannelText{"en": {Name: "Old channel"}})
	must(t, err)
	must(t, db.UpdateChannel(ctx, old, map[string]storage.ChannelText{"en": {Name: "Old channel"}}, true))
	// An outcome with no case is listed with 0, a formula as its label
	// (for the CSV's guard); an archived one with no case is not listed.
	_, err = db.AddOutcome(ctx, "=HYPERLINK(\"http://evil.example\")")
	must(t, err)
	gone, err := db.AddOutcome(ctx, "Old category")
	must(t, err)
	must(t, db.SetOutcomeArchived(ctx, gone.ID, true))

	const (
		subst, notSubst, psd, remit = 1, 2, 3, 5
	)
	misconduct := int64(storage.DefaultChannel)
	batches := []statsBatch{
		{day(2024, 12, 20), misconduct, 2, -1, -1, 0},
		{day(2025, 1, 5), misconduct, 5, 1, 200, subst},
		{day(2025, 1, 20), custody, 1, 3, -1, 0},
		{day(2025, 2, 10), small, 3, 3, -1, 0},
		{day(2025, 3, 3), misconduct, 5, 1, 30, notSubst},
		{day(2025, 5, 12), misconduct, 3, 3, 60, subst},
		{day(2025, 5, 12), custody, 1, 3, 60, notSubst},
		{day(2025, 5, 20), custody, 2, 3, 60, psd},
		{day(2025, 5, 25), custody, 1, 7, -1, 0},
		{day(2025, 6, 15), misconduct, 2, 7, -1, 0},
		{day(2025, 7, 1), misconduct, 4, 7, 90, remit},
		{day(2025, 7, 1), misconduct, 1, 7, 90, 0},
		{day(2025, 8, 10), misconduct, 5, 7, -1, 0},
		{day(2025, 9, 8), custody, 5, 10, -1, 0},
		{day(2025, 10, 14), misconduct, 1, 10, -1, 0},
		{day(2025, 12, 1), custody, 2, 20, -1, 0},
		{day(2025, 12, 1), misconduct, 4, 20, -1, 0},
		{day(2026, 1, 2), custody, 1, -1, -1, 0},
	}
	made := 0
	for _, b := range batches {
		for range b.n {
			made++
			db.Now = fixedClock(b.received.Add(13 * time.Hour))
			nc := newCase(kdf.ID, fmt.Sprintf("stats%d", made))
			nc.ChannelID = b.channel
			c, err := db.CreateCase(ctx, nc)
			must(t, err)
			if b.ack >= 0 {
				db.Now = fixedClock(b.received.AddDate(0, 0, b.ack).Add(9 * time.Hour))
				_, err := db.AcknowledgeCase(ctx, c.ID)
				must(t, err)
			}
			if b.close < 0 {
				continue
			}
			db.Now = fixedClock(b.received.AddDate(0, 0, b.close).Add(17 * time.Hour))
			if b.outcome == 0 {
				must(t, db.SetCaseStatus(ctx, c.ID, storage.StatusClosed))
			} else {
				must(t, db.CloseCase(ctx, c.ID, b.outcome, 0))
			}
		}
	}
	// One of August's cases has its feedback date extended past today:
	// it is no longer past it.
	aug, err := db.CaseByRef(ctx, "REF-stats31")
	must(t, err)
	if !aug.CreatedAt.Equal(day(2025, 8, 10)) {
		t.Fatalf("case 31 was received on %v", aug.CreatedAt)
	}
	must(t, db.ExtendFeedback(ctx, aug.ID, day(2026, 2, 1)))
	// A case closed and reopened counts as open; closed again later, it
	// counts from its last closing. (Received 2025-08-10, as case 31.)
	other, err := db.CaseByRef(ctx, "REF-stats32")
	must(t, err)
	db.Now = fixedClock(day(2025, 9, 1))
	must(t, db.CloseCase(ctx, other.ID, subst, 0))
	must(t, db.ReopenCase(ctx, other.ID))

	db.Now = fixedClock(day(2026, 1, 10).Add(15 * time.Hour))
	return db
}

// Shorthands for the expected figures.
func n(v int) storage.Figure { return storage.Figure{N: v} }

var (
	sup      = storage.Figure{Hidden: storage.Suppressed}
	withheld = storage.Figure{Hidden: storage.Withheld}
	few      = storage.Figure{Hidden: storage.FewCases}
	none     = storage.Figure{Hidden: storage.NoCases}
)

func lf(id int64, label string, f storage.Figure) storage.LabelledFigure {
	return storage.LabelledFigure{ID: id, Label: label, Figure: f}
}

func wantFigure(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// The figures of 2025 match the hand count in statsFixture, with every
// count from 1 to 4 suppressed and the counts that would give one away
// withheld, by the rule of storage.suppress:
//   - months: Feb 3, Jun 2, Oct 1 are suppressed. For the year (45), the
//     hidden sum is 6, so the next non-zero month after February, March,
//     is withheld (sum 11). For Q1 (14), Feb+Mar is 8: January goes too.
//     For Q2 (9), June alone is 2: May goes (after June, wrapping past
//     April's 0). For Q4 (7), October and then December are not enough
//     (7), and no month is left: Q4 is withheld. Then for the quarters
//     of the year, Q4 alone (7) takes Q1 with it (wrapping around).
//   - channels: Small unit 3 is suppressed; the next non-zero channel
//     after it, wrapping around past the archived one, is Report
//     misconduct.
//   - outcomes: PSD 2, Outside our remit 4 and "none" 1 are suppressed
//     (sum 7); the next non-zero after PSD, wrapping around, is
//     Substantiated.
func TestStatisticsOfAYearMatchAHandCount(t *testing.T) {
	t.Parallel()
	db := statsFixture(t)
	st, err := db.Statistics(context.Background(), 2025)
	must(t, err)

	wantFigure(t, "year", st.Year, 2025)
	wantFigure(t, "years to choose", st.Years, []int{2026, 2025, 2024})
	wantFigure(t, "received", st.Received, n(45))
	wantFigure(t, "by month", st.ByMonth, []storage.Figure{
		withheld, sup, withheld, n(0), withheld, sup, n(5), n(5), n(5), sup, n(0), withheld})
	wantFigure(t, "by quarter", st.ByQuarter, []storage.Figure{withheld, n(9), n(15), withheld})
	wantFigure(t, "by channel", st.ByChannel, []storage.LabelledFigure{
		lf(1, "Report misconduct", withheld), lf(2, "Custody", n(12)), lf(3, "Small unit", sup)})
	wantFigure(t, "acknowledged within 7 days", st.AckWithin, n(33))
	wantFigure(t, "acknowledged later", st.AckLater, n(12))
	wantFigure(t, "not acknowledged", st.NotAcknowledged, n(0))
	wantFigure(t, "share acknowledged within 7 days", st.AckShare, n(73)) // 33/45 = 73.3%
	// Nearest rank: of 45, the median is the 23rd (7 days), the 90th
	// percentile the 41st (20 days); of 21, the 11th (60) and 19th (200).
	wantFigure(t, "days to acknowledge", st.DaysToAck, storage.Percentiles{Median: n(7), P90: n(20)})
	wantFigure(t, "days to close", st.DaysToClose, storage.Percentiles{Median: n(60), P90: n(200)})
	wantFigure(t, "closed", st.Closed, n(21))
	wantFigure(t, "by outcome", st.ByOutcome, []storage.LabelledFigure{
		lf(1, "Substantiated", withheld), lf(2, "Not substantiated", n(6)),
		lf(3, "Referred to the force's professional standards department", sup),
		lf(4, "Referred to another body", n(0)), lf(5, "Outside our remit", sup),
		lf(6, "Withdrawn by the reporter", n(0)), lf(7, "=HYPERLINK(\"http://evil.example\")", n(0)),
		lf(0, "", sup)})
	// Open on 10 January 2026 and past their feedback date: Jan 20 (1),
	// Feb (3), May 25 (1), Jun (2), Aug (5, less the one extended), Sep
	// (5). October's (24 January) and December's are not yet.
	wantFigure(t, "open past acknowledge-by", st.PastAckBy, n(0))
	wantFigure(t, "open past feedback-by", st.PastFeedbackBy, n(16))
}

// A year before every case can be asked for: it is in the list to choose
// from, with nothing in it.
func TestStatisticsOfAYearBeforeEveryCase(t *testing.T) {
	t.Parallel()
	db := statsFixture(t)
	st, err := db.Statistics(context.Background(), 2021)
	must(t, err)
	wantFigure(t, "years to choose", st.Years, []int{2026, 2025, 2024, 2023, 2022, 2021})
	wantFigure(t, "received", st.Received, n(0))
	wantFigure(t, "share", st.AckShare, none)
	wantFigure(t, "by channel", st.ByChannel, []storage.LabelledFigure{
		lf(1, "Report misconduct", n(0)), lf(2, "Custody", n(0)), lf(3, "Small unit", n(0))})
}

// A year with one case: every count is suppressed, and shares and
// percentiles are over too few cases or none.
func TestStatisticsOfAYearWithOneCase(t *testing.T) {
	t.Parallel()
	db := statsFixture(t)
	st, err := db.Statistics(context.Background(), 2026)
	must(t, err)
	wantFigure(t, "received", st.Received, sup)
	wantFigure(t, "by month", st.ByMonth, []storage.Figure{
		sup, n(0), n(0), n(0), n(0), n(0), n(0), n(0), n(0), n(0), n(0), n(0)})
	wantFigure(t, "by quarter", st.ByQuarter, []storage.Figure{sup, n(0), n(0), n(0)})
	wantFigure(t, "by channel", st.ByChannel, []storage.LabelledFigure{
		lf(1, "Report misconduct", n(0)), lf(2, "Custody", sup), lf(3, "Small unit", n(0))})
	wantFigure(t, "acknowledgement", []storage.Figure{st.AckWithin, st.AckLater, st.NotAcknowledged, st.AckShare},
		[]storage.Figure{n(0), n(0), sup, few})
	wantFigure(t, "days to acknowledge", st.DaysToAck, storage.Percentiles{Median: none, P90: none})
	wantFigure(t, "days to close", st.DaysToClose, storage.Percentiles{Median: none, P90: none})
	wantFigure(t, "closed", st.Closed, n(0))
	wantFigure(t, "open past acknowledge-by", st.PastAckBy, sup)
	// A year with no case at all: zeros, and nothing to take a share of.
	st, err = db.Statistics(context.Background(), 2023)
	must(t, err)
	wantFigure(t, "received in 2023", st.Received, n(0))
	wantFigure(t, "share in 2023", st.AckShare, none)
}

func TestPercentileIsTheNearestRank(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		values  []int
		p, want int
	}{
		{[]int{1, 2, 3, 4, 5}, 50, 3},
		{[]int{1, 2, 3, 4, 5, 6}, 50, 3}, // the lower of the middle two
		{[]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 90, 9},
		{[]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 90, 10}, // rank ceil(9.9) = 10
		{[]int{4, 4, 4, 4, 100}, 90, 100},
		{[]int{7}, 50, 7},
	} {
		if got := storage.Percentile(tc.values, tc.p); got != tc.want {
			t.Errorf("Percentile(%v, %d) = %d, want %d", tc.values, tc.p, got, tc.want)
		}
	}
}
