package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/candour/candour/storage"
)

// bulkCases submits n reports and returns their references, oldest first.
func bulkCases(t *testing.T, ts *testServer, n int) []string {
	t.Helper()
	for i := range n {
		submit(t, ts, fmt.Sprintf("report number %d", i))
	}
	cases, _, err := ts.DB.ListCases(context.Background(), storage.CaseFilter{AllChannels: true}, storage.Cursor{}, 1000)
	must(t, err)
	var refs []string
	for _, c := range cases {
		refs = append(refs, c.Ref)
	}
	if len(refs) != n {
		t.Fatalf("%d cases, want %d", len(refs), n)
	}
	return refs
}

// bulkForm is a bulk form as the inbox posts it.
func bulkForm(csrf, action string, refs []string, more ...string) url.Values {
	v := url.Values{"csrf": {csrf}, "action": {action}, "case": refs}
	for i := 0; i+1 < len(more); i += 2 {
		v.Set(more[i], more[i+1])
	}
	return v
}

// caseState is what a bulk action may change of a case.
func caseState(t *testing.T, ts *testServer, ref string) string {
	t.Helper()
	ctx := context.Background()
	cs, err := ts.DB.CaseByRef(ctx, ref)
	must(t, err)
	a, err := ts.DB.CaseAssignee(ctx, cs.ID)
	must(t, err)
	return fmt.Sprintf("%s/%d", cs.Status, a)
}

// auditOf lists the audit trail's entries with the action, oldest first,
// as "actor target detail".
func auditOf(t *testing.T, ts *testServer, action string) []string {
	t.Helper()
	entries, _, err := ts.DB.AuditPage(context.Background(), 0, 1000)
	must(t, err)
	var out []string
	for _, e := range entries {
		if e.Action == action {
			out = append(out, e.Actor+" "+e.Target+" "+e.Detail)
		}
	}
	slices.Reverse(out)
	return out
}

