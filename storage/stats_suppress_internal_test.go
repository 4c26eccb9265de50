package storage

import (
	"database/sql"
	"testing"
	"time"
)

// acked2025 is a case received on the day given in 2025 and acknowledged
// the next day, in channel ch.
func acked2025(m time.Month, d int, ch int64) statsCase {
	at := time.Date(2025, m, d, 0, 0, 0, 0, time.UTC).Unix()
	return statsCase{created: at, channel: ch, status: StatusNew,
		acked: sql.NullInt64{Int64: at + 86400, Valid: true}}
}

func tally2025(cases []statsCase, channels ...statsChannel) Statistics {
	return tally(Statistics{Year: 2025, Today: time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)}, cases, channels, nil)
}

// shownSum adds the shown counts, and says whether every one is shown.
func shownSum(figs []Figure) (int, bool) {
	sum, all := 0, true
	for _, f := range figs {
		if f.Shown() {
			sum += f.N
		} else {
			all = false
		}
	}
	return sum, all
}

// Found in review: when a table had to withhold the year's total, another
// table with every cell shown gave it back, and with it the counts under 5:
// 4 reports in January and 4 in February, all to one channel, left the
// channel table (8) and the acknowledgement table (8, 100%) showing the
// total, so January and February were both 4. Now no table of a withheld
// total shows a cell, and no share gives it away either.
func TestAWithheldTotalIsWithheldFromEveryTable(t *testing.T) {
	t.Parallel()
	var cases []statsCase
	for range 4 {
		cases = append(cases, acked2025(time.January, 10, 1), acked2025(time.February, 10, 1))
	}
	st := tally2025(cases, statsChannel{id: 1, name: "Only"})
	if st.Received.Shown() {
		t.Fatalf("the total is shown (%d) beside two months of fewer than 5 adding up to it", st.Received.N)
	}
	for name, figs := range map[string][]Figure{
		"months": st.ByMonth, "quarters": st.ByQuarter, "channels": {st.ByChannel[0].Figure},
		"acknowledgement": {st.AckWithin, st.AckLater, st.NotAcknowledged},
	} {
		if sum, all := shownSum(figs); all {
			t.Errorf("the %s table shows every cell, giving the withheld total away (%d)", name, sum)
		}
	}
	if st.AckShare.Shown() {
		t.Errorf("the share acknowledged within 7 days is shown (%d%%) over a withheld total", st.AckShare.N)
	}
}

// Found in review: channels of 5 and 3 (suppressed); the acknowledgement
// table showed the total, 8, so the 3 was 8 − 5.
func TestASuppressedChannelCannotBeSubtracted(t *testing.T) {
	t.Parallel()
	var cases []statsCase
	for i := range 8 {
		ch := int64(1)
		if i >= 5 {
			ch = 2
		}
		cases = append(cases, acked2025(time.May, 10, ch))
	}
	st := tally2025(cases, statsChannel{id: 1, name: "A"}, statsChannel{id: 2, name: "B"})
	if st.ByChannel[1].Shown() {
		t.Fatalf("a channel of 3 is shown")
	}
	total := -1
	for _, f := range []Figure{st.Received} {
		if f.Shown() {
			total = f.N
		}
	}
	if sum, all := shownSum([]Figure{st.AckWithin, st.AckLater, st.NotAcknowledged}); all {
		total = sum
	}
	if total >= 0 && st.ByChannel[0].Shown() {
		t.Errorf("channel B can be worked out: %d − %d", total, st.ByChannel[0].N)
	}
}

// Four channels of 4 and one of 20: the four hidden counts add up to 16,
// more than 9, but four counts under 5 adding up to 16 are all 4. The
// large channel is withheld as well.
func TestHiddenCountsMustLeaveMoreThanOneValue(t *testing.T) {
	t.Parallel()
	var cases []statsCase
	channels := []statsChannel{{id: 1, name: "A"}, {id: 2, name: "B"}, {id: 3, name: "C"}, {id: 4, name: "D"}, {id: 5, name: "E"}}
	for ch := int64(1); ch <= 5; ch++ {
		n := 4
		if ch == 5 {
			n = 20
		}
		for range n {
			cases = append(cases, acked2025(time.June, 1+int(ch), ch))
		}
	}
	st := tally2025(cases, channels...)
	if !st.Received.Shown() || st.Received.N != 36 {
		t.Fatalf("received %+v", st.Received)
	}
	if st.ByChannel[4].Shown() {
		t.Errorf("channel E is shown (%d): the other four are then all 4", st.ByChannel[4].N)
	}
	for _, tc := range []struct {
		sum, nSup, nWith int
		want             bool
	}{
		{16, 4, 0, false}, // all 4
		{9, 9, 0, false},  // all 1
		{8, 2, 0, false},  // 4 and 4
		{9, 1, 1, true},   // 1–4 and 5–8
		{9, 3, 0, true},
		{36, 4, 1, true},
		{6, 0, 1, true}, // nothing suppressed to give away
	} {
		if got := ambiguous(tc.sum, tc.nSup, tc.nWith); got != tc.want {
			t.Errorf("ambiguous(%d, %d suppressed, %d withheld) = %v", tc.sum, tc.nSup, tc.nWith, got)
		}
	}
}

// Found in review: with 5 to 9 values, the nearest-rank 90th percentile is
// the largest, one case's own number of days: it is given from 10 on.
func TestThe90thPercentileNeedsTenCases(t *testing.T) {
	t.Parallel()
	nine := percentiles([]int{1, 2, 3, 4, 5, 6, 7, 8, 200})
	if nine.P90.Shown() || !nine.Median.Shown() || nine.Median.N != 5 {
		t.Errorf("over 9 cases: %+v", nine)
	}
	ten := percentiles([]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 200})
	if !ten.P90.Shown() || ten.P90.N != 9 {
		t.Errorf("over 10 cases: %+v", ten)
	}
}
