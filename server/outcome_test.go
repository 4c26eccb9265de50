package server_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/candour/candour/storage"
)

// closeCase closes a case through the console with the outcome of that id
// (as the form sends it without JavaScript: no note).
func closeCase(t *testing.T, ts *testServer, c *http.Client, csrf, ref, outcome string) {
	t.Helper()
	res, body := staffUpload(t, c, ts.URL+"/staff/case/"+ref+"/close", csrf, [][2]string{{"outcome", outcome}}, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("close %s with outcome %s: %d %s", ref, outcome, res.StatusCode, body)
	}
}

// lastAudit returns the newest audit entry with the action, or fails.
func lastAudit(t *testing.T, ts *testServer, action string) storage.AuditEntry {
	t.Helper()
	entries, _, err := ts.DB.AuditPage(context.Background(), 0, 1000)
	must(t, err)
	for _, e := range entries {
		if e.Action == action {
			return e
		}
	}
	t.Fatalf("no audit entry %q", action)
	return storage.AuditEntry{}
}

func auditCount(t *testing.T, ts *testServer, action string) int {
	t.Helper()
	entries, _, err := ts.DB.AuditPage(context.Background(), 0, 1000)
	must(t, err)
	n := 0
	for _, e := range entries {
		if e.Action == action {
			n++
		}
	}
	return n
}

