package server

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Refused reporter requests are counted by kind, so that an operator can
// see a limit set too low, a flood, or a form that no longer works. Only
// counts are kept: not who, not when (beyond the interval they are logged
// at), not what was sent. They are logged every RefusalLogInterval when
// any is not zero, and served, since start, by MetricsHandler on a
// listener of its own (candour serve --metrics-addr, loopback only):
// behind Tor every visitor comes from loopback, so the main listener
// cannot tell the operator from the public, and a public counter read
// minute by minute would say when someone was refused.

// refusalKind is a kind of refused reporter request.
type refusalKind int

const (
	refusedTooLarge     refusalKind = iota // an upload or text over a limit (413)
	refusedMalformed                       // a form that could not be read (400)
	refusedEmpty                           // a report or message with no text and no file
	refusedHoneypot                        // the field robots fill in
	refusedWrongCode                       // a follow-up code that opens no case
	refusedBusy                            // the submission budget, upload slots or KDF pool full (503)
	refusedDuplicate                       // a form sent again
	refusedSessionEnded                    // a follow-up request after its session ended
	refusedFormExpired                     // a case-page form whose CSRF token does not match
	refusedCrossSite                       // a form posted from another site
	numRefusalKinds
)

// refusalNames name the kinds in logs and metrics.
var refusalNames = [numRefusalKinds]string{"too_large", "malformed", "empty", "honeypot", "wrong_code",
	"busy", "duplicate", "session_ended", "form_expired", "cross_site"}

type refusalCounts [numRefusalKinds]atomic.Int64

// refused counts one refused reporter request.
func (s *Server) refused(kind refusalKind) { s.refusals[kind].Add(1) }

// snapshot returns every count.
func (r *refusalCounts) snapshot() [numRefusalKinds]int64 {
	var out [numRefusalKinds]int64
	for i := range out {
		out[i] = r[i].Load()
	}
	return out
}

// countRefusal counts an error page sent to a reporter, by what it says.
// Staff pages, pages not found and failures of ours are not counted.
func (s *Server) countRefusal(c *fiber.Ctx, ue *userError) {
	// A cross-site post is refused before any area's middleware runs, so
	// one aimed at the staff console is counted here too.
	if areaOf(c) == areaStaff {
		return
	}
	var kind refusalKind
	switch ue {
	case errCrossSite:
		kind = refusedCrossSite
	case errMessageRepeat:
		kind = refusedDuplicate
	case errSessionEnded:
		kind = refusedSessionEnded
	case errCSRF:
		kind = refusedFormExpired
	case errHoneypot:
		kind = refusedHoneypot
	case errEmptyReport, errEmptyMessage:
		kind = refusedEmpty
	default:
		switch ue.status {
		case http.StatusRequestEntityTooLarge:
			kind = refusedTooLarge
		case http.StatusBadRequest:
			kind = refusedMalformed
		case http.StatusServiceUnavailable:
			kind = refusedBusy
		default:
			return
		}
	}
	s.refused(kind)
}

// logRefusals logs, every interval, how many reporter requests were
// refused in it, by kind, if any were. It ends when ctx does (Shutdown).
func (s *Server) logRefusals(ctx context.Context, interval time.Duration) {
	last := s.refusals.snapshot()
	every(ctx, interval, false, func(context.Context) {
		now := s.refusals.snapshot()
		var attrs []any
		for i, n := range now {
			if d := n - last[i]; d > 0 {
				attrs = append(attrs, refusalNames[i], d)
			}
		}
		last = now
		if attrs != nil {
			s.log.Info("reporter requests refused", append([]any{"interval", interval.String()}, attrs...)...)
		}
	})
}

// MetricsHandler serves the refusal counts since start, in Prometheus's
// text format, at GET /metrics. It belongs on a listener of its own that
// only the operator can reach (see the comment at the top of this file).
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintln(w, "# HELP candour_reporter_refusals_total Reporter requests refused since start, by kind.")
		fmt.Fprintln(w, "# TYPE candour_reporter_refusals_total counter")
		for i, n := range s.refusals.snapshot() {
			fmt.Fprintf(w, "candour_reporter_refusals_total{kind=%q} %d\n", refusalNames[i], n)
		}
	})
	return mux
}
