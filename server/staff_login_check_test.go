package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/candour/candour/storage"
)

// TestALoginThatFailsLeavesItsCodeUnspent makes logins fail at their audit
// entry: the TOTP step or recovery code they used must not be spent, since
// spending it, opening the session and the entry commit together. A code
// that did log in stays spent (replay protection).
func TestALoginThatFailsLeavesItsCodeUnspent(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	secret, codes := enrolWithCodes(t, ts, "olga", storage.RoleCaseworker)
	if len(codes) < 2 {
		t.Fatalf("%d recovery codes", len(codes))
	}
	ctx := context.Background()
	unused := func() int {
		n, err := ts.DB.UnusedRecoveryCodes(ctx, mustStaff(t, ts, "olga").ID)
		must(t, err)
		return n
	}
	before := unused()
	ts.advance(30 * time.Second)
	for _, tc := range []struct{ name, code string }{
		{"a TOTP code", ts.code(t, secret)},
		{"a recovery code", codes[0]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			restore := refuseAuditEntries(t, ts)
			if res, _ := staffLogin(t, ts, client(t), "olga", goodPassword, tc.code); res.StatusCode != http.StatusInternalServerError {
				t.Fatalf("a login without its audit entry: %d", res.StatusCode)
			}
			restore()
			if n := unused(); n != before {
				t.Errorf("%d recovery codes left, was %d", n, before)
			}
			if res, _ := staffLogin(t, ts, client(t), "olga", goodPassword, tc.code); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("the code was spent by the login that failed: %d", res.StatusCode)
			}
			if res, _ := staffLogin(t, ts, client(t), "olga", goodPassword, tc.code); res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("the code was accepted twice: %d", res.StatusCode)
			}
			before = unused()
		})
	}
	if n := unused(); n != len(codes)-1 {
		t.Errorf("%d recovery codes left, want %d", n, len(codes)-1)
	}
}

func mustStaff(t *testing.T, ts *testServer, username string) storage.Staff {
	t.Helper()
	st, err := ts.DB.StaffByUsername(context.Background(), username)
	must(t, err)
	return st
}
