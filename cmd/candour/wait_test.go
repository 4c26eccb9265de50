package main_test

import (
	"testing"
	"time"
)

// patience is how long a test waits for something that takes milliseconds
// on an idle machine (a server to answer, a row to appear). CI shares two
// cores between several jobs at a load of 7 or more, so the bound only
// catches what never happens; nothing is asserted on how long it took.
const patience = 2 * time.Minute

// waitFor polls cond until it holds. After patience it fails, saying what
// was awaited and, if last is not nil, the last error seen.
func waitFor(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		ok, err := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s; it did not happen (last error: %v)", patience, what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
