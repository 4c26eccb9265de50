package storage_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/candour/candour/storage"
)

func TestUsedForms(t *testing.T) {
	ctx := context.Background()
	hash := func(s string) []byte { h := make([]byte, 32); copy(h, s); return h }

	t.Run("a report form's token creates one case; its repeat creates nothing", func(t *testing.T) {
		db := mustOpenDB(t)
		kdf := mustKDF(t, db)
		first := newCase(kdf.ID, "first")
		first.FormHash = hash("report form")
		if _, err := db.CreateCase(ctx, first); err != nil {
			t.Fatal(err)
		}
		again := newCase(kdf.ID, "again")
		again.FormHash = hash("report form")
		if _, err := db.CreateCase(ctx, again); !errors.Is(err, storage.ErrFormUsed) {
			t.Fatalf("second CreateCase with the same token: %v, want ErrFormUsed", err)
		}
		wantCount(t, db, rowCounts{cases: 1, messages: 1})
		if used, err := db.FormUsed(ctx, hash("report form")); err != nil || !used {
			t.Errorf("FormUsed = %v, %v; want true", used, err)
		}
		if used, err := db.FormUsed(ctx, hash("other")); err != nil || used {
			t.Errorf("FormUsed of an unused token = %v, %v; want false", used, err)
		}
	})

	t.Run("concurrent messages with one token add one message", func(t *testing.T) {
		db := mustOpenDB(t)
		c := mustCreateCase(t, db, "case")
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = db.AddMessage(ctx, c.ID, storage.NewMessage{Author: storage.AuthorReporter,
					Ciphertext: fakeAge("message"), FormHash: hash("message form")})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, storage.ErrFormUsed):
				t.Errorf("AddMessage: %v", err)
			}
		}
		if ok != 1 {
			t.Errorf("%d messages accepted, want 1", ok)
		}
		wantCount(t, db, rowCounts{cases: 1, messages: 2})
	})

	t.Run("used tokens are forgotten two to three days later", func(t *testing.T) {
		db := mustOpenDB(t)
		now := time.Date(2026, 12, 6, 23, 59, 0, 0, time.UTC)
		db.Now = func() time.Time { return now }
		c := mustCreateCase(t, db, "case")
		add := func(h string) error {
			_, err := db.AddMessage(ctx, c.ID, storage.NewMessage{Author: storage.AuthorReporter,
				Ciphertext: fakeAge(h), FormHash: hash(h)})
			return err
		}
		must(t, add("old"))
		now = now.Add(24*time.Hour + time.Minute) // two days on the calendar later
		must(t, add("new"))
		if n, err := db.CountUsedForms(ctx); err != nil || n != 2 {
			t.Errorf("%d used forms kept two days later (err %v), want 2", n, err)
		}
		now = now.Add(24 * time.Hour)
		must(t, add("newer"))
		if n, err := db.CountUsedForms(ctx); err != nil || n != 2 {
			t.Errorf("%d used forms kept three days later (err %v), want 2 (the oldest deleted)", n, err)
		}
		if err := add("old"); err != nil {
			t.Errorf("a forgotten token is refused: %v", err)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
