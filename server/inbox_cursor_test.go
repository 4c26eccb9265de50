package server_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/candour/candour/storage"
)

var (
	olderRE = regexp.MustCompile(`<a href="(/staff/\?[^"]*)">(?:Older|Next page)</a>`)
	newerRE = regexp.MustCompile(`<a href="(/staff/\?[^"]*)">(?:Newer|Previous page)</a>`)
	firstRE = regexp.MustCompile(`<a href="(/staff/\?[^"]*)">First page</a>`)
	// Only the rows of the list of all cases, not of "Your overdue cases".
	listRowRE = regexp.MustCompile(`<tr data-ref="([0-9A-Z]{4}-[0-9A-Z]{4})">`)
)

// inboxWalk follows the inbox's Older links from start to the last page,
// then its Newer links back to the first, and returns the references of
// every page of both walks, in list order, and the pages seen.
func inboxWalk(t *testing.T, c *http.Client, base, start string) (forward, backward []string, pages []string) {
	t.Helper()
	refsOf := func(page string) []string {
		var refs []string
		for _, m := range listRowRE.FindAllStringSubmatch(page, -1) {
			refs = append(refs, m[1])
		}
		return refs
	}
	path := start
	var page string
	for i := 0; ; i++ {
		if i > 50 {
			t.Fatal("the Older links never end")
		}
		res, p := get(t, c, base+path)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, res.StatusCode)
		}
		page = p
		pages = append(pages, page)
		forward = append(forward, refsOf(page)...)
		m := olderRE.FindStringSubmatch(page)
		if m == nil {
			break
		}
		path = html.UnescapeString(m[1])
	}
	var back [][]string
	for i := 0; ; i++ {
		m := newerRE.FindStringSubmatch(page)
		if m == nil {
			break
		}
		if i > 50 {
			t.Fatal("the Newer links never end")
		}
		_, page = get(t, c, base+html.UnescapeString(m[1]))
		back = append(back, refsOf(page))
	}
	slices.Reverse(back)
	for _, refs := range back {
		backward = append(backward, refs...)
	}
	backward = append(backward, refsOf(pages[len(pages)-1])...)
	return forward, backward, pages
}

