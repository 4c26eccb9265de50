package server_test

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

// deadlineStaff is a logged-in staff member who can log in again after
// the clock moves past their session.
type deadlineStaff struct {
	name, secret string
	c            *http.Client
	csrf         string
}

func newDeadlineStaff(t *testing.T, ts *testServer, name, role string) *deadlineStaff {
	t.Helper()
	s := &deadlineStaff{name: name, secret: enrol(t, ts, name, role)}
	s.login(t, ts)
	return s
}

// login logs them in afresh (days pass in these tests: sessions end).
func (s *deadlineStaff) login(t *testing.T, ts *testServer) {
	t.Helper()
	ts.advance(31 * time.Second) // a new TOTP code
	s.c = client(t)
	if res, _ := staffLogin(t, ts, s.c, s.name, goodPassword, ts.code(t, s.secret)); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login %s: %d", s.name, res.StatusCode)
	}
	_, page := get(t, s.c, ts.URL+"/staff/")
	s.csrf = csrfOf(t, page)
}

func (s *deadlineStaff) form(t *testing.T, ts *testServer, path string, v url.Values) (*http.Response, string) {
	t.Helper()
	v = maps.Clone(v)
	if v.Get("csrf") == "" {
		v.Set("csrf", s.csrf)
	}
	return post(t, s.c, ts.URL+path, strings.NewReader(v.Encode()), "application/x-www-form-urlencoded")
}

// setDay puts the server's clock at noon UTC of a day.
func setDay(ts *testServer, y int, m time.Month, d int) {
	ts.Clock.Store(time.Date(y, m, d, 12, 0, 0, 0, time.UTC).UnixNano())
}

// submitCase sends a report and returns its code and reference.
func submitCase(t *testing.T, ts *testServer, text string) (string, storage.Case) {
	t.Helper()
	code := submit(t, ts, text)
	cs, _ := newestCase(t, ts)
	return code, cs
}

// myOverdue is the inbox's "Your overdue cases" section.
func myOverdue(t *testing.T, page string) string {
	t.Helper()
	i := strings.Index(page, `id="my-overdue"`)
	j := strings.Index(page, `</section>`)
	if i < 0 || j < i {
		t.Fatal("the inbox has no section of your overdue cases")
	}
	return page[i:j]
}

// rowOf is the inbox row of the case ref in the full list.
func rowOf(t *testing.T, page, ref string) string {
	t.Helper()
	all := page[strings.Index(page, "<h2>All cases</h2>"):]
	i := strings.Index(all, `href="/staff/case/`+ref+`"`)
	if i < 0 {
		return ""
	}
	return all[i : i+strings.Index(all[i:], "</tr>")]
}

