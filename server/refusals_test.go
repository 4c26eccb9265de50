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

func TestRefusalsAreCountedByKind(t *testing.T) {
	ts := startServer(t, func(c *server.Config) {
		c.MaxTextChars = 100
		c.RefusalLogInterval = 50 * time.Millisecond
	})
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

	// The counts are logged, as counts only, interval by interval: in all,
	// what the metrics say.
	sums := func() map[string]int {
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
	want := map[string]int{"wrong_code": 2, "too_large": 1, "empty": 1, "malformed": 1, "duplicate": 1, "cross_site": 1, "session_ended": 1}
	deadline := time.Now().Add(5 * time.Second)
	for !maps.Equal(sums(), want) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := sums(); !maps.Equal(got, want) {
		t.Errorf("logged counts %v, want %v", got, want)
	}
	if logs := ts.Log.String(); strings.Contains(logs, "0000-0000") || strings.Contains(logs, "nonsense") {
		t.Error("the log holds what a reporter typed")
	}
}
