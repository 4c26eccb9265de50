package storage_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	// Registers the "sqlite3" driver for the raw connections tests use to
	// inspect and tamper with the file behind the package's back.
	_ "github.com/mattn/go-sqlite3"

	"github.com/candour/candour/internal/concurrently"
	"github.com/candour/candour/storage"
)

var staffNow = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// openRaw opens the database file directly, bypassing the storage package.
func openRaw(t *testing.T, path string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: path}).EscapedPath()+"?_busy_timeout=10000")
	if err != nil {
		t.Fatalf("opening %s directly: %v", path, err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

func mustCreateStaff(t *testing.T, db *storage.DB, username, role string) storage.Staff {
	t.Helper()
	s, err := db.CreateStaff(context.Background(), username, role)
	if err != nil {
		t.Fatalf("CreateStaff(%q, %q): %v", username, role, err)
	}
	return s
}

func mustStaff(t *testing.T, db *storage.DB, id int64) storage.Staff {
	t.Helper()
	s, err := db.StaffByID(context.Background(), id)
	if err != nil {
		t.Fatalf("StaffByID(%d): %v", id, err)
	}
	return s
}

func hashOf(label string) []byte { return []byte("hash:" + label) }

// mustEnrol issues a link for s and completes enrolment with it, accepting
// TOTP step `step` (the link is named after both, so use a new step to
// enrol the same person again) and giving recovery codes rc-<name>-1..3.
func mustEnrol(t *testing.T, db *storage.DB, s storage.Staff, step int64) storage.Staff {
	t.Helper()
	ctx := context.Background()
	token := hashOf(fmt.Sprintf("enrol-%s-%d", s.Username, step))
	if err := db.CreateEnrolment(ctx, s.ID, token, db.Now().Add(time.Hour)); err != nil {
		t.Fatalf("CreateEnrolment: %v", err)
	}
	var codes [][]byte
	for i := 1; i <= 3; i++ {
		codes = append(codes, hashOf(fmt.Sprintf("rc-%s-%d", s.Username, i)))
	}
	got, err := db.CompleteEnrolment(ctx, token, "pw-"+s.Username, "TOTPSECRET"+s.Username, step, codes)
	if err != nil {
		t.Fatalf("CompleteEnrolment: %v", err)
	}
	return got
}

func mustSession(t *testing.T, db *storage.DB, staffID int64, label string, created, seen time.Time) storage.StaffSession {
	t.Helper()
	s := storage.StaffSession{TokenHash: hashOf("session-" + label), StaffID: staffID, CSRF: "csrf-" + label, CreatedAt: created, LastSeen: seen}
	if err := db.CreateStaffSession(context.Background(), s); err != nil {
		t.Fatalf("CreateStaffSession(%s): %v", label, err)
	}
	return s
}

func sessionExists(t *testing.T, db *storage.DB, tokenHash []byte) bool {
	t.Helper()
	_, err := db.StaffSessionByToken(context.Background(), tokenHash)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("StaffSessionByToken: %v", err)
	}
	return err == nil
}

func TestCreateStaff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a new account keeps its username as typed, is not enrolled, and is found by id and by username in any case", func(t *testing.T) {
		db := mustOpenDB(t)
		db.Now = fixedClock(staffNow)
		created := mustCreateStaff(t, db, "Alice", storage.RoleAdmin)
		want := storage.Staff{ID: created.ID, Username: "Alice", Role: storage.RoleAdmin, CreatedAt: staffNow}
		if created != want {
			t.Errorf("CreateStaff = %+v, want %+v", created, want)
		}
		if created.Enrolled() {
			t.Error("a new account reports Enrolled() = true")
		}
		if got := mustStaff(t, db, created.ID); got != want {
			t.Errorf("StaffByID = %+v, want %+v", got, want)
		}
		for _, name := range []string{"Alice", "alice", "ALICE"} {
			got, err := db.StaffByUsername(ctx, name)
			if err != nil || got != want {
				t.Errorf("StaffByUsername(%q) = %+v, %v; want %+v", name, got, err, want)
			}
		}
	})

	t.Run("an unknown id or username is ErrNotFound", func(t *testing.T) {
		db := mustOpenDB(t)
		s := mustCreateStaff(t, db, "bob", storage.RoleCaseworker)
		if _, err := db.StaffByID(ctx, s.ID+1); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("StaffByID(unknown): err = %v, want ErrNotFound", err)
		}
		if _, err := db.StaffByUsername(ctx, "bobby"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("StaffByUsername(unknown): err = %v, want ErrNotFound", err)
		}
	})

	for _, tc := range []struct{ name, taken, again string }{
		{"the same username twice is ErrDuplicate", "carol", "carol"},
		{"a username differing only in upper case is ErrDuplicate", "carol", "CAROL"},
		{"a username differing only in mixed case is ErrDuplicate", "Carol", "cARoL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := mustOpenDB(t)
			mustCreateStaff(t, db, tc.taken, storage.RoleCaseworker)
			_, err := db.CreateStaff(ctx, tc.again, storage.RoleAdmin)
			if !errors.Is(err, storage.ErrDuplicate) {
				t.Fatalf("CreateStaff(%q) after %q: err = %v, want ErrDuplicate", tc.again, tc.taken, err)
			}
			if n, err := db.CountStaff(ctx); err != nil || n != 1 {
				t.Errorf("CountStaff = %d, %v; want 1", n, err)
			}
		})
	}

	for _, tc := range []struct{ name, username, role string }{
		{"an unknown role is refused", "dave", "root"},
		{"a role in the wrong case is refused", "dave", "Admin"},
		{"an empty role is refused", "dave", ""},
		{"an empty username is refused", "", storage.RoleAdmin},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := mustOpenDB(t)
			if _, err := db.CreateStaff(ctx, tc.username, tc.role); err == nil {
				t.Fatalf("CreateStaff(%q, %q) succeeded, want an error", tc.username, tc.role)
			}
			if n, err := db.CountStaff(ctx); err != nil || n != 0 {
				t.Errorf("CountStaff = %d, %v; want 0", n, err)
			}
		})
	}

	t.Run("ListStaff orders by username ignoring case, and CountStaff counts everyone, disabled too", func(t *testing.T) {
		db := mustOpenDB(t)
		for _, name := range []string{"carol", "Bob", "alice"} {
			mustCreateStaff(t, db, name, storage.RoleCaseworker)
		}
		bob, _ := db.StaffByUsername(ctx, "bob")
		if err := db.SetStaffDisabled(ctx, bob.ID, true); err != nil {
			t.Fatalf("SetStaffDisabled: %v", err)
		}
		list, err := db.ListStaff(ctx)
		if err != nil {
			t.Fatalf("ListStaff: %v", err)
		}
		var names []string
		for _, s := range list {
			names = append(names, s.Username)
		}
		if want := []string{"alice", "Bob", "carol"}; !slices.Equal(names, want) {
			t.Errorf("ListStaff usernames = %q, want %q", names, want)
		}
		if !list[1].Disabled {
			t.Errorf("ListStaff shows Bob as enabled after SetStaffDisabled")
		}
		if n, err := db.CountStaff(ctx); err != nil || n != 3 {
			t.Errorf("CountStaff = %d, %v; want 3", n, err)
		}
	})

	// The order is NOCASE's on both engines: bytes, with ASCII letters in
	// lower case. A language's order (the ICU collation of PostgreSQL's
	// nocase) would put '_' before '-', '.' and the digits.
	t.Run("ListStaff, exclusions and recusals order punctuation and digits by their bytes", func(t *testing.T) {
		db := mustOpenDB(t)
		want := []string{"a-b", "a.b", "a1b", "A2b", "a_b", "ab", "Ab.c"}
		for _, i := range []int{4, 6, 1, 3, 0, 5, 2} {
			mustCreateStaff(t, db, want[i], storage.RoleCaseworker)
		}
		list, err := db.ListStaff(ctx)
		if err != nil {
			t.Fatalf("ListStaff: %v", err)
		}
		var names []string
		for _, s := range list {
			names = append(names, s.Username)
		}
		if !slices.Equal(names, want) {
			t.Errorf("ListStaff usernames = %q, want %q", names, want)
		}
		c := mustCreateCase(t, db, "recused")
		for _, s := range list {
			if err := db.RecuseFromCase(ctx, c.ID, s.ID, "conflict"); err != nil {
				t.Fatal(err)
			}
		}
		recusals, err := db.CaseRecusals(ctx, c.ID)
		if err != nil {
			t.Fatalf("CaseRecusals: %v", err)
		}
		names = names[:0]
		for _, r := range recusals {
			names = append(names, r.Username)
		}
		if !slices.Equal(names, want) {
			t.Errorf("CaseRecusals usernames = %q, want %q", names, want)
		}
	})
}

