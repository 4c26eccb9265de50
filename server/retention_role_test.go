package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/candour/candour/storage"
)

// Lifting a legal hold, or shortening retention below the organisation's
// default, is an administrator's decision. A caseworker could do both.
func TestOnlyAnAdministratorLiftsAHoldOrShortensRetention(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ctx := context.Background()
	submit(t, ts, "a report")
	admin, adminCSRF := loggedIn(t, ts, "olga", storage.RoleAdmin)
	res, _ := post(t, admin, ts.URL+"/staff/admin/retention",
		strings.NewReader(url.Values{"csrf": {adminCSRF}, "retention_days": {"30"}}.Encode()), "application/x-www-form-urlencoded")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("default retention: %d", res.StatusCode)
	}
	worker, workerCSRF := loggedIn(t, ts, "wes", storage.RoleCaseworker)
	cases, _, err := ts.DB.ListCases(ctx, storage.CaseFilter{AllChannels: true}, storage.Cursor{}, 10)
	must(t, err)
	cs := cases[0]

	audits := func() int {
		_, n, err := ts.DB.AuditPage(ctx, 0, 1)
		must(t, err)
		return n
	}
	retention := func() storage.Retention {
		r, err := ts.DB.CaseRetention(ctx, cs.ID)
		must(t, err)
		return r
	}
	set := func(c *http.Client, csrf string, hold bool, days string) (*http.Response, string) {
		form := url.Values{"csrf": {csrf}, "retention_days": {days}}
		if hold {
			form.Set("legal_hold", "on")
		}
		return post(t, c, ts.URL+"/staff/case/"+cs.Ref+"/retention", strings.NewReader(form.Encode()),
			"application/x-www-form-urlencoded")
	}
	allowed := func(c *http.Client, csrf string, hold bool, days string, want storage.Retention) {
		t.Helper()
		if res, page := set(c, csrf, hold, days); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("hold %v, %s days: status %d: %s", hold, days, res.StatusCode, page)
		}
		if got := retention(); got.LegalHold != want.LegalHold || got.RetentionDays != want.RetentionDays {
			t.Fatalf("hold %v, %s days: retention %+v, want %+v", hold, days, got, want)
		}
	}
	refused := func(hold bool, days string) {
		t.Helper()
		before, n := retention(), audits()
		res, page := set(worker, workerCSRF, hold, days)
		if res.StatusCode != http.StatusForbidden || !strings.Contains(page, "Only an administrator can") ||
			!strings.Contains(page, "Nothing was changed") {
			t.Fatalf("caseworker, hold %v, %s days: status %d: %s", hold, days, res.StatusCode, page)
		}
		if retention() != before || audits() != n {
			t.Fatalf("caseworker, hold %v, %s days: a refusal changed the case or the audit trail", hold, days)
		}
	}

	// A caseworker may set a hold and lengthen retention.
	allowed(worker, workerCSRF, true, "0", storage.Retention{LegalHold: true})
	allowed(worker, workerCSRF, true, "60", storage.Retention{LegalHold: true, RetentionDays: 60})
	// Back to the default is still not shorter than the default.
	allowed(worker, workerCSRF, true, "0", storage.Retention{LegalHold: true})
	// Not lift the hold, nor shorten retention below the default.
	refused(false, "0")
	refused(true, "1")
	refused(true, "29")

	// The case page says so, and keeps the hold in the caseworker's form.
	_, page := get(t, worker, ts.URL+"/staff/case/"+cs.Ref)
	if !strings.Contains(page, `<input type="hidden" name="legal_hold" value="on">`) || !strings.Contains(page, "needs an administrator") {
		t.Errorf("the caseworker's case page offers what they cannot do: %s", page)
	}
	_, page = get(t, admin, ts.URL+"/staff/case/"+cs.Ref)
	if strings.Contains(page, "needs an administrator") || strings.Contains(page, "disabled") && strings.Contains(page, `id="legal_hold" checked disabled`) {
		t.Errorf("the administrator's case page limits them: %s", page)
	}

	// An administrator may do both.
	allowed(admin, adminCSRF, false, "1", storage.Retention{RetentionDays: 1})
	// A caseworker saving the form unchanged is not refused; lengthening is allowed.
	allowed(worker, workerCSRF, false, "1", storage.Retention{RetentionDays: 1})
	allowed(worker, workerCSRF, false, "7", storage.Retention{RetentionDays: 7})
}
