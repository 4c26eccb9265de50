package storage_test

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/storage"
)

// listRow is what the keyset test knows of a case, read straight from the
// table, to work out the inbox's pages in Go.
type listRow struct {
	id, updated, seq, channel int64
	status                    string
	assignee                  sql.NullInt64
	due                       int64
	recused                   bool
}

// keysetDB is a database of n cases with many ties on the day of last
// activity and on the staff activity sequence, two channels (the viewer in
// one), statuses, assignees, deadlines and recusals, and what each case is.
func keysetDB(t *testing.T, n int) (*storage.DB, int64, []listRow) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db := mustOpenDBAt(t, dir)
	now := day(2026, 12, 6)
	db.Now = func() time.Time { return now }
	viewer, err := db.CreateStaff(ctx, "viewer", storage.RoleCaseworker)
	must(t, err)
	must(t, db.AddChannelMember(ctx, storage.DefaultChannel, viewer.ID))
	other, err := db.CreateChannel(ctx, map[string]storage.ChannelText{"en": {Name: "Other"}})
	must(t, err)
	for i := range n {
		mustCreateCase(t, db, fmt.Sprintf("k%03d", i))
	}
	raw := rawDB(t, dir)
	statuses := []string{storage.StatusNew, storage.StatusInReview, storage.StatusClosed, storage.StatusReferred}
	rows := make([]listRow, 0, n)
	ids, err := raw.Query(`SELECT id FROM cases ORDER BY id`)
	must(t, err)
	for ids.Next() {
		var r listRow
		must(t, ids.Scan(&r.id))
		rows = append(rows, r)
	}
	must(t, ids.Err())
	ids.Close()
	for i := range rows {
		r := &rows[i]
		// Five days of activity, three sequence values: many cases share a
		// day and a sequence, and are told apart by their id alone.
		r.updated = now.AddDate(0, 0, -(i*7)%5).Unix()
		r.seq = int64((i * 5) % 3)
		r.channel = storage.DefaultChannel
		if i%7 == 3 {
			r.channel = other
		}
		r.status = statuses[(i*3)%len(statuses)]
		if i%4 == 1 {
			r.assignee = sql.NullInt64{Int64: viewer.ID, Valid: true}
		}
		// Deadlines on four days around today, so that they tie too.
		r.due = now.AddDate(0, 0, (i%4)-2).Unix()
		r.recused = i%11 == 5
		_, err := raw.Exec(`UPDATE cases SET updated_at = ?, staff_activity_seq = ?, channel_id = ?, status = ?, assignee_id = ?,
			ack_by_day = ?, acknowledged_day = NULL, feedback_by_day = NULL WHERE id = ?`,
			r.updated, r.seq, r.channel, r.status, r.assignee, r.due, r.id)
		must(t, err)
		if r.recused {
			_, err := raw.Exec(`INSERT INTO case_recusals (case_id, staff_id, reason) VALUES (?, ?, 'knows them')`, r.id, viewer.ID)
			must(t, err)
		}
	}
	return db, viewer.ID, rows
}

