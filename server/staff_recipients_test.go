package server_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/candour/candour/crypto"
	"github.com/candour/candour/storage"
)

// newestMessage returns the first message of the most recent case.
// newestMessage returns the first message of the case submitted last: the
// case the test has not seen before (case ids and the inbox say nothing of
// the order of cases within a day, on purpose).
func newestMessage(t *testing.T, ts *testServer) []byte {
	t.Helper()
	cases, _, err := ts.DB.ListCases(context.Background(), storage.CaseFilter{AllChannels: true}, storage.Cursor{}, 1000)
	must(t, err)
	var found []byte
	for _, c := range cases {
		if ts.seen[c.ID] {
			continue
		}
		if found != nil {
			t.Fatal("more than one case submitted since the last look")
		}
		ts.seen[c.ID] = true
		msgs, err := ts.DB.Messages(context.Background(), c.ID)
		must(t, err)
		found = msgs[0].Ciphertext
	}
	if found == nil {
		t.Fatal("no new case")
	}
	return found
}

func TestAdministratorManagesOrganisationKeys(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	submit(t, ts, "before the new key")
	before := newestMessage(t, ts)
	c, csrf := loggedIn(t, ts, "root", storage.RoleAdmin)
	newKey, err := age.GenerateHybridIdentity()
	must(t, err)
	classic, err := age.GenerateX25519Identity()
	must(t, err)
	add := func(key string) (*http.Response, string) {
		return post(t, c, ts.URL+"/staff/admin/recipients/add",
			strings.NewReader(url.Values{"csrf": {csrf}, "label": {"Offline recovery key"}, "recipient": {key}}.Encode()),
			"application/x-www-form-urlencoded")
	}

	res, page := add(classic.Recipient().String())
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "cannot encrypt one file to both kinds") {
		t.Fatalf("a classic key was not refused clearly: %d", res.StatusCode)
	}
	res, page = add(newKey.String())
	if res.StatusCode != http.StatusBadRequest || strings.Contains(page, newKey.String()) {
		t.Fatalf("a secret key was accepted or echoed back: %d", res.StatusCode)
	}
	res, page = add(newKey.Recipient().String())
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "not those received before") {
		t.Fatalf("add: %d", res.StatusCode)
	}

	// Reports from now on open with the new key; earlier ones do not.
	submit(t, ts, "after the new key")
	if m, err := crypto.OpenMessage(newestMessage(t, ts), newKey); err != nil || m.Text != "after the new key" {
		t.Fatalf("a new report does not open with the added key: %v", err)
	}
	if _, err := crypto.OpenMessage(before, newKey); err == nil {
		t.Fatal("the added key opened a report received before it was added")
	}

	// Removal.
	id := regexp.MustCompile(`name="id" value="(\d+)"`).FindStringSubmatch(page)[1]
	res, _ = post(t, c, ts.URL+"/staff/admin/recipients/remove",
		strings.NewReader(url.Values{"csrf": {csrf}, "id": {id}}.Encode()), "application/x-www-form-urlencoded")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("remove: %d", res.StatusCode)
	}
	submit(t, ts, "after removal")
	afterRemoval := newestMessage(t, ts)
	if _, err := crypto.OpenMessage(afterRemoval, newKey); err == nil {
		t.Fatal("a removed key still receives new reports")
	}
	if m, err := crypto.OpenMessage(afterRemoval, ts.OrgKey); err != nil || m.Text != "after removal" {
		t.Fatalf("the file's key no longer opens new reports: %v", err)
	}
	entries, _, err := ts.DB.AuditPage(context.Background(), 0, 50)
	must(t, err)
	var actions string
	for _, e := range entries {
		actions += e.Action + " "
	}
	if !strings.Contains(actions, "recipient.add") || !strings.Contains(actions, "recipient.remove") {
		t.Errorf("key changes are not audited: %s", actions)
	}
}
