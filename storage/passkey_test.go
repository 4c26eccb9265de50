package storage_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/candour/candour/internal/concurrently"
	"github.com/candour/candour/storage"
)

func mustAddPasskey(t *testing.T, db *storage.DB, staffID int64, name, credID string) storage.Passkey {
	t.Helper()
	p, err := db.AddPasskey(context.Background(), storage.Passkey{StaffID: staffID, Name: name,
		CredentialID: []byte(credID), Credential: []byte(`{"id":"` + credID + `"}`)})
	if err != nil {
		t.Fatalf("AddPasskey(%q): %v", name, err)
	}
	return p
}

func TestPasskeysAddRenameRemove(t *testing.T) {
	db := mustOpenDB(t)
	db.Now = fixedClock(staffNow)
	ctx := context.Background()
	ann := mustEnrol(t, db, mustCreateStaff(t, db, "ann", storage.RoleCaseworker), 1)
	bob := mustEnrol(t, db, mustCreateStaff(t, db, "bob", storage.RoleCaseworker), 1)

	a1 := mustAddPasskey(t, db, ann.ID, "Laptop", "cred-a1")
	mustAddPasskey(t, db, ann.ID, "Key", "cred-a2")
	if _, err := db.AddPasskey(ctx, storage.Passkey{StaffID: bob.ID, Name: "Copy", CredentialID: []byte("cred-a1"), Credential: []byte("{}")}); !errors.Is(err, storage.ErrDuplicate) {
		t.Fatalf("a credential id registered twice: %v, want ErrDuplicate", err)
	}
	if _, err := db.AddPasskey(ctx, storage.Passkey{StaffID: bob.ID, Name: " ", CredentialID: []byte("x"), Credential: []byte("{}")}); err == nil {
		t.Fatal("a blank name was accepted")
	}
	list, err := db.Passkeys(ctx, ann.ID)
	if err != nil || len(list) != 2 || list[0].Name != "Laptop" || !list[0].CreatedAt.Equal(staffNow) || !list[0].LastUsedAt.IsZero() {
		t.Fatalf("Passkeys = %+v, %v", list, err)
	}
	if err := db.RenamePasskey(ctx, bob.ID, a1.ID, "Mine"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("renaming another account's passkey: %v, want ErrNotFound", err)
	}
	if err := db.RenamePasskey(ctx, ann.ID, a1.ID, "Work laptop"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RemovePasskey(ctx, bob.ID, a1.ID, false); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("removing another account's passkey: %v, want ErrNotFound", err)
	}
	if p, err := db.RemovePasskey(ctx, ann.ID, a1.ID, true); err != nil || p.Name != "Work laptop" {
		t.Fatalf("RemovePasskey = %+v, %v", p, err)
	}
	list, _ = db.Passkeys(ctx, ann.ID)
	if _, err := db.RemovePasskey(ctx, ann.ID, list[0].ID, true); !errors.Is(err, storage.ErrLastPasskey) {
		t.Fatalf("removing the last passkey that must stay: %v, want ErrLastPasskey", err)
	}
	if n, _ := db.CountPasskeys(ctx, ann.ID); n != 1 {
		t.Fatalf("%d passkeys after a refused removal, want 1", n)
	}
	if _, err := db.RemovePasskey(ctx, ann.ID, list[0].ID, false); err != nil {
		t.Fatal(err)
	}
}

