package server_test

import (
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/server"
)

// noBoundary is a refusal interval whose boundary no test reaches: the
// tests close intervals themselves (server.CloseRefusalInterval).
const noBoundary = 100000 * time.Hour

// scrapeMetrics returns the page MetricsHandler serves.
func scrapeMetrics(t *testing.T, s *server.Server) string {
	t.Helper()
	rec := httptest.NewRecorder()
	s.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Error("metrics may be cached")
	}
	return rec.Body.String()
}

// loggedRefusals sums the refusal counts logged so far, by kind.
func loggedRefusals(t *testing.T, ts *testServer) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, l := range strings.Split(ts.Log.String(), "\n") {
		if !strings.Contains(l, "reporter requests refused") {
			continue
		}
		for _, f := range strings.Fields(l) {
			k, v, ok := strings.Cut(f, "=")
			if n, err := strconv.Atoi(v); ok && err == nil {
				if n == 0 {
					t.Errorf("a zero count is logged: %s", l)
				}
				out[k] += n
			}
		}
	}
	return out
}

// endSession posts a case-page message without a session: refused as
// session_ended, a refusal that only an existing reporter meets.
func endSession(t *testing.T, ts *testServer) {
	t.Helper()
	body, ctype := multipartBody([][2]string{{"body", "my message, after my session ended"}}, nil)
	post(t, client(t), ts.URL+"/case/message", body, ctype)
}

func TestRefusalsAreCountedByKind(t *testing.T) {
	ts := startServer(t, func(c *server.Config) {
		c.MaxTextChars = 100
		c.RefusalLogInterval = noBoundary
	})
	server.CountRefusalsExactly(ts.Srv)
	metrics := httptest.NewServer(ts.Srv.MetricsHandler())
	defer metrics.Close()

	postForm := func(path string, v url.Values, header ...string) {
		req, err := http.NewRequest(http.MethodPost, ts.URL+path, strings.NewReader(v.Encode()))
		must(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		do(t, client(t), req)
	}
	report := func(fields ...[2]string) {
		body, ctype := multipartBody(fields, nil)
		post(t, client(t), ts.URL+"/report", body, ctype)
	}

	postForm("/followup", url.Values{"code": {"0000-0000-0000-0000-0000"}})
	postForm("/followup", url.Values{"code": {"nonsense"}})
	report([2]string{"body", strings.Repeat("x", 101)})
	report([2]string{"body", ""})
	post(t, client(t), ts.URL+"/report", strings.NewReader("hello"), "text/plain")
	tok := formToken(t, client(t), ts.URL+"/report")
	report([2]string{"form", tok}, [2]string{"body", "once"})
	report([2]string{"form", tok}, [2]string{"body", "once"}) // its receipt again: not refused
	ts.Clock.Add(int64(11 * time.Minute))
	report([2]string{"form", tok}, [2]string{"body", "once"}) // the receipt is no longer held
	postForm("/followup", url.Values{"code": {"x"}}, "Sec-Fetch-Site", "cross-site")
	body, ctype := multipartBody([][2]string{{"csrf", "gone"}, {"body", "late"}}, nil)
	post(t, client(t), ts.URL+"/case/message", body, ctype)
	// Staff pages are not the reporter's: not counted.
	postForm("/staff/login", url.Values{"username": {"x"}}, "Sec-Fetch-Site", "cross-site")

	// Nothing is published before the interval's boundary.
	if page := scrapeMetrics(t, ts.Srv); strings.Contains(page, "} 1") || strings.Contains(page, "} 2") {
		t.Errorf("metrics show refusals before the interval ended:\n%s", page)
	}
	if got := loggedRefusals(t, ts); len(got) != 0 {
		t.Errorf("refusals logged before the interval ended: %v", got)
	}
	server.CloseRefusalInterval(ts.Srv)

	res, err := http.Get(metrics.URL + "/metrics")
	must(t, err)
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	must(t, err)
	page := string(b)
	for _, want := range []string{
		`candour_reporter_refusals_total{kind="wrong_code"} 2`,
		`candour_reporter_refusals_total{kind="too_large"} 1`,
		`candour_reporter_refusals_total{kind="empty"} 1`,
		`candour_reporter_refusals_total{kind="malformed"} 1`,
		`candour_reporter_refusals_total{kind="duplicate"} 1`,
		`candour_reporter_refusals_total{kind="cross_site"} 1`,
		`candour_reporter_refusals_total{kind="session_ended"} 1`,
		`candour_reporter_refusals_total{kind="busy"} 0`,
		"# TYPE candour_reporter_refusals_total counter",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("metrics lack %q:\n%s", want, page)
		}
	}
	if res.Header.Get("Cache-Control") != "no-store" {
		t.Error("metrics may be cached")
	}

	// The counts are logged, as counts only: what the metrics say.
	want := map[string]int{"wrong_code": 2, "too_large": 1, "empty": 1, "malformed": 1, "duplicate": 1, "cross_site": 1, "session_ended": 1}
	if got := loggedRefusals(t, ts); !maps.Equal(got, want) {
		t.Errorf("logged counts %v, want %v", got, want)
	}
	if logs := ts.Log.String(); strings.Contains(logs, "0000-0000") || strings.Contains(logs, "nonsense") {
		t.Error("the log holds what a reporter typed")
	}
}

