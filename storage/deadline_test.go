package storage_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/candour/candour/storage"
)

// A case is due the days before its deadline, overdue after it, and has
// none once closed; acknowledging it moves it on to the feedback date,
// which an extension moves later but never earlier.
func TestDeadlinesMoveWithTheClock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpenDB(t)
	now := time.Date(2026, 12, 6, 15, 4, 5, 0, time.UTC)
	db.Now = func() time.Time { return now }
	c := mustCreateCase(t, db, "dl")
	if want := day(2026, 12, 13); !c.AckBy.Equal(want) || !c.Acknowledged.IsZero() || !c.FeedbackBy.IsZero() {
		t.Fatalf("new case deadlines = %+v; want acknowledge by %v", c.Deadlines, want)
	}
	state := func() storage.Deadline {
		t.Helper()
		cases, _, err := db.ListCases(ctx, storage.CaseFilter{AllChannels: true}, storage.Cursor{}, 10)
		if err != nil || len(cases) != 1 {
			t.Fatalf("ListCases: %v %v", cases, err)
		}
		return cases[0].Deadline
	}
	count := func(deadline string) int {
		t.Helper()
		n, _, err := db.CountCases(ctx, storage.CaseFilter{AllChannels: true, Deadline: deadline}, storage.CountCap)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, tc := range []struct {
		at    time.Time
		state string
	}{
		{day(2026, 12, 10), ""},
		{day(2026, 12, 11), storage.DeadlineDue},
		{day(2026, 12, 13).Add(23 * time.Hour), storage.DeadlineDue},
		{day(2026, 12, 14), storage.DeadlineOverdue},
	} {
		now = tc.at
		if d := state(); d.State != tc.state || d.Kind != storage.DeadlineAcknowledge {
			t.Errorf("on %v: %+v; want %q", tc.at, d, tc.state)
		}
		wantDue, wantOverdue := 0, 0
		switch tc.state {
		case storage.DeadlineDue:
			wantDue = 1
		case storage.DeadlineOverdue:
			wantOverdue = 1
		}
		if count(storage.DeadlineDue) != wantDue || count(storage.DeadlineOverdue) != wantOverdue {
			t.Errorf("on %v the filters disagree with the state %q", tc.at, tc.state)
		}
	}

	must(t, db.SetCaseStatus(ctx, c.ID, storage.StatusClosed))
	if d := state(); d.Kind != "" || d.Overdue() || count(storage.DeadlineOverdue) != 0 {
		t.Errorf("a closed case has a deadline: %+v", d)
	}
	must(t, db.SetCaseStatus(ctx, c.ID, storage.StatusInReview))

	d, err := db.AcknowledgeCase(ctx, c.ID)
	if err != nil || !d.Acknowledged.Equal(day(2026, 12, 14)) || !d.FeedbackBy.Equal(day(2027, 3, 14)) {
		t.Fatalf("AcknowledgeCase = %+v, %v", d, err)
	}
	if _, err := db.AcknowledgeCase(ctx, c.ID); !errors.Is(err, storage.ErrAlreadyAcknowledged) {
		t.Errorf("acknowledging twice: %v", err)
	}
	if d := state(); d.Kind != storage.DeadlineFeedback || d.State != "" || !d.By.Equal(day(2027, 3, 14)) {
		t.Errorf("after acknowledgement: %+v", d)
	}
	for name, by := range map[string]time.Time{
		"earlier":                 day(2027, 3, 1),
		"the same day":            day(2027, 3, 14),
		"over two years after it": day(2028, 12, 15),
	} {
		if err := db.ExtendFeedback(ctx, c.ID, by); !errors.Is(err, storage.ErrBadExtension) {
			t.Errorf("extension to %s: %v", name, err)
		}
	}
	must(t, db.ExtendFeedback(ctx, c.ID, day(2027, 6, 14)))
	if got, _ := db.Case(ctx, c.ID); !got.FeedbackBy.Equal(day(2027, 6, 14)) {
		t.Errorf("feedback by %v after the extension", got.FeedbackBy)
	}
	other := mustCreateCase(t, db, "unacknowledged")
	if err := db.ExtendFeedback(ctx, other.ID, day(2027, 6, 14)); !errors.Is(err, storage.ErrNotAcknowledged) {
		t.Errorf("extending an unacknowledged case: %v", err)
	}
}