func TestUsePasskeyRefusesCounterRegression(t *testing.T) {
	db := mustOpenDB(t)
	db.Now = fixedClock(staffNow)
	ctx := context.Background()
	ann := mustEnrol(t, db, mustCreateStaff(t, db, "ann", storage.RoleCaseworker), 1)
	mustAddPasskey(t, db, ann.ID, "Key", "cred")
	if err := db.UsePasskey(ctx, ann.ID, []byte("cred"), []byte(`{"n":5}`), 5, staffNow); err != nil {
		t.Fatal(err)
	}
	for _, n := range []uint32{5, 4, 0} {
		if err := db.UsePasskey(ctx, ann.ID, []byte("cred"), []byte(`{}`), n, staffNow); !errors.Is(err, storage.ErrSignCount) {
			t.Fatalf("counter %d after 5: %v, want ErrSignCount", n, err)
		}
	}
	list, _ := db.Passkeys(ctx, ann.ID)
	if list[0].SignCount != 5 || string(list[0].Credential) != `{"n":5}` || !list[0].LastUsedAt.Equal(staffNow) {
		t.Fatalf("after refusals: %+v", list[0])
	}
	// An authenticator without a counter (always 0) keeps working.
	mustAddPasskey(t, db, ann.ID, "Phone", "zero")
	for range 2 {
		if err := db.UsePasskey(ctx, ann.ID, []byte("zero"), []byte(`{}`), 0, staffNow); err != nil {
			t.Fatalf("a zero counter: %v", err)
		}
	}
	if err := db.UsePasskey(ctx, ann.ID, []byte("none"), []byte(`{}`), 9, staffNow); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("unknown credential: %v, want ErrNotFound", err)
	}
}

// A suspended passkey (a counter regression was seen) is never used
// again, counts for nothing, and may be removed even when one must stay.
func TestSuspendedPasskey(t *testing.T) {
	db := mustOpenDB(t)
	db.Now = fixedClock(staffNow)
	ctx := context.Background()
	ann := mustEnrol(t, db, mustCreateStaff(t, db, "ann", storage.RoleCaseworker), 1)
	p := mustAddPasskey(t, db, ann.ID, "Key", "cred")
	if err := db.UsePasskey(ctx, ann.ID, []byte("cred"), []byte(`{}`), 5, staffNow); err != nil {
		t.Fatal(err)
	}
	if err := db.SuspendPasskey(ctx, ann.ID, []byte("cred"), staffNow.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := db.UsePasskey(ctx, ann.ID, []byte("cred"), []byte(`{}`), 500, staffNow); !errors.Is(err, storage.ErrPasskeySuspended) {
		t.Fatalf("using a suspended passkey: %v, want ErrPasskeySuspended", err)
	}
	list, err := db.Passkeys(ctx, ann.ID)
	if err != nil || len(list) != 1 || !list[0].SuspendedAt.Equal(staffNow.Add(time.Minute)) || list[0].SignCount != 5 {
		t.Fatalf("Passkeys = %+v, %v", list, err)
	}
	if n, err := db.CountPasskeys(ctx, ann.ID); err != nil || n != 0 {
		t.Fatalf("CountPasskeys = %d, %v; a suspended passkey counts for nothing", n, err)
	}
	if _, err := db.RemovePasskey(ctx, ann.ID, p.ID, true); err != nil {
		t.Fatalf("removing a suspended passkey when one must stay: %v", err)
	}
}

func TestCeremonyIsSingleUse(t *testing.T) {
	db := mustOpenDB(t)
	now := staffNow
	db.Now = func() time.Time { return now }
	ctx := context.Background()
	ann := mustEnrol(t, db, mustCreateStaff(t, db, "ann", storage.RoleCaseworker), 1)
	c := storage.Ceremony{Purpose: storage.CeremonyLogin, Binding: []byte("b1"), StaffID: ann.ID, CSRF: "x", ExpiresAt: now.Add(5 * time.Minute)}
	if err := db.PutCeremony(ctx, c); err != nil {
		t.Fatal(err)
	}
	if n, err := db.CountCeremonies(ctx, storage.CeremonyLogin); err != nil || n != 1 {
		t.Fatalf("CountCeremonies = %d, %v; want 1", n, err)
	}
	got, err := db.CeremonyFor(ctx, storage.CeremonyLogin, []byte("b1"))
	if err != nil || got.StaffID != ann.ID || len(got.Data) != 0 {
		t.Fatalf("CeremonyFor = %+v, %v", got, err)
	}
	if err := db.TakeCeremony(ctx, storage.CeremonyLogin, []byte("b1"), nil); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("taking a ceremony without options: %v", err)
	}
	c.Data = []byte(`{"challenge":"one"}`)
	db.PutCeremony(ctx, c)
	c.Data = []byte(`{"challenge":"two"}`)
	db.PutCeremony(ctx, c)
	if err := db.TakeCeremony(ctx, storage.CeremonyLogin, []byte("b1"), []byte(`{"challenge":"one"}`)); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a replaced challenge was taken: %v", err)
	}
	if err := db.TakeCeremony(ctx, storage.CeremonyRegister, []byte("b1"), c.Data); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a ceremony was taken for another purpose: %v", err)
	}
	if err := db.TakeCeremony(ctx, storage.CeremonyLogin, []byte("b1"), c.Data); err != nil {
		t.Fatal(err)
	}
	if err := db.TakeCeremony(ctx, storage.CeremonyLogin, []byte("b1"), c.Data); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a ceremony was taken twice: %v", err)
	}
	// Expired: neither read nor taken.
	c.Binding = []byte("b2")
	db.PutCeremony(ctx, c)
	now = now.Add(5 * time.Minute)
	if _, err := db.CeremonyFor(ctx, storage.CeremonyLogin, []byte("b2")); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("an expired ceremony was read: %v", err)
	}
	if err := db.TakeCeremony(ctx, storage.CeremonyLogin, []byte("b2"), c.Data); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("an expired ceremony was taken: %v", err)
	}
}

