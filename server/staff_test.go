package server_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/candour/candour/storage"
)

const goodPassword = "plum kettle orbit lantern"

// advance moves the server's clock forward.
func (ts *testServer) advance(d time.Duration) { ts.Clock.Add(int64(d)) }

func (ts *testServer) now() time.Time { return time.Unix(0, ts.Clock.Load()) }

func (ts *testServer) code(t *testing.T, secret string) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, ts.now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	must(t, err)
	return c
}

var secretRE = regexp.MustCompile(`id="totp-secret">([A-Z2-7=]+)<`)

// enrol creates a staff member and walks through the enrolment page,
// returning their TOTP secret.
func enrol(t *testing.T, ts *testServer, username, role string) string {
	t.Helper()
	secret, _ := enrolWithCodes(t, ts, username, role)
	return secret
}

var recoveryCodeRE = regexp.MustCompile(`<li><code>([^<]+)</code></li>`)

// enrolWithCodes is enrol, also returning the recovery codes shown.
func enrolWithCodes(t *testing.T, ts *testServer, username, role string) (string, []string) {
	t.Helper()
	ctx := context.Background()
	st, err := ts.DB.CreateStaff(ctx, username, role)
	must(t, err)
	token, err := ts.DB.NewEnrolmentToken(ctx, st.ID)
	must(t, err)
	c := client(t)
	res, page := get(t, c, ts.URL+"/staff/enrol/"+token)
	m := secretRE.FindStringSubmatch(page)
	if res.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("enrolment page: %d %s", res.StatusCode, page)
	}
	secret := m[1]
	form := func(pw string) string {
		return url.Values{"secret": {secret}, "password": {pw}, "password2": {pw}, "totp": {ts.code(t, secret)}}.Encode()
	}
	// A weak password is refused with advice, and the link still works.
	res, page = post(t, c, ts.URL+"/staff/enrol/"+token, strings.NewReader(form("password1234")), "application/x-www-form-urlencoded")
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, secret) {
		t.Fatalf("weak password: %d", res.StatusCode)
	}
	res, page = post(t, c, ts.URL+"/staff/enrol/"+token, strings.NewReader(form(goodPassword)), "application/x-www-form-urlencoded")
	if res.StatusCode != http.StatusOK || !strings.Contains(page, `id="recovery-codes"`) {
		t.Fatalf("enrol: %d %s", res.StatusCode, page)
	}
	var codes []string
	for _, m := range recoveryCodeRE.FindAllStringSubmatch(page, -1) {
		codes = append(codes, m[1])
	}
	// The link works once.
	if res, _ := get(t, client(t), ts.URL+"/staff/enrol/"+token); res.StatusCode != http.StatusNotFound {
		t.Fatalf("enrolment link reused: %d", res.StatusCode)
	}
	return secret, codes
}

func staffLogin(t *testing.T, ts *testServer, c *http.Client, username, password, code string) (*http.Response, string) {
	t.Helper()
	return post(t, c, ts.URL+"/staff/login",
		strings.NewReader(url.Values{"username": {username}, "password": {password}, "totp": {code}}.Encode()),
		"application/x-www-form-urlencoded")
}

func TestStaffEnrolmentAndLogin(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	secret := enrol(t, ts, "alice", storage.RoleAdmin)
	c := client(t)

	// The code that confirmed enrolment cannot be replayed to log in.
	if res, _ := staffLogin(t, ts, c, "alice", goodPassword, ts.code(t, secret)); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("replayed enrolment code: %d", res.StatusCode)
	}
	ts.advance(30 * time.Second)
	code := ts.code(t, secret)
	res, _ := staffLogin(t, ts, c, "alice", goodPassword, code)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/staff/" {
		t.Fatalf("login: %d", res.StatusCode)
	}
	cookie := res.Header.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Strict"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("staff cookie %q lacks %s", cookie, want)
		}
	}
	res, page := get(t, c, ts.URL+"/staff/")
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "Inbox") {
		t.Fatalf("inbox: %d", res.StatusCode)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("staff CSP = %q", csp)
	}
	// The same code again, from another browser: refused (replay).
	if res, _ := staffLogin(t, ts, client(t), "alice", goodPassword, code); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("replayed TOTP accepted: %d", res.StatusCode)
	}
}