// The inbox pages by cursor: Older and Newer walk every case the viewer may
// see exactly once, in order, with the filters kept, and never one of
// another team or one they are recused from; a cursor the inbox did not
// make gives the first page and a message, never an error.
func TestInboxPagesByCursor(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ctx := context.Background()
	alice, bob, aliceID, other := twoTeams(t, ts)
	kdf, err := ts.DB.KDFParamSets(ctx)
	must(t, err)
	var hers, his []storage.Case
	for i := range 130 {
		channel := int64(storage.DefaultChannel)
		if i%13 == 0 {
			channel = other
		}
		cs, err := ts.DB.CreateCase(ctx, storage.NewCase{Ref: fmt.Sprintf("C%03d-%04d", i/100, i), LookupID: []byte(fmt.Sprintf("lookup-%d", i)),
			KDFID: kdf[0].ID, WrappedIdentity: []byte("age-encryption.org/v1\nw"), Recipient: "age1x", ChannelID: channel,
			First: storage.NewMessage{Ciphertext: []byte("age-encryption.org/v1\nm")}})
		must(t, err)
		if channel == other {
			his = append(his, cs)
		} else {
			hers = append(hers, cs)
		}
	}
	// Staff activity on a few: they come first among cases of their day.
	for _, cs := range []storage.Case{hers[40], hers[3], hers[77]} {
		must(t, ts.DB.SetCaseStatus(ctx, cs.ID, storage.StatusInReview))
	}
	recused := []storage.Case{hers[5], hers[60], hers[110]}
	for _, cs := range recused {
		must(t, ts.DB.RecuseFromCase(ctx, cs.ID, aliceID, "knows the reporter"))
	}
	want, _, err := ts.DB.ListCases(ctx, storage.CaseFilter{ViewerID: aliceID}, storage.Cursor{}, 1000)
	must(t, err)
	var wantRefs []string
	for _, cs := range want {
		wantRefs = append(wantRefs, cs.Ref)
	}
	if len(wantRefs) != len(hers)-len(recused) || wantRefs[0] != hers[77].Ref || wantRefs[1] != hers[3].Ref {
		t.Fatalf("alice's list: %d cases starting %v", len(wantRefs), wantRefs[:3])
	}

	forward, backward, pages := inboxWalk(t, alice, ts.URL, "/staff/")
	if !slices.Equal(forward, wantRefs) {
		t.Errorf("Older, page after page:\n%v\nwant\n%v", forward, wantRefs)
	}
	if !slices.Equal(backward, wantRefs) {
		t.Errorf("Newer, page after page back:\n%v\nwant\n%v", backward, wantRefs)
	}
	if len(pages) != 3 {
		t.Errorf("%d pages of 50 for %d cases", len(pages), len(wantRefs))
	}
	for i, page := range pages {
		if strings.Contains(page, "Page 1 of") || strings.Contains(page, "page=") {
			t.Errorf("page %d still speaks of page numbers", i+1)
		}
		if want := fmt.Sprintf("%d cases.", len(wantRefs)); !strings.Contains(page, want) {
			t.Errorf("page %d does not say %q", i+1, want)
		}
		if (i > 0) != firstRE.MatchString(page) || (i > 0) != newerRE.MatchString(page) {
			t.Errorf("page %d: a First page link %v, a Newer link %v", i+1, firstRE.MatchString(page), newerRE.MatchString(page))
		}
		for _, cs := range append(slices.Clone(his), recused...) {
			if strings.Contains(page, cs.Ref) {
				t.Errorf("alice's page %d lists %s (another team's, or recused)", i+1, cs.Ref)
			}
		}
	}

	// The filters go with the cursors.
	forward, _, _ = inboxWalk(t, alice, ts.URL, "/staff/?status=new&sort=deadline")
	byDeadline, _, err := ts.DB.ListCases(ctx, storage.CaseFilter{ViewerID: aliceID, Status: storage.StatusNew, ByDeadline: true}, storage.Cursor{}, 1000)
	must(t, err)
	var wantDeadline []string
	for _, cs := range byDeadline {
		wantDeadline = append(wantDeadline, cs.Ref)
	}
	if len(wantDeadline) <= 50 || !slices.Equal(forward, wantDeadline) {
		t.Errorf("new cases by deadline, page after page:\n%v\nwant\n%v", forward, wantDeadline)
	}

	// Bob, of the other team, walks only his.
	forward, _, _ = inboxWalk(t, bob, ts.URL, "/staff/")
	if len(forward) != len(his) {
		t.Errorf("bob's inbox lists %v", forward)
	}
	for _, cs := range hers {
		if slices.Contains(forward, cs.Ref) {
			t.Errorf("bob's inbox lists %s, of alice's team", cs.Ref)
		}
	}

	// A cursor the inbox did not make, or of the other order: the first
	// page, with a message.
	_, first := get(t, alice, ts.URL+"/staff/")
	older := html.UnescapeString(olderRE.FindStringSubmatch(first)[1])
	cursor := must1(url.ParseQuery(older[len("/staff/?"):])).Get("at")
	for _, q := range []string{"at=garbage", "at=" + url.QueryEscape(cursor) + "x", "at=%00%ff", "at=" + url.QueryEscape(cursor) + "&sort=deadline",
		"at=" + strings.Repeat("A", 5000)} {
		res, page := get(t, alice, ts.URL+"/staff/?"+q)
		if res.StatusCode != http.StatusOK || !strings.Contains(page, "The page asked for is not one this inbox links to") {
			t.Errorf("/staff/?%.40s: %d, no message", q, res.StatusCode)
		}
		if refs := listRowRE.FindAllStringSubmatch(page, -1); len(refs) != 50 || (!strings.Contains(q, "deadline") && refs[0][1] != wantRefs[0]) {
			t.Errorf("/staff/?%.40s: not the first page", q)
		}
	}

	// The summaries walk the same pages, by their next cursors.
	var walked []string
	next := ""
	for range 10 {
		u := ts.URL + "/staff/summaries"
		if next != "" {
			u += "?at=" + url.QueryEscape(next)
		}
		refs, answer := summaries(t, alice, u)
		walked = append(walked, refs...)
		next, _ = answer["next"].(string)
		if next == "" {
			break
		}
	}
	if !slices.Equal(walked, wantRefs) {
		t.Errorf("the summaries' pages:\n%v\nwant\n%v", walked, wantRefs)
	}

	// "Select all on this page" on the second page ticks that page's
	// cases, and the bulk form comes back to it.
	_, second := get(t, alice, ts.URL+older)
	selectAll := regexp.MustCompile(`<a href="([^"]+)" id="bulk-select-all">`).FindStringSubmatch(second)
	if selectAll == nil || !strings.Contains(html.UnescapeString(selectAll[1]), "at="+url.QueryEscape(cursor)) {
		t.Fatalf("select all on the second page: %v", selectAll)
	}
	_, ticked := get(t, alice, ts.URL+html.UnescapeString(selectAll[1]))
	boxes := regexp.MustCompile(`form="bulk" id="select-([^"]+)" checked>`).FindAllStringSubmatch(ticked, -1)
	if len(boxes) != 50 || boxes[0][1] != wantRefs[50] {
		t.Errorf("select all on the second page ticked %d boxes", len(boxes))
	}
	if back := regexp.MustCompile(`name="back" value="([^"]+)"`).FindStringSubmatch(second); back == nil ||
		html.UnescapeString(back[1]) != older {
		t.Errorf("the bulk form's way back %v, want %s", back, older)
	}
}