func TestEnrolment(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a valid token names its staff member, CompleteEnrolment spends it, and a second use is ErrNotFound", func(t *testing.T) {
		db := mustOpenDB(t)
		db.Now = fixedClock(staffNow)
		s := mustCreateStaff(t, db, "erin", storage.RoleCaseworker)
		token := hashOf("link")
		if err := db.CreateEnrolment(ctx, s.ID, token, staffNow.Add(time.Hour)); err != nil {
			t.Fatalf("CreateEnrolment: %v", err)
		}
		got, err := db.EnrolmentStaff(ctx, token)
		if err != nil || got.ID != s.ID {
			t.Fatalf("EnrolmentStaff = %+v, %v; want staff %d", got, err, s.ID)
		}
		done, err := db.CompleteEnrolment(ctx, token, "pwhash", "SECRET", 5, [][]byte{hashOf("rc1"), hashOf("rc2")})
		if err != nil {
			t.Fatalf("CompleteEnrolment: %v", err)
		}
		if !done.Enrolled() || done.PasswordHash != "pwhash" || done.TOTPSecret != "SECRET" || done.TOTPLastStep != 5 {
			t.Errorf("CompleteEnrolment returned %+v, want enrolled with pwhash, SECRET, step 5", done)
		}
		if stored := mustStaff(t, db, s.ID); stored != done {
			t.Errorf("stored staff %+v differs from the returned %+v", stored, done)
		}
		if _, err := db.EnrolmentStaff(ctx, token); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("EnrolmentStaff after use: err = %v, want ErrNotFound", err)
		}
		if _, err := db.CompleteEnrolment(ctx, token, "other", "OTHER", 9, nil); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("second CompleteEnrolment: err = %v, want ErrNotFound", err)
		}
		if after := mustStaff(t, db, s.ID); after.PasswordHash != "pwhash" || after.TOTPSecret != "SECRET" {
			t.Errorf("a refused second use changed the credentials: %+v", after)
		}
	})

	for _, tc := range []struct {
		name    string
		expires time.Duration // relative to db.Now() at check time
		valid   bool
	}{
		{"a token expiring a second from now is still valid", time.Second, true},
		{"a token expiring exactly now is refused", 0, false},
		{"a token that expired a second ago is refused", -time.Second, false},
		{"a token that expired a day ago is refused", -24 * time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := mustOpenDB(t)
			db.Now = fixedClock(staffNow.Add(-48 * time.Hour)) // issued well before
			s := mustCreateStaff(t, db, "frank", storage.RoleCaseworker)
			token := hashOf("expiring")
			if err := db.CreateEnrolment(ctx, s.ID, token, staffNow.Add(tc.expires)); err != nil {
				t.Fatalf("CreateEnrolment: %v", err)
			}
			db.Now = fixedClock(staffNow)
			_, err := db.EnrolmentStaff(ctx, token)
			if tc.valid && err != nil {
				t.Errorf("EnrolmentStaff: %v, want valid", err)
			}
			if !tc.valid && !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("EnrolmentStaff: err = %v, want ErrNotFound", err)
			}
			_, err = db.CompleteEnrolment(ctx, token, "pw", "SECRET", 1, nil)
			if tc.valid != (err == nil) || (!tc.valid && !errors.Is(err, storage.ErrNotFound)) {
				t.Errorf("CompleteEnrolment: err = %v, want valid=%t", err, tc.valid)
			}
			if got := mustStaff(t, db, s.ID).Enrolled(); got != tc.valid {
				t.Errorf("Enrolled() = %t after CompleteEnrolment, want %t", got, tc.valid)
			}
		})
	}

	t.Run("a new link voids the earlier unused one", func(t *testing.T) {
		db := mustOpenDB(t)
		s := mustCreateStaff(t, db, "gina", storage.RoleAdmin)
		for _, tok := range []string{"first", "second"} {
			if err := db.CreateEnrolment(ctx, s.ID, hashOf(tok), db.Now().Add(time.Hour)); err != nil {
				t.Fatalf("CreateEnrolment(%s): %v", tok, err)
			}
		}
		if _, err := db.EnrolmentStaff(ctx, hashOf("first")); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("first link after a second was issued: err = %v, want ErrNotFound", err)
		}
		if _, err := db.EnrolmentStaff(ctx, hashOf("second")); err != nil {
			t.Errorf("second link: %v", err)
		}
	})

	t.Run("a link for an unknown staff id is ErrNotFound", func(t *testing.T) {
		db := mustOpenDB(t)
		if err := db.CreateEnrolment(ctx, 42, hashOf("x"), db.Now().Add(time.Hour)); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("CreateEnrolment(unknown): err = %v, want ErrNotFound", err)
		}
	})

	t.Run("disabling an account voids its link, and it stays void after re-enabling", func(t *testing.T) {
		db := mustOpenDB(t)
		s := mustCreateStaff(t, db, "hank", storage.RoleCaseworker)
		token := hashOf("hank-link")
		if err := db.CreateEnrolment(ctx, s.ID, token, db.Now().Add(time.Hour)); err != nil {
			t.Fatalf("CreateEnrolment: %v", err)
		}
		for _, disabled := range []bool{true, false} {
			if err := db.SetStaffDisabled(ctx, s.ID, disabled); err != nil {
				t.Fatalf("SetStaffDisabled(%t): %v", disabled, err)
			}
			if _, err := db.EnrolmentStaff(ctx, token); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("disabled=%t: EnrolmentStaff: err = %v, want ErrNotFound", disabled, err)
			}
		}
	})

	t.Run("CompleteEnrolment replaces recovery codes, resets failed logins and ends existing sessions", func(t *testing.T) {
		db := mustOpenDB(t)
		s := mustEnrol(t, db, mustCreateStaff(t, db, "ivy", storage.RoleCaseworker), 10)
		sess := mustSession(t, db, s.ID, "ivy", time.Time{}, time.Time{})
		if _, err := db.RecordLoginFailure(ctx, s.ID, staffNow.Add(time.Hour)); err != nil {
			t.Fatalf("RecordLoginFailure: %v", err)
		}
		if err := db.CreateEnrolment(ctx, s.ID, hashOf("again"), db.Now().Add(time.Hour)); err != nil {
			t.Fatalf("CreateEnrolment: %v", err)
		}
		got, err := db.CompleteEnrolment(ctx, hashOf("again"), "pw2", "SECRET2", 20, [][]byte{hashOf("new-rc")})
		if err != nil {
			t.Fatalf("CompleteEnrolment: %v", err)
		}
		if got.FailedLogins != 0 || !got.LockedUntil.IsZero() {
			t.Errorf("after enrolment FailedLogins=%d LockedUntil=%v, want 0 and zero", got.FailedLogins, got.LockedUntil)
		}
		if n, _ := db.UnusedRecoveryCodes(ctx, s.ID); n != 1 {
			t.Errorf("UnusedRecoveryCodes = %d, want 1 (the old three replaced)", n)
		}
		if ok, _ := db.UseRecoveryCode(ctx, s.ID, hashOf("rc-ivy-1")); ok {
			t.Error("an old recovery code still works after re-enrolment")
		}
		if sessionExists(t, db, sess.TokenHash) {
			t.Error("a session from before re-enrolment survived")
		}
	})

	t.Run("CompleteEnrolment with repeated recovery hashes fails and changes nothing", func(t *testing.T) {
		db := mustOpenDB(t)
		s := mustCreateStaff(t, db, "jack", storage.RoleCaseworker)
		if err := db.CreateEnrolment(ctx, s.ID, hashOf("j"), db.Now().Add(time.Hour)); err != nil {
			t.Fatalf("CreateEnrolment: %v", err)
		}
		_, err := db.CompleteEnrolment(ctx, hashOf("j"), "pw", "SECRET", 1, [][]byte{hashOf("same"), hashOf("same")})
		if !errors.Is(err, storage.ErrDuplicate) {
			t.Fatalf("CompleteEnrolment: err = %v, want ErrDuplicate", err)
		}
		if mustStaff(t, db, s.ID).Enrolled() {
			t.Error("a failed CompleteEnrolment left the account enrolled")
		}
		if _, err := db.EnrolmentStaff(ctx, hashOf("j")); err != nil {
			t.Errorf("a failed CompleteEnrolment spent the token: %v", err)
		}
	})
}

