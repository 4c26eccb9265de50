package storage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/candour/candour/storage"
)

// A status change made from an earlier reading of a case (a form, a bulk
// selection) leaves a case closed meanwhile closed: reopening is its own
// action, with its own audit entry.
func TestAnOpenStatusChangeLeavesAClosedCaseClosed(t *testing.T) {
	db := mustOpenDB(t)
	ctx := context.Background()
	c := mustCreateCase(t, db, "closed meanwhile")
	if err := db.SetOpenCaseStatus(ctx, c.ID, storage.StatusReferred); err != nil {
		t.Fatalf("an open case: %v", err)
	}
	if err := db.CloseCase(ctx, c.ID, 1, 0); err != nil {
		t.Fatal(err)
	}
	if err := db.SetOpenCaseStatus(ctx, c.ID, storage.StatusNew); !errors.Is(err, storage.ErrCaseClosed) {
		t.Errorf("a closed case: %v, want ErrCaseClosed", err)
	}
	after, err := db.Case(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Status != storage.StatusClosed {
		t.Errorf("the closed case became %q", after.Status)
	}
	if err := db.SetOpenCaseStatus(ctx, c.ID, storage.StatusClosed); err == nil {
		t.Error("closing through an open status change was accepted")
	}
	if err := db.SetOpenCaseStatus(ctx, 1<<40, storage.StatusNew); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("no such case: %v", err)
	}
}