// walk reads every page of f through the text form of the Older cursors,
// then back through the Newer ones, and returns the ids of both walks
// (the second in list order) and the pages' sizes.
func walk(t *testing.T, db *storage.DB, f storage.CaseFilter, limit int) (forward, backward []int64, pages int) {
	t.Helper()
	ctx := context.Background()
	var at storage.Cursor
	var last storage.Pager
	for i := 0; ; i++ {
		if i > 1000 {
			t.Fatal("the pages never end")
		}
		cases, p, err := db.ListCases(ctx, f, at, limit)
		must(t, err)
		if len(cases) > limit || (len(cases) < limit && !p.Older.IsZero()) {
			t.Fatalf("page %d: %d cases, older page %v", i, len(cases), !p.Older.IsZero())
		}
		if (i == 0) != p.Newer.IsZero() {
			t.Fatalf("page %d: a newer page %v", i, !p.Newer.IsZero())
		}
		for _, c := range cases {
			forward = append(forward, c.ID)
		}
		pages++
		last = p
		if p.Older.IsZero() {
			break
		}
		// As a URL carries it.
		at, err = storage.ParseCursor(p.Older.String())
		must(t, err)
	}
	var back [][]int64
	for p := last; !p.Newer.IsZero(); {
		at, err := storage.ParseCursor(p.Newer.String())
		must(t, err)
		cases, np, err := db.ListCases(ctx, f, at, limit)
		must(t, err)
		var ids []int64
		for _, c := range cases {
			ids = append(ids, c.ID)
		}
		back = append(back, ids)
		if len(back) > 1000 {
			t.Fatal("the pages back never end")
		}
		p = np
	}
	// The last page, then the pages before it, back to the first.
	slices.Reverse(back)
	for _, ids := range back {
		backward = append(backward, ids...)
	}
	if len(forward) > 0 {
		lastPage := forward[(pages-1)*limit:]
		backward = append(backward, lastPage...)
	}
	return forward, backward, pages
}

func TestListCasesWalksEveryCaseOnceInOrder(t *testing.T) {
	t.Parallel()
	db, viewer, rows := keysetDB(t, 157)
	today := day(2026, 12, 6).Unix()
	byActivity := func(a, b listRow) int {
		return cmp.Or(cmp.Compare(b.updated, a.updated), cmp.Compare(b.seq, a.seq), cmp.Compare(b.id, a.id))
	}
	byDeadline := func(a, b listRow) int { return cmp.Or(cmp.Compare(a.due, b.due), cmp.Compare(a.id, b.id)) }
	visible := func(r listRow) bool { return r.channel == storage.DefaultChannel && !r.recused }
	for _, tc := range []struct {
		name  string
		f     storage.CaseFilter
		keep  func(listRow) bool
		order func(a, b listRow) int
	}{
		{"every case of every channel", storage.CaseFilter{AllChannels: true}, func(listRow) bool { return true }, byActivity},
		{"the viewer's cases: their channel, less their recusals", storage.CaseFilter{ViewerID: viewer}, visible, byActivity},
		{"a status", storage.CaseFilter{ViewerID: viewer, Status: storage.StatusInReview},
			func(r listRow) bool { return visible(r) && r.status == storage.StatusInReview }, byActivity},
		{"assigned to no one", storage.CaseFilter{ViewerID: viewer, AssigneeID: -1},
			func(r listRow) bool { return visible(r) && !r.assignee.Valid }, byActivity},
		{"assigned to the viewer", storage.CaseFilter{ViewerID: viewer, AssigneeID: viewer},
			func(r listRow) bool { return visible(r) && r.assignee.Valid }, byActivity},
		{"a channel", storage.CaseFilter{AllChannels: true, ChannelID: storage.DefaultChannel},
			func(r listRow) bool { return r.channel == storage.DefaultChannel }, byActivity},
		{"overdue, newest activity first", storage.CaseFilter{ViewerID: viewer, Deadline: storage.DeadlineOverdue},
			func(r listRow) bool { return visible(r) && r.status != storage.StatusClosed && r.due < today }, byActivity},
		{"open cases by deadline", storage.CaseFilter{ViewerID: viewer, ByDeadline: true},
			func(r listRow) bool { return visible(r) && r.status != storage.StatusClosed }, byDeadline},
		{"due soon by deadline", storage.CaseFilter{ViewerID: viewer, ByDeadline: true, Deadline: storage.DeadlineDue},
			func(r listRow) bool { return visible(r) && r.status != storage.StatusClosed && r.due >= today }, byDeadline},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var want []int64
			sorted := slices.Clone(rows)
			slices.SortFunc(sorted, tc.order)
			for _, r := range sorted {
				if tc.keep(r) {
					want = append(want, r.id)
				}
			}
			if len(want) < 25 {
				t.Fatalf("only %d cases: too few for several pages", len(want))
			}
			for _, limit := range []int{1, 7, 10, len(want), len(want) + 1} {
				forward, backward, pages := walk(t, db, tc.f, limit)
				if !slices.Equal(forward, want) {
					t.Errorf("%d a page: the Older pages list\n%v\nwant\n%v", limit, forward, want)
				}
				if !slices.Equal(backward, want) {
					t.Errorf("%d a page: the Newer pages list\n%v\nwant\n%v", limit, backward, want)
				}
				if wantPages := max(1, (len(want)+limit-1)/limit); pages != wantPages {
					t.Errorf("%d a page: %d pages, want %d", limit, pages, wantPages)
				}
			}
			n, more, err := db.CountCases(context.Background(), tc.f, storage.CountCap)
			if err != nil || n != len(want) || more {
				t.Errorf("CountCases = %d, %v, %v; want %d", n, more, err, len(want))
			}
		})
	}
}

