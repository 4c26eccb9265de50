package storage_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/storage"
)

// pending returns the ids of the staff whose notification is pending.
func pending(t *testing.T, db *storage.DB) map[int64]string {
	t.Helper()
	ps, err := db.PendingNotifications(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]string{}
	for _, p := range ps {
		out[p.StaffID] = p.Email
	}
	return out
}

// Reporters' events flag only the opted-in staff who can see them; the
// flag is one bit, cleared by a claim, and opting out drops it.
func TestReporterEventsFlagOnlyOptedInStaffWhoCanSeeThem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpenDB(t)
	alice := newStaff(t, db, "alice") // in the default channel, opts in
	quiet := newStaff(t, db, "quiet") // in the default channel, does not
	kent := mustChannel(t, db, "Kent Police")
	bob := newStaff(t, db, "bob") // in Kent only, opts in
	must(t, db.AddChannelMember(ctx, kent, bob.ID))
	must(t, db.SetNotifyEmail(ctx, alice.ID, "alice@example.org"))
	must(t, db.SetNotifyEmail(ctx, bob.ID, "bob@example.org"))
	if got := pending(t, db); len(got) != 0 {
		t.Fatalf("pending before any event: %v", got)
	}

	c := mustCreateCase(t, db, "one") // the default channel
	if got := pending(t, db); len(got) != 1 || got[alice.ID] != "alice@example.org" {
		t.Fatalf("after a report in alice's channel: %v", got)
	}
	if p, _ := db.NotifyPending(ctx, quiet.ID); p {
		t.Error("a staff member who did not opt in was flagged")
	}
	// A second event changes nothing: a flag, not a count.
	if _, err := db.AddMessage(ctx, c.ID, storage.NewMessage{Author: storage.AuthorReporter, Ciphertext: fakeAge("m")}); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.ClaimNotifyPending(ctx, alice.ID); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if ok, _ := db.ClaimNotifyPending(ctx, alice.ID); ok {
		t.Error("a flag was claimed twice")
	}
	// A staff reply flags nobody.
	if _, err := db.AddMessage(ctx, c.ID, storage.NewMessage{Author: storage.AuthorStaff, Ciphertext: fakeAge("r")}); err != nil {
		t.Fatal(err)
	}
	if got := pending(t, db); len(got) != 0 {
		t.Fatalf("after a staff reply: %v", got)
	}
	// A recused staff member is not told of their case's messages.
	must(t, db.RecuseFromCase(ctx, c.ID, alice.ID, "a relative is named"))
	if _, err := db.AddMessage(ctx, c.ID, storage.NewMessage{Author: storage.AuthorReporter, Ciphertext: fakeAge("m2")}); err != nil {
		t.Fatal(err)
	}
	if got := pending(t, db); len(got) != 0 {
		t.Fatalf("after a message on a case alice is recused from: %v", got)
	}
	// A report to Kent flags bob, not alice.
	kdf := mustKDF(t, db)
	nc := newCase(kdf.ID, "kent")
	nc.ChannelID = kent
	if _, err := db.CreateCase(ctx, nc); err != nil {
		t.Fatal(err)
	}
	if got := pending(t, db); len(got) != 1 || got[bob.ID] == "" {
		t.Fatalf("after a report to Kent: %v", got)
	}
	// Opting out drops the pending notification.
	must(t, db.SetNotifyEmail(ctx, bob.ID, ""))
	if p, _ := db.NotifyPending(ctx, bob.ID); p {
		t.Error("opting out left the flag set")
	}
	// The hook for other events flags only the opted in.
	must(t, db.MarkNotifyPending(ctx, bob.ID))
	must(t, db.MarkNotifyPending(ctx, alice.ID))
	if got := pending(t, db); len(got) != 1 || got[alice.ID] == "" {
		t.Fatalf("after MarkNotifyPending: %v", got)
	}
	if err := db.SetNotifyEmail(ctx, alice.ID, strings.Repeat("a", 250)+"@x.org"); err == nil {
		t.Error("an address over 254 bytes was stored")
	}
	if st, err := db.StaffByID(ctx, alice.ID); err != nil || st.NotifyEmail != "alice@example.org" {
		t.Errorf("StaffByID: %q %v", st.NotifyEmail, err)
	}
}

