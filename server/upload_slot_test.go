package server

import (
	"context"
	"testing"

	"github.com/candour/candour/storage"
)

// A handler gives its upload slot back as soon as the body is received,
// and again when it returns: the second release must change nothing.
func TestUploadSlotReleasedTwiceIsFreedOnce(t *testing.T) {
	t.Parallel()
	db, err := storage.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := &Server{db: db, cfg: Config{SubmissionsPerMinute: 1 << 30}, uploads: make(chan struct{}, 2)}
	s.rec.Store(&versionedRecipients{}) // version 0, as the database's
	ctx := context.Background()
	first, err := s.acquireUpload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.acquireUpload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first()
	first()
	if n := len(s.uploads); n != 1 {
		t.Fatalf("%d slots taken after one upload released its slot twice, want 1", n)
	}
	second()
	if n := len(s.uploads); n != 0 {
		t.Errorf("%d slots taken after both released, want 0", n)
	}
}