func TestAcceptTOTPStep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("each step is accepted once and only if newer than the last, starting from enrolment's step", func(t *testing.T) {
		db := mustOpenDB(t)
		s := mustEnrol(t, db, mustCreateStaff(t, db, "kim", storage.RoleCaseworker), 1000)
		for _, tc := range []struct {
			what string
			step int64
			want bool
		}{
			{"the step that confirmed enrolment is refused", 1000, false},
			{"an older step is refused", 999, false},
			{"a newer step is accepted", 1001, true},
			{"the same step again is refused", 1001, false},
			{"a step that skips ahead is accepted", 1003, true},
			{"a step between the last two is refused", 1002, false},
		} {
			got, err := db.AcceptTOTPStep(ctx, s.ID, tc.step)
			if err != nil || got != tc.want {
				t.Errorf("%s: AcceptTOTPStep(%d) = %t, %v; want %t", tc.what, tc.step, got, err, tc.want)
			}
		}
		if got := mustStaff(t, db, s.ID).TOTPLastStep; got != 1003 {
			t.Errorf("TOTPLastStep = %d, want 1003", got)
		}
	})

	t.Run("of ten concurrent attempts with the same step exactly one is accepted", func(t *testing.T) {
		db := mustOpenDB(t)
		s := mustEnrol(t, db, mustCreateStaff(t, db, "lee", storage.RoleCaseworker), 1)
		var wg sync.WaitGroup
		results := make([]bool, 10)
		for i := range results {
			wg.Go(func() {
				ok, err := db.AcceptTOTPStep(ctx, s.ID, 2)
				if err != nil {
					t.Errorf("goroutine %d: AcceptTOTPStep: %v", i, err)
				}
				results[i] = ok
			})
		}
		wg.Wait()
		if n := len(slices.DeleteFunc(slices.Clone(results), func(ok bool) bool { return !ok })); n != 1 {
			t.Errorf("%d of 10 concurrent AcceptTOTPStep calls returned true, want exactly 1 (%v)", n, results)
		}
	})

	t.Run("an unknown staff id is ErrNotFound", func(t *testing.T) {
		db := mustOpenDB(t)
		if _, err := db.AcceptTOTPStep(ctx, 7, 1); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("AcceptTOTPStep(unknown): err = %v, want ErrNotFound", err)
		}
	})
}

func TestLoginFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpenDB(t)
	s := mustCreateStaff(t, db, "mia", storage.RoleCaseworker)

	for i, lock := range []time.Time{{}, {}, staffNow.Add(15 * time.Minute)} {
		n, err := db.RecordLoginFailure(ctx, s.ID, lock)
		if err != nil || n != i+1 {
			t.Fatalf("failure %d: RecordLoginFailure = %d, %v; want %d", i+1, n, err, i+1)
		}
	}
	got := mustStaff(t, db, s.ID)
	if got.FailedLogins != 3 || !got.LockedUntil.Equal(staffNow.Add(15*time.Minute)) {
		t.Errorf("after three failures FailedLogins=%d LockedUntil=%v, want 3 and %v", got.FailedLogins, got.LockedUntil, staffNow.Add(15*time.Minute))
	}
	if err := db.ResetLoginFailures(ctx, s.ID); err != nil {
		t.Fatalf("ResetLoginFailures: %v", err)
	}
	if got := mustStaff(t, db, s.ID); got.FailedLogins != 0 || !got.LockedUntil.IsZero() {
		t.Errorf("after reset FailedLogins=%d LockedUntil=%v, want 0 and zero", got.FailedLogins, got.LockedUntil)
	}
	if _, err := db.RecordLoginFailure(ctx, s.ID+1, time.Time{}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("RecordLoginFailure(unknown): err = %v, want ErrNotFound", err)
	}
}

func TestRecoveryCodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpenDB(t)
	nora := mustEnrol(t, db, mustCreateStaff(t, db, "nora", storage.RoleCaseworker), 1)
	otto := mustEnrol(t, db, mustCreateStaff(t, db, "otto", storage.RoleCaseworker), 1)

	for _, tc := range []struct {
		what    string
		staffID int64
		code    string
		want    bool
		left    int
	}{
		{"an unused code is accepted", nora.ID, "rc-nora-1", true, 2},
		{"the same code a second time is refused", nora.ID, "rc-nora-1", false, 2},
		{"a code that was never issued is refused", nora.ID, "rc-nora-9", false, 2},
		{"another person's code is refused", nora.ID, "rc-otto-1", false, 2},
		{"another unused code is accepted", nora.ID, "rc-nora-3", true, 1},
	} {
		ok, err := db.UseRecoveryCode(ctx, tc.staffID, hashOf(tc.code))
		if err != nil || ok != tc.want {
			t.Errorf("%s: UseRecoveryCode = %t, %v; want %t", tc.what, ok, err, tc.want)
		}
		if n, err := db.UnusedRecoveryCodes(ctx, tc.staffID); err != nil || n != tc.left {
			t.Errorf("%s: UnusedRecoveryCodes = %d, %v; want %d", tc.what, n, err, tc.left)
		}
	}
	if n, _ := db.UnusedRecoveryCodes(ctx, otto.ID); n != 3 {
		t.Errorf("otto's UnusedRecoveryCodes = %d, want 3 (untouched)", n)
	}
}

