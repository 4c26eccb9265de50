package server_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/server"
	"github.com/candour/candour/storage"
)

// submitStatus sends a report and returns the response's status.
func submitStatus(t *testing.T, ts *testServer, text string) int {
	t.Helper()
	body, ctype := multipartBody([][2]string{{"body", text}}, nil)
	res, _ := post(t, client(t), ts.URL+"/report", body, ctype)
	return res.StatusCode
}

// The submission budget is one for all instances: B reports are taken
// across two, and the next is refused on either.
func TestInstancesShareTheSubmissionBudget(t *testing.T) {
	t.Parallel()
	const budget = 4
	ts := startServer(t, func(c *server.Config) { c.SubmissionsPerMinute = budget })
	peer := startPeer(t, ts, func(c *server.Config) { c.SubmissionsPerMinute = budget })
	for i, at := range []*testServer{ts, peer, peer, ts} {
		if got := submitStatus(t, at, "within the budget"); got != http.StatusOK {
			t.Fatalf("report %d of %d: status %d", i+1, budget, got)
		}
	}
	for _, at := range []*testServer{ts, peer} {
		if got := submitStatus(t, at, "over the budget"); got != http.StatusServiceUnavailable {
			t.Fatalf("report over the budget: status %d", got)
		}
	}
	if got := counts(t, ts.DB); got[0] != budget {
		t.Fatalf("cases = %d, want %d", got[0], budget)
	}
	// Two minutes on (the clock both share), the budget is whole again.
	ts.advance(2 * time.Minute)
	if got := submitStatus(t, peer, "a new minute"); got != http.StatusOK {
		t.Fatalf("after two minutes: status %d", got)
	}
}

// Failed logins on one instance lock the account on the other; failures
// for a name no account has are kept under a hash, not the name.
func TestInstancesShareLoginLocks(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	peer := startPeer(t, ts, nil)
	secret := enrol(t, ts, "olga", storage.RoleCaseworker)
	ts.advance(30 * time.Second)
	for range 3 {
		if res, _ := staffLogin(t, ts, client(t), "olga", "wrong password", ts.code(t, secret)); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a wrong password: %d", res.StatusCode)
		}
	}
	if res, _ := staffLogin(t, peer, client(t), "olga", goodPassword, ts.code(t, secret)); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the other instance let a locked account in: %d", res.StatusCode)
	}
	ts.advance(2 * time.Minute)
	if res, _ := staffLogin(t, peer, client(t), "olga", goodPassword, ts.code(t, secret)); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login after the lock ended: %d", res.StatusCode)
	}

	const typed = "Secret-Typed-As-Name-8d1f"
	for _, at := range []*testServer{ts, peer, ts} {
		staffLogin(t, at, client(t), typed, "whatever", "000000")
	}
	raw := rawDB(t, ts)
	var n, failures int
	var locked int64
	var hash []byte
	must(t, raw.QueryRow(`SELECT count(*) FROM login_name_failures`).Scan(&n))
	must(t, raw.QueryRow(`SELECT name_hash, failures, locked_until FROM login_name_failures`).Scan(&hash, &failures, &locked))
	if n != 1 || failures != 3 || time.Unix(locked, 0).Before(ts.now()) {
		t.Fatalf("%d rows; failures %d, locked until %v (now %v): want one name, 3 failures, locked", n, failures, time.Unix(locked, 0), ts.now())
	}
	if bytes.Contains(bytes.ToLower(hash), []byte(strings.ToLower(typed))) || len(hash) != 32 {
		t.Fatal("the typed name is kept in clear")
	}
	// Overall, the three of this minute count, on both instances; olga's,
	// two minutes old, no longer do.
	var overall int
	must(t, raw.QueryRow(`SELECT CAST(sum(count) AS INTEGER) FROM login_failure_counts`).Scan(&overall))
	if overall != 3 {
		t.Fatalf("failures counted overall: %d, want 3", overall)
	}
}

