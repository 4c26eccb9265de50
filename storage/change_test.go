package storage_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/candour/candour/internal/concurrently"
	"github.com/candour/candour/storage"
)

// auditCount is how many entries the trail holds.
func auditCount(t *testing.T, db *storage.DB) int {
	t.Helper()
	_, n, err := db.AuditPage(context.Background(), 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func mustStatus(t *testing.T, db *storage.DB, id int64) string {
	t.Helper()
	c, err := db.Case(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c.Status
}

func TestChangeAndItsAuditEntryCommitTogether(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	c := mustCreateCase(t, db, "a")
	e := storage.AuditEntry{Actor: "alice", Action: "case.status", Target: c.Ref}
	err := db.Change(ctx, &e, func(ctx context.Context) error {
		e.Detail = "new -> closed" // completed inside, as a handler may
		return db.SetCaseStatus(ctx, c.ID, storage.StatusClosed)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := mustStatus(t, db, c.ID); got != storage.StatusClosed {
		t.Errorf("status %q", got)
	}
	entries, n, err := db.AuditPage(ctx, 0, 10)
	if err != nil || n != 1 || entries[0].Detail != "new -> closed" || entries[0].ID != e.ID || len(e.Hash) == 0 {
		t.Fatalf("trail %v (%d), %v; returned entry %+v", entries, n, err, e)
	}
}

func TestAFailedChangeLeavesNoAuditEntry(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	c := mustCreateCase(t, db, "a")
	refused := errors.New("refused")
	e := storage.AuditEntry{Actor: "alice", Action: "case.status", Target: c.Ref}
	err := db.Change(ctx, &e, func(ctx context.Context) error {
		if err := db.SetCaseStatus(ctx, c.ID, storage.StatusClosed); err != nil {
			return err
		}
		return refused // after a write: the write must go too
	})
	if !errors.Is(err, refused) {
		t.Fatalf("err = %v", err)
	}
	if got := mustStatus(t, db, c.ID); got != storage.StatusNew {
		t.Errorf("status %q after a failed change", got)
	}
	if n := auditCount(t, db); n != 0 {
		t.Errorf("%d audit entries for a failed change", n)
	}
}

func TestAChangeWhoseAuditEntryFailsIsUndone(t *testing.T) {
	ctx := context.Background()
	db, dir := mustOpenDBDir(t)
	c := mustCreateCase(t, db, "a")
	// The audit insert itself fails, as a full disk or a broken trail
	// would make it.
	rawExec(t, dir, refusingTriggerSQL("audit_log_refuse", "audit_log", "refused")...)
	e := storage.AuditEntry{Actor: "alice", Action: "case.status", Target: c.Ref}
	err := db.Change(ctx, &e, func(ctx context.Context) error {
		return db.SetCaseStatus(ctx, c.ID, storage.StatusClosed)
	})
	if err == nil {
		t.Fatal("the change was kept without its audit entry")
	}
	if got := mustStatus(t, db, c.ID); got != storage.StatusNew {
		t.Errorf("status %q although its audit entry failed", got)
	}
	// So is one whose entry is invalid.
	raw := openRawAt(t, dir)
	if _, err := raw.Exec(dropTriggerSQL("audit_log_refuse", "audit_log")); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	e = storage.AuditEntry{Action: "case.status"}
	if err := db.Change(ctx, &e, func(ctx context.Context) error {
		return db.SetCaseStatus(ctx, c.ID, storage.StatusClosed)
	}); err == nil || mustStatus(t, db, c.ID) != storage.StatusNew {
		t.Errorf("a change with an actorless entry: %v, status %q", err, mustStatus(t, db, c.ID))
	}
}

func TestChangesSeveralWritesAndADeletion(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	c := mustCreateCase(t, db, "a")
	st, err := db.CreateStaff(ctx, "alice", storage.RoleCaseworker)
	if err != nil {
		t.Fatal(err)
	}
	// Several writes, one of them grouped (AddMessage), in one change.
	e := storage.AuditEntry{Actor: "alice", Action: "case.reply", Target: c.Ref}
	err = db.Change(ctx, &e, func(ctx context.Context) error {
		if err := db.AssignCase(ctx, c.ID, st.ID); err != nil {
			return err
		}
		m, err := db.AddMessage(ctx, c.ID, storage.NewMessage{Author: storage.AuthorStaff, Ciphertext: fakeAge("reply")})
		e.Detail = fmt.Sprintf("message %d", m.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := db.CaseAssignee(ctx, c.ID); a != st.ID {
		t.Errorf("assignee %d", a)
	}
	// A deletion: its reclaiming runs after the commit.
	e = storage.AuditEntry{Actor: storage.ActorSystem, Action: "case.deleted", Target: c.Ref}
	if err := db.Change(ctx, &e, func(ctx context.Context) error { return db.DeleteCase(ctx, c.ID) }); err != nil &&
		!errors.Is(err, storage.ErrCheckpointBusy) {
		t.Fatal(err)
	}
	if _, err := db.Case(ctx, c.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("case after deletion: %v", err)
	}
	if n := auditCount(t, db); n != 2 {
		t.Errorf("%d entries, want 2", n)
	}
	if err := db.VerifyAudit(ctx); err != nil {
		t.Error(err)
	}
}

func TestConcurrentChangesKeepOneChain(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	c := mustCreateCase(t, db, "a")
	st, err := db.CreateStaff(ctx, "alice", storage.RoleCaseworker)
	if err != nil {
		t.Fatal(err)
	}
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			e := storage.AuditEntry{Actor: "alice", Action: "case.note", Target: c.Ref}
			errs <- db.Change(ctx, &e, func(ctx context.Context) error {
				_, err := db.AddNote(ctx, c.ID, st.ID, fakeAge(fmt.Sprint("note ", i)))
				return err
			})
		}()
		go func() { // reporters' messages share the group commit
			defer wg.Done()
			_, err := db.AddMessage(ctx, c.ID, storage.NewMessage{Author: storage.AuthorReporter, Ciphertext: fakeAge(fmt.Sprint("m ", i))})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := auditCount(t, db); got != n {
		t.Errorf("%d entries, want %d", got, n)
	}
	if err := db.VerifyAudit(ctx); err != nil {
		t.Error(err)
	}
}

// Two instances on one database append to one chain: every audited change
// of either is kept, in order, and a verification running meanwhile on
// either sees one consistent snapshot, never a head ahead of its entries.
func TestInstancesKeepOneAuditChain(t *testing.T) {
	ctx := context.Background()
	a, b := twoInstances(t)
	c := mustCreateCase(t, a, "a")
	st, err := a.CreateStaff(ctx, "alice", storage.RoleCaseworker)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	var writes []func() error
	for i := range n {
		for _, db := range []*storage.DB{a, b} {
			writes = append(writes, func() error {
				e := storage.AuditEntry{Actor: "alice", Action: "case.note", Target: c.Ref}
				return db.Change(ctx, &e, func(ctx context.Context) error {
					_, err := db.AddNote(ctx, c.ID, st.ID, fakeAge(fmt.Sprint("note ", i)))
					return err
				})
			}, func() error {
				_, err := db.AppendAudit(ctx, storage.AuditEntry{Actor: "alice", Action: "case.open", Target: c.Ref})
				return err
			})
		}
	}
	done := make(chan struct{})
	verifier := func(db *storage.DB) func() error {
		return func() error {
			for {
				if err := db.VerifyAudit(ctx); err != nil {
					return err
				}
				select {
				case <-done:
					return nil
				default:
				}
			}
		}
	}
	all := append([]func() error{verifier(a), verifier(b)}, func() error {
		defer close(done)
		for i, err := range concurrently.Run(writes...) {
			if err != nil {
				return fmt.Errorf("write %d: %w", i, err)
			}
		}
		return nil
	})
	for _, err := range concurrently.Run(all...) {
		if err != nil {
			t.Error(err)
		}
	}
	for _, db := range []*storage.DB{a, b} {
		if got := auditCount(t, db); got != len(writes) {
			t.Errorf("%d entries, want %d", got, len(writes))
		}
		if err := db.VerifyAudit(ctx); err != nil {
			t.Error(err)
		}
	}
	if notes, err := b.Notes(ctx, c.ID); err != nil || len(notes) != 2*n {
		t.Errorf("%d notes, %v; want %d", len(notes), err, 2*n)
	}
}
