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

// A case is assigned only to someone who may see it: the case page offers
// only them, and a forged form naming anyone else changes nothing.
func TestCaseIsAssignedOnlyToThoseWhoMaySeeIt(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ctx := context.Background()
	refs := bulkCases(t, ts, 2)
	cora, csrf := loggedIn(t, ts, "cora", storage.RoleCaseworker)
	loggedIn(t, ts, "ben", storage.RoleCaseworker)
	ben := strconv.FormatInt(staffID(t, ts, "ben"), 10)
	recused, open := refs[0], refs[1]
	rc, err := ts.DB.CaseByRef(ctx, recused)
	must(t, err)
	must(t, ts.DB.RecuseFromCase(ctx, rc.ID, staffID(t, ts, "ben"), "served with them"))

	// offered is whether the case page's assignee list names ben.
	offered := func(ref string) bool {
		t.Helper()
		_, page := get(t, cora, ts.URL+"/staff/case/"+ref)
		i := strings.Index(page, `<select name="assignee" id="assignee">`)
		if i < 0 {
			t.Fatalf("no assignee list on the case page")
		}
		list := page[i : i+strings.Index(page[i:], "</select>")]
		return strings.Contains(list, `<option value="`+ben+`"`)
	}
	if offered(recused) {
		t.Error("the case page offers the case to someone recused from it")
	}
	if !offered(open) {
		t.Error("the case page does not offer the case to a member of its channel")
	}
	res, body := staffPost(t, cora, ts.URL+"/staff/case/"+recused+"/assign", url.Values{"csrf": {csrf}, "assignee": {ben}})
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "cannot see this case") {
		t.Errorf("assigning to someone recused: %d", res.StatusCode)
	}
	if a, err := ts.DB.CaseAssignee(ctx, rc.ID); err != nil || a != 0 {
		t.Errorf("the refused assignment changed the case: assignee %d, %v", a, err)
	}
	if res, _ := staffPost(t, cora, ts.URL+"/staff/case/"+open+"/assign", url.Values{"csrf": {csrf}, "assignee": {ben}}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("assigning to a member of the channel: %d", res.StatusCode)
	}
}
