package storage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/candour/candour/storage"
)

func TestOutcomesAreSeededOrderedAndArchivedNotDeleted(t *testing.T) {
	db := mustOpenDB(t)
	ctx := context.Background()
	all, err := db.Outcomes(ctx, false)
	if err != nil || len(all) != 6 || all[0].Label != "Substantiated" {
		t.Fatalf("seeded outcomes = %+v, %v", all, err)
	}
	added, err := db.AddOutcome(ctx, "Resolved informally")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddOutcome(ctx, "Substantiated"); !errors.Is(err, storage.ErrDuplicate) {
		t.Fatalf("a duplicate label: %v, want ErrDuplicate", err)
	}
	if err := db.MoveOutcome(ctx, added.ID, true); err != nil {
		t.Fatal(err)
	}
	all, _ = db.Outcomes(ctx, false)
	if all[5].ID != added.ID || all[6].Label != "Withdrawn by the reporter" {
		t.Fatalf("after moving up: %+v", all)
	}
	if err := db.MoveOutcome(ctx, all[0].ID, true); err != nil {
		t.Fatalf("moving the first up changes nothing: %v", err)
	}

	c := mustCreateCase(t, db, "closed with an outcome")
	if err := db.SetOutcomeArchived(ctx, added.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := db.CloseCase(ctx, c.ID, added.ID, 0); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("closing with an archived outcome: %v, want ErrNotFound", err)
	}
	if err := db.SetOutcomeArchived(ctx, added.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := db.CloseCase(ctx, c.ID, added.ID, 0); err != nil {
		t.Fatal(err)
	}
	if err := db.SetOutcomeArchived(ctx, added.ID, true); err != nil {
		t.Fatal(err)
	}
	if o, _, err := db.CaseOutcome(ctx, c.ID); err != nil || o.Label != "Resolved informally" || !o.Archived {
		t.Fatalf("an archived outcome of a closed case = %+v, %v", o, err)
	}
	if err := db.ReopenCase(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.CaseOutcome(ctx, c.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a reopened case's outcome: %v, want ErrNotFound", err)
	}
	if err := db.ReopenCase(ctx, c.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("reopening an open case: %v, want ErrNotFound", err)
	}
}