func must1[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Past storage.CountCap cases the inbox says "more than", and the search's
// data says so too, without counting them all.
func TestInboxCountStopsAtTheCap(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ctx := context.Background()
	alice, _ := loggedIn(t, ts, "alice", storage.RoleCaseworker)
	kdf, err := ts.DB.KDFParamSets(ctx)
	must(t, err)
	raw := rawDB(t, ts)
	tx, err := raw.Begin()
	must(t, err)
	now := ts.now().Unix()
	insert := ts.rawSQL(`INSERT INTO cases (id, ref, lookup_id, kdf_id, wrapped_identity, recipient, status, created_at, updated_at, ack_by_day)
			VALUES (?, ?, ?, ?, ?, 'age1x', 'new', ?, ?, ?)`)
	for i := range storage.CountCap + 5 {
		// Ids of their own: PostgreSQL's cases.id has no default (storage
		// draws random ones).
		_, err := tx.Exec(insert, int64(1)<<40+int64(i), fmt.Sprintf("M%03d-%04d", i/10000, i%10000), []byte(fmt.Sprintf("cap-%d", i)),
			kdf[0].ID, []byte{0}, now-now%86400, now-now%86400, now-now%86400+7*86400)
		must(t, err)
	}
	must(t, tx.Commit())
	_, page := get(t, alice, ts.URL+"/staff/")
	if !strings.Contains(page, "More than 10,000 cases") || !strings.Contains(page, "data-total-more") {
		t.Errorf("the inbox over %d cases does not say there are more than 10,000", storage.CountCap+5)
	}
	_, answer := summaries(t, alice, ts.URL+"/staff/summaries")
	if answer["total"] != float64(storage.CountCap) || answer["total_more"] != true {
		t.Errorf("the summaries' count: %v %v", answer["total"], answer["total_more"])
	}
	// Below the cap, the count is exact.
	_, page = get(t, alice, ts.URL+"/staff/?status=in_review")
	if !strings.Contains(page, "0 cases.") || strings.Contains(page, "More than") {
		t.Error("an empty filter does not say 0 cases")
	}
}
