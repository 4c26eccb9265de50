package server_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestErrorPagesOfferTheCaseOnlyOnIt checks that a reporter whose session
// is open is offered the way back to their case on an error page of their
// case's pages (/case, /case/…), and not on another page that only begins
// with the same letters.
func TestErrorPagesOfferTheCaseOnlyOnIt(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	c := login(t, ts, submit(t, ts, "a report"))
	for _, tc := range []struct {
		path     string
		caseLink bool
	}{
		{"/case/no-such-page", true},
		{"/cases", false},
		{"/casework", false},
		{"/no-such-page", false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			res, page := get(t, c, ts.URL+tc.path)
			if res.StatusCode != http.StatusNotFound {
				t.Fatalf("status %d", res.StatusCode)
			}
			if got := strings.Contains(page, `<a href="/case">`); got != tc.caseLink {
				t.Errorf("link to the case: %v, want %v", got, tc.caseLink)
			}
		})
	}
}
