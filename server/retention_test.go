package server_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

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
	cases, _, err := ts.DB.ListCases(ctx, storage.CaseFilter{AllChannels: true}, storage.Cursor{}, 10)
	must(t, err)
	refs := map[string]storage.CaseSummary{}
	for _, cs := range cases {
		msgs, _ := ts.DB.Messages(ctx, cs.ID)
		plain, err := ts.open(msgs[0].Ciphertext)
		must(t, err)
		refs[plain] = cs
	}
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