func TestUserHandleIsRandomAndStable(t *testing.T) {
	db := mustOpenDB(t)
	ctx := context.Background()
	ann := mustCreateStaff(t, db, "ann", storage.RoleCaseworker)
	bob := mustCreateStaff(t, db, "bob", storage.RoleCaseworker)
	h1, err := db.StaffUserHandle(ctx, ann.ID)
	if err != nil || len(h1) != 32 {
		t.Fatalf("StaffUserHandle = %x, %v", h1, err)
	}
	h2, _ := db.StaffUserHandle(ctx, ann.ID)
	hb, _ := db.StaffUserHandle(ctx, bob.ID)
	if !bytes.Equal(h1, h2) || bytes.Equal(h1, hb) {
		t.Fatalf("handles: %x %x %x", h1, h2, hb)
	}
	if st, err := db.StaffByUserHandle(ctx, hb); err != nil || st.ID != bob.ID {
		t.Fatalf("StaffByUserHandle = %+v, %v", st, err)
	}
	if _, err := db.StaffByUserHandle(ctx, []byte("nobody")); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("unknown handle: %v", err)
	}
}

func TestPasskeyPolicyRoundTrip(t *testing.T) {
	db := mustOpenDB(t)
	ctx := context.Background()
	p, err := db.PasskeyPolicy(ctx)
	if err != nil || p.Alone || p.UV || p.RequiredFor(storage.RoleAdmin) {
		t.Fatalf("default policy = %+v, %v", p, err)
	}
	want := storage.PasskeyPolicy{Required: map[string]bool{storage.RoleAdmin: true, storage.RoleStatistics: true}, Alone: true}
	if err := db.SetPasskeyPolicy(ctx, want); err != nil {
		t.Fatal(err)
	}
	p, _ = db.PasskeyPolicy(ctx)
	if !p.RequiredFor(storage.RoleAdmin) || p.RequiredFor(storage.RoleCaseworker) || !p.RequiredFor(storage.RoleStatistics) || !p.Alone || p.UV {
		t.Fatalf("policy = %+v", p)
	}
}

func TestResetStaffCredentialsRemovesPasskeys(t *testing.T) {
	db := mustOpenDB(t)
	ctx := context.Background()
	ann := mustEnrol(t, db, mustCreateStaff(t, db, "ann", storage.RoleCaseworker), 1)
	mustAddPasskey(t, db, ann.ID, "Key", "cred")
	db.PutCeremony(ctx, storage.Ceremony{Purpose: storage.CeremonyLogin, Binding: []byte("b"), StaffID: ann.ID, CSRF: "x", Data: []byte("d"), ExpiresAt: db.Now().Add(time.Minute)})
	db.NoteRecoveryLogin(ctx, ann.ID, db.Now())
	if err := db.ResetStaffCredentials(ctx, ann.ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.CountPasskeys(ctx, ann.ID); n != 0 {
		t.Fatalf("%d passkeys after reset", n)
	}
	if _, err := db.CeremonyFor(ctx, storage.CeremonyLogin, []byte("b")); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a ceremony survived the reset: %v", err)
	}
}