// A channel's deadlines apply to the cases it receives afterwards and to
// acknowledgements; bounds are enforced.
func TestChannelDeadlines(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpenDB(t)
	db.Now = func() time.Time { return time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC) }
	if got, err := db.Channel(ctx, storage.DefaultChannel); err != nil || got.AckDays != 7 || got.FeedbackMonths != 3 {
		t.Errorf("default channel: %+v %v", got, err)
	}
	ch := mustChannel(t, db, "Fast")
	got, err := db.Channel(ctx, ch)
	if err != nil || got.AckDays != storage.DefaultAckDays || got.FeedbackMonths != storage.DefaultFeedbackMonths {
		t.Fatalf("new channel: %+v %v", got, err)
	}
	for _, bad := range [][2]int{{0, 3}, {366, 3}, {7, 0}, {7, 25}} {
		if err := db.SetChannelDeadlines(ctx, ch, bad[0], bad[1]); !errors.Is(err, storage.ErrBadDeadlines) {
			t.Errorf("SetChannelDeadlines%v: %v", bad, err)
		}
	}
	must(t, db.SetChannelDeadlines(ctx, ch, 2, 6))
	nc := newCase(mustKDF(t, db).ID, "fast")
	nc.ChannelID = ch
	c, err := db.CreateCase(ctx, nc)
	must(t, err)
	if !c.AckBy.Equal(day(2026, 2, 2)) {
		t.Errorf("acknowledge by %v; want 2 February", c.AckBy)
	}
	if stored, _ := db.Case(ctx, c.ID); !stored.AckBy.Equal(c.AckBy) {
		t.Errorf("stored acknowledge-by %v", stored.AckBy)
	}
	d, err := db.AcknowledgeCase(ctx, c.ID)
	if err != nil || !d.FeedbackBy.Equal(time.Date(2026, 7, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("feedback by %v, %v; want 31 July", d.FeedbackBy, err)
	}
}

// Cases older than deadlines get them from their received day, and from
// their first staff reply if they have one.
func TestMigrationGivesOldCasesDeadlines(t *testing.T) {
	t.Parallel()
	sqliteOnly(t, "migration of a SQLite database from before deadlines (0016); a fresh database's default channel is checked in TestChannelDeadlines")
	dir := t.TempDir()
	raw := migratedTo(t, dir, 15)
	received := day(2026, 11, 1).Unix()
	replied := day(2026, 11, 3).Unix()
	for _, q := range []string{
		`PRAGMA user_version = 15`,
		`INSERT INTO kdf_params (id, time, memory_kib, threads, salt, created_at) VALUES (1, 3, 65536, 4, x'00', 0)`,
		fmt.Sprintf(`INSERT INTO cases (id, ref, lookup_id, kdf_id, wrapped_identity, recipient, status, created_at, updated_at)
		 VALUES (1, 'OLD1-CASE', x'01', 1, x'00', 'age1old', 'new', %d, %d)`, received, received),
		fmt.Sprintf(`INSERT INTO cases (id, ref, lookup_id, kdf_id, wrapped_identity, recipient, status, created_at, updated_at)
		 VALUES (2, 'OLD2-CASE', x'02', 1, x'00', 'age1old', 'in_review', %d, %d)`, received, replied),
		fmt.Sprintf(`INSERT INTO messages (id, case_id, seq, author, created_at, ciphertext) VALUES (10, 2, 1, 'reporter', %d, x'00')`, received),
		fmt.Sprintf(`INSERT INTO messages (id, case_id, seq, author, created_at, ciphertext) VALUES (11, 2, 2, 'staff', %d, x'00')`, replied),
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()

	db := mustOpenDBAt(t, dir)
	ctx := context.Background()
	c1, err := db.Case(ctx, 1)
	if err != nil || !c1.AckBy.Equal(day(2026, 11, 8)) || !c1.Acknowledged.IsZero() || !c1.FeedbackBy.IsZero() {
		t.Errorf("unanswered old case: %+v %v", c1.Deadlines, err)
	}
	c2, err := db.Case(ctx, 2)
	if err != nil || !c2.Acknowledged.Equal(day(2026, 11, 3)) || !c2.FeedbackBy.Equal(day(2027, 2, 3)) {
		t.Errorf("answered old case: %+v %v", c2.Deadlines, err)
	}
	if ch, err := db.Channel(ctx, storage.DefaultChannel); err != nil || ch.AckDays != 7 || ch.FeedbackMonths != 3 {
		t.Errorf("default channel: %+v %v", ch, err)
	}
}

// Sorted by deadline, the inbox lists open cases only, soonest first.
func TestListCasesByDeadline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpenDB(t)
	now := day(2026, 12, 2)
	db.Now = func() time.Time { return now }
	later := mustCreateCase(t, db, "later")
	closed := mustCreateCase(t, db, "closed")
	must(t, db.SetCaseStatus(ctx, closed.ID, storage.StatusClosed))
	now = day(2026, 12, 1)
	sooner := mustCreateCase(t, db, "sooner")
	now = day(2026, 12, 3)
	acknowledged := mustCreateCase(t, db, "acknowledged")
	_, err := db.AcknowledgeCase(ctx, acknowledged.ID) // feedback by 3 March: last
	must(t, err)
	cases, _, err := db.ListCases(ctx, storage.CaseFilter{AllChannels: true, ByDeadline: true}, storage.Cursor{}, 10)
	must(t, err)
	total, _, err := db.CountCases(ctx, storage.CaseFilter{AllChannels: true, ByDeadline: true}, storage.CountCap)
	must(t, err)
	var got []int64
	for _, c := range cases {
		got = append(got, c.ID)
	}
	if want := []int64{sooner.ID, later.ID, acknowledged.ID}; total != 3 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("by deadline: %v (%d); want %v", got, total, want)
	}
}
