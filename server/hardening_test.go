package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/server"
	"github.com/candour/candour/storage"
)

// TestUnreadBodiesAreNeverReadAsRequests sends, on one connection, bodies
// that the server does not read (an unknown route, a logout without a
// session) carrying a second request inside them: it must not be answered.
func TestUnreadBodiesAreNeverReadAsRequests(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	smuggled := "GET /report HTTP/1.1\r\nHost: x\r\n\r\n"
	for _, path := range []string{"/nothing-here", "/case/logout", "/"} {
		t.Run(path, func(t *testing.T) {
			body := strings.Repeat("a", 70<<10) + smuggled
			conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
			must(t, err)
			defer conn.Close()
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s",
				path, len(body), body)
			// A guard: the server closes the connection after its answer.
			conn.SetReadDeadline(time.Now().Add(2 * time.Minute))
			r := bufio.NewReader(conn)
			responses := 0
			for {
				res, err := http.ReadResponse(r, nil)
				if err != nil {
					break
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				responses++
			}
			if responses != 1 {
				t.Fatalf("%d responses to one request: a body was read as a request", responses)
			}
		})
	}
}

func TestRepeatedLoginsCannotFillTheSessionTable(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	code := submit(t, ts, "report")
	var clients []*http.Client
	for range 5 {
		clients = append(clients, login(t, ts, code))
	}
	// The oldest sessions of the case made way; the newest still work.
	res, _ := get(t, clients[0], ts.URL+"/case")
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("the oldest of 5 sessions of one case still works (status %d)", res.StatusCode)
	}
	res, _ = get(t, clients[4], ts.URL+"/case")
	if res.StatusCode != http.StatusOK {
		t.Errorf("the newest session does not work (status %d)", res.StatusCode)
	}
}

func TestNewLoginEndsTheBrowsersPreviousSession(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	c := login(t, ts, submit(t, ts, "first"))
	u, _ := url.Parse(ts.URL)
	old := c.Jar.Cookies(u)
	second := submit(t, ts, "second")
	res, _ := post(t, c, ts.URL+"/followup", strings.NewReader("code="+second), "application/x-www-form-urlencoded")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("second login: %d", res.StatusCode)
	}
	stale := client(t)
	stale.Jar.SetCookies(u, old)
	if res, _ := get(t, stale, ts.URL+"/case"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the previous session survived a new login (status %d)", res.StatusCode)
	}
}

// TestCrossSitePostsAreRefused posts, as another site would, to every kind
// of state-changing route (reporter forms, staff login and enrolment, a
// logged-in staff member's case form), each with what would otherwise be
// accepted: each is refused with 403, under its area's policy, and
// changes nothing.
func TestCrossSitePostsAreRefused(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	code := submit(t, ts, "report")
	ctx := context.Background()
	secret := enrol(t, ts, "xena", storage.RoleAdmin)
	ts.advance(30 * time.Second)
	staff, csrf := loggedIn(t, ts, "yuri", storage.RoleCaseworker)
	_, inbox := get(t, staff, ts.URL+"/staff/")
	ref := refRE.FindStringSubmatch(inbox)[1]
	st, err := ts.DB.CreateStaff(ctx, "zoe", storage.RoleCaseworker)
	must(t, err)
	enrolToken, err := ts.DB.NewEnrolmentToken(ctx, st.ID)
	must(t, err)
	kase, err := ts.DB.CaseByRef(ctx, ref)
	must(t, err)

	form := func(v url.Values) (io.Reader, string) {
		return strings.NewReader(v.Encode()), "application/x-www-form-urlencoded"
	}
	routes := []struct {
		name   string
		path   string
		c      *http.Client
		staff  bool
		body   func() (io.Reader, string)
		intact func(t *testing.T)
	}{
		{"POST /followup", "/followup", client(t), false, func() (io.Reader, string) { return form(url.Values{"code": {code}}) }, nil},
		{"POST /report", "/report", client(t), false, func() (io.Reader, string) {
			return multipartBody([][2]string{{"body", "a forged report"}}, nil)
		}, func(t *testing.T) {
			if got := counts(t, ts.DB); got[0] != 1 {
				t.Errorf("%d cases, want 1", got[0])
			}
		}},
		{"POST /staff/login", "/staff/login", client(t), true, func() (io.Reader, string) {
			return form(url.Values{"username": {"xena"}, "password": {goodPassword}, "totp": {ts.code(t, secret)}})
		}, nil},
		{"POST /staff/enrol/TOKEN", "/staff/enrol/" + enrolToken, client(t), true, func() (io.Reader, string) {
			return form(url.Values{"password": {goodPassword}, "password2": {goodPassword}})
		}, func(t *testing.T) {
			if res, _ := get(t, client(t), ts.URL+"/staff/enrol/"+enrolToken); res.StatusCode != http.StatusOK {
				t.Errorf("the enrolment link no longer works: %d", res.StatusCode)
			}
		}},
		{"POST /staff/case/REF/status", "/staff/case/" + ref + "/status", staff, true, func() (io.Reader, string) {
			return form(url.Values{"csrf": {csrf}, "status": {storage.StatusInReview}})
		}, func(t *testing.T) {
			now, err := ts.DB.CaseByRef(ctx, ref)
			must(t, err)
			if now.Status != kase.Status {
				t.Errorf("status %q, was %q", now.Status, kase.Status)
			}
		}},
	}
	for _, route := range routes {
		for _, tc := range []struct{ name, header, value string }{
			{"a cross-site fetch", "Sec-Fetch-Site", "cross-site"},
			{"a same-site but other-origin fetch", "Sec-Fetch-Site", "same-site"},
			{"a foreign Origin", "Origin", "https://evil.example"},
		} {
			t.Run(route.name+" from "+tc.name, func(t *testing.T) {
				audit := len(auditEntries(t, ts))
				body, ctype := route.body()
				req, _ := http.NewRequest(http.MethodPost, ts.URL+route.path, body)
				req.Header.Set("Content-Type", ctype)
				req.Header.Set(tc.header, tc.value)
				res, _ := do(t, route.c, req)
				if res.StatusCode != http.StatusForbidden {
					t.Fatalf("status %d, want 403", res.StatusCode)
				}
				csp := res.Header.Get("Content-Security-Policy")
				if route.staff != strings.Contains(csp, "script-src 'self'") {
					t.Errorf("CSP %q for a refusal in the %s area", csp, map[bool]string{true: "staff", false: "reporter"}[route.staff])
				}
				for _, ck := range res.Cookies() {
					if ck.MaxAge >= 0 && ck.Value != "" {
						t.Errorf("a refused post set cookie %s", ck.Name)
					}
				}
				if got := len(auditEntries(t, ts)); got != audit {
					t.Errorf("%d audit entries, was %d", got, audit)
				}
				if route.intact != nil {
					route.intact(t)
				}
			})
		}
	}
	// Our own forms are accepted: a null Origin (our Referrer-Policy) or
	// Sec-Fetch-Site: same-origin.
	for _, tc := range []struct{ name, header, value string }{
		{"our own form (Origin null under no-referrer)", "Origin", "null"},
		{"our own form (same-origin)", "Sec-Fetch-Site", "same-origin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, ts.URL+"/followup", strings.NewReader("code="+code))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set(tc.header, tc.value)
			res, _ := do(t, client(t), req)
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("status %d, want %d", res.StatusCode, http.StatusSeeOther)
			}
		})
	}
}