// A caseworker ticks cases in the inbox and assigns them all, sets their
// status, then unassigns them: every case changes, each with the audit
// entry its own form would write, and the inbox comes back with its
// filters and says what was done.
func TestBulkAssignAndStatusChangeEveryCase(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	refs := bulkCases(t, ts, 4)
	cora, csrf := loggedIn(t, ts, "cora", storage.RoleCaseworker)
	loggedIn(t, ts, "dan", storage.RoleCaseworker)
	dan := staffID(t, ts, "dan")
	picked := refs[:3]

	_, inbox := get(t, cora, ts.URL+"/staff/?status=new&sort=deadline")
	for _, want := range []string{`<form method="post" action="/staff/bulk" id="bulk"`, `name="back" value="/staff/?sort=deadline&amp;status=new"`,
		`<input type="checkbox" name="case" value="` + refs[0] + `" form="bulk" id="select-` + refs[0] + `">`,
		`<label for="select-` + refs[0] + `" class="visually-hidden">Select case ` + refs[0] + `</label>`,
		`formaction="/staff/export" data-native`, `<option value="` + strconv.FormatInt(dan, 10) + `">dan</option>`} {
		if !strings.Contains(inbox, want) {
			t.Errorf("the inbox lacks %s", want)
		}
	}
	if i := strings.Index(inbox, `id="bulk-status"`); i < 0 || strings.Contains(inbox[i:i+strings.Index(inbox[i:], "</select>")], `value="closed"`) {
		t.Error("the bulk form offers to close cases")
	}
	// "Select all on this page" ticks every box, without JavaScript.
	ticked := regexp.MustCompile(`form="bulk" id="select-[^"]+" checked>`)
	if n := len(ticked.FindAllString(inbox, -1)); n != 0 {
		t.Errorf("%d boxes ticked before any selection", n)
	}
	_, all := get(t, cora, ts.URL+"/staff/?status=new&select=all")
	if n := len(ticked.FindAllString(all, -1)); n != 4 {
		t.Errorf("select all ticked %d boxes, want 4", n)
	}

	res, body := staffPost(t, cora, ts.URL+"/staff/bulk", bulkForm(csrf, "assign", picked,
		"assignee", strconv.FormatInt(dan, 10), "back", "/staff/?status=new&sort=deadline&bulk=status&n=9"))
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("bulk assign: %d %s", res.StatusCode, body)
	}
	if want := fmt.Sprintf("/staff/?bulk=assign&n=3&sort=deadline&status=new&to=%d", dan); loc != want {
		t.Errorf("back to %q, want %q", loc, want)
	}
	for _, ref := range refs {
		want := fmt.Sprintf("new/%d", dan)
		if !slices.Contains(picked, ref) {
			want = "new/0"
		}
		if got := caseState(t, ts, ref); got != want {
			t.Errorf("case %s is %s, want %s", ref, got, want)
		}
	}
	var want []string
	for _, ref := range picked {
		want = append(want, "cora "+ref+" to dan")
	}
	if got := auditOf(t, ts, "case.assign"); !slices.Equal(got, want) {
		t.Errorf("audit trail:\n%q\nwant\n%q", got, want)
	}
	if _, page := get(t, cora, ts.URL+loc); !strings.Contains(page, "3 cases assigned to dan.") {
		t.Error("the inbox does not say what the bulk action did")
	}

	res, body = staffPost(t, cora, ts.URL+"/staff/bulk", bulkForm(csrf, "status", picked[1:], "status", storage.StatusInReview, "back", "/staff/"))
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/staff/?bulk=status&n=2&to=in_review" {
		t.Fatalf("bulk status: %d %s %s", res.StatusCode, res.Header.Get("Location"), body)
	}
	if got, want := auditOf(t, ts, "case.status"), []string{"cora " + picked[1] + " new -> in_review", "cora " + picked[2] + " new -> in_review"}; !slices.Equal(got, want) {
		t.Errorf("audit trail: %q, want %q", got, want)
	}
	if _, page := get(t, cora, ts.URL+res.Header.Get("Location")); !strings.Contains(page, "2 cases set to In review.") {
		t.Error("the inbox does not say what the status change did")
	}

	// Unassigning, with a case ticked twice: counted once.
	res, _ = staffPost(t, cora, ts.URL+"/staff/bulk", bulkForm(csrf, "assign", append(picked[:1:1], picked[0], picked[1]), "assignee", "0"))
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/staff/?bulk=assign&n=2&to=0" {
		t.Fatalf("bulk unassign: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	for ref, want := range map[string]string{picked[0]: "new/0", picked[1]: "in_review/0", picked[2]: fmt.Sprintf("in_review/%d", dan)} {
		if got := caseState(t, ts, ref); got != want {
			t.Errorf("case %s is %s, want %s", ref, got, want)
		}
	}
	if _, page := get(t, cora, ts.URL+"/staff/?bulk=assign&n=2&to=0"); !strings.Contains(page, "2 cases assigned to no one.") {
		t.Error("the inbox does not say the cases were unassigned")
	}
}