func TestARefusalShowsInTheMetricsAndTheLogOnlyAfterTheIntervalBoundary(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.RefusalLogInterval = noBoundary })
	const zero, five = `candour_reporter_refusals_total{kind="session_ended"} 0`, `candour_reporter_refusals_total{kind="session_ended"} 5`
	if page := scrapeMetrics(t, ts.Srv); !strings.Contains(page, zero) {
		t.Fatalf("metrics before any refusal lack %q:\n%s", zero, page)
	}
	for range 5 {
		endSession(t, ts)
	}
	// The refusals happened; the scrape a moment later must not say so.
	if page := scrapeMetrics(t, ts.Srv); !strings.Contains(page, zero) {
		t.Errorf("refusals show in /metrics as they happen, not at the interval's boundary:\n%s", page)
	}
	if got := loggedRefusals(t, ts); len(got) != 0 {
		t.Errorf("refusals logged before the interval ended: %v", got)
	}
	server.CloseRefusalInterval(ts.Srv)
	if page := scrapeMetrics(t, ts.Srv); !strings.Contains(page, five) {
		t.Errorf("after the boundary, metrics lack %q:\n%s", five, page)
	}
	if got := loggedRefusals(t, ts); !maps.Equal(got, map[string]int{"session_ended": 5}) {
		t.Errorf("after the boundary, logged %v, want session_ended=5", got)
	}
	// A refusal after the boundary waits for the next one.
	for range 5 {
		endSession(t, ts)
	}
	if page := scrapeMetrics(t, ts.Srv); !strings.Contains(page, five) {
		t.Errorf("refusals after the boundary show before the next one:\n%s", page)
	}
	server.CloseRefusalInterval(ts.Srv)
	if page := scrapeMetrics(t, ts.Srv); !strings.Contains(page, `candour_reporter_refusals_total{kind="session_ended"} 10`) {
		t.Errorf("after the next boundary, metrics lack session_ended 10:\n%s", page)
	}
	if got := loggedRefusals(t, ts); !maps.Equal(got, map[string]int{"session_ended": 10}) {
		t.Errorf("logged %v in all, want session_ended=10", got)
	}
}

func TestFewerThanFiveRefusalsOfAKindAreNeverPublished(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.RefusalLogInterval = noBoundary })
	endSession(t, ts)
	server.CloseRefusalInterval(ts.Srv)
	// One reporter's refusal, alone in its interval, is not published.
	if page := scrapeMetrics(t, ts.Srv); !strings.Contains(page, `candour_reporter_refusals_total{kind="session_ended"} 0`) {
		t.Errorf("a single refusal is published:\n%s", page)
	}
	if got := loggedRefusals(t, ts); len(got) != 0 {
		t.Errorf("a single refusal is logged: %v", got)
	}
	// Published totals move in steps of five: seven show as five.
	for range 6 {
		endSession(t, ts)
	}
	server.CloseRefusalInterval(ts.Srv)
	if page := scrapeMetrics(t, ts.Srv); !strings.Contains(page, `candour_reporter_refusals_total{kind="session_ended"} 5`) {
		t.Errorf("seven refusals are not published as five:\n%s", page)
	}
	if got := loggedRefusals(t, ts); !maps.Equal(got, map[string]int{"session_ended": 5}) {
		t.Errorf("seven refusals logged as %v, want session_ended=5", got)
	}
}

func TestTheRefusalLogClosesIntervalsOnItsOwn(t *testing.T) {
	// With a short interval the background loop publishes by itself. The
	// wait is for the event; its deadline only guards against a hang.
	ts := startServer(t, func(c *server.Config) { c.RefusalLogInterval = 20 * time.Millisecond })
	for range 5 {
		endSession(t, ts)
	}
	const five = `candour_reporter_refusals_total{kind="session_ended"} 5`
	for deadline := time.Now().Add(time.Minute); !strings.Contains(scrapeMetrics(t, ts.Srv), five); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no interval was closed in a minute:\n%s", scrapeMetrics(t, ts.Srv))
		}
	}
	for deadline := time.Now().Add(time.Minute); !maps.Equal(loggedRefusals(t, ts), map[string]int{"session_ended": 5}); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("logged %v after a minute, want session_ended=5", loggedRefusals(t, ts))
		}
	}
}
