package server

import (
	"context"
	"testing"

	"golang.org/x/time/rate"
)

// A handler gives its upload slot back as soon as the body is received,
// and again when it returns: the second release must change nothing.
func TestUploadSlotReleasedTwiceIsFreedOnce(t *testing.T) {
	t.Parallel()
	s := &Server{uploads: make(chan struct{}, 2), submits: rate.NewLimiter(rate.Inf, 1)}
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