func TestClosingACaseNeedsAnOutcomeAndReopeningClearsIt(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ctx := context.Background()
	submit(t, ts, "a report to close")
	c, csrf := loggedIn(t, ts, "cora", storage.RoleCaseworker)
	_, inbox := get(t, c, ts.URL+"/staff/")
	ref := refRE.FindStringSubmatch(inbox)[1]
	fakeAge := "age-encryption.org/v1\n-> X25519 test\n--- mac\nciphertext"

	// The explanation box has no name: without the console's script, its
	// text can never be posted in clear.
	_, page := get(t, c, ts.URL+"/staff/case/"+ref)
	if !strings.Contains(page, `<textarea id="outcome-note" rows="3"></textarea>`) || !strings.Contains(page, `id="outcome-note-field" hidden`) {
		t.Fatal("the closing form's explanation box is named or shown without JavaScript")
	}

	for _, tc := range []struct {
		name  string
		csrf  string
		parts [][2]string
		want  int
	}{
		{"no outcome", csrf, nil, http.StatusBadRequest},
		{"an empty outcome", csrf, [][2]string{{"outcome", ""}}, http.StatusBadRequest},
		{"an unknown outcome", csrf, [][2]string{{"outcome", "999"}}, http.StatusBadRequest},
		{"a note that is not an age file", csrf, [][2]string{{"outcome", "1"}, {"note", "the plain explanation"}}, http.StatusBadRequest},
		{"an unexpected field", csrf, [][2]string{{"outcome", "1"}, {"note", fakeAge}, {"more", "x"}}, http.StatusBadRequest},
		{"no CSRF token", "", [][2]string{{"outcome", "1"}}, http.StatusForbidden},
		{"a forged CSRF token", "forged", [][2]string{{"outcome", "1"}}, http.StatusForbidden},
	} {
		t.Run("a closing with "+tc.name+" is refused and changes nothing", func(t *testing.T) {
			res, _ := staffUpload(t, c, ts.URL+"/staff/case/"+ref+"/close", tc.csrf, tc.parts, nil)
			if res.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.want)
			}
			cs, err := ts.DB.CaseByRef(ctx, ref)
			must(t, err)
			if cs.Status != storage.StatusNew {
				t.Fatalf("status is %q", cs.Status)
			}
			if notes, _ := ts.DB.Notes(ctx, cs.ID); len(notes) != 0 {
				t.Fatal("a note was stored")
			}
			if n := auditCount(t, ts, "case.close"); n != 0 {
				t.Fatalf("%d case.close entries", n)
			}
		})
	}
	t.Run("the status form cannot close a case", func(t *testing.T) {
		res, _ := post(t, c, ts.URL+"/staff/case/"+ref+"/status",
			strings.NewReader(url.Values{"csrf": {csrf}, "status": {storage.StatusClosed}}.Encode()), "application/x-www-form-urlencoded")
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d, want 400", res.StatusCode)
		}
	})

	// Closing with an outcome and its encrypted note.
	res, body := staffUpload(t, c, ts.URL+"/staff/case/"+ref+"/close", csrf,
		[][2]string{{"outcome", "2"}, {"note", fakeAge}}, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("close: %d %s", res.StatusCode, body)
	}
	cs, err := ts.DB.CaseByRef(ctx, ref)
	must(t, err)
	o, noteID, err := ts.DB.CaseOutcome(ctx, cs.ID)
	must(t, err)
	notes, err := ts.DB.Notes(ctx, cs.ID)
	must(t, err)
	if cs.Status != storage.StatusClosed || o.Label != "Not substantiated" || len(notes) != 1 || noteID != notes[0].ID ||
		string(notes[0].Ciphertext) != fakeAge {
		t.Fatalf("after closing: status %q, outcome %q, note %d, notes %d", cs.Status, o.Label, noteID, len(notes))
	}
	if e := lastAudit(t, ts, "case.close"); e.Target != ref || e.Actor != "cora" || !strings.Contains(e.Detail, "Not substantiated") {
		t.Fatalf("audit entry %+v", e)
	}
	if r, _ := ts.DB.CaseRetention(ctx, cs.ID); r.ClosedAt.IsZero() {
		t.Fatal("no closed day")
	}
	_, page = get(t, c, ts.URL+"/staff/case/"+ref)
	if !strings.Contains(page, `id="case-outcome">Not substantiated<`) || !strings.Contains(page, `id="reopen-form"`) ||
		strings.Contains(page, `id="close-form"`) {
		t.Fatal("the case page does not show the outcome and the reopen button")
	}
	if _, inbox := get(t, c, ts.URL+"/staff/"); !strings.Contains(inbox, "Closed: Not substantiated") {
		t.Fatal("the inbox does not show the outcome")
	}
	res, _ = staffUpload(t, c, ts.URL+"/staff/case/"+ref+"/close", csrf, [][2]string{{"outcome", "1"}}, nil)
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("closing a closed case again: %d", res.StatusCode)
	}

	// A reopening whose audit entry cannot be written changes nothing.
	restore := refuseAuditEntries(t, ts)
	res, _ = post(t, c, ts.URL+"/staff/case/"+ref+"/reopen",
		strings.NewReader(url.Values{"csrf": {csrf}}.Encode()), "application/x-www-form-urlencoded")
	restore()
	if res.StatusCode != http.StatusInternalServerError {
		t.Fatalf("reopen without its audit entry: %d", res.StatusCode)
	}
	if _, _, err := ts.DB.CaseOutcome(ctx, cs.ID); err != nil {
		t.Fatalf("the outcome was cleared without its audit entry: %v", err)
	}

	// Reopening: CSRF first, then it clears the outcome, audited.
	res, _ = post(t, c, ts.URL+"/staff/case/"+ref+"/reopen", strings.NewReader(""), "application/x-www-form-urlencoded")
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("reopen without CSRF: %d", res.StatusCode)
	}
	reopen := func() *http.Response {
		res, _ := post(t, c, ts.URL+"/staff/case/"+ref+"/reopen",
			strings.NewReader(url.Values{"csrf": {csrf}}.Encode()), "application/x-www-form-urlencoded")
		return res
	}
	if res := reopen(); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("reopen: %d", res.StatusCode)
	}
	cs, err = ts.DB.CaseByRef(ctx, ref)
	must(t, err)
	if _, _, err := ts.DB.CaseOutcome(ctx, cs.ID); !errors.Is(err, storage.ErrNotFound) || cs.Status != storage.StatusInReview {
		t.Fatalf("after reopening: status %q, outcome %v", cs.Status, err)
	}
	if r, _ := ts.DB.CaseRetention(ctx, cs.ID); !r.ClosedAt.IsZero() {
		t.Fatal("the retention clock still runs")
	}
	if e := lastAudit(t, ts, "case.reopen"); e.Target != ref || !strings.Contains(e.Detail, "Not substantiated") {
		t.Fatalf("audit entry %+v", e)
	}
	if res := reopen(); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("reopening an open case: %d", res.StatusCode)
	}
	must(t, ts.DB.VerifyAudit(ctx))
}

