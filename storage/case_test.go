package storage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/candour/candour/storage"
)

func TestCreateCase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a case round-trips through CaseByLookup, Case and Messages with its creation day only", func(t *testing.T) {
		db := mustOpenDB(t)
		db.Now = fixedClock(time.Date(2026, 11, 23, 14, 37, 12, 0, time.UTC))
		kdf := mustKDF(t, db)
		nc := newCase(kdf.ID, "roundtrip")

		created, err := db.CreateCase(ctx, nc)
		if err != nil {
			t.Fatalf("CreateCase: %v", err)
		}
		want := storage.Case{
			ID: created.ID, Ref: nc.Ref, KDFID: kdf.ID, WrappedIdentity: nc.WrappedIdentity, Recipient: nc.Recipient,
			Status: storage.StatusNew, CreatedAt: day(2026, 11, 23), UpdatedAt: day(2026, 11, 23),
		}
		if created.ID <= 0 {
			t.Errorf("created ID = %d, want > 0", created.ID)
		}
		checkCase(t, "CreateCase result", created, want)

		byLookup, err := db.CaseByLookup(ctx, kdf.ID, nc.LookupID)
		if err != nil {
			t.Fatalf("CaseByLookup: %v", err)
		}
		checkCase(t, "CaseByLookup", byLookup, want)
		if byLookup.CreatedAt.Location() != time.UTC {
			t.Errorf("CreatedAt location = %v, want UTC", byLookup.CreatedAt.Location())
		}

		byID, err := db.Case(ctx, created.ID)
		if err != nil {
			t.Fatalf("Case: %v", err)
		}
		checkCase(t, "Case", byID, want)

		msgs, err := db.Messages(ctx, created.ID)
		if err != nil {
			t.Fatalf("Messages: %v", err)
		}
		if len(msgs) != 1 {
			t.Fatalf("Messages returned %d messages, want 1", len(msgs))
		}
		m := msgs[0]
		if m.ID <= 0 || m.CaseID != created.ID || m.Author != storage.AuthorReporter ||
			!m.CreatedAt.Equal(day(2026, 11, 23)) || !bytes.Equal(m.Ciphertext, nc.First.Ciphertext) || len(m.Attachments) != 0 {
			t.Errorf("first message = %+v, want reporter's ciphertext on case %d dated 2026-11-23 without attachments", m, created.ID)
		}
	})

	t.Run("the first message is always the reporter's, whatever author is passed", func(t *testing.T) {
		db := mustOpenDB(t)
		kdf := mustKDF(t, db)
		nc := newCase(kdf.ID, "author")
		nc.First.Author = storage.AuthorStaff
		c, err := db.CreateCase(ctx, nc)
		if err != nil {
			t.Fatalf("CreateCase: %v", err)
		}
		msgs, err := db.Messages(ctx, c.ID)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("Messages = %v, %v", msgs, err)
		}
		if msgs[0].Author != storage.AuthorReporter {
			t.Errorf("first message author = %q, want %q", msgs[0].Author, storage.AuthorReporter)
		}
	})

	t.Run("lookups that match no case return ErrNotFound", func(t *testing.T) {
		db := mustOpenDB(t)
		kdf := mustKDF(t, db)
		nc := newCase(kdf.ID, "present")
		c, err := db.CreateCase(ctx, nc)
		if err != nil {
			t.Fatalf("CreateCase: %v", err)
		}
		lookups := []struct {
			name string
			get  func() (storage.Case, error)
		}{
			{"a wrong lookup id", func() (storage.Case, error) { return db.CaseByLookup(ctx, kdf.ID, []byte("lookup:absent")) }},
			{"the right lookup id under another kdf id", func() (storage.Case, error) { return db.CaseByLookup(ctx, kdf.ID+1, nc.LookupID) }},
			{"a nil lookup id", func() (storage.Case, error) { return db.CaseByLookup(ctx, kdf.ID, nil) }},
			{"an unknown case id", func() (storage.Case, error) { return db.Case(ctx, c.ID+1) }},
		}
		for _, l := range lookups {
			got, err := l.get()
			if !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("%s: err = %v, want ErrNotFound", l.name, err)
			}
			if got.ID != 0 {
				t.Errorf("%s: returned case %+v, want the zero Case", l.name, got)
			}
		}
	})

	duplicates := []struct {
		name   string
		modify func(nc *storage.NewCase)
	}{
		{"a duplicate ref returns ErrDuplicate and stores neither case nor message", func(nc *storage.NewCase) { nc.Ref = "REF-first" }},
		{"a duplicate lookup id returns ErrDuplicate and stores neither case nor message", func(nc *storage.NewCase) { nc.LookupID = []byte("lookup:first") }},
	}
	for _, tc := range duplicates {
		t.Run(tc.name, func(t *testing.T) {
			db := mustOpenDB(t)
			first := mustCreateCase(t, db, "first")
			aid := mustWriteAttachment(t, db, []byte("attachment of the duplicate"))
			nc := newCase(first.KDFID, "second", aid)
			tc.modify(&nc)

			_, err := db.CreateCase(ctx, nc)
			if !errors.Is(err, storage.ErrDuplicate) {
				t.Fatalf("CreateCase: err = %v, want ErrDuplicate", err)
			}
			wantCount(t, db, rowCounts{cases: 1, messages: 1, attachments: 1, chunks: 1})
			if _, _, err := db.Attachment(ctx, aid); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("the duplicate's attachment: err = %v, want ErrNotFound (still pending)", err)
			}
			// The caller draws a new value and retries: it works, and the
			// attachment can still be linked.
			retry := newCase(first.KDFID, "second", aid)
			if _, err := db.CreateCase(ctx, retry); err != nil {
				t.Fatalf("CreateCase retry: %v", err)
			}
			wantCount(t, db, rowCounts{cases: 2, messages: 2, attachments: 1, chunks: 1})
		})
	}

	t.Run("a first message with empty ciphertext fails and leaves no case behind", func(t *testing.T) {
		db := mustOpenDB(t)
		kdf := mustKDF(t, db)
		nc := newCase(kdf.ID, "empty")
		nc.First.Ciphertext = nil
		if _, err := db.CreateCase(ctx, nc); err == nil {
			t.Fatal("CreateCase with an empty first message succeeded")
		}
		wantCount(t, db, rowCounts{})
		if _, err := db.CaseByLookup(ctx, kdf.ID, nc.LookupID); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("CaseByLookup after the failure: err = %v, want ErrNotFound", err)
		}
	})
}

func TestAddMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("adding to an unknown case returns ErrNotFound and stores nothing", func(t *testing.T) {
		db := mustOpenDB(t)
		c := mustCreateCase(t, db, "known")
		_, err := db.AddMessage(ctx, c.ID+1, storage.NewMessage{Author: storage.AuthorStaff, Ciphertext: fakeAge("lost")})
		if !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("AddMessage: err = %v, want ErrNotFound", err)
		}
		wantCount(t, db, rowCounts{cases: 1, messages: 1})
	})

	t.Run("staff and reporter messages are listed oldest first with their authors", func(t *testing.T) {
		db := mustOpenDB(t)
		c := mustCreateCase(t, db, "thread")
		staff, err := db.AddMessage(ctx, c.ID, storage.NewMessage{Author: storage.AuthorStaff, Ciphertext: fakeAge("staff reply")})
		if err != nil {
			t.Fatalf("AddMessage(staff): %v", err)
		}
		if staff.ID <= 0 || staff.CaseID != c.ID || staff.Author != storage.AuthorStaff || string(staff.Ciphertext) != string(fakeAge("staff reply")) {
			t.Errorf("AddMessage returned %+v", staff)
		}
		reporter, err := db.AddMessage(ctx, c.ID, storage.NewMessage{Author: storage.AuthorReporter, Ciphertext: fakeAge("reporter answer")})
		if err != nil {
			t.Fatalf("AddMessage(reporter): %v", err)
		}
		msgs, err := db.Messages(ctx, c.ID)
		if err != nil {
			t.Fatalf("Messages: %v", err)
		}
		wantAuthors := []string{storage.AuthorReporter, storage.AuthorStaff, storage.AuthorReporter}
		if len(msgs) != len(wantAuthors) {
			t.Fatalf("Messages returned %d messages, want %d", len(msgs), len(wantAuthors))
		}
		for i, m := range msgs {
			if m.Author != wantAuthors[i] {
				t.Errorf("message %d author = %q, want %q", i, m.Author, wantAuthors[i])
			}
		}
		if msgs[1].ID != staff.ID || msgs[2].ID != reporter.ID || string(msgs[2].Ciphertext) != string(fakeAge("reporter answer")) {
			t.Errorf("messages out of order or altered: %+v", msgs)
		}
	})

	t.Run("a thread is read a page at a time, and a negative limit reads the rest", func(t *testing.T) {
		db := mustOpenDB(t)
		c := mustCreateCase(t, db, "pages")
		for i := range 4 {
			if _, err := db.AddMessage(ctx, c.ID, storage.NewMessage{Author: storage.AuthorStaff, Ciphertext: fakeAge(fmt.Sprint("reply ", i))}); err != nil {
				t.Fatalf("AddMessage: %v", err)
			}
		}
		for _, tc := range []struct {
			offset, limit int
			want          []int64
		}{{0, 2, []int64{1, 2}}, {2, 2, []int64{3, 4}}, {4, 2, []int64{5}}, {5, 2, nil}, {0, -1, []int64{1, 2, 3, 4, 5}}, {3, -1, []int64{4, 5}}} {
			msgs, err := db.MessagesPage(ctx, c.ID, tc.offset, tc.limit)
			var seqs []int64
			for _, m := range msgs {
				seqs = append(seqs, m.Seq)
			}
			if err != nil || fmt.Sprint(seqs) != fmt.Sprint(tc.want) {
				t.Errorf("MessagesPage(offset %d, limit %d) = %v, %v; want %v", tc.offset, tc.limit, seqs, err, tc.want)
			}
		}
	})

	t.Run("messages of one case are not listed under another", func(t *testing.T) {
		db := mustOpenDB(t)
		a := mustCreateCase(t, db, "a")
		b := mustCreateCase(t, db, "b")
		if _, err := db.AddMessage(ctx, a.ID, storage.NewMessage{Author: storage.AuthorStaff, Ciphertext: fakeAge("to a")}); err != nil {
			t.Fatal(err)
		}
		msgs, err := db.Messages(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 || msgs[0].CaseID != b.ID {
			t.Errorf("Messages(b) = %+v, want only b's first message", msgs)
		}
		none, err := db.Messages(ctx, b.ID+100)
		if err != nil || len(none) != 0 {
			t.Errorf("Messages(unknown case) = %+v, %v; want no messages and no error", none, err)
		}
	})

	invalid := []struct {
		name string
		msg  storage.NewMessage
	}{
		{"an unknown author is rejected", storage.NewMessage{Author: "admin", Ciphertext: fakeAge("x")}},
		{"an empty author is rejected", storage.NewMessage{Author: "", Ciphertext: fakeAge("x")}},
		{"an empty ciphertext is rejected", storage.NewMessage{Author: storage.AuthorStaff, Ciphertext: []byte{}}},
	}
	for _, tc := range invalid {
		t.Run(tc.name+" without storing a message or touching the case", func(t *testing.T) {
			db := mustOpenDB(t)
			db.Now = fixedClock(day(2026, 1, 1))
			c := mustCreateCase(t, db, "invalid")
			db.Now = fixedClock(day(2026, 2, 1))
			if _, err := db.AddMessage(ctx, c.ID, tc.msg); err == nil {
				t.Fatal("AddMessage succeeded, want an error")
			}
			wantCount(t, db, rowCounts{cases: 1, messages: 1})
			got, err := db.Case(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !got.UpdatedAt.Equal(day(2026, 1, 1)) {
				t.Errorf("UpdatedAt = %v after a failed AddMessage, want it unchanged (2026-01-01)", got.UpdatedAt)
			}
		})
	}

	t.Run("UpdatedAt moves to the day of the latest message and CreatedAt stays", func(t *testing.T) {
		db := mustOpenDB(t)
		db.Now = fixedClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
		c := mustCreateCase(t, db, "updated")

		steps := []struct {
			now         time.Time
			wantUpdated time.Time
		}{
			{time.Date(2026, 11, 23, 23, 59, 59, 0, time.UTC), day(2026, 11, 23)}, // later the same day: no visible change
			{time.Date(2026, 11, 24, 0, 0, 1, 0, time.UTC), day(2026, 11, 24)},
			{time.Date(2027, 1, 5, 17, 3, 0, 0, time.FixedZone("UTC+10", 10*3600)), day(2027, 1, 5)},
		}
		for _, s := range steps {
			db.Now = fixedClock(s.now)
			m, err := db.AddMessage(ctx, c.ID, storage.NewMessage{Author: storage.AuthorStaff, Ciphertext: fakeAge(s.now.String())})
			if err != nil {
				t.Fatalf("AddMessage at %v: %v", s.now, err)
			}
			if !m.CreatedAt.Equal(s.wantUpdated) {
				t.Errorf("message added at %v: CreatedAt = %v, want %v", s.now, m.CreatedAt, s.wantUpdated)
			}
			got, err := db.Case(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !got.UpdatedAt.Equal(s.wantUpdated) {
				t.Errorf("after a message at %v: UpdatedAt = %v, want %v", s.now, got.UpdatedAt, s.wantUpdated)
			}
			if !got.CreatedAt.Equal(day(2026, 11, 23)) {
				t.Errorf("after a message at %v: CreatedAt = %v, want 2026-11-23", s.now, got.CreatedAt)
			}
		}
	})
}

func TestAttachmentLinking(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("CreateCase naming an already linked attachment fails and leaves no new case or message", func(t *testing.T) {
		db := mustOpenDB(t)
		aid := mustWriteAttachment(t, db, []byte("evidence"))
		owner := mustCreateCase(t, db, "owner", aid)
		before := mustCount(t, db)

		kdf := mustKDF(t, db)
		if _, err := db.CreateCase(ctx, newCase(kdf.ID, "thief", aid)); err == nil {
			t.Fatal("CreateCase with a linked attachment succeeded")
		}
		wantCount(t, db, before)
		if got, err := db.AttachmentCase(ctx, aid); err != nil || got != owner.ID {
			t.Errorf("AttachmentCase = %d, %v; want the original case %d", got, err, owner.ID)
		}
		if _, err := db.CaseByLookup(ctx, kdf.ID, []byte("lookup:thief")); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("the failed case is findable: err = %v", err)
		}
	})

	t.Run("AddMessage naming an already linked attachment fails and adds no message", func(t *testing.T) {
		db := mustOpenDB(t)
		aid := mustWriteAttachment(t, db, []byte("evidence"))
		owner := mustCreateCase(t, db, "owner", aid)
		other := mustCreateCase(t, db, "other")
		before := mustCount(t, db)

		for _, target := range []int64{owner.ID, other.ID} {
			_, err := db.AddMessage(ctx, target, storage.NewMessage{Author: storage.AuthorStaff, Ciphertext: fakeAge("again"), AttachmentIDs: []int64{aid}})
			if err == nil {
				t.Errorf("AddMessage to case %d with a linked attachment succeeded", target)
			}
		}
		wantCount(t, db, before)
		if got, err := db.AttachmentCase(ctx, aid); err != nil || got != owner.ID {
			t.Errorf("AttachmentCase = %d, %v; want %d", got, err, owner.ID)
		}
	})

	t.Run("a failed AddMessage leaves its pending attachments pending so a retry can link them", func(t *testing.T) {
		db := mustOpenDB(t)
		db.Now = fixedClock(day(2026, 3, 1))
		linked := mustWriteAttachment(t, db, []byte("linked"))
		c := mustCreateCase(t, db, "retry", linked)
		pending := mustWriteAttachment(t, db, []byte("pending"))
		before := mustCount(t, db)
		db.Now = fixedClock(day(2026, 3, 2))

		attempts := []struct {
			name string
			ids  []int64
		}{
			{"a pending and a linked attachment", []int64{pending, linked}},
			{"the same pending attachment twice", []int64{pending, pending}},
			{"an unknown attachment", []int64{pending, pending + 1000}},
		}
		for _, a := range attempts {
			_, err := db.AddMessage(ctx, c.ID, storage.NewMessage{Author: storage.AuthorReporter, Ciphertext: fakeAge("x"), AttachmentIDs: a.ids})
			if err == nil {
				t.Errorf("AddMessage naming %s succeeded", a.name)
			}
			wantCount(t, db, before)
			if _, _, err := db.Attachment(ctx, pending); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("after naming %s: pending attachment readable (err = %v), want it still pending", a.name, err)
			}
		}
		if got, _ := db.Case(ctx, c.ID); !got.UpdatedAt.Equal(day(2026, 3, 1)) {
			t.Errorf("UpdatedAt = %v after failed AddMessage calls, want 2026-03-01", got.UpdatedAt)
		}

		m, err := db.AddMessage(ctx, c.ID, storage.NewMessage{Author: storage.AuthorReporter, Ciphertext: fakeAge("x"), AttachmentIDs: []int64{pending}})
		if err != nil {
			t.Fatalf("retry AddMessage: %v", err)
		}
		if _, data := mustReadAttachment(t, db, pending); string(data) != "pending" {
			t.Errorf("linked attachment reads %q, want %q", data, "pending")
		}
		msgs, _ := db.Messages(ctx, c.ID)
		if len(msgs) != 2 || msgs[1].ID != m.ID || len(msgs[1].Attachments) != 1 || msgs[1].Attachments[0].ID != pending {
			t.Errorf("Messages = %+v, want the retry listing attachment %d", msgs, pending)
		}
	})
}