// A reporter's message flags exactly the opted-in, enabled members of its
// case's channel who are not recused from it: not the members of another
// channel, nor those who did not opt in, are disabled or are recused.
func TestReporterMessageFlagsTheCasesTeam(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpenDB(t)
	other := newStaff(t, db, "other") // in the default channel only
	kent := mustChannel(t, db, "Kent Police")
	team := map[string]storage.Staff{}
	for _, name := range []string{"bob", "quiet", "off", "recused"} {
		st := newStaff(t, db, name)
		must(t, db.AddChannelMember(ctx, kent, st.ID))
		if name != "quiet" {
			must(t, db.SetNotifyEmail(ctx, st.ID, name+"@example.org"))
		}
		team[name] = st
	}
	must(t, db.SetNotifyEmail(ctx, other.ID, "other@example.org"))
	kdf := mustKDF(t, db)
	nc := newCase(kdf.ID, "kent")
	nc.ChannelID = kent
	c, err := db.CreateCase(ctx, nc)
	must(t, err)
	must(t, db.RecuseFromCase(ctx, c.ID, team["recused"].ID, "a colleague is named"))
	must(t, db.SetStaffDisabled(ctx, team["off"].ID, true))
	// The report flagged the channel; clear every flag before the message.
	for _, st := range []storage.Staff{other, team["bob"], team["quiet"], team["off"], team["recused"]} {
		if _, err := db.ClaimNotifyPending(ctx, st.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.AddMessage(ctx, c.ID, storage.NewMessage{Author: storage.AuthorReporter, Ciphertext: fakeAge("m")}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"bob": true, "quiet": false, "off": false, "recused": false} {
		if p, err := db.NotifyPending(ctx, team[name].ID); err != nil || p != want {
			t.Errorf("%s: pending %v (%v), want %v", name, p, err, want)
		}
	}
	if p, err := db.NotifyPending(ctx, other.ID); err != nil || p {
		t.Errorf("a member of another channel: pending %v (%v), want false", p, err)
	}
	// A message to a case that does not exist flags nobody and fails.
	must(t, db.SetNotifyEmail(ctx, team["bob"].ID, "bob@example.org"))
	if _, err := db.ClaimNotifyPending(ctx, team["bob"].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddMessage(ctx, c.ID+1000, storage.NewMessage{Author: storage.AuthorReporter, Ciphertext: fakeAge("m")}); err == nil {
		t.Error("a message to no case was stored")
	}
	if got := pending(t, db); len(got) != 0 {
		t.Errorf("after a message to no case: %v", got)
	}
}

// A deadline due soon or past flags the opted-in assignee once a day, not
// at every boundary, and only while they may see the open case.
func TestDeadlinesFlagTheAssigneeOnceADay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpenDB(t)
	now := time.Date(2026, 12, 6, 15, 4, 5, 0, time.UTC)
	db.Now = func() time.Time { return now }
	alice, bob := newStaff(t, db, "alice"), newStaff(t, db, "bob") // both in the default channel
	must(t, db.SetNotifyEmail(ctx, alice.ID, "alice@example.org"))
	must(t, db.SetNotifyEmail(ctx, bob.ID, "bob@example.org"))
	c := mustCreateCase(t, db, "dl") // acknowledge by 13 December
	must(t, db.AssignCase(ctx, c.ID, alice.ID))
	for _, s := range []storage.Staff{alice, bob} { // the new report's own flags
		if _, err := db.ClaimNotifyPending(ctx, s.ID); err != nil {
			t.Fatal(err)
		}
	}
	mark := func() int {
		t.Helper()
		n, err := db.MarkDeadlinesDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := mark(); n != 0 || len(pending(t, db)) != 0 {
		t.Fatalf("a deadline a week away flagged %d: %v", n, pending(t, db))
	}
	now = time.Date(2026, 12, 11, 9, 0, 0, 0, time.UTC) // due in two days
	if n := mark(); n != 1 || pending(t, db)[alice.ID] == "" {
		t.Fatalf("a deadline due soon flagged %d: %v", n, pending(t, db))
	}
	if _, err := db.ClaimNotifyPending(ctx, alice.ID); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour) // the next boundary, the same day
	if n := mark(); n != 0 {
		t.Fatalf("the same day flagged the assignee again (%d)", n)
	}
	now = time.Date(2026, 12, 14, 9, 0, 0, 0, time.UTC) // overdue, the next day it counts
	if n := mark(); n != 1 {
		t.Fatalf("an overdue deadline flagged %d", n)
	}
	if _, err := db.ClaimNotifyPending(ctx, alice.ID); err != nil {
		t.Fatal(err)
	}
	// Recused from the case: no longer told about it.
	must(t, db.RecuseFromCase(ctx, c.ID, alice.ID, "knows the officer"))
	now = now.AddDate(0, 0, 1)
	if n := mark(); n != 0 {
		t.Fatalf("a recused assignee was flagged (%d)", n)
	}
}