// A key added on one instance is in the next report taken by the other,
// and once its removal is acknowledged, it is in none.
func TestInstancesSealToTheCurrentRecipients(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	peer := startPeer(t, ts, nil)
	// The peer has loaded the recipients (at its start); the key is added
	// on the first instance after that.
	submit(t, ts, "a case for the staff page")
	newestMessage(t, ts)
	c, csrf := loggedIn(t, ts, "root", storage.RoleAdmin)
	added, err := age.GenerateHybridIdentity()
	must(t, err)
	res, page := post(t, c, ts.URL+"/staff/admin/recipients/add",
		strings.NewReader(url.Values{"csrf": {csrf}, "label": {"second key"}, "recipient": {added.Recipient().String()}}.Encode()),
		"application/x-www-form-urlencoded")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("add: %d", res.StatusCode)
	}
	// The other instance's case page gives the console's script the new
	// key, to seal replies and notes to (the session is in the database).
	cases, _, err := peer.DB.ListCases(context.Background(), storage.CaseFilter{AllChannels: true}, storage.Cursor{}, 10)
	must(t, err)
	if _, page := get(t, c, peer.URL+"/staff/case/"+cases[0].Ref); !strings.Contains(page, added.Recipient().String()) {
		t.Fatal("the other instance's case page does not offer the added key")
	}
	submit(t, peer, "after the key was added")
	if m, err := crypto.OpenMessage(newestMessage(t, peer), added); err != nil || m.Text != "after the key was added" {
		t.Fatalf("the other instance's report does not open with the added key: %v", err)
	}

	id := regexp.MustCompile(`name="id" value="(\d+)"`).FindStringSubmatch(page)[1]
	res, _ = post(t, c, ts.URL+"/staff/admin/recipients/remove",
		strings.NewReader(url.Values{"csrf": {csrf}, "id": {id}}.Encode()), "application/x-www-form-urlencoded")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("remove: %d", res.StatusCode)
	}
	submit(t, peer, "after the key was removed")
	last := newestMessage(t, peer)
	if _, err := crypto.OpenMessage(last, added); err == nil {
		t.Fatal("a key removed on one instance still gets the other's new reports")
	}
	if m, err := crypto.OpenMessage(last, ts.OrgKey); err != nil || m.Text != "after the key was removed" {
		t.Fatalf("the file's key does not open the report: %v", err)
	}
}

// A staff form with a zero byte or invalid UTF-8 is refused whole, with a
// clear 400, on both engines (PostgreSQL would refuse the text with a
// 500 half way); a reporter's text, sealed, keeps its zero byte.
func TestStaffFormsRefuseUnstorableText(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	c, csrf := loggedIn(t, ts, "root", storage.RoleAdmin)
	ctx := context.Background()
	before, err := ts.DB.ListStaff(ctx)
	must(t, err)
	trail, _, err := ts.DB.AuditPage(ctx, 0, 1000)
	must(t, err)
	for _, bad := range []string{"nul\x00name", "bad\xffutf8", "\xc3"} {
		for _, form := range []url.Values{
			{"csrf": {csrf}, "username": {bad}, "role": {"caseworker"}},
			{"csrf": {csrf}, "username": {"fine"}, "role": {"caseworker"}, "note\x00": {"x"}},
		} {
			res, page := post(t, c, ts.URL+"/staff/admin/invite", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "not valid UTF-8") || !strings.Contains(page, "Nothing was changed") {
				t.Fatalf("%q: status %d: %s", bad, res.StatusCode, page)
			}
		}
		res, page := post(t, c, ts.URL+"/staff/admin/recipients/add",
			strings.NewReader(url.Values{"csrf": {csrf}, "label": {bad}, "recipient": {ts.OrgKey.Recipient().String()}}.Encode()),
			"application/x-www-form-urlencoded")
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "not valid UTF-8") {
			t.Fatalf("a key's label %q: status %d", bad, res.StatusCode)
		}
		res, _ = staffLogin(t, ts, client(t), bad, goodPassword, "000000")
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("login as %q: status %d", bad, res.StatusCode)
		}
	}
	after, err := ts.DB.ListStaff(ctx)
	must(t, err)
	trailAfter, _, err := ts.DB.AuditPage(ctx, 0, 1000)
	must(t, err)
	added, err := ts.DB.OrgRecipients(ctx)
	must(t, err)
	if len(after) != len(before) || len(trailAfter) != len(trail) || len(added) != 0 {
		t.Fatalf("refused forms changed something: staff %d→%d, audit %d→%d, keys %d", len(before), len(after), len(trail), len(trailAfter), len(added))
	}
	// The same form, well formed, is taken: the refusal was the bytes.
	res, _ := post(t, c, ts.URL+"/staff/admin/invite",
		strings.NewReader(url.Values{"csrf": {csrf}, "username": {"fine"}, "role": {"caseworker"}}.Encode()), "application/x-www-form-urlencoded")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("a good invite: %d", res.StatusCode)
	}

	submit(t, ts, "before\x00after")
	if m, err := crypto.OpenMessage(newestMessage(t, ts), ts.OrgKey); err != nil || m.Text != "before\x00after" {
		t.Fatalf("a reporter's text with a zero byte: %v", err)
	}
}
