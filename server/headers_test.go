package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/candour/candour/server"
)

func TestReporterPagesCarrySecurityHeadersAndNoCookies(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *server.Config) {
		c.OnionAddress = "exampleonionaddressxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.onion"
	})
	c := client(t)
	for _, path := range []string{"/", "/report", "/followup", "/no-such-page"} {
		t.Run(path, func(t *testing.T) {
			res, body := get(t, c, ts.URL+path)
			want := map[string]string{
				"X-Content-Type-Options": "nosniff",
				"X-Frame-Options":        "DENY",
				"Referrer-Policy":        "no-referrer",
				"Cache-Control":          "no-store",
				"Onion-Location":         "http://exampleonionaddressxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.onion" + path,
			}
			for k, v := range want {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			csp := res.Header.Get("Content-Security-Policy")
			for _, d := range []string{"default-src 'none'", "script-src 'none'", "frame-ancestors 'none'", "form-action 'self'"} {
				if !strings.Contains(csp, d) {
					t.Errorf("CSP %q lacks %q", csp, d)
				}
			}
			if res.Header.Get("Set-Cookie") != "" {
				t.Error("a reporter page set a cookie before any follow-up login")
			}
			if strings.Contains(body, "<script") || strings.Contains(body, "http://") || strings.Contains(body, "https://") {
				t.Error("a reporter page loads a script or names an outside address")
			}
			if res.Header.Get("Server") != "" {
				t.Errorf("Server header %q reveals the software", res.Header.Get("Server"))
			}
		})
	}
	// Submitting a report sets no cookie either, and the receipt is not cached.
	body, ctype := multipartBody([][2]string{{"body", "text"}}, nil)
	res, _ := post(t, c, ts.URL+"/report", body, ctype)
	if res.Header.Get("Set-Cookie") != "" || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("receipt: Set-Cookie %q, Cache-Control %q", res.Header.Get("Set-Cookie"), res.Header.Get("Cache-Control"))
	}
}

func TestFollowupSessionCookieIsStrict(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	code := submit(t, ts, "x")
	res, _ := post(t, client(t), ts.URL+"/followup", strings.NewReader("code="+code), "application/x-www-form-urlencoded")
	cookie := res.Header.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "path=/"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("session cookie %q lacks %s", cookie, want)
		}
	}
	if strings.Contains(strings.ToLower(cookie), "expires") || strings.Contains(strings.ToLower(cookie), "max-age") {
		t.Errorf("session cookie %q outlives the browser session", cookie)
	}
}

// TestLogsHoldNoReporterNetworkData makes requests, including ones that
// fail inside the server, with a distinctive User-Agent, and checks the log.
func TestLogsHoldNoReporterNetworkData(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	const ua = "DistinctiveAgent/1.0 (reporter-fingerprint)"
	c := client(t)
	for _, path := range []string{"/", "/report", "/case", "/case/attachment/99", "/missing"} {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
		req.Header.Set("User-Agent", ua)
		req.Header.Set("X-Forwarded-For", "203.0.113.7")
		res, err := c.Do(req)
		must(t, err)
		res.Body.Close()
	}
	body, ctype := multipartBody([][2]string{{"body", "x"}}, nil)
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/report", body)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("User-Agent", ua)
	res, err := c.Do(req)
	must(t, err)
	res.Body.Close()
	logs := ts.Log.String()
	for _, bad := range []string{"127.0.0.1", "DistinctiveAgent", "203.0.113.7"} {
		if strings.Contains(logs, bad) {
			t.Errorf("log holds %q:\n%s", bad, logs)
		}
	}
}

