package storage_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/candour/candour/storage"
)

// Writers queue on the single write connection, so concurrent writes must
// never fail with "database is locked", and none may be lost.
func TestConcurrentWritesAllSucceed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpenDB(t)
	kdf := mustKDF(t, db)

	const (
		goroutines  = 16
		perRoutine  = 20
		uploaders   = 4 // goroutines 0, 4, 8 and 12 also upload an attachment
		uploadBytes = storage.ChunkSize + 123
	)

	caseIDs := make([]int64, goroutines)
	attachmentIDs := make([]int64, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			c, err := db.CreateCase(ctx, newCase(kdf.ID, fmt.Sprintf("concurrent-%d", g)))
			if err != nil {
				t.Errorf("goroutine %d: CreateCase: %v", g, err)
				return
			}
			caseIDs[g] = c.ID

			var linkNow []int64
			if g%(goroutines/uploaders) == 0 {
				w, err := db.NewAttachment(ctx)
				if err != nil {
					t.Errorf("goroutine %d: NewAttachment: %v", g, err)
					return
				}
				data := pattern(uploadBytes, uint32(g))
				for off := 0; off < len(data); off += 100003 {
					if _, err := w.Write(data[off:min(off+100003, len(data))]); err != nil {
						t.Errorf("goroutine %d: Write: %v", g, err)
						return
					}
				}
				if err := w.Close(); err != nil {
					t.Errorf("goroutine %d: Close: %v", g, err)
					return
				}
				attachmentIDs[g] = w.ID()
				linkNow = []int64{w.ID()}
			}

			for i := range perRoutine {
				author := storage.AuthorStaff
				if i%2 == 1 {
					author = storage.AuthorReporter
				}
				m := storage.NewMessage{Author: author, Ciphertext: fakeAge(fmt.Sprintf("g%d m%d", g, i))}
				if i == 0 {
					m.AttachmentIDs = linkNow
				}
				if _, err := db.AddMessage(ctx, c.ID, m); err != nil {
					t.Errorf("goroutine %d: AddMessage %d: %v", g, i, err)
					return
				}
				if i%5 == 0 { // reads interleave with the writes
					if _, err := db.Messages(ctx, c.ID); err != nil {
						t.Errorf("goroutine %d: Messages: %v", g, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	wantCount(t, db, rowCounts{
		cases:       goroutines,
		messages:    goroutines * (1 + perRoutine),
		attachments: uploaders,
		chunks:      uploaders * 2,
	})
	for g, id := range caseIDs {
		msgs, err := db.Messages(ctx, id)
		if err != nil {
			t.Fatalf("Messages(case %d): %v", id, err)
		}
		if len(msgs) != 1+perRoutine {
			t.Errorf("case of goroutine %d has %d messages, want %d", g, len(msgs), 1+perRoutine)
		}
		if aid := attachmentIDs[g]; aid != 0 {
			if len(msgs) < 2 || len(msgs[1].Attachments) != 1 || msgs[1].Attachments[0].ID != aid || msgs[1].Attachments[0].Size != uploadBytes {
				t.Errorf("case of goroutine %d: attachment %d not listed under its message", g, aid)
			}
			if got, err := db.AttachmentCase(ctx, aid); err != nil || got != id {
				t.Errorf("AttachmentCase(%d) = %d, %v; want %d", aid, got, err, id)
			}
		}
	}
	if err := db.IntegrityCheck(ctx); err != nil {
		t.Errorf("IntegrityCheck: %v", err)
	}
}

// Several instances of Candour may share one database (PostgreSQL; on
// SQLite, a server and a tool beside it). Their read-then-write
// transactions must not interleave: messages of one case from both
// instances take consecutive places in its thread, a case is acknowledged
// once, and of two saves of the same questionnaire version one wins and
// the other is told the questionnaire changed. All start together, behind
// one barrier.
func TestInstancesSharingADatabaseWriteOneAfterAnother(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	instances := []*storage.DB{mustOpenDBAt(t, dir), mustOpenDBAt(t, dir)}
	c := mustCreateCase(t, instances[0], "shared")
	acked := mustCreateCase(t, instances[1], "acknowledged")

	const writers, perWriter = 8, 10 // writers alternate between the instances
	start := make(chan struct{})
	var wg sync.WaitGroup
	msgErrs := make([]error, writers)
	ackErrs := make([]error, writers)
	saveErrs := make([]error, writers)
	versions := make([]int, writers)
	for w := range writers {
		db := instances[w%len(instances)]
		wg.Go(func() {
			<-start
			_, ackErrs[w] = db.AcknowledgeCase(ctx, acked.ID)
			versions[w], saveErrs[w] = db.SaveQuestionnaire(ctx, storage.DefaultChannel, 0, fmt.Appendf(nil, `{"writer":%d}`, w), 0)
			for i := range perWriter {
				m := storage.NewMessage{Author: storage.AuthorReporter, Ciphertext: fakeAge(fmt.Sprintf("w%d m%d", w, i))}
				if _, err := db.AddMessage(ctx, c.ID, m); err != nil {
					msgErrs[w] = fmt.Errorf("message %d: %w", i, err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()

	for w, err := range msgErrs {
		if err != nil {
			t.Errorf("writer %d: AddMessage: %v", w, err)
		}
	}
	msgs, err := instances[1].Messages(ctx, c.ID)
	must(t, err)
	var seqs []int64
	for _, m := range msgs {
		seqs = append(seqs, m.Seq)
	}
	want := make([]int64, 1+writers*perWriter)
	for i := range want {
		want[i] = int64(i + 1)
	}
	if !slices.Equal(seqs, want) {
		t.Errorf("the thread's places are %v, want 1 to %d once each", seqs, len(want))
	}

	won := 0
	for w, err := range ackErrs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, storage.ErrAlreadyAcknowledged):
			t.Errorf("writer %d: AcknowledgeCase: %v, want success or ErrAlreadyAcknowledged", w, err)
		}
	}
	if won != 1 {
		t.Errorf("the case was acknowledged %d times, want once", won)
	}

	won = 0
	for w, err := range saveErrs {
		switch {
		case err == nil && versions[w] == 1:
			won++
		case err == nil:
			t.Errorf("writer %d saved version %d over version 0", w, versions[w])
		case !errors.Is(err, storage.ErrQuestionnaireChanged):
			t.Errorf("writer %d: SaveQuestionnaire: %v, want success or ErrQuestionnaireChanged", w, err)
		}
	}
	if stored, err := instances[0].QuestionnaireVersions(ctx, storage.DefaultChannel); err != nil || won != 1 || len(stored) != 1 {
		t.Errorf("%d saves of version 1 succeeded, %d versions stored (%v); want one of each", won, len(stored), err)
	}
}