func TestSetStaffDisabled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("disabling ends the person's sessions and no one else's, and re-enabling does not revive them", func(t *testing.T) {
		db := mustOpenDB(t)
		pat := mustEnrol(t, db, mustCreateStaff(t, db, "pat", storage.RoleCaseworker), 1)
		quinn := mustEnrol(t, db, mustCreateStaff(t, db, "quinn", storage.RoleCaseworker), 1)
		a := mustSession(t, db, pat.ID, "pat-a", time.Time{}, time.Time{})
		b := mustSession(t, db, pat.ID, "pat-b", time.Time{}, time.Time{})
		q := mustSession(t, db, quinn.ID, "quinn", time.Time{}, time.Time{})
		if err := db.SetStaffDisabled(ctx, pat.ID, true); err != nil {
			t.Fatalf("SetStaffDisabled: %v", err)
		}
		if !mustStaff(t, db, pat.ID).Disabled {
			t.Error("Disabled = false after SetStaffDisabled(true)")
		}
		if err := db.SetStaffDisabled(ctx, pat.ID, false); err != nil {
			t.Fatalf("SetStaffDisabled(false): %v", err)
		}
		for _, s := range []storage.StaffSession{a, b} {
			if sessionExists(t, db, s.TokenHash) {
				t.Errorf("session %s survived disabling", s.CSRF)
			}
		}
		if !sessionExists(t, db, q.TokenHash) {
			t.Error("disabling pat ended quinn's session")
		}
	})

	t.Run("a disabled account cannot get a new session", func(t *testing.T) {
		db := mustOpenDB(t)
		s := mustEnrol(t, db, mustCreateStaff(t, db, "rae", storage.RoleCaseworker), 1)
		if err := db.SetStaffDisabled(ctx, s.ID, true); err != nil {
			t.Fatalf("SetStaffDisabled: %v", err)
		}
		err := db.CreateStaffSession(ctx, storage.StaffSession{TokenHash: hashOf("late"), StaffID: s.ID, CSRF: "c"})
		if !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("CreateStaffSession for a disabled account: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("an unknown staff id is ErrNotFound", func(t *testing.T) {
		db := mustOpenDB(t)
		if err := db.SetStaffDisabled(ctx, 99, true); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("SetStaffDisabled(unknown): err = %v, want ErrNotFound", err)
		}
	})
}

func TestResetStaffCredentials(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpenDB(t)
	s := mustEnrol(t, db, mustCreateStaff(t, db, "sam", storage.RoleAdmin), 500)
	sess := mustSession(t, db, s.ID, "sam", time.Time{}, time.Time{})
	if _, err := db.RecordLoginFailure(ctx, s.ID, staffNow.Add(time.Hour)); err != nil {
		t.Fatalf("RecordLoginFailure: %v", err)
	}

	if err := db.ResetStaffCredentials(ctx, s.ID); err != nil {
		t.Fatalf("ResetStaffCredentials: %v", err)
	}
	got := mustStaff(t, db, s.ID)
	want := storage.Staff{ID: s.ID, Username: "sam", Role: storage.RoleAdmin, CreatedAt: s.CreatedAt}
	if got != want {
		t.Errorf("after reset: %+v, want %+v", got, want)
	}
	if got.Enrolled() {
		t.Error("Enrolled() = true after reset")
	}
	if n, _ := db.UnusedRecoveryCodes(ctx, s.ID); n != 0 {
		t.Errorf("UnusedRecoveryCodes = %d after reset, want 0", n)
	}
	if sessionExists(t, db, sess.TokenHash) {
		t.Error("a session survived ResetStaffCredentials")
	}
	// The person re-enrols from a new link, and the old TOTP step no longer
	// matters (the new secret has its own steps).
	again := mustEnrol(t, db, got, 7)
	if !again.Enrolled() || again.TOTPLastStep != 7 {
		t.Errorf("re-enrolment after reset: %+v", again)
	}
	if err := db.ResetStaffCredentials(ctx, s.ID+1); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("ResetStaffCredentials(unknown): err = %v, want ErrNotFound", err)
	}
}

func TestStaffSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a session is stored, found by token, touched forwards only, and deleted idempotently", func(t *testing.T) {
		db := mustOpenDB(t)
		s := mustEnrol(t, db, mustCreateStaff(t, db, "tess", storage.RoleCaseworker), 1)
		sess := mustSession(t, db, s.ID, "tess", staffNow, staffNow.Add(time.Minute))
		got, err := db.StaffSessionByToken(ctx, sess.TokenHash)
		if err != nil {
			t.Fatalf("StaffSessionByToken: %v", err)
		}
		if !bytes.Equal(got.TokenHash, sess.TokenHash) || got.StaffID != s.ID || got.CSRF != sess.CSRF ||
			!got.CreatedAt.Equal(staffNow) || !got.LastSeen.Equal(staffNow.Add(time.Minute)) {
			t.Errorf("StaffSessionByToken = %+v, want %+v", got, sess)
		}
		if err := db.CreateStaffSession(ctx, sess); !errors.Is(err, storage.ErrDuplicate) {
			t.Errorf("CreateStaffSession with a taken token: err = %v, want ErrDuplicate", err)
		}

		for _, tc := range []struct {
			what string
			at   time.Time
			want time.Time
		}{
			{"a later touch moves LastSeen forward", staffNow.Add(10 * time.Minute), staffNow.Add(10 * time.Minute)},
			{"an earlier touch leaves it", staffNow.Add(5 * time.Minute), staffNow.Add(10 * time.Minute)},
		} {
			if err := db.TouchStaffSession(ctx, sess.TokenHash, tc.at); err != nil {
				t.Fatalf("%s: TouchStaffSession: %v", tc.what, err)
			}
			if got, _ := db.StaffSessionByToken(ctx, sess.TokenHash); !got.LastSeen.Equal(tc.want) {
				t.Errorf("%s: LastSeen = %v, want %v", tc.what, got.LastSeen, tc.want)
			}
		}

		for i := range 2 {
			if err := db.DeleteStaffSession(ctx, sess.TokenHash); err != nil {
				t.Errorf("DeleteStaffSession #%d: %v", i+1, err)
			}
		}
		if sessionExists(t, db, sess.TokenHash) {
			t.Error("the session survived DeleteStaffSession")
		}
		if err := db.TouchStaffSession(ctx, sess.TokenHash, staffNow); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("TouchStaffSession after delete: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("a zero CreatedAt and LastSeen default to db.Now", func(t *testing.T) {
		db := mustOpenDB(t)
		db.Now = fixedClock(staffNow.Add(123 * time.Second))
		s := mustCreateStaff(t, db, "uma", storage.RoleCaseworker)
		sess := mustSession(t, db, s.ID, "uma", time.Time{}, time.Time{})
		got, err := db.StaffSessionByToken(ctx, sess.TokenHash)
		if err != nil || !got.CreatedAt.Equal(db.Now()) || !got.LastSeen.Equal(db.Now()) {
			t.Errorf("StaffSessionByToken = %+v, %v; want both times %v", got, err, db.Now())
		}
	})

	t.Run("log out everywhere ends only that person's sessions", func(t *testing.T) {
		db := mustOpenDB(t)
		vic := mustCreateStaff(t, db, "vic", storage.RoleCaseworker)
		wes := mustCreateStaff(t, db, "wes", storage.RoleCaseworker)
		v1 := mustSession(t, db, vic.ID, "v1", time.Time{}, time.Time{})
		v2 := mustSession(t, db, vic.ID, "v2", time.Time{}, time.Time{})
		w := mustSession(t, db, wes.ID, "w", time.Time{}, time.Time{})
		if err := db.DeleteStaffSessions(ctx, vic.ID); err != nil {
			t.Fatalf("DeleteStaffSessions: %v", err)
		}
		if sessionExists(t, db, v1.TokenHash) || sessionExists(t, db, v2.TokenHash) {
			t.Error("one of vic's sessions survived DeleteStaffSessions")
		}
		if !sessionExists(t, db, w.TokenHash) {
			t.Error("DeleteStaffSessions(vic) ended wes's session")
		}
	})

	// Three sessions: fresh, one past its absolute lifetime (12h) and one
	// idle too long (30m); the sweep's cut-offs are relative to staffNow.
	for _, tc := range []struct {
		name                          string
		createdBefore, lastSeenBefore time.Time
		wantGone                      []string
	}{
		{"the sweep with both cut-offs deletes the too-old and the idle session", staffNow.Add(-12 * time.Hour), staffNow.Add(-30 * time.Minute), []string{"old", "idle"}},
		{"the sweep by creation time alone deletes only the too-old session", staffNow.Add(-12 * time.Hour), time.Time{}, []string{"old"}},
		{"the sweep by last activity alone deletes only the idle session", time.Time{}, staffNow.Add(-30 * time.Minute), []string{"idle"}},
		{"a cut-off equal to a session's time does not delete it", staffNow.Add(-13 * time.Hour), staffNow.Add(-31 * time.Minute), nil},
		{"the sweep with two zero cut-offs deletes nothing", time.Time{}, time.Time{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := mustOpenDB(t)
			s := mustCreateStaff(t, db, "xena", storage.RoleCaseworker)
			sessions := map[string]storage.StaffSession{
				"fresh": mustSession(t, db, s.ID, "fresh", staffNow, staffNow),
				"old":   mustSession(t, db, s.ID, "old", staffNow.Add(-13*time.Hour), staffNow.Add(-time.Minute)),
				"idle":  mustSession(t, db, s.ID, "idle", staffNow.Add(-time.Hour), staffNow.Add(-31*time.Minute)),
			}
			n, err := db.DeleteStaffSessionsBefore(ctx, tc.createdBefore, tc.lastSeenBefore)
			if err != nil || n != int64(len(tc.wantGone)) {
				t.Errorf("DeleteStaffSessionsBefore = %d, %v; want %d", n, err, len(tc.wantGone))
			}
			for name, sess := range sessions {
				if gone := slices.Contains(tc.wantGone, name); sessionExists(t, db, sess.TokenHash) == gone {
					t.Errorf("session %q: gone = %t, want %t", name, !gone, gone)
				}
			}
		})
	}
}