// A bulk action is refused whole, and changes nothing for any case, when
// one case is not the caseworker's to see (another channel's, or one they
// are recused from: the same answer as a case that does not exist), when
// the action is not valid for one of them, when the assignee cannot see
// one of them, without the CSRF token, with nothing selected, or with more
// than a page of cases.
func TestBulkActionIsAllOrNothing(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ctx := context.Background()
	refs := bulkCases(t, ts, 3)
	admin, adminCSRF := loggedIn(t, ts, "ada", storage.RoleAdmin)
	cora, csrf := loggedIn(t, ts, "cora", storage.RoleCaseworker)
	loggedIn(t, ts, "ben", storage.RoleCaseworker)
	ben := strconv.FormatInt(staffID(t, ts, "ben"), 10)

	// A case in a channel cora is not in, and one she is recused from.
	elsewhere := caseElsewhere(t, ts, admin, adminCSRF)
	recused := refs[2]
	if res, body := staffPost(t, cora, ts.URL+"/staff/case/"+recused+"/recuse", url.Values{"csrf": {csrf}, "reason": {"my cousin"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("recuse: %d %s", res.StatusCode, body)
	}
	// A closed case, which needs reopening before its status changes.
	closeCase(t, ts, admin, adminCSRF, refs[1], "1")
	// Ben may not see refs[0].
	rc, err := ts.DB.CaseByRef(ctx, refs[0])
	must(t, err)
	must(t, ts.DB.RecuseFromCase(ctx, rc.ID, staffID(t, ts, "ben"), "served with them"))

	before := map[string]string{}
	for _, ref := range append(refs, elsewhere) {
		before[ref] = caseState(t, ts, ref)
	}
	audited := len(auditOf(t, ts, "case.assign")) + len(auditOf(t, ts, "case.status"))
	var tooMany []string
	for i := range 51 {
		tooMany = append(tooMany, fmt.Sprintf("%04d-%04d", i, i))
	}
	var unknownPage string
	for _, tc := range []struct {
		name   string
		c      *http.Client
		form   url.Values
		status int
		says   string
	}{
		{"a case of another channel", cora, bulkForm(csrf, "assign", []string{refs[0], elsewhere}, "assignee", "0"), http.StatusNotFound, "does not exist or is not yours to see"},
		{"a case the caseworker is recused from", cora, bulkForm(csrf, "assign", []string{refs[0], recused}, "assignee", "0"), http.StatusNotFound, "does not exist or is not yours to see"},
		{"a case that does not exist", cora, bulkForm(csrf, "assign", []string{refs[0], "ZZZZ-ZZZZ"}, "assignee", "0"), http.StatusNotFound, "does not exist or is not yours to see"},
		{"a malformed reference", cora, bulkForm(csrf, "assign", []string{refs[0], "../admin"}, "assignee", "0"), http.StatusNotFound, "does not exist or is not yours to see"},
		{"a status change of a closed case", admin, bulkForm(adminCSRF, "status", []string{refs[0], refs[1]}, "status", storage.StatusReferred), http.StatusBadRequest, "Case " + refs[1] + ": The case is closed: reopen it first."},
		{"closing in bulk", cora, bulkForm(csrf, "status", refs[:1], "status", storage.StatusClosed), http.StatusBadRequest, "each with its outcome"},
		{"an unknown status", cora, bulkForm(csrf, "status", refs[:1], "status", "done"), http.StatusBadRequest, "Unknown status."},
		{"an assignee who cannot see a case", admin, bulkForm(adminCSRF, "assign", refs[:2], "assignee", ben), http.StatusBadRequest, "ben cannot see case " + refs[0]},
		{"an unknown assignee", cora, bulkForm(csrf, "assign", refs[:1], "assignee", "999"), http.StatusBadRequest, "Unknown staff member."},
		{"an unknown action", cora, bulkForm(csrf, "delete", refs[:1]), http.StatusBadRequest, "Choose an action"},
		{"no CSRF token", cora, bulkForm("", "assign", refs[:1], "assignee", "0"), http.StatusForbidden, "This form is no longer valid"},
		{"a forged CSRF token", cora, bulkForm("forged", "assign", refs[:1], "assignee", "0"), http.StatusForbidden, "This form is no longer valid"},
		{"nothing selected", cora, bulkForm(csrf, "assign", nil, "assignee", "0"), http.StatusBadRequest, "No case was selected"},
		{"more than a page of cases", cora, bulkForm(csrf, "assign", tooMany, "assignee", "0"), http.StatusBadRequest, "at most 50 cases"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.form.Set("back", "/staff/?status=new")
			res, page := staffPost(t, tc.c, ts.URL+"/staff/bulk", tc.form)
			if res.StatusCode != tc.status || !strings.Contains(page, tc.says) || !strings.Contains(strings.ToLower(page), "nothing was changed") {
				t.Errorf("%d, want %d saying %q: %s", res.StatusCode, tc.status, tc.says, page)
			}
			if elsewhere != "" && strings.Contains(page, elsewhere) {
				t.Error("the refusal names the case of the other channel")
			}
			if tc.status == http.StatusNotFound && !strings.Contains(page, `href="/staff/?status=new"`) {
				t.Error("the refusal does not lead back to the inbox as it was")
			}
			if tc.name == "a case that does not exist" {
				unknownPage = page
			}
		})
	}
	// Another channel's case, a recusal and no case at all read the same.
	_, p1 := staffPost(t, cora, ts.URL+"/staff/bulk", bulkForm(csrf, "assign", []string{refs[0], elsewhere}, "assignee", "0", "back", "/staff/?status=new"))
	if p1 != unknownPage {
		t.Error("a case of another channel is refused differently from one that does not exist")
	}
	for _, ref := range append(refs, elsewhere) {
		if got := caseState(t, ts, ref); got != before[ref] {
			t.Errorf("case %s changed from %s to %s", ref, before[ref], got)
		}
	}
	if n := len(auditOf(t, ts, "case.assign")) + len(auditOf(t, ts, "case.status")); n != audited {
		t.Errorf("%d audit entries of refused bulk actions", n-audited)
	}
}

// The way back after a bulk action never leads off the staff console.
func TestBulkGoesBackOnlyWithinTheConsole(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	refs := bulkCases(t, ts, 1)
	cora, csrf := loggedIn(t, ts, "cora", storage.RoleCaseworker)
	for back, want := range map[string]string{
		"":                               "/staff/?bulk=assign&n=1&to=0",
		"/staff/?page=2":                 "/staff/?bulk=assign&n=1&page=2&to=0",
		"https://evil.example/staff/":    "/staff/?bulk=assign&n=1&to=0",
		"//evil.example/staff/":          "/staff/?bulk=assign&n=1&to=0",
		"/staff//evil.example":           "/staff/?bulk=assign&n=1&to=0",
		"/staff/\\evil.example":          "/staff/?bulk=assign&n=1&to=0",
		"/report":                        "/staff/?bulk=assign&n=1&to=0",
		"/staff/../report":               "/staff/?bulk=assign&n=1&to=0",
		"/staff/?status=new#x":           "/staff/?bulk=assign&n=1&to=0",
		"/staff/case/" + refs[0] + "?x=": "/staff/case/" + refs[0] + "?bulk=assign&n=1&to=0&x=",
	} {
		res, body := staffPost(t, cora, ts.URL+"/staff/bulk", bulkForm(csrf, "assign", refs, "assignee", "0", "back", back))
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
			t.Errorf("back %q: %d to %q, want %q %s", back, res.StatusCode, res.Header.Get("Location"), want, body)
		}
	}
}

// caseElsewhere makes a channel "Kent" (no one else's), sends a report to
// it and returns the case's reference.
func caseElsewhere(t *testing.T, ts *testServer, admin *http.Client, csrf string) string {
	t.Helper()
	other := newChannel(t, ts, admin, csrf, "Kent")
	res, page := sendReport(t, ts, [][2]string{{"channel", strconv.FormatInt(other, 10)}, {"body", "about Kent"}})
	if res.StatusCode != http.StatusOK || !caseCodeRE.MatchString(page) {
		t.Fatalf("report to the other channel: %d", res.StatusCode)
	}
	all, _, err := ts.DB.ListCases(context.Background(), storage.CaseFilter{AllChannels: true}, storage.Cursor{}, 100)
	must(t, err)
	for _, c := range all {
		if c.ChannelID == other {
			return c.Ref
		}
	}
	t.Fatal("the report to the other channel made no case there")
	return ""
}