// The count stops at its cap and says there are more.
func TestCountCasesIsCapped(t *testing.T) {
	t.Parallel()
	db, viewer, rows := keysetDB(t, 30)
	f := storage.CaseFilter{AllChannels: true}
	for _, tc := range []struct {
		max  int
		n    int
		more bool
	}{{5, 5, true}, {29, 29, true}, {30, 30, false}, {31, 30, false}} {
		if n, more, err := db.CountCases(context.Background(), f, tc.max); err != nil || n != tc.n || more != tc.more {
			t.Errorf("CountCases(max %d) = %d, %v, %v; want %d, %v", tc.max, n, more, err, tc.n, tc.more)
		}
	}
	if n, _, _ := db.CountCases(context.Background(), storage.CaseFilter{ViewerID: viewer}, 100); n >= len(rows) || n == 0 {
		t.Errorf("the viewer's count %d of %d cases", n, len(rows))
	}
}

// A cursor the inbox did not make is refused, whatever it is; one of the
// other order is refused by ListCases.
func TestCursorsAreCheckedStrictly(t *testing.T) {
	t.Parallel()
	db, viewer, _ := keysetDB(t, 12)
	ctx := context.Background()
	_, p, err := db.ListCases(ctx, storage.CaseFilter{ViewerID: viewer}, storage.Cursor{}, 2)
	must(t, err)
	good := p.Older.String()
	if c, err := storage.ParseCursor(good); err != nil || c.String() != good {
		t.Fatalf("a cursor of the inbox: %v", err)
	}
	for _, bad := range []string{
		"x", "page=2", strings.Repeat("A", len(good)), good + "A", good[:len(good)-1], good[:len(good)-1] + "!",
		strings.ToUpper(good[:1]) + strings.ToLower(good[1:]) + "==", "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE", "AfgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE", "AQD_____________AAAAAAAAAAAAAAAAAAE",
		strings.Repeat("é", 12), "\x00", "../../etc",
	} {
		if bad == good {
			continue
		}
		if c, err := storage.ParseCursor(bad); !errors.Is(err, storage.ErrBadCursor) || !c.IsZero() {
			t.Errorf("ParseCursor(%q) = %v, %v", bad, c, err)
		}
	}
	if c, err := storage.ParseCursor(""); err != nil || !c.IsZero() {
		t.Errorf(`ParseCursor("") = %v, %v; want the first page`, c, err)
	}
	if _, _, err := db.ListCases(ctx, storage.CaseFilter{ViewerID: viewer, ByDeadline: true}, p.Older, 2); !errors.Is(err, storage.ErrCursorOrder) {
		t.Errorf("a cursor of the other order: %v", err)
	}
}

func FuzzParseCursor(f *testing.F) {
	f.Add("")
	f.Add("AQAAAAAAAGk4_UAAAAAAAAAAAgAAAAAAAAAH")
	f.Add("AQMAAAAAAGk4_UAAAAAAAAAAAAAAAAAAAAAH")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := storage.ParseCursor(s)
		if err != nil {
			return
		}
		if c.String() != s {
			t.Fatalf("ParseCursor(%q).String() = %q", s, c.String())
		}
	})
}