func TestStaffLoginRefusals(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	secret := enrol(t, ts, "bob", storage.RoleCaseworker)
	ts.advance(30 * time.Second)
	_, wrongPassword := staffLogin(t, ts, client(t), "bob", "not the password at all", ts.code(t, secret))
	_, unknownUser := staffLogin(t, ts, client(t), "bob", goodPassword+"x", "000000")
	_, nobody := staffLogin(t, ts, client(t), "nobody", goodPassword, ts.code(t, secret))
	if strings.ReplaceAll(nobody, "nobody", "bob") != wrongPassword || unknownUser != wrongPassword {
		t.Error("refusals differ between a wrong password, a wrong code and an unknown user")
	}
	// Three failures so far (two for bob, ...): bob is now locked, even with
	// the right password and code.
	res, _ := staffLogin(t, ts, client(t), "bob", "wrong again", ts.code(t, secret))
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatal("wrong password accepted")
	}
	if res, _ := staffLogin(t, ts, client(t), "bob", goodPassword, ts.code(t, secret)); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a locked account logged in: %d", res.StatusCode)
	}
	// After the lock, the right credentials work again.
	ts.advance(2 * time.Minute)
	if res, _ := staffLogin(t, ts, client(t), "bob", goodPassword, ts.code(t, secret)); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login after the lock expired: %d", res.StatusCode)
	}
}

func loggedIn(t *testing.T, ts *testServer, username, role string) (*http.Client, string) {
	t.Helper()
	secret := enrol(t, ts, username, role)
	ts.advance(30 * time.Second)
	c := client(t)
	if res, _ := staffLogin(t, ts, c, username, goodPassword, ts.code(t, secret)); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login %s: %d", username, res.StatusCode)
	}
	_, page := get(t, c, ts.URL+"/staff/")
	return c, csrfOf(t, page)
}

func TestStaffCSRFAndLogout(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	c, csrf := loggedIn(t, ts, "carol", storage.RoleCaseworker)
	for name, body := range map[string]string{"no token": "", "a wrong token": "csrf=forged"} {
		t.Run(name, func(t *testing.T) {
			res, _ := post(t, c, ts.URL+"/staff/logout", strings.NewReader(body), "application/x-www-form-urlencoded")
			if res.StatusCode != http.StatusForbidden {
				t.Fatalf("logout with %s: %d", name, res.StatusCode)
			}
			if res, _ := get(t, c, ts.URL+"/staff/"); res.StatusCode != http.StatusOK {
				t.Fatal("the session ended without a valid token")
			}
		})
	}
	res, _ := post(t, c, ts.URL+"/staff/logout", strings.NewReader("csrf="+url.QueryEscape(csrf)), "application/x-www-form-urlencoded")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	if res, _ := get(t, c, ts.URL+"/staff/"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/staff/login" {
		t.Fatalf("after logout: %d", res.StatusCode)
	}
}

func TestStaffSessionExpires(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	c, _ := loggedIn(t, ts, "dave", storage.RoleCaseworker)
	ts.advance(29 * time.Minute)
	if res, _ := get(t, c, ts.URL+"/staff/"); res.StatusCode != http.StatusOK {
		t.Fatal("session ended before its idle timeout")
	}
	ts.advance(31 * time.Minute)
	if res, _ := get(t, c, ts.URL+"/staff/"); res.StatusCode != http.StatusSeeOther {
		t.Fatal("session outlived its idle timeout")
	}
}

func TestCaseworkerCannotReachAdminPages(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	c, csrf := loggedIn(t, ts, "erin", storage.RoleCaseworker)
	for _, path := range []string{"/staff/admin/staff", "/staff/admin/audit", "/staff/admin/recipients"} {
		if res, _ := get(t, c, ts.URL+path); res.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s as caseworker: %d", path, res.StatusCode)
		}
	}
	res, _ := post(t, c, ts.URL+"/staff/admin/invite",
		strings.NewReader(url.Values{"csrf": {csrf}, "username": {"mallory"}, "role": {"admin"}}.Encode()),
		"application/x-www-form-urlencoded")
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("invite as caseworker: %d", res.StatusCode)
	}
	if _, err := ts.DB.StaffByUsername(context.Background(), "mallory"); err == nil {
		t.Error("a caseworker created an account")
	}
}

