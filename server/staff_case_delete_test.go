package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/candour/candour/storage"
)

func TestAnAdministratorDeletesACaseByTypingItsReference(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ctx := context.Background()
	evidence := make([]byte, 2<<20)
	rand.Read(evidence)
	submit(t, ts, "to be deleted", file{name: "e.bin", ctype: "application/octet-stream", r: bytes.NewReader(evidence)})
	submit(t, ts, "to be kept")
	before := counts(t, ts.DB)

	cases, _, err := ts.DB.ListCases(ctx, storage.CaseFilter{AllChannels: true}, storage.Cursor{}, 10)
	must(t, err)
	var target, other storage.CaseSummary
	for _, cs := range cases {
		msgs, _ := ts.DB.Messages(ctx, cs.ID)
		if len(msgs[0].Attachments) == 1 {
			target = cs
		} else {
			other = cs
		}
	}
	ref := target.Ref
	admin, csrf := loggedIn(t, ts, "ada", storage.RoleAdmin)
	fakeAge := "age-encryption.org/v1\n-> X25519 test\n--- mac\nciphertext"
	if res, _ := staffUpload(t, admin, ts.URL+"/staff/case/"+ref+"/note", csrf, [][2]string{{"note", fakeAge}}, nil); res.StatusCode != http.StatusOK {
		t.Fatalf("note: %d", res.StatusCode)
	}
	deleteWith := func(c *http.Client, v url.Values) (*http.Response, string) {
		return post(t, c, ts.URL+"/staff/case/"+ref+"/delete", strings.NewReader(v.Encode()), "application/x-www-form-urlencoded")
	}
	unchanged := func(t *testing.T) {
		t.Helper()
		if got := counts(t, ts.DB); got != before {
			t.Fatalf("rows %v, want %v", got, before)
		}
		if notes, _ := ts.DB.Notes(ctx, target.ID); len(notes) != 1 {
			t.Fatal("the note is gone")
		}
		if n := auditCount(t, ts, "case.deleted"); n != 0 {
			t.Fatalf("%d case.deleted entries", n)
		}
	}

	t.Run("a caseworker cannot delete", func(t *testing.T) {
		cw, cwCSRF := loggedIn(t, ts, "cid", storage.RoleCaseworker)
		if res, page := get(t, cw, ts.URL+"/staff/case/"+ref); res.StatusCode != http.StatusOK || strings.Contains(page, "/delete") {
			t.Fatalf("a caseworker's case page: %d, or it offers deletion", res.StatusCode)
		}
		if res, _ := get(t, cw, ts.URL+"/staff/case/"+ref+"/delete"); res.StatusCode != http.StatusForbidden {
			t.Fatalf("GET: %d", res.StatusCode)
		}
		if res, _ := deleteWith(cw, url.Values{"csrf": {cwCSRF}, "confirm": {ref}}); res.StatusCode != http.StatusForbidden {
			t.Fatalf("POST: %d", res.StatusCode)
		}
		unchanged(t)
	})
	t.Run("without the CSRF token nothing is deleted", func(t *testing.T) {
		if res, _ := deleteWith(admin, url.Values{"confirm": {ref}}); res.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d", res.StatusCode)
		}
		unchanged(t)
	})
	for _, typed := range []string{"", "AAAA-AAAA", other.Ref} {
		t.Run("typing "+typed+" deletes nothing", func(t *testing.T) {
			res, page := deleteWith(admin, url.Values{"csrf": {csrf}, "confirm": {typed}})
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "Nothing was deleted") {
				t.Fatalf("status %d", res.StatusCode)
			}
			unchanged(t)
		})
	}

	res, page := get(t, admin, ts.URL+"/staff/case/"+ref)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, `href="/staff/case/`+ref+`/delete"`) {
		t.Fatal("the administrator's case page offers no deletion")
	}
	res, page = get(t, admin, ts.URL+"/staff/case/"+ref+"/delete")
	if res.StatusCode != http.StatusOK || !strings.Contains(page, `name="confirm"`) {
		t.Fatalf("the confirmation page: %d", res.StatusCode)
	}
	res, _ = deleteWith(admin, url.Values{"csrf": {csrf}, "confirm": {strings.ToLower(ref)}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/staff/?deleted=1" {
		t.Fatalf("delete: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if _, err := ts.DB.Case(ctx, target.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatal("the case survived")
	}
	// Only the other case is left: one case, one message, no attachments
	// or chunks, and no notes.
	if got := counts(t, ts.DB); got != [4]int64{1, 1, 0, 0} {
		t.Fatalf("rows after deletion = %v, want only the other case", got)
	}
	if notes, _ := ts.DB.Notes(ctx, target.ID); len(notes) != 0 {
		t.Fatal("the note survived")
	}
	if e := lastAudit(t, ts, "case.deleted"); e.Target != ref || e.Actor != "ada" || strings.Contains(e.Detail, "to be deleted") {
		t.Fatalf("audit entry %+v", e)
	}
	if _, inbox := get(t, admin, ts.URL+"/staff/?deleted=1"); !strings.Contains(inbox, "The case was deleted for good") {
		t.Fatal("no notice in the inbox")
	}
	must(t, ts.DB.VerifyAudit(ctx))
}