// A database created before staff existed (schema version 1) gains the staff
// and audit tables on Open and keeps its data.
func TestOpenMigratesAVersion1Database(t *testing.T) {
	sqliteOnly(t, "a migration of an old SQLite schema")
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	v1, err := os.ReadFile(filepath.Join("migrations", "0001_init.sql"))
	if err != nil {
		t.Fatal(err)
	}
	raw := openRaw(t, filepath.Join(dir, storage.FileName))
	for _, q := range []string{string(v1), "PRAGMA user_version = 1",
		`INSERT INTO kdf_params (time, memory_kib, threads, salt, created_at) VALUES (3, 65536, 4, x'00', 0)`} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("building a version 1 database: %v", err)
		}
	}
	raw.Close()

	db := mustOpenDBAt(t, dir)
	if sets, err := db.KDFParamSets(ctx); err != nil || len(sets) != 1 {
		t.Errorf("KDFParamSets after migration = %+v, %v; want the one version 1 set", sets, err)
	}
	s := mustEnrol(t, db, mustCreateStaff(t, db, "yara", storage.RoleAdmin), 1)
	mustSession(t, db, s.ID, "yara", time.Time{}, time.Time{})
	if _, err := db.AppendAudit(ctx, storage.AuditEntry{Actor: "cli", Action: "staff.create", Target: "yara"}); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	if err := db.VerifyAudit(ctx); err != nil {
		t.Errorf("VerifyAudit: %v", err)
	}
	if err := db.IntegrityCheck(ctx); err != nil {
		t.Errorf("IntegrityCheck: %v", err)
	}
}

// Two instances spend an enrolment link once, and a TOTP step once, when
// the same one reaches both at once.
func TestInstancesSpendALinkAndATOTPStepOnce(t *testing.T) {
	ctx := context.Background()
	a, b := twoInstances(t)
	s := mustCreateStaff(t, a, "xena", storage.RoleCaseworker)
	token := hashOf("enrol-xena")
	if err := a.CreateEnrolment(ctx, s.ID, token, a.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	complete := func(db *storage.DB, pw string) func() error {
		return func() error {
			_, err := db.CompleteEnrolment(ctx, token, pw, "TOTPSECRET", 1, [][]byte{hashOf("rc-" + pw)})
			return err
		}
	}
	errs := concurrently.Run(complete(a, "pw-a"), complete(b, "pw-b"))
	winner := "pw-a"
	if errs[0] != nil {
		winner = "pw-b"
	}
	if (errs[0] == nil) == (errs[1] == nil) || !errors.Is(errors.Join(errs...), storage.ErrNotFound) {
		t.Fatalf("two completions of one link: %v; want one success and one ErrNotFound", errs)
	}
	if got := mustStaff(t, b, s.ID); got.PasswordHash != winner {
		t.Errorf("password hash %q, want the successful completion's %q", got.PasswordHash, winner)
	}
	if n, err := a.UnusedRecoveryCodes(ctx, s.ID); err != nil || n != 1 {
		t.Errorf("%d recovery codes, %v; want the successful completion's one", n, err)
	}

	accepted := make([]bool, 2)
	errs = concurrently.Run(func() (err error) {
		accepted[0], err = a.AcceptTOTPStep(ctx, s.ID, 7)
		return err
	}, func() (err error) {
		accepted[1], err = b.AcceptTOTPStep(ctx, s.ID, 7)
		return err
	})
	if errs[0] != nil || errs[1] != nil || accepted[0] == accepted[1] {
		t.Errorf("one TOTP step on two instances: accepted %v, errors %v; want exactly one accepted", accepted, errs)
	}
}
