package storage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/candour/candour/storage"
)

// An export reads the questionnaire versions its cases name within its
// snapshot: a stored version is there, one saved after the snapshot began
// is not, and neither is one never saved.
func TestViewReadsQuestionnaireVersionsInItsSnapshot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpenDB(t)
	ch := mustChannel(t, db, "Kent")
	if _, err := db.SaveQuestionnaire(ctx, ch, 0, []byte(`{"steps":[]}`), 0); err != nil {
		t.Fatal(err)
	}
	err := db.View(ctx, func(v *storage.View) error {
		if _, err := db.SaveQuestionnaire(ctx, ch, 1, []byte(`{"steps":[{"questions":[]}]}`), 0); err != nil {
			return err
		}
		q, err := v.QuestionnaireVersion(ctx, ch, 1)
		if err != nil || q.ChannelID != ch || q.Version != 1 || string(q.Definition) != `{"steps":[]}` || q.CreatedAt == 0 {
			t.Errorf("version 1 in the snapshot: %+v, %v", q, err)
		}
		if _, err := v.QuestionnaireVersion(ctx, ch, 2); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("a version saved after the snapshot began: %v", err)
		}
		if _, err := v.QuestionnaireVersion(ctx, ch+100, 1); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("a version of no channel: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if q, err := db.QuestionnaireVersion(ctx, ch, 2); err != nil || q.Version != 2 {
		t.Fatalf("version 2 after the snapshot: %+v, %v", q, err)
	}
}
