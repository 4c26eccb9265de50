package server_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

var inboxRowRE = regexp.MustCompile(`<tr data-ref="([0-9A-Z]{4}-[0-9A-Z]{4})">`)

// inboxRefs are the references of the inbox's main list, in order.
func inboxRefs(t *testing.T, c *http.Client, base string) []string {
	t.Helper()
	_, page := get(t, c, base+"/staff/")
	var out []string
	for _, m := range inboxRowRE.FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return out
}

// The issue: "the case just replied to listed last under Newest activity
// first". Cases of one day are now ordered by their last staff event.
func TestTheCaseJustRepliedToIsListedFirst(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	c, csrf := loggedIn(t, ts, "hana", storage.RoleCaseworker)
	for _, text := range []string{"one", "two", "three", "four"} {
		if res, page := sendReport(t, ts, [][2]string{{"body", text}}); res.StatusCode != http.StatusOK {
			t.Fatalf("report: %d %s", res.StatusCode, page)
		}
	}
	rs, err := crypto.ParseRecipientsString(ts.OrgKey.Recipient().String())
	must(t, err)
	for round := 0; round < 3; round++ {
		refs := inboxRefs(t, c, ts.URL)
		if len(refs) != 4 {
			t.Fatalf("the inbox lists %v", refs)
		}
		last := refs[len(refs)-1]
		cs, err := ts.DB.CaseByRef(t.Context(), last)
		must(t, err)
		recipients, err := rs.ForCase(cs.Recipient)
		must(t, err)
		sealed, err := crypto.SealMessage(crypto.Message{Text: "We have your report."}, recipients)
		must(t, err)
		if res, body := staffUpload(t, c, ts.URL+"/staff/case/"+last+"/reply", csrf, [][2]string{{"message", string(sealed)}}, nil); res.StatusCode != http.StatusOK {
			t.Fatalf("reply: %d %s", res.StatusCode, body)
		}
		if got := inboxRefs(t, c, ts.URL); got[0] != last {
			t.Fatalf("replied to %s, last of %v; the inbox then lists %v", last, refs, got)
		}
	}
	if _, page := get(t, c, ts.URL+"/staff/"); !strings.Contains(page, "the case staff acted on last comes first") {
		t.Error("the inbox does not say how cases of one day are ordered")
	}
}