func TestHTTPSModeSendsHSTSAndHostPrefixedCookies(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *server.Config) { c.HTTPS = true })
	res, _ := get(t, client(t), ts.URL+"/")
	if hsts := res.Header.Get("Strict-Transport-Security"); !strings.Contains(hsts, "max-age=") {
		t.Errorf("HSTS = %q", hsts)
	}
	code := submit(t, ts, "x")
	res, _ = post(t, client(t), ts.URL+"/followup", strings.NewReader("code="+code), "application/x-www-form-urlencoded")
	cookie := res.Header.Get("Set-Cookie")
	if !strings.HasPrefix(cookie, "__Host-candour_session=") || !strings.Contains(cookie, "secure") {
		t.Errorf("session cookie over HTTPS = %q", cookie)
	}
}

func TestStaffPagesHaveTheirOwnStricterPolicy(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	res, _ := get(t, client(t), ts.URL+"/staff/login")
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("staff CSP = %q", csp)
	}
	res, _ = get(t, client(t), ts.URL+"/report")
	if !strings.Contains(res.Header.Get("Content-Security-Policy"), "script-src 'none'") {
		t.Error("reporter pages lost their no-script policy")
	}
}

// TestEachAreaKeepsItsPolicyOnEveryPath checks the areas of the route
// table: everything under /staff, unknown paths and refusals included,
// carries the staff policy and is in English; everything else outside
// /healthz and /static is a reporter page, in the reporter's language.
func TestEachAreaKeepsItsPolicyOnEveryPath(t *testing.T) {
	ts := startServer(t, nil)
	const reporter, staff = "script-src 'none'", "script-src 'self'"
	for _, tc := range []struct {
		path   string
		status int
		csp    string
		lang   string // of the page, with Accept-Language: pl; "" if no page
	}{
		{"/report", http.StatusOK, reporter, "pl"},
		{"/no-such-page", http.StatusNotFound, reporter, "pl"},
		{"/case/no-such-page", http.StatusNotFound, reporter, "pl"},
		{"/healthz", http.StatusOK, reporter, ""},
		{"/staff/login", http.StatusOK, staff, "en"},
		{"/staff/no-such-page", http.StatusNotFound, staff, "en"},
		{"/staff/login/no-such-page", http.StatusNotFound, staff, "en"},
		{"/staff/", http.StatusSeeOther, staff, ""},
		{"/staff/case/ABC/no-such-page", http.StatusSeeOther, staff, ""},
		{"/staff/admin/no-such-page", http.StatusSeeOther, staff, ""},
		{"/followup", http.StatusOK, reporter, "pl"},
		// Routes match case and all: upper-case paths are nobody's, and
		// get the reporter area's 404.
		{"/STAFF/no-such-page", http.StatusNotFound, reporter, "pl"},
		{"/STAFF/login", http.StatusNotFound, reporter, "pl"},
		{"/Staff/", http.StatusNotFound, reporter, "pl"},
		{"/Report", http.StatusNotFound, reporter, "pl"},
		{"/FOLLOWUP", http.StatusNotFound, reporter, "pl"},
		// Fiber's group prefix is a string prefix, but /staffing and
		// /staff.css are not the console's: a reporter 404.
		{"/staffing", http.StatusNotFound, reporter, "pl"},
		{"/staff.css", http.StatusNotFound, reporter, "pl"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, ts.URL+tc.path, nil)
			req.Header.Set("Accept-Language", "pl")
			res, page := do(t, client(t), req)
			if res.StatusCode != tc.status {
				t.Errorf("status %d, want %d", res.StatusCode, tc.status)
			}
			csp := res.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, tc.csp) || strings.Contains(csp, "unsafe-") {
				t.Errorf("CSP %q, want %s", csp, tc.csp)
			}
			if got := res.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q", got)
			}
			if tc.lang != "" {
				if lang, _ := pageLang(t, page); lang != tc.lang {
					t.Errorf("page in %s, want %s", lang, tc.lang)
				}
				if switcher := strings.Contains(page, "?lang="); switcher != (tc.csp == reporter) {
					t.Errorf("language links %v on a page of the %s area", switcher, tc.csp)
				}
			}
		})
	}
}
