package storage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/candour/candour/storage"
)

// Saving a questionnaire stores the next version and leaves the earlier
// ones as they were; an editor working from an old version is refused.
func TestQuestionnaireVersions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpenDB(t)
	ch := mustChannel(t, db, "Kent")
	admin := newStaff(t, db, "ada")
	if _, err := db.Questionnaire(ctx, ch); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a new channel has a questionnaire: %v", err)
	}
	v1, err := db.SaveQuestionnaire(ctx, ch, 0, []byte(`{"steps":[]}`), admin.ID)
	if err != nil || v1 != 1 {
		t.Fatalf("first save: version %d, %v", v1, err)
	}
	if _, err := db.SaveQuestionnaire(ctx, ch, 0, []byte(`{"steps":[{}]}`), admin.ID); !errors.Is(err, storage.ErrQuestionnaireChanged) {
		t.Fatalf("a save from a stale version: %v", err)
	}
	v2, err := db.SaveQuestionnaire(ctx, ch, 1, []byte(`{"steps":[{"questions":[]}]}`), admin.ID)
	if err != nil || v2 != 2 {
		t.Fatalf("second save: version %d, %v", v2, err)
	}
	newest, err := db.Questionnaire(ctx, ch)
	if err != nil || newest.Version != 2 || string(newest.Definition) != `{"steps":[{"questions":[]}]}` || newest.CreatedBy != admin.ID {
		t.Fatalf("newest: %+v, %v", newest, err)
	}
	old, err := db.QuestionnaireVersion(ctx, ch, 1)
	if err != nil || string(old.Definition) != `{"steps":[]}` {
		t.Fatalf("version 1: %+v, %v", old, err)
	}
	if _, err := db.QuestionnaireVersion(ctx, ch, 3); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("version 3: %v", err)
	}
	list, err := db.QuestionnaireVersions(ctx, ch)
	if err != nil || len(list) != 2 || list[0].Version != 2 || list[1].Version != 1 {
		t.Fatalf("versions: %+v, %v", list, err)
	}
	if _, err := db.SaveQuestionnaire(ctx, 9999, 0, []byte(`{}`), admin.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a save for no channel: %v", err)
	}
	// Each channel counts its own versions.
	other := mustChannel(t, db, "Essex")
	if v, err := db.SaveQuestionnaire(ctx, other, 0, []byte(`{"steps":[]}`), 0); err != nil || v != 1 {
		t.Fatalf("other channel: version %d, %v", v, err)
	}
}

// A case records the questionnaire version it was asked with.
func TestCaseRecordsItsQuestionnaire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpenDB(t)
	kdf := mustKDF(t, db)
	nc := newCase(kdf.ID, "q")
	nc.Questionnaire = "channel-1@2"
	c, err := db.CreateCase(ctx, nc)
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.Case(ctx, c.ID)
	if err != nil || got.Questionnaire != "channel-1@2" {
		t.Fatalf("got %q, %v", got.Questionnaire, err)
	}
}
