package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/candour/candour/storage"
)

// A caseworker who declares a conflict of interest in a case no longer
// gets its inbox row, page or ciphertext; an administrator can recuse
// someone else, a caseworker cannot; the audit trail shows each recusal
// with its reason.
func TestRecusedStaffGetNothingOfTheCase(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	submit(t, ts, "PC Y shared the photos")
	ctx := context.Background()
	cases, _, err := ts.DB.ListCases(ctx, storage.CaseFilter{AllChannels: true}, storage.Cursor{}, 10)
	must(t, err)
	ref := cases[0].Ref
	cs, err := ts.DB.CaseByRef(ctx, ref)
	must(t, err)
	msgs, err := ts.DB.Messages(ctx, cs.ID)
	must(t, err)
	messageURL := ts.URL + "/staff/case/" + ref + "/message/" + strconv.FormatInt(msgs[0].ID, 10)

	admin, adminCSRF := loggedIn(t, ts, "ada", storage.RoleAdmin)
	hana, hanaCSRF := loggedIn(t, ts, "hana", storage.RoleCaseworker)
	omar, _ := loggedIn(t, ts, "omar", storage.RoleCaseworker)
	recuse := func(c *http.Client, csrf string, fields url.Values) (*http.Response, string) {
		fields.Set("csrf", csrf)
		return post(t, c, ts.URL+"/staff/case/"+ref+"/recuse", strings.NewReader(fields.Encode()), "application/x-www-form-urlencoded")
	}
	omarID := func() string {
		st, err := ts.DB.StaffByUsername(ctx, "omar")
		must(t, err)
		return strconv.FormatInt(st.ID, 10)
	}()

	// A caseworker cannot recuse someone else, nor without a reason.
	if res, _ := recuse(hana, hanaCSRF, url.Values{"staff": {omarID}, "reason": {"I say so"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("a caseworker recused a colleague: %d", res.StatusCode)
	}
	if res, _ := recuse(hana, hanaCSRF, url.Values{"reason": {"  "}}); res.StatusCode != http.StatusBadRequest {
		t.Errorf("a recusal without a reason: %d", res.StatusCode)
	}
	if res, _ := recuse(hana, "forged", url.Values{"reason": {"x"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("a recusal without the CSRF token: %d", res.StatusCode)
	}

	// Hana declares her own conflict; the administrator recuses Omar.
	if res, _ := recuse(hana, hanaCSRF, url.Values{"reason": {"PC Y is my cousin"}}); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/staff/" {
		t.Fatalf("hana's own recusal: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if res, _ := recuse(admin, adminCSRF, url.Values{"staff": {omarID}, "reason": {"served with PC Y"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the administrator's recusal of omar: %d", res.StatusCode)
	}

	for name, c := range map[string]*http.Client{"hana": hana, "omar": omar} {
		if _, inbox := get(t, c, ts.URL+"/staff/"); strings.Contains(inbox, ref) {
			t.Errorf("%s's inbox still lists the case", name)
		}
		for _, u := range []string{ts.URL + "/staff/case/" + ref, messageURL} {
			if res, body := get(t, c, u); res.StatusCode != http.StatusNotFound || strings.Contains(body, "age-encryption.org") {
				t.Errorf("%s gets %s: %d", name, u, res.StatusCode)
			}
		}
	}
	if _, page := get(t, admin, ts.URL+"/staff/case/"+ref); !strings.Contains(page, `action="/staff/case/`+ref+`/recuse"`) {
		t.Error("the case page has no form to declare a conflict of interest")
	}
	if res, _ := get(t, admin, messageURL); res.StatusCode != http.StatusOK {
		t.Errorf("the administrator lost the case: %d", res.StatusCode)
	}
	_, audit := get(t, admin, ts.URL+"/staff/admin/audit")
	for _, want := range []string{"case.recuse", "hana: PC Y is my cousin", "omar: served with PC Y"} {
		if !strings.Contains(audit, want) {
			t.Errorf("the audit trail lacks %q", want)
		}
	}
}

// An administrator excludes a staff member from a channel, with a reason:
// a member must be removed first, the excluded cannot be added (so never
// get its key), the channel page and the audit trail show it, and ending
// the exclusion lets them be added again.
func TestChannelExclusionKeepsSomeoneOutOfTheTeam(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	admin, csrf := loggedIn(t, ts, "ada", storage.RoleAdmin)
	ch := newChannel(t, ts, admin, csrf, "Kent Police")
	loggedIn(t, ts, "kim", storage.RoleCaseworker)
	kim := staffID(t, ts, "kim")
	page := ts.URL + "/staff/admin/channels/" + strconv.FormatInt(ch, 10)
	id := strconv.FormatInt(kim, 10)

	addMember(t, ts, admin, csrf, ch, kim)
	if res, body := staffPost(t, admin, page+"/exclude", url.Values{"csrf": {csrf}, "staff": {id}, "reason": {"served in Kent Police"}}); res.StatusCode != http.StatusConflict || !strings.Contains(body, "Remove them from the team first") {
		t.Fatalf("excluding a member: %d", res.StatusCode)
	}
	if res, _ := staffPost(t, admin, page+"/members/remove", url.Values{"csrf": {csrf}, "staff": {id}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("removing kim: %d", res.StatusCode)
	}
	if res, _ := staffPost(t, admin, page+"/exclude", url.Values{"csrf": {csrf}, "staff": {id}, "reason": {""}}); res.StatusCode != http.StatusBadRequest {
		t.Errorf("an exclusion without a reason: %d", res.StatusCode)
	}
	if res, _ := staffPost(t, admin, page+"/exclude", url.Values{"csrf": {"forged"}, "staff": {id}, "reason": {"x"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("an exclusion without the CSRF token: %d", res.StatusCode)
	}
	if res, _ := staffPost(t, admin, page+"/exclude", url.Values{"csrf": {csrf}, "staff": {id}, "reason": {"served in Kent Police until 2024"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("excluding kim: %d", res.StatusCode)
	}
	if res, body := staffPost(t, admin, page+"/members/add", url.Values{"csrf": {csrf}, "staff": {id}}); res.StatusCode != http.StatusConflict || !strings.Contains(body, "excluded") {
		t.Errorf("adding an excluded member: %d", res.StatusCode)
	}
	if ok, _ := ts.DB.IsChannelMember(context.Background(), ch, kim); ok {
		t.Fatal("kim is in the team")
	}
	_, shown := get(t, admin, page)
	if !strings.Contains(shown, "served in Kent Police until 2024") {
		t.Error("the channel page does not show the exclusion")
	}
	_, audit := get(t, admin, ts.URL+"/staff/admin/audit")
	if !strings.Contains(audit, "channel.exclude") || !strings.Contains(audit, "kim: served in Kent Police until 2024") {
		t.Error("the audit trail lacks the exclusion")
	}
	if res, _ := staffPost(t, admin, page+"/exclude/end", url.Values{"csrf": {csrf}, "staff": {id}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("ending the exclusion: %d", res.StatusCode)
	}
	addMember(t, ts, admin, csrf, ch, kim)
}

// A channel's members' page: a caseworker in the team sees the team and
// the grant controls, not the administrators' forms; anyone outside the
// team gets 404.
func TestChannelTeamPageIsForItsMembers(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	admin, csrf := loggedIn(t, ts, "ada", storage.RoleAdmin)
	ch := newChannel(t, ts, admin, csrf, "Kent Police")
	kim, _ := loggedIn(t, ts, "kim", storage.RoleCaseworker)
	lee, _ := loggedIn(t, ts, "lee", storage.RoleCaseworker)
	addMember(t, ts, admin, csrf, ch, staffID(t, ts, "kim"))
	team := ts.URL + "/staff/channels/" + strconv.FormatInt(ch, 10)
	res, page := get(t, kim, team)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, `id="channel-data"`) || !strings.Contains(page, "<td>kim</td>") {
		t.Fatalf("a member's channel page: %d", res.StatusCode)
	}
	for _, admin := range []string{"/members/remove", "/members/add", "/exclude", "/update"} {
		if strings.Contains(page, admin) {
			t.Errorf("a caseworker's channel page offers %s", admin)
		}
	}
	if res, _ := get(t, lee, team); res.StatusCode != http.StatusNotFound {
		t.Errorf("a non-member gets the channel's page: %d", res.StatusCode)
	}
}