func TestAdminInvitesAndAuditTrailRecordsIt(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	c, csrf := loggedIn(t, ts, "admin1", storage.RoleAdmin)
	res, page := post(t, c, ts.URL+"/staff/admin/invite",
		strings.NewReader(url.Values{"csrf": {csrf}, "username": {"frank"}, "role": {"caseworker"}}.Encode()),
		"application/x-www-form-urlencoded")
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "/staff/enrol/") {
		t.Fatalf("invite: %d", res.StatusCode)
	}
	_, page = get(t, c, ts.URL+"/staff/admin/audit")
	for _, want := range []string{"staff.login", "staff.invited", "frank", "intact"} {
		if !strings.Contains(page, want) {
			t.Errorf("audit page lacks %q", want)
		}
	}
	if err := ts.DB.VerifyAudit(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestStaffPagesNeverHoldReportPlaintext(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	const marker = "PLAINTEXT-MARKER-7f3a"
	submit(t, ts, "report "+marker)
	c, _ := loggedIn(t, ts, "gina", storage.RoleAdmin)
	for _, path := range []string{"/staff/", "/staff/admin/audit", "/staff/admin/staff"} {
		res, page := get(t, c, ts.URL+path)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", path, res.StatusCode)
		}
		if strings.Contains(page, marker) {
			t.Errorf("%s holds report plaintext", path)
		}
	}
}

func TestLogoutEverywhereEndsEverySession(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	secret := enrol(t, ts, "kim", storage.RoleCaseworker)
	var clients []*http.Client
	for i := range 2 {
		ts.advance(30 * time.Second)
		c := client(t)
		if res, _ := staffLogin(t, ts, c, "kim", goodPassword, ts.code(t, secret)); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("login %d: %d", i, res.StatusCode)
		}
		clients = append(clients, c)
	}
	_, page := get(t, clients[0], ts.URL+"/staff/")
	res, _ := post(t, clients[0], ts.URL+"/staff/logout-everywhere",
		strings.NewReader("csrf="+url.QueryEscape(csrfOf(t, page))), "application/x-www-form-urlencoded")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout everywhere: %d", res.StatusCode)
	}
	for i, c := range clients {
		if res, _ := get(t, c, ts.URL+"/staff/"); res.StatusCode != http.StatusSeeOther {
			t.Errorf("session %d survived logging out everywhere", i)
		}
	}
}

func TestParallelWrongCodesStillLockTheAccount(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	secret := enrol(t, ts, "lena", storage.RoleCaseworker)
	ts.advance(30 * time.Second)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, ts.URL+"/staff/login",
				strings.NewReader(url.Values{"username": {"lena"}, "password": {goodPassword}, "totp": {"000000"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if res, err := http.DefaultClient.Do(req); err == nil {
				res.Body.Close()
			}
		}()
	}
	wg.Wait()
	if res, _ := staffLogin(t, ts, client(t), "lena", goodPassword, ts.code(t, secret)); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the account was not locked after 8 parallel wrong codes: %d", res.StatusCode)
	}
	st, err := ts.DB.StaffByUsername(context.Background(), "lena")
	must(t, err)
	if st.FailedLogins < 8 || !st.LockedUntil.After(ts.now().Add(time.Minute)) {
		t.Fatalf("failures %d, locked until %v (now %v)", st.FailedLogins, st.LockedUntil, ts.now())
	}
}

func TestEnrolmentPageShowsTheQRCode(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	st, err := ts.DB.CreateStaff(context.Background(), "mona", storage.RoleCaseworker)
	must(t, err)
	token, err := ts.DB.NewEnrolmentToken(context.Background(), st.ID)
	must(t, err)
	_, page := get(t, client(t), storage.EnrolmentLink(ts.URL+"/", token))
	if !strings.Contains(page, `src="data:image/png;base64,iVBOR`) || strings.Contains(page, "ZgotmplZ") {
		t.Fatal("the enrolment page has no QR code image")
	}
}