// A case is due soon in the days before its acknowledge-by date and
// overdue from the day after; the inbox says so in words, filters by it,
// and puts the assignee's overdue cases first; the reporter reads the date
// in their language; a closed case is never overdue.
func TestCaseMovesFromDueToOverdue(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	setDay(ts, 2026, 12, 6)
	hana := newDeadlineStaff(t, ts, "hana", storage.RoleCaseworker)
	code, cs := submitCase(t, ts, "a report with a deadline")
	if res, _ := hana.form(t, ts, "/staff/case/"+cs.Ref+"/assign", url.Values{"assignee": {strconv.FormatInt(staffID(t, ts, "hana"), 10)}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("assign: %d", res.StatusCode)
	}

	_, page := get(t, login(t, ts, code), ts.URL+"/case")
	if !strings.Contains(page, "We aim to acknowledge your report by 13 December 2026.") {
		t.Errorf("the reporter is not told when to expect an acknowledgement: %s", page)
	}
	_, page = get(t, login(t, ts, code), ts.URL+"/case?lang=pl")
	if !strings.Contains(page, "Postaramy się potwierdzić otrzymanie Twojego zgłoszenia do 2026-12-13.") {
		t.Errorf("the reporter reading Polish is not told when to expect an acknowledgement")
	}

	listed := func(deadline string) bool {
		t.Helper()
		_, page := get(t, hana.c, ts.URL+"/staff/?deadline="+deadline)
		return rowOf(t, page, cs.Ref) != ""
	}
	for _, tc := range []struct {
		day     int
		word    string // in the case's inbox row
		overdue bool
	}{
		{10, "acknowledge by 13 December 2026", false},
		{11, "Due soon</strong>: acknowledge by 13 December 2026", false},
		{13, "Due soon</strong>: acknowledge by 13 December 2026", false},
		{14, "Overdue</strong>: acknowledge by 13 December 2026", true},
	} {
		setDay(ts, 2026, 12, tc.day)
		hana.login(t, ts)
		_, page := get(t, hana.c, ts.URL+"/staff/")
		row := rowOf(t, page, cs.Ref)
		if !strings.Contains(row, tc.word) || (tc.day == 10 && strings.Contains(row, "Due soon")) {
			t.Errorf("on %d December the row reads %q; want %q", tc.day, row, tc.word)
		}
		if got := strings.Contains(myOverdue(t, page), cs.Ref); got != tc.overdue {
			t.Errorf("on %d December listed among hana's overdue cases: %v", tc.day, got)
		}
		if listed(storage.DeadlineOverdue) != tc.overdue || listed(storage.DeadlineDue) != (tc.day >= 11 && !tc.overdue) {
			t.Errorf("on %d December the deadline filters disagree", tc.day)
		}
	}
	// Past the day, the reporter is not promised a day in the past.
	if _, page := get(t, login(t, ts, code), ts.URL+"/case"); !strings.Contains(page, "We aimed to acknowledge your report by 13 December 2026. We are sorry") ||
		strings.Contains(page, "We aim to") {
		t.Errorf("the reporter of an overdue case is still promised a day in the past: %s", page)
	}
	if _, page := get(t, login(t, ts, code), ts.URL+"/case?lang=cy"); !strings.Contains(page, "Ein nod oedd cydnabod eich adroddiad erbyn") {
		t.Error("the reporter reading Welsh is not told that the day has passed")
	}
	// The other filters still work alongside.
	if _, page := get(t, hana.c, ts.URL+"/staff/?deadline=overdue&assigned=none"); rowOf(t, page, cs.Ref) != "" {
		t.Error("an assigned case listed as unassigned")
	}
	if _, page := get(t, hana.c, ts.URL+"/staff/?sort=deadline&status=new"); rowOf(t, page, cs.Ref) == "" {
		t.Error("sorting by deadline lost the case")
	}

	// Closing needs an outcome (the first of the seeded categories).
	closeCase(t, ts, hana.c, hana.csrf, cs.Ref, "1")
	_, page = get(t, hana.c, ts.URL+"/staff/")
	if strings.Contains(myOverdue(t, page), cs.Ref) || strings.Contains(rowOf(t, page, cs.Ref), "Overdue") || listed(storage.DeadlineOverdue) {
		t.Error("a closed case is still overdue")
	}
	if _, page = get(t, login(t, ts, code), ts.URL+"/case"); strings.Contains(page, "We aim to") {
		t.Error("the reporter of a closed case is still promised a date")
	}
}

// Acknowledging a case, by the button or by a first reply, sets its
// feedback date (three months on by default), which the reporter then
// sees; an extension needs a reason, which the audit trail keeps.
func TestAcknowledgementAndExtension(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	setDay(ts, 2026, 12, 6)
	hana := newDeadlineStaff(t, ts, "hana", storage.RoleCaseworker)
	code, byButton := submitCase(t, ts, "acknowledged by the button")
	_, byReply := submitCase(t, ts, "acknowledged by a reply")
	ctx := context.Background()

	path := "/staff/case/" + byButton.Ref
	if res, _ := hana.form(t, ts, path+"/extend", url.Values{"months": {"6"}, "reason": {"too early"}}); res.StatusCode != http.StatusBadRequest {
		t.Errorf("extending an unacknowledged case: %d", res.StatusCode)
	}
	if res, _ := hana.form(t, ts, path+"/acknowledge", url.Values{"csrf": {"forged"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("acknowledging with a forged token: %d", res.StatusCode)
	}
	setDay(ts, 2026, 12, 8)
	hana.login(t, ts)
	if _, page := get(t, hana.c, ts.URL+path); !strings.Contains(page, `action="/staff/case/`+byButton.Ref+`/acknowledge"`) {
		t.Fatal("the case page has no acknowledge button")
	}
	if res, _ := hana.form(t, ts, path+"/acknowledge", url.Values{}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("acknowledge: %d", res.StatusCode)
	}
	got, err := ts.DB.Case(ctx, byButton.ID)
	must(t, err)
	if !got.Acknowledged.Equal(day(2026, 12, 8)) || !got.FeedbackBy.Equal(day(2027, 3, 8)) {
		t.Fatalf("after acknowledgement: %+v", got.Deadlines)
	}
	if e := auditEntries(t, ts)[0]; e.Action != "case.acknowledge" || e.Target != byButton.Ref || e.Actor != "hana" {
		t.Errorf("audit: %+v", e)
	}
	_, page := get(t, login(t, ts, code), ts.URL+"/case")
	if !strings.Contains(page, "We aim to give you feedback by 8 March 2027.") || strings.Contains(page, "acknowledge your report") {
		t.Errorf("the reporter is not told when to expect feedback")
	}
	_, page = get(t, login(t, ts, code), ts.URL+"/case?lang=cy")
	if !strings.Contains(page, "Ein nod yw rhoi adborth i chi erbyn 2027-03-08.") {
		t.Errorf("the reporter reading Welsh is not told when to expect feedback")
	}

	// Extension: refused without a reason, or to an earlier day; then to
	// six months after acknowledgement, the reason in the audit trail.
	for name, v := range map[string]url.Values{
		"no reason":       {"months": {"6"}},
		"a blank reason":  {"months": {"6"}, "reason": {"   "}},
		"an earlier date": {"by": {"2027-03-01"}, "reason": {"r"}},
		"too many months": {"months": {"25"}, "reason": {"r"}},
		"a long reason":   {"months": {"6"}, "reason": {strings.Repeat("x", 501)}},
		"no date":         {"reason": {"r"}},
	} {
		if res, _ := hana.form(t, ts, path+"/extend", v); res.StatusCode != http.StatusBadRequest {
			t.Errorf("extension with %s: %d", name, res.StatusCode)
		}
	}
	if got, _ := ts.DB.Case(ctx, byButton.ID); !got.FeedbackBy.Equal(day(2027, 3, 8)) {
		t.Fatalf("a refused extension changed the date to %v", got.FeedbackBy)
	}
	const reason = "Awaiting the force's disclosure of the chat logs"
	if res, _ := hana.form(t, ts, path+"/extend", url.Values{"months": {"6"}, "reason": {reason}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("extend: %d", res.StatusCode)
	}
	if got, _ := ts.DB.Case(ctx, byButton.ID); !got.FeedbackBy.Equal(day(2027, 6, 8)) {
		t.Errorf("feedback by %v after extending to six months", got.FeedbackBy)
	}
	if e := auditEntries(t, ts)[0]; e.Action != "case.extend" || !strings.Contains(e.Detail, reason) || !strings.Contains(e.Detail, "2027-03-08 -> 2027-06-08") {
		t.Errorf("audit: %+v", e)
	}
	if res, _ := hana.form(t, ts, path+"/extend", url.Values{"by": {"2027-07-01"}, "reason": {"one more witness"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("extend to a date: %d", res.StatusCode)
	}
	if got, _ := ts.DB.Case(ctx, byButton.ID); !got.FeedbackBy.Equal(day(2027, 7, 1)) {
		t.Errorf("feedback by %v after extending to 1 July", got.FeedbackBy)
	}

	// A reply acknowledges the other case.
	rs, err := crypto.ParseRecipientsString(ts.OrgKey.Recipient().String())
	must(t, err)
	recipients, err := rs.ForCase(byReply.Recipient)
	must(t, err)
	sealed, err := crypto.SealMessage(crypto.Message{Text: "We have your report."}, recipients)
	must(t, err)
	if res, body := staffUpload(t, hana.c, ts.URL+"/staff/case/"+byReply.Ref+"/reply", hana.csrf, [][2]string{{"message", string(sealed)}}, nil); res.StatusCode != http.StatusOK {
		t.Fatalf("reply: %d %s", res.StatusCode, body)
	}
	got, err = ts.DB.Case(ctx, byReply.ID)
	must(t, err)
	if !got.Acknowledged.Equal(day(2026, 12, 8)) || !got.FeedbackBy.Equal(day(2027, 3, 8)) {
		t.Errorf("after a reply: %+v", got.Deadlines)
	}
	// A second reply leaves the dates as they are.
	setDay(ts, 2026, 12, 9)
	hana.login(t, ts)
	sealed, err = crypto.SealMessage(crypto.Message{Text: "A question."}, recipients)
	must(t, err)
	if res, _ := staffUpload(t, hana.c, ts.URL+"/staff/case/"+byReply.Ref+"/reply", hana.csrf, [][2]string{{"message", string(sealed)}}, nil); res.StatusCode != http.StatusOK {
		t.Fatalf("second reply: %d", res.StatusCode)
	}
	if again, _ := ts.DB.Case(ctx, byReply.ID); again.Deadlines != got.Deadlines {
		t.Errorf("a second reply moved the dates: %+v", again.Deadlines)
	}
}

// An administrator sets a channel's deadlines (audited); its new cases
// get them, and a caseworker cannot change them.
func TestChannelDeadlinesApplyToNewCases(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	setDay(ts, 2026, 12, 6)
	root := newDeadlineStaff(t, ts, "root", storage.RoleAdmin)
	hana := newDeadlineStaff(t, ts, "hana", storage.RoleCaseworker)
	_, before := submitCase(t, ts, "before the change")

	if _, page := get(t, root.c, ts.URL+"/staff/admin/channels/1"); !strings.Contains(page, `name="ack_days" id="ack_days" min="1" max="365" value="7"`) {
		t.Fatal("the channel page has no deadlines form with the defaults")
	}
	deadlines := url.Values{"ack_days": {"3"}, "feedback_months": {"6"}}
	if res, _ := hana.form(t, ts, "/staff/admin/channels/1/deadlines", deadlines); res.StatusCode != http.StatusForbidden {
		t.Errorf("a caseworker set deadlines: %d", res.StatusCode)
	}
	for _, bad := range []url.Values{
		{"ack_days": {"0"}, "feedback_months": {"6"}},
		{"ack_days": {"366"}, "feedback_months": {"6"}},
		{"ack_days": {"3"}, "feedback_months": {"25"}},
		{"ack_days": {"three"}, "feedback_months": {"6"}},
	} {
		if res, _ := root.form(t, ts, "/staff/admin/channels/1/deadlines", bad); res.StatusCode != http.StatusBadRequest {
			t.Errorf("deadlines %v: %d", bad, res.StatusCode)
		}
	}
	if res, _ := root.form(t, ts, "/staff/admin/channels/1/deadlines", url.Values{"csrf": {"forged"}, "ack_days": {"3"}, "feedback_months": {"6"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("deadlines with a forged token: %d", res.StatusCode)
	}
	if res, _ := root.form(t, ts, "/staff/admin/channels/1/deadlines", deadlines); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("set deadlines: %d", res.StatusCode)
	}
	if e := auditEntries(t, ts)[0]; e.Action != "channel.deadlines" || !strings.Contains(e.Detail, "acknowledge within 3 days") {
		t.Errorf("audit: %+v", e)
	}
	code, after := submitCase(t, ts, "after the change")
	if !after.AckBy.Equal(day(2026, 12, 9)) {
		t.Errorf("a new case is to be acknowledged by %v; want 9 December", after.AckBy)
	}
	if old, _ := ts.DB.Case(context.Background(), before.ID); !old.AckBy.Equal(day(2026, 12, 13)) {
		t.Errorf("an earlier case's date moved to %v", old.AckBy)
	}
	if _, page := get(t, login(t, ts, code), ts.URL+"/case"); !strings.Contains(page, "We aim to acknowledge your report by 9 December 2026.") {
		t.Error("the reporter is not told the channel's date")
	}
	if res, _ := hana.form(t, ts, "/staff/case/"+after.Ref+"/acknowledge", url.Values{}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("acknowledge: %d", res.StatusCode)
	}
	if got, _ := ts.DB.Case(context.Background(), after.ID); !got.FeedbackBy.Equal(day(2027, 6, 6)) {
		t.Errorf("feedback by %v; want six months on, 6 June 2027", got.FeedbackBy)
	}
}

// "Your overdue cases" lists the viewer's own overdue cases only: not a
// colleague's, not an unassigned one, not one of theirs still in time.
func TestYourOverdueCasesAreOnlyYours(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	setDay(ts, 2026, 12, 1)
	hana := newDeadlineStaff(t, ts, "hana", storage.RoleCaseworker)
	ivan := newDeadlineStaff(t, ts, "ivan", storage.RoleCaseworker)
	_, mine := submitCase(t, ts, "hana's")
	_, theirs := submitCase(t, ts, "ivan's")
	_, nobody := submitCase(t, ts, "no one's")
	setDay(ts, 2026, 12, 6)
	hana.login(t, ts)
	_, inTime := submitCase(t, ts, "hana's, in time")
	for ref, who := range map[string]string{mine.Ref: "hana", theirs.Ref: "ivan", inTime.Ref: "hana"} {
		if res, _ := hana.form(t, ts, "/staff/case/"+ref+"/assign", url.Values{"assignee": {strconv.FormatInt(staffID(t, ts, who), 10)}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("assign: %d", res.StatusCode)
		}
	}
	setDay(ts, 2026, 12, 9) // the first three are overdue (due 8 December)
	hana.login(t, ts)
	ivan.login(t, ts)
	_, page := get(t, hana.c, ts.URL+"/staff/")
	section := myOverdue(t, page)
	if !strings.Contains(section, mine.Ref) || !strings.Contains(section, "Overdue") {
		t.Errorf("hana's overdue case is not in her section: %s", section)
	}
	for _, ref := range []string{theirs.Ref, nobody.Ref, inTime.Ref} {
		if strings.Contains(section, ref) {
			t.Errorf("hana's section lists %s", ref)
		}
	}
	if strings.Index(page, `id="my-overdue"`) > strings.Index(page, "<h2>All cases</h2>") {
		t.Error("the overdue section is not first")
	}
	_, page = get(t, ivan.c, ts.URL+"/staff/")
	if section := myOverdue(t, page); !strings.Contains(section, theirs.Ref) || strings.Contains(section, mine.Ref) {
		t.Errorf("ivan's section: %s", section)
	}
}

// day is midnight UTC of a date.
func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