func TestLongThreadsArePaged(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	code := submit(t, ts, "message number 0")
	c := login(t, ts, code)
	_, page := get(t, c, ts.URL+"/case")
	token := csrfOf(t, page)
	for i := 1; i < 25; i++ {
		body, ctype := multipartBody([][2]string{{"csrf", token}, {"body", fmt.Sprintf("message number %d.", i)}}, nil)
		if res, _ := post(t, c, ts.URL+"/case/message", body, ctype); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("message %d: %d", i, res.StatusCode)
		}
	}
	_, last := get(t, c, ts.URL+"/case")
	if !strings.Contains(last, "message number 24.") || strings.Contains(last, "message number 4.") ||
		!strings.Contains(last, "Page 2 of 2") || !strings.Contains(last, `href="/case?page=1"`) {
		t.Fatal("the case page does not show the latest page of a long thread")
	}
	_, first := get(t, c, ts.URL+"/case?page=1")
	if !strings.Contains(first, "message number 0") || strings.Contains(first, "message number 24.") {
		t.Fatal("page 1 does not show the start of the thread")
	}
}

func TestGlobalSubmissionBudget(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *server.Config) { c.SubmissionsPerMinute = 2 })
	submit(t, ts, "one")
	submit(t, ts, "two")
	body, ctype := multipartBody([][2]string{{"body", "three"}}, nil)
	res, page := post(t, client(t), ts.URL+"/report", body, ctype)
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(page, "Nothing was saved") {
		t.Fatalf("over budget: %d", res.StatusCode)
	}
	if got := counts(t, ts.DB); got[0] != 2 {
		t.Fatalf("cases = %d, want 2", got[0])
	}
}

func TestHoneypotFieldRefusesRobots(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	body, ctype := multipartBody([][2]string{{"website", "http://spam.example"}, {"body", "buy now"}}, nil)
	res, page := post(t, client(t), ts.URL+"/report", body, ctype)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "Leave this field empty") {
		t.Fatalf("honeypot: %d", res.StatusCode)
	}
	if got := counts(t, ts.DB); got != [4]int64{} {
		t.Fatalf("rows = %v, want none", got)
	}
	// An empty honeypot, as a browser sends it, is fine.
	body, ctype = multipartBody([][2]string{{"website", ""}, {"body", "a real report"}}, nil)
	if res, _ := post(t, client(t), ts.URL+"/report", body, ctype); res.StatusCode != http.StatusOK {
		t.Fatalf("empty honeypot refused: %d", res.StatusCode)
	}
}

func TestEmployerNetworkWarning(t *testing.T) {
	t.Parallel()
	police := netip.MustParsePrefix("192.0.2.0/24")
	for _, tc := range []struct {
		name   string
		nets   []netip.Prefix
		header string
		xff    string
		warn   bool
	}{
		{"a visitor from a listed range is warned", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "", "", true},
		{"a visitor from elsewhere is not", []netip.Prefix{police}, "", "", false},
		{"a listed address passed by a local proxy is warned", []netip.Prefix{police}, "X-Forwarded-For", "198.51.100.1, 192.0.2.77", true},
		{"only the proxy's own (right-most) entry counts", []netip.Prefix{police}, "X-Forwarded-For", "192.0.2.77, 198.51.100.1", false},
		{"the header is ignored unless configured", []netip.Prefix{police}, "", "192.0.2.77", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, func(c *server.Config) { c.EmployerNetworks, c.ClientIPHeader = tc.nets, tc.header })
			req, _ := http.NewRequest(http.MethodGet, ts.URL+"/report", nil)
			if tc.xff != "" {
				req.Header.Set("X-Forwarded-For", tc.xff)
			}
			_, page := do(t, client(t), req)
			if got := strings.Contains(page, `id="employer-network-warning"`); got != tc.warn {
				t.Fatalf("warning shown: %v, want %v", got, tc.warn)
			}
			if strings.Contains(page, "192.0.2.77") || strings.Contains(ts.Log.String(), "192.0.2.77") {
				t.Fatal("the visitor's address appears in the page or the log")
			}
		})
	}
}