func TestRecoveryNoticeShownOnceToTheNextLogin(t *testing.T) {
	db := mustOpenDB(t)
	db.Now = fixedClock(staffNow)
	ctx := context.Background()
	ann := mustEnrol(t, db, mustCreateStaff(t, db, "ann", storage.RoleCaseworker), 1)
	if _, ok, _ := db.TakeRecoveryNotice(ctx, ann.ID, []byte("s1")); ok {
		t.Fatal("a notice with no recovery login")
	}
	db.NoteRecoveryLogin(ctx, ann.ID, staffNow)
	if _, ok, _ := db.TakeRecoveryNotice(ctx, ann.ID, []byte("s1")); ok {
		t.Fatal("the notice was shown before the next login")
	}
	db.ArmRecoveryNotice(ctx, ann.ID, []byte("s2"))
	if _, ok, _ := db.TakeRecoveryNotice(ctx, ann.ID, []byte("s1")); ok {
		t.Fatal("the notice was shown to another session")
	}
	at, ok, err := db.TakeRecoveryNotice(ctx, ann.ID, []byte("s2"))
	if err != nil || !ok || !at.Equal(staffNow) {
		t.Fatalf("TakeRecoveryNotice = %v, %t, %v", at, ok, err)
	}
	if _, ok, _ := db.TakeRecoveryNotice(ctx, ann.ID, []byte("s2")); ok {
		t.Fatal("the notice was shown twice")
	}
	// Two recovery logins before a login that shows them: the earlier
	// is the one told, not overwritten by the later.
	db.NoteRecoveryLogin(ctx, ann.ID, staffNow.Add(time.Hour))
	db.ArmRecoveryNotice(ctx, ann.ID, []byte("s3"))
	db.NoteRecoveryLogin(ctx, ann.ID, staffNow.Add(2*time.Hour))
	db.ArmRecoveryNotice(ctx, ann.ID, []byte("s4"))
	if at, ok, err := db.TakeRecoveryNotice(ctx, ann.ID, []byte("s4")); err != nil || !ok || !at.Equal(staffNow.Add(time.Hour)) {
		t.Fatalf("after two recovery logins: %v, %t, %v; want the earlier", at, ok, err)
	}
}

// Names are text a person can read as it is: no control characters, and
// no format characters (bidi overrides, zero-width ones) that would let
// one name pass for another (security review #8).
func TestValidPasskeyName(t *testing.T) {
	for name, want := range map[string]bool{
		"Work laptop":           true,
		"Clé bleue — 2":         true,
		"":                      false,
		"   ":                   false,
		"Tab\there":             false,
		"Your\u202ephone":       false, // right-to-left override
		"Your\u200bphone":       false, // zero-width space
		"\ufeffYour phone":      false, // byte order mark
		strings.Repeat("a", 61): false,
	} {
		if got := storage.ValidPasskeyName(name); got != want {
			t.Errorf("ValidPasskeyName(%q) = %t, want %t", name, got, want)
		}
	}
}

// Two instances removing an account's two passkeys at once, each keeping
// one, leave one: the count and the deletion are behind one lock across
// instances.
func TestInstancesKeepTheLastPasskey(t *testing.T) {
	ctx := context.Background()
	a, b := twoInstances(t)
	ann := mustEnrol(t, a, mustCreateStaff(t, a, "ann", storage.RoleCaseworker), 1)
	p1 := mustAddPasskey(t, a, ann.ID, "Laptop", "cred-1")
	p2 := mustAddPasskey(t, b, ann.ID, "Key", "cred-2")
	errs := concurrently.Run(func() error {
		_, err := a.RemovePasskey(ctx, ann.ID, p1.ID, true)
		return err
	}, func() error {
		_, err := b.RemovePasskey(ctx, ann.ID, p2.ID, true)
		return err
	})
	if (errs[0] == nil) == (errs[1] == nil) || !errors.Is(errors.Join(errs...), storage.ErrLastPasskey) {
		t.Errorf("two removals with keepOne: %v; want one success and one ErrLastPasskey", errs)
	}
	if n, err := b.CountPasskeys(ctx, ann.ID); err != nil || n != 1 {
		t.Errorf("%d passkeys left, %v; want 1", n, err)
	}
}
