package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/server"
	"github.com/candour/candour/storage"
)

// TestCookiesFollowOnePolicy checks every cookie the service sets, over
// HTTPS: HttpOnly, path /, Secure, no expiry; session cookies Strict and
// __Host- prefixed; the language cookie Lax and unprefixed; and that
// logging out expires the staff cookie under the same name and policy.
func TestCookiesFollowOnePolicy(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.HTTPS = true })
	check := func(what, cookie, prefix string, want ...string) {
		t.Helper()
		if !strings.HasPrefix(cookie, prefix) {
			t.Errorf("%s cookie %q does not start %q", what, cookie, prefix)
		}
		for _, w := range append(want, "HttpOnly", "path=/", "secure") {
			if !strings.Contains(cookie, w) {
				t.Errorf("%s cookie %q lacks %s", what, cookie, w)
			}
		}
		if strings.Contains(strings.ToLower(cookie), "domain=") {
			t.Errorf("%s cookie %q names a domain", what, cookie)
		}
	}
	session := func(what, cookie string) {
		t.Helper()
		if l := strings.ToLower(cookie); strings.Contains(l, "expires") || strings.Contains(l, "max-age") {
			t.Errorf("%s cookie %q outlives the browser session", what, cookie)
		}
	}

	res, _ := get(t, client(t), ts.URL+"/?lang=pl")
	lang := res.Header.Get("Set-Cookie")
	check("language", lang, "candour_lang=pl", "SameSite=Lax")
	session("language", lang)

	code := submit(t, ts, "x")
	res, _ = post(t, client(t), ts.URL+"/followup", strings.NewReader("code="+code), "application/x-www-form-urlencoded")
	check("follow-up", res.Header.Get("Set-Cookie"), "__Host-candour_session=", "SameSite=Strict")
	session("follow-up", res.Header.Get("Set-Cookie"))

	secret := enrol(t, ts, "alice", storage.RoleCaseworker)
	ts.advance(30 * time.Second)
	res, _ = staffLogin(t, ts, client(t), "alice", goodPassword, ts.code(t, secret))
	staff := res.Header.Get("Set-Cookie")
	check("staff", staff, "__Host-candour_staff=", "SameSite=Strict")
	session("staff", staff)

	// The test client keeps Secure cookies off plain HTTP: send it by hand.
	token := strings.TrimPrefix(strings.SplitN(staff, ";", 2)[0], "__Host-candour_staff=")
	withCookie := func(req *http.Request) (*http.Response, string) {
		req.Header.Set("Cookie", "__Host-candour_staff="+token)
		return do(t, client(t), req)
	}
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/staff/", nil)
	_, page := withCookie(req)
	req, _ = http.NewRequest(http.MethodPost, ts.URL+"/staff/logout", strings.NewReader("csrf="+url.QueryEscape(csrfOf(t, page))))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, _ = withCookie(req)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	check("expired staff", res.Header.Get("Set-Cookie"), "__Host-candour_staff=;", "SameSite=Strict", "expires=Thu, 01 Jan 1970")
}
