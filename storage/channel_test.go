package storage_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/candour/candour/internal/concurrently"
	"github.com/candour/candour/storage"
)

func newStaff(t *testing.T, db *storage.DB, name string) storage.Staff {
	t.Helper()
	s, err := db.CreateStaff(context.Background(), name, storage.RoleCaseworker)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustChannel(t *testing.T, db *storage.DB, name string) int64 {
	t.Helper()
	id, err := db.CreateChannel(context.Background(), map[string]storage.ChannelText{
		"en": {Name: name, Description: name + " description"}, "pl": {Name: name + " (pl)"}})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// With one channel everyone joins it; once there are two, nobody joins
// anything by default.
func TestNewStaffJoinTheOnlyChannel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpenDB(t)
	alice := newStaff(t, db, "alice")
	if ok, err := db.IsChannelMember(ctx, storage.DefaultChannel, alice.ID); err != nil || !ok {
		t.Fatalf("alice in the only channel: %v %v", ok, err)
	}
	second := mustChannel(t, db, "Kent Police")
	bob := newStaff(t, db, "bob")
	for _, ch := range []int64{storage.DefaultChannel, second} {
		if ok, _ := db.IsChannelMember(ctx, ch, bob.ID); ok {
			t.Errorf("bob joined channel %d by himself", ch)
		}
	}
	c, err := db.Channel(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	if c.Text("pl").Name != "Kent Police (pl)" || c.Text("cy").Name != "Kent Police" || c.Text("cy").Description != "Kent Police description" {
		t.Errorf("texts: %+v", c.Texts)
	}
	if _, err := db.CreateChannel(ctx, map[string]storage.ChannelText{"pl": {Name: "x"}}); !errors.Is(err, storage.ErrChannelHasNoDefaultText) {
		t.Errorf("a channel without an English name: %v", err)
	}
}

// The inbox lists a staff member only their channels' cases.
func TestInboxListsOnlyTheViewersChannels(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpenDB(t)
	alice := newStaff(t, db, "alice") // in the default channel
	second := mustChannel(t, db, "Kent Police")
	bob := newStaff(t, db, "bob")
	must(t, db.AddChannelMember(ctx, second, bob.ID))
	kdf := mustKDF(t, db)
	inDefault := mustCreateCase(t, db, "default")
	nc := newCase(kdf.ID, "kent")
	nc.ChannelID = second
	inSecond, err := db.CreateCase(ctx, nc)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Case(ctx, inSecond.ID); got.ChannelID != second {
		t.Fatalf("case stored in channel %d, want %d", got.ChannelID, second)
	}
	for _, tc := range []struct {
		viewer int64
		want   int64
	}{{alice.ID, inDefault.ID}, {bob.ID, inSecond.ID}} {
		cases, _, err := db.ListCases(ctx, storage.CaseFilter{ViewerID: tc.viewer}, storage.Cursor{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		total, _, err := db.CountCases(ctx, storage.CaseFilter{ViewerID: tc.viewer}, storage.CountCap)
		if err != nil {
			t.Fatal(err)
		}
		if total != 1 || len(cases) != 1 || cases[0].ID != tc.want {
			t.Errorf("viewer %d sees %d cases (%+v), want only case %d", tc.viewer, total, cases, tc.want)
		}
	}
	if total, _, _ := db.CountCases(ctx, storage.CaseFilter{AllChannels: true}, storage.CountCap); total != 2 {
		t.Errorf("all channels: %d cases", total)
	}
}

// A new key generation must be wrapped to exactly the members, must
// follow the newest, and removing a member deletes their wraps.
func TestChannelKeyGenerations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpenDB(t)
	ch := mustChannel(t, db, "Kent Police")
	alice, bob := newStaff(t, db, "alice"), newStaff(t, db, "bob")
	must(t, db.AddChannelMember(ctx, ch, alice.ID))
	must(t, db.AddChannelMember(ctx, ch, bob.ID))
	both := map[int64][]byte{alice.ID: fakeAge("a1"), bob.ID: fakeAge("b1")}

	if _, err := db.AddChannelKey(ctx, ch, 0, "age1first", map[int64][]byte{alice.ID: fakeAge("a1")}); !errors.Is(err, storage.ErrWrapsDoNotMatchMembers) {
		t.Errorf("a key not wrapped to bob: %v", err)
	}
	if _, err := db.AddChannelKey(ctx, ch, 0, "age1first", map[int64][]byte{alice.ID: fakeAge("a1"), bob.ID: fakeAge("b1"), 999: fakeAge("x")}); !errors.Is(err, storage.ErrWrapsDoNotMatchMembers) {
		t.Errorf("a key wrapped to a stranger: %v", err)
	}
	gen, err := db.AddChannelKey(ctx, ch, 0, "age1first", both)
	if err != nil || gen != 1 {
		t.Fatalf("first key: %d %v", gen, err)
	}
	if _, err := db.AddChannelKey(ctx, ch, 0, "age1again", both); !errors.Is(err, storage.ErrStaleGeneration) {
		t.Errorf("a key made against generation 0 after 1: %v", err)
	}
	c, _ := db.Channel(ctx, ch)
	if c.Generation != 1 || c.Recipient != "age1first" {
		t.Errorf("channel key: %d %q", c.Generation, c.Recipient)
	}

	// Carol joins and is granted generation 1.
	carol := newStaff(t, db, "carol")
	if err := db.AddChannelKeyWraps(ctx, ch, carol.ID, map[int][]byte{1: fakeAge("c1")}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a grant to a non-member: %v", err)
	}
	must(t, db.AddChannelMember(ctx, ch, carol.ID))
	must(t, db.AddChannelKeyWraps(ctx, ch, carol.ID, map[int][]byte{1: fakeAge("c1")}))
	if w, _ := db.ChannelKeyWraps(ctx, ch, carol.ID); string(w[1]) != string(fakeAge("c1")) {
		t.Errorf("carol's wraps: %v", w)
	}

	// Bob leaves: his wraps go, and generation 2 is for alice and carol.
	must(t, db.RemoveChannelMember(ctx, ch, bob.ID))
	if w, _ := db.ChannelKeyWraps(ctx, ch, bob.ID); len(w) != 0 {
		t.Errorf("bob keeps wraps after leaving: %v", w)
	}
	gen, err = db.AddChannelKey(ctx, ch, 1, "age1second", map[int64][]byte{alice.ID: fakeAge("a2"), carol.ID: fakeAge("c2")})
	if err != nil || gen != 2 {
		t.Fatalf("second key: %d %v", gen, err)
	}
	w, _ := db.ChannelKeyWraps(ctx, ch, alice.ID)
	if gens := slices.Sorted(maps.Keys(w)); !slices.Equal(gens, []int{1, 2}) {
		t.Errorf("alice holds generations %v", gens)
	}
}

// A database made by the release before channels (migrations up to 0011)
// keeps every case, which lands in the default channel with every staff
// member in it, and still opens by its lookup id.
func TestMigrationPutsEveryCaseInTheDefaultChannel(t *testing.T) {
	sqliteOnly(t, "a migration of an old SQLite schema (every staff member joining the only channel is TestNewStaffJoinTheOnlyChannel)")
	t.Parallel()
	dir := t.TempDir()
	raw := migratedTo(t, dir, 11)
	for _, q := range []string{
		`PRAGMA user_version = 11`,
		`INSERT INTO kdf_params (id, time, memory_kib, threads, salt, created_at) VALUES (1, 3, 65536, 4, x'00', 0)`,
		`INSERT INTO cases (id, ref, lookup_id, kdf_id, wrapped_identity, recipient, status, created_at, updated_at)
		 VALUES (77, 'OLD1-CASE', x'0102', 1, x'00', 'age1old', 'new', 0, 0)`,
		`INSERT INTO staff (id, username, role, created_at, updated_at) VALUES (5, 'veteran', 'caseworker', 0, 0)`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()

	db := mustOpenDBAt(t, dir)
	ctx := context.Background()
	c, err := db.CaseByLookup(ctx, 1, []byte{1, 2})
	if err != nil || c.Ref != "OLD1-CASE" || c.ChannelID != storage.DefaultChannel || c.ChannelGeneration != 0 {
		t.Fatalf("old case after migration: %+v %v", c, err)
	}
	if ok, err := db.IsChannelMember(ctx, storage.DefaultChannel, 5); err != nil || !ok {
		t.Errorf("the old staff member is not in the default channel: %v %v", ok, err)
	}
	if cases, _, _ := db.ListCases(ctx, storage.CaseFilter{ViewerID: 5}, storage.Cursor{}, 10); len(cases) != 1 {
		t.Errorf("the old staff member sees %d cases", len(cases))
	}
}

// An excluded staff member cannot join the channel; a recused one does not
// see the case, in the inbox or by CanSeeCase; deleting the case takes the
// recusal with it.
func TestExclusionsAndRecusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpenDB(t)
	alice, bob := newStaff(t, db, "alice"), newStaff(t, db, "bob") // both in the default channel
	second := mustChannel(t, db, "Kent Police")

	must(t, db.AddChannelMember(ctx, second, bob.ID))
	if err := db.ExcludeFromChannel(ctx, second, bob.ID, "served in Kent Police until 2024"); !errors.Is(err, storage.ErrStillMember) {
		t.Errorf("excluding a member: %v", err)
	}
	must(t, db.RemoveChannelMember(ctx, second, bob.ID))
	must(t, db.ExcludeFromChannel(ctx, second, bob.ID, "served in Kent Police until 2024"))
	if err := db.AddChannelMember(ctx, second, bob.ID); !errors.Is(err, storage.ErrExcluded) {
		t.Errorf("adding an excluded member: %v", err)
	}
	if ex, _ := db.ChannelExclusions(ctx, second); len(ex) != 1 || ex[0].Username != "bob" || ex[0].Reason != "served in Kent Police until 2024" {
		t.Errorf("exclusions: %+v", ex)
	}
	must(t, db.EndChannelExclusion(ctx, second, bob.ID))
	must(t, db.AddChannelMember(ctx, second, bob.ID))

	c := mustCreateCase(t, db, "about bob's brother")
	must(t, db.RecuseFromCase(ctx, c.ID, bob.ID, "the officer named is his brother"))
	for _, tc := range []struct {
		who  storage.Staff
		sees bool
	}{{alice, true}, {bob, false}} {
		ok, err := db.CanSeeCase(ctx, c, tc.who.ID)
		if err != nil || ok != tc.sees {
			t.Errorf("%s can see the case: %v %v, want %v", tc.who.Username, ok, err, tc.sees)
		}
		total, _, _ := db.CountCases(ctx, storage.CaseFilter{ViewerID: tc.who.ID}, storage.CountCap)
		if (total == 1) != tc.sees {
			t.Errorf("%s's inbox has %d cases", tc.who.Username, total)
		}
	}
	if r, _ := db.CaseRecusals(ctx, c.ID); len(r) != 1 || r[0].StaffID != bob.ID {
		t.Errorf("recusals: %+v", r)
	}
	must(t, db.DeleteCase(ctx, c.ID))
	if r, _ := db.CaseRecusals(ctx, c.ID); len(r) != 0 {
		t.Errorf("recusals outlive their case: %+v", r)
	}
}

// Two instances offered a new key generation of one channel at once, both
// made against the same one, store one: the other is told the key changed.
func TestInstancesStoreOneNewKeyGeneration(t *testing.T) {
	ctx := context.Background()
	a, b := twoInstances(t)
	ch := mustChannel(t, a, "Kent Police")
	mustChannel(t, a, "Essex Police") // two channels: nobody joins by default
	alice := newStaff(t, a, "alice")
	must(t, a.AddChannelMember(ctx, ch, alice.ID))
	add := func(db *storage.DB, rcpt string) func() error {
		return func() error {
			_, err := db.AddChannelKey(ctx, ch, 0, rcpt, map[int64][]byte{alice.ID: fakeAge(rcpt)})
			return err
		}
	}
	errs := concurrently.Run(add(a, "age1a"), add(b, "age1b"))
	if (errs[0] == nil) == (errs[1] == nil) || !errors.Is(errors.Join(errs...), storage.ErrStaleGeneration) {
		t.Fatalf("two first generations: %v; want one stored and one ErrStaleGeneration", errs)
	}
	want := "age1a"
	if errs[0] != nil {
		want = "age1b"
	}
	if gen, rcpt, err := b.NewestChannelKey(ctx, ch); err != nil || gen != 1 || rcpt != want {
		t.Errorf("NewestChannelKey = %d %q %v, want 1 %q", gen, rcpt, err, want)
	}
	if w, err := a.ChannelKeyWraps(ctx, ch, alice.ID); err != nil || len(w) != 1 || !bytes.Equal(w[1], fakeAge(want)) {
		t.Errorf("alice's wraps %v %v, want the stored generation's", w, err)
	}
}
