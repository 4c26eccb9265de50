package server

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Refused reporter requests are counted by kind, so that an operator can
// see a limit set too low, a flood, or a form that no longer works. Only
// counts are kept: not who, not what was sent, and not when beyond the
// interval they are published at.
//
// Some refusals happen only to existing reporters (session_ended,
// wrong_code, duplicate, form_expired), and the database knows which case
// was updated on which day. Counts read as they move would tie a case to
// the minutes of its reporter's visit (a Prometheus scrape every 15 s keeps
// a timestamped series), which the day-coarse timestamps of the database
// exist to prevent. So nothing is published as it happens:
//   - The counts are taken at interval boundaries only (RefusalLogInterval,
//     one hour by default; candour serve refuses less), aligned to the
//     clock (on the hour), so the process's start time does not shift
//     them. MetricsHandler serves the totals taken at the last boundary
//     (zeros before the first), never the live counters, and the log line
//     says by how much they grew in the interval.
//   - Each published total is rounded down to a multiple of
//     refusalRounding, so a single refusal never shows: a total moves only
//     when refusals of its kind since start reach the next multiple of
//     five, which says that the last of at least five refusals fell in that
//     interval, not whose it was or when the others were. Up to four
//     refusals of each kind are never shown; floods, limits set too low and
//     broken forms show as tens and hundreds, which is what the counts are
//     for.
//
// The totals are served by MetricsHandler on a listener of its own
// (candour serve --metrics-addr, loopback only): behind Tor every visitor
// comes from loopback, so the main listener cannot tell the operator from
// the public.

// refusalRounding is the step in which published refusal counts move.
const refusalRounding = 5

// refusalKind is a kind of refused reporter request.
type refusalKind int

const (
	refusedByStatus        refusalKind = iota // not a kind: userError.refusal's "count by status"
	refusedTooLarge                           // an upload or text over a limit (413)
	refusedMalformed                          // a form that could not be read (400)
	refusedEmpty                              // a report or message with no text and no file
	refusedHoneypot                           // the field robots fill in
	refusedWrongCode                          // a follow-up code that opens no case
	refusedBusy                               // the submission budget, upload slots or KDF pool full (503)
	refusedDuplicate                          // a form sent again
	refusedSessionEnded                       // a follow-up request after its session ended
	refusedFormExpired                        // a case-page form whose CSRF token does not match
	refusedCrossSite                          // a form posted from another site
	refusedCleaningStopped                    // a file whose cleaning process reached its memory or time limit (400)
	numRefusalKinds
)

// refusalNames name the kinds in logs and metrics.
var refusalNames = [numRefusalKinds]string{"", "too_large", "malformed", "empty", "honeypot", "wrong_code",
	"busy", "duplicate", "session_ended", "form_expired", "cross_site", "cleaning_stopped"}

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
	// Staff errors become staff answers before they get here; this keeps
	// the rule true should that change.
	if areaOf(c) == areaStaff {
		return
	}
	kind := ue.refusal
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
		if kind != refusedByStatus {
			break
		}
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

// refusalLog holds the counts published at the last interval boundary.
type refusalLog struct {
	mu        sync.Mutex
	rounding  int64                  // refusalRounding; 1 in some tests
	published [numRefusalKinds]int64 // the totals served, rounded
}

// closeRefusalInterval ends an interval of length interval: it takes the
// counts, publishes their rounded totals and logs by how much those grew,
// if any did.
func (s *Server) closeRefusalInterval(interval time.Duration) {
	now := s.refusals.snapshot()
	l := &s.refusalLog
	l.mu.Lock()
	defer l.mu.Unlock()
	var attrs []any
	for i, n := range now {
		rounded := n - n%l.rounding
		if d := rounded - l.published[i]; d > 0 {
			attrs = append(attrs, refusalNames[i], d)
			l.published[i] = rounded
		}
	}
	if attrs != nil {
		s.log.Info("reporter requests refused", append([]any{"interval", interval.String()}, attrs...)...)
	}
}

// publishedRefusals returns the totals taken at the last interval
// boundary, and the step they are rounded to.
func (s *Server) publishedRefusals() (totals [numRefusalKinds]int64, rounding int64) {
	s.refusalLog.mu.Lock()
	defer s.refusalLog.mu.Unlock()
	return s.refusalLog.published, s.refusalLog.rounding
}

// logRefusals closes an interval of refused-request counts at every
// multiple of interval on the clock (on the hour for an hour) until ctx
// ends (Shutdown). Refusals after the last boundary are never published.
func (s *Server) logRefusals(ctx context.Context, interval time.Duration) {
	everyBoundary(ctx, interval, func() { s.closeRefusalInterval(interval) })
}

// everyBoundary calls run at every multiple of interval on the clock (on
// the hour for an hour) until ctx ends. Timers never fire early; after a
// long stall (a suspended machine), the boundaries missed are one.
func everyBoundary(ctx context.Context, interval time.Duration, run func()) {
	last := time.Now().Truncate(interval)
	for {
		next := last.Add(interval)
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		run()
		if b := time.Now().Truncate(interval); b.After(next) {
			next = b
		}
		last = next
	}
}

// MetricsHandler serves the refusal totals as taken at the last interval
// boundary, rounded down to a multiple of five (see the comment at the top
// of this file), in Prometheus's text format, at GET /metrics. It belongs
// on a listener of its own that only the operator can reach.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		totals, rounding := s.publishedRefusals()
		fmt.Fprintf(w, "# HELP candour_reporter_refusals_total Reporter requests refused since start, by kind, as counted at the last boundary of every %s, rounded down to a multiple of %d.\n",
			s.cfg.RefusalLogInterval, rounding)
		fmt.Fprintln(w, "# TYPE candour_reporter_refusals_total counter")
		for i, n := range totals[refusedTooLarge:] {
			i += int(refusedTooLarge)
			fmt.Fprintf(w, "candour_reporter_refusals_total{kind=%q} %d\n", refusalNames[i], n)
		}
	})
	return mux
}
