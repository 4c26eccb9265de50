package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/candour/candour/storage"
)

func TestStaffRegistersTheirOwnKey(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ctx := context.Background()
	c, csrf := loggedIn(t, ts, "erin", storage.RoleCaseworker)
	setKey := func(token, key string) (*http.Response, string) {
		return post(t, c, ts.URL+"/staff/key", strings.NewReader(url.Values{"csrf": {token}, "recipient": {key}}.Encode()),
			"application/x-www-form-urlencoded")
	}
	stored := func() string {
		st, err := ts.DB.StaffByUsername(ctx, "erin")
		must(t, err)
		return st.AgeRecipient
	}

	res, page := get(t, c, ts.URL+"/staff/key")
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "You have not registered a key yet") || !strings.Contains(page, `action="/staff/key"`) {
		t.Fatalf("GET /staff/key: %d", res.StatusCode)
	}
	if _, inbox := get(t, c, ts.URL+"/staff/"); !strings.Contains(inbox, `href="/staff/key"`) {
		t.Error("the staff navigation has no link to /staff/key")
	}

	classic, err := age.GenerateX25519Identity()
	must(t, err)
	pq, err := age.GenerateHybridIdentity()
	must(t, err)

	// Secret keys, of either kind and however cased, are refused and never
	// shown or logged.
	for name, secret := range map[string]string{
		"classic":    classic.String(),
		"pq":         pq.String(),
		"lower case": strings.ToLower(classic.String()),
		"key file":   "# created: 2026-01-01\n# public key: " + classic.Recipient().String() + "\n" + classic.String() + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			res, page := setKey(csrf, secret)
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "That is a secret key: never paste it anywhere.") {
				t.Fatalf("secret key: %d", res.StatusCode)
			}
			body := strings.TrimSpace(secret[strings.Index(strings.ToUpper(secret), "AGE-SECRET-KEY"):])
			tail := body[len(body)-20:]
			for where, text := range map[string]string{"page": page, "log": ts.Log.String()} {
				if strings.Contains(strings.ToUpper(text), strings.ToUpper(tail)) {
					t.Errorf("the %s holds the secret key", where)
				}
			}
			if stored() != "" {
				t.Fatal("a key was stored")
			}
		})
	}
	for _, garbage := range []string{"", "hello", "age1notakey", classic.Recipient().String() + "\n" + pq.Recipient().String()} {
		if res, page := setKey(csrf, garbage); res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "That is not an age public key") {
			t.Errorf("garbage %q: %d", garbage, res.StatusCode)
		}
	}
	if stored() != "" {
		t.Fatal("garbage was stored")
	}
	// Without a valid CSRF token nothing changes.
	for _, token := range []string{"", "forged"} {
		if res, _ := setKey(token, classic.Recipient().String()); res.StatusCode != http.StatusForbidden {
			t.Errorf("csrf %q: %d", token, res.StatusCode)
		}
	}
	if stored() != "" {
		t.Fatal("a key was stored without a CSRF token")
	}

	// A classic key, then a post-quantum one replacing it.
	for _, key := range []string{classic.Recipient().String(), pq.Recipient().String()} {
		res, page := setKey(csrf, "  "+key+"\n")
		if res.StatusCode != http.StatusOK || !strings.Contains(page, "Your key is saved") {
			t.Fatalf("set: %d", res.StatusCode)
		}
		if stored() != key {
			t.Fatal("the key was not stored")
		}
		if _, page := get(t, c, ts.URL+"/staff/key"); !strings.Contains(page, `<code id="current-key">`+key+`</code>`) {
			t.Fatal("the page does not show the current key")
		}
	}
	entries, _, err := ts.DB.AuditPage(ctx, 0, 100)
	must(t, err)
	n := 0
	for _, e := range entries {
		if e.Action == "staff.key.set" {
			n++
			if e.Actor != "erin" || !strings.HasSuffix(e.Detail, "…") || !strings.HasPrefix(e.Detail, "age1") || len(e.Detail) != 20+len("…") {
				t.Errorf("audit entry %+v", e)
			}
		}
	}
	if n != 2 {
		t.Fatalf("%d staff.key.set entries, want 2", n)
	}
	must(t, ts.DB.VerifyAudit(ctx))
	if res, _ := get(t, client(t), ts.URL+"/staff/key"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("GET /staff/key without a session: %d", res.StatusCode)
	}
}
