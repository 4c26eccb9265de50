package storage_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/candour/candour/storage"
)

// refs lists the references of an inbox page, in order.
func refs(t *testing.T, db *storage.DB, f storage.CaseFilter) []string {
	t.Helper()
	cases, _, err := db.ListCases(context.Background(), f, storage.Cursor{}, 50)
	if err != nil {
		t.Fatalf("ListCases: %v", err)
	}
	var out []string
	for _, c := range cases {
		out = append(out, c.Ref)
	}
	return out
}

func TestSummaryIsStoredWithTheCaseAndGoesWithIt(t *testing.T) {
	db := mustOpenDB(t)
	ctx := context.Background()
	kdf := mustKDF(t, db)
	nc := newCase(kdf.ID, "with")
	nc.Summary = fakeAge("summary")
	with, err := db.CreateCase(ctx, nc)
	if err != nil {
		t.Fatal(err)
	}
	without := mustCreateCase(t, db, "without")

	got := map[string][]byte{}
	cases, _, err := db.ListCases(ctx, storage.CaseFilter{AllChannels: true, WithSummary: true}, storage.Cursor{}, 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		got[c.Ref] = c.Summary
	}
	if !bytes.Equal(got[with.Ref], nc.Summary) {
		t.Errorf("summary of %s = %q, want %q", with.Ref, got[with.Ref], nc.Summary)
	}
	if got[without.Ref] != nil {
		t.Errorf("a case made without a summary has %q, want none", got[without.Ref])
	}
	// Without WithSummary the inbox reads no ciphertext.
	cases, _, _ = db.ListCases(ctx, storage.CaseFilter{AllChannels: true}, storage.Cursor{}, 50)
	for _, c := range cases {
		if c.Summary != nil {
			t.Errorf("%s: summary read without WithSummary", c.Ref)
		}
	}
	if err := db.DeleteCase(ctx, with.ID); err != nil {
		t.Fatal(err)
	}
	if rs := refs(t, db, storage.CaseFilter{AllChannels: true, WithSummary: true}); len(rs) != 1 || rs[0] != without.Ref {
		t.Errorf("after deleting %s the inbox lists %v", with.Ref, rs)
	}
}

