package server_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/server"
	"github.com/candour/candour/storage"
)

func TestRetentionDeletesExpiredClosedCasesOnly(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ctx := context.Background()
	for _, text := range []string{"expires", "on hold", "own period", "still open"} {
		submit(t, ts, text)
	}
	c, csrf := loggedIn(t, ts, "olga", storage.RoleAdmin)
	res, _ := post(t, c, ts.URL+"/staff/admin/retention",
		strings.NewReader(url.Values{"csrf": {csrf}, "retention_days": {"30"}}.Encode()), "application/x-www-form-urlencoded")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("default retention: %d", res.StatusCode)
	}
	refs := casesByReport(t, ts)
	set := func(ref string, form url.Values) {
		form.Set("csrf", csrf)
		res, _ := post(t, c, ts.URL+"/staff/case/"+ref+"/"+form.Get("action"), strings.NewReader(form.Encode()),
			"application/x-www-form-urlencoded")
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s on %s: %d", form.Get("action"), ref, res.StatusCode)
		}
	}
	for _, text := range []string{"expires", "on hold", "own period"} {
		closeCase(t, ts, c, csrf, refs[text].Ref, "1")
	}
	set(refs["on hold"].Ref, url.Values{"action": {"retention"}, "legal_hold": {"on"}, "retention_days": {"0"}})
	set(refs["own period"].Ref, url.Values{"action": {"retention"}, "retention_days": {"100"}})

	ts.advance(29 * 24 * time.Hour)
	if n, err := ts.Srv.RunRetention(ctx); err != nil || n != 0 {
		t.Fatalf("before the period ended: deleted %d, %v", n, err)
	}
	ts.advance(2 * 24 * time.Hour)
	if n, err := ts.Srv.RunRetention(ctx); err != nil || n != 1 {
		t.Fatalf("after 31 days: deleted %d, %v; want 1", n, err)
	}
	if _, err := ts.DB.Case(ctx, refs["expires"].ID); !errors.Is(err, storage.ErrNotFound) {
		t.Error("the expired case survived")
	}
	for _, keep := range []string{"on hold", "own period", "still open"} {
		if _, err := ts.DB.Case(ctx, refs[keep].ID); err != nil {
			t.Errorf("%q was deleted: %v", keep, err)
		}
	}
	must(t, ts.DB.VerifyAudit(ctx))
}

// TestRetentionSparesACaseHeldAfterItWasListed changes three cases between
// the moment retention reads its list of expired cases and the moment it
// deletes them: one is put on legal hold, one reopened, one given a longer
// retention. Each deletion checks again in its own transaction, so only
// the fourth, still expired, is deleted, and only its deletion is audited.
func TestRetentionSparesACaseHeldAfterItWasListed(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ctx := context.Background()
	texts := []string{"expires", "held", "reopened", "lengthened"}
	for _, text := range texts {
		submit(t, ts, text)
	}
	c, csrf := loggedIn(t, ts, "olga", storage.RoleAdmin)
	form := func(path string, v url.Values) { // as c, with csrf
		t.Helper()
		v.Set("csrf", csrf)
		res, _ := post(t, c, ts.URL+path, strings.NewReader(v.Encode()), "application/x-www-form-urlencoded")
		if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: %d", path, res.StatusCode)
		}
	}
	form("/staff/admin/retention", url.Values{"retention_days": {"30"}})
	refs := casesByReport(t, ts)
	for _, text := range texts {
		closeCase(t, ts, c, csrf, refs[text].Ref, "1")
	}
	ts.advance(31 * 24 * time.Hour)
	if expired, err := ts.DB.ExpiredCases(ctx); err != nil || len(expired) != 4 {
		t.Fatalf("expired cases: %d, %v; want all 4", len(expired), err)
	}

	// A month on, olga's session has ended: another administrator acts.
	c, csrf = loggedIn(t, ts, "pia", storage.RoleAdmin)
	calls := 0
	server.OnRetentionListed(ts.Srv, func() {
		calls++
		form("/staff/case/"+refs["held"].Ref+"/retention", url.Values{"legal_hold": {"on"}, "retention_days": {"0"}})
		form("/staff/case/"+refs["reopened"].Ref+"/reopen", url.Values{})
		form("/staff/case/"+refs["lengthened"].Ref+"/retention", url.Values{"retention_days": {"100"}})
	})
	if n, err := ts.Srv.RunRetention(ctx); err != nil || n != 1 {
		t.Fatalf("retention deleted %d, %v; want 1", n, err)
	}
	if calls != 1 {
		t.Fatalf("the hook ran %d times", calls)
	}
	if _, err := ts.DB.Case(ctx, refs["expires"].ID); !errors.Is(err, storage.ErrNotFound) {
		t.Error("the case still expired survived")
	}
	for _, keep := range []string{"held", "reopened", "lengthened"} {
		if _, err := ts.DB.Case(ctx, refs[keep].ID); err != nil {
			t.Errorf("%q, changed after retention listed it, was deleted: %v", keep, err)
		}
	}
	entries, _, err := ts.DB.AuditPage(ctx, 0, 1000)
	must(t, err)
	var deleted []string
	for _, e := range entries {
		if e.Action == "case.deleted" {
			deleted = append(deleted, e.Target)
		}
	}
	if len(deleted) != 1 || deleted[0] != refs["expires"].Ref {
		t.Errorf("case.deleted entries for %v, want only %s", deleted, refs["expires"].Ref)
	}
	must(t, ts.DB.VerifyAudit(ctx))
}

// casesByReport lists ts's cases (at most 10) by the text of their report.
func casesByReport(t *testing.T, ts *testServer) map[string]storage.CaseSummary {
	t.Helper()
	ctx := context.Background()
	cases, _, err := ts.DB.ListCases(ctx, storage.CaseFilter{AllChannels: true}, storage.Cursor{}, 10)
	must(t, err)
	refs := map[string]storage.CaseSummary{}
	for _, cs := range cases {
		msgs, err := ts.DB.Messages(ctx, cs.ID)
		must(t, err)
		plain, err := ts.open(msgs[0].Ciphertext)
		must(t, err)
		refs[plain] = cs
	}
	return refs
}