func TestAnArchivedOutcomeIsNotOfferedButOldCasesKeepIt(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ctx := context.Background()
	submit(t, ts, "first")
	submit(t, ts, "second")
	c, csrf := loggedIn(t, ts, "abe", storage.RoleAdmin)
	cases, _, err := ts.DB.ListCases(ctx, storage.CaseFilter{AllChannels: true}, storage.Cursor{}, 10)
	must(t, err)
	closed, open := cases[0].Ref, cases[1].Ref
	closeCase(t, ts, c, csrf, closed, "5")

	admin := func(path string, v url.Values) (*http.Response, string) {
		v.Set("csrf", csrf)
		return post(t, c, ts.URL+path, strings.NewReader(v.Encode()), "application/x-www-form-urlencoded")
	}
	if res, _ := admin("/staff/admin/outcomes/5", url.Values{"action": {"archive"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("archive: %d", res.StatusCode)
	}
	if e := lastAudit(t, ts, "outcome.archive"); e.Actor != "abe" || e.Detail != "Outside our remit" {
		t.Fatalf("audit entry %+v", e)
	}
	_, page := get(t, c, ts.URL+"/staff/case/"+open)
	if strings.Contains(page, "Outside our remit") || !strings.Contains(page, ">Substantiated<") {
		t.Fatal("the archived outcome is still offered, or the others are not")
	}
	res, _ := staffUpload(t, c, ts.URL+"/staff/case/"+open+"/close", csrf, [][2]string{{"outcome", "5"}}, nil)
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("closing with an archived outcome: %d", res.StatusCode)
	}
	if _, page := get(t, c, ts.URL+"/staff/case/"+closed); !strings.Contains(page, `id="case-outcome">Outside our remit<`) {
		t.Fatal("the case closed with the archived outcome lost its label")
	}
	_, page = get(t, c, ts.URL+"/staff/admin/outcomes")
	if !strings.Contains(page, "archived: not offered") {
		t.Fatal("the admin page does not show the archived outcome")
	}

	// Adding, renaming and reordering; bad labels change nothing.
	for _, tc := range []struct{ name, path, label string }{
		{"an empty label", "/staff/admin/outcomes/add", "  "},
		{"a duplicate label", "/staff/admin/outcomes/add", "substantiated"},
		{"a label too long", "/staff/admin/outcomes/add", strings.Repeat("x", 121)},
		{"a label on two lines", "/staff/admin/outcomes/add", "two\nlines"},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			before, _ := ts.DB.Outcomes(ctx, true)
			if res, _ := admin(tc.path, url.Values{"label": {tc.label}}); res.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d", res.StatusCode)
			}
			if after, _ := ts.DB.Outcomes(ctx, true); len(after) != len(before) {
				t.Fatal("an outcome was added")
			}
		})
	}
	if res, _ := admin("/staff/admin/outcomes/add", url.Values{"label": {"Resolved informally"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("add: %d", res.StatusCode)
	}
	all, _ := ts.DB.Outcomes(ctx, true)
	added := all[len(all)-1]
	if added.Label != "Resolved informally" || lastAudit(t, ts, "outcome.add").Detail != "Resolved informally" {
		t.Fatalf("added %+v", added)
	}
	if res, _ := admin("/staff/admin/outcomes/"+strconv.FormatInt(added.ID, 10), url.Values{"action": {"up"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("move: %d", res.StatusCode)
	}
	if all, _ := ts.DB.Outcomes(ctx, true); all[len(all)-2].ID != added.ID {
		t.Fatal("the outcome did not move up")
	}
	if res, _ := admin("/staff/admin/outcomes/1", url.Values{"action": {"rename"}, "label": {"Upheld"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("rename: %d", res.StatusCode)
	}
	if e := lastAudit(t, ts, "outcome.rename"); e.Detail != "Substantiated -> Upheld" {
		t.Fatalf("audit entry %+v", e)
	}
	if res, _ := admin("/staff/admin/outcomes/1", url.Values{"action": {"rename"}, "label": {"Referred to another body"}}); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("rename to a taken label: %d", res.StatusCode)
	}

	// A caseworker cannot manage outcomes; no change without the token.
	cw, cwCSRF := loggedIn(t, ts, "cal", storage.RoleCaseworker)
	if res, _ := get(t, cw, ts.URL+"/staff/admin/outcomes"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a caseworker's GET: %d", res.StatusCode)
	}
	if res, _ := post(t, cw, ts.URL+"/staff/admin/outcomes/add", strings.NewReader(url.Values{"csrf": {cwCSRF}, "label": {"Mine"}}.Encode()),
		"application/x-www-form-urlencoded"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a caseworker's POST: %d", res.StatusCode)
	}
	if res, _ := post(t, c, ts.URL+"/staff/admin/outcomes/add", strings.NewReader(url.Values{"label": {"No token"}}.Encode()),
		"application/x-www-form-urlencoded"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("without CSRF: %d", res.StatusCode)
	}
	if all2, _ := ts.DB.Outcomes(ctx, true); len(all2) != len(all) {
		t.Fatal("an outcome was added without the right")
	}
	must(t, ts.DB.VerifyAudit(ctx))
}
