package storage_test

import (
	"context"
	"fmt"
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
