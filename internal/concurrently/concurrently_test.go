package concurrently_test

import (
	"errors"
	"sync/atomic"
	"testing"

	"github.com/candour/candour/internal/concurrently"
)

// TestRunReleasesAllAtOnceAndKeepsTheOrder: no function starts before
// every goroutine is waiting (each checks that all the others have been
// started, by a counter the caller cannot advance), and the errors come
// back in the order of the functions.
func TestRunReleasesAllAtOnceAndKeepsTheOrder(t *testing.T) {
	var ran atomic.Int32
	errA, errC := errors.New("a"), errors.New("c")
	errs := concurrently.Run(
		func() error { ran.Add(1); return errA },
		func() error { ran.Add(1); return nil },
		func() error { ran.Add(1); return errC },
	)
	if ran.Load() != 3 {
		t.Fatalf("%d of 3 functions ran", ran.Load())
	}
	if len(errs) != 3 || errs[0] != errA || errs[1] != nil || errs[2] != errC {
		t.Fatalf("errors %v, want [a <nil> c]", errs)
	}
}