// The inbox lists cases newest activity first. Its dates are days, so
// within a day the last staff-side event decides, and a reporter's message
// moves a case to its day only, never above what staff did that day.
func TestStaffEventsOrderTheDaysCasesAndReporterEventsDoNot(t *testing.T) {
	db := mustOpenDB(t)
	ctx := context.Background()
	now := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	a := mustCreateCase(t, db, "a")
	b := mustCreateCase(t, db, "b")
	c := mustCreateCase(t, db, "c")
	staff, err := db.CreateStaff(ctx, "alice", storage.RoleCaseworker)
	if err != nil {
		t.Fatal(err)
	}
	f := storage.CaseFilter{AllChannels: true}
	first := func(what, want string) {
		t.Helper()
		if got := refs(t, db, f); len(got) != 3 || got[0] != want {
			t.Errorf("after %s the inbox lists %v, want %s first", what, got, want)
		}
	}
	reply := func(id int64) error {
		_, err := db.AddMessage(ctx, id, storage.NewMessage{Author: storage.AuthorStaff, Ciphertext: fakeAge("reply")})
		return err
	}
	// Each staff-side event, on one case then another, lists it first.
	events := []struct {
		name string
		do   func(id int64) error
	}{
		{"a reply", reply},
		{"a note", func(id int64) error { _, err := db.AddNote(ctx, id, staff.ID, fakeAge("note")); return err }},
		{"a status", func(id int64) error { return db.SetCaseStatus(ctx, id, storage.StatusInReview) }},
		{"an assignment", func(id int64) error { return db.AssignCase(ctx, id, staff.ID) }},
		{"an acknowledgement", func(id int64) error { _, err := db.AcknowledgeCase(ctx, id); return err }},
	}
	for _, ev := range events {
		for _, cs := range []storage.Case{a, c, b} {
			if err := ev.do(cs.ID); err != nil {
				t.Fatalf("%s on %s: %v", ev.name, cs.Ref, err)
			}
			first(ev.name+" on "+cs.Ref, cs.Ref)
		}
	}
	// b is first. A reporter writes on a, later the same day: the order
	// stays as staff left it.
	now = now.Add(5 * time.Hour)
	before := refs(t, db, f)
	if _, err := db.AddMessage(ctx, a.ID, storage.NewMessage{Author: storage.AuthorReporter, Ciphertext: fakeAge("msg")}); err != nil {
		t.Fatal(err)
	}
	if after := refs(t, db, f); !equalStrings(before, after) {
		t.Errorf("a reporter's message the same day reordered the inbox: %v, then %v", before, after)
	}
	// The next day, a reporter's message puts its case above the day
	// before's, as a day would.
	now = now.Add(24 * time.Hour)
	if _, err := db.AddMessage(ctx, c.ID, storage.NewMessage{Author: storage.AuthorReporter, Ciphertext: fakeAge("msg")}); err != nil {
		t.Fatal(err)
	}
	first("a reporter's message the next day on c", c.Ref)
	// Staff acting on another case that day lists it above, whatever the
	// hour of the reporter's message.
	if err := db.ExtendFeedback(ctx, a.ID, now.AddDate(0, 4, 0)); err != nil {
		t.Fatal(err)
	}
	first("an extension on a", a.Ref)
	closeOutcome, err := db.Outcomes(ctx, false)
	if err != nil || len(closeOutcome) == 0 {
		t.Fatalf("Outcomes: %v", err)
	}
	if err := db.CloseCase(ctx, b.ID, closeOutcome[0].ID, 0); err != nil {
		t.Fatal(err)
	}
	first("closing b", b.Ref)
	if err := db.ReopenCase(ctx, a.ID); err == nil {
		t.Fatal("reopened a case that is not closed")
	}
	if err := db.ReopenCase(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	first("reopening b", b.Ref)
	// The case's stored time of last activity is still a day.
	got, err := db.Case(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.UpdatedAt.Equal(now.Truncate(storage.Coarseness)) {
		t.Errorf("last activity %v, want the day %v", got.UpdatedAt, now.Truncate(storage.Coarseness))
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestInboxFiltersByChannelAndReceivedDays(t *testing.T) {
	db := mustOpenDB(t)
	ctx := context.Background()
	other, err := db.CreateChannel(ctx, map[string]storage.ChannelText{storage.DefaultLanguage: {Name: "Other"}})
	if err != nil {
		t.Fatal(err)
	}
	kdf := mustKDF(t, db)
	made := func(name string, when time.Time, channel int64) {
		t.Helper()
		db.Now = fixedClock(when)
		nc := newCase(kdf.ID, name)
		nc.ChannelID = channel
		if _, err := db.CreateCase(ctx, nc); err != nil {
			t.Fatal(err)
		}
	}
	made("may1", time.Date(2026, 5, 1, 23, 59, 0, 0, time.UTC), storage.DefaultChannel)
	made("may2", time.Date(2026, 5, 2, 0, 0, 1, 0, time.UTC), other)
	made("may3", time.Date(2026, 5, 3, 12, 0, 0, 0, time.UTC), storage.DefaultChannel)
	made("may4", time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC), other)

	for _, tc := range []struct {
		name string
		f    storage.CaseFilter
		want []string
	}{
		{"every case", storage.CaseFilter{}, []string{"REF-may4", "REF-may3", "REF-may2", "REF-may1"}},
		{"the other channel", storage.CaseFilter{ChannelID: other}, []string{"REF-may4", "REF-may2"}},
		{"from a day, that day included", storage.CaseFilter{ReceivedFrom: day(2026, 5, 2)}, []string{"REF-may4", "REF-may3", "REF-may2"}},
		{"to a day, all of that day included", storage.CaseFilter{ReceivedTo: day(2026, 5, 3)}, []string{"REF-may3", "REF-may2", "REF-may1"}},
		{"one day", storage.CaseFilter{ReceivedFrom: day(2026, 5, 2), ReceivedTo: day(2026, 5, 2)}, []string{"REF-may2"}},
		{"a range and a channel", storage.CaseFilter{ChannelID: storage.DefaultChannel, ReceivedFrom: day(2026, 5, 2), ReceivedTo: day(2026, 5, 4)}, []string{"REF-may3"}},
		{"a range the wrong way round", storage.CaseFilter{ReceivedFrom: day(2026, 5, 4), ReceivedTo: day(2026, 5, 1)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			f.AllChannels = true
			got := refs(t, db, f)
			if !equalStrings(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			total, _, err := db.CountCases(ctx, f, storage.CountCap)
			if err != nil || total != len(tc.want) {
				t.Errorf("total %d (%v), want %d", total, err, len(tc.want))
			}
		})
	}

	// A member of the default channel only never sees the other's cases,
	// even when they ask for that channel.
	staff, err := db.CreateStaff(ctx, "bob", storage.RoleCaseworker)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddChannelMember(ctx, storage.DefaultChannel, staff.ID); err != nil {
		t.Fatal(err)
	}
	if got := refs(t, db, storage.CaseFilter{ViewerID: staff.ID, ChannelID: other, WithSummary: true}); len(got) != 0 {
		t.Errorf("a non-member asking for another channel's cases got %v", got)
	}
	if got := refs(t, db, storage.CaseFilter{ViewerID: staff.ID}); !equalStrings(got, []string{"REF-may3", "REF-may1"}) {
		t.Errorf("a member of the default channel sees %v", got)
	}
}

// Cases from before summaries have none, keep their order by day, and
// take their place among the day's at their first staff event.
func TestMigrationKeepsOldCasesWithoutSummaries(t *testing.T) {
	t.Parallel()
	sqliteOnly(t, "migration of a SQLite database from before summaries (0020); a case stored without a summary is checked in TestSummaryIsStoredWithTheCaseAndGoesWithIt")
	dir := t.TempDir()
	raw := migratedTo(t, dir, 19)
	for _, q := range []string{
		`PRAGMA user_version = 19`,
		`INSERT INTO kdf_params (id, time, memory_kib, threads, salt, created_at) VALUES (1, 3, 65536, 4, x'00', 0)`,
		fmt.Sprintf(`INSERT INTO cases (id, ref, lookup_id, kdf_id, wrapped_identity, recipient, status, created_at, updated_at, ack_by_day)
		 VALUES (1, 'OLD1-CASE', x'01', 1, x'00', 'age1old', 'new', %d, %d, %d)`, day(2026, 11, 1).Unix(), day(2026, 11, 2).Unix(), day(2026, 11, 8).Unix()),
		fmt.Sprintf(`INSERT INTO cases (id, ref, lookup_id, kdf_id, wrapped_identity, recipient, status, created_at, updated_at, ack_by_day)
		 VALUES (2, 'OLD2-CASE', x'02', 1, x'00', 'age1old', 'new', %d, %d, %d)`, day(2026, 11, 1).Unix(), day(2026, 11, 3).Unix(), day(2026, 11, 8).Unix()),
		fmt.Sprintf(`INSERT INTO cases (id, ref, lookup_id, kdf_id, wrapped_identity, recipient, status, created_at, updated_at, ack_by_day)
		 VALUES (3, 'OLD3-CASE', x'03', 1, x'00', 'age1old', 'new', %d, %d, %d)`, day(2026, 11, 1).Unix(), day(2026, 11, 3).Unix(), day(2026, 11, 8).Unix()),
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()

	db := mustOpenDBAt(t, dir)
	ctx := context.Background()
	f := storage.CaseFilter{AllChannels: true, WithSummary: true}
	cases, _, err := db.ListCases(ctx, f, storage.Cursor{}, 50)
	if err != nil || len(cases) != 3 || cases[2].Ref != "OLD1-CASE" {
		t.Fatalf("after the migration: %+v %v", cases, err)
	}
	for _, c := range cases {
		if c.Summary != nil {
			t.Errorf("%s has a summary", c.Ref)
		}
	}
	db.Now = fixedClock(time.Date(2026, 11, 3, 15, 0, 0, 0, time.UTC))
	for _, id := range []int64{3, 2} {
		if err := db.SetCaseStatus(ctx, id, storage.StatusInReview); err != nil {
			t.Fatal(err)
		}
	}
	if got := refs(t, db, f); !equalStrings(got, []string{"OLD2-CASE", "OLD3-CASE", "OLD1-CASE"}) {
		t.Errorf("after staff acted on 3 then 2: %v", got)
	}
}
