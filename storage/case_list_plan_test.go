package storage

import (
	"context"
	"strings"
	"testing"
	"time"
)

// The inbox's queries walk an index in the list's order from the cursor's
// key and stop at the page's end: for every filter, SQLite's plan (without
// statistics, as an installation has them) reads the cases through an
// index range or in the order's index, never sorts what it found (which
// would read every case that matches), and a channel filter uses the
// channel's index.
func TestListCasesPlansWalkAnIndex(t *testing.T) {
	t.Parallel()
	db, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key := Cursor{set: true, a: 1765000000, b: 3, id: 42}
	deadlineKey := Cursor{set: true, byDeadline: true, a: 1765000000, id: 42}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		f     CaseFilter
		index string // the index the cases are read through
	}{
		{"the viewer's cases", CaseFilter{ViewerID: 1}, "cases_inbox"},
		{"every channel", CaseFilter{AllChannels: true}, "cases_inbox"},
		{"a status", CaseFilter{ViewerID: 1, Status: StatusNew}, "cases_inbox_status"},
		{"assigned to the viewer", CaseFilter{ViewerID: 1, AssigneeID: 1}, "cases_inbox_assignee"},
		{"assigned to no one", CaseFilter{ViewerID: 1, AssigneeID: -1}, "cases_inbox_assignee"},
		{"a channel", CaseFilter{ViewerID: 1, ChannelID: 2}, "cases_inbox_channel"},
		{"overdue", CaseFilter{ViewerID: 1, Deadline: DeadlineOverdue}, "cases_inbox"},
		{"received from a day", CaseFilter{ViewerID: 1, ReceivedFrom: from}, "cases_inbox"},
		{"by deadline", CaseFilter{ViewerID: 1, ByDeadline: true}, "cases_next_due"},
		{"due soon by deadline", CaseFilter{ViewerID: 1, ByDeadline: true, Deadline: DeadlineDue}, "cases_next_due"},
		{"a channel by deadline", CaseFilter{ViewerID: 1, ByDeadline: true, ChannelID: 2}, "cases_next_due"},
		{"a status by deadline", CaseFilter{ViewerID: 1, ByDeadline: true, Status: StatusInReview}, "cases_next_due"},
		{"the viewer's overdue cases (the inbox's first list)", CaseFilter{ViewerID: 1, AssigneeID: 1, Deadline: DeadlineOverdue, ByDeadline: true}, "cases_next_due"},
	} {
		for _, at := range []Cursor{{}, key, {set: true, before: true, a: key.a, b: key.b, id: key.id}, deadlineKey,
			{set: true, before: true, byDeadline: true, a: deadlineKey.a, id: deadlineKey.id}} {
			if at.set && at.byDeadline != tc.f.ByDeadline {
				continue
			}
			query, args := db.listSQL(tc.f, at, 50)
			plan := explain(t, db, query, args)
			if strings.Contains(plan, "TEMP B-TREE") || !strings.Contains(strings.ReplaceAll(plan, "\n", " \n")+" ", "INDEX "+tc.index+" ") {
				t.Errorf("%s, cursor %q: the plan is\n%s\nwant a walk of %s with no sort", tc.name, at.String(), plan, tc.index)
			}
		}
	}
}

// explain is SQLite's query plan of query, one step a line.
func explain(t *testing.T, db *DB, query string, args []any) string {
	t.Helper()
	rows, err := db.r.QueryContext(context.Background(), `EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	return strings.Join(lines, "\n")
}
